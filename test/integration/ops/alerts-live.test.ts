// The alert rules against the real operator: a real Prometheus (Debian's prometheus package,
// installed with promtool) scrapes the operator installed from the chart and evaluates
// files/alerts.rules.yaml every second. Every rule evaluates without error on the real series
// (label sets, vector matching), nothing alerts while the integration is healthy, revoking the
// HubSpot token makes HubSpotAuthenticationFailing fire, and suspending silences it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { waitFor } from '../../helpers/wait.js';
import { readyCondition, startChartEnvironment, type ChartEnvironment } from './chart-environment.js';
import { CHART_DIR } from './tools.js';

const NS = 'crm';
const JOB = 'hs-hubspot-operator-metrics'; // the job name the chart's ServiceMonitor produces

function findPrometheus(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'prometheus'))) return join(dir, 'prometheus');
  if (process.env.CI) throw new Error('prometheus not found on PATH but CI is set: install Debian package "prometheus" (.ci/run does)');
  console.warn('\n*** SKIPPING live alert tests: the prometheus server is not installed (apt-get install prometheus). They run in CI. ***\n');
  return null;
}
const prometheusBin = findPrometheus();

/** A free loopback port (Prometheus cannot report the port it bound for :0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface AlertSample {
  metric: Record<string, string>;
}

describe.skipIf(!prometheusBin)('alert rules on a real Prometheus scraping the operator', () => {
  let env: ChartEnvironment;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let api = '';
  const work = mkdtempSync(join(tmpdir(), 'hubspot-operator-prometheus-'));

  const query = async (q: string): Promise<AlertSample[]> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: AlertSample[] } };
    if (body.status !== 'success') throw new Error(`query ${q}: ${body.error}`);
    return body.data.result;
  };
  const alerts = async (state: 'firing' | 'pending') =>
    (await query(`ALERTS{alertstate="${state}"}`)).map((a) => (a.metric.integration ? `${a.metric.alertname} ${a.metric.namespace}/${a.metric.integration}` : a.metric.alertname));

  beforeAll(async () => {
    env = await startChartEnvironment({ integrationNamespace: NS });
    await env.waitReady(NS, 'acme');
    const target = new URL(await env.operator.metricsUrl());
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(work, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [join(CHART_DIR, 'files', 'alerts.rules.yaml')],
        scrape_configs: [{ job_name: JOB, honor_labels: true, metrics_path: target.pathname, static_configs: [{ targets: [target.host] }] }],
      }),
    );
    prometheus = spawn(prometheusBin!, [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    prometheus.stdout?.on('data', (c) => (prometheusLog += c));
    prometheus.stderr?.on('data', (c) => (prometheusLog += c));
    await waitFor(
      async () => {
        if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${prometheusLog}`);
        return (await query(`up{job="${JOB}"} == 1`)).length === 1;
      },
      { timeoutMs: 30_000, what: 'Prometheus to scrape the operator' },
    );
  }, 180_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await env?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('evaluates every rule without error on the real series', async () => {
    const rules = await waitFor(
      async () => {
        const res = (await (await fetch(`${api}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] } };
        const all = res.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
      },
      { what: 'every rule to be evaluated once' },
    );
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    // The recording rules produce values for the real integration.
    await waitFor(async () => (await query(`hubspot_operator:sync_interval_seconds{namespace="${NS}",integration="acme"} == 300`)).length === 1, {
      what: 'hubspot_operator:sync_interval_seconds for crm/acme',
    });
    await waitFor(async () => (await query(`hubspot_operator:api_daily_budget_used:ratio{namespace="${NS}",integration="acme"} >= 0`)).length === 1, {
      what: 'hubspot_operator:api_daily_budget_used:ratio for crm/acme',
    });
  });

  it('answers every dashboard query, with data for the integration on the main panels', { timeout: 120_000 }, async () => {
    const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'files', 'dashboards', 'hubspot-operator.json'), 'utf8'));
    const panels = dashboard.panels.filter((p: { targets?: unknown[] }) => p.targets) as { title: string; targets: { expr: string }[] }[];
    // What Grafana substitutes: "All" for the variables, a short rate window for 1 s scrapes.
    const promql = (e: string) => e.replaceAll('$__rate_interval', '30s').replaceAll('$namespace', '.*').replaceAll('$integration', '.*').replaceAll('$job', '.*hubspot-operator.*');
    const results = new Map<string, number>();
    for (const p of panels) {
      let n = 0;
      for (const t of p.targets) n += (await query(promql(t.expr))).length; // throws on a query error
      results.set(p.title, n);
    }
    const withData = (title: string) => waitFor(async () => {
      const p = panels.find((x) => x.title === title)!;
      let n = 0;
      for (const t of p.targets) n += (await query(promql(t.expr))).length;
      return n > 0;
    }, { what: `data in dashboard panel "${title}"` });
    for (const title of ['Ready', 'Integrations', 'Records synced by direction and operation', 'API requests by kind and status code', 'Reconcile rate', 'Reconcile latency', 'Work queue depth', 'Leader', 'Time since last successful sync']) {
      expect(results.has(title), `panel "${title}"`).toBe(true);
      await withData(title);
    }
  });

  it('stays silent while the integration is healthy', async () => {
    expect(await alerts('firing')).toEqual([]);
    expect(await alerts('pending')).toEqual([]);
  });

  it('fires HubSpotAuthenticationFailing when HubSpot rejects the token, and stops when suspended', { timeout: 120_000 }, async () => {
    const revoke = await fetch(`${env.hubspot.url}/__sandbox/tokens/${encodeURIComponent(env.hubspot.token)}`, { method: 'DELETE' });
    expect(revoke.status).toBeLessThan(300);
    await env.kubectl('annotate', 'hubspotintegration', 'acme', '-n', NS, `hubspot-operator.dev/sync-requested-at=${new Date().toISOString()}`, '--overwrite');
    await waitFor(async () => readyCondition(await env.getIntegration(NS, 'acme'))?.reason === 'AuthenticationFailed', { what: 'Ready=False/AuthenticationFailed' });
    await waitFor(async () => (await alerts('firing')).includes(`HubSpotAuthenticationFailing ${NS}/acme`), {
      timeoutMs: 30_000,
      what: 'HubSpotAuthenticationFailing to fire',
    });
    expect(await alerts('pending')).toContain(`HubSpotIntegrationNotReady ${NS}/acme`);

    await env.kubectl('patch', 'hubspotintegration', 'acme', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}');
    await waitFor(async () => (await alerts('firing')).length === 0 && (await alerts('pending')).length === 0, {
      timeoutMs: 30_000,
      what: 'every alert to clear once the integration is suspended',
    });
  });

  it('notices when the operator is gone (HubSpotOperatorAbsent pending, firing after 5 minutes)', { timeout: 60_000 }, async () => {
    await env.operator.stop();
    await waitFor(async () => (await query(`up{job="${JOB}"} == 0`)).length === 1, { what: 'the failed scrape to show as up == 0' });
    await waitFor(async () => (await alerts('pending')).includes('HubSpotOperatorAbsent'), { timeoutMs: 30_000, what: 'HubSpotOperatorAbsent to be pending' });
  });
});
