/**
 * Issue 14 end to end: 50 HubSpotIntegrations on ONE database whose connection limit is far below
 * 50 × 4 all reach Ready. The whole operator runs in this process (runOperator with the real sync
 * engine) against the Kubernetes API sandbox and the HubSpot API sandbox; the database is the
 * shared PostgreSQL at 127.0.0.1:5432, reached as a role created for this test with
 * `CONNECTION LIMIT 15`, and the operator runs with --db-pool-size 10. The operator shares one
 * pool (10) and one LISTEN connection per database between the integrations, so the role never
 * holds more than 11 connections (pg_stat_activity, sampled throughout) and none is refused.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '../../../operator/src/kube/config.js';
import { KubeClient, type KubeObject } from '../../../operator/src/kube/client.js';
import { runOperator, type RunningOperator } from '../../../operator/src/controller/run.js';
import { createMetrics } from '../../../operator/src/observability/metrics.js';
import { applyObjects, readManifests } from '../../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { LOCAL_POSTGRES_URL } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';

const N = 50;
const CONNECTION_LIMIT = 15;
const POOL = 10;
const NS = 'shared-db';
const SECRET = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
const INTEGRATIONS = { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration' };
const DIRECTIONS = ['TwoWay', 'HubSpotToTarget', 'TargetToHubSpot'] as const;

type Integration = KubeObject & { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };

const suffix = randomBytes(4).toString('hex');
const role = `scale14_${suffix}`;
const database = `scale14_${suffix}`;
let admin: pg.Client;
let kube: KubeSandbox;
let hubspot: HubSpotSandbox;
let client: KubeClient;
let running: RunningOperator | undefined;
let sampler: NodeJS.Timeout | undefined;
let peakConnections = 0;
const logs: string[] = [];

const roleConnections = async () => Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1`, [role])).rows[0].n);

beforeAll(async () => {
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL ?? LOCAL_POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT ${CONNECTION_LIMIT}`);
  await admin.query(`CREATE DATABASE ${database} OWNER ${role}`);
  const url = new URL(process.env.DATABASE_URL ?? LOCAL_POSTGRES_URL);
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;

  kube = await startKubeSandbox({ port: 0 });
  hubspot = await startHubSpotSandbox({ limits: { requestsPerWindow: 1000, windowMs: 10_000, dailyRequests: 1_000_000_000, searchPerSecond: 50 } });
  hubspot.seed({ contacts: 5 });
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  client = new KubeClient(kc);
  await applyObjects(client, readManifests('crds'));
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await client.create(SECRET, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubspot' }, stringData: { token: hubspot.token } });
  await client.create(SECRET, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { url: url.toString() } });

  sampler = setInterval(() => {
    roleConnections().then((n) => (peakConnections = Math.max(peakConnections, n)), () => {});
  }, 50);

  const opKc = new KubeConfig();
  opKc.loadFromString(kube.kubeconfig);
  running = await runOperator({
    kubeConfig: opKc,
    logger: pino({ level: 'warn' }, { write: (s: string) => void logs.push(s) }),
    metrics: createMetrics({ defaultMetrics: false }),
    metricsPort: 0,
    host: '127.0.0.1',
    dbPoolSize: POOL,
    maxConcurrentSyncs: 8,
    leaderElection: { enabled: false, namespace: NS, name: 'unused' },
  });
}, 60_000);

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  await running?.stop();
  await client?.close();
  await kube?.close();
  await hubspot?.close();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end();
  }
}, 60_000);

describe(`${N} integrations on one database with CONNECTION LIMIT ${CONNECTION_LIMIT}, --db-pool-size ${POOL}`, () => {
  it('all reach Ready, and the operator never holds more than pool size + 1 connections to it', async () => {
    const names = Array.from({ length: N }, (_, i) => `i${String(i).padStart(2, '0')}`);
    await Promise.all(
      names.map((name, i) =>
        client.create(INTEGRATIONS, NS, {
          apiVersion: 'hubspot-operator.dev/v1alpha1',
          kind: 'HubSpotIntegration',
          metadata: { name },
          spec: {
            hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } } },
            target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, createTables: true } },
            objects: [{ type: 'contacts', table: `contacts_${name}`, direction: DIRECTIONS[i % 3], match: { property: 'email', column: 'email' } }],
            schedule: { interval: '5m' },
          },
        }),
      ),
    );

    let summary = '';
    await waitFor(
      async () => {
        const list = await client.list<Integration>(INTEGRATIONS, { namespace: NS });
        const notReady: Record<string, number> = {};
        for (const o of list.items) {
          const r = o.status?.conditions?.find((c) => c.type === 'Ready');
          if (r?.status === 'True') continue;
          const key = r ? `${r.status}/${r.reason}: ${r.message.slice(0, 160)}` : 'no status';
          notReady[key] = (notReady[key] ?? 0) + 1;
        }
        summary = JSON.stringify(notReady);
        return list.items.length === N && Object.keys(notReady).length === 0;
      },
      { timeoutMs: 400_000, intervalMs: 500, what: `all ${N} integrations Ready (not Ready: ${summary})` },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}; not Ready: ${summary}`);
    });

    // The HubSpot contacts arrived in the tables of the integrations that import them.
    const dbUrl = new URL(process.env.DATABASE_URL ?? LOCAL_POSTGRES_URL);
    dbUrl.pathname = `/${database}`;
    const target = new pg.Client({ connectionString: dbUrl.toString() });
    await target.connect();
    try {
      for (const [i, name] of names.entries()) {
        if (DIRECTIONS[i % 3] === 'TargetToHubSpot') continue;
        expect(Number((await target.query(`SELECT count(*) AS n FROM "contacts_${name}"`)).rows[0].n), name).toBe(5);
      }
    } finally {
      await target.end();
    }
    process.stderr.write(`shared-database: peak ${peakConnections} connections by ${role} (limit ${CONNECTION_LIMIT}, pool ${POOL})\n`);
    const count = await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1`, [role]);
    expect(Number(count.rows[0].n)).toBeLessThanOrEqual(POOL + 1);
    expect(peakConnections).toBeGreaterThan(0);
    expect(peakConnections).toBeLessThanOrEqual(POOL + 1);
    expect(logs.join('\n')).not.toMatch(/too many (clients|connections)/);
  }, 480_000);
});
