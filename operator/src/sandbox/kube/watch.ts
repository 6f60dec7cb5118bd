/**
 * One watch stream: replays the changes after the requested resourceVersion (or the current
 * objects as ADDED), then streams live changes filtered by namespace, name and selectors —
 * an object that moves into or out of a selector arrives as ADDED or DELETED — with periodic
 * BOOKMARKs when asked, until timeoutSeconds, the client leaving, or dropWatches().
 * A version older than the retained history gets kube-apiserver's ERROR event with a 410 Status.
 */
import type { ServerResponse } from 'node:http';
import type { KubeApi } from './api.js';
import { ApiError, badRequest } from './errors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { TooOldResourceVersion, type StoreEvent } from './store.js';
import { includeObject, toTable } from './table.js';
import type { KubeObject, ResourceType } from './types.js';

export interface ActiveWatch {
  storeKey: string;
  stop: () => void;
}

export interface WatchContext {
  api: KubeApi;
  bookmarkIntervalMs: number;
  /** Open watches, so the server can end them all (dropWatches, close). */
  watches: Set<ActiveWatch>;
}

export interface WatchRequest {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  query: URLSearchParams;
  /** Stream meta.k8s.io Tables (kubectl get -w) instead of objects. */
  table: boolean;
}

const truthy = (v: string | null): boolean => v === 'true' || v === '1';
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Stored objects are never mutated, so one serialization serves every watcher of an event. */
const jsonCache = new WeakMap<object, string>();
function serialized(obj: unknown): string {
  if (obj === null || typeof obj !== 'object') return JSON.stringify(obj);
  let json = jsonCache.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    jsonCache.set(obj, json);
  }
  return json;
}

/** The watch event type a subscriber sees for a store event, given whether the object matched before and after. */
export function visibleType(e: StoreEvent, matches: (o: KubeObject) => boolean): string | undefined {
  const now = matches(e.object);
  const before = e.old !== undefined && matches(e.old);
  if (e.type === 'ADDED') return now ? 'ADDED' : undefined;
  if (e.type === 'DELETED') return before ? 'DELETED' : undefined;
  if (now && before) return 'MODIFIED';
  if (now) return 'ADDED';
  if (before) return 'DELETED';
  return undefined;
}

export function serveWatch(ctx: WatchContext, res: ServerResponse, w: WatchRequest): void {
  const { rt, query } = w;
  const { api } = ctx;
  const labelSel = query.get('labelSelector') ? parseLabelSelector(query.get('labelSelector') as string) : undefined;
  const fieldSel = query.get('fieldSelector') ? parseFieldSelector(query.get('fieldSelector') as string) : undefined;
  const rvParam = query.get('resourceVersion') ?? '';
  const sendInitial = truthy(query.get('sendInitialEvents'));
  const bookmarks = truthy(query.get('allowWatchBookmarks'));
  const timeoutRaw = query.get('timeoutSeconds');
  const timeoutSeconds = timeoutRaw === null ? undefined : Number(timeoutRaw);
  if (timeoutSeconds !== undefined && (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0)) {
    throw badRequest(`invalid timeoutSeconds "${timeoutRaw}": must be a non-negative number`);
  }
  let fromRv: number | undefined;
  if (rvParam !== '' && rvParam !== '0' && !sendInitial) {
    fromRv = Number(rvParam);
    if (!Number.isInteger(fromRv) || fromRv < 0) throw badRequest(`invalid resource version "${rvParam}": must be a non-negative integer`);
  }
  const ns = rt.namespaced ? w.namespace : undefined;
  const matches = (o: KubeObject): boolean =>
    (ns === undefined || o.metadata.namespace === ns) &&
    (w.name === undefined || o.metadata.name === w.name) &&
    (!labelSel || matchesLabels(labelSel, o.metadata.labels)) &&
    // Field selectors name the fields of the API being watched (events.k8s.io: regarding.name, ...).
    (!fieldSel || matchesFields(fieldSel, rt.conversion ? rt.conversion.fromStorage(o) : o));

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let columnsSent = false;
  const include = includeObject(query);
  const write = (type: string, obj: unknown): void => {
    if (res.writableEnded || res.destroyed) return;
    let object = obj;
    if (w.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      // kubectl get -w prints the header once: only the first Table carries column definitions.
      object = toTable(rt, [obj as KubeObject], undefined, include, !columnsSent);
      columnsSent = true;
    }
    res.write(`{"type":${JSON.stringify(type)},"object":${serialized(object)}}\n`);
    // A client that stopped reading is cut off (as kube-apiserver drops slow watchers) instead of
    // buffering without bound; it re-watches from its last resourceVersion.
    if (res.writableLength > MAX_BUFFERED_BYTES) active.stop();
  };
  const bookmark = (annotations?: Record<string, string>): void =>
    write('BOOKMARK', {
      kind: rt.kind,
      apiVersion: rt.group ? `${rt.group}/${rt.version}` : rt.version,
      metadata: { resourceVersion: String(api.store.resourceVersion), ...(annotations ? { annotations } : {}) },
    });
  const onEvent = (e: StoreEvent): void => {
    const type = visibleType(e, matches);
    if (type) write(type, api.present(rt, e.object));
  };

  let unsubscribe: (() => void) | undefined;
  let timers: NodeJS.Timeout[] = [];
  const active: ActiveWatch = {
    storeKey: rt.storeKey,
    stop: () => {
      unsubscribe?.();
      for (const t of timers) clearTimeout(t);
      timers = [];
      ctx.watches.delete(active);
      if (!res.writableEnded) res.end();
    },
  };
  ctx.watches.add(active);
  // Only the response's close means the client went away (a request's 'close' fires once its body is read).
  res.on('close', active.stop);

  try {
    if (fromRv === undefined) {
      const start = api.store.resourceVersion;
      for (const o of api.store.list(rt.storeKey, ns)) if (matches(o)) write('ADDED', api.present(rt, o));
      if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
      unsubscribe = api.store.watch(rt.storeKey, start, onEvent);
    } else {
      unsubscribe = api.store.watch(rt.storeKey, fromRv, onEvent);
    }
  } catch (err) {
    if (err instanceof TooOldResourceVersion) {
      write('ERROR', new ApiError(410, 'Expired', err.message).toStatus());
      active.stop();
      return;
    }
    active.stop();
    throw err;
  }
  if (bookmarks && ctx.bookmarkIntervalMs > 0) timers.push(setInterval(() => bookmark(), ctx.bookmarkIntervalMs));
  if (timeoutSeconds !== undefined && timeoutSeconds > 0) timers.push(setTimeout(active.stop, timeoutSeconds * 1000));
}
