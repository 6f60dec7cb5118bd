/**
 * Daily-budget pacing (DESIGN §3): cycles slow down only when the day's projected use — the last
 * 24 hours plus the current cadence for the next 24 — would pass the budget, so an integration
 * that syncs now and then keeps its latency, and a busy table does not spend the day.
 */
import { describe, expect, it } from 'vitest';
import { ApiPacer, type EngineClock } from '../../../operator/src/sync/pacing.js';

function manualClock(): EngineClock & { t: number } {
  return { t: 0, now() { return this.t; }, sleep: async () => {} };
}

/** Runs `cycles` cycles `gapMs` apart, each making `cost` requests. */
function run(p: ApiPacer, clock: { t: number }, cycles: number, gapMs: number, cost: number): void {
  for (let i = 0; i < cycles; i++) {
    p.cycleStarted();
    for (let r = 0; r < cost; r++) p.request(false);
    p.cycleEnded();
    clock.t += gapMs;
  }
}

describe('ApiPacer', () => {
  it('does not pace an integration whose cycles come every 30 s at 21 requests under 250,000 a day', () => {
    const clock = manualClock();
    const p = new ApiPacer({ clock, minInterval: '1s', dailyRequests: 250_000 });
    run(p, clock, 10, 30_000, 21);
    expect(p.state()).toEqual({ gapMs: 1000 });
  });

  it('paces a table changing every second under a 2,000-a-day budget, and says so', () => {
    const clock = manualClock();
    const p = new ApiPacer({ clock, minInterval: '1s', dailyRequests: 2000 });
    run(p, clock, 10, 1000, 5);
    const st = p.state();
    // What remains (~90% of 1,950) spread over the day at 5 requests per cycle: a cycle every ~4.4 min.
    expect(st.gapMs).toBeGreaterThan(200_000);
    expect(st.pacing).toMatch(/^pacing the daily budget: 50 of 2000 requests used in the last 24h, about 5 per cycle/);
  });

  it('a burst is seen at once: the cadence follows a shorter gap immediately', () => {
    const clock = manualClock();
    const p = new ApiPacer({ clock, minInterval: '1s', dailyRequests: 20_000 });
    run(p, clock, 5, 60_000, 10);
    expect(p.state().pacing).toBeUndefined();
    run(p, clock, 2, 1000, 10);
    expect(p.state().pacing).toBeDefined();
  });
});
