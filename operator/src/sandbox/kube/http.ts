/** HTTP plumbing: bounded body reading, content negotiation and writing JSON / Status answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ApiError, badRequest, notAcceptable, unsupportedMediaType } from './errors.js';
import { decodeProtobufObject } from './protobuf.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the whole body; a body over the limit is drained and answered with 413. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) reject(new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

const OBJECT_TYPES = ['application/json', 'application/yaml'];
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** Decodes a create/update body (JSON, YAML, or protobuf for the kinds kubectl's typed clients send). */
export function decodeObject(buf: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (type === PROTOBUF) return decodeProtobufObject(buf);
  if (!OBJECT_TYPES.includes(type)) throw unsupportedMediaType(type, [...OBJECT_TYPES, 'application/vnd.kubernetes.protobuf']);
  return decodeAs(buf, type === 'application/yaml' ? 'yaml' : 'json');
}

export function decodeAs(buf: Buffer, format: 'json' | 'yaml'): unknown {
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('the request body is empty: an object is required');
  let value: unknown;
  try {
    value = format === 'yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw badRequest(`the body of the request could not be decoded as ${format.toUpperCase()}: ${detail}`);
  }
  if (nestingDepth(value, MAX_DEPTH) > MAX_DEPTH) throw badRequest(`the body of the request is nested more than ${MAX_DEPTH} levels deep`);
  return value;
}

/** Deeper documents are refused up front: everything downstream (schemas, patches, clones) recurses. */
const MAX_DEPTH = 1000;

/** Nesting depth of a JSON value, counted without recursion, stopping once it exceeds `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

export interface Negotiated {
  table: boolean;
  yaml: boolean;
  /** `application/json;as=PartialObjectMetadataList;...` requests (kubectl's metadata-only clients). */
  partialMetadata: boolean;
}

/** Chooses the response representation from the Accept header (JSON unless YAML or a Table is asked for). */
export function negotiate(accept: string | undefined): Negotiated {
  const entries = (accept ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) return { table: false, yaml: false, partialMetadata: false };
  for (const e of entries) {
    const [type, ...params] = e.split(';').map((p) => p.trim());
    const p = Object.fromEntries(params.map((x) => x.split('=').map((s) => s.trim()) as [string, string]));
    const t = type.toLowerCase();
    if (t === 'application/json' && p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) {
      return { table: true, yaml: false, partialMetadata: false };
    }
    if (t === 'application/json' && p.as && p.as.startsWith('PartialObjectMetadata') && p.g === 'meta.k8s.io') {
      return { table: false, yaml: false, partialMetadata: true };
    }
    if (t === 'application/json' && !p.as) return { table: false, yaml: false, partialMetadata: false };
    if (t === 'application/yaml' && !p.as) return { table: false, yaml: true, partialMetadata: false };
    if (t === '*/*' || t === 'application/*') return { table: false, yaml: false, partialMetadata: false };
  }
  throw notAcceptable(['application/json', 'application/yaml', 'application/json;as=Table;v=v1;g=meta.k8s.io']);
}

export function send(res: ServerResponse, code: number, body: unknown, opts: { yaml?: boolean; warnings?: string[] } = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = opts.yaml ? toYaml(body) : JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Content-Type': opts.yaml ? 'application/yaml' : 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, private',
  };
  if (opts.warnings?.length) headers.Warning = opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (!res.headersSent) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  send(res, err.code, err.toStatus());
}
