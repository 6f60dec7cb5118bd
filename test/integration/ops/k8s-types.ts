/**
 * Structural check of rendered manifests against the Kubernetes API types as
 * @kubernetes/client-node generates them from the official OpenAPI (attributeTypeMap per model):
 * unknown fields and wrong JSON types are reported with their path. The Kubernetes API sandbox
 * stores built-in kinds without a schema, so this is what catches a typo in a Deployment or Role.
 */
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  baseName: string;
  type: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };
const models = k8s as unknown as Record<string, Model | undefined>;

/** `apps/v1` + `Deployment` → client-node's `V1Deployment`. */
export function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop()!;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

function check(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined || type === 'any' || type === 'object') return;
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  const fail = (expected: string) => errors.push(`${path}: expected ${expected}, got ${Array.isArray(value) ? 'array' : typeof value} ${JSON.stringify(value).slice(0, 60)}`);
  if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') fail('string');
  } else if (type === 'number') {
    if (typeof value !== 'number') fail('number');
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') fail('boolean');
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && typeof value !== 'number') fail('integer or string');
  } else if (array) {
    if (!Array.isArray(value)) {
      fail('array');
      return;
    }
    value.forEach((v, i) => check(v, array[1], `${path}[${i}]`, errors));
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      fail('object');
      return;
    }
    for (const [k, v] of Object.entries(value)) check(v, map[1], `${path}.${k}`, errors);
  } else {
    const model = models[type];
    if (!model?.getAttributeTypeMap) return; // enums and aliases: nothing to walk
    if (typeof value !== 'object' || Array.isArray(value)) {
      fail(`object (${type})`);
      return;
    }
    const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
      const t = attrs.get(k);
      if (!t) errors.push(`${path}.${k}: unknown field (not in ${type})`);
      else check(v, t, `${path}.${k}`, errors);
    }
  }
}

/** Errors of `obj` against its Kubernetes type; throws when client-node has no model for the kind. */
export function typeErrors(obj: { apiVersion: string; kind: string; metadata?: { name?: string } }): string[] {
  const name = modelName(obj.apiVersion, obj.kind);
  if (!models[name]?.getAttributeTypeMap) throw new Error(`no Kubernetes type ${name} for ${obj.apiVersion} ${obj.kind}`);
  const errors: string[] = [];
  check(obj, name, `${obj.kind}/${obj.metadata?.name ?? '?'}`, errors);
  return errors;
}
