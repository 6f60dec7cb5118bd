/**
 * The controller against the Kubernetes API sandbox, with a scripted sync engine standing in
 * for HubSpot and PostgreSQL (the end-to-end tests run the real engine): finalizer, status and
 * conditions, Events, suspend, annotations, Secrets, FieldMapping/SyncFilter status, deletion,
 * watch drops and 410 Gone, leader election.
 */
import { Writable } from 'node:stream';
import { KubeConfig } from '../../../operator/src/kube/config.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MAPPING, SYNC_FILTER } from '../../../operator/src/controller/child-reconciler.js';
import { INTEGRATION } from '../../../operator/src/controller/integration-reconciler.js';
import { KubeClient, type KubeObject } from '../../../operator/src/kube/client.js';
import { Operator } from '../../../operator/src/controller/manager.js';
import { createMetrics, type OperatorMetrics } from '../../../operator/src/observability/metrics.js';
import { applyObjects, readManifests } from '../../../operator/src/sandbox/command.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SyncEngine } from '../../../operator/src/sync/types.js';
import type { HubSpotIntegrationStatus } from '../../../operator/src/api/types.js';
import { waitFor } from '../../helpers/wait.js';

const NS = 'ctl';
const SECRET = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
const EVENTS = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };

/** What the scripted engine did, per integration name. */
interface EngineLog {
  cycles: { kind: CycleKind; token: string; generation: number }[];
  cleanups: string[];
  validations: number;
}

class ScriptedEngine implements SyncEngine {
  private readonly cfg: ResolvedIntegration;
  private readonly log: EngineLog;
  constructor(cfg: ResolvedIntegration, log: EngineLog) {
    this.cfg = cfg;
    this.log = log;
  }
  async validate() {
    this.log.validations++;
    return this.cfg.fieldMappings.flatMap((fm) =>
      fm.spec.fields.map((f, i) => ({ f, i })).filter(({ f }) => f.property.startsWith('unknown_')).map(({ f, i }) => ({
        kind: 'FieldMapping' as const, name: fm.name, field: `spec.fields[${i}].property`, message: `HubSpot has no contacts property "${f.property}"`,
      })),
    );
  }
  async runCycle(kind: CycleKind): Promise<CycleReport> {
    const token = this.cfg.credentials.hubspot.kind === 'privateAppToken' ? this.cfg.credentials.hubspot.token : '';
    this.log.cycles.push({ kind, token, generation: this.cfg.generation });
    const now = new Date().toISOString();
    const bad = token === 'bad-token';
    return {
      kind, startedAt: now, finishedAt: now, completed: !bad, portalId: 1234567,
      objects: bad ? [] : [{ type: 'contacts', hubspotRecords: 3, targetRecords: 3, linkedRecords: 3, pendingChanges: 0, lastCycle: { toTarget: { created: 0, updated: 0, deleted: 0 }, toHubSpot: { created: 0, updated: 0, deleted: 0 }, failed: 0 }, filterMatches: { 'only-acme': 2 } }],
      errors: [],
      systemic: bad ? { category: 'Authentication', reason: 'AuthenticationFailed', message: 'HubSpot rejected the token (401 EXPIRED_AUTHENTICATION)' } : undefined,
      apiUsage: { requestsLast24h: 5, rateLimitedLast24h: 0, dailyBudget: 250000 },
      syncLagSeconds: 0,
    };
  }
  waitForTargetChange(signal: AbortSignal) {
    return new Promise<void>((r) => signal.addEventListener('abort', () => r()));
  }
  async cleanup(policy: 'Delete' | 'Orphan') {
    if (this.cfg.name.startsWith('failing-cleanup')) throw new Error('database is read-only');
    this.log.cleanups.push(policy);
  }
  async close() {}
}

let kube: KubeSandbox;
let client: KubeClient;
const logs = new Map<string, EngineLog>();
const logLines: string[] = [];
const operators: Operator[] = [];
const metricsOf = new Map<string, OperatorMetrics>();
/** The /metrics text of the first operator (the leader until the hand-over test at the end). */
const leaderMetrics = () => metricsOf.get('op-a')!.registry.metrics();

function engineLog(name: string): EngineLog {
  let l = logs.get(name);
  if (!l) logs.set(name, (l = { cycles: [], cleanups: [], validations: 0 }));
  return l;
}

function startOperator(identity: string, leaseDurationMs = 3000): Operator {
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  const metrics = createMetrics({ defaultMetrics: false });
  metricsOf.set(identity, metrics);
  const op = new Operator({
    kubeConfig: kc,
    logger: pino({ level: 'debug' }, sink),
    metrics,
    engineFactory: (cfg) => new ScriptedEngine(cfg, engineLog(cfg.name)),
    leaderElection: { enabled: true, namespace: NS, name: 'it-leader', leaseDurationMs, renewDeadlineMs: leaseDurationMs * 2 / 3, retryPeriodMs: 200, identity },
    watchTimeoutSeconds: 30,
    retryBaseMs: 200,
  });
  op.start();
  operators.push(op);
  return op;
}

function integration(name: string, spec: Record<string, unknown> = {}, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { name, namespace: NS, annotations },
    spec: {
      hubspot: { baseURL: 'http://127.0.0.1:1', auth: { privateAppToken: { secretRef: { name: `${name}-token`, key: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' } } },
      objects: [{ type: 'contacts', table: 'contacts' }],
      schedule: { interval: '1h', fullResyncInterval: '24h' },
      ...spec,
    },
  };
}

function secret(name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, stringData: data };
}

type Integration = KubeObject & { status?: HubSpotIntegrationStatus };
const get = (name: string) => client.get<Integration>(INTEGRATION, NS, name);
const ready = (o: Integration) => o.status?.conditions?.find((c) => c.type === 'Ready');
const condition = (o: KubeObject, type: string) => (o.status as { conditions?: { type: string; status: string; reason: string; message: string }[] } | undefined)?.conditions?.find((c) => c.type === type);

async function eventsFor(name: string): Promise<{ reason: string; type: string; message: string; count: number }[]> {
  const list = await client.list<KubeObject & { involvedObject: { name: string }; reason: string; type: string; message: string; count: number }>(EVENTS, { namespace: NS });
  return list.items.filter((e) => e.involvedObject.name === name);
}

beforeAll(async () => {
  kube = await startKubeSandbox({ port: 0, bookmarkIntervalMs: 1000 });
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  client = new KubeClient(kc);
  await applyObjects(client, readManifests('crds'));
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await client.create(SECRET, NS, secret('db', { url: 'postgres://user:db-password-123@127.0.0.1:5432/x' }));
  startOperator('op-a');
  await waitFor(() => operators[0]!.isLeader() && operators[0]!.ready().ok, { what: 'operator leading and synced' });
});

afterAll(async () => {
  if (process.env.DEBUG_LOG) (await import('node:fs')).writeFileSync(process.env.DEBUG_LOG, logLines.join('\n'));
  for (const op of operators) await op.stop();
  await kube?.close();
});

describe('HubSpotIntegration reconcile', () => {
  it('adds the finalizer, runs the worker and reports Ready=True/Synced with counts and Events', async () => {
    await client.create(SECRET, NS, secret('basic-token', { token: 'good-token-abc' }));
    await client.create(INTEGRATION, NS, integration('basic'));
    const obj = await waitFor(async () => { const o = await get('basic'); return ready(o)?.status === 'True' ? o : undefined; }, { what: 'Ready=True' });
    expect(obj.metadata.finalizers).toContain('hubspot-operator.dev/cleanup');
    expect(ready(obj)).toMatchObject({ reason: 'Synced', observedGeneration: 1 });
    expect(obj.status).toMatchObject({ observedGeneration: 1, portalId: 1234567, errorCount: 0, objects: [{ type: 'contacts', linkedRecords: 3 }], apiUsage: { requestsLast24h: 5 } });
    // A resource with a recorded lastSuccessfulSyncTime starts incremental, a new one with the initial import.
    expect(engineLog('basic').cycles[0]!.kind).toBe('initial');
    const reasons = await waitFor(async () => { const r = (await eventsFor('basic')).map((e) => e.reason); return r.includes('InitialSyncCompleted') && r.includes('Ready') ? r : undefined; }, { what: 'events' });
    expect(reasons).toEqual(expect.arrayContaining(['Ready', 'InitialSyncCompleted']));
    // What the alerts compare against: the interval (1h) and the API budget (CRD defaults).
    const text = await leaderMetrics();
    expect(text).toContain('hubspot_operator_sync_interval_seconds{namespace="ctl",integration="basic"} 3600');
    expect(text).toContain('hubspot_operator_api_budget_limit{namespace="ctl",integration="basic",window="daily"} 250000');
    expect(text).toContain('hubspot_operator_api_budget_limit{namespace="ctl",integration="basic",window="ten_seconds"} 100');
    // The counters exist from the worker's start, at 0 until something happens.
    expect(text).toContain('hubspot_operator_sync_errors_total{namespace="ctl",integration="basic",object_type="contacts",category="Validation"} 0');
    expect(text).toContain('hubspot_operator_records_synced_total{namespace="ctl",integration="basic",object_type="contacts",direction="toHubSpot",operation="created"} 0');
  });

  it('reflects a spec change in observedGeneration within a second and applies it from the next cycle', async () => {
    const before = await get('basic');
    await client.patch(INTEGRATION, NS, 'basic', { spec: { schedule: { interval: '59m' } } });
    const started = Date.now();
    const after = await waitFor(async () => { const o = await get('basic'); return o.status?.observedGeneration === (before.metadata.generation ?? 1) + 1 ? o : undefined; }, { what: 'observedGeneration' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ready(after)?.lastTransitionTime).toBe(ready(before)?.lastTransitionTime);
    await waitFor(() => engineLog('basic').cycles.some((c) => c.generation === after.metadata.generation), { what: 'a cycle with the new config' });
  });

  it('writes status only when it changed (no update storm while idle)', async () => {
    const a = await get('basic');
    await waitFor(async () => (await get('basic')).status?.observedGeneration === a.metadata.generation, { what: 'settled' });
    const rv = (await get('basic')).metadata.resourceVersion;
    // The sync-request path runs a cycle; everything else idles on a 59m interval: nothing to write.
    await new Promise((r) => setTimeout(r, 1500)); // an idle window, asserting that nothing happens in it
    expect((await get('basic')).metadata.resourceVersion).toBe(rv);
  });

  it('runs a cycle at once for a new sync-requested-at value and records it', async () => {
    const n = engineLog('basic').cycles.length;
    await client.patch(INTEGRATION, NS, 'basic', { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': '2026-11-23T10:00:00Z' } } });
    const o = await waitFor(async () => { const x = await get('basic'); return x.status?.lastHandledSyncRequest === '2026-11-23T10:00:00Z' ? x : undefined; }, { timeoutMs: 5000, what: 'lastHandledSyncRequest' });
    expect(engineLog('basic').cycles.length).toBe(n + 1);
    expect(engineLog('basic').cycles.at(-1)!.kind).toBe('incremental');
    await client.patch(INTEGRATION, NS, 'basic', { metadata: { annotations: { 'hubspot-operator.dev/resync-requested-at': 'r-1' } } });
    await waitFor(async () => (await get('basic')).status?.lastHandledResyncRequest === 'r-1', { timeoutMs: 5000, what: 'lastHandledResyncRequest' });
    expect(engineLog('basic').cycles.at(-1)!.kind).toBe('full');
    expect(o.status?.lastHandledSyncRequest).toBe('2026-11-23T10:00:00Z');
  });

  it('suspend: Ready=False/Suspended, no cycles, Events Suspended and Resumed', async () => {
    await client.patch(INTEGRATION, NS, 'basic', { spec: { suspend: true } });
    await waitFor(async () => ready(await get('basic'))?.reason === 'Suspended', { what: 'Suspended' });
    const n = engineLog('basic').cycles.length;
    await client.patch(INTEGRATION, NS, 'basic', { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': 'while-suspended' } } });
    await waitFor(async () => (await get('basic')).status?.observedGeneration === (await get('basic')).metadata.generation, { what: 'observed' });
    expect(engineLog('basic').cycles.length).toBe(n);
    await client.patch(INTEGRATION, NS, 'basic', { spec: { suspend: false } });
    await waitFor(async () => ready(await get('basic'))?.status === 'True', { what: 'Ready again' });
    await waitFor(async () => (await get('basic')).status?.lastHandledSyncRequest === 'while-suspended', { what: 'request handled after resume' });
    const reasons = await waitFor(async () => { const r = (await eventsFor('basic')).map((e) => e.reason); return r.includes('Resumed') ? r : undefined; }, { what: 'Resumed event' });
    expect(reasons).toContain('Suspended');
  });

  it('a bad token: AuthenticationFailed + Stalled; fixing the Secret recovers without a restart', async () => {
    await client.create(SECRET, NS, secret('auth-token', { token: 'bad-token' }));
    await client.create(INTEGRATION, NS, integration('auth'));
    const failed = await waitFor(async () => { const o = await get('auth'); return ready(o)?.reason === 'AuthenticationFailed' ? o : undefined; }, { what: 'AuthenticationFailed' });
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
    expect(await leaderMetrics()).toMatch(/^hubspot_operator_sync_errors_total\{namespace="ctl",integration="auth",object_type="",category="Authentication"\} [1-9]\d*$/m);
    await client.replace(SECRET, NS, 'auth-token', secret('auth-token', { token: 'fixed-token' }));
    const ok = await waitFor(async () => { const o = await get('auth'); return ready(o)?.status === 'True' ? o : undefined; }, { what: 'recovered' });
    expect(condition(ok, 'Stalled')).toBeUndefined();
    expect((await eventsFor('auth')).map((e) => e.reason)).toContain('SyncFailed');
  });

  it('keeps only the referenced Secrets in memory: an existing one is read when first referenced, a dropped reference leaves the cache, changes re-enqueue', async () => {
    const op = operators[0]!;
    await client.create(SECRET, NS, secret('unrelated', { 'tls.key': 'not-for-the-operator' }));
    await client.create(SECRET, NS, secret('cache-token', { token: 'good' }));
    await client.create(SECRET, NS, secret('cache-other-token', { token: 'good' }));
    await client.create(INTEGRATION, NS, integration('cache'));
    await waitFor(async () => ready(await get('cache'))?.status === 'True', { what: 'Ready with a Secret that existed before the reference' });
    expect(op.secrets.get(NS, 'cache-token')).toBeDefined();
    expect(op.secrets.get(NS, 'unrelated')).toBeUndefined();
    expect(op.secrets.get(NS, 'cache-other-token')).toBeUndefined();
    await client.patch(SECRET, NS, 'unrelated', { stringData: { 'tls.key': 'rotated' } });
    await client.patch(INTEGRATION, NS, 'cache', { spec: { hubspot: { auth: { privateAppToken: { secretRef: { name: 'cache-other-token', key: 'token' } } } } } });
    await waitFor(() => op.secrets.get(NS, 'cache-other-token') !== undefined && op.secrets.get(NS, 'cache-token') === undefined, { what: 'the cache follows the new reference' });
    expect(op.secrets.get(NS, 'unrelated')).toBeUndefined();
    // A change of the newly referenced Secret wakes the integration.
    await client.replace(SECRET, NS, 'cache-other-token', secret('cache-other-token', { token: 'bad-token' }));
    await waitFor(async () => ready(await get('cache'))?.reason === 'AuthenticationFailed', { what: 'AuthenticationFailed after the referenced Secret changed' });
    await client.replace(SECRET, NS, 'cache-other-token', secret('cache-other-token', { token: 'good' }));
    await waitFor(async () => ready(await get('cache'))?.status === 'True', { what: 'recovered' });
    // Secrets every integration references: the db Secret and the tokens of the integrations so far.
    const referenced = new Set(op.integrations.list(NS).flatMap((i) => [`${(i.spec as { hubspot: { auth: { privateAppToken: { secretRef: { name: string } } } } }).hubspot.auth.privateAppToken.secretRef.name}`, 'db']));
    expect(op.secrets.informer.size).toBeLessThanOrEqual(referenced.size);
  });

  it('a missing Secret is InvalidSpec naming the reference; creating it recovers', async () => {
    await client.create(INTEGRATION, NS, integration('nosecret'));
    const o = await waitFor(async () => { const x = await get('nosecret'); return ready(x)?.reason === 'InvalidSpec' ? x : undefined; }, { what: 'InvalidSpec' });
    expect(ready(o)?.message).toContain('spec.hubspot.auth.privateAppToken.secretRef: Secret "nosecret-token" not found');
    await client.create(SECRET, NS, secret('nosecret-token', { token: 'good' }));
    await waitFor(async () => ready(await get('nosecret'))?.status === 'True', { what: 'Ready after the Secret appears' });
  });
});

describe('FieldMapping and SyncFilter status', () => {
  it('reports Ready, fieldCount and matchedRecords; InvalidSpec for an unknown property, a duplicate and an unknown integration', async () => {
    const fm = (name: string, integrationName: string, property = 'firstname') => ({
      apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'FieldMapping', metadata: { name, namespace: NS },
      spec: { integrationRef: { name: integrationName }, objectType: 'contacts', fields: [{ property: 'email', column: 'email' }, { property, column: 'other' }] },
    });
    await client.create(FIELD_MAPPING, NS, fm('basic-contacts', 'basic', 'firstname'));
    await client.create(SYNC_FILTER, NS, { apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'SyncFilter', metadata: { name: 'only-acme', namespace: NS }, spec: { integrationRef: { name: 'basic' }, objectType: 'contacts', rules: [{ property: 'email', operator: 'EndsWith', value: '@acme.com' }] } });
    const good = await waitFor(async () => { const x = await client.get<KubeObject & { status?: { fieldCount?: number } }>(FIELD_MAPPING, NS, 'basic-contacts'); return condition(x, 'Ready')?.status === 'True' ? x : undefined; }, { what: 'FieldMapping Ready' });
    expect(good.status?.fieldCount).toBe(2);
    await waitFor(async () => (await client.get<KubeObject & { status?: { matchedRecords?: number } }>(SYNC_FILTER, NS, 'only-acme')).status?.matchedRecords === 2, { what: 'matchedRecords' });

    await client.replace(FIELD_MAPPING, NS, 'basic-contacts', { ...fm('basic-contacts', 'basic', 'unknown_color'), metadata: { ...good.metadata } });
    const bad = await waitFor(async () => { const x = await client.get<KubeObject>(FIELD_MAPPING, NS, 'basic-contacts'); return condition(x, 'Ready')?.reason === 'InvalidSpec' ? x : undefined; }, { what: 'FieldMapping InvalidSpec' });
    expect(condition(bad, 'Ready')!.message).toContain('spec.fields[1].property');
    expect(condition(bad, 'Ready')!.message).toContain('unknown_color');
    await waitFor(async () => ready(await get('basic'))?.reason === 'InvalidSpec', { what: 'integration InvalidSpec' });

    await client.create(FIELD_MAPPING, NS, fm('orphan-mapping', 'does-not-exist'));
    const orphan = await waitFor(async () => { const x = await client.get<KubeObject>(FIELD_MAPPING, NS, 'orphan-mapping'); return condition(x, 'Ready')?.reason === 'InvalidSpec' ? x : undefined; }, { what: 'unknown integrationRef' });
    expect(condition(orphan, 'Ready')!.message).toContain('spec.integrationRef.name: HubSpotIntegration "does-not-exist" not found');

    await client.delete(FIELD_MAPPING, NS, 'basic-contacts');
    await waitFor(async () => ready(await get('basic'))?.status === 'True', { what: 'integration Ready again' });
    await client.create(FIELD_MAPPING, NS, fm('dup-1', 'basic'));
    await client.create(FIELD_MAPPING, NS, fm('dup-2', 'basic'));
    const dup = await waitFor(async () => { const x = await client.get<KubeObject>(FIELD_MAPPING, NS, 'dup-2'); return condition(x, 'Ready')?.reason === 'InvalidSpec' ? x : undefined; }, { what: 'duplicate InvalidSpec' });
    expect(condition(dup, 'Ready')!.message).toContain('dup-1, dup-2');
    await client.delete(FIELD_MAPPING, NS, 'dup-1');
    await client.delete(FIELD_MAPPING, NS, 'dup-2');
    await waitFor(async () => ready(await get('basic'))?.status === 'True', { what: 'integration Ready after removing duplicates' });
  });
});

describe('deletion', () => {
  it('runs cleanup with the deletionPolicy and removes the finalizer', async () => {
    await client.create(SECRET, NS, secret('gone-token', { token: 'good' }));
    await client.create(INTEGRATION, NS, integration('gone', { deletionPolicy: 'Orphan' }));
    await waitFor(async () => ready(await get('gone'))?.status === 'True', { what: 'Ready' });
    await client.delete(INTEGRATION, NS, 'gone');
    await waitFor(async () => { try { await get('gone'); return false; } catch { return true; } }, { what: 'object gone' });
    expect(engineLog('gone').cleanups).toEqual(['Orphan']);
    // Its gauges go with it (counters stay: they are cumulative).
    const text = await waitFor(async () => { const t = await leaderMetrics(); return t.includes('integration="gone"') && !/^hubspot_operator_integration_ready\{[^}]*integration="gone"/m.test(t) ? t : undefined; }, { what: 'gauges of the deleted integration removed' });
    expect(text).not.toMatch(/^hubspot_operator_(sync_interval_seconds|api_budget_limit|api_budget_remaining)\{[^}]*integration="gone"/m);
  });

  it('keeps the finalizer with a CleanupFailed Event while cleanup fails; skip-cleanup releases it', async () => {
    await client.create(SECRET, NS, secret('failing-cleanup-token', { token: 'good' }));
    await client.create(INTEGRATION, NS, integration('failing-cleanup'));
    await waitFor(async () => ready(await get('failing-cleanup'))?.status === 'True', { what: 'Ready' });
    await client.delete(INTEGRATION, NS, 'failing-cleanup');
    const ev = await waitFor(async () => (await eventsFor('failing-cleanup')).find((e) => e.reason === 'CleanupFailed'), { what: 'CleanupFailed' });
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('database is read-only');
    const stuck = await get('failing-cleanup');
    expect(ready(stuck)).toMatchObject({ status: 'False', reason: 'Deleting' });
    await client.patch(INTEGRATION, NS, 'failing-cleanup', { metadata: { annotations: { 'hubspot-operator.dev/skip-cleanup': 'true' } } });
    await waitFor(async () => { try { await get('failing-cleanup'); return false; } catch { return true; } }, { what: 'released' });
  });
});

describe('watch resilience', () => {
  it('keeps seeing changes after dropped watches and a compaction (410 Gone → relist)', async () => {
    kube.dropWatches();
    kube.compact();
    await client.patch(INTEGRATION, NS, 'basic', { spec: { schedule: { interval: '58m' } } });
    const gen = (await get('basic')).metadata.generation;
    await waitFor(async () => (await get('basic')).status?.observedGeneration === gen, { what: 'observed after watch drop' });
    expect(operators[0]!.healthy().ok).toBe(true);
  });
});

describe('leader election', () => {
  it('a second operator stands by; stopping the leader hands over', async () => {
    const standby = startOperator('op-b');
    await waitFor(() => standby.ready().ok, { what: 'standby synced' });
    expect(standby.isLeader()).toBe(false);
    const leader = operators[0]!;
    await leader.stop();
    operators.shift();
    await waitFor(() => standby.isLeader(), { timeoutMs: 10_000, what: 'standby takes over' });
    const n = engineLog('basic').cycles.length;
    await client.patch(INTEGRATION, NS, 'basic', { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': 'after-handover' } } });
    await waitFor(async () => (await get('basic')).status?.lastHandledSyncRequest === 'after-handover', { what: 'new leader syncs' });
    expect(engineLog('basic').cycles.length).toBeGreaterThan(n);
  });
});

describe('secrets', () => {
  it('never logs a secret value', () => {
    const text = logLines.join('\n');
    for (const value of ['good-token-abc', 'bad-token', 'fixed-token', 'db-password-123']) expect(text).not.toContain(value);
  });
});
