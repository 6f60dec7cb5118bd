/**
 * Webhooks with the operator as a process (`hubspot-operator run`): the HubSpot sandbox's
 * signed delivery reaches the operator through a proxy that SIGKILLs the operator the moment
 * it answered 2xx; after a restart the stored event is applied. HubSpot's search lags by an
 * hour here and the interval is 5 minutes, so the change can only arrive through the inbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { applyObjects, readManifests } from '../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../operator/src/sandbox/kube/index.js';
import { waitFor } from '../helpers/wait.js';
import { DATABASE_URL, R, condition, kubeClient, startOperator, uniqueName, type Obj, type OperatorProcess } from './harness.js';

const NS = 'hooks-e2e';
const TOKEN = `pat-hooks-${Math.random().toString(36).slice(2)}`;
const CLIENT_SECRET = `app-secret-${Math.random().toString(36).slice(2)}`;
const SCHEMA = uniqueName('wh');
const STATE = uniqueName('wh_state');

let kube: KubeSandbox;
let hubspot: HubSpotSandbox;
let client: KubeClient;
let db: pg.Client;
let dir: string;
let kubeconfigPath: string;
let proxy: Server;
const operators: OperatorProcess[] = [];

async function hubspotApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${hubspot.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

function webhookUrl(o: OperatorProcess): Promise<string> {
  return waitFor(() => o.lines.map((l) => /"webhooks":"(http:\/\/[^"]+)"/.exec(l)?.[1]).find(Boolean), { what: 'the webhook URL in the log' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hso-wh-'));
  kubeconfigPath = join(dir, 'kubeconfig');
  kube = await startKubeSandbox({ port: 0, bookmarkIntervalMs: 2000 });
  await kube.writeKubeconfig(kubeconfigPath);
  client = kubeClient(kube.kubeconfig);
  hubspot = await startHubSpotSandbox({ port: 0, token: TOKEN, indexingDelayMs: 3_600_000 });
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  await applyObjects(client, readManifests('crds'));
  await applyObjects(client, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubspot', namespace: NS }, stringData: { token: TOKEN } } as never,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, stringData: { url: DATABASE_URL } } as never,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: NS }, stringData: { clientSecret: CLIENT_SECRET } } as never,
  ]);
});

afterAll(async () => {
  for (const o of operators) await o.kill('SIGKILL');
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  proxy?.closeAllConnections();
  await db?.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => {});
  await db?.query(`DROP SCHEMA IF EXISTS "${STATE}" CASCADE`).catch(() => {});
  await db?.end();
  await hubspot?.close();
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('webhooks with the operator as a process', () => {
  it('SIGKILL right after the 2xx: the stored event is applied after the restart', async () => {
    const c = await hubspotApi<{ id: string }>('POST', '/crm/v3/objects/contacts', { properties: { email: 'kill@example.com', firstname: 'Before' } });
    const a = startOperator(kubeconfigPath, 'wh-a');
    operators.push(a);
    await a.started();
    let target = await webhookUrl(a);
    await applyObjects(client, [
      {
        apiVersion: 'hubspot-operator.dev/v1alpha1',
        kind: 'HubSpotIntegration',
        metadata: { name: 'crm', namespace: NS },
        spec: {
          hubspot: { baseURL: hubspot.url, portalId: hubspot.portalId, auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } }, webhooks: { clientSecretRef: { name: 'app', key: 'clientSecret' } } },
          target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema: SCHEMA, stateSchema: STATE, createTables: true } },
          objects: [{ type: 'contacts', table: 'contacts', match: { property: 'email', column: 'email' } }],
          schedule: { interval: '5m', fullResyncInterval: '24h' },
        },
      } as never,
    ]);
    await waitFor(async () => condition(await client.get<Obj>(R.integration, NS, 'crm'), 'Ready')?.status === 'True', { timeoutMs: 60_000, what: 'Ready=True' });
    expect(condition(await client.get<Obj>(R.integration, NS, 'crm'), 'Ready')!.message).toMatch(/; webhooks on$/);
    const firstname = async () => (await db.query(`SELECT firstname FROM "${SCHEMA}".contacts WHERE email = 'kill@example.com'`)).rows[0]?.firstname as string | undefined;
    expect(await firstname()).toBe('Before');

    // The proxy forwards deliveries to the current operator; the first 2xx kills it before HubSpot hears back.
    let killedAfter2xx = false;
    let presentAtKill: string | undefined;
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const u = new URL(target);
        const fwd = request({ host: u.hostname, port: u.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
          const body: Buffer[] = [];
          up.on('data', (d: Buffer) => body.push(d));
          up.on('end', () => {
            void (async () => {
              if (!killedAfter2xx && (up.statusCode ?? 0) < 300) {
                killedAfter2xx = true;
                await a.kill('SIGKILL');
                presentAtKill = await firstname();
              }
              res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' });
              res.end(Buffer.concat(body));
            })();
          });
        });
        fwd.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        fwd.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/webhooks/hubspot`;
    hubspot.subscribeWebhook({ targetUrl: proxyUrl, clientSecret: CLIENT_SECRET, events: ['contact.propertyChange'], batchDelayMs: 20 });

    // HubSpot answers slowly now: the operator's batch read of the record cannot finish before the kill.
    await hubspotApi('PUT', '/__sandbox/faults', { latencyMs: 5000 });
    await hubspotApi('PATCH', `/crm/v3/objects/contacts/${c.id}`, { properties: { firstname: 'After' } });
    await waitFor(() => killedAfter2xx && presentAtKill !== undefined, { what: 'the operator killed after answering 2xx' });
    expect(presentAtKill).toBe('Before');
    await hubspotApi('PUT', '/__sandbox/faults', {});
    expect((await db.query(`SELECT count(*)::int AS n FROM "${STATE}".webhook_inbox WHERE object_id = $1`, [c.id])).rows[0].n).toBe(1);

    const b = startOperator(kubeconfigPath, 'wh-b');
    operators.push(b);
    await b.started();
    target = await webhookUrl(b);
    // No poll can see the change (search lags an hour, interval 5m): the inbox brings it.
    await waitFor(async () => (await firstname()) === 'After', { timeoutMs: 30_000, what: 'the stored event applied after the restart' });
    // Acknowledged once applied (the apply and the acknowledgement are two commits).
    await waitFor(async () => (await db.query(`SELECT processed_at IS NOT NULL AS done FROM "${STATE}".webhook_inbox WHERE object_id = $1`, [c.id])).rows[0]?.done === true, { what: 'the event acknowledged' });
    await waitFor(async () => ((await client.get<Obj>(R.integration, NS, 'crm')).status?.webhooks as { eventsLast24h?: number } | undefined)?.eventsLast24h === 1, {
      timeoutMs: 30_000,
      what: 'status.webhooks.eventsLast24h = 1',
    });
  });
});
