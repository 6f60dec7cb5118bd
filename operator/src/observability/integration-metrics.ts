/**
 * Wires one integration's sync engine and cycle reports into the hubspot_operator_* metrics:
 * the engine's SyncObserver hooks feed the counters, each report feeds the gauges and the
 * duration histogram, and reconcile sets ready/suspended from the status it wrote.
 */
import type { HubSpotIntegrationStatus } from '../api/types.js';
import { ERROR_CATEGORIES } from '../api/categories.js';
import type { CycleReport, SyncObserver } from '../sync/types.js';
import type { OperatorMetrics } from './metrics.js';

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
  m.apiBudgetRemaining.set({ ...base, window: 'daily' }, Math.max(0, report.apiUsage.dailyBudget - report.apiUsage.requestsLast24h));
}

export function recordIntegrationGauges(m: OperatorMetrics, namespace: string, integration: string, status: HubSpotIntegrationStatus | undefined, suspended: boolean): void {
  const base = { namespace, integration };
  const ready = status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  m.integrationReady.set(base, ready ? 1 : 0);
  m.integrationSuspended.set(base, suspended ? 1 : 0);
}
