/**
 * One HubSpot HTTP call, end to end: budget check → shared limiter → credentials → HTTP request
 * with a timeout → headers fed back to the limiter → retry / refresh / classify.
 *
 * Requests go through ./http.ts (node:http(s), keep-alive; not the global fetch, whose undici
 * costs ~13 MiB of RSS) rather than @hubspot/api-client's `apiRequest`:
 * the SDK's request path cannot take an AbortSignal (no per-request timeout, no prompt abort),
 * and its retry/limiter decorators live in a process-wide singleton that any other `new Client()`
 * in the process silently replaces. Our pacing, retries and aborts must be exact, so the SDK is
 * kept for what it is good at elsewhere (typed models), not for sending these requests.
 */
import { httpFetch, type HttpFetch, type HttpResponse } from './http.js';
import type { AccountLimiter, LimiterMember } from './ratelimit.js';
import type { TokenSource } from './auth.js';
import { abortError, classify, HubSpotRequestError, parseErrorBody, type HubSpotErrorBody } from './errors.js';
import { backoffDelay, isRetryableFailure, networkErrorCode, sleep as defaultSleep, type RetryPolicy, type Sleeper } from './retry.js';
import { HubSpotApiError, type RequestObservation } from './types.js';
import type { RollingDayCounter } from './usage.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface CallSpec {
  method: HttpMethod;
  /** Path below baseURL, already URI-encoded. */
  path: string;
  query?: [string, string][];
  body?: unknown;
  /** Observation kind: list, search, batch_read, batch_create, properties, account... */
  kind: string;
  /** Human description for error messages, e.g. "batch update of contacts". */
  what: string;
  /** Safe to resend when the outcome of an attempt is unknown (5xx, reset, timeout). */
  idempotent: boolean;
  /** Goes through the search limiter as well (HubSpot: 5 searches per second per account). */
  search?: boolean;
}

export interface TransportDeps {
  baseURL: string;
  tokens: () => TokenSource;
  limiter: () => AccountLimiter;
  member: LimiterMember;
  retry: RetryPolicy;
  requests: RollingDayCounter;
  rateLimited: RollingDayCounter;
  dailyBudget: number;
  redact: (s: string) => string;
  onRequest?: (o: RequestObservation) => void;
  signal?: AbortSignal;
  /** How requests are sent (default ./http.ts; the global fetch fits too). */
  fetch?: HttpFetch;
  sleep?: Sleeper;
  random?: () => number;
}

/** OAuth endpoints: HubSpot does not count them against the API limits, nor do we. */
const UNCOUNTED_KINDS: ReadonlySet<string> = new Set(['oauth', 'token_info']);

export class Transport {
  private readonly d: TransportDeps;
  private readonly base: string;
  private readonly doFetch: HttpFetch;
  private readonly sleep: Sleeper;

  constructor(deps: TransportDeps) {
    this.d = deps;
    this.base = deps.baseURL.replace(/\/+$/, '');
    this.doFetch = deps.fetch ?? httpFetch;
    this.sleep = deps.sleep ?? defaultSleep;
  }

  /** Send a JSON API call; resolves with the 2xx status and parsed body, else throws HubSpotApiError. */
  async call<T>(spec: CallSpec): Promise<{ status: number; body: T }> {
    const { retry } = this.d;
    const signal = this.d.signal;
    const url = this.url(spec);
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    let transientFailures = 0;
    let rateLimitRetries = 0;
    let renewed = false;
    for (;;) {
      this.checkBudget();
      const limiter = this.d.limiter();
      const permit = await limiter.acquire(this.d.member, spec.search === true, signal);
      let token: string;
      try {
        token = await this.d.tokens().token(signal);
      } catch (err) {
        permit.cancel();
        throw this.clean(err);
      }
      if (signal?.aborted) {
        permit.cancel();
        throw abortError(signal);
      }
      let attempt: Awaited<ReturnType<Transport['send']>>;
      try {
        attempt = await this.send(url, spec.method, token, payload, spec.kind, (headers) => limiter.observeHeaders(headers, permit));
      } finally {
        // Also when aborted mid-flight: the request may have reached HubSpot, and the slot
        // must not leak from a limiter other integrations keep using.
        permit.complete();
      }

      if (!attempt.ok) {
        if (signal?.aborted) throw abortError(signal);
        const failure = attempt.timedOut ? `timed out after ${retry.timeoutMs} ms` : `network failure (${networkErrorCode(attempt.error) ?? errorText(attempt.error)})`;
        transientFailures++;
        const retryable = isRetryableFailure(0, spec.idempotent, attempt.error);
        if (retryable && transientFailures < retry.maxAttempts) {
          await this.sleep(backoffDelay(transientFailures, retry, this.d.random), signal);
          continue;
        }
        const attempts = transientFailures > 1 ? ` after ${transientFailures} attempts` : '';
        const notResent = retryable ? '' : ' (not resent: the request may have been applied)';
        throw new HubSpotApiError(
          this.d.redact(`HubSpot ${spec.what} failed: ${failure}${attempts}${notResent}`),
          'Transient',
          0,
        );
      }

      const { status, text } = attempt;
      if (status < 300) {
        limiter.noteSuccess();
        return { status, body: parseSuccess<T>(text, spec.what, status) };
      }

      const body = parseErrorBody(text);
      if (status === 429) {
        const policy = typeof body.policyName === 'string' ? body.policyName : undefined;
        limiter.onRateLimited(policy, spec.search === true);
        if (policy !== 'DAILY' && rateLimitRetries++ < retry.maxRateLimitRetries) continue;
        throw this.failure(spec, status, body);
      }
      if (status === 401 && !renewed) {
        renewed = true;
        if (await this.d.tokens().renew(token, signal).catch((e: unknown) => Promise.reject(this.clean(e)))) continue;
      }
      if (isRetryableFailure(status, spec.idempotent) && ++transientFailures < retry.maxAttempts) {
        await this.sleep(backoffDelay(transientFailures, retry, this.d.random), signal);
        continue;
      }
      throw this.failure(spec, status, body);
    }
  }

  /**
   * POST a form to the OAuth token endpoint: no bearer token and not paced by the CRM limiter
   * (HubSpot does not count it against the API limits), but timed out and retried like any call.
   */
  async postTokenForm(form: URLSearchParams): Promise<{ status: number; text: string }> {
    const { retry } = this.d;
    const signal = this.d.signal;
    let failures = 0;
    for (;;) {
      const attempt = await this.send(`${this.base}/oauth/v1/token`, 'POST', undefined, form.toString(), 'oauth', undefined, 'application/x-www-form-urlencoded');
      if (attempt.ok && attempt.status < 500) return { status: attempt.status, text: attempt.text };
      if (signal?.aborted) throw abortError(signal);
      if (++failures >= retry.maxAttempts) {
        const why = attempt.ok ? `${attempt.status}` : attempt.timedOut ? 'timed out' : `network failure (${networkErrorCode(attempt.error) ?? errorText(attempt.error)})`;
        throw new HubSpotApiError(`HubSpot OAuth token refresh failed: ${why} after ${failures} attempts`, 'Transient', attempt.ok ? attempt.status : 0);
      }
      await this.sleep(backoffDelay(failures, retry, this.d.random), signal);
    }
  }

  /**
   * GET an OAuth endpoint that names the current access token in its path (HubSpot's
   * `/oauth/v1/access-tokens/{token}`): like postTokenForm, not paced by the CRM limiter nor
   * counted (HubSpot does not count it against the API limits), but timed out, retried when
   * transient, and classified. Errors never carry the token (it is redacted).
   */
  async getWithToken<T>(path: (token: string) => string, kind: string, what: string): Promise<T> {
    const { retry } = this.d;
    const signal = this.d.signal;
    let failures = 0;
    for (;;) {
      let token: string;
      try {
        token = await this.d.tokens().token(signal);
      } catch (err) {
        throw this.clean(err);
      }
      const attempt = await this.send(this.base + path(token), 'GET', undefined, undefined, kind);
      if (attempt.ok && attempt.status < 300) return parseSuccess<T>(attempt.text, what, attempt.status);
      if (signal?.aborted) throw abortError(signal);
      const status = attempt.ok ? attempt.status : 0;
      if ((!attempt.ok || status === 408 || status === 429 || status >= 500) && ++failures < retry.maxAttempts) {
        await this.sleep(backoffDelay(failures, retry, this.d.random), signal);
        continue;
      }
      if (!attempt.ok) {
        const why = attempt.timedOut ? `timed out after ${retry.timeoutMs} ms` : `network failure (${networkErrorCode(attempt.error) ?? errorText(attempt.error)})`;
        throw new HubSpotApiError(this.d.redact(`HubSpot ${what} failed: ${why} after ${failures} attempts`), 'Transient', 0);
      }
      throw this.failure({ method: 'GET', path: '', kind, what, idempotent: true }, status, parseErrorBody(attempt.text));
    }
  }

  private url(spec: CallSpec): string {
    if (!spec.query || spec.query.length === 0) return this.base + spec.path;
    const qs = new URLSearchParams(spec.query);
    return `${this.base}${spec.path}?${qs.toString()}`;
  }

  /** One HTTP attempt; never throws except for the caller's abort. Observes it once. */
  private async send(
    url: string,
    method: HttpMethod,
    token: string | undefined,
    body: string | undefined,
    kind: string,
    onHeaders?: (h: HttpResponse['headers']) => void,
    contentType = 'application/json',
  ): Promise<{ ok: true; status: number; text: string } | { ok: false; status: 0; error: unknown; timedOut: boolean }> {
    // One controller per attempt, aborted by the timeout or by the client's signal. (Not
    // AbortSignal.any/timeout: their timers outlive the request, and the listener held here
    // keeps the attempt abortable for exactly as long as it runs.)
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.d.retry.timeoutMs);
    const outer = this.d.signal;
    const onAbort = (): void => ac.abort(outer?.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    if (outer?.aborted) onAbort();
    const signal = ac.signal;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = contentType;
    const started = performance.now();
    let status = 0;
    try {
      const res = await this.doFetch(url, { method, headers, body, signal });
      status = res.status;
      onHeaders?.(res.headers);
      const text = await res.text();
      this.observe(kind, status, started);
      return { ok: true, status, text };
    } catch (error) {
      // A failure while reading the body counts as a network failure of the whole attempt.
      this.observe(kind, 0, started);
      if (outer?.aborted) throw abortError(outer);
      return { ok: false, status: 0, error, timedOut };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
  }

  private observe(kind: string, code: number, started: number): void {
    const now = Date.now();
    if (!UNCOUNTED_KINDS.has(kind)) this.d.requests.add(now);
    if (code === 429) this.d.rateLimited.add(now);
    const cb = this.d.onRequest;
    if (!cb) return;
    try {
      cb({ kind, code, rateLimited: code === 429, durationMs: performance.now() - started });
    } catch {
      // an observer's bug must never fail a sync request
    }
  }

  /** This integration's own daily allocation (spec.hubspot.rateLimit.dailyRequests). */
  private checkBudget(): void {
    const used = this.d.requests.sum(Date.now());
    if (used >= this.d.dailyBudget) {
      throw new HubSpotApiError(
        `HubSpot daily request budget of this integration is spent: ${used} requests in the last 24 h, spec.hubspot.rateLimit.dailyRequests is ${this.d.dailyBudget}`,
        'RateLimit',
        429,
        undefined,
        'DAILY',
      );
    }
  }

  private failure(spec: CallSpec, status: number, body: HubSpotErrorBody): HubSpotRequestError {
    const c = classify(status, body);
    c.message = this.d.redact(c.message);
    return new HubSpotRequestError(spec.what, status, c, body);
  }

  /** Make sure nothing thrown past this point can carry a secret. */
  private clean(err: unknown): unknown {
    if (err instanceof Error) err.message = this.d.redact(err.message);
    return err;
  }
}

function parseSuccess<T>(text: string, what: string, status: number): T {
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HubSpotApiError(`HubSpot ${what} returned ${status} with a body that is not JSON`, 'Transient', status);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
