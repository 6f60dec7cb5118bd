/**
 * A small typed REST client for the Kubernetes API. It uses the kubeconfig of
 * @kubernetes/client-node for the server URL, credentials and TLS, but speaks plain JSON so the
 * controller sees real status codes (404, 409, 410) and `kind: Status` bodies, and can stream
 * watches it fully controls (abort, inactivity, error events).
 */
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';

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

export class KubeClient {
  private readonly kc: KubeConfig;
  /**
   * client-node builds a new connection pool (undici Agent) for every request; reusing the
   * first one keeps connections (and TLS sessions) alive across requests. Credentials are still
   * applied per request, so rotating tokens keep working.
   */
  private dispatcher?: Dispatcher | null;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    // client-node refuses plain-http servers unless skipTLSVerify is set; with http there is no
    // TLS to verify, so allow it (local API servers such as the sandbox serve plain http).
    const current = kc.getCurrentCluster();
    if (current?.server.startsWith('http:') && !current.skipTLSVerify) {
      kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, skipTLSVerify: true } : c));
    }
  }

  get server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set a current-context that names a cluster');
    return cluster.server.replace(/\/+$/, '');
  }

  private async send(method: HttpMethod, path: string, opts: RequestOptions): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method);
    await this.kc.applySecurityAuthentication(ctx);
    const headers = ctx.getHeaders() as Record<string, string>;
    headers['accept'] = 'application/json';
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    if (this.dispatcher === undefined) this.dispatcher = (ctx.getDispatcher() as Dispatcher | undefined) ?? null;
    const res = await fetch(url, {
      method,
      headers,
      body,
      dispatcher: this.dispatcher ?? undefined,
      signal: opts.signal,
    });
    return res as unknown as Response;
  }

  /** Closes the pooled connections (after the last request). */
  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    if (d) await d.close().catch(() => {});
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
    onEvent: (ev: WatchEvent<T>) => void,
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
    if (!res.body) return;
    // Read the chunked body directly: a reader rejects when the connection breaks, where
    // readline over a converted stream can wait forever.
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    const onAbort = () => void reader.cancel().catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
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
          onEvent(ev);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      reader.releaseLock();
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
