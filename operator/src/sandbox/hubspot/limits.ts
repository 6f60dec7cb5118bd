/**
 * HubSpot's API limits, per portal: a rolling window (HubSpot: 100 or more requests per 10 s,
 * policy TEN_SECONDLY_ROLLING), a daily count (policy DAILY, reset at midnight UTC here), and
 * a separate per-second limit on search requests (policy SECONDLY). Rejected requests do not
 * consume budget.
 */
import { HubSpotHttpError } from './errors.js';

export interface Limits {
  requestsPerWindow: number;
  windowMs: number;
  dailyRequests: number;
  searchPerSecond: number;
}

/** HubSpot's own limits for the lowest tier (what `hubspot-operator sandbox` and benchmarks use). */
export const HUBSPOT_LIMITS: Limits = { requestsPerWindow: 100, windowMs: 10_000, dailyRequests: 250_000, searchPerSecond: 5 };

/**
 * Defaults of an in-process sandbox: generous, so unit tests of other parts never wait on the
 * limiter unless they set limits on purpose.
 */
export const GENEROUS_LIMITS: Limits = { requestsPerWindow: 100_000, windowMs: 10_000, dailyRequests: 100_000_000, searchPerSecond: 10_000 };

const DAY_MS = 86_400_000;

/** Timestamps of recent requests in a ring buffer, for a rolling count. */
class RollingWindow {
  private times: number[] = [];
  private head = 0;

  count(now: number, windowMs: number): number {
    const cutoff = now - windowMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  /** When the oldest counted request leaves the window. */
  oldest(): number | undefined {
    return this.times[this.head];
  }

  add(now: number): void {
    this.times.push(now);
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

interface PortalUsage {
  window: RollingWindow;
  search: RollingWindow;
  day: number; // epoch day of `daily`
  daily: number;
}

export type RateKind = 'standard' | 'search';

export class RateLimiter {
  limits: Limits;
  private readonly usage = new Map<number, PortalUsage>();
  rateLimited = 0;

  constructor(limits: Limits) {
    this.limits = { ...limits };
  }

  set(partial: Partial<Limits>): Limits {
    this.limits = { ...this.limits, ...partial };
    return this.limits;
  }

  reset(): void {
    this.usage.clear();
    this.rateLimited = 0;
  }

  private of(portalId: number, now: number): PortalUsage {
    let u = this.usage.get(portalId);
    if (!u) {
      u = { window: new RollingWindow(), search: new RollingWindow(), day: Math.floor(now / DAY_MS), daily: 0 };
      this.usage.set(portalId, u);
    }
    const day = Math.floor(now / DAY_MS);
    if (day !== u.day) {
      u.day = day;
      u.daily = 0;
    }
    return u;
  }

  /**
   * Counts one request or throws the 429 of the policy it breaks. Returns the headers to send
   * (none for search: HubSpot's search responses carry no X-HubSpot-RateLimit headers).
   */
  take(portalId: number, kind: RateKind, now = Date.now()): Record<string, string> {
    const u = this.of(portalId, now);
    const l = this.limits;
    if (u.daily >= l.dailyRequests) {
      throw this.reject('DAILY', 'You have reached your daily limit.', this.headers(u, now, 0));
    }
    if (kind === 'search') {
      if (u.search.count(now, 1000) >= l.searchPerSecond) {
        throw this.reject('SECONDLY', 'You have reached your secondly limit.', {});
      }
      u.search.add(now);
      u.daily++;
      return {};
    }
    const used = u.window.count(now, l.windowMs);
    if (used >= l.requestsPerWindow) {
      throw this.reject('TEN_SECONDLY_ROLLING', 'You have reached your ten_secondly_rolling limit.', this.headers(u, now, 0));
    }
    u.window.add(now);
    u.daily++;
    return this.headers(u, now);
  }

  private headers(u: PortalUsage, now: number, remaining?: number): Record<string, string> {
    const l = this.limits;
    return {
      'X-HubSpot-RateLimit-Max': String(l.requestsPerWindow),
      'X-HubSpot-RateLimit-Remaining': String(remaining ?? Math.max(0, l.requestsPerWindow - u.window.count(now, l.windowMs))),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(l.windowMs),
      'X-HubSpot-RateLimit-Daily': String(l.dailyRequests),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, l.dailyRequests - u.daily)),
    };
  }

  private reject(policyName: string, message: string, headers: Record<string, string>): HubSpotHttpError {
    this.rateLimited++;
    return new HubSpotHttpError(429, { message, errorType: 'RATE_LIMIT', category: 'RATE_LIMITS', policyName }, headers);
  }

  /** Usage per portal, for `/__sandbox/stats`. */
  snapshot(now = Date.now()): Record<string, { inWindow: number; today: number; searchesLastSecond: number }> {
    const out: Record<string, { inWindow: number; today: number; searchesLastSecond: number }> = {};
    for (const [portal, u] of this.usage) {
      out[String(portal)] = { inWindow: u.window.count(now, this.limits.windowMs), today: u.daily, searchesLastSecond: u.search.count(now, 1000) };
    }
    return out;
  }
}

/** Validates a `PUT /__sandbox/limits` body. */
export function parseLimits(body: Record<string, unknown>): { limits?: Partial<Limits>; problems: string[] } {
  const problems: string[] = [];
  const out: Partial<Limits> = {};
  for (const key of ['requestsPerWindow', 'windowMs', 'dailyRequests', 'searchPerSecond'] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    else out[key] = v;
  }
  for (const key of Object.keys(body)) {
    if (!['requestsPerWindow', 'windowMs', 'dailyRequests', 'searchPerSecond'].includes(key)) problems.push(`unknown field ${key}; expected requestsPerWindow, windowMs, dailyRequests, searchPerSecond`);
  }
  return problems.length ? { problems } : { limits: out, problems };
}
