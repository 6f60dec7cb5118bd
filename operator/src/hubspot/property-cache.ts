/**
 * HubSpot property definitions cached per account and object type (DESIGN §4): the integrations
 * of one HubSpot account share one list per object type instead of each reading (and holding)
 * its own, so 500 integrations on one portal validate with one properties request per type.
 *
 * Freshness:
 * - an entry is served while younger than `ttlMs` (default 5 minutes);
 * - a client's FIRST read of a type (a new engine: a new or changed spec) accepts only an entry
 *   younger than `newReaderMaxAgeMs` (default 10 s): a spec change sees properties created in
 *   HubSpot meanwhile, while a burst of engines starting together still shares one request;
 * - a caller can demand fresher data (`maxAgeMs: 0` forces a read, e.g. when a mapped property
 *   is missing);
 * - concurrent reads of one entry share the request in flight;
 * - a property created through a client is added to the entry at once.
 * The lists are shared and frozen: callers must not modify them.
 */
import type { PropertyDefinition } from './types.js';

export interface PropertyCacheOptions {
  ttlMs?: number;
  newReaderMaxAgeMs?: number;
  now?: () => number;
}

interface Entry {
  at: number;
  defs?: readonly PropertyDefinition[];
  loading?: Promise<readonly PropertyDefinition[]>;
  /** Created while a read was in flight (the read may predate them). */
  added?: PropertyDefinition[];
}

function merge(defs: readonly PropertyDefinition[], added: readonly PropertyDefinition[]): readonly PropertyDefinition[] {
  if (!added.length) return defs;
  const names = new Set(added.map((d) => d.name));
  return Object.freeze([...defs.filter((d) => !names.has(d.name)), ...added.map((d) => Object.freeze({ ...d }))]);
}

export class PropertyCache {
  readonly ttlMs: number;
  readonly newReaderMaxAgeMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  /** Reads answered from the cache, and requests made (for tests, metrics and the benchmark). */
  readonly stats = { hits: 0, loads: 0 };

  constructor(o: PropertyCacheOptions = {}) {
    this.ttlMs = o.ttlMs ?? 5 * 60_000;
    this.newReaderMaxAgeMs = o.newReaderMaxAgeMs ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /**
   * The definitions of `objectType` in `account`, read with `load` when the cached ones are older
   * than `maxAgeMs` (default: the TTL).
   */
  async get(account: string, objectType: string, load: () => Promise<PropertyDefinition[]>, maxAgeMs = this.ttlMs): Promise<readonly PropertyDefinition[]> {
    const key = `${account}\n${objectType}`;
    const e = this.entries.get(key);
    if (e?.loading) {
      this.stats.hits++;
      return e.loading;
    }
    if (e?.defs && this.now() - e.at < Math.min(maxAgeMs, this.ttlMs)) {
      this.stats.hits++;
      return e.defs;
    }
    this.stats.loads++;
    const started = this.now();
    const entry: Entry = { at: e?.at ?? 0, defs: e?.defs };
    entry.loading = load().then(
      (defs) => {
        const frozen = merge(Object.freeze(defs.map((d) => Object.freeze(d))), entry.added ?? []);
        this.entries.set(key, { at: started, defs: frozen });
        return frozen;
      },
      (err) => {
        // A failed read leaves the previous entry (if any) as it was.
        if (e) this.entries.set(key, e);
        else this.entries.delete(key);
        throw err;
      },
    );
    this.entries.set(key, entry);
    return entry.loading;
  }

  /** A property just created in `account`: visible to every reader at once. */
  add(account: string, objectType: string, def: PropertyDefinition): void {
    const e = this.entries.get(`${account}\n${objectType}`);
    if (!e) return;
    if (e.loading) (e.added ??= []).push(def);
    if (e.defs) e.defs = merge(e.defs, [def]);
  }

  /** Forgets one object type of an account, a whole account, or everything. */
  invalidate(account?: string, objectType?: string): void {
    if (account === undefined) return this.entries.clear();
    for (const key of [...this.entries.keys()]) {
      const [a, t] = key.split('\n');
      if (a === account && (objectType === undefined || t === objectType)) this.entries.delete(key);
    }
  }

  /** Number of cached (account, object type) lists. */
  get size(): number {
    return this.entries.size;
  }
}

/** The process-wide cache the controller hands to every engine (one per operator process). */
export const sharedPropertyCache = new PropertyCache();
