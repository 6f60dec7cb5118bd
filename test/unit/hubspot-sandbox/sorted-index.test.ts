import { describe, expect, it } from 'vitest';
import { SortedIndex } from '../../../operator/src/sandbox/hubspot/sorted-index.js';
import { seededRandom } from '../../../operator/src/sandbox/hubspot/random.js';
import { TopK } from '../../../operator/src/sandbox/hubspot/search.js';

/** Reference model: a plain sorted array of [key, id]. */
function model(pairs: [number, number][]) {
  return [...pairs].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

describe('SortedIndex', () => {
  it('matches a sorted array under random inserts and removes across many chunks', () => {
    const r = seededRandom(7);
    const idx = new SortedIndex();
    const live = new Map<number, number>(); // id → key
    for (let step = 0; step < 20_000; step++) {
      const id = Math.floor(r() * 5_000);
      const old = live.get(id);
      if (old !== undefined) {
        expect(idx.remove(old, id)).toBe(true);
        live.delete(id);
      }
      if (r() < 0.8) {
        const key = Math.floor(r() * 300); // many equal keys
        idx.insert(key, id);
        live.set(id, key);
      }
    }
    const expected = model([...live].map(([id, key]) => [key, id]));
    expect(idx.size).toBe(expected.length);
    expect([...idx.ascending()]).toEqual(expected.map((p) => p[1]));
    expect([...idx.descending()]).toEqual(expected.map((p) => p[1]).reverse());
    const inRange = expected.filter(([k]) => k >= 100 && k <= 120);
    expect([...idx.ascending(100, 120)]).toEqual(inRange.map((p) => p[1]));
    expect([...idx.descending(100, 120)]).toEqual(inRange.map((p) => p[1]).reverse());
    expect(idx.countRange(100, 120)).toBe(inRange.length);
    expect(idx.countRange(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(expected.length);
    expect(idx.remove(12345, 99999)).toBe(false);
  });

  it('appends in order without reordering equal keys (ties by id)', () => {
    const idx = new SortedIndex();
    for (let id = 1; id <= 3000; id++) idx.insert(1000, id);
    expect([...idx.ascending(1000, 1000)].slice(0, 3)).toEqual([1, 2, 3]);
    expect(idx.countRange(1000, 1000)).toBe(3000);
    expect(idx.countRange(1001, 2000)).toBe(0);
    expect([...idx.descending(0, 999)]).toEqual([]);
  });
});

describe('TopK', () => {
  it('keeps the k smallest in order, like sorting everything and slicing', () => {
    const r = seededRandom(3);
    const xs = Array.from({ length: 5_000 }, () => Math.floor(r() * 1_000));
    for (const k of [0, 1, 7, 200, 5_000, 6_000]) {
      const top = new TopK<number>(k, (a, b) => a - b);
      for (const x of xs) top.offer(x);
      expect(top.sorted()).toEqual([...xs].sort((a, b) => a - b).slice(0, k));
    }
  });
});
