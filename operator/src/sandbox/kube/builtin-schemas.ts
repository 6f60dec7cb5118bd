/**
 * Field checks for built-in kinds, from the API models @kubernetes/client-node is generated
 * with: kube-apiserver decodes built-ins into Go structs, so an unknown field (a typo such as
 * `imagee`) is dropped — or refused with fieldValidation=Strict, kubectl's default — and a value
 * of the wrong JSON type is a decoding error. Without these checks a misspelt chart would pass
 * `kubectl apply --dry-run=server` here and fail on a real cluster.
 */
import * as models from '@kubernetes/client-node';
import type { KubeObject } from './types.js';

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

/** Model class per built-in kind (core and named groups alike). */
const MODEL_BY_KIND: Record<string, string> = {
  Namespace: 'V1Namespace',
  Secret: 'V1Secret',
  ConfigMap: 'V1ConfigMap',
  Event: 'CoreV1Event',
  ServiceAccount: 'V1ServiceAccount',
  Service: 'V1Service',
  Pod: 'V1Pod',
  Deployment: 'V1Deployment',
  PodDisruptionBudget: 'V1PodDisruptionBudget',
  NetworkPolicy: 'V1NetworkPolicy',
  Role: 'V1Role',
  ClusterRole: 'V1ClusterRole',
  RoleBinding: 'V1RoleBinding',
  ClusterRoleBinding: 'V1ClusterRoleBinding',
  Lease: 'V1Lease',
  CustomResourceDefinition: 'V1CustomResourceDefinition',
};

const attributeCache = new Map<string, Map<string, Attribute> | null>();

function attributesOf(model: string): Map<string, Attribute> | null {
  let attrs = attributeCache.get(model);
  if (attrs === undefined) {
    const cls = (models as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[model];
    const list = typeof cls?.getAttributeTypeMap === 'function' ? cls.getAttributeTypeMap() : undefined;
    attrs = list ? new Map(list.map((a) => [a.baseName, a])) : null;
    attributeCache.set(model, attrs);
  }
  return attrs;
}

export interface BuiltinFieldIssues {
  /** Paths of fields the kind does not have; they have been removed from the object. */
  unknown: string[];
  /** `path: expected T, got U` for values of the wrong JSON type. */
  typeErrors: string[];
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function walk(value: unknown, type: string, format: string, path: string, out: BuiltinFieldIssues): void {
  if (value === null || value === undefined || type === 'any' || type === 'object') return;
  if (type.startsWith('Array<')) {
    if (!Array.isArray(value)) {
      out.typeErrors.push(`${path}: expected an array, got ${jsonType(value)}`);
      return;
    }
    const inner = type.slice('Array<'.length, -1);
    value.forEach((item, i) => walk(item, inner, '', `${path}[${i}]`, out));
    return;
  }
  if (type.startsWith('{ [key: string]: ')) {
    if (!isObject(value)) {
      out.typeErrors.push(`${path}: expected an object, got ${jsonType(value)}`);
      return;
    }
    const inner = type.slice('{ [key: string]: '.length).replace(/; }$/, '');
    for (const [k, v] of Object.entries(value)) walk(v, inner, '', `${path}[${k}]`, out);
    return;
  }
  switch (type) {
    case 'string':
    case 'Date':
      if (typeof value !== 'string') out.typeErrors.push(`${path}: expected a string, got ${jsonType(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number' || ((format === 'int32' || format === 'int64') && !Number.isInteger(value))) {
        out.typeErrors.push(`${path}: expected ${format === 'int32' || format === 'int64' ? 'an integer' : 'a number'}, got ${jsonType(value)}`);
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.typeErrors.push(`${path}: expected a boolean, got ${jsonType(value)}`);
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
        out.typeErrors.push(`${path}: expected an integer or a string, got ${jsonType(value)}`);
      }
      return;
  }
  const attrs = attributesOf(type);
  if (!attrs) return; // a model this client-node does not know: accept as is
  if (!isObject(value)) {
    out.typeErrors.push(`${path}: expected an object, got ${jsonType(value)}`);
    return;
  }
  for (const key of Object.keys(value)) {
    const attr = attrs.get(key);
    if (!attr) {
      out.unknown.push(join(path, key));
      delete value[key];
      continue;
    }
    walk(value[key], attr.type, attr.format, join(path, key), out);
  }
}

/** Checks a built-in object against its model, removing unknown fields; undefined when the kind has no model. */
export function checkBuiltinFields(kind: string, obj: KubeObject): BuiltinFieldIssues | undefined {
  const model = MODEL_BY_KIND[kind];
  if (!model || !attributesOf(model)) return undefined;
  const out: BuiltinFieldIssues = { unknown: [], typeErrors: [] };
  walk(obj, model, '', '', out);
  return out;
}
