/**
 * An ordered index of (key, id) pairs, compared by key then id, kept as a list of sorted chunks
 * (the "sorted containers" layout). Insert and remove cost O(log n + chunk size) instead of the
 * O(n) of one big sorted array, which matters when every write moves a record in the
 * last-modified index of a million records. Keys are numbers (epoch ms or ids).
 */
const MAX_CHUNK = 1024;

interface Chunk {
  keys: number[];
  ids: number[];
}

/** A position in the index: chunk number and offset inside it. */
interface Cursor {
  c: number;
  i: number;
}

function less(k1: number, id1: number, k2: number, id2: number): boolean {
  return k1 < k2 || (k1 === k2 && id1 < id2);
}

export class SortedIndex {
  private chunks: Chunk[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  insert(key: number, id: number): void {
    this.count++;
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], ids: [id] });
      return;
    }
    // Fast path: appending past the end (the common case for "now" timestamps and new ids).
    const lastChunk = this.chunks[this.chunks.length - 1]!;
    const n = lastChunk.keys.length;
    if (!less(key, id, lastChunk.keys[n - 1]!, lastChunk.ids[n - 1]!)) {
      if (n >= MAX_CHUNK) this.chunks.push({ keys: [key], ids: [id] });
      else {
        lastChunk.keys.push(key);
        lastChunk.ids.push(id);
      }
      return;
    }
    const c = this.chunkFor(key, id);
    const chunk = this.chunks[c]!;
    const i = lowerBoundIn(chunk, key, id);
    chunk.keys.splice(i, 0, key);
    chunk.ids.splice(i, 0, id);
    if (chunk.keys.length > MAX_CHUNK * 2) {
      const half = chunk.keys.length >> 1;
      this.chunks.splice(c + 1, 0, { keys: chunk.keys.splice(half), ids: chunk.ids.splice(half) });
    }
  }

  /** Removes the exact pair; returns false when it was not present. */
  remove(key: number, id: number): boolean {
    if (this.chunks.length === 0) return false;
    const c = this.chunkFor(key, id);
    const chunk = this.chunks[c]!;
    const i = lowerBoundIn(chunk, key, id);
    if (i >= chunk.keys.length || chunk.keys[i] !== key || chunk.ids[i] !== id) return false;
    chunk.keys.splice(i, 1);
    chunk.ids.splice(i, 1);
    if (chunk.keys.length === 0) this.chunks.splice(c, 1);
    this.count--;
    return true;
  }

  /** Index of the first chunk whose last pair is >= (key, id), or the last chunk. */
  private chunkFor(key: number, id: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const ch = this.chunks[mid]!;
      const last = ch.keys.length - 1;
      if (less(ch.keys[last]!, ch.ids[last]!, key, id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first pair >= (key, id). */
  private lowerBound(key: number, id: number): Cursor {
    if (this.chunks.length === 0) return { c: 0, i: 0 };
    const c = this.chunkFor(key, id);
    const i = lowerBoundIn(this.chunks[c]!, key, id);
    return { c, i };
  }

  /** Number of pairs with lo <= key <= hi (inclusive bounds; use ±Infinity for open ends). */
  countRange(lo: number, hi: number): number {
    return this.rank(hi, Number.POSITIVE_INFINITY) - this.rank(lo, Number.NEGATIVE_INFINITY);
  }

  /** Number of pairs strictly below (key, id). O(chunks). */
  private rank(key: number, id: number): number {
    const { c, i } = this.lowerBound(key, id);
    let r = i;
    for (let k = 0; k < c && k < this.chunks.length; k++) r += this.chunks[k]!.keys.length;
    return r;
  }

  /** Ids with lo <= key <= hi in ascending (key, id) order. */
  *ascending(lo = Number.NEGATIVE_INFINITY, hi = Number.POSITIVE_INFINITY): Generator<number> {
    let { c, i } = this.lowerBound(lo, Number.NEGATIVE_INFINITY);
    for (; c < this.chunks.length; c++, i = 0) {
      const ch = this.chunks[c]!;
      for (; i < ch.keys.length; i++) {
        if (ch.keys[i]! > hi) return;
        yield ch.ids[i]!;
      }
    }
  }

  /** Ids with lo <= key <= hi in descending (key, id) order. */
  *descending(lo = Number.NEGATIVE_INFINITY, hi = Number.POSITIVE_INFINITY): Generator<number> {
    const start = this.lowerBound(hi, Number.POSITIVE_INFINITY);
    let c = start.c;
    let i = start.i - 1;
    while (c >= 0 && c < this.chunks.length + 1) {
      if (c >= this.chunks.length) {
        c--;
        i = c >= 0 ? this.chunks[c]!.keys.length - 1 : -1;
        continue;
      }
      const ch = this.chunks[c]!;
      for (; i >= 0; i--) {
        if (ch.keys[i]! < lo) return;
        yield ch.ids[i]!;
      }
      c--;
      if (c >= 0) i = this.chunks[c]!.keys.length - 1;
    }
  }
}

function lowerBoundIn(chunk: Chunk, key: number, id: number): number {
  let lo = 0;
  let hi = chunk.keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (less(chunk.keys[mid]!, chunk.ids[mid]!, key, id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
