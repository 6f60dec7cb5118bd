import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryableFailure, sleep } from '../../../operator/src/hubspot/retry.js';

describe('backoffDelay (equal jitter)', () => {
  it('grows exponentially from 200 ms and stays within [step/2, step], capped at 10 s', () => {
    const p = DEFAULT_RETRY_POLICY;
    const steps = [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000];
    steps.forEach((step, k) => {
      expect(backoffDelay(k + 1, p, () => 0)).toBe(step / 2);
      expect(backoffDelay(k + 1, p, () => 0.999999)).toBeCloseTo(step, 0);
    });
    expect(backoffDelay(1000, p, () => 1)).toBe(10_000);
  });

  it('spreads retries of clients that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => Math.round(backoffDelay(4, DEFAULT_RETRY_POLICY))));
    expect(delays.size).toBeGreaterThan(20);
  });

  it('gives up to six attempts by default', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(6);
  });
});

describe('isRetryableFailure', () => {
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
  const reset = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket'), { code: 'ECONNRESET' }) });
  it.each([
    [500, true, undefined, true],
    [502, true, undefined, true],
    [503, false, undefined, false], // a create may have been applied
    [408, true, undefined, true],
    [400, true, undefined, false],
    [404, true, undefined, false],
    [409, true, undefined, false],
    [0, true, reset, true],
    [0, false, reset, false], // a reset create: outcome unknown, not resent
    [0, false, refused, true], // never sent: safe even for a create
  ])('status %i idempotent=%s → %s', (status, idempotent, err, expected) => {
    expect(isRetryableFailure(status as number, idempotent as boolean, err)).toBe(expected);
  });
});

describe('sleep', () => {
  it('rejects with an AbortError as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = sleep(60_000, ac.signal);
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when already aborted', async () => {
    await expect(sleep(10, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });
});
