/**
 * The Prometheus registry of the operator (DESIGN §4). Names and labels follow
 * controller-runtime and client-go so existing dashboards work, plus the product's own
 * `hubspot_operator_*` series. Label values never carry secrets: only namespaces, names,
 * object types, directions, operations, categories, request kinds and HTTP codes.
 */
import { ERROR_CATEGORIES } from '../api/categories.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const INTEGRATION_LABELS = ['namespace', 'integration'] as const;

/** window label values of api_budget_remaining / api_budget_limit. */
export const BUDGET_WINDOWS = { daily: 'daily', tenSeconds: 'ten_seconds' } as const;

/** object_type of a sync error that stopped a whole cycle rather than one object type's records. */
export const SYSTEMIC_OBJECT_TYPE = '';

/**
 * prom-client's default gauges that carry a counter's _total suffix (promtool check metrics
 * flags them); their per-type siblings nodejs_active_{handles,requests,resources} stay.
 */
const DEFAULT_GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetrics({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    for (const name of DEFAULT_GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  const webhookTargets: { source?: () => { namespace: string; name: string }[] } = {};

  const m = {
    registry,
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller and result (success, error, requeue, requeue_after).',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller.',
      labelNames: ['controller'] as const,
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller.',
      labelNames: ['controller'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    workqueueDepth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue.', labelNames: ['name'] as const, registers }),
    workqueueAdds: new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by the work queue.', labelNames: ['name'] as const, registers }),
    workqueueRetries: new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by the work queue.', labelNames: ['name'] as const, registers }),
    workqueueQueueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in the work queue before being processed.',
      labelNames: ['name'] as const,
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60],
      registers,
    }),
    workqueueWorkDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from the work queue takes.',
      labelNames: ['name'] as const,
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60],
      registers,
    }),
    leaderStatus: new Gauge({
      name: 'leader_election_master_status',
      help: 'Whether this process is the leader (1) or a standby (0) for the named lease.',
      labelNames: ['name'] as const,
      registers,
    }),
    recordsSynced: new Counter({
      name: 'hubspot_operator_records_synced_total',
      help: 'Records written by the sync, per object type, direction (toTarget, toHubSpot) and operation (created, updated, deleted).',
      labelNames: [...INTEGRATION_LABELS, 'object_type', 'direction', 'operation'] as const,
      registers,
    }),
    syncErrors: new Counter({
      name: 'hubspot_operator_sync_errors_total',
      help: 'Record-level and systemic sync errors, per object type and error category (object_type "" for a failure that stopped a whole cycle).',
      labelNames: [...INTEGRATION_LABELS, 'object_type', 'category'] as const,
      registers,
    }),
    failingRecords: new Gauge({
      name: 'hubspot_operator_failing_records',
      help: 'Records currently failing to sync, per error category (status.errors).',
      labelNames: [...INTEGRATION_LABELS, 'category'] as const,
      registers,
    }),
    apiRequests: new Counter({
      name: 'hubspot_operator_api_requests_total',
      help: 'HubSpot API requests per request kind and HTTP status code (0 = network error).',
      labelNames: [...INTEGRATION_LABELS, 'kind', 'code'] as const,
      registers,
    }),
    apiRateLimited: new Counter({
      name: 'hubspot_operator_api_rate_limited_total',
      help: 'HubSpot API requests answered with 429.',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
    }),
    apiBudgetRemaining: new Gauge({
      name: 'hubspot_operator_api_budget_remaining',
      help: 'HubSpot API requests left in the budget window (daily: spec.hubspot.rateLimit.dailyRequests minus the requests of the last 24 hours).',
      labelNames: [...INTEGRATION_LABELS, 'window'] as const,
      registers,
    }),
    apiBudgetLimit: new Gauge({
      name: 'hubspot_operator_api_budget_limit',
      help: 'HubSpot API request budget per window (daily: spec.hubspot.rateLimit.dailyRequests; ten_seconds: requestsPerTenSeconds).',
      labelNames: [...INTEGRATION_LABELS, 'window'] as const,
      registers,
    }),
    syncInterval: new Gauge({
      name: 'hubspot_operator_sync_interval_seconds',
      help: 'Interval between incremental sync cycles (spec.schedule.interval), in seconds.',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
    }),
    lastSuccessfulSync: new Gauge({
      name: 'hubspot_operator_last_successful_sync_timestamp_seconds',
      help: 'Unix time of the end of the last successful sync cycle.',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
    }),
    syncDuration: new Histogram({
      name: 'hubspot_operator_sync_duration_seconds',
      help: 'Duration of sync cycles, per cycle kind (initial, incremental, full).',
      labelNames: [...INTEGRATION_LABELS, 'kind'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    syncLag: new Gauge({
      name: 'hubspot_operator_sync_lag_seconds',
      help: 'Age of the oldest captured target change not yet applied to HubSpot.',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
    }),
    integrationReady: new Gauge({
      name: 'hubspot_operator_integration_ready',
      help: 'Whether the integration is Ready (1) or not (0).',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
    }),
    syncQueueDepth: new Gauge({
      name: 'hubspot_operator_sync_queue_depth',
      help: 'Sync cycles that are due and waiting for a slot (--max-concurrent-syncs caps the cycles running at once).',
      registers,
    }),
    syncsRunning: new Gauge({
      name: 'hubspot_operator_syncs_running',
      help: 'Sync cycles running now, across all integrations.',
      registers,
    }),
    syncsMax: new Gauge({
      name: 'hubspot_operator_max_concurrent_syncs',
      help: 'The cap on sync cycles running at once (--max-concurrent-syncs).',
      registers,
    }),
    syncQueueWait: new Histogram({
      name: 'hubspot_operator_sync_queue_wait_seconds',
      help: 'How long a due sync cycle waited for a slot before it started.',
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
      registers,
    }),
    integrationSuspended: new Gauge({
      name: 'hubspot_operator_integration_suspended',
      help: 'Whether the integration is suspended (1) or not (0).',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
    }),
    webhookRequests: new Counter({
      name: 'hubspot_operator_webhook_requests_total',
      help: 'Requests to POST /webhooks/hubspot by HTTP status code answered (401 bad signature or stale timestamp, 503 could not store).',
      labelNames: ['code'] as const,
      registers,
    }),
    webhookEvents: new Counter({
      name: 'hubspot_operator_webhook_events_total',
      help: 'Webhook events stored for an integration (before duplicates are dropped), per object type and event kind (creation, propertyChange, deletion, ...).',
      labelNames: [...INTEGRATION_LABELS, 'object_type', 'event'] as const,
      registers,
    }),
    webhookEventsIgnored: new Counter({
      name: 'hubspot_operator_webhook_events_ignored_total',
      help: 'Events of authenticated deliveries that no integration takes, per reason (unknown_portal, unsynced_type, unsupported_event).',
      labelNames: ['reason'] as const,
      registers,
    }),
    webhooksConfigured: new Gauge({
      name: 'hubspot_operator_webhooks_configured',
      help: 'Integrations whose spec.hubspot.webhooks client secret resolves (1), as seen by this process.',
      labelNames: [...INTEGRATION_LABELS] as const,
      registers,
      collect() {
        this.reset();
        for (const t of webhookTargets.source?.() ?? []) this.set({ namespace: t.namespace, integration: t.name }, 1);
      },
    }),
    /** Set by the webhook receiver: the integrations hubspot_operator_webhooks_configured reports. */
    webhookTargets,
  };
  return m;
}

export type OperatorMetrics = ReturnType<typeof createMetrics>;

/**
 * Removes the gauges of one integration (deleted, or this process lost leadership) so a
 * dashboard does not show a stale "ready" or lag. Counters stay: they are cumulative.
 */
export function forgetIntegration(m: OperatorMetrics, namespace: string, integration: string): void {
  const sel = { namespace, integration };
  for (const g of [m.lastSuccessfulSync, m.syncLag, m.integrationReady, m.integrationSuspended, m.syncInterval]) g.remove(sel);
  for (const category of ERROR_CATEGORIES) m.failingRecords.remove({ ...sel, category });
  for (const window of Object.values(BUDGET_WINDOWS)) {
    m.apiBudgetRemaining.remove({ ...sel, window });
    m.apiBudgetLimit.remove({ ...sel, window });
  }
}
