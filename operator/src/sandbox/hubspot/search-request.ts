/**
 * The search request (`POST /crm/v3/objects/{type}/search`): HubSpot's limits and the
 * validation of filters, sorts and paging, with HubSpot's 400 bodies.
 */
import { badRequest } from './errors.js';
import { parseTimestamp, type PropertyDef } from './properties.js';
import type { ObjectStore, RecordView } from './store.js';

export const SEARCH_LIMITS = { maxGroups: 5, maxFiltersPerGroup: 6, maxFilters: 18, maxLimit: 200, maxResults: 10_000 } as const;

export const OPERATORS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Filter {
  def: PropertyDef;
  operator: Operator;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface Sort {
  def: PropertyDef;
  desc: boolean;
}

export interface SearchPlanInput {
  /**
   * HubSpot documents one sorting rule per search and no tie order. Strict mode applies only
   * the first sort and returns ties in descending id order — a legal order chosen to expose
   * clients that rely on id order among equal values.
   */
  strictSorts?: boolean;
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

export function isOrdered(def: PropertyDef): boolean {
  return def.type === 'number' || def.type === 'date' || def.type === 'datetime';
}

/** A value as compared by type: numbers and epoch ms for ordered types, lower-case text otherwise. */
export function comparable(def: PropertyDef, text: string): number | string | undefined {
  if (def.type === 'number') {
    const n = Number(text);
    return text.trim() === '' || Number.isNaN(n) ? undefined : n;
  }
  if (def.type === 'date' || def.type === 'datetime') return parseTimestamp(text);
  return text.toLowerCase();
}

