// The alerts as Prometheus sees them: promtool validates the rules file and the rendered
// PrometheusRule, and runs the unit tests that show each alert firing when it should and
// staying silent for healthy and suspended integrations. The dashboard's queries must parse.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CHART_DIR, FIXTURES_DIR, findPromtool, render, run, type KubeObject } from './tools.js';

const promtool = findPromtool();
const RULES_FILE = join(CHART_DIR, 'files', 'alerts.rules.yaml');
const UNIT_TESTS = join(FIXTURES_DIR, 'alerts.promtool.yaml');
const work = mkdtempSync(join(tmpdir(), 'hubspot-operator-alerts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Rule = { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const rules = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);

describe('alert definitions', () => {
  it('cover every alert the issue asks for', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'HubSpotIntegrationNotReady',
      'HubSpotSyncErrorsGrowing',
      'HubSpotSyncStale',
      'HubSpotAPIRateLimited',
      'HubSpotDailyAPIBudgetNearlyExhausted',
      'HubSpotAuthenticationFailing',
      'HubSpotWebhooksSilent',
      'HubSpotOperatorAbsent',
      'HubSpotOperatorNoLeader',
      'HubSpotOperatorWorkQueueBackingUp',
    ]);
  });

  it('each have a severity, summary, description and a runbook section in docs/operations.md', () => {
    const operations = readFileSync(join(CHART_DIR, '..', '..', 'docs', 'operations.md'), 'utf8');
    for (const a of alerts) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      const anchor = a.alert!.toLowerCase();
      expect(a.annotations?.runbook_url).toBe(`https://github.com/hubspot-operator/hubspot-operator/blob/main/docs/operations.md#${anchor}`);
      const section = operations.split(`\n### ${a.alert}\n`)[1]?.split('\n### ')[0];
      expect(section, `runbook section "### ${a.alert}" in docs/operations.md`).toBeDefined();
      for (const part of ['**Meaning.**', '**Check.**', '**Fix.**']) expect(section, `${a.alert} runbook`).toContain(part);
    }
  });

  it('ignore suspended integrations (every per-integration alert)', () => {
    for (const a of alerts.filter((x) => x.expr.includes('integration'))) {
      const viaRecording = a.expr.includes('hubspot_operator:api_daily_budget_used:ratio');
      expect(a.expr.includes('hubspot_operator_integration_suspended') || viaRecording, a.alert).toBe(true);
      if (viaRecording) expect(a.expr).toContain('hubspot_operator_integration_suspended');
    }
  });

  it('each have promtool unit tests where they fire', () => {
    const tests = parse(readFileSync(UNIT_TESTS, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname));
    for (const a of alerts) expect(firing.has(a.alert!), `a promtool test where ${a.alert} fires`).toBe(true);
  });
});

describe.skipIf(!promtool)('promtool', () => {
  it('check rules accepts the rules file', async () => {
    const r = await run(promtool!, ['check', 'rules', RULES_FILE]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('check rules accepts the rendered PrometheusRule (default and customised)', async () => {
    for (const [name, set] of [
      ['default', { 'prometheusRule.enabled': 'true' }],
      ['custom', { 'prometheusRule.enabled': 'true', 'metrics.serviceMonitor.enabled': 'true', 'prometheusRule.additionalAlertLabels.team': 'revops', 'prometheusRule.disabledAlerts[0]': 'HubSpotSyncStale' }],
    ] as const) {
      const pr = (await render({ set })).find((o) => o.kind === 'PrometheusRule') as KubeObject & { spec: { groups: unknown[] } };
      const file = join(work, `${name}.rules.yaml`);
      writeFileSync(file, stringify({ groups: pr.spec.groups }));
      const r = await run(promtool!, ['check', 'rules', file]);
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('test rules: every alert fires when it should and stays silent when healthy or suspended', async () => {
    const r = await run(promtool!, ['test', 'rules', UNIT_TESTS]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('test rules fails when an alert loses its suspended exclusion (the tests have teeth)', async () => {
    const broken = readFileSync(RULES_FILE, 'utf8').replace(
      /(- alert: HubSpotIntegrationNotReady\n\s+expr: \|\n\s+.*== 0\n)\s+unless on \(namespace, integration\)\n\s+\(max by \(namespace, integration\) \(hubspot_operator_integration_suspended\) == 1\)\n/,
      '$1',
    );
    expect(broken).not.toBe(readFileSync(RULES_FILE, 'utf8'));
    const rulesCopy = join(work, 'broken.rules.yaml');
    writeFileSync(rulesCopy, broken);
    const testsCopy = join(work, 'broken.test.yaml');
    const tests = parse(readFileSync(UNIT_TESTS, 'utf8'));
    tests.rule_files = [rulesCopy];
    writeFileSync(testsCopy, stringify(tests));
    const r = await run(promtool!, ['test', 'rules', testsCopy]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/HubSpotIntegrationNotReady[\s\S]*integration="paused"/);
  });

  it('every dashboard query is valid PromQL', async () => {
    const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'files', 'dashboards', 'hubspot-operator.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    // Grafana variables become what Grafana would substitute for "All".
    const promql = exprs.map((e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*').replaceAll('$integration', '.*').replaceAll('$job', '.*'));
    const file = join(work, 'dashboard.rules.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: promql.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
    const r = await run(promtool!, ['check', 'rules', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
