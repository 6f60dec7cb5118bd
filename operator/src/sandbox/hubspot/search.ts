/**
 * CRM search (`POST /crm/v3/objects/{type}/search`) execution. The request is validated in
 * search-request.ts and filters compiled in search-filters.ts; this planner walks an index
 * instead of scanning whenever it can:
 * - every group pins hs_object_id or a unique property (EQ/IN) → direct lookups;
 * - sorting by the last-modified date, the create date or hs_object_id → walk that index over
 *   the union of the groups' ranges on it, stopping after the page when the total can be
 *   counted from the index (groups made only of range filters on the sort key);
 * - otherwise collect the matches (walking a date index when every group bounds it) and keep
 *   the first page's worth in a bounded heap.
 * Ties in any sort are broken by hs_object_id in the sort's direction, so paging is stable when
 * many records share one timestamp.
 */
import type { PropertyDef } from './properties.js';
import { compileFilter, compileQuery, comparator, type Predicate } from './search-filters.js';
import { comparable, type Filter, type SearchOutcome, type SearchPlanInput } from './search-request.js';
import type { ObjectStore, Rec, RecordView } from './store.js';

export { parseSearchRequest, SEARCH_LIMITS, type SearchOutcome, type SearchPlanInput } from './search-request.js';

/** Inclusive range of a key that a group's filters pin; undefined when they do not bound it. */
interface Range {
  lo: number;
  hi: number;
  /** True when every filter of the group is a range filter on this key (total countable from the index). */
  pure: boolean;
}

function rangeOn(group: Filter[], def: PropertyDef): Range | undefined {
  let lo = Number.NEGATIVE_INFINITY;
  let hi = Number.POSITIVE_INFINITY;
  let bounded = false;
  let pure = true;
  for (const f of group) {
    if (f.def !== def) {
      pure = false;
      continue;
    }
    const v = f.value !== undefined ? (comparable(def, f.value) as number) : undefined;
    switch (f.operator) {
      case 'EQ': lo = Math.max(lo, v!); hi = Math.min(hi, v!); bounded = true; break; // a fraction matches nothing
      // Keys are integers (epoch ms, ids), so bounds round to the integers they admit.
      case 'GT': lo = Math.max(lo, Math.floor(v!) + 1); bounded = true; break;
      case 'GTE': lo = Math.max(lo, Math.ceil(v!)); bounded = true; break;
      case 'LT': hi = Math.min(hi, Math.ceil(v!) - 1); bounded = true; break;
      case 'LTE': hi = Math.min(hi, Math.floor(v!)); bounded = true; break;
      case 'BETWEEN': lo = Math.max(lo, Math.ceil(v!)); hi = Math.min(hi, Math.floor(comparable(def, f.highValue!) as number)); bounded = true; break;
      case 'HAS_PROPERTY': break; // derived properties always have a value
      default: pure = false;
    }
  }
  if (!bounded && group.length > 0 && !pure) return undefined;
  return { lo, hi, pure };
}

/** Ids a group pins by hs_object_id or a unique property (EQ / IN), if it does. */
function lookupIds(store: ObjectStore, group: Filter[]): Rec[] | undefined {
  for (const f of group) {
    const vals = f.operator === 'EQ' ? [f.value!] : f.operator === 'IN' ? f.values! : undefined;
    if (!vals) continue;
    if (f.def.name === 'hs_object_id') return vals.map((v) => store.get(Number(v))).filter((r): r is Rec => r !== undefined);
    // EQ is case-insensitive; the hash index answers exactly only where case cannot differ
    // (emails are stored lower-case; other unique values only when they have no letters).
    if (store.isUnique(f.def.name) && (f.def.name === 'email' || vals.every((v) => v.toLowerCase() === v.toUpperCase()))) {
      return vals.map((v) => store.findUnique(f.def.name, v)).filter((r): r is Rec => r !== undefined);
    }
  }
  // Equality on any other stored text property, through an equality index, when it narrows
  // the candidates enough to be worth sorting them (a common value is better walked by date).
  if (store.liveCount < VALUE_INDEX_MIN_RECORDS) return undefined;
  // A group bounded on a date or the id is answered by walking that index: do not build one.
  const keyed = new Set([store.modifiedProp, store.createdProp, 'hs_object_id']);
  if (group.some((f) => keyed.has(f.def.name))) return undefined;
  for (const f of group) {
    const vals = f.operator === 'EQ' ? [f.value!] : f.operator === 'IN' ? f.values! : undefined;
    if (!vals || f.def.column < 0 || f.def.fieldType === 'checkbox' || (f.def.type !== 'string' && f.def.type !== 'enumeration' && f.def.type !== 'phone_number')) continue;
    const idx = store.valueIndex(f.def);
    const sets = vals.map((v) => idx.get(v.toLowerCase()));
    if (sets.reduce((n, set) => n + (set?.size ?? 0), 0) > VALUE_INDEX_MAX_CANDIDATES) continue;
    return sets.flatMap((set) => (set ? [...set] : []));
  }
  return undefined;
}

/** Below this many records a scan is as fast as keeping an equality index. */
const VALUE_INDEX_MIN_RECORDS = 20_000;
/** Above this many candidates, walking a sorted index beats sorting the candidates. */
const VALUE_INDEX_MAX_CANDIDATES = 10_000;

export function executeSearch(store: ObjectStore, input: SearchPlanInput): SearchOutcome {
  store.flushIndexing();
  const { groups, limit, after } = input;
  const groupPreds = groups.map((g) => g.map((f) => compileFilter(store, f)));
  const queryPred = input.query ? compileQuery(store, input.query) : undefined;
  const matches: Predicate = (view) =>
    (groupPreds.length === 0 || groupPreds.some((preds) => preds.every((p) => p(view)))) && (!queryPred || queryPred(view));

  const idDef = store.props.get('hs_object_id')!;
  const strict = input.strictSorts === true;
  const asked = strict ? input.sorts.slice(0, 1) : input.sorts;
  const sorts = asked.length > 0 ? asked : [{ def: idDef, desc: false }];
  const compare = comparator(store, sorts, strict);

  // 1. Every group pins records by id or a unique value: look them up.
  if (groups.length > 0) {
    const lookups = groups.map((g) => lookupIds(store, g));
    if (lookups.every((l) => l !== undefined)) {
      const seen = new Set<number>();
      const views: RecordView[] = [];
      for (const recs of lookups) for (const rec of recs!) {
        if (seen.has(rec.id)) continue;
        seen.add(rec.id);
        const view = store.searchView(rec);
        if (view && matches(view)) views.push(view);
      }
      views.sort(compare);
      return page(views, views.length, after, limit, 'lookup');
    }
  }

  // 2. Sorted by an indexed key (ties by id in the same direction): walk the index in order.
  const primary = sorts[0]!;
  const index = indexFor(store, primary.def);
  const tieByIdOnly = sorts.slice(1).every((s) => s.def === idDef && s.desc === primary.desc);
  if (index && tieByIdOnly) {
    const ranges = groups.length === 0 ? [{ lo: -Infinity, hi: Infinity, pure: true }] : groups.map((g) => rangeOn(g, primary.def));
    const bounded = ranges.every((r) => r !== undefined) ? mergeRanges(ranges as Range[]) : [{ lo: -Infinity, hi: Infinity, pure: false }];
    // The total can be had without walking every match when each group's range on the key is
    // disjoint from the others: pure-range groups are counted from the index, the others by
    // walking only their own (usually tiny) range — e.g. the sync's tie-break query
    // "modified > t OR (modified = t AND id > x)".
    const disjoint = !queryPred && ranges.every((r) => r !== undefined) && groups.length > 0 && areDisjoint(ranges as Range[]);
    const countable = !queryPred && ranges.every((r) => r !== undefined && r.pure);
    // Paging through one query re-asks the same total: reuse it while nothing changed.
    const cacheKey = countable ? undefined : totalCacheKey(input);
    const cachedTotal = cacheKey === undefined ? undefined : cachedTotalOf(store, cacheKey);
    const views: RecordView[] = [];
    let total = 0;
    const walk = primary.desc ? [...bounded].reverse() : bounded;
    outer: for (const r of walk) {
      const ids = index.iterate(r.lo, r.hi, primary.desc);
      // Strict ties come in descending id order; an ascending walk yields them ascending.
      for (const id of strict && !primary.desc ? reverseTies(ids, (x) => keyOf(store, primary.def, x)) : ids) {
        const rec = store.get(id)!;
        const view = store.searchView(rec);
        if (!view || !matches(view)) continue;
        if (total >= after && views.length < limit) views.push(view);
        total++;
        if ((countable || disjoint || cachedTotal !== undefined) && views.length >= limit && total >= after + limit) break outer;
      }
    }
    if (countable) total = bounded.reduce((n, r) => n + index.count(r.lo, r.hi), 0);
    else if (cachedTotal !== undefined) total = cachedTotal;
    else if (disjoint) {
      total = 0;
      (ranges as Range[]).forEach((r, g) => {
        if (r.pure) total += index.count(r.lo, r.hi);
        else for (const id of index.iterate(r.lo, r.hi, false)) {
          const view = store.searchView(store.get(id)!);
          if (view && groupPreds[g]!.every((p) => p(view))) total++;
        }
      });
    }
    if (cacheKey !== undefined) rememberTotal(store, cacheKey, total);
    return page(views, total, after, limit, 'index-walk', true);
  }

  // 3. Collect every match (through a date index when all groups bound it) and sort.
  let candidates: Iterable<RecordView>;
  const dateIndex = [store.props.get(store.modifiedProp)!, store.props.get(store.createdProp)!]
    .map((def) => ({ def, ranges: groups.map((g) => rangeOn(g, def)) }))
    .find((x) => groups.length > 0 && x.ranges.every((r) => r !== undefined && (r.lo > -Infinity || r.hi < Infinity)));
  if (dateIndex) {
    const idx = indexFor(store, dateIndex.def)!;
    candidates = (function* () {
      for (const r of mergeRanges(dateIndex.ranges as Range[])) for (const id of idx.iterate(r.lo, r.hi, false)) {
        const view = store.searchView(store.get(id)!);
        if (view) yield view;
      }
    })();
  } else {
    candidates = (function* () {
      for (const rec of store.scanById(0, false)) {
        const view = store.searchView(rec);
        if (view) yield view;
      }
    })();
  }
  // Only the first after + limit matches in sort order are needed: keep them in a bounded
  // heap instead of sorting every match (a million-record sort would take seconds).
  const top = new TopK<RecordView>(after + limit, compare);
  let total = 0;
  for (const view of candidates) {
    if (!matches(view)) continue;
    total++;
    top.offer(view);
  }
  return page(top.sorted().slice(after, after + limit), total, after, limit, 'collect-sort', true);
}

/** The k smallest items under `compare`, kept in a max-heap. */
export class TopK<T> {
  private readonly heap: T[] = [];
  private readonly k: number;
  private readonly compare: (a: T, b: T) => number;

  constructor(k: number, compare: (a: T, b: T) => number) {
    this.k = k;
    this.compare = compare;
  }

  offer(item: T): void {
    const h = this.heap;
    if (this.k === 0) return;
    if (h.length < this.k) {
      h.push(item);
      let i = h.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.compare(h[i]!, h[parent]!) <= 0) break;
        [h[i], h[parent]] = [h[parent]!, h[i]!];
        i = parent;
      }
      return;
    }
    if (this.compare(item, h[0]!) >= 0) return; // not among the k smallest
    h[0] = item;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let largest = i;
      if (l < h.length && this.compare(h[l]!, h[largest]!) > 0) largest = l;
      if (r < h.length && this.compare(h[r]!, h[largest]!) > 0) largest = r;
      if (largest === i) break;
      [h[i], h[largest]] = [h[largest]!, h[i]!];
      i = largest;
    }
  }

  sorted(): T[] {
    return [...this.heap].sort(this.compare);
  }
}

const totals = new WeakMap<ObjectStore, Map<string, { version: number; total: number }>>();

function totalCacheKey(input: SearchPlanInput): string {
  const groups = input.groups.map((g) => g.map((f) => [f.def.name, f.operator, f.value, f.highValue, f.values]));
  return JSON.stringify([groups, input.query ?? null]);
}

function cachedTotalOf(store: ObjectStore, key: string): number | undefined {
  const hit = totals.get(store)?.get(key);
  return hit && hit.version === store.searchVersion ? hit.total : undefined;
}

function rememberTotal(store: ObjectStore, key: string, total: number): void {
  let m = totals.get(store);
  if (!m) totals.set(store, (m = new Map()));
  if (m.size >= 64) m.delete(m.keys().next().value!);
  m.set(key, { version: store.searchVersion, total });
}

function page(views: RecordView[], total: number, after: number, limit: number, plan: SearchOutcome['plan'], alreadySliced = false): SearchOutcome {
  const slice = alreadySliced ? views : views.slice(after, after + limit);
  const next = after + limit;
  return { total, views: slice, plan, ...(next < total && limit > 0 ? { nextAfter: next } : {}) };
}

interface KeyIndex {
  iterate(lo: number, hi: number, desc: boolean): Iterable<number>;
  count(lo: number, hi: number): number;
}

function indexFor(store: ObjectStore, def: PropertyDef): KeyIndex | undefined {
  if (def.name === store.modifiedProp || def.name === store.createdProp) {
    const idx = def.name === store.modifiedProp ? store.byModified : store.byCreated;
    return {
      iterate: (lo, hi, desc) => (desc ? idx.descending(lo, hi) : idx.ascending(lo, hi)),
      count: (lo, hi) => idx.countRange(lo, hi),
    };
  }
  if (def.name === 'hs_object_id') {
    // The last-modified index holds exactly the searchable records; ids come from `order`.
    return {
      iterate: (lo, hi, desc) => idIterator(store, lo, hi, desc),
      count: (lo, hi) => (lo === -Infinity && hi === Infinity ? store.searchableCount : store.countSearchableIds(lo, hi)),
    };
  }
  return undefined;
}

function* idIterator(store: ObjectStore, lo: number, hi: number, desc: boolean): Generator<number> {
  if (!desc) {
    for (const rec of store.scanById(Math.max(0, lo), false)) {
      if (rec.id > hi) return;
      yield rec.id;
    }
    return;
  }
  for (const rec of store.scanByIdDescending(hi, false)) {
    if (rec.id < lo) return;
    yield rec.id;
  }
}

/** The indexed key of a record (what the index walk is ordered by). */
function keyOf(store: ObjectStore, def: PropertyDef, id: number): number {
  if (def.name === 'hs_object_id') return id;
  const view = store.searchView(store.get(id)!);
  if (!view) return Number.NaN;
  return def.name === store.modifiedProp ? view.u : view.c;
}

/** Yields `ids` with every run of equal keys reversed. */
function* reverseTies(ids: Iterable<number>, key: (id: number) => number): Generator<number> {
  let run: number[] = [];
  let runKey = Number.NaN;
  for (const id of ids) {
    const k = key(id);
    if (run.length > 0 && k !== runKey) {
      for (let i = run.length - 1; i >= 0; i--) yield run[i]!;
      run = [];
    }
    runKey = k;
    run.push(id);
  }
  for (let i = run.length - 1; i >= 0; i--) yield run[i]!;
}

function areDisjoint(ranges: Range[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.lo <= sorted[i - 1]!.hi) return false;
  return true;
}

function mergeRanges(ranges: Range[]): Range[] {
  const sorted = ranges.filter((r) => r.lo <= r.hi).sort((a, b) => a.lo - b.lo);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1) {
      last.hi = Math.max(last.hi, r.hi);
      last.pure = last.pure && r.pure;
    } else out.push({ ...r });
  }
  return out;
}

