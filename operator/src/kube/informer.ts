/**
 * List + watch with a local cache, written for reliability rather than on top of the stock
 * informer of @kubernetes/client-node (which stops for good on some errors):
 * - resourceVersion is tracked from every event and bookmark, so a re-watch resumes exactly;
 * - 410 Gone (as HTTP status or as a watch ERROR event) triggers a fresh list, and the cache is
 *   diffed against it so handlers see the adds, updates and deletes that were missed;
 * - a watchdog aborts a watch that has been silent past its server-side timeout plus a grace
 *   period (a half-open connection) and re-watches; any failure retries with backoff, forever.
 * One loop per watched namespace (or one cluster-wide loop).
 */
import type { Logger } from 'pino';
import { delayFor } from './backoff.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { isStatus, type KubeClient, type KubeObject, type ResourceType, type WatchEvent } from './client.js';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions<T extends KubeObject = KubeObject> {
  client: KubeClient;
  resource: ResourceType;
  /** Namespaces to watch; undefined or empty = all namespaces. */
  namespaces?: string[];
  labelSelector?: string;
  logger: Logger;
  clock?: Clock;
  /** Server-side watch timeout; the server closes the watch after it and we re-watch. */
  watchTimeoutSeconds?: number;
  /** Extra silence allowed past the watch timeout before the watchdog aborts the watch. */
  watchdogGraceMs?: number;
  /**
   * Which objects to keep in the cache (default all). Events of the others are dropped, and an
   * object that stops matching leaves the cache as a delete; `offer` and `prune` follow changes
   * of the predicate itself.
   */
  keep?: (obj: T) => boolean;
}

export function objectKey(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export class Informer<T extends KubeObject> {
  readonly resource: ResourceType;
  private readonly opts: InformerOptions<T>;
  private readonly clock: Clock;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly loops: { namespace?: string; synced: boolean; lastContact: number; connected: boolean; sawEvent?: boolean; lastError?: string }[] = [];
  private abort = new AbortController();
  private running: Promise<void>[] = [];

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.resource = opts.resource;
    this.clock = opts.clock ?? systemClock;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** Number of objects in the cache. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * Adds an object read outside the watch (a GET) when the cache has none under its key and
   * `keep` accepts it; emits 'add'. A watched version always wins over an offered one.
   */
  offer(obj: T): boolean {
    const key = objectKey(obj);
    if (this.cache.has(key) || !this.kept(obj)) return false;
    this.cache.set(key, obj);
    this.emit('add', obj);
    return true;
  }

  /** Drops the cached objects `keep` no longer accepts (silently: nothing was deleted). */
  prune(): void {
    for (const [key, obj] of this.cache) if (!this.kept(obj)) this.cache.delete(key);
  }

  private kept(obj: T): boolean {
    return this.opts.keep ? this.opts.keep(obj) : true;
  }

  /** True once every loop has completed its first list. */
  hasSynced(): boolean {
    return this.loops.length > 0 && this.loops.every((l) => l.synced);
  }

  private syncWaiters: (() => void)[] = [];

  /** Resolves once every loop has completed its first list (or when `signal` aborts). */
  whenSynced(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced() || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.syncWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * False when a loop has neither an open watch nor any contact with the API server for longer
   * than the watchdog allows (it keeps failing): /healthz reports it so the pod gets restarted.
   */
  healthy(): { ok: boolean; detail?: string } {
    const limit = this.watchdogMs() * 2;
    for (const l of this.loops) {
      if (!l.connected && this.clock.now() - l.lastContact > limit) {
        return { ok: false, detail: `${this.resource.plural}${l.namespace ? ` in ${l.namespace}` : ''}: no working watch for ${Math.round((this.clock.now() - l.lastContact) / 1000)}s (${l.lastError ?? 'unknown error'})` };
      }
    }
    return { ok: true };
  }

  start(): void {
    const namespaces = this.opts.namespaces?.length ? this.opts.namespaces : [undefined];
    for (const ns of namespaces) {
      const state = { namespace: ns, synced: false, lastContact: this.clock.now(), connected: false };
      this.loops.push(state);
      this.running.push(this.loop(state));
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.running);
  }

  private watchdogMs(): number {
    return (this.opts.watchTimeoutSeconds ?? 300) * 1000 + (this.opts.watchdogGraceMs ?? 30_000);
  }

  private async loop(state: Informer<T>['loops'][number]): Promise<void> {
    const { client, resource, labelSelector, logger } = this.opts;
    const signal = this.abort.signal;
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!resourceVersion) {
          const list = await client.list<T>(resource, { namespace: state.namespace, labelSelector, signal });
          this.replaceAll(state.namespace, list.items);
          resourceVersion = list.metadata.resourceVersion;
          state.synced = true;
          state.lastContact = this.clock.now();
          if (this.hasSynced()) for (const w of this.syncWaiters.splice(0)) w();
        }
        const started = this.clock.now();
        const outcome = await this.watchOnce(state, resourceVersion!, (rv) => (resourceVersion = rv));
        if (outcome === 'gone') {
          logger.info({ resource: resource.plural, namespace: state.namespace }, 'watch expired (410 Gone); relisting');
          resourceVersion = undefined;
          failures = 0;
        } else if (this.clock.now() - started < 1000 && !state.sawEvent) {
          // A watch the server ends at once, without a single event, would otherwise spin.
          await sleep(this.clock, delayFor(failures++, 250, 30_000), signal);
        } else {
          failures = 0;
        }
      } catch (err) {
        if (signal.aborted) break;
        state.connected = false;
        state.lastError = err instanceof Error ? err.message : String(err);
        if (isStatus(err, 410)) {
          resourceVersion = undefined;
          continue;
        }
        const delay = delayFor(failures++, 250, 30_000);
        logger.warn({ resource: resource.plural, namespace: state.namespace, err: state.lastError, retryInMs: delay }, 'list/watch failed; retrying');
        await sleep(this.clock, delay, signal);
      }
    }
  }

  /** One watch request. Returns 'gone' when the server says our resourceVersion is too old. */
  private async watchOnce(state: Informer<T>['loops'][number], fromVersion: string, setVersion: (rv: string) => void): Promise<'closed' | 'gone'> {
    const { client, resource, labelSelector } = this.opts;
    const watchAbort = new AbortController();
    const onStop = () => watchAbort.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    let gone = false;
    let silentTooLong = false;
    // Watchdog: the server closes the watch at timeoutSeconds; silence well past that means a dead connection.
    let watchdog = this.clock.setTimer(fire, this.watchdogMs());
    function fire() {
      silentTooLong = true;
      watchAbort.abort();
    }
    state.sawEvent = false;
    const touch = () => {
      state.lastContact = this.clock.now();
      watchdog.cancel();
      watchdog = this.clock.setTimer(fire, this.watchdogMs());
    };
    try {
      state.connected = true;
      await client.watch<T>(
        resource,
        { namespace: state.namespace, resourceVersion: fromVersion, labelSelector, timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 },
        (ev: WatchEvent<T>) => {
          touch();
          state.sawEvent = true;
          if (gone) return;
          if (ev.type === 'ERROR') {
            const status = ev.object as unknown as { code?: number; message?: string };
            if (status.code === 410) {
              // End the watch cleanly (no abort: an abort mid-read surfaced as an uncaught AbortError).
              gone = true;
              return 'stop';
            }
            throw new Error(`watch error event: ${status.code ?? '?'} ${status.message ?? ''}`);
          }
          const rv = ev.object?.metadata?.resourceVersion;
          if (rv) setVersion(rv);
          if (ev.type === 'BOOKMARK') return;
          this.apply(ev.type, ev.object);
        },
        watchAbort.signal,
      );
      touch();
    } finally {
      watchdog.cancel();
      state.connected = false;
      this.abort.signal.removeEventListener('abort', onStop);
    }
    if (silentTooLong && !gone) this.opts.logger.warn({ resource: resource.plural, namespace: state.namespace }, 'watch silent past its timeout; restarting it');
    return gone ? 'gone' : 'closed';
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (type === 'DELETED' || !this.kept(obj)) {
      if (type !== 'DELETED' && !old) return;
      this.cache.delete(key);
      this.emit('delete', obj, old);
      return;
    }
    this.cache.set(key, obj);
    this.emit(old ? 'update' : 'add', obj, old);
  }

  /** After a (re)list: install the new state and emit what changed relative to the cache. */
  private replaceAll(namespace: string | undefined, items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      if (!this.kept(item)) continue;
      const key = objectKey(item);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (!old) this.emit('add', item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.emit('update', item, old);
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue;
      if (namespace !== undefined && old.metadata.namespace !== namespace) continue;
      this.cache.delete(key);
      this.emit('delete', old, old);
    }
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (err) {
        this.opts.logger.error({ err: err instanceof Error ? err.message : String(err), resource: this.resource.plural }, 'informer handler threw');
      }
    }
  }
}
