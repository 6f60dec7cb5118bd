/**
 * `hubspot-operator run`'s wiring (runOperator with webhooks on): two replicas against the
 * Kubernetes API sandbox, one leading, one standing by. Both answer HubSpot's signed deliveries
 * and store the events in the integration's state schema on the real PostgreSQL, found from the
 * informer caches (integration, client secret and connection Secrets); the same events delivered
 * to both are stored once. A client secret change applies without a restart.
 */
import { KubeConfig } from '../../../operator/src/kube/config.js';
import { Client } from '@hubspot/api-client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type KubeObject } from '../../../operator/src/kube/client.js';
import { runOperator, type RunningOperator } from '../../../operator/src/controller/run.js';
import { createMetrics, type OperatorMetrics } from '../../../operator/src/observability/metrics.js';
import { applyObjects, readManifests } from '../../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import type { CycleKind, CycleReport, SyncEngine } from '../../../operator/src/sync/types.js';
import { postgresUrl, uniqueName } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';
import { signV3 } from '../../../operator/src/hubspot/webhooks/signature.js';
import pg from 'pg';

const NS = 'hooks';
const SECRET = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
const INTEGRATIONS = { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration' };

/** The sync itself is not under test here: cycles report nothing. */
class IdleEngine implements SyncEngine {
  async validate() {
    return [];
  }
  async runCycle(kind: CycleKind): Promise<CycleReport> {
    const now = new Date().toISOString();
    return { kind, startedAt: now, finishedAt: now, completed: true, objects: [], errors: [], apiUsage: { requestsLast24h: 0, rateLimitedLast24h: 0, dailyBudget: 250000 }, syncLagSeconds: 0 } as unknown as CycleReport;
  }
  waitForTargetChange(signal: AbortSignal) {
    return new Promise<void>((r) => signal.addEventListener('abort', () => r()));
  }
  async cleanup() {}
  async close() {}
}

let kube: KubeSandbox;
let hubspot: HubSpotSandbox;
let sdk: Client;
let db: pg.Client;
let dbUrl: string;
const stateSchema = uniqueName('hooks_state');
const replicas: { name: string; running: RunningOperator; metrics: OperatorMetrics }[] = [];

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  return kc;
}

async function startReplica(name: string) {
  const kc = kubeConfig();
  const metrics = createMetrics({ defaultMetrics: false });
  const running = await runOperator({
    kubeConfig: kc,
    logger: pino({ level: 'silent' }),
    metrics,
    metricsPort: 0,
    host: '127.0.0.1',
    engineFactory: () => new IdleEngine(),
    leaderElection: { enabled: true, namespace: NS, name: 'hooks-leader', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200, identity: name },
    webhooks: { port: 0 },
  });
  replicas.push({ name, running, metrics });
  return running;
}

async function rows(): Promise<{ subscription_type: string; object_id: string; integration_uid: string }[]> {
  return (await db.query(`SELECT subscription_type, object_id, integration_uid FROM "${stateSchema}".webhook_inbox ORDER BY occurred_at, id`).catch(() => ({ rows: [] }))).rows;
}

beforeAll(async () => {
  const url = await postgresUrl();
  if (!url) throw new Error('this test needs the PostgreSQL server (127.0.0.1:5432)');
  dbUrl = url;
  db = new pg.Client({ connectionString: url });
  await db.connect();
  kube = await startKubeSandbox({ port: 0 });
  hubspot = await startHubSpotSandbox();
  sdk = new Client({ accessToken: hubspot.token, basePath: hubspot.url });
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  const client = new KubeClient(kc);
  await applyObjects(client, readManifests('crds'));
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await client.create(SECRET, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, stringData: { url: dbUrl } });
  await client.create(SECRET, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tok', namespace: NS }, stringData: { token: hubspot.token } });
  await client.create(SECRET, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-app', namespace: NS }, stringData: { clientSecret: 'first-secret' } });
  await client.create(INTEGRATIONS, NS, {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { name: 'acme', namespace: NS },
    spec: {
      hubspot: { baseURL: hubspot.url, portalId: hubspot.portalId, auth: { privateAppToken: { secretRef: { name: 'tok' } } }, webhooks: { clientSecretRef: { name: 'acme-app', key: 'clientSecret' } } },
      target: { postgres: { connectionSecretRef: { name: 'db' }, stateSchema } },
      objects: [{ type: 'contacts', table: 'contacts' }],
      schedule: { interval: '1h' },
    },
  });
  await startReplica('op-a');
  await waitFor(() => replicas[0]!.running.operator.isLeader() && replicas[0]!.running.operator.ready().ok, { what: 'op-a leading' });
  await startReplica('op-b');
  await waitFor(() => replicas[1]!.running.operator.ready().ok, { what: 'op-b caches synced' });
}, 60_000);

afterAll(async () => {
  for (const r of replicas.reverse()) await r.running.stop();
  await hubspot?.close();
  await kube?.close();
  await db?.query(`DROP SCHEMA IF EXISTS "${stateSchema}" CASCADE`).catch(() => undefined);
  await db?.end();
});

describe('webhooks on every replica', () => {
  it('the standby verifies and stores; a redelivery of the same batch to the leader is stored once', async () => {
    const [a, b] = replicas;
    expect(a!.running.operator.isLeader()).toBe(true);
    expect(b!.running.operator.isLeader()).toBe(false);
    // The Service sends HubSpot's delivery to any replica: here the standby.
    hubspot.subscribeWebhook({ targetUrl: b!.running.webhooks!.url.replace('0.0.0.0', '127.0.0.1'), clientSecret: 'first-secret', events: ['contact.creation', 'contact.propertyChange'], batchDelayMs: 20 });
    const c = await sdk.crm.contacts.basicApi.create({ properties: { email: 'linus@example.com' }, associations: [] });
    await sdk.crm.contacts.basicApi.update(c.id, { properties: { lastname: 'Pauling' } });
    await waitFor(() => (hubspot.webhooks.list()[0] as { deliveredEvents: number }).deliveredEvents === 2, { what: 'the standby answered 2xx for both events' });
    const stored = await rows();
    expect(stored.map((r) => [r.subscription_type, r.object_id])).toEqual([['contact.creation', c.id], ['contact.propertyChange', c.id]]);
    const uid = (await new KubeClient(kubeConfig()).get<{ metadata: { uid: string; name: string } }>(INTEGRATIONS, NS, 'acme')).metadata.uid;
    expect(stored.every((r) => r.integration_uid === uid)).toBe(true);

    // HubSpot retries the batch (its answer was lost) and this time the leader gets it.
    const batch = (await db.query(`SELECT payload FROM "${stateSchema}".webhook_inbox ORDER BY id`)).rows.map((r) => ({ ...r.payload, attemptNumber: 1 }));
    const body = JSON.stringify(batch);
    const leaderUrl = a!.running.webhooks!.url.replace('0.0.0.0', '127.0.0.1');
    const ts = Date.now();
    const res = await fetch(leaderUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signV3('first-secret', 'POST', leaderUrl, body, ts), 'x-hubspot-request-timestamp': String(ts) }, body });
    expect(res.status).toBe(200);
    expect((await rows()).length).toBe(2);

    for (const r of replicas) {
      const text = await r.metrics.registry.metrics();
      expect(text, r.name).toContain('hubspot_operator_webhook_requests_total{code="200"}');
      expect(text, r.name).toContain('hubspot_operator_webhook_events_total{namespace="hooks",integration="acme",object_type="contacts",event="creation"} 1');
      expect(text, r.name).toContain('hubspot_operator_webhooks_configured{namespace="hooks",integration="acme"} 1');
      expect(text).not.toContain('first-secret');
    }
  });

  it('takes a rotated client secret from the Secret cache without a restart', async () => {
    hubspot.reset();
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig);
    const client = new KubeClient(kc);
    const before = (await rows()).length;
    // Deliveries signed with the new secret are refused until the Secret says so.
    const standby = replicas[1]!;
    hubspot.subscribeWebhook({ targetUrl: standby.running.webhooks!.url.replace('0.0.0.0', '127.0.0.1'), clientSecret: 'second-secret', events: ['contact.creation'], batchDelayMs: 20, maxAttempts: 1 });
    await sdk.crm.contacts.basicApi.create({ properties: { email: 'rotated-early@example.com' }, associations: [] });
    await waitFor(() => (hubspot.webhooks.list()[0] as { failedAttempts: number }).failedAttempts === 1, { what: 'the delivery refused' });
    expect(await standby.metrics.registry.metrics()).toContain('hubspot_operator_webhook_requests_total{code="401"} 1');
    await client.patch(SECRET, NS, 'acme-app', { stringData: { clientSecret: 'second-secret' } }, 'merge');
    await waitFor(() => {
      const s = standby.running.operator.secrets.get(NS, 'acme-app');
      return s?.data?.clientSecret === Buffer.from('second-secret').toString('base64') || s?.stringData?.clientSecret === 'second-secret';
    }, { what: 'the standby saw the new Secret' });
    const late = await sdk.crm.contacts.basicApi.create({ properties: { email: 'rotated@example.com' }, associations: [] });
    await waitFor(async () => ((await rows()).length === before + 1 ? true : undefined), { what: 'the event stored with the new secret' });
    expect((await rows()).at(-1)!.object_id).toBe(late.id);

    // status.webhooks as the status writer would read it: stored events from the table (both
    // replicas' intake, redeliveries not counted), refusals from the replica that refused them.
    const uid = (await client.get<KubeObject>(INTEGRATIONS, NS, 'acme')).metadata.uid!;
    const fromStandby = await standby.running.webhooks!.status(NS, 'acme', uid);
    expect(fromStandby).toMatchObject({ eventsLast24h: before + 1, rejectedLast24h: 1 });
    expect(Date.parse(fromStandby.lastEventTime!)).toBeGreaterThan(Date.now() - 60_000);
    expect(await replicas[0]!.running.webhooks!.status(NS, 'acme', uid)).toMatchObject({ eventsLast24h: before + 1, rejectedLast24h: 0 });
  });
});
