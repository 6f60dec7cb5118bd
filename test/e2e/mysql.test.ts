/**
 * The operator as a process (`hubspot-operator run`) with a MySQL / MariaDB target: the
 * Kubernetes API sandbox, the HubSpot API sandbox and the MariaDB server (MYSQL_URL, else
 * 127.0.0.1:3306; skipped like the other MySQL tests when there is none). The database user has
 * exactly the privileges docs/mysql.md lists, and a password, so the secret scan has one to
 * look for. One story: apply → Ready, edits both ways (the table's through the outbox poll),
 * delete with deletionPolicy Delete → triggers and state gone, business rows kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyObjects, readManifests } from '../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../operator/src/sandbox/kube/index.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { waitFor } from '../helpers/wait.js';
import { mysqlUrl, withDatabase } from '../helpers/mysql.js';
import { R, condition, kubeClient, startOperator, type Obj, type OperatorProcess } from './harness.js';

const server = await mysqlUrl();
const NS = 'e2e-mysql';
const TOKEN = `pat-e2e-${Math.random().toString(36).slice(2)}-secret`;
const DB = `e2e_${randomBytes(3).toString('hex')}`;
const STATE = `${DB}_state`;
const USER = `hso_${randomBytes(3).toString('hex')}`;
const DB_PASSWORD = `dbpw-${Math.random().toString(36).slice(2)}`;
const CONTACTS = 30;

describe.skipIf(!server)('operator end to end on MySQL / MariaDB', () => {
  let kube: KubeSandbox;
  let hubspot: HubSpotSandbox;
  let client: KubeClient;
  let root: mysql.Connection;
  let dir: string;
  let operator: OperatorProcess | undefined;

  const getIntegration = () => client.get<Obj>(R.integration, NS, 'crm');
  const rows = async <T>(sql: string, params: unknown[] = []) => (await root.query(sql, params))[0] as T[];

  async function hubspotContactByEmail(email: string) {
    const res = await fetch(`${hubspot.url}/crm/v3/objects/contacts/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }], properties: ['email', 'firstname', 'lastname'], limit: 1 }),
    });
    return ((await res.json()) as { results: { id: string; properties: Record<string, string | null> }[] }).results[0];
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hso-e2e-mysql-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    kube = await startKubeSandbox({ port: 0, bookmarkIntervalMs: 2000 });
    await kube.writeKubeconfig(kubeconfigPath);
    client = kubeClient(kube.kubeconfig);
    hubspot = await startHubSpotSandbox({ port: 0, token: TOKEN, seed: { contacts: CONTACTS, companies: 0, demo: true } });
    root = await mysql.createConnection({ uri: server! });
    await root.query(`CREATE DATABASE \`${DB}\``);
    await root.query(`CREATE DATABASE \`${STATE}\``);
    // docs/mysql.md: these privileges on the business database, all on the state database.
    await root.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${DB_PASSWORD}'`);
    await root.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, TRIGGER ON \`${DB}\`.* TO '${USER}'@'%'`);
    await root.query(`GRANT ALL PRIVILEGES ON \`${STATE}\`.* TO '${USER}'@'%'`);
    const u = new URL(withDatabase(server!, DB));
    u.username = USER;
    u.password = DB_PASSWORD;
    await applyObjects(client, readManifests('crds'));
    await applyObjects(client, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubspot', namespace: NS }, stringData: { token: TOKEN } } as never,
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, stringData: { url: u.toString() } } as never,
    ]);
    operator = startOperator(kubeconfigPath, 'operator-mysql');
    await operator.started();
  });

  afterAll(async () => {
    await operator?.kill('SIGKILL');
    await root?.query(`DROP DATABASE IF EXISTS \`${DB}\``).catch(() => {});
    await root?.query(`DROP DATABASE IF EXISTS \`${STATE}\``).catch(() => {});
    await root?.query(`DROP USER IF EXISTS '${USER}'@'%'`).catch(() => {});
    await root?.end();
    await hubspot?.close();
    await kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('apply → Ready=True/Synced with the table created (createTables), records on both sides', async () => {
    await applyObjects(client, [
      {
        apiVersion: 'hubspot-operator.dev/v1alpha1',
        kind: 'HubSpotIntegration',
        metadata: { name: 'crm', namespace: NS },
        spec: {
          hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } } },
          target: { mysql: { connectionSecretRef: { name: 'db' }, database: DB, stateDatabase: STATE, createTables: true } },
          objects: [{ type: 'contacts', table: 'contacts', direction: 'TwoWay', match: { property: 'email', column: 'email' } }],
          schedule: { interval: '1m', fullResyncInterval: '1h' },
          deletionPolicy: 'Delete',
        },
      } as never,
      {
        apiVersion: 'hubspot-operator.dev/v1alpha1',
        kind: 'FieldMapping',
        metadata: { name: 'crm-contacts', namespace: NS },
        spec: { integrationRef: { name: 'crm' }, objectType: 'contacts', fields: [{ property: 'email', column: 'email' }, { property: 'firstname', column: 'first_name' }, { property: 'lastname', column: 'last_name' }] },
      } as never,
    ]);
    const obj = await waitFor(async () => { const o = await getIntegration(); return condition(o, 'Ready')?.status === 'True' ? o : undefined; }, { timeoutMs: 30_000, what: 'Ready=True' });
    expect(condition(obj, 'Ready')!.reason).toBe('Synced');
    expect((obj.status!.objects as Record<string, unknown>[])[0]).toMatchObject({ type: 'contacts', hubspotRecords: CONTACTS, targetRecords: CONTACTS, linkedRecords: CONTACTS });
    expect(Number((await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${DB}\`.contacts`))[0]!.n)).toBe(CONTACTS);
    const triggers = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`, [DB]);
    expect(Number(triggers[0]!.n)).toBe(3);
  });

  it('an edit in the table reaches HubSpot (outbox poll; the schedule is 1 minute) and an edit in HubSpot reaches the table on request', async () => {
    const [row] = await rows<{ email: string }>(`SELECT email FROM \`${DB}\`.contacts WHERE email IS NOT NULL ORDER BY id LIMIT 1`);
    const started = Date.now();
    await root.query(`UPDATE \`${DB}\`.contacts SET first_name = 'Zelda' WHERE email = ?`, [row!.email]);
    await waitFor(async () => (await hubspotContactByEmail(row!.email))?.properties.firstname === 'Zelda', { timeoutMs: 15_000, what: 'the table edit in HubSpot' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const contact = await hubspotContactByEmail(row!.email);
    await fetch(`${hubspot.url}/crm/v3/objects/contacts/${contact!.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { lastname: 'Quixote' } }),
    });
    await client.patch(R.integration, NS, 'crm', { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': new Date().toISOString() } } });
    await waitFor(async () => (await rows<{ last_name: string }>(`SELECT last_name FROM \`${DB}\`.contacts WHERE email = ?`, [row!.email]))[0]?.last_name === 'Quixote', { timeoutMs: 15_000, what: 'the HubSpot edit in the table' });
  });

  it('delete with deletionPolicy Delete removes triggers and state; business rows stay; no secret in logs or Events', async () => {
    const uid = (await getIntegration()).metadata.uid!;
    await client.delete(R.integration, NS, 'crm');
    await waitFor(async () => { try { await getIntegration(); return false; } catch { return true; } }, { timeoutMs: 15_000, what: 'the integration gone' });
    expect(Number((await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`, [DB]))[0]!.n)).toBe(0);
    for (const t of ['links', 'cursors', 'outbox', 'record_errors', 'audit_log', 'integrations']) {
      expect(Number((await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${STATE}\`.${t} WHERE integration_uid = ?`, [uid]))[0]!.n), t).toBe(0);
    }
    expect(Number((await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${DB}\`.contacts`))[0]!.n)).toBe(CONTACTS);

    const logs = operator!.lines.join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    const events = JSON.stringify((await client.list(R.event, { namespace: NS })).items);
    for (const s of [TOKEN, DB_PASSWORD]) {
      expect(logs).not.toContain(s);
      expect(events).not.toContain(s);
    }
  });
});
