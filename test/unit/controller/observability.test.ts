import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../operator/src/observability/logger.js';
import { createMetrics } from '../../../operator/src/observability/metrics.js';
import { SecretScrubber } from '../../../operator/src/observability/redact.js';
import { startEndpoints } from '../../../operator/src/observability/server.js';
import { syncObserverFor, recordReport } from '../../../operator/src/observability/integration-metrics.js';

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
