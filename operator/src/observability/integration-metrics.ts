/**
 * Wires one integration's sync engine and cycle reports into the hubspot_operator_* metrics:
 * the engine's SyncObserver hooks feed the counters, each report feeds the gauges and the
 * duration histogram, the worker's failures feed the systemic error counts, and reconcile sets
 * ready/suspended from the status it wrote plus the settings the alerts compare against.
 */
import type { Gauge, LabelValues } from 'prom-client';
import type { HubSpotIntegrationStatus } from '../api/types.js';
import { ERROR_CATEGORIES, type ErrorCategory } from '../api/categories.js';
import type { CycleReport, SyncDirection, SyncObserver, SyncOperation } from '../sync/types.js';
import { BUDGET_WINDOWS, SYSTEMIC_OBJECT_TYPE, type OperatorMetrics } from './metrics.js';

const OPERATIONS: readonly SyncOperation[] = ['created', 'updated', 'deleted'];
/** Only for object types that keep associations (spec.objects[].associations). */
const ASSOCIATION_OPERATIONS: readonly SyncOperation[] = ['associate', 'dissociate'];
const DIRECTIONS: Record<string, readonly SyncDirection[]> = {
  HubSpotToTarget: ['toTarget'],
  TargetToHubSpot: ['toHubSpot'],
  TwoWay: ['toTarget', 'toHubSpot'],
};

export function syncObserverFor(
  m: OperatorMetrics,
  namespace: string,
  integration: string,
  onProgress?: (objectType: string, phase: string, done: number, total?: number) => void,
): SyncObserver {
  const base = { namespace, integration };
  return {
    recordsSynced(objectType, direction, operation, count) {
      if (count > 0) m.recordsSynced.inc({ ...base, object_type: objectType, direction, operation }, count);
    },
    syncErrors(objectType, category, count) {
      if (count > 0) m.syncErrors.inc({ ...base, object_type: objectType, category }, count);
    },
    apiRequest(kind, code, rateLimited) {
      m.apiRequests.inc({ ...base, kind, code: String(code) });
      if (rateLimited) m.apiRateLimited.inc(base);
    },
    progress(objectType, phase, done, total) {
      onProgress?.(objectType, phase, done, total);
    },
  };
}

export function recordReport(m: OperatorMetrics, namespace: string, integration: string, report: CycleReport, durationMs: number): void {
  const base = { namespace, integration };
  m.syncDuration.observe({ ...base, kind: report.kind }, durationMs / 1000);
  if (report.completed && !report.systemic) m.lastSuccessfulSync.set(base, Date.parse(report.finishedAt) / 1000);
  m.syncLag.set(base, report.syncLagSeconds);
  const byCategory = new Map(report.errors.map((e) => [e.category, e.records]));
  for (const category of ERROR_CATEGORIES) m.failingRecords.set({ ...base, category }, byCategory.get(category) ?? 0);
  m.apiBudgetRemaining.set({ ...base, window: BUDGET_WINDOWS.daily }, Math.max(0, report.apiUsage.dailyBudget - report.apiUsage.requestsLast24h));
}

/**
 * Counts one failure that stopped a sync attempt (a cycle stopped by Authentication,
 * Permission, RateLimit or an unreachable target, or an engine that could not start). It is
 * not about one object type, so it carries object_type "" (in Prometheus: no object_type);
 * the alerts sum over object types. Unclassified failures have no category to count under.
 */
export function recordSystemicError(m: OperatorMetrics, namespace: string, integration: string, category: ErrorCategory | undefined): void {
  if (category) m.syncErrors.inc({ namespace, integration, object_type: SYSTEMIC_OBJECT_TYPE, category });
}

/** The settings alerts compare against (the recording rules fall back to defaults without them). */
export interface IntegrationSettings {
  /** spec.schedule.interval in seconds (undefined when it does not parse). */
  intervalSeconds?: number;
  /** spec.hubspot.rateLimit.dailyRequests and requestsPerTenSeconds (CRD defaults applied). */
  dailyRequests?: number;
  requestsPerTenSeconds?: number;
}

export function recordIntegrationSettings(m: OperatorMetrics, namespace: string, integration: string, s: IntegrationSettings): void {
  const base = { namespace, integration };
  setOrRemove(m.syncInterval, base, s.intervalSeconds);
  setOrRemove(m.apiBudgetLimit, { ...base, window: BUDGET_WINDOWS.daily }, s.dailyRequests);
  setOrRemove(m.apiBudgetLimit, { ...base, window: BUDGET_WINDOWS.tenSeconds }, s.requestsPerTenSeconds);
}

function setOrRemove<L extends string>(g: Gauge<L>, labels: LabelValues<L>, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value)) g.remove(labels);
  else g.set(labels, value);
}

/**
 * Creates the integration's counters at 0 (every category per object type and cycle-wide,
 * every direction and operation its objects sync), so that the first error or record is an
 * increase() from 0 rather than the birth of a series, which increase() and rate() miss.
 * Idempotent: adding 0 to an existing series changes nothing.
 */
export function initIntegrationCounters(m: OperatorMetrics, namespace: string, integration: string, objects: readonly { type: string; direction?: string; associations?: readonly unknown[] }[]): void {
  const base = { namespace, integration };
  for (const object_type of [SYSTEMIC_OBJECT_TYPE, ...objects.map((o) => o.type)]) {
    for (const category of ERROR_CATEGORIES) m.syncErrors.inc({ ...base, object_type, category }, 0);
  }
  for (const o of objects) {
    for (const direction of DIRECTIONS[o.direction ?? 'TwoWay'] ?? DIRECTIONS.TwoWay!) {
      const ops = o.associations?.length ? [...OPERATIONS, ...ASSOCIATION_OPERATIONS] : OPERATIONS;
      for (const operation of ops) m.recordsSynced.inc({ ...base, object_type: o.type, direction, operation }, 0);
    }
  }
  m.apiRateLimited.inc(base, 0);
}

export function recordIntegrationGauges(m: OperatorMetrics, namespace: string, integration: string, status: HubSpotIntegrationStatus | undefined, suspended: boolean): void {
  const base = { namespace, integration };
  const ready = status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  m.integrationReady.set(base, ready ? 1 : 0);
  m.integrationSuspended.set(base, suspended ? 1 : 0);
}
