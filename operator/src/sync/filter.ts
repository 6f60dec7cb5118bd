/**
 * SyncFilter evaluation (DESIGN §2.3). Rules name HubSpot properties and compare typed by the
 * property type; for target rows the value is first taken through the mapping. Several
 * filters on one object: every Include must match and no Exclude may match.
 *
 * Push-down: rules the HubSpot search API can express are added to the incremental search (fewer
 * records fetched). The local evaluation always runs as well and is authoritative, so a pushed
 * filter only has to be a superset of the local rule (HubSpot string EQ is case-insensitive, so
 * only operators whose HubSpot meaning contains ours are pushed).
 */
import type { FilterRule, SyncFilterSpec } from '../api/types.js';
import type { SearchFilter } from '../hubspot/types.js';
import { parseTime, toDateString, type PropertyType } from './values.js';

export type FilterSide = 'toTarget' | 'toHubSpot';

export interface CompiledFilter {
  name: string;
  action: 'Include' | 'Exclude';
  appliesTo: 'HubSpotToTarget' | 'TargetToHubSpot' | 'Both';
  rules: FilterRule[];
}

export function compileFilters(filters: { name: string; spec: SyncFilterSpec }[]): CompiledFilter[] {
  return filters.map((f) => ({
    name: f.name,
    action: f.spec.action ?? 'Include',
    appliesTo: f.spec.appliesTo ?? 'Both',
    rules: f.spec.rules ?? [],
  }));
}

function appliesToSide(f: CompiledFilter, side: FilterSide): boolean {
  return f.appliesTo === 'Both' || (side === 'toTarget' ? f.appliesTo === 'HubSpotToTarget' : f.appliesTo === 'TargetToHubSpot');
}

type Typed = { kind: 'number'; v: number } | { kind: 'time'; v: number } | { kind: 'bool'; v: boolean } | { kind: 'string'; v: string };

function typed(type: PropertyType | undefined, raw: string): Typed | undefined {
  switch (type) {
    case 'number': {
      const n = Number(raw.trim());
      return Number.isFinite(n) && raw.trim() !== '' ? { kind: 'number', v: n } : undefined;
    }
    case 'date': {
      const d = toDateString(raw);
      return d ? { kind: 'time', v: Date.parse(`${d}T00:00:00Z`) } : undefined;
    }
    case 'datetime': {
      const t = parseTime(raw);
      return t === undefined ? undefined : { kind: 'time', v: t };
    }
    case 'bool': {
      const s = raw.trim().toLowerCase();
      return s === 'true' ? { kind: 'bool', v: true } : s === 'false' ? { kind: 'bool', v: false } : undefined;
    }
    default:
      return { kind: 'string', v: raw };
  }
}

function compare(a: Typed, b: Typed): number | undefined {
  if (a.kind !== b.kind) return undefined;
  if (a.kind === 'string') return a.v.toLowerCase() < (b.v as string).toLowerCase() ? -1 : a.v.toLowerCase() > (b.v as string).toLowerCase() ? 1 : 0;
  if (a.kind === 'bool') return Number(a.v) - Number(b.v as boolean);
  return (a.v as number) - (b.v as number);
}

function equal(type: PropertyType | undefined, raw: string, expected: string): boolean {
  const a = typed(type, raw);
  const b = typed(type, expected);
  if (!a || !b) return raw === expected;
  if (a.kind === 'string') return a.v === b.v; // exact: enumerations and strings compare as written
  return compare(a, b) === 0;
}

/** Whether one rule holds for a HubSpot-space value. Missing/empty values only satisfy IsEmpty, NotEquals, NotContains, NotIn. */
export function ruleMatches(rule: FilterRule, type: PropertyType | undefined, value: string | null | undefined): boolean {
  const empty = value === null || value === undefined || value === '';
  const v = value ?? '';
  switch (rule.operator) {
    case 'IsEmpty':
      return empty;
    case 'IsNotEmpty':
      return !empty;
    case 'Equals':
      return !empty && equal(type, v, rule.value ?? '');
    case 'NotEquals':
      return empty || !equal(type, v, rule.value ?? '');
    case 'In':
      return !empty && (rule.values ?? []).some((x) => equal(type, v, x));
    case 'NotIn':
      return empty || !(rule.values ?? []).some((x) => equal(type, v, x));
    case 'Contains':
      return !empty && v.toLowerCase().includes((rule.value ?? '').toLowerCase());
    case 'NotContains':
      return empty || !v.toLowerCase().includes((rule.value ?? '').toLowerCase());
    case 'StartsWith':
      return !empty && v.toLowerCase().startsWith((rule.value ?? '').toLowerCase());
    case 'EndsWith':
      return !empty && v.toLowerCase().endsWith((rule.value ?? '').toLowerCase());
    case 'GreaterThan':
    case 'GreaterThanOrEqual':
    case 'LessThan':
    case 'LessThanOrEqual': {
      if (empty) return false;
      const a = typed(type, v);
      const b = typed(type, rule.value ?? '');
      if (!a || !b) return false;
      const c = compare(a, b);
      if (c === undefined) return false;
      if (rule.operator === 'GreaterThan') return c > 0;
      if (rule.operator === 'GreaterThanOrEqual') return c >= 0;
      if (rule.operator === 'LessThan') return c < 0;
      return c <= 0;
    }
    default:
      return false;
  }
}

export interface FilterResult {
  pass: boolean;
  /** Names of the filters whose rules all matched (for SyncFilter status.matchedRecords). */
  matched: string[];
}

/**
 * Evaluate all filters of an object for one record whose HubSpot-space values `get` returns.
 * A filter "matches" when all its rules hold; Include filters must match, Exclude filters must not.
 */
export function evaluateFilters(
  filters: CompiledFilter[],
  side: FilterSide,
  typeOf: (property: string) => PropertyType | undefined,
  get: (property: string) => string | null | undefined,
): FilterResult {
  let pass = true;
  const matched: string[] = [];
  for (const f of filters) {
    if (!appliesToSide(f, side)) continue;
    const all = f.rules.every((r) => ruleMatches(r, typeOf(r.property), get(r.property)));
    if (all) matched.push(f.name);
    if (f.action === 'Include' ? !all : all) pass = false;
  }
  return { pass, matched };
}

function searchValue(type: PropertyType | undefined, v: string): string {
  if (type === 'date' || type === 'datetime') {
    const t = type === 'date' ? Date.parse(`${toDateString(v)}T00:00:00Z`) : parseTime(v);
    return t === undefined || Number.isNaN(t) ? v : String(t);
  }
  return v;
}

/**
 * The HubSpot search filters equivalent to (a superset of) the Include filters that apply to
 * HubSpot → target. Exclude filters and non-expressible rules stay local.
 */
export function pushDownFilters(filters: CompiledFilter[], typeOf: (property: string) => PropertyType | undefined): SearchFilter[] {
  const out: SearchFilter[] = [];
  for (const f of filters) {
    if (f.action !== 'Include' || !appliesToSide(f, 'toTarget')) continue;
    for (const r of f.rules) {
      const type = typeOf(r.property);
      const ordered = type === 'number' || type === 'date' || type === 'datetime';
      switch (r.operator) {
        case 'IsNotEmpty':
          out.push({ propertyName: r.property, operator: 'HAS_PROPERTY' });
          break;
        case 'IsEmpty':
          out.push({ propertyName: r.property, operator: 'NOT_HAS_PROPERTY' });
          break;
        case 'Equals':
          if (ordered || type === 'enumeration' || type === 'bool') out.push({ propertyName: r.property, operator: 'EQ', value: searchValue(type, r.value ?? '') });
          break;
        case 'In':
          if (type === 'enumeration' || type === 'number') out.push({ propertyName: r.property, operator: 'IN', values: [...(r.values ?? [])] });
          break;
        case 'GreaterThan':
        case 'GreaterThanOrEqual':
        case 'LessThan':
        case 'LessThanOrEqual':
          if (ordered) {
            const op = ({ GreaterThan: 'GT', GreaterThanOrEqual: 'GTE', LessThan: 'LT', LessThanOrEqual: 'LTE' } as const)[r.operator];
            out.push({ propertyName: r.property, operator: op, value: searchValue(type, r.value ?? '') });
          }
          break;
        default:
          break; // Contains/StartsWith/EndsWith/Not*: HubSpot's token matching is not the same; evaluated locally
      }
    }
  }
  // HubSpot allows 6 filters per group; the incremental search uses up to 3 itself.
  return out.slice(0, 3);
}
