/**
 * Search predicates: filters compiled to functions over a record view, typed by property type
 * (numbers numerically, dates by epoch ms, text case-insensitively), tokens for
 * CONTAINS_TOKEN, multi-select enumerations, the free-text query, and the sort comparator.
 */
import type { PropertyDef } from './properties.js';
import { comparable, type Filter, type Sort } from './search-request.js';
import type { ObjectStore, RecordView } from './store.js';

/** The comparable value of a property in a view, fast for the derived ones. */
export function valueOf(store: ObjectStore, view: RecordView, def: PropertyDef): number | string | undefined {
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

export type Predicate = (view: RecordView) => boolean;

export function compileFilter(store: ObjectStore, f: Filter): Predicate {
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

export function compileQuery(store: ObjectStore, query: string): Predicate {
  const defs = (QUERY_PROPS[store.info.kind] ?? store.props.list().filter((d) => d.type === 'string').map((d) => d.name))
    .map((n) => store.props.get(n))
    .filter((d): d is PropertyDef => d !== undefined && d.column >= 0);
  const words = query.split(/\s+/);
  return (view) => words.every((w) => defs.some((d) => view.v[d.column]?.toLowerCase().includes(w) ?? false));
}


export function comparator(store: ObjectStore, sorts: Sort[], strictTies = false): (a: RecordView, b: RecordView) => number {
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
    if (strictTies) return b.id - a.id;
    const dir = sorts[0]?.desc ? -1 : 1;
    return (a.id - b.id) * dir;
  };
}
