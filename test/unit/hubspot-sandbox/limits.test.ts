import { describe, expect, it } from 'vitest';
import { HubSpotHttpError } from '../../../operator/src/sandbox/hubspot/errors.js';
import { RateLimiter } from '../../../operator/src/sandbox/hubspot/limits.js';

function policyOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HubSpotHttpError) return String(err.body.policyName);
    throw err;
  }
  return undefined;
}

describe('RateLimiter', () => {
  it('rolls the window: a request leaves it windowMs after it was made', () => {
    const l = new RateLimiter({ requestsPerWindow: 3, windowMs: 1000, dailyRequests: 100, searchPerSecond: 5 });
    const t0 = 1_700_000_000_000;
    expect(l.take(1, 'standard', t0)['X-HubSpot-RateLimit-Remaining']).toBe('2');
    l.take(1, 'standard', t0 + 400);
    l.take(1, 'standard', t0 + 800);
    expect(policyOf(() => l.take(1, 'standard', t0 + 999))).toBe('TEN_SECONDLY_ROLLING');
    expect(l.take(1, 'standard', t0 + 1000)['X-HubSpot-RateLimit-Remaining']).toBe('0'); // t0 left the window
    expect(policyOf(() => l.take(1, 'standard', t0 + 1300))).toBe('TEN_SECONDLY_ROLLING');
    expect(l.take(2, 'standard', t0 + 1300)['X-HubSpot-RateLimit-Remaining']).toBe('2'); // another portal
    expect(l.rateLimited).toBe(2);
  });

  it('counts the day (rejections excluded) and resets it at midnight UTC', () => {
    const l = new RateLimiter({ requestsPerWindow: 100, windowMs: 10, dailyRequests: 2, searchPerSecond: 5 });
    const midnight = Date.UTC(2026, 0, 2);
    l.take(1, 'standard', midnight - 5000);
    expect(l.take(1, 'search', midnight - 4000)).toEqual({}); // search: no headers, counts for the day
    expect(policyOf(() => l.take(1, 'standard', midnight - 3000))).toBe('DAILY');
    expect(l.take(1, 'standard', midnight)['X-HubSpot-RateLimit-Daily-Remaining']).toBe('1');
  });

  it('limits searches per second separately from the window', () => {
    const l = new RateLimiter({ requestsPerWindow: 1, windowMs: 10_000, dailyRequests: 100, searchPerSecond: 2 });
    const t = 1_000_000;
    l.take(1, 'standard', t);
    l.take(1, 'search', t);
    l.take(1, 'search', t + 10);
    expect(policyOf(() => l.take(1, 'search', t + 20))).toBe('SECONDLY');
    expect(policyOf(() => l.take(1, 'search', t + 1010))).toBeUndefined();
  });
});
