/**
 * A small typed REST client for the Kubernetes API: the server, credentials and TLS come from
 * ./config.ts (kubeconfig or in-cluster); it speaks plain JSON so the controller sees real status
 * codes (404, 409, 410) and `kind: Status` bodies, and streams watches it fully controls (abort,
 * inactivity, error events). One keep-alive connection pool for every request, on node:http(s)
 * (no HTTP library of its own: the undici package alone would add ~28 MiB of RSS).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Credentials, KubeConfig } from './config.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const HttpMethod = { GET: 'GET', POST: 'POST', PUT: 'PUT', PATCH: 'PATCH', DELETE: 'DELETE' } as const;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Where a kind lives in the API: enough to build its URL paths. */
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  kind: string;
}

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** A failed API call, carrying the HTTP status and the `kind: Status` reason when present. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason?: string;
  constructor(message: string, status: number, reason?: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}

export type PatchType = 'merge' | 'json' | 'strategic';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export function resourcePath(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = rt.group === '' ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
  let path = namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${rt.plural}` : `${base}/${rt.plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

/** A response whose body is read once: as text, or streamed (watch). */
interface Reply {
  status: number;
  ok: boolean;
  text(): Promise<string>;
  body: IncomingMessage;
}

export class KubeClient {
  private readonly kc: KubeConfig;
  /** The pool of connections, rebuilt only when the TLS client identity changes (exec plugins). */
  private agent?: { agent: HttpAgent; cert?: string; key?: string };

  constructor(kc: KubeConfig) {
    this.kc = kc;
  }

  get server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set a current-context that names a cluster');
    return cluster.server.replace(/\/+$/, '');
  }

  private pool(url: URL, creds: Credentials): HttpAgent {
    const a = this.agent;
    if (a && a.cert === creds.cert && a.key === creds.key) return a.agent;
    const cluster = this.kc.getCurrentCluster()!;
    const agent =
      url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            ca: cluster.ca,
            cert: creds.cert,
            key: creds.key,
            rejectUnauthorized: !cluster.skipTLSVerify,
            servername: cluster.tlsServerName,
          })
        : new HttpAgent({ keepAlive: true });
    a?.agent.destroy();
    this.agent = { agent, cert: creds.cert, key: creds.key };
    return agent;
  }

  private async send(method: HttpMethod, path: string, opts: RequestOptions): Promise<Reply> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const creds = await this.kc.credentials();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds.authorization) headers['authorization'] = creds.authorization;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const agent = this.pool(url, creds);
    const signal = opts.signal;
    signal?.throwIfAborted();
    return new Promise<Reply>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, agent }, (res) => {
        // Readers see a broken or aborted body through iteration; this listener only keeps an
        // 'error' emitted after they stopped reading (an aborted watch) from crashing the process.
        res.on('error', () => {});
        resolve({
          status: res.statusCode ?? 0,
          ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300,
          body: res,
          text: async () => {
            const chunks: Buffer[] = [];
            for await (const c of res) chunks.push(c as Buffer);
            return Buffer.concat(chunks).toString('utf8');
          },
        });
      });
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      // `on`, not `once`: an aborted watch can emit a second error (the abort reason) after the
      // first settled the promise, and an 'error' event without a listener would crash the process.
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the pooled connections (after the last request). */
  async close(): Promise<void> {
    const a = this.agent;
    this.agent = undefined;
    a?.agent.destroy();
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await res.text();
    if (!res.ok) throw errorFromBody(res.status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Lists all pages (limit/continue) and returns the items with the list's resourceVersion. */
  async list<T extends KubeObject>(
    rt: ResourceType,
    opts: { namespace?: string; labelSelector?: string; pageSize?: number; signal?: AbortSignal } = {},
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<ListResult<T>>(HttpMethod.GET, resourcePath(rt, opts.namespace), {
        query: { limit: opts.pageSize ?? 500, continue: cont, labelSelector: opts.labelSelector },
        signal: opts.signal,
      });
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  get<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>(HttpMethod.GET, resourcePath(rt, namespace, name));
  }

  create<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, obj: unknown): Promise<T> {
    return this.request<T>(HttpMethod.POST, resourcePath(rt, namespace), { body: obj });
  }

  replace<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string, obj: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PUT, resourcePath(rt, namespace, name), { body: obj });
  }

  /** PUT to the status subresource: only .status changes; 409 when resourceVersion is stale. */
  replaceStatus<T extends KubeObject>(rt: ResourceType, namespace: string, name: string, obj: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PUT, resourcePath(rt, namespace, name, 'status'), { body: obj });
  }

  patch<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string, patch: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, resourcePath(rt, namespace, name), { body: patch, contentType: PATCH_CONTENT_TYPES[type] });
  }

  delete(rt: ResourceType, namespace: string | undefined, name: string): Promise<unknown> {
    return this.request(HttpMethod.DELETE, resourcePath(rt, namespace, name));
  }

  /**
   * Streams a watch until the server closes it (resolves) or it fails (rejects). A watch
   * `ERROR` event is delivered to `onEvent` like any other; the caller decides (e.g. 410 → relist).
   */
  async watch<T extends KubeObject>(
    rt: ResourceType,
    opts: { namespace?: string; resourceVersion?: string; labelSelector?: string; timeoutSeconds?: number },
    /** Returns 'stop' to end the watch here (e.g. 410 Gone): the body is closed without an error. */
    onEvent: (ev: WatchEvent<T>) => void | 'stop',
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.send(HttpMethod.GET, resourcePath(rt, opts.namespace), {
      query: {
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        timeoutSeconds: opts.timeoutSeconds,
      },
      signal,
    });
    if (!res.ok) throw errorFromBody(res.status, await res.text(), `watch ${rt.plural}`);
    // Read the chunked body directly: iteration rejects when the connection breaks or the
    // request is aborted (signal), so a dead watch never waits forever.
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk as Buffer, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          let ev: WatchEvent<T>;
          try {
            ev = JSON.parse(line) as WatchEvent<T>;
          } catch {
            throw new Error(`watch ${rt.plural}: the server sent a line that is not JSON`);
          }
          if (onEvent(ev) === 'stop') return;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.body.destroy();
    }
  }
}

function errorFromBody(status: number, text: string, what: string): KubeApiError {
  let message = text.slice(0, 500);
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(text) as { kind?: string; message?: string; reason?: string };
    if (parsed.message) message = parsed.message;
    reason = parsed.reason;
  } catch {
    /* not a Status body; keep the text */
  }
  return new KubeApiError(`${what}: ${status} ${message}`, status, reason);
}
