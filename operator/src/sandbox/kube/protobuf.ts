/**
 * Decoding of the Kubernetes protobuf wire format for the few built-in kinds kubectl's typed
 * clients send that way (`kubectl create namespace|secret|configmap|serviceaccount|role|
 * rolebinding|clusterrole|clusterrolebinding|token`, `kubectl auth can-i|whoami`). Objects are turned into
 * the JSON shape the rest of the sandbox handles; answers are always JSON, which kubectl accepts.
 * Field numbers are those of k8s.io/api's generated.proto.
 */
import { ApiError } from './errors.js';

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'time' | { message: Descriptor } | { map: 'string' | 'bytes' };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type Descriptor = Record<number, Field>;

const OWNER_REFERENCE: Descriptor = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const OBJECT_META: Descriptor = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  13: { name: 'ownerReferences', type: { message: OWNER_REFERENCE }, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const meta: Field = { name: 'metadata', type: { message: OBJECT_META } };
const OBJECT_REFERENCE: Descriptor = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'namespace', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
};
const POLICY_RULE: Descriptor = {
  1: { name: 'verbs', type: 'string', repeated: true },
  2: { name: 'apiGroups', type: 'string', repeated: true },
  3: { name: 'resources', type: 'string', repeated: true },
  4: { name: 'resourceNames', type: 'string', repeated: true },
  5: { name: 'nonResourceURLs', type: 'string', repeated: true },
};
const SUBJECT: Descriptor = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'apiGroup', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'namespace', type: 'string' },
};
const ROLE_REF: Descriptor = { 1: { name: 'apiGroup', type: 'string' }, 2: { name: 'kind', type: 'string' }, 3: { name: 'name', type: 'string' } };
const RESOURCE_ATTRIBUTES: Descriptor = {
  1: { name: 'namespace', type: 'string' },
  2: { name: 'verb', type: 'string' },
  3: { name: 'group', type: 'string' },
  4: { name: 'version', type: 'string' },
  5: { name: 'resource', type: 'string' },
  6: { name: 'subresource', type: 'string' },
  7: { name: 'name', type: 'string' },
};
const NON_RESOURCE_ATTRIBUTES: Descriptor = { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } };

const KINDS: Record<string, Descriptor> = {
  Namespace: { 1: meta, 2: { name: 'spec', type: { message: { 1: { name: 'finalizers', type: 'string', repeated: true } } } } },
  Secret: {
    1: meta,
    2: { name: 'data', type: { map: 'bytes' } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool' },
  },
  ConfigMap: { 1: meta, 2: { name: 'data', type: { map: 'string' } }, 3: { name: 'binaryData', type: { map: 'bytes' } }, 4: { name: 'immutable', type: 'bool' } },
  ServiceAccount: {
    1: meta,
    2: { name: 'secrets', type: { message: OBJECT_REFERENCE }, repeated: true },
    3: { name: 'imagePullSecrets', type: { message: { 1: { name: 'name', type: 'string' } } }, repeated: true },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
  Role: { 1: meta, 2: { name: 'rules', type: { message: POLICY_RULE }, repeated: true } },
  ClusterRole: { 1: meta, 2: { name: 'rules', type: { message: POLICY_RULE }, repeated: true } },
  RoleBinding: { 1: meta, 2: { name: 'subjects', type: { message: SUBJECT }, repeated: true }, 3: { name: 'roleRef', type: { message: ROLE_REF } } },
  ClusterRoleBinding: { 1: meta, 2: { name: 'subjects', type: { message: SUBJECT }, repeated: true }, 3: { name: 'roleRef', type: { message: ROLE_REF } } },
  SelfSubjectAccessReview: {
    1: meta,
    2: {
      name: 'spec',
      type: { message: { 1: { name: 'resourceAttributes', type: { message: RESOURCE_ATTRIBUTES } }, 2: { name: 'nonResourceAttributes', type: { message: NON_RESOURCE_ATTRIBUTES } } } },
    },
  },
  TokenRequest: {
    1: meta,
    2: { name: 'spec', type: { message: { 1: { name: 'audiences', type: 'string', repeated: true }, 4: { name: 'expirationSeconds', type: 'int' } } } },
  },
  SelfSubjectReview: { 1: meta },
  DeleteOptions: {
    1: { name: 'gracePeriodSeconds', type: 'int' },
    2: { name: 'preconditions', type: { message: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } } } },
    3: { name: 'orphanDependents', type: 'bool' },
    4: { name: 'propagationPolicy', type: 'string' },
    5: { name: 'dryRun', type: 'string', repeated: true },
  },
  SelfSubjectRulesReview: { 1: meta, 2: { name: 'spec', type: { message: { 1: { name: 'namespace', type: 'string' } } } } },
  SubjectAccessReview: {
    1: meta,
    2: {
      name: 'spec',
      type: {
        message: {
          1: { name: 'resourceAttributes', type: { message: RESOURCE_ATTRIBUTES } },
          2: { name: 'nonResourceAttributes', type: { message: NON_RESOURCE_ATTRIBUTES } },
          3: { name: 'user', type: 'string' },
          4: { name: 'groups', type: 'string', repeated: true },
          6: { name: 'uid', type: 'string' },
        },
      },
    },
  },
};

class Reader {
  pos = 0;
  readonly buf: Buffer;
  readonly end: number;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }
  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function decodeMessage(buf: Buffer, d: Descriptor): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    const num = Math.floor(tag / 8);
    const wire = tag & 7;
    const f = d[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    const t = f.type;
    if (t === 'int') value = r.varint();
    else if (t === 'bool') value = r.varint() !== 0;
    else {
      const bytes = r.bytes();
      if (t === 'string') value = bytes.toString('utf8');
      else if (t === 'bytes') value = bytes.toString('base64');
      else if (t === 'time') {
        const ts = decodeMessage(bytes, { 1: { name: 'seconds', type: 'int' } });
        value = new Date(Number(ts.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      } else if ('message' in t) value = decodeMessage(bytes, t.message);
      else {
        const entry = decodeMessage(bytes, { 1: { name: 'k', type: 'string' }, 2: { name: 'v', type: t.map } });
        const map = (out[f.name] ??= {}) as Record<string, unknown>;
        map[String(entry.k ?? '')] = entry.v ?? '';
        continue;
      }
    }
    if (f.repeated) ((out[f.name] ??= []) as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `k8s\0`-prefixed runtime.Unknown envelope holding one of the supported kinds. */
export function decodeProtobufObject(buf: Buffer): Record<string, unknown> {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) {
    throw new ApiError(400, 'BadRequest', 'the protobuf body does not start with the Kubernetes envelope prefix "k8s\\x00"');
  }
  let envelope: Record<string, unknown>;
  try {
    envelope = decodeMessage(buf.subarray(4), {
      1: { name: 'typeMeta', type: { message: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } } },
      2: { name: 'raw', type: 'bytes' },
    });
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the protobuf body could not be decoded: ${(err as Error).message}`);
  }
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const kind = typeMeta.kind ?? '';
  const descriptor = KINDS[kind];
  if (!descriptor) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the sandbox decodes protobuf only for ${Object.keys(KINDS).join(', ')}; send ${kind || 'this object'} as application/json`,
    );
  }
  try {
    const obj = decodeMessage(Buffer.from(String(envelope.raw ?? ''), 'base64'), descriptor);
    return { apiVersion: typeMeta.apiVersion, kind, ...obj };
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the protobuf ${kind} could not be decoded: ${(err as Error).message}`);
  }
}
