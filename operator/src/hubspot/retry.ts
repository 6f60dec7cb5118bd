/**
 * Retry policy for HubSpot requests: which failures are retried, how long to back off, and an
 * abortable sleep. Pure except for `sleep`.
 */
import { abortError } from './errors.js';

export interface RetryPolicy {
  /** First backoff step. */
  baseDelayMs: number;
  /** Largest backoff step. */
  maxDelayMs: number;
  /** Attempts in total for transient failures (5xx, network, timeout), including the first. */
  maxAttempts: number;
  /** 429 TEN_SECONDLY_ROLLING / SECONDLY responses retried (after the limiter's wait) before giving up as RateLimit. */
  maxRateLimitRetries: number;
  /** Per-attempt timeout, covering the response body. */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxAttempts: 6,
  maxRateLimitRetries: 8,
  timeoutMs: 30_000,
};

/**
 * Backoff before retry number `retry` (1 = first retry): "equal jitter" — half of the
 * exponential step is fixed, half random — so retries never collapse to zero delay and clients
 * that failed together do not retry together. Result lies in [step/2, step],
 * step = min(maxDelayMs, baseDelayMs * 2^(retry-1)).
 */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const exp = Math.min(30, Math.max(0, retry - 1));
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exp);
  return step / 2 + random() * (step / 2);
}

/** Network error codes meaning the request never reached HubSpot, so even a create may be resent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** The underlying system error code of a fetch failure (undici wraps it in `cause`). */
export function networkErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when a network failure happened before the request was sent (safe to resend anything). */
export function failedBeforeSending(err: unknown): boolean {
  const code = networkErrorCode(err);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/**
 * Whether a failed attempt may be retried.
 * - 5xx, 408, network failures and timeouts are transient: retried when the request is
 *   idempotent, or when it provably never reached HubSpot (a non-idempotent create whose
 *   outcome is unknown is not resent: it could duplicate records).
 * - Other 4xx are final (429 and 401 are handled by the transport before this is asked).
 */
export function isRetryableFailure(status: number, idempotent: boolean, err?: unknown): boolean {
  if (status === 0) return idempotent || failedBeforeSending(err);
  if (status === 408 || status >= 500) return idempotent;
  return false;
}

export interface Sleeper {
  (ms: number, signal?: AbortSignal): Promise<void>;
}

/** setTimeout as a promise that rejects with an AbortError as soon as `signal` aborts. */
export const sleep: Sleeper = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
