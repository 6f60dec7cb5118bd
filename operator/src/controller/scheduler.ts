/**
 * When does the next sync cycle run, and of which kind? A pure function of the worker's
 * bookkeeping and the current time, so it can be tested without timers. Priorities:
 * 1. a new resync-requested-at annotation value → full, now;
 * 2. a new sync-requested-at value → incremental (or the initial import), now;
 * 3. after a failed cycle → retry with exponential backoff (capped at the interval), unless the
 *    configuration changed since (e.g. the Secret was fixed) → now;
 * 4. the initial import not done → now;
 * 5. configuration changed since the last cycle → incremental, now (changes apply from the next cycle);
 * 6. a captured target change → incremental, now;
 * 7. otherwise the earlier of the next incremental (interval after the last cycle) and the next
 *    full reconciliation (fullResyncInterval after the last one).
 */
import type { CycleKind } from '../sync/types.js';
import { delayFor } from '../kube/backoff.js';

export interface ScheduleState {
  now: number;
  intervalMs: number;
  fullResyncIntervalMs: number;
  /** The initial import has completed (now or in an earlier life of the operator). */
  initialDone: boolean;
  /** End of the last cycle, successful or not. */
  lastCycleEndedAt?: number;
  /** End of the last completed full reconciliation (or initial import). */
  lastFullAt?: number;
  syncRequested: boolean;
  resyncRequested: boolean;
  /** The configuration changed since the last cycle ran. */
  configChanged: boolean;
  targetChanged: boolean;
  /** Consecutive failed cycles, and when the last one ended. */
  failures: number;
  lastFailureAt?: number;
  /** First retry delay after a failure. */
  retryBaseMs?: number;
}

/** Longest wait between retries after failed cycles (the interval caps it when shorter). */
export const MAX_RETRY_DELAY_MS = 5 * 60_000;
/** First retry delay after a failure, unless the worker is given another. */
export const DEFAULT_RETRY_BASE_MS = 1_000;

/** Delay before retry number `failures` (1 = the first): exponential, capped by the interval. */
export function retryDelay(failures: number, intervalMs: number, baseMs = DEFAULT_RETRY_BASE_MS): number {
  return Math.min(delayFor(failures - 1, baseMs, MAX_RETRY_DELAY_MS), Math.max(intervalMs, baseMs));
}

/** How often a configuration with issues is re-validated (a fix may happen outside the spec). */
export function revalidateDelay(intervalMs: number): number {
  return Math.min(Math.max(intervalMs, 10_000), MAX_RETRY_DELAY_MS);
}

export interface NextCycle {
  kind: CycleKind;
  at: number;
  why: string;
}

export function nextCycle(s: ScheduleState): NextCycle {
  const catchUp: CycleKind = s.initialDone ? 'incremental' : 'initial';
  if (s.resyncRequested) return { kind: s.initialDone ? 'full' : 'initial', at: s.now, why: 'resync requested' };
  if (s.syncRequested) return { kind: catchUp, at: s.now, why: 'sync requested' };
  if (s.failures > 0 && !s.configChanged) {
    const delay = retryDelay(s.failures, s.intervalMs, s.retryBaseMs);
    return { kind: catchUp, at: (s.lastFailureAt ?? s.now) + delay, why: `retry after ${s.failures} failed cycle(s)` };
  }
  if (!s.initialDone) return { kind: 'initial', at: s.now, why: 'initial import' };
  if (s.configChanged) return { kind: 'incremental', at: s.now, why: 'configuration changed' };
  const fullAt = (s.lastFullAt ?? s.now) + s.fullResyncIntervalMs;
  if (fullAt <= s.now) return { kind: 'full', at: s.now, why: 'full resync due' };
  if (s.targetChanged) return { kind: 'incremental', at: s.now, why: 'target change captured' };
  const incrementalAt = (s.lastCycleEndedAt ?? s.now) + s.intervalMs;
  if (fullAt <= incrementalAt) return { kind: 'full', at: fullAt, why: 'full resync due' };
  return { kind: 'incremental', at: incrementalAt, why: 'interval' };
}
