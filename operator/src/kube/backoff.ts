/**
 * Per-key exponential backoff (client-go's ItemExponentialFailureRateLimiter): each failure of
 * a key doubles its delay from `baseMs` up to `maxMs`; `forget` resets it after a success.
 */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor({ baseMs = 500, maxMs = 5 * 60_000 }: { baseMs?: number; maxMs?: number } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** Records a failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return delayFor(n, this.baseMs, this.maxMs);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** Delay after `failures` previous failures: base * 2^failures, capped. */
export function delayFor(failures: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(failures, 40);
  return Math.min(maxMs, baseMs * 2 ** exp);
}
