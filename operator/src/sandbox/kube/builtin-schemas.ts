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
  /** Values of the wrong JSON type, each as kube-apiserver's JSON decoder words it (the first is what it reports). */
  typeErrors: string[];
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Go's package-qualified type name for a client-node model (`V1PodSpec` → `v1.PodSpec`, `CoreV1Event` → `v1.Event`). */
function goModelName(model: string): string {
  const m = /^(?:Core)?(V\d+(?:alpha\d+|beta\d+)?)(.+)$/.exec(model);
  return m ? `${m[1]!.toLowerCase()}.${m[2]}` : model;
}

/** The Go type a client-node attribute type decodes into, as encoding/json names it in errors. */
function goType(type: string, format: string): string {
  if (type.startsWith('Array<')) return `[]${goType(type.slice('Array<'.length, -1), '')}`;
  if (type.startsWith('{ [key: string]: ')) return `map[string]${goType(type.slice('{ [key: string]: '.length).replace(/; }$/, ''), '')}`;
  switch (type) {
    case 'string':
      return 'string';
    case 'Date':
      return 'v1.Time';
    case 'number':
      return format === 'int32' ? 'int32' : format === 'int64' ? 'int64' : 'float64';
    case 'boolean':
      return 'bool';
    case 'IntOrString':
      return 'intstr.IntOrString';
  }
  return goModelName(type);
}

/** How encoding/json names a JSON value in an UnmarshalTypeError. */
function goJsonValue(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'number' : `number ${v}`;
  return typeof v === 'string' ? 'string' : 'object';
}

/**
 * kube-apiserver decodes built-ins with sigs.k8s.io/json (encoding/json): a value of the wrong
 * JSON type is `json: cannot unmarshal <value> into Go struct field <Struct>.<json.path> of
 * type <GoType>`, where Struct is the innermost Go struct and the path lists the JSON field
 * names from the root (no list indices or map keys).
 */
function typeError(value: unknown, type: string, format: string, ctx: GoContext): string {
  return `json: cannot unmarshal ${goJsonValue(value)} into Go struct field ${ctx.struct}.${ctx.fields.join('.')} of type ${goType(type, format)}`;
}

const MICRO_TIME_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';

/** Go's time.Parse error for a MicroTime that is not in RFC3339 with exactly six fractional digits. */
function microTimeProblem(v: string): string | undefined {
  const head = `parsing time ${JSON.stringify(v)} as ${JSON.stringify(MICRO_TIME_LAYOUT)}`;
  const m = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(.*)$/s.exec(v);
  if (!m) return `${head}: cannot parse ${JSON.stringify(v)} as "2006"`;
  const rest = m[1]!;
  if (!/^\.\d{6}/.test(rest)) return `${head}: cannot parse ${JSON.stringify(rest)} as ".000000"`;
  const zone = rest.slice(7);
  if (!/^(Z|[+-]\d\d:\d\d)$/.test(zone)) return `${head}: cannot parse ${JSON.stringify(zone)} as "Z07:00"`;
  return undefined;
}

interface GoContext {
  /** Innermost Go struct (without package), e.g. DeploymentSpec. */
  struct: string;
  /** JSON field names from the root. */
  fields: string[];
}

function walk(value: unknown, type: string, format: string, path: string, out: BuiltinFieldIssues, ctx: GoContext): void {
  if (value === null || value === undefined || type === 'any' || type === 'object') return;
  if (type.startsWith('Array<')) {
    if (!Array.isArray(value)) {
      out.typeErrors.push(typeError(value, type, format, ctx));
      return;
    }
    const inner = type.slice('Array<'.length, -1);
    value.forEach((item, i) => walk(item, inner, '', `${path}[${i}]`, out, ctx));
    return;
  }
  if (type.startsWith('{ [key: string]: ')) {
    if (!isObject(value)) {
      out.typeErrors.push(typeError(value, type, format, ctx));
      return;
    }
    const inner = type.slice('{ [key: string]: '.length).replace(/; }$/, '');
    for (const [k, v] of Object.entries(value)) walk(v, inner, '', `${path}[${k}]`, out, ctx);
    return;
  }
  switch (type) {
    case 'string':
    case 'Date':
      if (typeof value !== 'string') out.typeErrors.push(typeError(value, type, format, ctx));
      return;
    case 'number':
      if (typeof value !== 'number' || ((format === 'int32' || format === 'int64') && !Number.isInteger(value))) {
        out.typeErrors.push(typeError(value, type, format, ctx));
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.typeErrors.push(typeError(value, type, format, ctx));
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
        out.typeErrors.push(typeError(value, type, format, ctx));
      }
      return;
    case 'V1MicroTime': {
      // metav1.MicroTime (Lease acquireTime/renewTime, Event eventTime): exactly microseconds.
      // A JavaScript Date serialises with milliseconds, which kube-apiserver refuses.
      if (typeof value !== 'string') out.typeErrors.push(typeError(value, 'string', '', ctx));
      else {
        const problem = microTimeProblem(value);
        if (problem) out.typeErrors.push(problem);
      }
      return;
    }
  }
  const attrs = attributesOf(type);
  if (!attrs) return; // a model this client-node does not know: accept as is
  if (!isObject(value)) {
    out.typeErrors.push(typeError(value, type, format, ctx));
    return;
  }
  const struct = goModelName(type).replace(/^[^.]*\./, '');
  for (const key of Object.keys(value)) {
    const attr = attrs.get(key);
    if (!attr) {
      out.unknown.push(join(path, key));
      delete value[key];
      continue;
    }
    walk(value[key], attr.type, attr.format, join(path, key), out, { struct, fields: [...ctx.fields, key] });
  }
}

/** Checks a built-in object against its model, removing unknown fields; undefined when the kind has no model. */
export function checkBuiltinFields(kind: string, obj: KubeObject): BuiltinFieldIssues | undefined {
  const model = MODEL_BY_KIND[kind];
  if (!model || !attributesOf(model)) return undefined;
  const out: BuiltinFieldIssues = { unknown: [], typeErrors: [] };
  walk(obj, model, '', '', out, { struct: goModelName(model).replace(/^[^.]*\./, ''), fields: [] });
  return out;
}
