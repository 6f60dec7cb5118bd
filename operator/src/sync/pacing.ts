/**
 * HubSpot API usage and pacing of one engine (DESIGN §3 "API usage"):
 * - usage is counted per HubSpot account (portal) in the state store, so status.apiUsage and
 *   the budget survive restarts, suspend/resume and any spec change;
 * - capture-driven cycles coalesce: at most one per `schedule.minInterval` (default 1s);
 * - the daily budget is paced: when the day's projected use (the last 24 hours, plus the
 *   current cadence for the next 24) would pass `dailyRequests`, the gap between
 *   capture-driven cycles grows so what remains of the budget is spread over the day. Cycles
 *   slow down; they never stop (Ready stays True, its message says it is pacing).
 */
import { parseDuration } from '../api/duration.js';

export const DAY_MS = 24 * 3600_000;

/** A clock the engine waits on (tests and the budget benchmark scale time with it). */
export interface EngineClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: EngineClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || ms <= 0) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface UsageStore {
  recordApiUsage(account: string, atMs: number, requests: number, rateLimited: number): Promise<void>;
  readApiUsage(account: string, sinceMs: number): Promise<{ requests: number; rateLimited: number }>;
}

export interface PacingState {
  /** Minimum gap between capture-driven cycles now (ms). */
  gapMs: number;
  /** Set when the budget slows cycles down: what Ready's message says. */
  pacing?: string;
}

export class ApiPacer {
  private readonly clock: EngineClock;
  private readonly minIntervalMs: number;
  private readonly dailyRequests: number;
  private unflushed = { requests: 0, rateLimited: 0 };
  /** Requests of the cycle in progress, and the moving average per cycle. */
  private cycleRequests = 0;
  private avgCycleCost?: number;
  private lastCycleStartMs?: number;
  /** Moving average of the time between cycle starts: the cadence the projection assumes. */
  private avgGapMs?: number;
  private last24h = { requests: 0, rateLimited: 0 };
  /** The last wait for a turn was stretched by the budget (not only minInterval). */
  private paced = false;

  constructor(opts: { clock: EngineClock; minInterval?: string; dailyRequests: number }) {
    this.clock = opts.clock;
    this.minIntervalMs = parseDuration(opts.minInterval ?? '1s');
    this.dailyRequests = opts.dailyRequests;
  }

  /** One HubSpot request was made (the client's onRequest). */
  request(rateLimited: boolean): void {
    this.unflushed.requests++;
    this.cycleRequests++;
    if (rateLimited) this.unflushed.rateLimited++;
  }

  cycleStarted(): void {
    const now = this.clock.now();
    if (this.lastCycleStartMs !== undefined) {
      const gap = Math.max(0, now - this.lastCycleStartMs);
      // Down at once (a burst of captured changes must be seen before it spends the day), up slowly.
      this.avgGapMs = this.avgGapMs === undefined || gap < this.avgGapMs ? gap : 0.7 * this.avgGapMs + 0.3 * gap;
    }
    this.lastCycleStartMs = now;
    this.cycleRequests = 0;
  }

  /** A capture-driven (or any) cycle ended: learn its cost. */
  cycleEnded(): void {
    const c = this.cycleRequests;
    // Up at once (never under-estimate what the next cycle costs), down slowly.
    this.avgCycleCost = this.avgCycleCost === undefined || c > this.avgCycleCost ? c : 0.7 * this.avgCycleCost + 0.3 * c;
  }

  /** Persist what was counted since the last flush and read the account's last 24 hours. */
  async flush(store: UsageStore, account: string): Promise<{ requests: number; rateLimited: number }> {
    const now = this.clock.now();
    const pending = this.unflushed;
    this.unflushed = { requests: 0, rateLimited: 0 };
    try {
      await store.recordApiUsage(account, now, pending.requests, pending.rateLimited);
    } catch (err) {
      // Kept for the next flush.
      this.unflushed.requests += pending.requests;
      this.unflushed.rateLimited += pending.rateLimited;
      throw err;
    }
    this.last24h = await store.readApiUsage(account, now - DAY_MS);
    return this.last24h;
  }

  /** The gap before the next capture-driven cycle, and whether the budget is pacing it. */
  state(): PacingState {
    const cost = Math.max(1, this.avgCycleCost ?? 1);
    const used = this.last24h.requests + this.unflushed.requests;
    // The next 24 hours at the current cadence (never faster than minInterval allows): an
    // integration that syncs now and then is not slowed down; a busy table is, before it spends the day.
    const cadenceMs = Math.max(this.minIntervalMs, this.avgGapMs ?? Number.POSITIVE_INFINITY, 1);
    const projected = used + (Number.isFinite(cadenceMs) ? cost * (DAY_MS / cadenceMs) : 0);
    if (projected <= 0.9 * this.dailyRequests) return { gapMs: this.minIntervalMs };
    // Spread what remains of the budget evenly over the next 24 hours (usage older than a day
    // keeps expiring, so the sustained rate converges to dailyRequests per day).
    // 10% headroom: scheduled and full cycles spend too, and a cycle's cost is an estimate.
    const remaining = Math.max(0.9 * (this.dailyRequests - used), this.dailyRequests * 0.01);
    const gapMs = Math.max(this.minIntervalMs, Math.ceil((cost * DAY_MS) / remaining));
    return {
      gapMs,
      pacing: `pacing the daily budget: ${used} of ${this.dailyRequests} requests used in the last 24h, about ${Math.round(cost)} per cycle; captured changes are applied at most every ${Math.round(gapMs / 1000)}s`,
    };
  }

  /** What the pacing decides from (the budget benchmark prints it). */
  snapshot(): { usedLast24h: number; costPerCycle: number; gapMs: number } {
    return { usedLast24h: this.last24h.requests + this.unflushed.requests, costPerCycle: Math.max(1, this.avgCycleCost ?? 1), gapMs: this.state().gapMs };
  }

  /** Ready's note when the budget is slowing capture-driven cycles down. */
  pacingMessage(): string | undefined {
    return this.paced ? this.state().pacing : undefined;
  }

  /** Wait until the next capture-driven cycle may start. */
  async waitForTurn(signal: AbortSignal): Promise<void> {
    if (this.lastCycleStartMs === undefined) return;
    const st = this.state();
    this.paced = st.pacing !== undefined;
    const wait = this.lastCycleStartMs + st.gapMs - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait, signal);
  }
}
