/** Shapes shared by the sandbox's modules: the objects it stores and the resource types it serves. */

// Objects are plain JSON: the sandbox is schema-driven, like kube-apiserver's unstructured path.
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: JsonObject[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

/** A stored object: always has apiVersion, kind and metadata. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** An OpenAPI v3 schema as used in CRDs (JSONSchemaProps), with the Kubernetes extensions. */
export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: Json[];
  default?: Json;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: ValidationRule[];
  [key: string]: unknown;
}

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** How a table cell of a built-in kind is computed (built-ins have no printer-column JSONPaths). */
export interface BuiltinColumn {
  name: string;
  type: string;
  priority?: number;
  description?: string;
  cell: (obj: KubeObject) => Json;
}

/** One resource served at one group/version. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** True when `/status` is a subresource (writes to the main resource then ignore status). */
  statusSubresource: boolean;
  /** Action subresources besides status, e.g. serviceaccounts/token (TokenRequest). */
  extraSubresources?: Array<{ name: string; group: string; version: string; kind: string; verbs: string[] }>;
  /** metadata.generation is maintained (moves on spec changes). */
  hasGeneration: boolean;
  /** Objects of all versions of one resource share this store key (`<plural>.<group>`). */
  storeKey: string;
  /** Structural schema (CRDs); absent for built-ins, which are stored as given. */
  schema?: Schema;
  printerColumns?: PrinterColumn[];
  builtinColumns?: BuiltinColumn[];
  /** The CRD that defines this resource; absent for built-ins. */
  crdName?: string;
  /** For a resource served over another one's storage (events.k8s.io/v1 Events over core/v1 Events). */
  conversion?: { toStorage(obj: KubeObject): KubeObject; fromStorage(obj: KubeObject): KubeObject };
  /** Hook for built-in semantics (Secret stringData, Namespace phase, ...), applied before storing. */
  normalize?: (obj: KubeObject, old: KubeObject | undefined) => void;
}

export function groupVersion(rt: { group: string; version: string }): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}
