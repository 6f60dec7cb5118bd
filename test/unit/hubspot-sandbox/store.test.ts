import { describe, expect, it } from 'vitest';
import { ObjectTypes } from '../../../operator/src/sandbox/hubspot/object-types.js';

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
  const seen = (rec: ReturnType<typeof insert>) => {
    const view = store.searchView(rec);
    return view ? store.value(view, first) : undefined;
  };
  return { store, first, email, insert, seen };
}

describe('ObjectStore indexing delay', () => {
  it('keeps the previous version searchable until each write is due, across repeated writes', () => {
    const { store, first, insert, seen } = setup(100);
    const rec = insert('Ann', 0);
    store.flushIndexing(50);
    expect(seen(rec)).toBeUndefined(); // new records are unknown to search until indexed
    expect(store.byModified.size).toBe(0);
    store.flushIndexing(100);
    expect(seen(rec)).toBe('Ann');

    store.update(rec, new Map([[first, 'Bea']]), 150);
    store.update(rec, new Map([[first, 'Cid']]), 200); // written again before the first is due
    expect(rec.v[first.column]).toBe('Cid'); // reads see the latest at once
    store.flushIndexing(260);
    expect(seen(rec)).toBe('Ann'); // the first write is due, but a newer one is pending
    expect([...store.byModified.ascending()]).toEqual([rec.id]);
    store.flushIndexing(300);
    expect(seen(rec)).toBe('Cid');
    expect([...store.byModified.ascending(200, 200)]).toEqual([rec.id]);
  });

  it('indexes due writes as later writes arrive, without any search', () => {
    const { store, insert } = setup(10);
    for (let t = 0; t < 1000; t++) insert(`N${t}`, t);
    // Everything written up to t=989 was due by the last write.
    expect(store.byModified.size).toBe(990);
    expect(store.searchableCount).toBe(1000); // searchableCount flushes against the real clock
  });

  it('archiving removes a record from search once due and frees its unique value at once', () => {
    const { store, email, insert, seen } = setup(100);
    const rec = insert('Dan', 0);
    store.flushIndexing(100);
    store.archive(rec, 120);
    expect(store.findUnique('email', 'dan@example.com')).toBeUndefined();
    expect(seen(rec)).toBe('Dan');
    store.flushIndexing(220);
    expect(seen(rec)).toBeUndefined();
    expect(store.byModified.size).toBe(0);
    expect(email.column).toBeGreaterThanOrEqual(0);
  });

  it('with no delay, keeps the sorted indexes exact under updates', () => {
    const { store, first, insert } = setup(0);
    const a = insert('A', 10);
    const b = insert('B', 20);
    store.update(a, new Map([[first, 'A2']]), 30);
    expect([...store.byModified.ascending()]).toEqual([b.id, a.id]);
    expect([...store.byCreated.ascending()]).toEqual([a.id, b.id]);
    expect(store.update(b, new Map([[first, 'B']]), 40)).toEqual([]); // no change, no new modified date
    expect(b.u).toBe(20);
  });
});
