/**
 * `/openapi/v2`: the Swagger 2.0 document kube-apiserver still serves, as JSON or — what
 * kubectl asks for — as the gnostic protobuf message openapi_v2.Document
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
 *
 * kubectl reads it for client-side validation whenever the server cannot validate for it, most
 * visibly `kubectl apply -f` of a `kind: List` (what `kubectl get -o yaml` writes): kubectl
 * validates each item against this document before sending anything. Without it kubectl
 * failed with "the server was unable to respond with a content type that the client supports".
 *
 * Each registered kind is a definition with its `x-kubernetes-group-version-kind`; CRD schemas
 * are converted as kube-apiserver does (apiextensions-apiserver ToStructuralOpenAPIV2: no
 * allOf/oneOf/anyOf/not, nullable and x-kubernetes-preserve-unknown-fields nodes lose their
 * type and children), so kubectl reaches the same verdict on an item as against a real server.
 * Built-ins get their fields from the API models @kubernetes/client-node is generated with.
 */
import * as models from '@kubernetes/client-node';
import type { Registry } from './registry.js';
import type { Json, ResourceType, Schema } from './types.js';

/** What kube-apiserver answers with (kube-openapi's handler); kubectl asks for the older `...spec.v2@v1.0+protobuf`. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** kube-openapi's negotiation: the first Accept clause that is JSON or either protobuf name (empty = JSON); undefined → 406. */
export function openApiV2Format(accept: string | undefined): 'json' | 'protobuf' | undefined {
  const clauses = (accept || '*/*').split(',').map((c) => c.split(';')[0]!.trim().toLowerCase());
  for (const c of clauses) {
    const [type, sub] = c.split('/');
    if (type !== 'application' && type !== '*') continue;
    if (sub === 'json' || sub === '*') return 'json';
    if (sub === 'com.github.proto-openapi.spec.v2@v1.0+protobuf' || sub === 'com.github.proto-openapi.spec.v2.v1.0+protobuf') return 'protobuf';
  }
  return undefined;
}

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Reverse-DNS model name, e.g. `dev.hubspot-operator.v1alpha1.HubSpotIntegration`, `io.k8s.api.core.v1.ConfigMap`. */
function modelName(rt: ResourceType): string {
  if (!rt.group) return `io.k8s.api.core.${rt.version}.${rt.kind}`;
  if (!rt.group.includes('.')) return `io.k8s.api.${rt.group}.${rt.version}.${rt.kind}`;
  if (rt.group.endsWith('.k8s.io')) {
    const short = rt.group.slice(0, -'.k8s.io'.length);
    return `io.k8s.api.${short.replace(/\./g, '')}.${rt.version}.${rt.kind}`;
  }
  return `${rt.group.split('.').reverse().join('.')}.${rt.version}.${rt.kind}`;
}

/** A Swagger 2.0 schema: plain JSON, $ref into #/definitions. */
type V2 = { [k: string]: unknown };

/** apiextensions-apiserver's ToStructuralOpenAPIV2, on a CRD's structural schema. */
function crdSchemaToV2(s: Schema | undefined): V2 {
  if (!s) return {};
  const out: V2 = {};
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const nullable = s.nullable === true;
  let type = s.type as string | undefined;
  if (s['x-kubernetes-int-or-string']) type = undefined;
  if (nullable) type = undefined;
  if (preserve && type === 'object') type = undefined;
  const keepChildren = !nullable && !preserve;
  if (type === 'array' && (!keepChildren || !s.items)) type = undefined;
  if (type) out.type = type;
  if (s.format) out.format = s.format;
  if (s.description) out.description = s.description;
  if (keepChildren && s.properties) {
    const props: V2 = {};
    for (const [k, v] of Object.entries(s.properties)) props[k] = crdSchemaToV2(v);
    out.properties = props;
    const required = (s.required ?? []).filter((r) => !(s.properties?.[r] as Schema | undefined)?.nullable);
    if (required.length) out.required = required;
  }
  if (keepChildren && s.items && !Array.isArray(s.items)) out.items = crdSchemaToV2(s.items as Schema);
  if (s.additionalProperties !== undefined && typeof s.additionalProperties === 'object') out.additionalProperties = crdSchemaToV2(s.additionalProperties as Schema);
  if (s.enum) out.enum = s.enum;
  return out;
}

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

const MODEL_PREFIXES: [RegExp, string][] = [
  [/^V1ObjectMeta$/, OBJECT_META],
  [/^V1ListMeta$/, 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta'],
  [/^V1LabelSelector$/, 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector'],
  [/^V1LabelSelectorRequirement$/, 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement'],
];

/** A definition name for a client-node model class (stable, unique; the real server's names differ for nested types, which kubectl never shows). */
function defNameForModel(model: string): string {
  for (const [re, name] of MODEL_PREFIXES) if (re.test(model)) return name;
  return `io.k8s.client-node.${model}`;
}

function attributesOf(model: string): Attribute[] | undefined {
  const cls = (models as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[model];
  return typeof cls?.getAttributeTypeMap === 'function' ? cls.getAttributeTypeMap() : undefined;
}

/** The v2 schema of a client-node attribute type (`string`, `Array<V1Container>`, `{ [key: string]: string; }`, `V1PodSpec`). */
function typeToV2(type: string, format: string, defs: Map<string, V2>): V2 {
  const t = type.trim();
  const array = /^Array<(.+)>$/.exec(t);
  if (array) return { type: 'array', items: typeToV2(array[1]!, '', defs) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) return { type: 'object', additionalProperties: typeToV2(map[1]!, '', defs) };
  if (t === 'string') return format ? { type: 'string', format } : { type: 'string' };
  if (t === 'Date') return { type: 'string', format: 'date-time' };
  if (t === 'number') return format === 'int32' || format === 'int64' ? { type: 'integer', format } : { type: 'number', ...(format ? { format } : {}) };
  if (t === 'boolean') return { type: 'boolean' };
  if (t === 'IntOrString') return { format: 'int-or-string' };
  const attrs = attributesOf(t);
  if (!attrs) return {}; // 'any', 'object', RawExtension: anything goes
  modelDefinition(t, attrs, defs);
  return { $ref: `#/definitions/${defNameForModel(t)}` };
}

function modelDefinition(model: string, attrs: Attribute[], defs: Map<string, V2>): V2 {
  const name = defNameForModel(model);
  const existing = defs.get(name);
  if (existing) return existing;
  const def: V2 = { type: 'object', properties: {} };
  defs.set(name, def); // before recursing: models refer to themselves (JSONSchemaProps)
  const props = def.properties as V2;
  for (const a of attrs) props[a.baseName] = typeToV2(a.type, a.format, defs);
  return def;
}

/** Model class per built-in kind, as builtin-schemas.ts maps them. */
function builtinModel(rt: ResourceType): string | undefined {
  const candidates = [`V1${rt.kind}`, `CoreV1${rt.kind}`, `${rt.version[0]!.toUpperCase()}${rt.version.slice(1)}${rt.kind}`];
  return candidates.find((c) => attributesOf(c));
}

export function openApiV2Document(registry: Registry): Json {
  const defs = new Map<string, V2>();
  const objectMeta = attributesOf('V1ObjectMeta');
  if (objectMeta) modelDefinition('V1ObjectMeta', objectMeta, defs);
  for (const rt of registry.all()) {
    const gvk = [{ group: rt.group, version: rt.version, kind: rt.kind }];
    let def: V2;
    if (rt.schema) {
      def = crdSchemaToV2(rt.schema);
      def.properties = {
        apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
        kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
        ...((def.properties as V2 | undefined) ?? {}),
        metadata: { $ref: `#/definitions/${OBJECT_META}`, description: "Standard object's metadata." },
      };
    } else {
      const model = builtinModel(rt);
      const attrs = model ? attributesOf(model) : undefined;
      // A built-in this client-node has no model for: no schema, so kubectl checks nothing.
      def = attrs && model ? structuredClone(modelDefinition(model, attrs, defs)) : {};
    }
    def['x-kubernetes-group-version-kind'] = gvk;
    defs.set(modelName(rt), def);
  }
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.33.13' },
    paths: {},
    definitions: Object.fromEntries([...defs].sort(([a], [b]) => a.localeCompare(b))),
  } as unknown as Json;
}

// --- gnostic openapi_v2 protobuf (github.com/google/gnostic-models openapiv2/OpenAPIv2.proto) ---

class Writer {
  private chunks: Buffer[] = [];
  private varint(n: number): void {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, BigInt(n));
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      bytes.push(b);
    } while (v);
    this.chunks.push(Buffer.from(bytes));
  }
  string(field: number, s: string | undefined): void {
    if (s === undefined || s === '') return;
    this.bytes(field, Buffer.from(s, 'utf8'));
  }
  bytes(field: number, b: Buffer): void {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.chunks.push(b);
  }
  message(field: number, w: Writer): void {
    this.bytes(field, w.finish());
  }
  int(field: number, n: number | undefined): void {
    if (n === undefined) return;
    this.varint(field << 3);
    this.varint(n);
  }
  bool(field: number, b: boolean | undefined): void {
    if (!b) return;
    this.varint(field << 3);
    this.varint(1);
  }
  double(field: number, n: number | undefined): void {
    if (n === undefined) return;
    this.varint((field << 3) | 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.chunks.push(b);
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Any { string yaml = 2 }: gnostic carries extension and enum values as YAML (JSON is YAML). */
function anyMsg(value: unknown): Writer {
  const w = new Writer();
  w.string(2, JSON.stringify(value));
  return w;
}

function namedAny(name: string, value: unknown): Writer {
  const w = new Writer();
  w.string(1, name);
  w.message(2, anyMsg(value));
  return w;
}

function schemaMsg(s: V2): Writer {
  const w = new Writer();
  w.string(1, s.$ref as string | undefined);
  w.string(2, s.format as string | undefined);
  w.string(4, s.description as string | undefined);
  w.double(7, s.maximum as number | undefined);
  w.double(9, s.minimum as number | undefined);
  w.int(11, s.maxLength as number | undefined);
  w.int(12, s.minLength as number | undefined);
  w.string(13, s.pattern as string | undefined);
  w.int(14, s.maxItems as number | undefined);
  w.int(15, s.minItems as number | undefined);
  for (const r of (s.required as string[] | undefined) ?? []) w.string(19, r);
  for (const e of (s.enum as unknown[] | undefined) ?? []) w.message(20, anyMsg(e));
  if (s.additionalProperties !== undefined) {
    const ap = new Writer();
    if (typeof s.additionalProperties === 'boolean') {
      // oneof: bool boolean = 2 (a false must still be written to select the branch)
      ap.int(2, s.additionalProperties ? 1 : 0);
    } else ap.message(1, schemaMsg(s.additionalProperties as V2));
    w.message(21, ap);
  }
  if (typeof s.type === 'string') {
    const t = new Writer();
    t.string(1, s.type);
    w.message(22, t);
  }
  if (s.items) {
    const items = new Writer();
    items.message(1, schemaMsg(s.items as V2));
    w.message(23, items);
  }
  if (s.properties) {
    const props = new Writer();
    for (const [name, value] of Object.entries(s.properties as V2)) {
      const named = new Writer();
      named.string(1, name);
      named.message(2, schemaMsg(value as V2));
      props.message(1, named);
    }
    w.message(25, props);
  }
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-')) w.message(31, namedAny(k, v));
  return w;
}

/** The document as openapi_v2.Document protobuf bytes. */
export function openApiV2Protobuf(doc: Json): Buffer {
  const d = doc as unknown as { swagger: string; info: { title: string; version: string }; definitions: Record<string, V2> };
  const w = new Writer();
  w.string(1, d.swagger);
  const info = new Writer();
  info.string(1, d.info.title);
  info.string(2, d.info.version);
  w.message(2, info);
  w.message(8, new Writer()); // paths: empty (kubectl's validation reads definitions only)
  const defs = new Writer();
  for (const [name, schema] of Object.entries(d.definitions)) {
    const named = new Writer();
    named.string(1, name);
    named.message(2, schemaMsg(schema));
    defs.message(1, named);
  }
  w.message(9, defs);
  return w.finish();
}
