import { describe, expect, it } from 'vitest';
import { ObjectTypes } from '../../../operator/src/sandbox/hubspot/object-types.js';
import { MAX_VERSIONS } from '../../../operator/src/sandbox/hubspot/store.js';

function setup(delayMs: number) {
  const types = new ObjectTypes(1, delayMs);
  const store = types.resolve('contacts')!;
  const first = store.props.get('firstname')!;
  const email = store.props.get('email')!;
  const insert = (name: string, at: number) => {
    const values: (string | undefined)[] = [];
    values[first.column] = name;
    values[email.column] = `${name.toLowerCase()}@example.com`;
    return store.insert(types.allocateId(), values, at);
  };
  const searchable = () => [...store.byModified.ascending()].length;
  return { store, first, email, insert, searchable };
}

describe('ObjectStore property history', () => {
  it('dates a never-rewritten value from creation, records each change, keeps the newest versions only', () => {
    const { store, first, email, insert } = setup(0);
    const rec = insert('Ann', 1000);
    expect(store.history(rec, first)).toEqual([{ value: 'Ann', at: 1000, source: 'API' }]);
    for (let i = 1; i <= MAX_VERSIONS + 3; i++) store.update(rec, new Map([[first, `v${i}`]]), 1000 + i);
    const h = store.history(rec, first);
    expect(h).toHaveLength(MAX_VERSIONS);
    expect(h[0]).toEqual({ value: `v${MAX_VERSIONS + 3}`, at: 1000 + MAX_VERSIONS + 3, source: 'API' });
    expect(h.at(-1)!.value).toBe('v4');
    expect(store.history(rec, email)).toEqual([{ value: 'ann@example.com', at: 1000, source: 'API' }]); // untouched by the other property's changes
    store.update(rec, new Map([[email, undefined]]), 5000, 'MERGE');
    expect(store.history(rec, email)[0]).toEqual({ value: undefined, at: 5000, source: 'MERGE' });
  });
});

describe('ObjectStore purge and restore', () => {
  for (const delay of [0, 100]) {
    it(`purge forgets a record at once and for good; restore re-indexes an archived one (indexing delay ${delay} ms)`, () => {
      const { store, email, insert, searchable } = setup(delay);
      const a = insert('Ann', 0);
      const b = insert('Bob', 0);
      store.flushIndexing(1000);
      expect(searchable()).toBe(2);

      store.update(a, new Map([[email, 'ann2@example.com']]), 1100); // a pending write, then the purge
      store.purge(a, 1150);
      expect(store.searchView(a)).toBeUndefined();
      expect(store.findUnique('email', 'ann2@example.com')).toBeUndefined();
      expect([...store.scanById(0, true)]).toEqual([]);
      expect([...store.scanById(0, false)].map((r) => r.id)).toEqual([b.id]);
      store.flushIndexing(5000);
      expect(searchable()).toBe(1);
      expect(store.searchableCount).toBe(1);
      expect(store.countSearchableIds(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(1);

      store.archive(b, 6000);
      store.flushIndexing(7000);
      expect(store.searchableCount).toBe(0);
      store.restore(b, 8000);
      expect(store.liveCount).toBe(1);
      expect(store.findUnique('email', 'bob@example.com')).toBe(b);
      if (delay > 0) expect(store.searchView(b)).toBeUndefined(); // search still sees it archived until indexed
      store.flushIndexing(9000);
      expect(store.searchView(b)).toBe(b);
      expect(searchable()).toBe(1);
      expect(b.u).toBe(8000);
    });
  }
});
