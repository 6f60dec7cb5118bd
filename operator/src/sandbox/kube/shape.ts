/**
 * Type checks kube-apiserver gets for free from decoding into Go structs: ObjectMeta fields and
 * the typed fields of the built-in kinds the sandbox interprets. A body with, say, a numeric
 * `metadata.name` is a 400 naming the field, like kube-apiserver's "cannot unmarshal" errors.
 */
import { badRequest } from './errors.js';
import type { KubeObject, ResourceType } from './types.js';

type Shape = 'string' | 'integer' | 'bool' | 'object' | 'map<string>' | 'array<string>' | 'array<object>';

const META: Record<string, Shape> = {
  name: 'string',
  generateName: 'string',
  namespace: 'string',
  selfLink: 'string',
  uid: 'string',
  resourceVersion: 'string',
  creationTimestamp: 'string',
  deletionTimestamp: 'string',
  generation: 'integer',
  deletionGracePeriodSeconds: 'integer',
  labels: 'map<string>',
  annotations: 'map<string>',
  finalizers: 'array<string>',
  ownerReferences: 'array<object>',
  managedFields: 'array<object>',
};

const RBAC_BINDING: Record<string, Shape> = { roleRef: 'object', subjects: 'array<object>' };
const RBAC_ROLE: Record<string, Shape> = { rules: 'array<object>' };
const WITH_SPEC: Record<string, Shape> = { spec: 'object', status: 'object' };

/** Typed top-level fields of built-ins, by kind. */
const BUILTIN: Record<string, Record<string, Shape>> = {
  Secret: { data: 'map<string>', stringData: 'map<string>', type: 'string', immutable: 'bool' },
  ConfigMap: { data: 'map<string>', binaryData: 'map<string>', immutable: 'bool' },
  Role: RBAC_ROLE,
  ClusterRole: RBAC_ROLE,
  RoleBinding: RBAC_BINDING,
  ClusterRoleBinding: RBAC_BINDING,
  Namespace: WITH_SPEC,
  Service: WITH_SPEC,
  Pod: WITH_SPEC,
  Deployment: WITH_SPEC,
  PodDisruptionBudget: WITH_SPEC,
  NetworkPolicy: WITH_SPEC,
  Lease: WITH_SPEC,
  CustomResourceDefinition: WITH_SPEC,
};

function actualType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function fits(shape: Shape, v: unknown): boolean {
  switch (shape) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'map<string>':
      return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
    case 'array<string>':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'array<object>':
      return Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));
  }
}

function checkFields(rt: ResourceType, obj: Record<string, unknown>, shapes: Record<string, Shape>, prefix: string): void {
  for (const [field, shape] of Object.entries(shapes)) {
    const v = obj[field];
    if (v === undefined) continue;
    if (v === null) {
      delete obj[field]; // null means "not set", as when decoding into a Go struct
      continue;
    }
    if (!fits(shape, v)) {
      throw badRequest(
        `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${prefix}${field}: expected ${shape}, got ${actualType(v)}${shape.includes('<') ? ' (or wrongly typed elements)' : ''}`,
      );
    }
  }
}

/** Throws 400 when apiVersion, kind, metadata or a typed built-in field has the wrong JSON type. */
export function checkShape(rt: ResourceType, obj: KubeObject): void {
  const o = obj as unknown as Record<string, unknown>;
  checkFields(rt, o, { apiVersion: 'string', kind: 'string', metadata: 'object' }, '');
  if (o.metadata) checkFields(rt, o.metadata as Record<string, unknown>, META, 'metadata.');
  if (!rt.crdName && BUILTIN[rt.kind]) checkFields(rt, o, BUILTIN[rt.kind], '');
}
