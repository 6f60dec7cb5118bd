import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../operator/src/observability/logger.js';
import { createMetrics, forgetIntegration } from '../../../operator/src/observability/metrics.js';
import { SecretScrubber } from '../../../operator/src/observability/redact.js';
import { startEndpoints } from '../../../operator/src/observability/server.js';
import {
  initIntegrationCounters,
  recordIntegrationSettings,
  recordReport,
  recordSystemicError,
  syncObserverFor,
} from '../../../operator/src/observability/integration-metrics.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, stream };
}

describe('secret redaction', () => {
  it('scrubs registered values, their URL-encoded forms, URL passwords and bearer tokens', () => {
    const s = new SecretScrubber();
    s.register('pat-na1-abc/def+123');
    s.register('postgres://app:p%40ss-word@db:5432/crm');
    const text = s.scrub('token pat-na1-abc/def+123 enc pat-na1-abc%2Fdef%2B123 url postgres://app:p%40ss-word@db:5432/crm pw p@ss-word header Bearer xyz.abc-123');
    expect(text).not.toContain('pat-na1-abc');
    expect(text).not.toContain('ss-word');
    expect(text).not.toContain('xyz.abc-123');
    expect(text).toContain('[REDACTED]');
    expect(s.scrub('postgres://u:other-secret@h/db')).toBe('postgres://u:[REDACTED]@h/db');
  });

  it('logger redacts credential fields by path and scrubs registered secrets from free text', () => {
    const { lines, stream } = capture();
    const scrubber = new SecretScrubber();
    scrubber.register('very-secret-token');
    const log = createLogger({ level: 'info', destination: stream, scrubber });
    log.info({ namespace: 'crm', integration: 'acme', token: 'abc', headers: { authorization: 'Bearer q' }, credentials: { hubspot: { token: 'x' } } }, 'hello');
    log.warn({ err: 'request failed with very-secret-token in the URL' }, 'oops');
    const out = lines.join('');
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 'info', namespace: 'crm', integration: 'acme', token: '[REDACTED]', credentials: '[REDACTED]', msg: 'hello' });
    expect(first.headers.authorization).toBe('[REDACTED]');
    expect(out).not.toContain('very-secret-token');
    expect(() => createLogger({ level: 'loud', destination: stream })).toThrow(/invalid log level "loud"/);
  });
});

describe('metrics', () => {
  it('registers the DESIGN §4 names and feeds them from the engine hooks and reports', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const obs = syncObserverFor(m, 'crm', 'acme');
    obs.recordsSynced!('contacts', 'toTarget', 'created', 3);
    obs.syncErrors!('contacts', 'Validation', 2);
    obs.apiRequest!('search', 429, true);
    recordReport(m, 'crm', 'acme', {
      kind: 'incremental', startedAt: '2026-11-23T10:00:00Z', finishedAt: '2026-11-23T10:00:01Z', completed: true, objects: [],
      errors: [{ category: 'Validation', records: 2, message: 'bad email', lastSeenTime: '2026-11-23T10:00:01Z' }],
      apiUsage: { requestsLast24h: 10, rateLimitedLast24h: 1, dailyBudget: 100 }, syncLagSeconds: 4,
    }, 1000);
    m.reconcileTotal.inc({ controller: 'hubspotintegration', result: 'success' });
    m.workqueueDepth.set({ name: 'hubspotintegration' }, 0);
    m.leaderStatus.set({ name: 'lease' }, 1);
    const text = await m.registry.metrics();
    for (const name of [
      'controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds',
      'workqueue_depth', 'workqueue_adds_total', 'workqueue_retries_total', 'workqueue_queue_duration_seconds', 'workqueue_work_duration_seconds',
      'leader_election_master_status', 'hubspot_operator_records_synced_total', 'hubspot_operator_sync_errors_total', 'hubspot_operator_failing_records',
      'hubspot_operator_api_requests_total', 'hubspot_operator_api_rate_limited_total', 'hubspot_operator_api_budget_remaining',
      'hubspot_operator_last_successful_sync_timestamp_seconds', 'hubspot_operator_sync_duration_seconds', 'hubspot_operator_sync_lag_seconds',
      'hubspot_operator_integration_ready', 'hubspot_operator_integration_suspended',
    ]) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('hubspot_operator_records_synced_total{namespace="crm",integration="acme",object_type="contacts",direction="toTarget",operation="created"} 3');
    expect(text).toContain('hubspot_operator_failing_records{namespace="crm",integration="acme",category="Validation"} 2');
    expect(text).toContain('hubspot_operator_api_requests_total{namespace="crm",integration="acme",kind="search",code="429"} 1');
    expect(text).toContain('hubspot_operator_api_budget_remaining{namespace="crm",integration="acme",window="daily"} 90');
    expect(text).toContain('hubspot_operator_sync_lag_seconds{namespace="crm",integration="acme"} 4');
  });

  it('counts a failure that stopped a cycle in its category, cycle-wide (object_type "")', async () => {
    const m = createMetrics({ defaultMetrics: false });
    recordSystemicError(m, 'crm', 'acme', 'Authentication');
    recordSystemicError(m, 'crm', 'acme', 'Authentication');
    recordSystemicError(m, 'crm', 'acme', 'Target');
    recordSystemicError(m, 'crm', 'acme', undefined); // unclassified: nothing to count it under
    const text = await m.registry.metrics();
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="crm",integration="acme",object_type="",category="Authentication"} 2');
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="crm",integration="acme",object_type="",category="Target"} 1');
    expect(text.match(/^hubspot_operator_sync_errors_total\{/gm)).toHaveLength(2);
  });

  it('starts an integration\'s counters at 0 so the first error is an increase, without resetting them', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const objects = [{ type: 'contacts', direction: 'TwoWay' }, { type: 'companies', direction: 'HubSpotToTarget' }, { type: 'deals' }];
    initIntegrationCounters(m, 'crm', 'acme', objects);
    syncObserverFor(m, 'crm', 'acme').syncErrors!('contacts', 'Validation', 2);
    recordSystemicError(m, 'crm', 'acme', 'Authentication');
    initIntegrationCounters(m, 'crm', 'acme', objects); // every reconcile calls it again
    const text = await m.registry.metrics();
    const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
    // 9 categories for each of the three object types and for cycle-wide failures.
    expect(series('hubspot_operator_sync_errors_total')).toHaveLength(9 * 4);
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="crm",integration="acme",object_type="companies",category="Permission"} 0');
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="crm",integration="acme",object_type="",category="RateLimit"} 0');
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="crm",integration="acme",object_type="contacts",category="Validation"} 2');
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="crm",integration="acme",object_type="",category="Authentication"} 1');
    // Directions follow each object's spec.objects[].direction (TwoWay when unset); three operations each.
    const synced = series('hubspot_operator_records_synced_total');
    expect(synced).toHaveLength((2 + 1 + 2) * 3);
    expect(synced.every((l) => l.endsWith(' 0'))).toBe(true);
    expect(text).toContain('hubspot_operator_records_synced_total{namespace="crm",integration="acme",object_type="companies",direction="toTarget",operation="deleted"} 0');
    expect(text).not.toContain('object_type="companies",direction="toHubSpot"');
    expect(text).toContain('hubspot_operator_records_synced_total{namespace="crm",integration="acme",object_type="deals",direction="toHubSpot",operation="created"} 0');
    expect(text).toContain('hubspot_operator_api_rate_limited_total{namespace="crm",integration="acme"} 0');
  });

  it('starts associate/dissociate counters at 0 only for object types that keep associations', async () => {
    const m = createMetrics({ defaultMetrics: false });
    initIntegrationCounters(m, 'crm', 'acme', [{ type: 'contacts', associations: [{ to: 'companies', column: 'company_id' }] }, { type: 'companies' }]);
    const text = await m.registry.metrics();
    expect(text).toContain('hubspot_operator_records_synced_total{namespace="crm",integration="acme",object_type="contacts",direction="toTarget",operation="associate"} 0');
    expect(text).toContain('hubspot_operator_records_synced_total{namespace="crm",integration="acme",object_type="contacts",direction="toHubSpot",operation="dissociate"} 0');
    expect(text).not.toContain('object_type="companies",direction="toTarget",operation="associate"');
  });

  it('exports the sync interval and the API budget per window, and forgets them with the integration', async () => {
    const m = createMetrics({ defaultMetrics: false });
    recordIntegrationSettings(m, 'crm', 'acme', { intervalSeconds: 300, dailyRequests: 250000, requestsPerTenSeconds: 100 });
    recordIntegrationSettings(m, 'crm', 'other', { intervalSeconds: 30, dailyRequests: 1000, requestsPerTenSeconds: 10 });
    recordReport(m, 'crm', 'acme', {
      kind: 'incremental', startedAt: '2026-11-23T10:00:00Z', finishedAt: '2026-11-23T10:00:01Z', completed: true, objects: [], errors: [],
      apiUsage: { requestsLast24h: 1000, rateLimitedLast24h: 0, dailyBudget: 250000 }, syncLagSeconds: 0,
    }, 1000);
    let text = await m.registry.metrics();
    expect(text).toContain('hubspot_operator_sync_interval_seconds{namespace="crm",integration="acme"} 300');
    expect(text).toContain('hubspot_operator_api_budget_limit{namespace="crm",integration="acme",window="daily"} 250000');
    expect(text).toContain('hubspot_operator_api_budget_limit{namespace="crm",integration="acme",window="ten_seconds"} 100');
    expect(text).toContain('hubspot_operator_api_budget_remaining{namespace="crm",integration="acme",window="daily"} 249000');
    // An interval that does not parse removes the series (the alerts fall back to 5 minutes).
    recordIntegrationSettings(m, 'crm', 'other', { intervalSeconds: undefined, dailyRequests: 1000, requestsPerTenSeconds: 10 });
    text = await m.registry.metrics();
    expect(text).not.toContain('hubspot_operator_sync_interval_seconds{namespace="crm",integration="other"}');
    forgetIntegration(m, 'crm', 'acme');
    text = await m.registry.metrics();
    expect(text).not.toMatch(/^hubspot_operator_(sync_interval_seconds|api_budget_limit|api_budget_remaining)\{namespace="crm",integration="acme"/m);
    expect(text).toContain('hubspot_operator_api_budget_limit{namespace="crm",integration="other",window="daily"} 1000');
  });

  it('keeps prom-client\'s default process metrics except the gauges named *_total', async () => {
    const text = await createMetrics().registry.metrics();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map(([, name, type]) => [name!, type!]));
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_active_handles', 'nodejs_active_requests']) {
      expect(types.has(name), name).toBe(true);
    }
    const gaugesNamedTotal = [...types].filter(([name, type]) => name.endsWith('_total') && type !== 'counter').map(([name]) => name);
    expect(gaugesNamedTotal).toEqual([]);
  });

  it('serves /metrics, /healthz and /readyz, on one port or two', async () => {
    const m = createMetrics({ defaultMetrics: false });
    let healthy = true;
    const one = await startEndpoints({ registry: m.registry, metricsPort: 0, host: '127.0.0.1', healthz: () => ({ ok: healthy, detail: 'watch dead' }), readyz: () => ({ ok: false, detail: 'waiting for the initial list' }) });
    try {
      expect((await fetch(one.metricsUrl)).status).toBe(200);
      expect((await fetch(`${one.healthUrl}/healthz`)).status).toBe(200);
      healthy = false;
      const h = await fetch(`${one.healthUrl}/healthz`);
      expect([h.status, await h.text()]).toEqual([503, 'not ok: watch dead\n']);
      expect((await fetch(`${one.healthUrl}/readyz`)).status).toBe(503);
    } finally {
      await one.close();
    }
    const two = await startEndpoints({ registry: m.registry, metricsPort: 0, healthPort: 0, host: '127.0.0.1', healthz: () => ({ ok: true }), readyz: () => ({ ok: true }) });
    try {
      expect(two.healthUrl).not.toBe(two.metricsUrl.replace('/metrics', ''));
      expect((await fetch(`${two.healthUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${two.healthUrl}/metrics`)).status).toBe(404);
    } finally {
      await two.close();
    }
  });
});
