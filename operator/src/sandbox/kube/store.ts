/**
 * The sandbox's etcd: objects per resource (indexed by namespace and name), one global
 * resourceVersion counter, and a bounded history of change events that watches replay from.
 * Everything is synchronous, so a watch that replays history and then subscribes sees every
 * event exactly once, in resourceVersion order.
 */
import type { KubeObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  storeKey: string;
  rv: number;
  object: KubeObject;
  /** The object before this change (for MODIFIED and DELETED), so selector watches can tell moves in and out. */
  old?: KubeObject;
}

export type StoreListener = (event: StoreEvent) => void;

export class TooOldResourceVersion extends Error {
  readonly requested: number;
  readonly oldest: number;
  constructor(requested: number, oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
    this.requested = requested;
    this.oldest = oldest;
  }
}

const hasOwners = (o: KubeObject): number => (Array.isArray(o.metadata.ownerReferences) && o.metadata.ownerReferences.length > 0 ? 1 : 0);

export class ObjectStore {
  private rv = 0;
  /** storeKey → namespace ('' for cluster-scoped) → name → object. */
  private readonly collections = new Map<string, Map<string, Map<string, KubeObject>>>();
  private history: StoreEvent[] = [];
  /** Every event with rv > compactedRv is still in history. */
  private compactedRv = 0;
  private readonly listeners = new Map<string, Set<StoreListener>>();
  private readonly maxHistory: number;

  constructor(maxHistory = 10_000) {
    this.maxHistory = maxHistory;
  }

  /** How many stored objects have ownerReferences (deletions skip the dependents scan when none do). */
  ownedObjects = 0;

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch may still start from. */
  get oldestWatchableRv(): number {
    return this.compactedRv;
  }

  nextResourceVersion(): number {
    return ++this.rv;
  }

  get(storeKey: string, namespace: string, name: string): KubeObject | undefined {
    return this.collections.get(storeKey)?.get(namespace)?.get(name);
  }

  /** Objects of one resource, in one namespace or all, sorted by namespace then name (stable pagination). */
  list(storeKey: string, namespace?: string): KubeObject[] {
    const byNs = this.collections.get(storeKey);
    if (!byNs) return [];
    const out: KubeObject[] = [];
    const namespaces = namespace !== undefined ? [namespace] : [...byNs.keys()].sort();
    for (const ns of namespaces) {
      const names = byNs.get(ns);
      if (!names) continue;
      const sorted = [...names.keys()].sort();
      for (const n of sorted) out.push(names.get(n) as KubeObject);
    }
    return out;
  }

  count(storeKey: string): number {
    let n = 0;
    for (const names of this.collections.get(storeKey)?.values() ?? []) n += names.size;
    return n;
  }

  /** Stores an object whose metadata.resourceVersion was set from nextResourceVersion(). */
  put(storeKey: string, obj: KubeObject, old: KubeObject | undefined): void {
    const ns = obj.metadata.namespace ?? '';
    let byNs = this.collections.get(storeKey);
    if (!byNs) this.collections.set(storeKey, (byNs = new Map()));
    let names = byNs.get(ns);
    if (!names) byNs.set(ns, (names = new Map()));
    names.set(obj.metadata.name as string, obj);
    this.ownedObjects += hasOwners(obj) - (old ? hasOwners(old) : 0);
    this.record({ type: old ? 'MODIFIED' : 'ADDED', storeKey, rv: Number(obj.metadata.resourceVersion), object: obj, old });
  }

  /** Removes an object; the DELETED event carries the object with a fresh resourceVersion, as etcd does. */
  remove(storeKey: string, obj: KubeObject): KubeObject {
    const ns = obj.metadata.namespace ?? '';
    const names = this.collections.get(storeKey)?.get(ns);
    names?.delete(obj.metadata.name as string);
    if (names && names.size === 0) this.collections.get(storeKey)?.delete(ns);
    this.ownedObjects -= hasOwners(obj);
    const rv = this.nextResourceVersion();
    const gone: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    this.record({ type: 'DELETED', storeKey, rv, object: gone, old: obj });
    return gone;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.maxHistory * 1.25) {
      const drop = this.history.length - this.maxHistory;
      this.compactedRv = this.history[drop - 1].rv;
      this.history = this.history.slice(drop);
    }
    for (const l of [...(this.listeners.get(event.storeKey) ?? [])]) {
      try {
        l(event);
      } catch {
        // One broken watcher must not fail the write or starve the other watchers.
      }
    }
  }

  /** Forgets all history: watches and continue tokens from before now get 410 Gone. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  /**
   * Replays the events of `storeKey` after `fromRv` to `listener`, then keeps calling it with
   * new events until the returned unsubscribe function is called.
   * Throws TooOldResourceVersion when events after `fromRv` were compacted away.
   */
  watch(storeKey: string, fromRv: number, listener: StoreListener): () => void {
    if (fromRv < this.compactedRv) throw new TooOldResourceVersion(fromRv, this.compactedRv + 1);
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid].rv <= fromRv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.history.length; i++) {
      const e = this.history[i];
      if (e.storeKey === storeKey) listener(e);
    }
    let set = this.listeners.get(storeKey);
    if (!set) this.listeners.set(storeKey, (set = new Set()));
    // A watch from a version newer than any event yet starts with the first event after it.
    const live: StoreListener = fromRv > this.rv ? (e) => e.rv > fromRv && listener(e) : listener;
    set.add(live);
    return () => {
      set.delete(live);
    };
  }
}
