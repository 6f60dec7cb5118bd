/**
 * CRM search (`POST /crm/v3/objects/{type}/search`): validation of the request with HubSpot's
 * limits, filter evaluation typed by property type, and a planner that walks an index instead
 * of scanning whenever it can:
 * - every group pins hs_object_id or a unique property (EQ/IN) → direct lookups;
 * - sorting by the last-modified date, the create date or hs_object_id → walk that index over
 *   the union of the groups' ranges on it, stopping after the page when the total can be
 *   counted from the index (groups made only of range filters on the sort key);
 * - otherwise collect the matches (walking a date index when every group bounds it) and sort.
 * Ties in any sort are broken by hs_object_id in the sort's direction, so paging is stable when
 * many records share one timestamp.
 */
import { badRequest } from './errors.js';
import { parseTimestamp, type PropertyDef } from './properties.js';
import type { ObjectStore, Rec, RecordView } from './store.js';

export const SEARCH_LIMITS = { maxGroups: 5, maxFiltersPerGroup: 6, maxFilters: 18, maxLimit: 200, maxResults: 10_000 } as const;

const OPERATORS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'] as const;
type Operator = (typeof OPERATORS)[number];

interface Filter {
  def: PropertyDef;
  operator: Operator;
  value?: string;
  highValue?: string;
  values?: string[];
}

interface Sort {
  def: PropertyDef;
  desc: boolean;
}

export interface SearchPlanInput {
  groups: Filter[][];
  sorts: Sort[];
  query?: string;
  limit: number;
  after: number;
}

export interface SearchOutcome {
  total: number;
  views: RecordView[];
  /** Offset of the next page, when there are more matches. */
  nextAfter?: number;
  /** How the planner answered (for tests and the benchmark). */
  plan: 'lookup' | 'index-walk' | 'collect-sort';
}

/** Parses and validates the request body; throws HubSpot's 400 bodies. */
export function parseSearchRequest(store: ObjectStore, body: Record<string, unknown>): SearchPlanInput & { properties?: string[] } {
  const rawGroups = body.filterGroups ?? [];
  if (!Array.isArray(rawGroups)) throw badRequest('filterGroups must be an array of {filters: [...]}');
  if (rawGroups.length > SEARCH_LIMITS.maxGroups) {
    throw badRequest(`Too many filter groups: ${rawGroups.length} given, at most ${SEARCH_LIMITS.maxGroups} are allowed.`);
  }
  let totalFilters = 0;
  const groups: Filter[][] = rawGroups.map((g: unknown, gi: number) => {
    const filters = (g as { filters?: unknown } | null)?.filters;
    if (!Array.isArray(filters)) throw badRequest(`filterGroups[${gi}].filters must be an array`);
    if (filters.length > SEARCH_LIMITS.maxFiltersPerGroup) {
      throw badRequest(`Too many filters in filterGroups[${gi}]: ${filters.length} given, at most ${SEARCH_LIMITS.maxFiltersPerGroup} per group are allowed.`);
    }
    totalFilters += filters.length;
    return filters.map((f: unknown, fi: number) => parseFilter(store, f, `filterGroups[${gi}].filters[${fi}]`));
  });
  if (totalFilters > SEARCH_LIMITS.maxFilters) {
    throw badRequest(`Too many filters: ${totalFilters} given, at most ${SEARCH_LIMITS.maxFilters} in total are allowed.`);
  }
  const sorts = parseSorts(store, body.sorts);
  const limit = body.limit === undefined ? 10 : Number(body.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit) {
    throw badRequest(`limit must be an integer from 0 to ${SEARCH_LIMITS.maxLimit}, got ${JSON.stringify(body.limit)}`);
  }
  let after = 0;
  if (body.after !== undefined && body.after !== null && body.after !== '') {
    after = Number(body.after);
    if (!Number.isInteger(after) || after < 0) throw badRequest(`after must be a non-negative integer offset, got ${JSON.stringify(body.after)}`);
  }
  if (after + limit > SEARCH_LIMITS.maxResults) {
    throw badRequest(
      `Search results are limited to ${SEARCH_LIMITS.maxResults} per query: after (${after}) + limit (${limit}) exceeds it. Narrow the filters (e.g. on ${store.modifiedProp}) to page further.`,
    );
  }
  let properties: string[] | undefined;
  if (body.properties !== undefined) {
    if (!Array.isArray(body.properties) || body.properties.some((p) => typeof p !== 'string')) throw badRequest('properties must be an array of property names');
    properties = body.properties as string[];
  }
  const query = typeof body.query === 'string' && body.query.trim() !== '' ? body.query.trim().toLowerCase() : undefined;
  return { groups, sorts, limit, after, properties, ...(query ? { query } : {}) };
}

function parseFilter(store: ObjectStore, raw: unknown, where: string): Filter {
  const f = raw as Record<string, unknown> | null;
  if (!f || typeof f !== 'object') throw badRequest(`${where} must be an object {propertyName, operator, value}`);
  if (typeof f.propertyName !== 'string') throw badRequest(`${where}.propertyName is required`);
  const def = store.props.get(f.propertyName);
  if (!def) throw badRequest(`${where}: property ${f.propertyName} does not exist on ${store.info.name}`, undefined, { propertyName: [f.propertyName] });
  const operator = f.operator as Operator;
  if (!OPERATORS.includes(operator)) throw badRequest(`${where}.operator ${JSON.stringify(f.operator)} is not one of ${OPERATORS.join(', ')}`);
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
  const filter: Filter = { def, operator, value: str(f.value), highValue: str(f.highValue) };
  if (operator === 'IN' || operator === 'NOT_IN') {
    if (!Array.isArray(f.values) || f.values.length === 0) throw badRequest(`${where}: operator ${operator} needs a non-empty values array`);
    filter.values = f.values.map((v) => String(v));
  } else if (operator === 'BETWEEN') {
    if (filter.value === undefined || filter.highValue === undefined) throw badRequest(`${where}: operator BETWEEN needs value and highValue`);
  } else if (operator !== 'HAS_PROPERTY' && operator !== 'NOT_HAS_PROPERTY' && filter.value === undefined) {
    throw badRequest(`${where}: operator ${operator} needs a value`);
  }
  if (isOrdered(def)) {
    for (const v of [filter.value, filter.highValue, ...(filter.values ?? [])]) {
      if (v !== undefined && operator !== 'CONTAINS_TOKEN' && operator !== 'NOT_CONTAINS_TOKEN' && comparable(def, v) === undefined) {
        throw badRequest(`${where}: ${JSON.stringify(v)} is not a valid ${def.type} value for property ${def.name}`);
      }
    }
  }
  return filter;
}

function parseSorts(store: ObjectStore, raw: unknown): Sort[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badRequest('sorts must be an array of property names or {propertyName, direction}');
  return raw.map((s: unknown, i) => {
    let name: string;
    let desc = false;
    if (typeof s === 'string') {
      desc = s.startsWith('-');
      name = desc ? s.slice(1) : s;
    } else if (s && typeof s === 'object' && typeof (s as Record<string, unknown>).propertyName === 'string') {
      const o = s as Record<string, unknown>;
      name = o.propertyName as string;
      const dir = o.direction ?? 'ASCENDING';
      if (dir !== 'ASCENDING' && dir !== 'DESCENDING') throw badRequest(`sorts[${i}].direction must be ASCENDING or DESCENDING`);
      desc = dir === 'DESCENDING';
    } else throw badRequest(`sorts[${i}] must be a property name or {propertyName, direction}`);
    const def = store.props.get(name);
    if (!def) throw badRequest(`sorts[${i}]: property ${name} does not exist on ${store.info.name}`);
    return { def, desc };
  });
}

function isOrdered(def: PropertyDef): boolean {
  return def.type === 'number' || def.type === 'date' || def.type === 'datetime';
}

/** A value as compared by type: numbers and epoch ms for ordered types, lower-case text otherwise. */
function comparable(def: PropertyDef, text: string): number | string | undefined {
  if (def.type === 'number') {
    const n = Number(text);
    return text.trim() === '' || Number.isNaN(n) ? undefined : n;
  }
  if (def.type === 'date' || def.type === 'datetime') return parseTimestamp(text);
  return text.toLowerCase();
}

/** The comparable value of a property in a view, fast for the derived ones. */
function valueOf(store: ObjectStore, view: RecordView, def: PropertyDef): number | string | undefined {
  if (def.column < 0) {
    if (def.name === 'hs_object_id') return view.id;
    if (def.name === store.createdProp) return view.c;
    if (def.name === store.modifiedProp) return view.u;
    return undefined;
  }
  const raw = view.v[def.column];
  return raw === undefined ? undefined : comparable(def, raw);
}

function tokens(text: string): string[] {
  return text.toLowerCase().split(/[\s,;:()"'<>[\]{}|/\\@.+_-]+/).filter((t) => t !== '');
}

function tokenMatcher(pattern: string): (text: string) => boolean {
  const p = pattern.toLowerCase();
  if (p.includes('*')) {
    const re = new RegExp(`^${p.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return (text) => re.test(text.toLowerCase()) || tokens(text).some((t) => re.test(t));
  }
  // A multi-word pattern ("acme.com") matches when its words appear in a row in the value.
  const words = tokens(p);
  return (text) => {
    if (text.toLowerCase() === p) return true;
    const t = tokens(text);
    if (words.length === 0) return false;
    for (let i = 0; i + words.length <= t.length; i++) {
      if (words.every((w, k) => t[i + k] === w)) return true;
    }
    return false;
  };
}

type Predicate = (view: RecordView) => boolean;

function compileFilter(store: ObjectStore, f: Filter): Predicate {
  const { def } = f;
  if (def.type === 'enumeration' && def.fieldType === 'checkbox') return compileMultiValue(store, f);
  const get = (view: RecordView) => valueOf(store, view, def);
  const val = f.value !== undefined ? comparable(def, f.value)! : undefined;
  switch (f.operator) {
    case 'EQ':
      return (v) => get(v) === val;
    case 'NEQ':
      return (v) => get(v) !== val;
    case 'LT':
      return (v) => { const x = get(v); return x !== undefined && x < val!; };
    case 'LTE':
      return (v) => { const x = get(v); return x !== undefined && x <= val!; };
    case 'GT':
      return (v) => { const x = get(v); return x !== undefined && x > val!; };
    case 'GTE':
      return (v) => { const x = get(v); return x !== undefined && x >= val!; };
    case 'BETWEEN': {
      const hi = comparable(def, f.highValue!)!;
      return (v) => { const x = get(v); return x !== undefined && x >= val! && x <= hi; };
    }
    case 'IN': {
      const set = new Set(f.values!.map((x) => comparable(def, x)));
      return (v) => { const x = get(v); return x !== undefined && set.has(x); };
    }
    case 'NOT_IN': {
      const set = new Set(f.values!.map((x) => comparable(def, x)));
      return (v) => !set.has(get(v));
    }
    case 'HAS_PROPERTY':
      return (v) => get(v) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (v) => get(v) === undefined;
    case 'CONTAINS_TOKEN': {
      const m = tokenMatcher(f.value!);
      return (v) => { const raw = store.value(v, def); return raw !== undefined && m(raw); };
    }
    case 'NOT_CONTAINS_TOKEN': {
      const m = tokenMatcher(f.value!);
      return (v) => { const raw = store.value(v, def); return raw === undefined || !m(raw); };
    }
  }
}

/**
 * Multi-select (checkbox) enumerations hold `a;b`: EQ and IN match when any selected option
 * matches, NEQ and NOT_IN when none does.
 */
function compileMultiValue(store: ObjectStore, f: Filter): Predicate {
  const options = (view: RecordView): string[] => store.value(view, f.def)?.toLowerCase().split(';') ?? [];
  const wanted = new Set((f.values ?? (f.value !== undefined ? [f.value] : [])).map((v) => v.toLowerCase()));
  switch (f.operator) {
    case 'EQ':
    case 'IN':
      return (v) => options(v).some((o) => wanted.has(o));
    case 'NEQ':
    case 'NOT_IN':
      return (v) => !options(v).some((o) => wanted.has(o));
    case 'HAS_PROPERTY':
      return (v) => store.value(v, f.def) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (v) => store.value(v, f.def) === undefined;
    default: {
      const m = tokenMatcher(f.value ?? '');
      const negate = f.operator === 'NOT_CONTAINS_TOKEN';
      if (f.operator === 'CONTAINS_TOKEN' || negate) return (v) => options(v).some((o) => m(o)) !== negate;
      // Ordering operators compare the raw text, as for single-select enumerations.
      const raw = (v: RecordView) => store.value(v, f.def)?.toLowerCase();
      const x = f.value!.toLowerCase();
      const hi = f.highValue?.toLowerCase();
      return (v) => {
        const r = raw(v);
        if (r === undefined) return false;
        switch (f.operator) {
          case 'LT': return r < x;
          case 'LTE': return r <= x;
          case 'GT': return r > x;
          case 'GTE': return r >= x;
          default: return r >= x && r <= hi!;
        }
      };
    }
  }
}

/** Properties the free-text `query` looks in, per object type (a subset of HubSpot's). */
const QUERY_PROPS: Record<string, string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company'],
  companies: ['name', 'domain', 'website', 'phone'],
  deals: ['dealname', 'pipeline', 'dealstage', 'description', 'dealtype'],
};

function compileQuery(store: ObjectStore, query: string): Predicate {
  const defs = (QUERY_PROPS[store.info.kind] ?? store.props.list().filter((d) => d.type === 'string').map((d) => d.name))
    .map((n) => store.props.get(n))
    .filter((d): d is PropertyDef => d !== undefined && d.column >= 0);
  const words = query.split(/\s+/);
  return (view) => words.every((w) => defs.some((d) => view.v[d.column]?.toLowerCase().includes(w) ?? false));
}

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
  return undefined;
}

export function executeSearch(store: ObjectStore, input: SearchPlanInput): SearchOutcome {
  store.flushIndexing();
  const { groups, limit, after } = input;
  const groupPreds = groups.map((g) => g.map((f) => compileFilter(store, f)));
  const queryPred = input.query ? compileQuery(store, input.query) : undefined;
  const matches: Predicate = (view) =>
    (groupPreds.length === 0 || groupPreds.some((preds) => preds.every((p) => p(view)))) && (!queryPred || queryPred(view));

  const idDef = store.props.get('hs_object_id')!;
  const sorts = input.sorts.length > 0 ? input.sorts : [{ def: idDef, desc: false }];
  const compare = comparator(store, sorts);

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
      for (const id of index.iterate(r.lo, r.hi, primary.desc)) {
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

function comparator(store: ObjectStore, sorts: Sort[]): (a: RecordView, b: RecordView) => number {
  return (a, b) => {
    for (const s of sorts) {
      const x = valueOf(store, a, s.def);
      const y = valueOf(store, b, s.def);
      if (x === y) continue;
      // Records without a value sort last ascending, first descending (HubSpot puts blanks last).
      let c: number;
      if (x === undefined) c = 1;
      else if (y === undefined) c = -1;
      else c = x < y ? -1 : 1;
      return s.desc ? -c : c;
    }
    const dir = sorts[0]?.desc ? -1 : 1;
    return (a.id - b.id) * dir;
  };
}
