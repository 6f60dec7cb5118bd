/**
 * The records of one object type, held compactly: one small fixed-shape object per record with
 * its values in an array indexed by property column (no per-record string keys), the derived
 * properties (hs_object_id, create and last-modified dates) kept as numbers, and indexes:
 * - `order`: all records by id (ids only grow, so appending keeps it sorted) for list paging
 *   and lookups by id (binary search);
 * - sorted (timestamp, id) indexes on the create and last-modified dates for search;
 * - hash indexes on unique properties (email for contacts, hasUniqueValue properties).
 *
 * Search is eventually consistent like HubSpot's: with an indexing delay, a write is applied to
 * the records at once (reads see it) but search keeps seeing the previous version (a snapshot)
 * until the delay has passed.
 */
import { PropertyRegistry, type PropertyDef } from './properties.js';
import { SortedIndex } from './sorted-index.js';

/** What search sees of a record: the record itself, or a snapshot while reindexing is pending. */
export interface RecordView {
  id: number;
  c: number; // createdAt, epoch ms
  u: number; // updatedAt (last modified), epoch ms
  a: number; // archivedAt epoch ms, 0 while live
  v: (string | undefined)[]; // values by property column
}

export class Rec implements RecordView {
  id: number;
  c: number;
  u: number;
  a = 0;
  v: (string | undefined)[];

  constructor(id: number, c: number, u: number, v: (string | undefined)[]) {
    this.id = id;
    this.c = c;
    this.u = u;
    this.v = v;
  }
}

/** What search still sees of a record whose latest write waits to be indexed. */
interface Snapshot extends RecordView {
  /** False for a record created after the last indexing: search does not know it yet. */
  visible: boolean;
  /** When the latest pending write becomes searchable. */
  due: number;
}

/**
 * One value a property held: the value (undefined = cleared), when it was written (epoch ms) and
 * what wrote it (HubSpot's `sourceType`: API, IMPORT, MERGE...).
 */
export interface Version {
  value: string | undefined;
  at: number;
  source: string;
}

/**
 * A record's versions as stored: one flat array, four slots per version (column, at, value,
 * source) in write order — no object per version.
 */
type FlatVersions = (number | string | undefined)[];
const STRIDE = 4;

/** Versions kept per property of a record (older ones are dropped; the newest always stays). */
export const MAX_VERSIONS = 20;

export type ObjectKind = 'contacts' | 'companies' | 'deals' | 'custom';

export interface ObjectTypeInfo {
  /** Plural name used in URLs: contacts, companies, deals, or p_<name> for custom objects. */
  name: string;
  objectTypeId: string; // 0-1, 0-2, 0-3, 2-<n>
  singular: string; // CONTACT, COMPANY, DEAL, or the custom singular label upper-cased (error messages)
  label: string; // Contact, Company, Deal, ...
  kind: ObjectKind;
  fullyQualifiedName: string;
}

export class ObjectStore {
  readonly info: ObjectTypeInfo;
  readonly props: PropertyRegistry;
  /** Property names of the derived values. */
  readonly createdProp: string;
  readonly modifiedProp: string;
  private order: Rec[] = [];
  private readonly unique = new Map<string, Map<string, Rec>>();
  /** Equality indexes by property column, built on demand (see valueIndex). */
  private readonly valueIndexes = new Map<number, Map<string, Set<Rec>>>();
  readonly byModified = new SortedIndex();
  readonly byCreated = new SortedIndex();
  /** Records with a write not yet indexed, and what search sees of them meanwhile. */
  private readonly snapshots = new Map<Rec, Snapshot>();
  private pending: Rec[] = [];
  private pendingDue: number[] = [];
  private pendingHead = 0;
  private live = 0;
  /** Number of records search currently knows (live and indexed). */
  private searchable = 0;
  private indexingDelayMs: number;
  /** Changes whenever what search sees changes (lets search reuse a total between pages). */
  searchVersion = 0;
  /**
   * Property history of records written since they were created: by record id, one flat list of
   * versions (each naming its property column) in write order. A record never updated has no entry: each of its values dates from
   * its creation (see `history`), so bulk-seeded and create-only records cost nothing here.
   */
  private readonly versions = new Map<number, FlatVersions>();
  /** Ids of records merged into another (objectIdToMerge → primaryObjectId). */
  readonly mergedInto = new Map<number, number>();
  /** Emails blocked by a GDPR delete of an unknown email (lower-cased). */
  readonly blockedEmails = new Set<string>();

  constructor(info: ObjectTypeInfo, indexingDelayMs: number, props?: PropertyRegistry) {
    this.info = info;
    this.indexingDelayMs = indexingDelayMs;
    this.props = props ?? new PropertyRegistry(info.kind);
    this.createdProp = info.kind === 'custom' ? 'hs_createdate' : 'createdate';
    this.modifiedProp = info.kind === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
    if (info.kind === 'contacts') this.unique.set('email', new Map());
    for (const def of this.props.list()) if (def.hasUniqueValue) this.unique.set(def.name, new Map());
  }

  clear(): void {
    this.searchVersion++;
    this.order = [];
    for (const m of this.unique.values()) m.clear();
    this.valueIndexes.clear();
    this.byModified.clear();
    this.byCreated.clear();
    this.snapshots.clear();
    this.pending = [];
    this.pendingDue = [];
    this.pendingHead = 0;
    this.live = 0;
    this.searchable = 0;
    this.versions.clear();
    this.mergedInto.clear();
    this.blockedEmails.clear();
  }

  get liveCount(): number {
    return this.live;
  }

  get searchableCount(): number {
    this.flushIndexing();
    return this.searchable;
  }

  /** Names of the properties whose values must be unique. */
  uniqueProperties(): string[] {
    return [...this.unique.keys()];
  }

  addUniqueIndex(name: string): void {
    if (!this.unique.has(name)) this.unique.set(name, new Map());
  }

  isUnique(name: string): boolean {
    return this.unique.has(name);
  }

  get(id: number): Rec | undefined {
    // `order` is sorted by id: a binary search costs ~20 steps at a million records and saves
    // a hash map entry (~40 bytes) per record.
    const i = this.orderIndex(id);
    const rec = this.order[i];
    return rec !== undefined && rec.id === id ? rec : undefined;
  }

  /** The live record holding `value` in a unique property, if any. */
  findUnique(prop: string, value: string): Rec | undefined {
    const key = prop === 'email' ? value.toLowerCase() : value;
    return this.unique.get(prop)?.get(key);
  }

  /** Position in `order` of the first record with id >= `id`. */
  private orderIndex(id: number): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order[mid]!.id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Records by ascending id starting at `fromId`, live or archived as asked. */
  *scanById(fromId: number, archived: boolean): Generator<Rec> {
    for (let i = this.orderIndex(fromId); i < this.order.length; i++) {
      const r = this.order[i]!;
      if ((r.a !== 0) === archived && r.a >= 0) yield r;
    }
  }

  /**
   * Number of searchable records with lo <= id <= hi: index arithmetic when no record is
   * archived or waiting to be indexed, else a walk of the range.
   */
  countSearchableIds(lo: number, hi: number): number {
    this.flushIndexing();
    const from = lo === Number.NEGATIVE_INFINITY ? 0 : this.orderIndex(Math.ceil(lo));
    const to = hi === Number.POSITIVE_INFINITY ? this.order.length : this.orderIndex(Math.floor(hi) + 1);
    if (this.order.length === this.live && this.snapshots.size === 0) return Math.max(0, to - from);
    let n = 0;
    for (let i = from; i < to; i++) if (this.searchView(this.order[i]!)) n++;
    return n;
  }

  /** Records by descending id from `toId` down, live or archived as asked. */
  *scanByIdDescending(toId: number, archived: boolean): Generator<Rec> {
    const start = toId === Number.POSITIVE_INFINITY ? this.order.length : this.orderIndex(Math.floor(toId) + 1);
    for (let i = start - 1; i >= 0; i--) {
      const r = this.order[i]!;
      if ((r.a !== 0) === archived && r.a >= 0) yield r;
    }
  }

  /** Inserts a new record (id assigned by the caller, ascending). Values are validated already. */
  insert(id: number, values: (string | undefined)[], now: number, createdAt?: number): Rec {
    const last = this.order[this.order.length - 1];
    if (last !== undefined && last.id >= id) throw new Error(`record ids must grow: ${id} after ${last.id}`);
    const rec = new Rec(id, createdAt ?? now, now, values);
    this.order.push(rec);
    this.live++;
    this.indexUnique(rec);
    this.indexValues(rec);
    if (this.indexingDelayMs > 0) {
      this.flushDue(now);
      this.snapshots.set(rec, { id, c: rec.c, u: rec.u, a: 0, v: [], visible: false, due: 0 });
      this.schedule(rec, now);
    } else this.indexSearch(rec);
    return rec;
  }

  /**
   * Applies changed values (column → value) and bumps the last-modified time. Returns the names
   * of properties whose value actually changed; nothing is written when none did.
   */
  update(rec: Rec, changes: Map<PropertyDef, string | undefined>, now: number, source = 'API'): string[] {
    const changed: string[] = [];
    let createdAt: number | undefined;
    for (const [def, value] of changes) {
      if (def.column < 0) {
        if (def.name === this.createdProp && value !== undefined && Date.parse(value) !== rec.c) {
          createdAt = Date.parse(value);
          changed.push(def.name);
        }
        continue;
      }
      if (rec.v[def.column] !== value) changed.push(def.name);
    }
    if (changed.length === 0) return changed;
    const before = this.beforeSearchChange(rec, now);
    this.unindexUnique(rec);
    this.unindexValues(rec);
    const v = rec.v.slice();
    for (const [def, value] of changes) {
      if (def.column < 0 || rec.v[def.column] === value) continue;
      this.recordVersion(rec, def.column, value, now, source);
      v[def.column] = value;
    }
    rec.v = v;
    if (createdAt !== undefined) rec.c = createdAt;
    rec.u = Math.max(now, rec.u);
    this.indexUnique(rec);
    this.indexValues(rec);
    this.afterSearchChange(rec, before);
    return changed;
  }

  private recordVersion(rec: Rec, column: number, value: string | undefined, now: number, source: string): void {
    const list = this.versions.get(rec.id) ?? [];
    let count = 0;
    let oldest = -1;
    for (let i = 0; i < list.length; i += STRIDE) {
      if (list[i] !== column) continue;
      if (oldest < 0) oldest = i;
      count++;
    }
    // The value written at creation (if any) is the first version of a property.
    const initial = count === 0 && rec.v[column] !== undefined ? [column, rec.c, rec.v[column], 'API'] : [];
    // Rebuilt at its exact size (an array grown by push reserves room for many more entries).
    let next: FlatVersions = [...list, ...initial, column, now, value, source];
    if (count + initial.length / STRIDE + 1 > MAX_VERSIONS) next = [...next.slice(0, oldest), ...next.slice(oldest + STRIDE)];
    this.versions.set(rec.id, next);
  }

  /**
   * The versions of a property, newest first (HubSpot's `propertiesWithHistory` order). A value
   * never rewritten dates from the record's creation; a property never set has none. Derived
   * properties have one version: their current value.
   */
  history(rec: Rec, def: PropertyDef): Version[] {
    if (def.column < 0) {
      const value = this.value(rec, def);
      if (value === undefined) return [];
      return [{ value, at: def.name === this.modifiedProp ? rec.u : rec.c, source: 'API' }];
    }
    const list = this.versions.get(rec.id);
    const out: Version[] = [];
    for (let i = (list?.length ?? 0) - STRIDE; list && i >= 0; i -= STRIDE) {
      if (list[i] === def.column) out.push({ value: list[i + 2] as string | undefined, at: list[i + 1] as number, source: list[i + 3] as string });
    }
    if (out.length > 0) return out;
    const value = rec.v[def.column];
    return value === undefined ? [] : [{ value, at: rec.c, source: 'API' }];
  }

  /** Every version of every stored property of some records, by column, oldest first (for a merge). */
  collectHistory(recs: Rec[]): Map<number, Version[]> {
    const out = new Map<number, Version[]>();
    for (const def of this.props.list()) {
      if (def.column < 0) continue;
      const versions = recs.flatMap((r) => this.history(r, def)).sort((a, b) => a.at - b.at);
      if (versions.length > 0) out.set(def.column, versions);
    }
    return out;
  }

  /**
   * Gives a record (the result of a merge) the collected history of the records merged into it,
   * bounded like any history; where the newest version is not the value the record holds (the
   * primary's value wins a merge), that value is added as the newest version, at `now` by `source`.
   */
  adoptHistory(target: Rec, collected: Map<number, Version[]>, now: number, source: string): void {
    const flat: FlatVersions = [];
    for (const [column, versions] of collected) {
      const current = target.v[column];
      const all = versions[versions.length - 1]!.value === current ? versions : [...versions, { value: current, at: now, source }];
      for (const v of all.slice(-MAX_VERSIONS)) flat.push(column, v.at, v.value, v.source);
    }
    if (flat.length > 0) this.versions.set(target.id, flat);
  }

  /**
   * Removes a record for good (GDPR delete, or the record merged away): it leaves every index and
   * listing, archived ones included, and its values and history are dropped. The id stays
   * known (a tiny tombstone with archivedAt -1) so it is never reused.
   */
  purge(rec: Rec, now: number): void {
    this.archive(rec, now);
    // Unlike an archive, search forgets it at once, whatever the indexing delay.
    const snap = this.snapshots.get(rec);
    if (snap) {
      if (snap.visible) this.unindexView(snap);
      snap.visible = false;
      snap.v = [];
    }
    rec.a = -1;
    rec.v = [];
    this.versions.delete(rec.id);
  }

  /**
   * Brings an archived record back (HubSpot's "restore deleted records"): indexed again, its
   * unique values claimed again (the caller checks they are free), last-modified moved to now.
   */
  restore(rec: Rec, now: number): void {
    if (rec.a <= 0) return;
    const before = this.beforeSearchChange(rec, now);
    rec.a = 0;
    rec.u = Math.max(now, rec.u);
    this.live++;
    this.indexUnique(rec);
    this.indexValues(rec);
    if (before === undefined) return; // indexed by flushIndexing after the delay
    this.searchVersion++;
    this.indexSearch(rec);
  }

  archive(rec: Rec, now: number): void {
    if (rec.a !== 0) return;
    const before = this.beforeSearchChange(rec, now);
    this.unindexUnique(rec);
    this.unindexValues(rec);
    rec.a = now;
    this.live--;
    this.afterSearchChange(rec, before);
  }

  /** Test/seed helper: sets timestamps directly (e.g. historical demo data). */
  setTimestamps(rec: Rec, createdAt: number, updatedAt: number): void {
    const before = this.beforeSearchChange(rec, updatedAt);
    rec.c = createdAt;
    rec.u = updatedAt;
    this.afterSearchChange(rec, before);
  }

  /**
   * Called before a write changes a record: with an indexing delay, snapshots what search sees;
   * without, returns the keys the record is indexed under so `afterSearchChange` can move it.
   */
  private beforeSearchChange(rec: Rec, now: number): RecordView | undefined {
    if (this.indexingDelayMs > 0) {
      this.flushDue(now);
      // Keep what search knows until the delay passes; only the first pending write snapshots.
      if (!this.snapshots.has(rec)) this.snapshots.set(rec, { id: rec.id, c: rec.c, u: rec.u, a: rec.a, v: rec.v, visible: true, due: 0 });
      this.schedule(rec, now);
      return undefined;
    }
    return { id: rec.id, c: rec.c, u: rec.u, a: rec.a, v: rec.v };
  }

  /** Moves the record in the sorted indexes, touching only the keys that changed. */
  private afterSearchChange(rec: Rec, before: RecordView | undefined): void {
    if (before === undefined) return; // indexed later, by flushIndexing
    this.searchVersion++;
    if (before.a !== 0) return; // archived records are not indexed and do not come back
    if (rec.a !== 0) {
      this.unindexView(before);
      return;
    }
    if (before.u !== rec.u) {
      this.byModified.remove(before.u, rec.id);
      this.byModified.insert(rec.u, rec.id);
    }
    if (before.c !== rec.c) {
      this.byCreated.remove(before.c, rec.id);
      this.byCreated.insert(rec.c, rec.id);
    }
  }

  /** Indexes what is due before each write too, so the queue stays short without searches. */
  private flushDue(now: number): void {
    if (this.pendingHead < this.pending.length && this.pendingDue[this.pendingHead]! <= now) this.flushIndexing(now);
  }

  private schedule(rec: Rec, now: number): void {
    const due = now + this.indexingDelayMs;
    this.snapshots.get(rec)!.due = due;
    this.pending.push(rec);
    this.pendingDue.push(due);
  }

  /** Makes every write whose indexing delay has passed visible to search. */
  flushIndexing(now = Date.now()): void {
    // Entries are queued in write order with one delay, so their due times only grow.
    while (this.pendingHead < this.pending.length) {
      if (this.pendingDue[this.pendingHead]! > now) break;
      const rec = this.pending[this.pendingHead]!;
      this.pendingHead++;
      const snap = this.snapshots.get(rec);
      if (snap === undefined) continue; // indexed already by an earlier entry
      if (snap.due > now) continue; // written again since: its newer entry will index it
      if (snap.visible) this.unindexView(snap);
      this.snapshots.delete(rec);
      this.indexSearch(rec);
    }
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingDue = [];
      this.pendingHead = 0;
    } else if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingDue = this.pendingDue.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /** Changes the indexing delay; pending writes become searchable at once. */
  setIndexingDelay(ms: number): void {
    this.flushIndexing(Number.POSITIVE_INFINITY);
    this.indexingDelayMs = ms;
  }

  private indexSearch(rec: Rec): void {
    this.searchVersion++;
    if (rec.a !== 0) return;
    this.byModified.insert(rec.u, rec.id);
    this.byCreated.insert(rec.c, rec.id);
    this.searchable++;
  }

  private unindexView(view: RecordView): void {
    this.searchVersion++;
    if (view.a !== 0) return;
    this.byModified.remove(view.u, view.id);
    this.byCreated.remove(view.c, view.id);
    this.searchable--;
  }

  /**
   * Records of a property value (lower-cased), for equality searches on properties that are not
   * unique (e.g. companies' domain). Built on first use with one scan, then kept up to date.
   * Holds current values, like the unique indexes.
   */
  valueIndex(def: PropertyDef): Map<string, Set<Rec>> {
    let idx = this.valueIndexes.get(def.column);
    if (idx) return idx;
    idx = new Map();
    this.valueIndexes.set(def.column, idx);
    for (const rec of this.order) if (rec.a === 0) addValue(idx, rec.v[def.column], rec);
    return idx;
  }

  private indexValues(rec: Rec): void {
    if (this.valueIndexes.size === 0 || rec.a !== 0) return;
    for (const [column, idx] of this.valueIndexes) addValue(idx, rec.v[column], rec);
  }

  private unindexValues(rec: Rec): void {
    if (this.valueIndexes.size === 0 || rec.a !== 0) return;
    for (const [column, idx] of this.valueIndexes) {
      const value = rec.v[column];
      if (value === undefined) continue;
      const key = value.toLowerCase();
      const set = idx.get(key);
      set?.delete(rec);
      if (set?.size === 0) idx.delete(key);
    }
  }

  private indexUnique(rec: Rec): void {
    if (rec.a !== 0) return;
    for (const [name, map] of this.unique) {
      const def = this.props.get(name);
      if (!def || def.column < 0) continue;
      const value = rec.v[def.column];
      if (value !== undefined) map.set(name === 'email' ? value.toLowerCase() : value, rec);
    }
  }

  private unindexUnique(rec: Rec): void {
    if (rec.a !== 0) return;
    for (const [name, map] of this.unique) {
      const def = this.props.get(name);
      if (!def || def.column < 0) continue;
      const value = rec.v[def.column];
      if (value === undefined) continue;
      const key = name === 'email' ? value.toLowerCase() : value;
      if (map.get(key) === rec) map.delete(key);
    }
  }

  /** What search sees of a record, or undefined when search does not know it (yet) or it is archived. */
  searchView(rec: Rec): RecordView | undefined {
    const snap = this.snapshots.size === 0 ? undefined : this.snapshots.get(rec);
    if (snap !== undefined && !snap.visible) return undefined;
    const view: RecordView = snap ?? rec;
    return view.a === 0 ? view : undefined;
  }

  /** Raw stored string of a property in a view (derived properties rendered like HubSpot does). */
  value(view: RecordView, def: PropertyDef): string | undefined {
    if (def.column >= 0) return view.v[def.column];
    if (def.name === 'hs_object_id') return String(view.id);
    if (def.name === this.createdProp) return new Date(view.c).toISOString();
    if (def.name === this.modifiedProp) return new Date(view.u).toISOString();
    return undefined;
  }

  /** Properties every response carries, whatever was asked (as HubSpot does). */
  alwaysReturned(): string[] {
    return [this.createdProp, 'hs_object_id', this.modifiedProp];
  }
}

function addValue(idx: Map<string, Set<Rec>>, value: string | undefined, rec: Rec): void {
  if (value === undefined) return;
  const key = value.toLowerCase();
  let set = idx.get(key);
  if (!set) idx.set(key, (set = new Set()));
  set.add(rec);
}
