/**
 * The operator as a process (`hubspot-operator run`) against the Kubernetes API sandbox (and the
 * real kube-apiserver when built: `npm run setup:kube-real`), the
 * HubSpot API sandbox and PostgreSQL: everything issue 5 asks to show, in one story that shares
 * the sandboxes (each step leaves the integration Ready for the next).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyObjects, readManifests } from '../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../helpers/kube-backend.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { waitFor } from '../helpers/wait.js';
import { DATABASE_URL, R, condition, kubeClient, startOperator, uniqueName, withPassword, type Obj, type OperatorProcess } from './harness.js';

const NS = 'e2e';
const TOKEN = `pat-e2e-${Math.random().toString(36).slice(2)}-secret`;
const DB_PASSWORD = `dbpw-${Math.random().toString(36).slice(2)}`;
const WRONG_TOKEN = `wrong-${Math.random().toString(36).slice(2)}-token`;
const SCHEMA = uniqueName('e2e');
const STATE = uniqueName('e2e_state');
const CONTACTS = 40;

let kube: KubeBackend;
let hubspot: HubSpotSandbox;
let client: KubeClient;
let db: pg.Client;
let dir: string;
let kubeconfigPath: string;
const operators: OperatorProcess[] = [];

function integration(name: string, objects: unknown[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { name, namespace: NS },
    spec: {
      hubspot: { baseURL: hubspot.url, portalId: 1234567, auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema: SCHEMA, stateSchema: STATE, createTables: true } },
      objects,
      schedule: { interval: '1s', fullResyncInterval: '1h' },
      ...extra,
    },
  };
}

const contactsMapping = (extraFields: unknown[] = []) => ({
  apiVersion: 'hubspot-operator.dev/v1alpha1',
  kind: 'FieldMapping',
  metadata: { name: 'crm-contacts', namespace: NS },
  spec: {
    integrationRef: { name: 'crm' },
    objectType: 'contacts',
    fields: [{ property: 'email', column: 'email' }, { property: 'firstname', column: 'first_name' }, { property: 'lastname', column: 'last_name' }, ...extraFields],
  },
});

const getIntegration = (name: string) => client.get<Obj>(R.integration, NS, name);
const ready = async (name: string) => condition(await getIntegration(name), 'Ready');

async function hubspotApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${hubspot.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

async function hubspotContactByEmail(email: string) {
  const r = await hubspotApi<{ results: { id: string; properties: Record<string, string | null> }[] }>('POST', '/crm/v3/objects/contacts/search', {
    filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }],
    properties: ['email', 'firstname', 'lastname'],
    limit: 1,
  });
  return r.results[0];
}

async function requestCount(): Promise<number> {
  return hubspot.stats().requests.total;
}

const table = (t: string) => `"${SCHEMA}"."${t}"`;

async function rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(sql, params)).rows as T[];
}

async function leader(): Promise<OperatorProcess> {
  return waitFor(() => operators.find((o) => o.alive && o.logged(/became the leader/) && !o.logged(/stopped leading/)), { timeoutMs: 20_000, what: 'a leader' });
}

describe.each(kubeBackends())('on the %s', (backend) => {
beforeAll(async () => {
  operators.length = 0;
  dir = mkdtempSync(join(tmpdir(), 'hso-e2e-'));
  kubeconfigPath = join(dir, 'kubeconfig');
  kube = await startKubeBackend(backend, { bookmarkIntervalMs: 2000 });
  await kube.writeKubeconfig(kubeconfigPath);
  client = kubeClient(kube.kubeconfig);
  hubspot = await startHubSpotSandbox({ port: 0, token: TOKEN, seed: { contacts: CONTACTS, companies: 5, demo: true } });
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  await applyObjects(client, readManifests('crds'));
  await applyObjects(client, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubspot', namespace: NS }, stringData: { token: TOKEN } } as never,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, stringData: { url: withPassword(DATABASE_URL, DB_PASSWORD) } } as never,
  ]);
  const a = startOperator(kubeconfigPath, 'operator-a');
  operators.push(a);
  await a.started();
});

afterAll(async () => {
  for (const o of operators) await o.kill('SIGKILL');
  await db?.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => {});
  await db?.query(`DROP SCHEMA IF EXISTS "${STATE}" CASCADE`).catch(() => {});
  await db?.end();
  await hubspot?.close();
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('operator end to end', () => {
  it('apply → Ready=True/Synced, records on both sides, counts in status', async () => {
    await applyObjects(client, [
      integration('crm', [{ type: 'contacts', table: 'contacts', direction: 'TwoWay', match: { property: 'email', column: 'email' } }]) as never,
      contactsMapping() as never,
    ]);
    const obj = await waitFor(async () => { const o = await getIntegration('crm'); return condition(o, 'Ready')?.status === 'True' ? o : undefined; }, { timeoutMs: 30_000, what: 'Ready=True' });
    expect(condition(obj, 'Ready')!.reason).toBe('Synced');
    const contacts = (obj.status!.objects as { type: string; hubspotRecords: number; targetRecords: number; linkedRecords: number }[])[0]!;
    expect(contacts).toMatchObject({ type: 'contacts', hubspotRecords: CONTACTS, targetRecords: CONTACTS, linkedRecords: CONTACTS });
    expect(obj.status).toMatchObject({ portalId: 1234567, observedGeneration: obj.metadata.generation });
    expect((await rows<{ n: string }>(`SELECT count(*) AS n FROM ${table('contacts')}`))[0]!.n).toBe(String(CONTACTS));
    const fm = await client.get<Obj>(R.fieldMapping, NS, 'crm-contacts');
    expect(condition(fm, 'Ready')?.status).toBe('True');
  });

  it('an edit in the table reaches HubSpot and an edit in HubSpot reaches the table', async () => {
    const [row] = await rows<{ email: string }>(`SELECT email FROM ${table('contacts')} WHERE email IS NOT NULL ORDER BY id LIMIT 1`);
    await db.query(`UPDATE ${table('contacts')} SET first_name = 'Zelda' WHERE email = $1`, [row!.email]);
    await waitFor(async () => (await hubspotContactByEmail(row!.email))?.properties.firstname === 'Zelda', { timeoutMs: 15_000, what: 'table edit in HubSpot' });
    const contact = await hubspotContactByEmail(row!.email);
    await hubspotApi('PATCH', `/crm/v3/objects/contacts/${contact!.id}`, { properties: { lastname: 'Quixote' } });
    await waitFor(async () => (await rows<{ last_name: string }>(`SELECT last_name FROM ${table('contacts')} WHERE email = $1`, [row!.email]))[0]?.last_name === 'Quixote', { timeoutMs: 15_000, what: 'HubSpot edit in the table' });
  });

  it('suspend: Ready=False/Suspended, zero HubSpot requests, edits made meanwhile arrive after resume', async () => {
    await client.patch(R.integration, NS, 'crm', { spec: { suspend: true } });
    await waitFor(async () => (await ready('crm'))?.reason === 'Suspended', { what: 'Suspended' });
    // A batch in flight at the moment of suspension completes; start counting once it has.
    const { before } = await waitFor(async () => {
      const a = await requestCount();
      await new Promise((r) => setTimeout(r, 500));
      return (await requestCount()) === a ? { before: a } : undefined;
    }, { what: 'the batch in flight to finish' });
    const [a, b] = await rows<{ email: string }>(`SELECT email FROM ${table('contacts')} WHERE email IS NOT NULL ORDER BY id LIMIT 2 OFFSET 5`);
    await db.query(`UPDATE ${table('contacts')} SET first_name = 'Paused' WHERE email = $1`, [a!.email]);
    const contactB = await hubspotContactByEmail(b!.email);
    await hubspotApi('PATCH', `/crm/v3/objects/contacts/${contactB!.id}`, { properties: { lastname: 'Meanwhile' } });
    const ourOwn = 2; // the search and the PATCH above
    // Observation window of several sync intervals (1s): nothing may reach HubSpot.
    await new Promise((r) => setTimeout(r, 3500));
    expect(await requestCount()).toBe(before + ourOwn);
    expect((await hubspotContactByEmail(a!.email))?.properties.firstname).not.toBe('Paused');
    await client.patch(R.integration, NS, 'crm', { spec: { suspend: false } });
    await waitFor(async () => (await hubspotContactByEmail(a!.email))?.properties.firstname === 'Paused', { timeoutMs: 15_000, what: 'table edit after resume' });
    await waitFor(async () => (await rows<{ last_name: string }>(`SELECT last_name FROM ${table('contacts')} WHERE email = $1`, [b!.email]))[0]?.last_name === 'Meanwhile', { timeoutMs: 15_000, what: 'HubSpot edit after resume' });
    await waitFor(async () => (await ready('crm'))?.status === 'True', { what: 'Ready after resume' });
    const events = await client.list<Obj & { involvedObject: { name: string }; reason: string }>(R.event, { namespace: NS });
    const reasons = events.items.filter((e) => e.involvedObject.name === 'crm').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Suspended', 'Resumed']));
  });

  it('the sync-requested-at annotation runs a cycle at once and is recorded', async () => {
    await client.patch(R.integration, NS, 'crm', { spec: { schedule: { interval: '1h' } } });
    const gen = (await getIntegration('crm')).metadata.generation;
    await waitFor(async () => { const o = await getIntegration('crm'); return o.status?.observedGeneration === gen && !condition(o, 'Reconciling'); }, { what: 'new interval applied' });
    const [row] = await rows<{ email: string }>(`SELECT email FROM ${table('contacts')} WHERE email IS NOT NULL ORDER BY id LIMIT 1 OFFSET 10`);
    const contact = await hubspotContactByEmail(row!.email);
    await hubspotApi('PATCH', `/crm/v3/objects/contacts/${contact!.id}`, { properties: { firstname: 'Requested' } });
    const stamp = new Date().toISOString();
    await client.patch(R.integration, NS, 'crm', { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': stamp } } });
    await waitFor(async () => (await getIntegration('crm')).status?.lastHandledSyncRequest === stamp, { timeoutMs: 10_000, what: 'lastHandledSyncRequest' });
    await waitFor(async () => (await rows<{ first_name: string }>(`SELECT first_name FROM ${table('contacts')} WHERE email = $1`, [row!.email]))[0]?.first_name === 'Requested', { timeoutMs: 10_000, what: 'the requested cycle pulled the change' });
    await client.patch(R.integration, NS, 'crm', { spec: { schedule: { interval: '1s' } } });
  });

  it('a bad token → AuthenticationFailed + Stalled; fixing the Secret recovers without a restart', async () => {
    await client.patch(R.secret, NS, 'hubspot', { stringData: { token: WRONG_TOKEN } });
    await waitFor(async () => (await ready('crm'))?.reason === 'AuthenticationFailed', { timeoutMs: 15_000, what: 'AuthenticationFailed' });
    expect(condition(await getIntegration('crm'), 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
    await client.patch(R.secret, NS, 'hubspot', { stringData: { token: TOKEN } });
    await waitFor(async () => (await ready('crm'))?.status === 'True', { timeoutMs: 15_000, what: 'recovered' });
    expect(condition(await getIntegration('crm'), 'Stalled')).toBeUndefined();
  });

  it('an unknown property in a FieldMapping → InvalidSpec naming it', async () => {
    await applyObjects(client, [contactsMapping([{ property: 'favourite_colour_xyz', column: 'colour' }]) as never]);
    const fm = await waitFor(async () => { const o = await client.get<Obj>(R.fieldMapping, NS, 'crm-contacts'); return condition(o, 'Ready')?.reason === 'InvalidSpec' ? o : undefined; }, { timeoutMs: 15_000, what: 'FieldMapping InvalidSpec' });
    expect(condition(fm, 'Ready')!.message).toContain('favourite_colour_xyz');
    expect(condition(fm, 'Ready')!.message).toContain('spec.fields[3]');
    await waitFor(async () => (await ready('crm'))?.reason === 'InvalidSpec', { what: 'integration InvalidSpec' });
    await applyObjects(client, [contactsMapping() as never]);
    await waitFor(async () => (await ready('crm'))?.status === 'True', { timeoutMs: 15_000, what: 'Ready again' });
  });

  it('record-level failures → Degraded with category and counts; metrics and an Event agree', async () => {
    await db.query(`INSERT INTO ${table('contacts')} (email, first_name, last_name) VALUES ('not-an-email', 'Broken', 'Row')`);
    const obj = await waitFor(async () => { const o = await getIntegration('crm'); return condition(o, 'Degraded') ? o : undefined; }, { timeoutMs: 15_000, what: 'Degraded' });
    expect(condition(obj, 'Degraded')).toMatchObject({ status: 'True', reason: 'Validation' });
    expect(condition(obj, 'Ready')?.status).toBe('True');
    const errors = obj.status!.errors as { category: string; records: number }[];
    expect(errors).toEqual([expect.objectContaining({ category: 'Validation', records: 1 })]);
    expect(obj.status!.errorCount).toBe(1);
    const op = await leader();
    await waitFor(async () => /hubspot_operator_failing_records\{namespace="e2e",integration="crm",category="Validation"\} 1\b/.test(await op.metrics()), { what: 'failing_records metric' });
    expect(await op.metrics()).toMatch(/hubspot_operator_sync_errors_total\{[^}]*category="Validation"[^}]*\} [1-9]/);
    const events = await client.list<Obj & { involvedObject: { name: string }; reason: string; type: string; message: string }>(R.event, { namespace: NS });
    expect(events.items.find((e) => e.involvedObject.name === 'crm' && e.reason === 'SyncFailed' && e.message.startsWith('Validation: 1 record'))).toMatchObject({ type: 'Warning' });
    await db.query(`UPDATE ${table('contacts')} SET email = 'fixed.row@example.com' WHERE email = 'not-an-email'`);
    await waitFor(async () => !condition(await getIntegration('crm'), 'Degraded'), { timeoutMs: 15_000, what: 'Degraded cleared' });
  });

  it('killed with SIGKILL mid-import and restarted, the operator converges without duplicates', async () => {
    const total = 600;
    for (let i = 0; i < total; i += 100) {
      const inputs = Array.from({ length: 100 }, (_, k) => ({ properties: { name: `Bulk Co ${i + k}`, domain: `bulk${i + k}.example.com` } }));
      await hubspotApi('POST', '/crm/v3/objects/companies/batch/create', { inputs });
    }
    hubspot.setFaults({ latencyMs: 150 });
    await applyObjects(client, [integration('bulk', [{ type: 'companies', table: 'bulk_companies', direction: 'TwoWay', match: { property: 'domain', column: 'domain' } }], { deletionPolicy: 'Orphan' }) as never]);
    const count = async () => {
      try {
        return Number((await rows<{ n: string }>(`SELECT count(*) AS n FROM ${table('bulk_companies')}`))[0]!.n);
      } catch {
        return 0;
      }
    };
    await waitFor(async () => (await count()) > 0, { timeoutMs: 30_000, what: 'import under way' });
    const victim = await leader();
    await victim.kill('SIGKILL');
    const atKill = await count();
    expect(atKill).toBeLessThan(total + 5);
    hubspot.setFaults({});
    const restarted = startOperator(kubeconfigPath, 'operator-a2');
    operators.push(restarted);
    await restarted.started();
    await waitFor(async () => (await ready('bulk'))?.status === 'True', { timeoutMs: 40_000, what: 'bulk Ready after restart' });
    expect(await count()).toBe(total + 5);
    const dup = await rows(`SELECT domain FROM ${table('bulk_companies')} GROUP BY domain HAVING count(*) > 1`);
    expect(dup).toEqual([]);
  });

  it('two operator processes: only the leader syncs; killing it hands over', async () => {
    const standby = startOperator(kubeconfigPath, 'operator-b');
    operators.push(standby);
    await standby.started();
    const current = await leader();
    expect(current).not.toBe(standby);
    // The standby has a warm cache but runs no sync cycles.
    expect(standby.logged(/sync cycle started/)).toBe(false);
    await current.kill('SIGKILL');
    await waitFor(() => standby.logged(/became the leader/), { timeoutMs: 15_000, what: 'standby takes over' });
    const stamp = `handover-${Date.now()}`;
    await client.patch(R.integration, NS, 'crm', { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': stamp } } });
    await waitFor(async () => (await getIntegration('crm')).status?.lastHandledSyncRequest === stamp, { timeoutMs: 15_000, what: 'new leader syncs' });
    expect(standby.logged(/sync cycle started/)).toBe(true);
  });

  it('SIGTERM stops gracefully: exit code 0 and the Lease released, so the next operator leads at once', async () => {
    const current = await leader();
    expect(await current.kill('SIGTERM')).toBe(0);
    expect(current.logged(/"msg":"stopped"/)).toBe(true);
    const lease = await client.get<Obj & { spec: { holderIdentity?: string } }>(R.lease, 'default', 'hubspot-operator-leader');
    expect(lease.spec.holderIdentity ?? '').toBe('');
    const next = startOperator(kubeconfigPath, 'operator-c');
    operators.push(next);
    await next.started();
    await waitFor(() => next.logged(/became the leader/), { timeoutMs: 10_000, what: 'the next operator leads' });
  });

  it('delete with Orphan keeps the sync state; with Delete removes state and triggers; business rows stay; objects are gone', async () => {
    const uidBulk = (await getIntegration('bulk')).metadata.uid!;
    const uidCrm = (await getIntegration('crm')).metadata.uid!;
    const tableRows = Number((await rows<{ n: string }>(`SELECT count(*) AS n FROM ${table('contacts')}`))[0]!.n);
    const hubspotContacts = hubspot.stats().records.contacts;

    const triggers = (t: string) => rows(`SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`, [`"${SCHEMA}".${t}`]);
    const bulkTriggers = await triggers('bulk_companies');
    expect(bulkTriggers.length).toBeGreaterThan(0);
    await client.delete(R.integration, NS, 'bulk');
    await waitFor(async () => { try { await getIntegration('bulk'); return false; } catch { return true; } }, { timeoutMs: 15_000, what: 'bulk gone' });
    expect((await rows(`SELECT 1 FROM "${STATE}".links WHERE integration_uid = $1 LIMIT 1`, [uidBulk])).length).toBe(1);
    expect(await triggers('bulk_companies')).toEqual(bulkTriggers);

    expect((await triggers('contacts')).length).toBeGreaterThan(0);
    await client.delete(R.integration, NS, 'crm');
    await waitFor(async () => { try { await getIntegration('crm'); return false; } catch { return true; } }, { timeoutMs: 15_000, what: 'crm gone' });
    expect(await triggers('contacts')).toEqual([]);
    expect(await rows(`SELECT 1 FROM "${STATE}".links WHERE integration_uid = $1`, [uidCrm])).toEqual([]);
    expect(await rows(`SELECT 1 FROM "${STATE}".outbox WHERE integration_uid = $1`, [uidCrm])).toEqual([]);
    expect(Number((await rows<{ n: string }>(`SELECT count(*) AS n FROM ${table('contacts')}`))[0]!.n)).toBe(tableRows);
    expect(hubspot.stats().records.contacts).toBe(hubspotContacts);
  });

  it('no secret value appears in any log line, Event or status', async () => {
    const secrets = [TOKEN, WRONG_TOKEN, DB_PASSWORD];
    const logs = operators.flatMap((o) => o.lines).join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    const events = JSON.stringify((await client.list(R.event, { namespace: NS })).items);
    const statuses = JSON.stringify([
      ...(await client.list(R.integration, { namespace: NS })).items,
      ...(await client.list(R.fieldMapping, { namespace: NS })).items,
    ].map((o) => (o as Obj).status));
    const metrics = await (await leader()).metrics();
    for (const s of secrets) {
      expect(logs).not.toContain(s);
      expect(events).not.toContain(s);
      expect(statuses).not.toContain(s);
      expect(metrics).not.toContain(s);
    }
  });
});
});
