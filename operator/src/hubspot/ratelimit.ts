/**
 * One rate limiter per HubSpot account, shared by every client of that account in the process
 * (DESIGN §3). HubSpot enforces its limits per account, so integrations on one account must
 * pace together or they 429 each other.
 *
 * How settings of several integrations on one account combine: each integration's
 * `rateLimit` is its share of the account's limits, and the account can be no faster than the
 * most conservative integration believes it can be. So the limiter uses the SMALLEST
 * requestsPerTenSeconds and searchRequestsPerSecond among the clients active on the account,
 * and every client paces through it in arrival order (fair). The daily budget is an allocation
 * per integration (like a call allocation) and is counted per client (see usage.ts), while the
 * account's own daily limit is enforced from X-HubSpot-RateLimit-Daily-Remaining and DAILY 429s.
 *
 * Searches have their own one-second window (HubSpot: 5 per second per account); they are not
 * counted in the ten-second window and their responses carry no rate-limit headers.
 *
 * The window length is learnt from X-HubSpot-RateLimit-Interval-Milliseconds (10 s on HubSpot,
 * shorter in the sandbox); until the first response it is 10 s, the conservative choice.
 */
import { createHash } from 'node:crypto';
import { abortError } from './errors.js';
import { HubSpotApiError, type RateLimitSettings } from './types.js';
import { SlidingWindow, type OwnSnapshot } from './window.js';

/** Monotonic clock and timer, injectable so pacing is testable without real time. */
export interface Timers {
  now(): number;
  setTimer(fn: () => void, ms: number): () => void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

const DEFAULT_WINDOW_MS = 10_000;
const SEARCH_WINDOW_MS = 1_000;
/** A client that made no request for this long no longer lowers the account's shared budget. */
const MEMBER_IDLE_MS = 60_000;
/** After HubSpot reports the daily limit spent, requests fail fast for this long, then one probes. */
const DEFAULT_DAILY_PROBE_MS = 10 * 60_000;
/** First wait after a 429 that says nothing about the window (doubles while 429s repeat). */
const RATE_LIMITED_BACKOFF_MS = 100;

/** One client's registration on an account limiter. */
export interface LimiterMember {
  settings: RateLimitSettings;
  lastUsed: number;
  closed: boolean;
}

/** A granted request slot: exactly one of `complete` (sent) or `cancel` (never sent). */
export interface Permit {
  complete(): void;
  cancel(): void;
  /** For observeHeaders: what HubSpot could count of ours when this request arrived. */
  readonly snapshot?: OwnSnapshot;
}

interface Waiter {
  search: boolean;
  resolve: (p: Permit) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export type RateLimitPolicy = 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY' | string;

export class AccountLimiter {
  readonly general: SlidingWindow;
  readonly search: SlidingWindow;
  /** HubSpot's per-second limit on non-search requests, once X-HubSpot-RateLimit-Secondly told it. */
  secondly?: SlidingWindow;
  /** Last values HubSpot reported, for usage(). */
  remainingInWindow?: number;
  remainingToday?: number;
  /** While set and in the future, every request fails fast with RateLimit/DAILY. */
  dailyBlockedUntil = 0;
  readonly dailyProbeMs: number;

  private readonly timers: Timers;
  private readonly members = new Set<LimiterMember>();
  private generalQueue: Waiter[] = [];
  private searchQueue: Waiter[] = [];
  private timerDue = Infinity;
  private cancelTimer?: () => void;
  private settingsCheckedAt = -Infinity;
  private consecutiveRateLimited = 0;

  constructor(timers: Timers, opts: { dailyProbeMs?: number } = {}) {
    this.timers = timers;
    this.general = new SlidingWindow(100, DEFAULT_WINDOW_MS);
    this.search = new SlidingWindow(4, SEARCH_WINDOW_MS);
    this.dailyProbeMs = opts.dailyProbeMs ?? DEFAULT_DAILY_PROBE_MS;
  }

  /** Clients currently sharing this limiter (not closed, active recently). */
  get memberCount(): number {
    return this.members.size;
  }

  /**
   * Wait for a slot in the rolling window (search requests: in the search window instead —
   * HubSpot limits searches separately and does not count them in the ten-second window).
   * Rejects with RateLimit/DAILY when the account's daily limit is known to be spent, and with
   * an AbortError as soon as `signal` aborts.
   */
  acquire(member: LimiterMember, search: boolean, signal?: AbortSignal): Promise<Permit> {
    const now = this.timers.now();
    member.lastUsed = now;
    if (!this.members.has(member)) {
      this.members.add(member);
      this.settingsCheckedAt = -Infinity;
    }
    this.applySettings(now);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (now < this.dailyBlockedUntil) return Promise.reject(dailyError());
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = { search, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          this.remove(w);
          reject(abortError(signal));
          this.pump();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      (search ? this.searchQueue : this.generalQueue).push(w);
      this.pump();
    });
  }

  /** Requests left in the current window: as HubSpot last said, else as this process counts. */
  windowRemaining(): number {
    if (this.remainingInWindow !== undefined) return this.remainingInWindow;
    return Math.max(0, this.general.capacity - this.general.occupied(this.timers.now()));
  }

  /** Read X-HubSpot-RateLimit-* headers of a response (before its permit completes). */
  observeHeaders(h: { get(name: string): string | null }, permit?: Permit): void {
    const now = this.timers.now();
    const max = num(h.get('x-hubspot-ratelimit-max'));
    const remaining = num(h.get('x-hubspot-ratelimit-remaining'));
    const interval = num(h.get('x-hubspot-ratelimit-interval-milliseconds'));
    if (max !== undefined || remaining !== undefined || interval !== undefined) {
      this.general.observe(now, max, remaining, interval, permit?.snapshot);
      if (remaining !== undefined) this.remainingInWindow = remaining;
    }
    const perSecond = num(h.get('x-hubspot-ratelimit-secondly'));
    if (perSecond !== undefined && perSecond > 0) {
      // Keeps the burst at the start of each window within HubSpot's per-second limit.
      if (!this.secondly) {
        // Requests already made (or in flight) count in HubSpot's current second too.
        this.secondly = new SlidingWindow(perSecond, SEARCH_WINDOW_MS);
        this.secondly.own.merge(this.general.own.toArray());
        this.secondly.external.push(now, this.general.inFlight);
      }
      this.secondly.capacity = perSecond;
    }
    const dailyRemaining = num(h.get('x-hubspot-ratelimit-daily-remaining'));
    if (dailyRemaining !== undefined) {
      this.remainingToday = dailyRemaining;
      if (dailyRemaining <= 0) {
        this.dailyBlockedUntil = now + this.dailyProbeMs;
        this.failDailyWaiters();
      }
    }
    const retryAfter = num(h.get('retry-after'));
    if (retryAfter !== undefined && retryAfter > 0) {
      this.general.blockedUntil = Math.max(this.general.blockedUntil, now + retryAfter * 1000);
    }
  }

  /**
   * HubSpot answered 429 (call after `observeHeaders` of that response).
   * - TEN_SECONDLY_ROLLING (or unknown): the window is full. HubSpot's 429 carries the
   *   rate-limit headers, so `observeHeaders` has already recorded who filled it and requests
   *   wait until the oldest leaves the window. On top, and alone when the headers are missing
   *   (a proxy, an injected fault), back off: 100 ms doubling per consecutive 429, at most one
   *   window.
   * - SECONDLY: wait one second.
   * - DAILY: fail fast (RateLimit/DAILY) until a probe is due.
   */
  onRateLimited(policy: RateLimitPolicy | undefined, search: boolean): void {
    const now = this.timers.now();
    const window = search ? this.search : this.general;
    if (policy === 'DAILY') {
      this.dailyBlockedUntil = now + this.dailyProbeMs;
      this.remainingToday = 0;
      this.failDailyWaiters();
    } else if (policy === 'SECONDLY') {
      window.blockedUntil = Math.max(window.blockedUntil, now + 1000);
    } else {
      const delay = Math.min(window.windowMs, RATE_LIMITED_BACKOFF_MS * 2 ** Math.min(this.consecutiveRateLimited, 8));
      this.consecutiveRateLimited++;
      window.blockedUntil = Math.max(window.blockedUntil, now + delay);
    }
    this.pump();
  }

  /** A request succeeded: the next 429 starts its backoff from the beginning again. */
  noteSuccess(): void {
    this.consecutiveRateLimited = 0;
  }

  /** Recompute the shared budget from active members (at most once a second, or on change). */
  private applySettings(now: number): void {
    if (now - this.settingsCheckedAt < 1000) return;
    this.settingsCheckedAt = now;
    let perWindow = Infinity;
    let perSecond = Infinity;
    for (const m of this.members) {
      if (m.closed || now - m.lastUsed > MEMBER_IDLE_MS) {
        this.members.delete(m);
        continue;
      }
      perWindow = Math.min(perWindow, m.settings.requestsPerTenSeconds);
      perSecond = Math.min(perSecond, m.settings.searchRequestsPerSecond);
    }
    if (Number.isFinite(perWindow)) this.general.capacity = Math.max(1, Math.floor(perWindow));
    if (Number.isFinite(perSecond)) this.search.capacity = Math.max(1, Math.floor(perSecond));
  }

  /** Grant slots to waiters in arrival order while their window allows, then arm one timer. */
  private pump(): void {
    const now = this.timers.now();
    while (this.generalQueue.length > 0 && this.generalWaitMs(now) === 0) this.grant(this.generalQueue.shift()!);
    while (this.searchQueue.length > 0 && this.search.waitMs(now) === 0) this.grant(this.searchQueue.shift()!);
    this.arm(now);
  }

  private grant(w: Waiter): void {
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    const windows = w.search ? [this.search] : this.secondly ? [this.general, this.secondly] : [this.general];
    const now = this.timers.now();
    const snapshot = windows.map((x) => x.take(now))[0];
    let done = false;
    const finish = (sent: boolean): void => {
      if (done) return;
      done = true;
      const t = this.timers.now();
      for (const x of windows) {
        if (sent) x.complete(t);
        else x.cancel();
      }
      this.pump();
    };
    w.resolve({ complete: () => finish(true), cancel: () => finish(false), snapshot: w.search ? undefined : snapshot });
  }

  private arm(now: number): void {
    let wait = Infinity;
    if (this.generalQueue.length > 0) wait = this.generalWaitMs(now);
    if (this.searchQueue.length > 0) wait = Math.min(wait, this.search.waitMs(now));
    if (!Number.isFinite(wait)) return; // woken by a completing request
    const due = now + Math.max(1, Math.ceil(wait));
    if (this.cancelTimer && due >= this.timerDue) return;
    this.cancelTimer?.();
    this.timerDue = due;
    this.cancelTimer = this.timers.setTimer(() => {
      this.cancelTimer = undefined;
      this.timerDue = Infinity;
      this.pump();
    }, due - now);
  }

  private generalWaitMs(now: number): number {
    const w = this.general.waitMs(now);
    return this.secondly ? Math.max(w, this.secondly.waitMs(now)) : w;
  }

  private remove(w: Waiter): void {
    const q = w.search ? this.searchQueue : this.generalQueue;
    const i = q.indexOf(w);
    if (i >= 0) q.splice(i, 1);
  }

  private failDailyWaiters(): void {
    const all = [...this.generalQueue, ...this.searchQueue];
    this.generalQueue = [];
    this.searchQueue = [];
    for (const w of all) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(dailyError());
    }
  }

  /** Take over the recent history of another limiter of the same account (see LimiterRegistry.bindPortal). */
  absorb(other: AccountLimiter): void {
    const now = this.timers.now();
    this.general.external.merge(other.general.own.toArray().concat(other.general.external.toArray()));
    this.general.external.push(now, other.general.inFlight);
    this.search.external.merge(other.search.own.toArray().concat(other.search.external.toArray()));
    this.search.external.push(now, other.search.inFlight);
    this.dailyBlockedUntil = Math.max(this.dailyBlockedUntil, other.dailyBlockedUntil);
  }
}

function num(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function dailyError(): HubSpotApiError {
  return new HubSpotApiError(
    'HubSpot daily API limit of the account is spent (429 DAILY); requests resume after the daily reset',
    'RateLimit',
    429,
    undefined,
    'DAILY',
  );
}

/**
 * The process-wide map from HubSpot account to its limiter. An account is known by its portal
 * once a client learnt it (getPortalId), before that by a hash of its credential — never the
 * raw token. When a credential's portal becomes known, its limiter joins the portal's.
 */
export class LimiterRegistry {
  private readonly timers: Timers;
  private readonly limiters = new Map<string, AccountLimiter>();
  private readonly aliases = new Map<string, string>();
  /** Credential key → portal ID, once a client of that credential learnt it. */
  private readonly portals = new Map<string, number>();
  private readonly dailyProbeMs?: number;

  constructor(timers: Timers = realTimers, opts: { dailyProbeMs?: number } = {}) {
    this.timers = timers;
    this.dailyProbeMs = opts.dailyProbeMs;
  }

  /** The limiter for an account key (a credential key is followed to its portal once bound). */
  get(key: string): AccountLimiter {
    const resolved = this.aliases.get(key) ?? key;
    let l = this.limiters.get(resolved);
    if (!l) {
      l = new AccountLimiter(this.timers, { dailyProbeMs: this.dailyProbeMs });
      this.limiters.set(resolved, l);
    }
    return l;
  }

  /** Record that `credKey` belongs to portal `portalKeyValue`; from now on both share one limiter. */
  bindPortal(credKey: string, portalKeyValue: string, portalId?: number): AccountLimiter {
    if (portalId !== undefined) this.portals.set(credKey, portalId);
    const current = this.aliases.get(credKey);
    if (current === portalKeyValue) return this.get(portalKeyValue);
    const fromKey = current ?? credKey;
    const from = this.limiters.get(fromKey);
    const existing = this.limiters.get(portalKeyValue);
    if (from && !existing) {
      this.limiters.set(portalKeyValue, from);
    } else if (from && existing && from !== existing) {
      existing.absorb(from);
    }
    if (from && fromKey !== portalKeyValue) this.limiters.delete(fromKey);
    this.aliases.set(credKey, portalKeyValue);
    return this.get(portalKeyValue);
  }

  /** The portal a credential belongs to, when a client of it already learnt it (bindPortal with an ID). */
  portalOf(credKey: string): number | undefined {
    return this.portals.get(credKey);
  }

  /** Keys of the limiters that exist (portal keys, and credential keys not bound to a portal yet). */
  keys(): string[] {
    return [...this.limiters.keys()];
  }
}

/** The registry every client of this process uses unless a test passes its own. */
export const sharedLimiters = new LimiterRegistry();

function normaliseBase(baseURL: string): string {
  return baseURL.replace(/\/+$/, '');
}

/** Account key before the portal is known: a hash of endpoint and credential (never the token itself). */
export function credentialKey(baseURL: string, credential: string): string {
  const h = createHash('sha256').update(`${normaliseBase(baseURL)}\n${credential}`).digest('hex').slice(0, 32);
  return `cred:${h}`;
}

/** Account key once the portal is known. The endpoint is part of it so two sandboxes never share. */
export function portalKey(baseURL: string, portalId: number): string {
  return `portal:${normaliseBase(baseURL)}#${portalId}`;
}
