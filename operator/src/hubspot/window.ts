/**
 * A rolling-window request counter that paces to an exact bound instead of bursting.
 *
 * Why completion times: HubSpot counts a request when it arrives; we cannot see that instant,
 * only that it lies between sending and receiving the response. Holding each slot from send
 * until `completion + window` guarantees two requests `capacity` apart arrive at least one
 * full window apart at the server, whatever the network jitter, at the cost of one latency
 * per window (≈0.1% at 10 ms latency and a 10 s window).
 *
 * Two kinds of entries:
 * - own: requests of this process (in flight, or completed at a time);
 * - external: requests HubSpot reports that this process did not make (another operator, another
 *   app on the same account), inferred from the X-HubSpot-RateLimit-Remaining header.
 * Own entries are limited by `capacity` (this account's configured budget); own + external by
 * `serverMax` (HubSpot's limit, from X-HubSpot-RateLimit-Max) when known.
 */
export class TimestampQueue {
  private stamps: number[] = [];
  private head = 0;

  get size(): number {
    return this.stamps.length - this.head;
  }

  /** Append `n` entries at time `t` (times are kept non-decreasing). */
  push(t: number, n = 1): void {
    const last = this.stamps.length > this.head ? this.stamps[this.stamps.length - 1]! : -Infinity;
    const at = t < last ? last : t;
    for (let i = 0; i < n; i++) this.stamps.push(at);
  }

  /** Drop entries at or before `cutoff`. */
  prune(cutoff: number): void {
    const s = this.stamps;
    while (this.head < s.length && s[this.head]! <= cutoff) this.head++;
    if (this.head > 256 && this.head * 2 > s.length) {
      this.stamps = s.slice(this.head);
      this.head = 0;
    }
  }

  /** The i-th oldest entry (0-based). */
  at(i: number): number {
    return this.stamps[this.head + i]!;
  }

  /** All entries, oldest first (for merging limiters). */
  toArray(): number[] {
    return this.stamps.slice(this.head);
  }

  /** Insert entries keeping order (used when two limiters merge; rare). */
  merge(times: readonly number[]): void {
    if (times.length === 0) return;
    const merged = this.toArray().concat(times).sort((a, b) => a - b);
    this.stamps = merged;
    this.head = 0;
  }
}

/** Our side of the window when a request started (see SlidingWindow.observe). */
export interface OwnSnapshot {
  ownAtStart: number;
  startedAtStart: number;
}

export class SlidingWindow {
  /** This process's budget per window. */
  capacity: number;
  windowMs: number;
  /** HubSpot's limit per window for the account, when a response told us. */
  serverMax?: number;
  /** Extra safety after each window, for clock granularity at the server's boundary check. */
  readonly marginMs: number;
  /** No request starts before this time (a SECONDLY 429, a Retry-After). */
  blockedUntil = 0;
  inFlight = 0;
  readonly own = new TimestampQueue();
  readonly external = new TimestampQueue();

  constructor(capacity: number, windowMs: number, marginMs = 5) {
    this.capacity = capacity;
    this.windowMs = windowMs;
    this.marginMs = marginMs;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs - this.marginMs;
    this.own.prune(cutoff);
    this.external.prune(cutoff);
  }

  /** Own requests counted in the window now (in flight included). */
  ownOccupied(now: number): number {
    this.prune(now);
    return this.inFlight + this.own.size;
  }

  /** All requests HubSpot is believed to count in its window now. */
  occupied(now: number): number {
    this.prune(now);
    return this.inFlight + this.own.size + this.external.size;
  }

  /**
   * Milliseconds until one more request may start: 0 = now; Infinity = not before an in-flight
   * request completes (the caller is woken by `complete`).
   */
  waitMs(now: number): number {
    this.prune(now);
    let wait = Math.max(0, this.blockedUntil - now);
    const ownExcess = this.inFlight + this.own.size - this.capacity + 1;
    if (ownExcess > 0) {
      if (ownExcess > this.own.size) return Infinity;
      wait = Math.max(wait, this.expiry(this.own.at(ownExcess - 1)) - now);
    }
    if (this.serverMax !== undefined || this.external.size > 0) {
      // HubSpot's limit caps everyone's requests together; until HubSpot told us its limit,
      // others' requests count against our own budget.
      const allExcess = this.inFlight + this.own.size + this.external.size - (this.serverMax ?? this.capacity) + 1;
      if (allExcess > 0) {
        if (allExcess > this.own.size + this.external.size) return Infinity;
        wait = Math.max(wait, this.expiry(this.kthOldest(allExcess - 1)) - now);
      }
    }
    return Math.max(0, wait);
  }

  private expiry(t: number): number {
    return t + this.windowMs + this.marginMs;
  }

  /** k-th oldest (0-based) over own and external entries together. */
  private kthOldest(k: number): number {
    let i = 0;
    let j = 0;
    const a = this.own;
    const b = this.external;
    for (;;) {
      const takeA = j >= b.size || (i < a.size && a.at(i) <= b.at(j));
      const v = takeA ? a.at(i++) : b.at(j++);
      if (k-- === 0) return v;
    }
  }

  /** Requests started since creation (to bound what HubSpot can have counted of ours). */
  started = 0;

  /**
   * A request starts: it holds a slot until `complete` or `cancel`. Returns how many of our
   * requests HubSpot could count at most when this one arrives, minus those started later.
   */
  take(now: number): OwnSnapshot {
    this.inFlight++;
    this.started++;
    return { ownAtStart: this.ownOccupied(now), startedAtStart: this.started };
  }

  /** The request finished (any outcome that reached the network): its slot frees one window later. */
  complete(now: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.own.push(now);
  }

  /** The request was never sent (aborted, credentials failed): its slot frees now. */
  cancel(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /**
   * Correct our view from HubSpot's X-HubSpot-RateLimit-{Max,Remaining,Interval-Milliseconds}
   * of the response to the request that took `snap`: requests HubSpot counts beyond all of ours
   * it could have counted were made by someone else, and are recorded as external.
   *
   * "All of ours it could have counted" is bounded from the request's start, not from now: the
   * response may reach us well after HubSpot computed it, when some of our requests it still
   * counted have already left our window. Comparing with now would invent outside traffic.
   */
  observe(now: number, max: number | undefined, remaining: number | undefined, intervalMs: number | undefined, snap?: OwnSnapshot): void {
    if (intervalMs !== undefined && intervalMs > 0) this.windowMs = intervalMs;
    if (max === undefined || max <= 0) return;
    this.serverMax = max;
    if (remaining === undefined) return;
    const serverUsed = max - Math.max(0, remaining);
    const ours = snap ? snap.ownAtStart + (this.started - snap.startedAtStart) : this.ownOccupied(now);
    this.prune(now);
    const extra = serverUsed - ours - this.external.size;
    if (extra > 0) this.external.push(now, extra);
  }
}
