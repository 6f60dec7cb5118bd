import { describe, expect, it } from 'vitest';
import { AccountLimiter, LimiterRegistry, credentialKey, portalKey, type LimiterMember } from '../../../operator/src/hubspot/ratelimit.js';
import { HubSpotApiError, type RateLimitSettings } from '../../../operator/src/hubspot/types.js';
import { FakeTimers, flush } from './fake-timers.js';

const settings = (requestsPerTenSeconds: number, searchRequestsPerSecond = 4): RateLimitSettings => ({
  requestsPerTenSeconds,
  dailyRequests: 250_000,
  searchRequestsPerSecond,
});
const member = (s: RateLimitSettings): LimiterMember => ({ settings: s, lastUsed: 0, closed: false });

/** Headers as a Fetch Headers-like object. */
const headers = (h: Record<string, string | number>) => ({
  get: (name: string) => {
    const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase());
    return k === undefined ? null : String(h[k]);
  },
});

/**
 * A HubSpot-like server on the fake clock: counts arrivals in a rolling window and answers 429
 * beyond the limit. Requests travel with a pseudo-random latency each way.
 */
async function simulate(opts: { cap: number; windowMs: number; requests: number; concurrency: number; limiterCap?: number; external?: number }) {
  const timers = new FakeTimers();
  const limiter = new AccountLimiter(timers);
  const m = member(settings(opts.limiterCap ?? opts.cap));
  const arrivals: number[] = [];
  let rejected = 0;
  let done = 0;
  let issued = 0;
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const serverCount = (t: number) => arrivals.filter((a) => a > t - opts.windowMs).length;
  let firstStart = -1;
  let lastEnd = 0;
  const worker = async () => {
    while (issued < opts.requests) {
      issued++;
      const permit = await limiter.acquire(m, false);
      if (firstStart < 0) firstStart = timers.now();
      const up = 1 + rand() * 20;
      const down = 1 + rand() * 20;
      await new Promise<void>((r) => timers.setTimer(r, up));
      const now = timers.now();
      const used = serverCount(now);
      const ok = used < opts.cap;
      if (ok) arrivals.push(now);
      const remaining = Math.max(0, opts.cap - serverCount(now));
      await new Promise<void>((r) => timers.setTimer(r, down));
      limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Max': opts.cap, 'X-HubSpot-RateLimit-Remaining': remaining, 'X-HubSpot-RateLimit-Interval-Milliseconds': opts.windowMs }), permit);
      if (!ok) {
        rejected++;
        issued--; // resent
        limiter.onRateLimited('TEN_SECONDLY_ROLLING', false);
      } else done++;
      permit.complete();
      lastEnd = timers.now();
    }
  };
  const workers = Array.from({ length: opts.concurrency }, worker);
  const all = Promise.all(workers);
  let finished = false;
  void all.then(() => (finished = true));
  while (!finished) await timers.advance(50);
  return { rejected, done, elapsed: lastEnd - firstStart, arrivals };
}

describe('AccountLimiter pacing (rolling window of completion times)', () => {
  it('reaches at least 95% of the bound with zero 429s under jittered latency', async () => {
    const cap = 20;
    const windowMs = 2000;
    const requests = 400;
    const r = await simulate({ cap, windowMs, requests, concurrency: 8 });
    expect(r.rejected).toBe(0);
    expect(r.done).toBe(requests);
    // The bound: `cap` requests per window; the last window need not be waited out.
    const boundMs = (requests / cap - 1) * windowMs;
    expect(boundMs / r.elapsed).toBeGreaterThanOrEqual(0.95);
  });

  it('learns a shorter window from X-HubSpot-RateLimit-Interval-Milliseconds', async () => {
    // The client starts assuming 10 s; the server says 1 s: after the first responses it paces at 1 s.
    const r = await simulate({ cap: 10, windowMs: 1000, requests: 200, concurrency: 4 });
    expect(r.rejected).toBe(0);
    expect(r.elapsed).toBeLessThan(200 / 10 * 1000 * 1.1);
  });

  it('never has more than capacity requests started within one window', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(5));
    limiter.general.windowMs = 1000;
    const starts: number[] = [];
    const pending = Array.from({ length: 12 }, async () => {
      const p = await limiter.acquire(m, false);
      starts.push(timers.now());
      timers.setTimer(() => p.complete(), 10);
    });
    for (let i = 0; i < 40; i++) await timers.advance(100);
    await Promise.all(pending);
    expect(starts).toHaveLength(12);
    expect(starts.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // Each later start waits a full window after the completion of the request 5 before it.
    for (let i = 5; i < starts.length; i++) expect(starts[i]! - starts[i - 5]!).toBeGreaterThanOrEqual(1000 + 10);
  });

  it('shares the window with requests HubSpot reports from elsewhere (Remaining header)', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(100));
    const p = await limiter.acquire(m, false);
    // HubSpot: max 10, 2 left — 8 used, one of them ours: 7 by someone else.
    limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Max': 10, 'X-HubSpot-RateLimit-Remaining': 2, 'X-HubSpot-RateLimit-Interval-Milliseconds': 1000 }));
    p.complete();
    let granted = 0;
    for (let i = 0; i < 5; i++) void limiter.acquire(m, false).then(() => granted++);
    await flush();
    expect(granted).toBe(2);
    await timers.advance(1010);
    expect(granted).toBe(5);
  });

  it('a response that reaches us late does not invent outside traffic', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(10));
    limiter.general.windowMs = 1000;
    (await limiter.acquire(m, false)).complete(); // A, done at t=0
    await timers.advance(990);
    const b = await limiter.acquire(m, false); // B starts at t=990
    await timers.advance(25); // HubSpot counted A and B; its answer is read at t=1015, A has left our window
    limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Max': 10, 'X-HubSpot-RateLimit-Remaining': 8, 'X-HubSpot-RateLimit-Interval-Milliseconds': 1000 }), b);
    b.complete();
    expect(limiter.general.external.size).toBe(0);
  });

  it("caps at HubSpot's X-HubSpot-RateLimit-Max when it is below this account's setting", async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(100));
    const p = await limiter.acquire(m, false);
    limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Max': 3, 'X-HubSpot-RateLimit-Remaining': 2, 'X-HubSpot-RateLimit-Interval-Milliseconds': 1000 }));
    p.complete();
    let granted = 0;
    for (let i = 0; i < 5; i++) void limiter.acquire(m, false).then(() => granted++);
    await flush();
    expect(granted).toBe(2);
  });

  it('after a TEN_SECONDLY_ROLLING 429 with rate-limit headers waits until the window frees', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(10));
    const p = await limiter.acquire(m, false);
    await timers.advance(20);
    // Someone else filled the window: HubSpot says 0 remaining of 10.
    limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Max': 10, 'X-HubSpot-RateLimit-Remaining': 0, 'X-HubSpot-RateLimit-Interval-Milliseconds': 1000 }));
    limiter.onRateLimited('TEN_SECONDLY_ROLLING', false);
    p.complete();
    let granted = false;
    void limiter.acquire(m, false).then(() => (granted = true));
    await timers.advance(900);
    expect(granted).toBe(false);
    await timers.advance(200);
    expect(granted).toBe(true);
  });

  it('after 429s without headers backs off 100 ms, doubling while they repeat, reset by a success', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(10));
    const waitFor429 = async () => {
      const p = await limiter.acquire(m, false);
      limiter.onRateLimited('TEN_SECONDLY_ROLLING', false);
      p.complete();
      const t = timers.now();
      let at = -1;
      void limiter.acquire(m, false).then((q) => {
        at = timers.now();
        q.cancel();
      });
      while (at < 0) await timers.advance(10);
      return at - t;
    };
    expect(await waitFor429()).toBe(100);
    expect(await waitFor429()).toBe(200);
    expect(await waitFor429()).toBe(400);
    limiter.noteSuccess();
    expect(await waitFor429()).toBe(100);
  });

  it("keeps within HubSpot's per-second limit when X-HubSpot-RateLimit-Secondly is sent", async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(100));
    const p = await limiter.acquire(m, false);
    limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Max': 100, 'X-HubSpot-RateLimit-Remaining': 99, 'X-HubSpot-RateLimit-Secondly': 3, 'X-HubSpot-RateLimit-Secondly-Remaining': 2 }), p);
    p.complete();
    const starts: number[] = [];
    const all = Array.from({ length: 8 }, async () => {
      const q = await limiter.acquire(m, false);
      starts.push(timers.now());
      q.complete();
    });
    for (let i = 0; i < 40; i++) await timers.advance(100);
    await Promise.all(all);
    // One already used in the first second: 2 more, then 3 per second.
    expect(starts.filter((t) => t < 1000)).toHaveLength(2);
    expect(starts.filter((t) => t < 2000)).toHaveLength(5);
    expect(starts).toHaveLength(8);
  });

  it('after a SECONDLY 429 waits one second', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(10));
    limiter.onRateLimited('SECONDLY', false);
    let granted = false;
    void limiter.acquire(m, false).then(() => (granted = true));
    await timers.advance(990);
    expect(granted).toBe(false);
    await timers.advance(20);
    expect(granted).toBe(true);
  });

  it('on a DAILY 429 fails waiting and new requests fast with RateLimit/DAILY, then probes later', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers, { dailyProbeMs: 60_000 });
    const m = member(settings(1));
    const p = await limiter.acquire(m, false);
    const waiting = limiter.acquire(m, false);
    limiter.onRateLimited('DAILY', false);
    p.complete();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubSpotApiError);
    expect((err as HubSpotApiError).category).toBe('RateLimit');
    expect((err as HubSpotApiError).policyName).toBe('DAILY');
    await expect(limiter.acquire(m, false)).rejects.toMatchObject({ category: 'RateLimit', policyName: 'DAILY' });
    await timers.advance(60_001);
    const again = await limiter.acquire(m, false);
    again.complete();
  });

  it('Daily-Remaining 0 in a response stops further requests the same way', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(10));
    const p = await limiter.acquire(m, false);
    limiter.observeHeaders(headers({ 'X-HubSpot-RateLimit-Daily-Remaining': 0, 'X-HubSpot-RateLimit-Daily': 1000 }));
    p.complete();
    expect(limiter.remainingToday).toBe(0);
    await expect(limiter.acquire(m, false)).rejects.toMatchObject({ category: 'RateLimit', policyName: 'DAILY' });
  });

  it('aborting a waiting request rejects it at once and frees its place', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(1));
    const first = await limiter.acquire(m, false);
    const ac = new AbortController();
    const aborted = limiter.acquire(m, false, ac.signal);
    let nextGranted = false;
    void limiter.acquire(m, false).then(() => (nextGranted = true));
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    first.complete();
    await timers.advance(10_010);
    expect(nextGranted).toBe(true);
  });

  it('a cancelled permit (never sent) frees its slot immediately', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(1));
    const p = await limiter.acquire(m, false);
    let granted = false;
    void limiter.acquire(m, false).then(() => (granted = true));
    p.cancel();
    await flush();
    expect(granted).toBe(true);
  });

  it('paces searches in their own one-second window, apart from the ten-second window', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const m = member(settings(1, 3));
    const general = await limiter.acquire(m, false);
    general.complete(); // the ten-second window is now full
    const starts: number[] = [];
    const all = Array.from({ length: 7 }, async () => {
      const p = await limiter.acquire(m, true);
      starts.push(timers.now());
      p.complete();
    });
    for (let i = 0; i < 30; i++) await timers.advance(100);
    await Promise.all(all);
    expect(starts.filter((t) => t < 1000)).toHaveLength(3);
    expect(starts.filter((t) => t < 2000)).toHaveLength(6);
    expect(starts).toHaveLength(7);
  });

  it('uses the smallest budget among the clients sharing the account; a closed client stops counting', async () => {
    const timers = new FakeTimers();
    const limiter = new AccountLimiter(timers);
    const big = member(settings(50));
    const small = member(settings(3));
    (await limiter.acquire(big, false)).complete();
    expect(limiter.general.capacity).toBe(50);
    (await limiter.acquire(small, false)).complete();
    expect(limiter.general.capacity).toBe(3);
    small.closed = true;
    await timers.advance(1001);
    (await limiter.acquire(big, false)).complete();
    expect(limiter.general.capacity).toBe(50);
  });
});

describe('LimiterRegistry', () => {
  it('keys accounts by a hash of the credential, never the token itself', () => {
    const key = credentialKey('https://api.hubapi.com', 'token:pat-na1-secret-value');
    expect(key).not.toContain('secret');
    expect(key).toMatch(/^cred:[0-9a-f]{32}$/);
    expect(credentialKey('https://api.hubapi.com/', 'token:x')).toBe(credentialKey('https://api.hubapi.com', 'token:x'));
    expect(portalKey('http://127.0.0.1:1', 7)).not.toBe(portalKey('http://127.0.0.1:2', 7));
  });

  it('joins two credentials of one portal into one limiter, keeping recent history', async () => {
    const timers = new FakeTimers();
    const reg = new LimiterRegistry(timers);
    const a = credentialKey('http://h', 'token:a');
    const b = credentialKey('http://h', 'token:b');
    const m = member(settings(2));
    (await reg.get(a).acquire(m, false)).complete();
    (await reg.get(b).acquire(m, false)).complete();
    expect(reg.get(a)).not.toBe(reg.get(b));
    const pk = portalKey('http://h', 1);
    reg.bindPortal(a, pk);
    reg.bindPortal(b, pk);
    expect(reg.get(a)).toBe(reg.get(b));
    // Both earlier requests count in the shared window: a third must wait for the window.
    let granted = false;
    void reg.get(a).acquire(m, false).then(() => (granted = true));
    await flush();
    expect(granted).toBe(false);
    await timers.advance(10_010);
    expect(granted).toBe(true);
  });
});
