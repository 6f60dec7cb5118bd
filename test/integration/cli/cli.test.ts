/**
 * The CLI of issue 13 (DESIGN §2.9) against the Kubernetes API sandbox (with RBAC), the HubSpot
 * API sandbox and PostgreSQL, with the real operator syncing in this process: every command in
 * every output format, a user who may not read the connection Secret, the one-line failures
 * (unknown integration, wrong namespace, unreachable database), and `kubectl hubspot status`
 * through kubectl's plugin mechanism.
 */
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { KubeConfig } from '../../../operator/src/kube/config.js';
// Only to write a kubeconfig with a second context (the operator's own KubeConfig only reads).
import { KubeConfig as WritableKubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type ResourceType } from '../../../operator/src/kube/client.js';
import { runOperator, type RunningOperator } from '../../../operator/src/controller/run.js';
import { createMetrics } from '../../../operator/src/observability/metrics.js';
import { applyObjects, readManifests } from '../../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { DATABASE_URL, R, condition, uniqueName, withPassword, type Obj } from '../../e2e/harness.js';
import { waitFor } from '../../helpers/wait.js';
import { kubectlBinary } from '../kube/kubectl-helper.js';
import type { CliCommand } from '../../../operator/src/cli/index.js';
import { cli, cliProcess, csvObjects, exec, parseCsv, tableRows } from './helpers.js';

const NS = 'crm';
const NAME = 'acme';
const TOKEN = `pat-cli-${Math.random().toString(36).slice(2)}`;
const DB_PASSWORD = `dbpw-${Math.random().toString(36).slice(2)}`;
const SCHEMA = uniqueName('cli');
const STATE = uniqueName('cli_state');
const CONTACTS = 12;
const BAD_EMAIL = 'not-an-email, "really"';

const RBAC = {
  sa: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount' },
  role: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role' },
  binding: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding' },
} satisfies Record<string, ResourceType>;

let kube: KubeSandbox;
let hubspot: HubSpotSandbox;
let client: KubeClient;
let db: pg.Client;
let operator: RunningOperator;
let dir: string;
let adminKc: string;
let viewerKc: string;
let badKey: string;
const operatorLog: string[] = [];
const K = () => ['--kubeconfig', adminKc, '-n', NS];

const getIntegration = () => client.get<Obj>(R.integration, NS, NAME);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hso-cli-'));
  kube = await startKubeSandbox({ authorization: 'RBAC', bookmarkIntervalMs: 2000 });
  adminKc = join(dir, 'admin.kubeconfig');
  await kube.writeKubeconfig(adminKc);
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  client = new KubeClient(kc);
  hubspot = await startHubSpotSandbox({ port: 0, token: TOKEN, seed: { contacts: CONTACTS } });
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  await applyObjects(client, readManifests('crds'));
  await applyObjects(client, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-hubspot', namespace: NS }, stringData: { token: TOKEN } } as never,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-db', namespace: NS }, stringData: { url: withPassword(DATABASE_URL, DB_PASSWORD) } } as never,
  ]);
  // A user who may look at integrations but not read Secrets.
  await client.create(RBAC.sa, NS, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'viewer', namespace: NS } });
  await client.create(RBAC.role, NS, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'hsi-viewer', namespace: NS },
    rules: [{ apiGroups: ['hubspot-operator.dev'], resources: ['hubspotintegrations'], verbs: ['get', 'list', 'watch'] }],
  });
  await client.create(RBAC.binding, NS, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'hsi-viewer', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'hsi-viewer' },
    subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: NS }],
  });
  viewerKc = join(dir, 'viewer.kubeconfig');
  writeFileSync(viewerKc, kube.kubeconfigFor(kube.issueToken(NS, 'viewer'), NS));

  operator = await runOperator({
    kubeConfig: kc,
    logger: pino({ level: process.env.CLI_TEST_LOG ? 'debug' : 'silent' }, { write: (line: string) => void operatorLog.push(line) }),
    metrics: createMetrics({ defaultMetrics: false }),
    metricsPort: 0,
    host: '127.0.0.1',
    leaderElection: { enabled: false, namespace: 'default', name: 'unused' },
    watchTimeoutSeconds: 30,
  });
  await applyObjects(client, [
    {
      apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'HubSpotIntegration', metadata: { name: NAME, namespace: NS },
      spec: {
        hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'acme-hubspot', key: 'token' } } } },
        target: { postgres: { connectionSecretRef: { name: 'acme-db', key: 'url' }, schema: SCHEMA, stateSchema: STATE, createTables: true } },
        objects: [{ type: 'contacts', table: 'contacts', direction: 'TwoWay', match: { property: 'email', column: 'email' } }],
        schedule: { interval: '1h', fullResyncInterval: '24h' },
      },
    } as never,
    {
      apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'FieldMapping', metadata: { name: 'acme-contacts', namespace: NS },
      spec: { integrationRef: { name: NAME }, objectType: 'contacts', fields: [{ property: 'email', column: 'email' }, { property: 'firstname', column: 'first_name' }, { property: 'lastname', column: 'last_name' }] },
    } as never,
  ]);
  await waitFor(async () => condition(await getIntegration(), 'Ready')?.status === 'True', { timeoutMs: 60_000, what: 'acme Ready=True' });
  // One record HubSpot rejects: an invalid email (with a comma and quotes, so CSV must quote it).
  const ins = await db.query<{ id: string }>(`INSERT INTO "${SCHEMA}".contacts (email, first_name, last_name) VALUES ($1, 'Broken', 'Row') RETURNING id::text AS id`, [BAD_EMAIL]);
  badKey = ins.rows[0]!.id;
  await client.patch(R.integration, NS, NAME, { metadata: { annotations: { 'hubspot-operator.dev/sync-requested-at': 'setup' } } });
  await waitFor(async () => (await getIntegration()).status?.errorCount === 1, { timeoutMs: 30_000, what: 'one failing record in status' });
});

afterAll(async () => {
  // Each step bounded, and named on stderr if it overruns (a teardown once overran the hook
  // timeout and could not be reproduced; this says which step if it recurs).
  const step = async (what: string, fn: () => Promise<unknown> | undefined) => {
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<void>((res) => { timer = setTimeout(() => { console.error(`cli.test teardown: ${what} still running after 20 s; moving on`); if (process.env.CLI_TEST_LOG) console.error(operatorLog.slice(-25).join('')); res(); }, 20_000); });
    await Promise.race([Promise.resolve(fn()).catch((err) => console.error(`cli.test teardown: ${what}: ${err}`)), overrun]);
    clearTimeout(timer);
  };
  await step('operator.stop', () => operator?.stop());
  await step('drop schemas', async () => {
    await db?.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await db?.query(`DROP SCHEMA IF EXISTS "${STATE}" CASCADE`);
  });
  await step('db.end', () => db?.end());
  await step('hubspot.close', () => hubspot?.close());
  await step('client.close', () => client?.close());
  await step('kube.close', () => kube?.close());
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('status', () => {
  it('table: the Sync Health page with conditions, counts, errors by category, API usage, lag and last sync', async () => {
    const st = (await getIntegration()).status as Record<string, never> & { objects: { linkedRecords: number; hubspotRecords: number; targetRecords: number }[]; apiUsage: { requestsLast24h: number; dailyBudget: number } };
    const r = await cli('status', NAME, ...K());
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Name:\s+acme$/m);
    expect(r.stdout).toMatch(/^Namespace:\s+crm$/m);
    expect(r.stdout).toMatch(/^Ready:\s+True \(Synced\)/m);
    expect(r.stdout).toMatch(/^Last sync:\s+\d{4}-\d\d-\d\dT.*ago\)$/m);
    expect(r.stdout).toMatch(/^Lag:\s+\S+ since the last successful sync, \d+ changes? captured/m);
    expect(r.stdout).toMatch(/^API usage:\s+\d+ of 250000 requests in the last 24h \([\d.]+% of the daily budget\), 0 rate-limited$/m);
    const objects = r.stdout.split('Objects:\n')[1]!.split('\n\n')[0]!;
    const [header, contacts] = tableRows(objects);
    expect(header).toEqual(['TYPE', 'HUBSPOT', 'TARGET', 'LINKED', 'PENDING', 'LAST CYCLE TO TARGET', 'TO HUBSPOT', 'FAILED']);
    expect(contacts!.slice(0, 4)).toEqual(['contacts', String(st.objects[0]!.hubspotRecords), String(st.objects[0]!.targetRecords), String(st.objects[0]!.linkedRecords)]);
    expect(r.stdout).toMatch(/^Errors: 1 record failing$/m);
    expect(r.stdout).toMatch(/^\s+Validation\s+1\s+\S+ ago\s+.*invalid/m);
    expect(r.stdout).toMatch(/^Conditions:\n\s+TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE\n\s+Ready\s+True\s+Synced/m);
    expect(r.stdout).toMatch(/^\s+Degraded\s+True\s+Validation/m);
  });

  it('json: the same figures as the resource status', async () => {
    const obj = await getIntegration();
    const r = await cli('status', NAME, ...K(), '-o', 'json');
    expect(r.code).toBe(0);
    const h = JSON.parse(r.stdout);
    const st = obj.status as Record<string, unknown> & { objects: unknown[]; errors: { category: string; records: number }[] };
    expect(h).toMatchObject({ namespace: NS, name: NAME, mode: 'Sync', suspended: false, ready: { status: 'True', reason: 'Synced' }, errorCount: 1 });
    expect(h.objects).toEqual([expect.objectContaining({ type: 'contacts', hubspotRecords: CONTACTS, linkedRecords: CONTACTS, targetRecords: CONTACTS + 1 })]);
    expect(h.errors).toEqual([expect.objectContaining({ category: 'Validation', records: 1 })]);
    expect(h.apiUsage.requestsLast24h).toBeGreaterThan(0);
    expect(h.apiUsage.dailyBudget).toBe(250000);
    expect(h.lastSyncTime).toBe(st.lastSyncTime);
    expect(typeof h.lag.sinceLastSuccessfulSyncSeconds).toBe('number');
  });

  it('csv: one RFC 4180 record per object type', async () => {
    const r = await cli('status', NAME, ...K(), '-o', 'csv');
    expect(r.code).toBe(0);
    const rows = csvObjects(r.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ namespace: NS, name: NAME, ready: 'True', type: 'contacts', hubspotRecords: String(CONTACTS), linkedRecords: String(CONTACTS), errorCount: '1', dailyBudget: '250000' });
  });

  it('--records names the impacted records of each category (read from the state schema, so it needs the Secret)', async () => {
    const r = await cli('status', NAME, ...K(), '--records');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`\n  Validation records: contacts key ${badKey}\n`);
    const j = JSON.parse((await cli('status', NAME, ...K(), '--records', '-o', 'json')).stdout);
    expect(j.errors[0].impacted).toEqual([{ objectType: 'contacts', hubspotId: null, targetKey: badKey, direction: 'toHubSpot' }]);
    const denied = await cli('status', NAME, '--kubeconfig', viewerKc, '--records');
    expect(denied).toMatchObject({ code: 1, stdout: '', stderr: 'hubspot-operator: cannot read Secret crm/acme-db: forbidden (needs get on secrets in namespace crm; or pass --database-url)\n' });
    expect((await cli('status', '--records', ...K())).stderr).toBe('hubspot-operator: status: --records needs an integration NAME\n');
  });

  it('without NAME: one line per integration; the namespace comes from the kubeconfig context, -A lists all', async () => {
    // The viewer's kubeconfig context has namespace crm: no -n needed.
    const list = await cli('status', '--kubeconfig', viewerKc);
    expect(list.code).toBe(0);
    const [header, row] = tableRows(list.stdout);
    expect(header).toEqual(['NAMESPACE', 'NAME', 'MODE', 'READY', 'REASON', 'SUSPENDED', 'OBJECTS', 'LINKED', 'PENDING', 'ERRORS', 'LAST SYNC', 'API 24H']);
    expect(row!.slice(0, 7)).toEqual([NS, NAME, 'Sync', 'True', 'Synced', 'false', 'contacts']);
    expect(row![9]).toBe('1');
    const all = await cli('status', '-A', '--kubeconfig', adminKc, '-o', 'json');
    expect(JSON.parse(all.stdout).items.map((i: { name: string }) => i.name)).toEqual([NAME]);
    const csv = csvObjects((await cli('status', '-A', '--kubeconfig', adminKc, '-o', 'csv')).stdout);
    expect(csv).toEqual([expect.objectContaining({ namespace: NS, name: NAME, errorCount: '1', objects: 'contacts' })]);
    // --context picks another context of the kubeconfig, and its namespace.
    const two = new WritableKubeConfig();
    two.loadFromString(kube.kubeconfig);
    const current = two.getContextObject(two.getCurrentContext())!;
    two.addContext({ name: 'crm-team', cluster: current.cluster, user: current.user, namespace: NS });
    const twoPath = join(dir, 'two-contexts.kubeconfig');
    writeFileSync(twoPath, two.exportConfig());
    expect(JSON.parse((await cli('status', '--kubeconfig', twoPath, '-o', 'json')).stdout).items).toEqual([]); // current context: namespace default
    expect(JSON.parse((await cli('status', '--kubeconfig', twoPath, '--context', 'crm-team', '-o', 'json')).stdout).items.map((i: { name: string }) => i.name)).toEqual([NAME]);
    // A namespace without integrations: a note on stderr, like kubectl.
    const empty = await cli('status', '--kubeconfig', adminKc, '-n', 'default');
    expect(empty).toMatchObject({ code: 0, stdout: '', stderr: 'No HubSpotIntegrations found in namespace default.\n' });
    // The viewer may not list across namespaces.
    const denied = await cli('status', '-A', '--kubeconfig', viewerKc);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe('hubspot-operator: cannot list HubSpotIntegrations in all namespaces: forbidden (needs list on hubspotintegrations.hubspot-operator.dev at the cluster scope)\n');
  });
});

describe('errors', () => {
  async function stateErrors() {
    const uid = (await getIntegration()).metadata.uid;
    return (await db.query(`SELECT * FROM "${STATE}".record_errors WHERE integration_uid = $1`, [uid])).rows;
  }

  it('table, json and csv list each failing record from the state schema', async () => {
    const [row] = await stateErrors();
    expect(row).toMatchObject({ target_key: badKey, category: 'Validation' });
    const json = await cli('errors', NAME, ...K(), '-o', 'json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ namespace: NS, name: NAME, count: 1 });
    expect(parsed.items).toEqual([{
      objectType: 'contacts', hubspotId: null, targetKey: badKey, direction: 'toHubSpot', category: 'Validation',
      message: row.message, correlationId: row.correlation_id, firstSeen: new Date(row.first_seen).toISOString(), lastSeen: new Date(row.last_seen).toISOString(),
    }]);
    expect(row.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.message).toContain(BAD_EMAIL);

    const csv = await cli('errors', NAME, ...K(), '-o', 'csv');
    const records = parseCsv(csv.stdout);
    expect(records[0]).toEqual(['objectType', 'hubspotId', 'targetKey', 'direction', 'category', 'message', 'correlationId', 'firstSeen', 'lastSeen']);
    // The message holds commas and quotes: quoted, quotes doubled, and it round-trips exactly.
    expect(csv.stdout).toContain('"contacts key');
    expect(records[1]).toEqual(['contacts', '', badKey, 'toHubSpot', 'Validation', row.message, row.correlation_id, parsed.items[0].firstSeen, parsed.items[0].lastSeen]);

    const table = await cli('errors', NAME, ...K());
    const [header, line] = tableRows(table.stdout);
    expect(header).toEqual(['OBJECT', 'HUBSPOT ID', 'TARGET KEY', 'DIRECTION', 'CATEGORY', 'FIRST SEEN', 'LAST SEEN', 'CORRELATION ID', 'MESSAGE']);
    expect(line!.slice(0, 5)).toEqual(['contacts', '-', badKey, 'toHubSpot', 'Validation']);
    expect(line![7]).toBe(row.correlation_id);
  });

  it('--category and --object filter; a category with no records prints a note and exits 0', async () => {
    expect(JSON.parse((await cli('errors', NAME, ...K(), '--category', 'validation', '--object', 'contacts', '-o', 'json')).stdout).count).toBe(1);
    const none = await cli('errors', NAME, ...K(), '--category', 'Duplicate');
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'No failing records for crm/acme in category Duplicate.\n' });
    expect(parseCsv((await cli('errors', NAME, ...K(), '--category', 'Duplicate', '-o', 'csv')).stdout)).toHaveLength(1); // header only
    const bad = await cli('errors', NAME, ...K(), '--category', 'Oops');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^hubspot-operator: --category: "Oops" is not an error category; expected one of Validation, .*Transient\n$/);
    const badObject = await cli('errors', NAME, ...K(), '--object', 'deals');
    expect(badObject).toMatchObject({ code: 2, stderr: 'hubspot-operator: --object: crm/acme does not sync "deals"; it syncs contacts\n' });
  });
});

describe('audit', () => {
  it('table, json and csv show what the sync did, oldest first; --record and --since narrow it', async () => {
    const uid = (await getIntegration()).metadata.uid;
    const total = Number((await db.query(`SELECT count(*) AS n FROM "${STATE}".audit_log WHERE integration_uid = $1`, [uid])).rows[0].n);
    expect(total).toBeGreaterThanOrEqual(CONTACTS + 1);
    const json = JSON.parse((await cli('audit', NAME, ...K(), '-o', 'json')).stdout);
    expect(json.count).toBe(total);
    expect(json.items.filter((i: { operation: string; outcome: string }) => i.operation === 'create' && i.outcome === 'ok')).toHaveLength(CONTACTS);
    const times = json.items.map((i: { at: string }) => i.at);
    expect([...times].sort()).toEqual(times);

    const one = JSON.parse((await cli('audit', NAME, ...K(), '--record', `target:${badKey}`, '-o', 'json')).stdout);
    expect(one.items.length).toBeGreaterThanOrEqual(1);
    expect(one.items.every((i: { targetKey: string }) => i.targetKey === badKey)).toBe(true);
    expect(one.items.at(-1)).toMatchObject({ objectType: 'contacts', direction: 'toHubSpot', outcome: 'failed', category: 'Validation' });

    const csv = csvObjects((await cli('audit', NAME, ...K(), '--record', `target:${badKey}`, '-o', 'csv')).stdout);
    expect(csv.at(-1)).toMatchObject({ targetKey: badKey, outcome: 'failed', category: 'Validation', message: one.items.at(-1).message });

    const table = await cli('audit', NAME, ...K(), '--record', `target:${badKey}`);
    const [header, ...lines] = tableRows(table.stdout);
    expect(header).toEqual(['TIME', 'OBJECT', 'DIRECTION', 'OPERATION', 'HUBSPOT ID', 'TARGET KEY', 'OUTCOME', 'CATEGORY', 'FIELDS', 'MESSAGE']);
    expect(lines.at(-1)!.slice(1, 8)).toEqual(['contacts', 'toHubSpot', one.items.at(-1).operation, '-', badKey, 'failed', 'Validation']);

    const future = await cli('audit', NAME, ...K(), '--since', '2999-01-01T00:00:00Z');
    expect(future).toMatchObject({ code: 0, stdout: '' });
    expect(future.stderr).toMatch(/^No audit entries for crm\/acme since 2999-01-01T00:00:00.000Z\.\n$/);
    expect((await cli('audit', NAME, ...K(), '--since', 'yesterday')).stderr).toBe('hubspot-operator: --since: "yesterday" is neither a duration (30s, 15m, 1h, 7d) nor a time (2026-11-23T10:00:00Z)\n');
  });
});

describe('plan', () => {
  it('without status.plan (mode Sync): one line saying how to get one, exit 2 in every format', async () => {
    for (const o of ['table', 'json', 'csv']) {
      const r = await cli('plan', NAME, ...K(), '-o', o);
      expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'hubspot-operator: crm/acme has no plan: status.plan is computed in spec.mode: Observe (the integration is in mode Sync)\n' });
    }
  });
});

describe('sync, resync, suspend, resume', () => {
  it('sync --wait sets the annotation and returns once the operator has carried it out (table, json, csv)', async () => {
    const t = await cli('sync', NAME, ...K(), '--wait', '--timeout', '30s');
    expect(t.code).toBe(0);
    const stamp = /^sync requested for crm\/acme at (\S+)$/m.exec(t.stdout)![1]!;
    const obj = await getIntegration();
    expect(obj.metadata.annotations!['hubspot-operator.dev/sync-requested-at']).toBe(stamp);
    expect(obj.status!.lastHandledSyncRequest).toBe(stamp);
    expect(t.stdout).toMatch(/^carried out: last sync \S+, Ready=True \(Synced\), 1 record failing$/m);

    const j = JSON.parse((await cli('sync', NAME, ...K(), '--wait', '-o', 'json')).stdout);
    expect(j).toMatchObject({ namespace: NS, name: NAME, annotation: 'hubspot-operator.dev/sync-requested-at', handled: true, errorCount: 1, ready: { status: 'True' } });
    expect((await getIntegration()).status!.lastHandledSyncRequest).toBe(j.requestedAt);

    const c = csvObjects((await cli('resync', NAME, ...K(), '--wait', '-o', 'csv')).stdout);
    expect(c).toEqual([expect.objectContaining({ name: NAME, annotation: 'hubspot-operator.dev/resync-requested-at', handled: 'true', ready: 'True' })]);
    expect((await getIntegration()).status!.lastHandledResyncRequest).toBe(c[0]!.requestedAt);

    // Every command in every format: the request is recorded and carried out.
    for (const command of ['sync', 'resync'] as const) {
      const field = command === 'sync' ? 'lastHandledSyncRequest' : 'lastHandledResyncRequest';
      for (const o of ['table', 'json', 'csv']) {
        const r = await cli(command, NAME, ...K(), '--wait', '-o', o);
        expect(r, `${command} -o ${o}`).toMatchObject({ code: 0, stderr: '' });
        const stamp = o === 'json' ? JSON.parse(r.stdout).requestedAt : o === 'csv' ? csvObjects(r.stdout)[0]!.requestedAt : /requested for crm\/acme at (\S+)$/m.exec(r.stdout)![1];
        expect((await getIntegration()).status![field], `${command} -o ${o}`).toBe(stamp);
      }
    }

    // Without --wait: only the request.
    const quick = JSON.parse((await cli('resync', NAME, ...K(), '-o', 'json')).stdout);
    expect(quick.handled).toBeNull();
    expect((await getIntegration()).metadata.annotations!['hubspot-operator.dev/resync-requested-at']).toBe(quick.requestedAt);
    await waitFor(async () => (await getIntegration()).status!.lastHandledResyncRequest === quick.requestedAt, { timeoutMs: 30_000, what: 'the resync carried out' });
  });

  it('suspend and resume patch spec.suspend; the operator reports Suspended; repeating is a no-op', async () => {
    const s = await cli('suspend', NAME, ...K());
    expect(s).toMatchObject({ code: 0, stdout: 'crm/acme suspended\n' });
    expect((await getIntegration()).spec).toMatchObject({ suspend: true });
    await waitFor(async () => condition(await getIntegration(), 'Ready')?.reason === 'Suspended', { what: 'Ready reason Suspended' });
    expect(JSON.parse((await cli('suspend', NAME, ...K(), '-o', 'json')).stdout)).toEqual({ namespace: NS, name: NAME, suspended: true, changed: false });
    expect(JSON.parse((await cli('status', NAME, ...K(), '-o', 'json')).stdout)).toMatchObject({ suspended: true, ready: { reason: 'Suspended' } });
    expect(csvObjects((await cli('resume', NAME, ...K(), '-o', 'csv')).stdout)).toEqual([{ namespace: NS, name: NAME, suspended: 'false', changed: 'true' }]);
    expect((await getIntegration()).spec).toMatchObject({ suspend: false });
    await waitFor(async () => condition(await getIntegration(), 'Ready')?.reason === 'Synced', { timeoutMs: 30_000, what: 'Synced again' });
    expect((await cli('resume', NAME, ...K())).stdout).toBe('crm/acme was already running (not suspended)\n');
    // The remaining formats of both.
    expect(csvObjects((await cli('suspend', NAME, ...K(), '-o', 'csv')).stdout)).toEqual([{ namespace: NS, name: NAME, suspended: 'true', changed: 'true' }]);
    expect(JSON.parse((await cli('resume', NAME, ...K(), '-o', 'json')).stdout)).toEqual({ namespace: NS, name: NAME, suspended: false, changed: true });
    expect((await getIntegration()).spec).toMatchObject({ suspend: false });
    await waitFor(async () => condition(await getIntegration(), 'Ready')?.reason === 'Synced', { timeoutMs: 30_000, what: 'Synced after the last resume' });
    // Syncing really restarted: a requested cycle is carried out.
    expect((await cli('sync', NAME, ...K(), '--wait', '--timeout', '30s')).stdout).toMatch(/^carried out: /m);
  });
});

describe('permissions and failures: one line on stderr, a non-zero exit, never a stack trace', () => {
  it('a user who may not read the connection Secret is told which Secret and which permission', async () => {
    for (const command of ['errors', 'audit'] as const) {
      const r = await cli(command, NAME, '--kubeconfig', viewerKc);
      expect(r).toMatchObject({ code: 1, stdout: '' });
      expect(r.stderr).toBe('hubspot-operator: cannot read Secret crm/acme-db: forbidden (needs get on secrets in namespace crm; or pass --database-url)\n');
    }
    // status needs only the resource; --database-url bypasses the Secret.
    expect((await cli('status', NAME, '--kubeconfig', viewerKc)).code).toBe(0);
    const withUrl = await cli('errors', NAME, '--kubeconfig', viewerKc, '--database-url', DATABASE_URL, '-o', 'json');
    expect(withUrl.code).toBe(0);
    expect(JSON.parse(withUrl.stdout).count).toBe(1);
    // Changing the integration needs patch.
    const s = await cli('suspend', NAME, '--kubeconfig', viewerKc);
    expect(s).toMatchObject({ code: 1, stderr: 'hubspot-operator: cannot patch HubSpotIntegration crm/acme: forbidden (needs patch on hubspotintegrations.hubspot-operator.dev in namespace crm)\n' });
  });

  it('an unknown integration, a wrong namespace, an unreachable database or API server, a bad kubeconfig', async () => {
    const badTokenKc = join(dir, 'bad-token.kubeconfig');
    writeFileSync(badTokenKc, kube.kubeconfigFor('not-a-token', NS));
    const cases: [string[], RegExp][] = [
      [['status', 'nope', '--kubeconfig', adminKc, '-n', NS], /^hubspot-operator: HubSpotIntegration "nope" not found in namespace "crm"\n$/],
      [['errors', NAME, '--kubeconfig', adminKc, '-n', 'default'], /^hubspot-operator: HubSpotIntegration "acme" not found in namespace "default"; it exists in namespace "crm" \(use -n crm\)\n$/],
      [['errors', NAME, '--kubeconfig', adminKc, '-n', NS, '--database-url', 'postgres://u:pw-secret@127.0.0.1:1/db'], /^hubspot-operator: cannot reach the database at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: connect ECONNREFUSED 127\.0\.0\.1:1\n$/],
      [['status', '--kubeconfig', join(dir, 'missing')], /^hubspot-operator: kubeconfig ".*missing" does not exist\n$/],
      [['status', '--kubeconfig', adminKc, '--context', 'prod'], /^hubspot-operator: --context: the kubeconfig has no context "prod"; it has \S+\n$/],
      [['status', NAME, 'extra', '--kubeconfig', adminKc], /^hubspot-operator: status: expected one integration NAME, got 2 \(acme extra\)\n$/],
      [['status', NAME, '--kubeconfig', badTokenKc], /^hubspot-operator: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ rejected your credentials \(401 Unauthorized\): check the kubeconfig's user\n$/],
      [['errors', NAME, '--kubeconfig', adminKc, '-n', NS, '--limit', '0'], /^hubspot-operator: --limit: "0" is not a positive integer\n$/],
    ];
    for (const [[command, ...args], stderr] of cases) {
      const r = await cli(command as CliCommand, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(stderr);
      expect(r.stderr).not.toContain('pw-secret');
    }
    // The Kubernetes API unreachable: a port nobody listens on.
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    const down = join(dir, 'down.kubeconfig');
    writeFileSync(down, kube.kubeconfigFor('x', NS).replace(`:${new URL(kube.url).port}`, `:${port}`));
    const r = await cli('status', '--kubeconfig', down);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`hubspot-operator: cannot reach the Kubernetes API at https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it('as a process: the exit code and the one line, no stack trace, no password', async () => {
    const missing = await cliProcess(['errors', 'ghost', '--kubeconfig', adminKc, '-n', NS]);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'hubspot-operator: HubSpotIntegration "ghost" not found in namespace "crm"\n' });
    const db = await cliProcess(['audit', NAME, '--kubeconfig', adminKc, '-n', NS, '--database-url', 'postgres://u:pw-secret@127.0.0.1:1/db']);
    expect(db).toMatchObject({ code: 1, stdout: '', stderr: 'hubspot-operator: cannot reach the database at postgres://u:***@127.0.0.1:1/db: connect ECONNREFUSED 127.0.0.1:1\n' });
  });
});

describe('kubectl plugin', () => {
  it('`kubectl hubspot status` runs the CLI through kubectl\'s plugin mechanism, which it detects', async () => {
    const kubectl = kubectlBinary();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // What `npm install` does for package.json "bin": a kubectl-hubspot symlink to the entry.
    symlinkSync(resolve('operator/src/cli.ts'), join(bin, 'kubectl-hubspot'));
    const env = {
      ...process.env,
      PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}`,
      KUBECONFIG: adminKc,
      HOME: dir,
      NODE_OPTIONS: '--import tsx', // the entry is TypeScript here; the installed one is operator/dist/cli.js
    };
    const plugins = await exec(kubectl, ['plugin', 'list'], { env });
    expect(plugins.stdout).toContain(join(bin, 'kubectl-hubspot'));
    const r = await exec(kubectl, ['hubspot', 'status', NAME, '-n', NS], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+acme$/m);
    expect(r.stdout).toMatch(/^Ready:\s+True \(Synced\)/m);
    expect(r.stdout).toContain('Every failing record: kubectl hubspot errors acme -n crm');
    const help = await exec(kubectl, ['hubspot', '--help'], { env });
    expect(help.stdout).toMatch(/^Usage:\n {2}kubectl hubspot <command> \[NAME\] \[flags\]$/m);
    const missing = await exec(kubectl, ['hubspot', 'errors', 'ghost', '-n', NS], { env });
    expect(missing).toMatchObject({ code: 1, stderr: 'kubectl hubspot: HubSpotIntegration "ghost" not found in namespace "crm"\n' });
  });
});
