/**
 * The HTTP the HubSpot transport sends with: node:http(s) with one keep-alive pool per protocol
 * for the whole process, instead of the global `fetch`. Node's fetch is the undici bundled in
 * node, loaded on first use: its code and its WebAssembly HTTP parser alone add about 13 MiB of
 * resident memory to the operator (DESIGN §7: ≤ 100 MiB idle; docs/scale.md, "Memory").
 *
 * It does what the transport needs of fetch and no more: a request with a string body and an
 * AbortSignal that destroys it at any point (also while the body is read), the status, the
 * response headers, the body as text — decompressed, since like fetch it asks for gzip, deflate
 * or br. A network failure rejects with node's error, whose `code` (ECONNRESET, ECONNREFUSED…)
 * retry.ts reads as it reads the `cause` of fetch's "fetch failed". Global `fetch` is assignable
 * to HttpFetch, so tests can still script responses with `new Response(…)`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliDecompress, gunzip, inflate, type InputType } from 'node:zlib';

export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export type HttpFetch = (url: string, init: HttpRequestInit) => Promise<HttpResponse>;

/**
 * Idle pooled connections are closed after 4 s (undici's default keep-alive timeout), or sooner
 * when the server's `Keep-Alive: timeout=…` says so, so a request rarely meets a connection the
 * server is closing. Idle sockets do not keep the process alive (node's agent unrefs them).
 */
const IDLE_SOCKET_MS = 4_000;
let pools: { http: HttpAgent; https: HttpsAgent } | undefined;

function agentFor(url: URL): HttpAgent {
  pools ??= { http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }), https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }) };
  return url.protocol === 'https:' ? pools.https : pools.http;
}

function decode(encoding: string | undefined, body: Buffer): Promise<Buffer> {
  const enc = encoding?.trim().toLowerCase();
  const via = enc === 'gzip' || enc === 'x-gzip' ? gunzip : enc === 'deflate' ? inflate : enc === 'br' ? brotliDecompress : undefined;
  if (!via || body.length === 0) return Promise.resolve(body);
  return new Promise((resolve, reject) => via(body as InputType, (err, out) => (err ? reject(err) : resolve(out))));
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
}

class Response implements HttpResponse {
  readonly status: number;
  private readonly res: IncomingMessage;
  private readonly body: Promise<Buffer>;

  constructor(res: IncomingMessage, body: Promise<Buffer>) {
    this.status = res.statusCode ?? 0;
    this.res = res;
    this.body = body;
  }

  readonly headers = {
    get: (name: string): string | null => {
      const v = this.res.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };

  async text(): Promise<string> {
    return (await decode(this.headers.get('content-encoding') ?? undefined, await this.body)).toString('utf8');
  }
}

/** Send one request; resolves once the status and headers arrived (the body is read meanwhile). */
export const httpFetch: HttpFetch = (url, init) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const { signal } = init;
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const u = new URL(url);
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br', ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: init.method, headers, agent: agentFor(u) }, (res) => {
      const body = new Promise<Buffer>((resolveBody, rejectBody) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolveBody(Buffer.concat(chunks)));
        // Aborted: the abort's reason, as fetch rejects; else node's error (`on`: a destroyed
        // response may emit a second one). Destroyed before its end without an error: no 'end' will come.
        const fail = (err: unknown) => rejectBody(signal?.aborted ? abortReason(signal) : err);
        res.on('error', fail);
        res.once('close', () => {
          if (!res.complete) fail(Object.assign(new Error('the response body was cut off'), { code: 'ECONNRESET' }));
        });
      });
      // A body nobody reads (the caller failed earlier) must not become an unhandled rejection.
      body.catch(() => {});
      resolve(new Response(res, body));
    });
    const onAbort = () => req.destroy(abortReason(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', reject);
    req.end(init.body);
  });
