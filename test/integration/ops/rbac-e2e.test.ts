// End to end with exactly the chart's permissions: the rendered chart is applied to a
// Kubernetes API sandbox that enforces RBAC, the operator runs as a process with the Deployment's
// arguments and a token of the chart's ServiceAccount, syncs a HubSpot sandbox into PostgreSQL,
// and the integration becomes Ready. Its live /metrics passes `promtool check metrics` and
// carries every series the alerts and the dashboard use. Then one permission is taken away
// (update/patch of hubspotintegrations/status) and exactly that call fails with 403.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { waitFor } from '../../helpers/wait.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { CHART_DIR, findPromtool, renderYaml, run, tools, type KubeObject } from './tools.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const RELEASE_NS = 'hubspot-system';
const NS = 'crm';
const SA = 'hs-hubspot-operator';
const suffix = randomBytes(4).toString('hex');
const schema = `ops_e2e_${suffix}`;
const stateSchema = `ops_e2e_state_${suffix}`;

let kube: KubeSandbox;
let hubspot: HubSpotSandbox;
let operator: OperatorProcess | undefined;
let chartObjects: KubeObject[];
const work = mkdtempSync(join(tmpdir(), 'hubspot-operator-rbac-'));
const adminKubeconfig = join(work, 'admin.kubeconfig');
const operatorKubeconfig = join(work, 'operator.kubeconfig');

const kubectl = async (...args: string[]) => {
  const r = await run(tools().kubectl, ['--kubeconfig', adminKubeconfig, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};
const applyYaml = async (name: string, objects: unknown[]) => {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return kubectl('apply', '-f', file);
};
type Integration = KubeObject & { status?: { observedGeneration?: number; lastHandledSyncRequest?: string; conditions?: { type: string; status: string; reason: string; message: string }[] } };
const getIntegration = async (): Promise<Integration> => JSON.parse(await kubectl('get', 'hubspotintegration', 'acme', '-n', NS, '-o', 'json'));
const ready = (i: Integration) => i.status?.conditions?.find((c) => c.type === 'Ready');

beforeAll(async () => {
  kube = await startKubeSandbox({ port: 0, authorization: 'RBAC' });
  await kube.writeKubeconfig(adminKubeconfig);
  hubspot = await startHubSpotSandbox({ port: 0, seed: { contacts: 25, companies: 0 } });

  // The chart, as `helm install hs charts/hubspot-operator -n hubspot-system` would apply it.
  const rendered = await renderYaml({ namespace: RELEASE_NS });
  chartObjects = parseAllDocuments(rendered).map((d) => d.toJS() as KubeObject).filter(Boolean);
  await applyYaml('namespaces', [RELEASE_NS, NS].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  writeFileSync(join(work, 'chart.yaml'), rendered);
  await kubectl('apply', '-f', join(work, 'chart.yaml'));

  // What a user applies: Secrets and one integration (HubSpot → PostgreSQL, tables created).
  await applyYaml('integration', [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-hubspot', namespace: NS }, stringData: { token: hubspot.token } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-db', namespace: NS }, stringData: { url: DATABASE_URL } },
    {
      apiVersion: 'hubspot-operator.dev/v1alpha1',
      kind: 'HubSpotIntegration',
      metadata: { name: 'acme', namespace: NS },
      spec: {
        hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'acme-hubspot', key: 'token' } } } },
        target: { postgres: { connectionSecretRef: { name: 'acme-db', key: 'url' }, schema, stateSchema, createTables: true } },
        objects: [{ type: 'contacts', table: 'contacts', direction: 'HubSpotToTarget', match: { property: 'email', column: 'email' } }],
        schedule: { interval: '5m', fullResyncInterval: '24h' },
      },
    },
  ]);

  // The operator authenticates as the chart's ServiceAccount, with the Deployment's arguments.
  writeFileSync(operatorKubeconfig, kube.kubeconfigFor(kube.issueToken(RELEASE_NS, SA)));
  const deployment = chartObjects.find((o) => o.kind === 'Deployment') as KubeObject & { spec: any };
  const args = (deployment.spec.template.spec.containers[0].args as string[])
    .map((a) => a.replace('$(POD_NAMESPACE)', RELEASE_NS))
    .map((a) => (a.startsWith('--metrics-port=') ? '--metrics-port=0' : a));
  operator = startOperatorProcess([...args, '--kubeconfig', operatorKubeconfig, '--bind-address', '127.0.0.1'], { POD_NAMESPACE: RELEASE_NS, POD_NAME: 'hs-hubspot-operator-0' });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await hubspot?.close();
  await kube?.close();
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect().then(
    async () => {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.query(`DROP SCHEMA IF EXISTS ${stateSchema} CASCADE`);
      await db.end();
    },
    () => undefined,
  );
  rmSync(work, { recursive: true, force: true });
});

describe('the operator under exactly the chart RBAC', () => {
  it('syncs: the integration becomes Ready and the records arrive in PostgreSQL', async () => {
    const i = await waitFor(
      async () => {
        const cur = await getIntegration();
        const r = ready(cur);
        if (r?.status === 'False' && r.reason !== 'Progressing') throw new Error(`Ready=False ${r.reason}: ${r.message}`);
        return r?.status === 'True' ? cur : undefined;
      },
      { timeoutMs: 60_000, what: 'HubSpotIntegration crm/acme to become Ready' },
    );
    expect(ready(i)).toMatchObject({ status: 'True', reason: 'Synced' });
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${schema}.contacts`);
      expect(rows[0].n).toBe(25);
    } finally {
      await db.end();
    }
    // It never needed more than it was given.
    const denied = operator!.lines.filter((l) => /forbidden|\b403\b/i.test(l));
    expect(denied, 'calls the chart RBAC refused').toEqual([]);
  });

  it('holds the leader Lease named by the chart, in the release namespace', async () => {
    const lease = JSON.parse(await kubectl('get', 'lease', 'hs-hubspot-operator', '-n', RELEASE_NS, '-o', 'json'));
    expect(lease.spec.holderIdentity).toBeTruthy();
  });

  it('records Events about the integration', async () => {
    const events = JSON.parse(await kubectl('get', 'events', '-n', NS, '-o', 'json')) as { items: { involvedObject: { name: string }; reason: string }[] };
    expect(events.items.filter((e) => e.involvedObject.name === 'acme').length).toBeGreaterThan(0);
  });

  it('serves /metrics that promtool accepts, with every series the alerts and dashboard use', async () => {
    const url = await operator!.metricsUrl();
    const body = await waitFor(
      async () => {
        const text = await (await fetch(url)).text();
        return text.includes('hubspot_operator_integration_ready{') ? text : undefined;
      },
      { what: 'integration metrics on /metrics' },
    );
    const promtool = findPromtool();
    if (promtool) {
      const r = await run(promtool, ['check', 'metrics'], { input: body });
      // prom-client's default process metrics include three gauges named *_total, which the
      // linter flags (exit 3); they are not the operator's own names. Anything else fails.
      const prometheusClientDefaults = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
      const problems = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() && !prometheusClientDefaults.test(l.trim()));
      expect(problems, 'promtool check metrics').toEqual([]);
      expect([0, 3]).toContain(r.code);
    }
    const exported = new Set([...body.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`, name] : [name])));
    const used = new Set<string>();
    const rules = parse(readFileSync(join(CHART_DIR, 'files', 'alerts.rules.yaml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'files', 'dashboards', 'hubspot-operator.json'), 'utf8'));
    const exprs = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr))];
    for (const e of exprs) for (const [m] of e.matchAll(/\b(?:hubspot_operator_|controller_runtime_|workqueue_|leader_election_)[a-z_]+/g)) used.add(m);
    // Optional series the rules fall back from when the operator does not export them.
    const optional = new Set(['hubspot_operator_sync_interval_seconds', 'hubspot_operator_api_budget_limit']);
    const missing = [...used].filter((m) => !exported.has(m) && !optional.has(m));
    expect(missing, 'series used by alerts/dashboard that the operator does not export').toEqual([]);
    expect(body).toMatch(/^hubspot_operator_integration_ready\{namespace="crm",integration="acme"\} 1$/m);
    expect(body).toMatch(/^leader_election_master_status\{name="hs-hubspot-operator"\} 1$/m);
  });

  it('fails with 403 exactly where a permission was removed (hubspotintegrations/status)', async () => {
    const clusterRole = chartObjects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'hs-hubspot-operator') as KubeObject & { rules: { resources: string[] }[] };
    const reduced = structuredClone(clusterRole);
    for (const rule of reduced.rules) rule.resources = rule.resources.filter((r) => r !== 'hubspotintegrations/status');
    await applyYaml('reduced-role', [reduced]);

    const before = (await getIntegration()).status?.lastHandledSyncRequest;
    const requested = new Date().toISOString();
    await kubectl('annotate', 'hubspotintegration', 'acme', '-n', NS, `hubspot-operator.dev/sync-requested-at=${requested}`, '--overwrite');
    const denial = await waitFor(() => operator!.lines.find((l) => /forbidden/i.test(l)), { timeoutMs: 30_000, what: 'a forbidden status write in the operator log' });
    expect(denial).toContain('/namespaces/crm/hubspotintegrations/acme/status: 403');
    expect(denial).toMatch(/cannot (update|patch) resource \\?"hubspotintegrations\/status\\?" in API group \\?"hubspot-operator.dev\\?"/);
    expect(denial).toContain(`system:serviceaccount:${RELEASE_NS}:${SA}`);
    // The status could not be written; every other call still works (reads, the Lease).
    expect((await getIntegration()).status?.lastHandledSyncRequest).toBe(before);
    const unrelated = operator!.lines.filter((l) => /forbidden/i.test(l) && !/status/.test(l));
    expect(unrelated).toEqual([]);
  });
});
