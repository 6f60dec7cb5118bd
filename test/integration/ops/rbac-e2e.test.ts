// End to end with exactly the chart's permissions, on the Kubernetes API sandbox and on the real
// kube-apiserver (when built: `npm run setup:kube-real`): the rendered chart is applied to an
// API server that enforces RBAC, the operator runs as a process with the Deployment's
// arguments and a token of the chart's ServiceAccount, syncs a HubSpot sandbox into PostgreSQL,
// and the integration becomes Ready. Its live /metrics passes `promtool check metrics` and
// carries every series the alerts and the dashboard use. Then one permission is taken away
// (update/patch of hubspotintegrations/status) and exactly that call fails with 403.
// A second release limited to watchNamespaces works with namespaced Roles only, and with two
// replicas a standby takes the lease over from a crashed leader with the same permissions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeBackends } from '../../helpers/kube-backend.js';
import { waitFor } from '../../helpers/wait.js';
import { RELEASE_NS, SERVICE_ACCOUNT as SA, readyCondition as ready, startChartEnvironment, type ChartEnvironment } from './chart-environment.js';
import { runHealthScript } from '../../unit/ops/argocd-lua.js';
import { CHART_DIR, findPromtool, run, type KubeObject } from './tools.js';

const NS = 'crm';

describe.each(kubeBackends())('on the %s', (backend) => {
let env: ChartEnvironment;

beforeAll(async () => {
  env = await startChartEnvironment({ integrationNamespace: NS, backend });
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe('the operator under exactly the chart RBAC', () => {
  it('syncs: the integration becomes Ready and the records arrive in PostgreSQL', { timeout: 120_000 }, async () => {
    const i = await env.waitReady(NS, 'acme');
    expect(ready(i)).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(await env.countRows('contacts')).toBe(25);
    // It never needed more than it was given.
    const denied = env.operator.lines.filter((l) => /forbidden|\b403\b/i.test(l));
    expect(denied, 'calls the chart RBAC refused').toEqual([]);
  });

  it('holds the leader Lease named by the chart, in the release namespace', async () => {
    const lease = JSON.parse(await env.kubectl('get', 'lease', 'hs-hubspot-operator', '-n', RELEASE_NS, '-o', 'json'));
    expect(lease.spec.holderIdentity).toBeTruthy();
  });

  it('records Events about the integration', async () => {
    const events = JSON.parse(await env.kubectl('get', 'events', '-n', NS, '-o', 'json')) as { items: { involvedObject: { name: string }; reason: string }[] };
    expect(events.items.filter((e) => e.involvedObject.name === 'acme').length).toBeGreaterThan(0);
  });

  it('serves /metrics that promtool accepts, with every series the alerts and dashboard use', async () => {
    const url = await env.operator.metricsUrl();
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
      // No lint finding at all: the operator drops prom-client's gauges named *_total.
      const problems = (r.stdout + r.stderr).split('\n').filter((l) => l.trim());
      expect(problems, 'promtool check metrics').toEqual([]);
      expect(r.code).toBe(0);
    }
    const exported = new Set([...body.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`, name] : [name])));
    const used = new Set<string>();
    const rules = parse(readFileSync(join(CHART_DIR, 'files', 'alerts.rules.yaml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'files', 'dashboards', 'hubspot-operator.json'), 'utf8'));
    const exprs = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr))];
    for (const e of exprs) for (const [m] of e.matchAll(/\b(?:hubspot_operator_|controller_runtime_|workqueue_|leader_election_)[a-z_]+/g)) used.add(m);
    // Including the series the recording rules fall back from (sync_interval_seconds, api_budget_limit).
    const missing = [...used].filter((m) => !exported.has(m));
    expect(missing, 'series used by alerts/dashboard that the operator does not export').toEqual([]);
    expect(body).toMatch(/^hubspot_operator_integration_ready\{namespace="crm",integration="acme"\} 1$/m);
    expect(body).toMatch(/^leader_election_master_status\{name="hs-hubspot-operator"\} 1$/m);
  });

  it('looks Healthy to Argo CD once synced, and Suspended when suspended', { timeout: 120_000 }, async () => {
    const health = readFileSync(join(CHART_DIR, 'argocd', 'health.lua'), 'utf8');
    expect(runHealthScript(health, await env.getIntegration(NS, 'acme'))).toMatchObject({ status: 'Healthy' });
    await env.kubectl('patch', 'hubspotintegration', 'acme', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}');
    const suspended = await waitFor(
      async () => {
        const i = await env.getIntegration(NS, 'acme');
        return ready(i)?.reason === 'Suspended' ? i : undefined;
      },
      { what: 'Ready=False/Suspended' },
    );
    expect(runHealthScript(health, suspended)).toMatchObject({ status: 'Suspended' });
    await env.kubectl('patch', 'hubspotintegration', 'acme', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":false}}');
    const resumed = await env.waitReady(NS, 'acme');
    expect(runHealthScript(health, resumed)).toMatchObject({ status: 'Healthy' });
  });

  it('fails with 403 exactly where a permission was removed (hubspotintegrations/status)', { timeout: 90_000 }, async () => {
    const clusterRole = env.chartObjects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'hs-hubspot-operator') as KubeObject & { rules: { resources: string[] }[] };
    const reduced = structuredClone(clusterRole);
    for (const rule of reduced.rules) rule.resources = rule.resources.filter((r) => r !== 'hubspotintegrations/status');
    await env.applyYaml('reduced-role', [reduced]);

    const before = (await env.getIntegration(NS, 'acme')).status?.lastHandledSyncRequest;
    const requested = new Date().toISOString();
    await env.kubectl('annotate', 'hubspotintegration', 'acme', '-n', NS, `hubspot-operator.dev/sync-requested-at=${requested}`, '--overwrite');
    const denial = await waitFor(() => env.operator.lines.find((l) => /forbidden/i.test(l)), { timeoutMs: 30_000, what: 'a forbidden status write in the operator log' });
    expect(denial).toContain('/namespaces/crm/hubspotintegrations/acme/status: 403');
    expect(denial).toMatch(/cannot (update|patch) resource \\?"hubspotintegrations\/status\\?" in API group \\?"hubspot-operator.dev\\?"/);
    expect(denial).toContain(`system:serviceaccount:${RELEASE_NS}:${SA}`);
    // The status could not be written; every other call still works (reads, the Lease).
    expect((await env.getIntegration(NS, 'acme')).status?.lastHandledSyncRequest).toBe(before);
    const unrelated = env.operator.lines.filter((l) => /forbidden/i.test(l) && !/status/.test(l));
    expect(unrelated).toEqual([]);
  });
});

describe('a release limited to watchNamespaces', () => {
  let scoped: ChartEnvironment;
  beforeAll(async () => {
    scoped = await startChartEnvironment({ integrationNamespace: 'sales', render: { set: { 'watchNamespaces[0]': 'sales' } }, backend });
  }, 120_000);
  afterAll(async () => {
    await scoped?.close();
  });

  it('has no cluster-wide grant and still syncs its namespace to Ready', { timeout: 120_000 }, async () => {
    expect(scoped.chartObjects.filter((o) => o.kind === 'ClusterRoleBinding')).toEqual([]);
    const i = await scoped.waitReady('sales', 'acme');
    expect(ready(i)).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(await scoped.countRows('contacts')).toBe(25);
    expect(scoped.operator.lines.filter((l) => /forbidden|\b403\b/i.test(l))).toEqual([]);
  });
});

describe('two replicas (replicaCount: 2) under the chart RBAC', () => {
  let ha: ChartEnvironment;
  beforeAll(async () => {
    ha = await startChartEnvironment({ integrationNamespace: 'ha', render: { set: { replicaCount: '2', 'leaderElection.leaseDuration': '2s' } }, backend });
  }, 120_000);
  afterAll(async () => {
    await ha?.close();
  });

  it('one leads; when it dies without releasing the lease, the standby takes over and keeps the integration served', { timeout: 120_000 }, async () => {
    await ha.waitReady('ha', 'acme');
    const becameLeader = (p: typeof ha.operator) => p.records().some((r) => r.msg === 'became the leader');
    expect(becameLeader(ha.operator)).toBe(true);
    const standby = ha.startReplica('hs-hubspot-operator-1');
    await standby.metricsUrl();
    expect(becameLeader(standby)).toBe(false);

    ha.operator.child.kill('SIGKILL'); // a crash: the lease is not released
    await waitFor(() => becameLeader(standby), { timeoutMs: 30_000, what: 'the standby to take over the lease' });
    const lease = JSON.parse(await ha.kubectl('get', 'lease', 'hs-hubspot-operator', '-n', RELEASE_NS, '-o', 'json'));
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(1);

    // The new leader serves the integration: a manual sync request is handled and recorded.
    const requested = new Date().toISOString();
    await ha.kubectl('annotate', 'hubspotintegration', 'acme', '-n', 'ha', `hubspot-operator.dev/sync-requested-at=${requested}`, '--overwrite');
    await waitFor(async () => (await ha.getIntegration('ha', 'acme')).status?.lastHandledSyncRequest === requested, {
      timeoutMs: 30_000,
      what: 'the new leader to handle the sync request',
    });
    expect(standby.lines.filter((l) => /forbidden|\b403\b/i.test(l))).toEqual([]);
  });
});
});
