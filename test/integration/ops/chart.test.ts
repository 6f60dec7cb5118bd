// The Helm chart as a platform engineer meets it: lint, render, the schema's refusals, hardened
// pods, least-privilege RBAC, optional monitoring objects, CRDs identical to crds/.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../operator/src/cli.js';
import { parse, parseAllDocuments } from 'yaml';
import { chartCrdDrift } from '../../../operator/scripts/sync-chart-crds.js';
import { CHART_DIR, FIXTURES_DIR, REPO_ROOT, helm, render, renderError, tools, type KubeObject } from './tools.js';

const ALL_FEATURES = join(FIXTURES_DIR, 'values-all-features.yaml');
type Obj = KubeObject & { spec?: any; rules?: any; subjects?: any; roleRef?: any; data?: any };

const find = (objs: Obj[], kind: string, name?: string) => objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = find(objs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
};

// The exact permissions the operator's code uses (controller informers, status writer,
// finalizer, Secret reads, Event recorder); anything more is a finding in review.
const OPERATOR_RULES = [
  { apiGroups: ['hubspot-operator.dev'], resources: ['hubspotintegrations', 'fieldmappings', 'syncfilters'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: ['hubspot-operator.dev'], resources: ['hubspotintegrations/status', 'fieldmappings/status', 'syncfilters/status'], verbs: ['update', 'patch'] },
  { apiGroups: ['hubspot-operator.dev'], resources: ['hubspotintegrations/finalizers', 'fieldmappings/finalizers', 'syncfilters/finalizers'], verbs: ['update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

let defaults: Obj[];
let allFeatures: Obj[];

beforeAll(async () => {
  tools();
  [defaults, allFeatures] = await Promise.all([render(), render({ valuesFiles: [ALL_FEATURES], namespace: 'ops' })]);
});

describe('helm lint', () => {
  it('passes (strict) with the default values and with every feature switched on', async () => {
    for (const args of [[], ['--values', ALL_FEATURES]]) {
      const r = await helm(['lint', '--strict', CHART_DIR, ...args]);
      expect(r.stdout + r.stderr, `helm lint ${args.join(' ')}`).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/funcMap fail|WARNING|ERROR/);
    }
  });
});

describe('Chart.yaml', () => {
  it('ships the operator version of package.json as appVersion (the default image tag)', () => {
    const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string; kubeVersion: string };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(one(defaults, 'Deployment').spec.template.spec.containers[0].image).toMatch(new RegExp(`:${pkg.version.replaceAll('.', '\\.')}$`));
  });
});

describe('helm package', () => {
  it('produces a self-contained chart that renders exactly like the source directory', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hubspot-operator-package-'));
    try {
      const r = await helm(['package', CHART_DIR, '--destination', out]);
      expect(r.code, r.stderr).toBe(0);
      const tgz = join(out, 'hubspot-operator-0.1.0.tgz');
      expect(r.stdout).toContain(tgz);
      const fromPackage = await helm(['template', 'hs', tgz, '--namespace', 'hubspot-system', '--values', ALL_FEATURES]);
      const fromDir = await helm(['template', 'hs', CHART_DIR, '--namespace', 'hubspot-system', '--values', ALL_FEATURES]);
      expect(fromPackage.code, fromPackage.stderr).toBe(0);
      expect(fromPackage.stdout.replaceAll(tgz, '')).toBe(fromDir.stdout);
      expect(fromPackage.stdout).toContain('kind: CustomResourceDefinition');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('default render', () => {
  it('installs the operator with CRDs, RBAC, a metrics and a webhook Service and a PDB, and nothing optional', () => {
    const kinds = defaults.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding',
        'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
        'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'Service', 'ServiceAccount',
      ].sort(),
    );
    for (const o of defaults) {
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], `${o.kind} ${o.metadata.name}`).toBe('Helm');
      if (!['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(o.kind)) expect(o.metadata.namespace).toBe('hubspot-system');
    }
  });

  it('runs a hardened, probed, resource-bounded pod as the chart ServiceAccount', () => {
    const deploy = one(defaults, 'Deployment');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.serviceAccountName).toBe('hs-hubspot-operator');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    expect(c.ports).toEqual([{ name: 'http-metrics', containerPort: 8080, protocol: 'TCP' }, { name: 'http-webhooks', containerPort: 9443, protocol: 'TCP' }]);
    expect(c.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(c.resources.limits.memory).toBe('512Mi');
    expect(c.image).toBe('ghcr.io/hubspot-operator/hubspot-operator:0.1.0');
    expect(c.args.slice(0, 3)).toEqual(['run', '--metrics-port=8080', '--webhook-port=9443']);
    expect(c.args.some((a: string) => a.startsWith('--webhook-public-url'))).toBe(false);
    expect(c.args).toContain('--leader-elect');
    expect(c.args).toEqual(expect.arrayContaining(['--concurrency=8', '--max-concurrent-syncs=8', '--db-pool-size=10']));
    expect(c.args).toContain('--lease-name=hs-hubspot-operator');
    expect(c.args).toContain('--lease-namespace=$(POD_NAMESPACE)');
    expect(c.args.some((a: string) => a.startsWith('--namespaces'))).toBe(false);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(deploy.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
  });

  it('grants cluster-wide exactly the verbs the operator uses, and Leases only in its namespace by name', () => {
    const cr = one(defaults, 'ClusterRole', 'hs-hubspot-operator');
    expect(cr.rules).toEqual(OPERATOR_RULES);
    const crb = one(defaults, 'ClusterRoleBinding');
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'hs-hubspot-operator' });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'hs-hubspot-operator', namespace: 'hubspot-system' }]);
    const lease = one(defaults, 'Role', 'hs-hubspot-operator-leader-election');
    expect(lease.metadata.namespace).toBe('hubspot-system');
    expect(lease.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['hs-hubspot-operator'], verbs: ['get', 'update'] },
    ]);
    // Nothing else anywhere: no wildcards, no write access to Secrets.
    for (const role of [...find(defaults, 'ClusterRole'), ...find(defaults, 'Role')]) {
      for (const rule of role.rules) {
        expect(rule.verbs, role.metadata.name).not.toContain('*');
        expect(rule.resources, role.metadata.name).not.toContain('*');
        if (rule.resources.includes('secrets')) expect(rule.verbs).toEqual(['get', 'list', 'watch']);
      }
    }
  });

  it('aggregates read access to the view role and write access to edit/admin', () => {
    expect(one(defaults, 'ClusterRole', 'hs-hubspot-operator-view').metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view']).toBe('true');
    const edit = one(defaults, 'ClusterRole', 'hs-hubspot-operator-edit');
    expect(edit.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' });
  });
});

describe('operator command line', () => {
  it('`hubspot-operator run` accepts every argument the Deployment passes (default and all features)', async () => {
    for (const objs of [defaults, allFeatures]) {
      const args: string[] = one(objs, 'Deployment').spec.template.spec.containers[0].args;
      expect(args[0]).toBe('run');
      const out: string[] = [];
      const err: string[] = [];
      const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
      try {
        // --help makes the CLI stop after parsing: every flag is known and well-formed.
        const code = await main([...args.map((a) => a.replace('$(POD_NAMESPACE)', 'hubspot-system')), '--help']);
        expect(code, err.join('')).toBe(0);
      } finally {
        stdout.mockRestore();
        stderr.mockRestore();
      }
      expect(out.join('')).toContain('Usage: hubspot-operator run');
    }
  });
});

describe('CRDs', () => {
  it('the chart copy is identical to crds/ (run `npm run chart:crds` after changing crds/)', () => {
    expect(chartCrdDrift(), 'charts/hubspot-operator/crds-src differs from crds/: run `npm run chart:crds`').toEqual([]);
  });

  it('are rendered from crds/ unchanged apart from labels and the keep annotation', () => {
    const source = readdirSync(join(REPO_ROOT, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => parseAllDocuments(readFileSync(join(REPO_ROOT, 'crds', f), 'utf8')).map((d) => d.toJS() as Obj))
      .filter(Boolean);
    const rendered = find(defaults, 'CustomResourceDefinition');
    expect(rendered.map((c) => c.metadata.name).sort()).toEqual(source.map((c) => c.metadata.name).sort());
    for (const crd of rendered) {
      expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
      expect(crd.metadata.labels?.['app.kubernetes.io/instance']).toBe('hs');
      const original = source.find((s) => s.metadata.name === crd.metadata.name)!;
      const strip = (o: Obj) => ({ ...o, metadata: { ...o.metadata, labels: undefined, annotations: undefined } });
      expect(strip(crd), crd.metadata.name).toEqual(strip(original));
      for (const [k, v] of Object.entries(original.metadata.labels ?? {})) expect(crd.metadata.labels?.[k]).toBe(v);
    }
  });

  it('can be left out (crds.enabled=false) or left unprotected (crds.keep=false)', async () => {
    expect(find(await render({ set: { 'crds.enabled': 'false' } }), 'CustomResourceDefinition')).toEqual([]);
    for (const crd of find(await render({ set: { 'crds.keep': 'false' } }), 'CustomResourceDefinition')) {
      expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
    }
  });
});

describe('all features', () => {
  it('renders every optional object', () => {
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'NetworkPolicy', 'PodDisruptionBudget', 'Ingress']) expect(find(allFeatures, kind), kind).toHaveLength(1);
  });

  it('limits the operator to watchNamespaces with one Role each, and no cluster-wide grant to its ServiceAccount', () => {
    const roles = find(allFeatures, 'Role', 'hs-hubspot-operator');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['crm', 'sales']);
    for (const r of roles) expect(r.rules).toEqual(OPERATOR_RULES);
    const bindings = find(allFeatures, 'RoleBinding', 'hs-hubspot-operator');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(['crm', 'sales']);
    for (const b of bindings) expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'hs-hubspot-operator', namespace: 'ops' }]);
    expect(find(allFeatures, 'ClusterRoleBinding')).toEqual([]);
    const args: string[] = one(allFeatures, 'Deployment').spec.template.spec.containers[0].args;
    expect(args).toEqual(expect.arrayContaining(['--namespaces=crm,sales', '--shard=hubspot-operator.dev/shard=a', '--lease-name=hubspot-operator-shard-a', '--log-level=debug', '--concurrency=12', '--max-concurrent-syncs=16', '--db-pool-size=4', '--bind-address=0.0.0.0']));
    expect(one(allFeatures, 'Role', 'hs-hubspot-operator-leader-election').rules[1].resourceNames).toEqual(['hubspot-operator-shard-a']);
  });

  it('uses the image digest, two replicas and minAvailable', () => {
    const deploy = one(allFeatures, 'Deployment');
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.spec.template.spec.containers[0].image).toBe(
      'registry.example.com/hubspot-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    expect(one(allFeatures, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
    expect(one(allFeatures, 'PodDisruptionBudget').spec.maxUnavailable).toBeUndefined();
  });

  it('lets only the monitoring namespace scrape, and restricts egress to DNS and the listed ports', () => {
    const np = one(allFeatures, 'NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([
      { ports: [{ port: 'http-metrics', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      { ports: [{ port: 'http-webhooks', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] },
    ]);
    expect(np.spec.egress[1].ports.map((p: { port: number }) => p.port)).toEqual([443, 6443, 5432]);
  });

  it('scrapes with honorLabels so the integration namespace label survives', () => {
    const sm = one(allFeatures, 'ServiceMonitor');
    expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http-metrics', path: '/metrics', honorLabels: true });
    expect(sm.spec.selector.matchLabels).toEqual(one(allFeatures, 'Service', 'hs-hubspot-operator-metrics').metadata.labels && {
      'app.kubernetes.io/name': 'hubspot-operator',
      'app.kubernetes.io/instance': 'hs',
      'app.kubernetes.io/component': 'metrics',
    });
  });
});

describe('webhooks', () => {
  it('serves the webhook port on every replica through its own Service, separate from /metrics', () => {
    const svc = one(defaults, 'Service', 'hs-hubspot-operator-webhooks');
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports).toEqual([{ name: 'http-webhooks', port: 9443, targetPort: 'http-webhooks', protocol: 'TCP' }]);
    // All replicas, not only the leader: the selector is the pods' selector, nothing leader-specific.
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'hubspot-operator', 'app.kubernetes.io/instance': 'hs' });
    expect(svc.metadata.labels?.['app.kubernetes.io/component']).toBe('webhooks');
    expect(one(defaults, 'Service', 'hs-hubspot-operator-metrics').spec.ports.map((p: { name: string }) => p.name)).toEqual(['http-metrics']);
    expect(find(defaults, 'Ingress')).toEqual([]);
  });

  it('publishes only POST /webhooks/hubspot through the Ingress with host, TLS, class and annotations', () => {
    const ing = one(allFeatures, 'Ingress', 'hs-hubspot-operator-webhooks');
    expect(ing.metadata.namespace).toBe('ops');
    expect(ing.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(ing.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['hooks.example.com'], secretName: 'hooks-example-com-tls' }],
      rules: [{
        host: 'hooks.example.com',
        http: { paths: [{ path: '/webhooks/hubspot', pathType: 'Exact', backend: { service: { name: 'hs-hubspot-operator-webhooks', port: { name: 'http-webhooks' } } } }] },
      }],
    });
    const args: string[] = one(allFeatures, 'Deployment').spec.template.spec.containers[0].args;
    expect(args).toEqual(expect.arrayContaining(['--webhook-port=9443', '--webhook-public-url=https://hooks.example.com/webhooks/hubspot']));
    expect(one(allFeatures, 'Service', 'hs-hubspot-operator-webhooks').metadata.annotations).toEqual({ 'example.com/webhooks': 'true' });
  });

  it('renders the Ingress without a tls block when TLS ends in front of it, and refuses one without a host', async () => {
    const ing = one(await render({ set: { 'webhooks.ingress.enabled': 'true', 'webhooks.ingress.host': 'hooks.example.org' } }), 'Ingress');
    expect(ing.spec.tls).toBeUndefined();
    expect(ing.spec.ingressClassName).toBeUndefined();
    expect(await renderError({ set: { 'webhooks.ingress.enabled': 'true' } })).toMatch(/webhooks.ingress.host is required when webhooks.ingress.enabled is true/);
    expect(await renderError({ set: { 'webhooks.ingress.enabled': 'true', 'webhooks.ingress.host': 'h.example.org', 'webhooks.service.enabled': 'false' } })).toMatch(
      /webhooks.ingress.enabled needs webhooks.service.enabled/,
    );
  });
});

describe('PrometheusRule', () => {
  const rulesFile = parse(readFileSync(join(CHART_DIR, 'files', 'alerts.rules.yaml'), 'utf8')) as { groups: { name: string; rules: any[] }[] };

  it('holds exactly the groups of files/alerts.rules.yaml (the file promtool tests)', async () => {
    const pr = one(await render({ set: { 'prometheusRule.enabled': 'true' } }), 'PrometheusRule');
    expect(pr.spec.groups).toEqual(rulesFile.groups);
  });

  it('applies runbook base URL, exact job, extra labels, severities and left-out alerts from values', () => {
    const pr = one(allFeatures, 'PrometheusRule');
    const alerts = pr.spec.groups.flatMap((g: { rules: any[] }) => g.rules).filter((r: any) => r.alert);
    const names = alerts.map((a: any) => a.alert);
    expect(names).not.toContain('HubSpotAPIRateLimited');
    expect(names).toHaveLength(rulesFile.groups.flatMap((g) => g.rules).filter((r) => r.alert).length - 1);
    for (const a of alerts) {
      expect(a.labels.team).toBe('revops');
      expect(a.annotations.runbook_url).toBe(`https://wiki.example.com/hubspot-operator#${a.alert.toLowerCase()}`);
      expect(a.expr).not.toContain('.*hubspot-operator.*');
    }
    expect(alerts.find((a: any) => a.alert === 'HubSpotSyncStale').labels.severity).toBe('critical');
    expect(alerts.find((a: any) => a.alert === 'HubSpotOperatorAbsent').expr).toContain('up{job="hs-hubspot-operator-metrics"}');
  });
});

describe('Grafana dashboard ConfigMap', () => {
  it('carries the dashboard JSON with panels for every area the issue names', () => {
    const cm = one(allFeatures, 'ConfigMap', 'hs-hubspot-operator-dashboard');
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(cm.metadata.annotations?.grafana_folder).toBe('HubSpot');
    const dashboard = JSON.parse(cm.data['hubspot-operator.json']);
    expect(dashboard).toEqual(JSON.parse(readFileSync(join(CHART_DIR, 'files', 'dashboards', 'hubspot-operator.json'), 'utf8')));
    const exprs: string = JSON.stringify(dashboard.panels.flatMap((p: any) => p.targets ?? []).map((t: any) => t.expr));
    for (const metric of [
      'hubspot_operator_integration_ready', 'hubspot_operator_records_synced_total', 'hubspot_operator_sync_errors_total',
      'hubspot_operator_failing_records', 'hubspot_operator_api_requests_total', 'hubspot_operator_api_rate_limited_total',
      'hubspot_operator_api_budget_remaining', 'hubspot_operator_sync_lag_seconds', 'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_time_seconds_bucket', 'workqueue_depth',
    ]) expect(exprs, metric).toContain(metric);
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('values.schema.json', () => {
  const refusals: [Record<string, string>, RegExp][] = [
    [{ replicaCount: 'two' }, /at '\/replicaCount': got string, want integer/],
    [{ logLevel: 'loud' }, /at '\/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal'/],
    [{ 'image.pullPolicy': 'Sometimes' }, /at '\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/],
    [{ 'watchNamespaces[0]': 'Not_A_Namespace' }, /at '\/watchNamespaces\/0': 'Not_A_Namespace' does not match pattern/],
    [{ 'leaderElection.leaseDuration': '15' }, /at '\/leaderElection\/leaseDuration': got number, want string/],
    [{ 'leaderElection.leaseDuration': 'soon' }, /at '\/leaderElection\/leaseDuration': 'soon' does not match pattern/],
    [{ 'metrics.port': '70000' }, /at '\/metrics\/port': maximum: got 70,000, want 65,535/],
    [{ 'webhooks.port': '70000' }, /at '\/webhooks\/port': maximum: got 70,000, want 65,535/],
    [{ 'webhooks.publicUrl': 'hooks.example.com' }, /at '\/webhooks\/publicUrl': 'hooks.example.com' does not match pattern/],
    [{ 'webhooks.ingress.host': 'Hooks_Example' }, /at '\/webhooks\/ingress\/host': 'Hooks_Example' does not match pattern/],
    [{ 'webhooks.ingress.tls': 'true' }, /at '\/webhooks\/ingress': additional properties 'tls' not allowed/],
    [{ 'prometheusRule.runbookBaseURL': 'wiki' }, /at '\/prometheusRule\/runbookBaseURL': 'wiki' does not match pattern '\^https\?:\/\/'/],
    [{ 'prometheusRule.severityOverrides.HubSpotSyncStale': 'urgent' }, /at '\/prometheusRule\/severityOverrides\/HubSpotSyncStale': value must be one of/],
    [{ replicas: '2' }, /additional properties 'replicas' not allowed/],
    [{ 'crds.install': 'true' }, /at '\/crds': additional properties 'install' not allowed/],
  ];
  for (const [set, message] of refusals) {
    it(`refuses ${JSON.stringify(set)}`, async () => {
      const stderr = await renderError({ set });
      expect(stderr).toContain("values don't meet the specifications of the schema");
      expect(stderr).toMatch(message);
    });
  }

  it('refuses combinations the schema cannot explain, with a reason', async () => {
    expect(await renderError({ set: { replicaCount: '2', 'leaderElection.enabled': 'false' } })).toMatch(
      /replicaCount is 2 but leaderElection.enabled is false: several operators without a leader would sync the same integrations twice/,
    );
    expect(await renderError({ set: { 'prometheusRule.enabled': 'true', 'prometheusRule.disabledAlerts[0]': 'HubSpotTypo' } })).toMatch(
      /prometheusRule: unknown alert "HubSpotTypo".*known alerts: HubSpotIntegrationNotReady/,
    );
    expect(await renderError({ set: { 'metrics.serviceMonitor.enabled': 'true', 'metrics.service.enabled': 'false' } })).toMatch(
      /metrics.serviceMonitor.enabled needs metrics.service.enabled/,
    );
    expect(await renderError({ set: { 'serviceAccount.create': 'false' } })).toMatch(/serviceAccount.name is required when serviceAccount.create is false/);
  });
});

describe('chart README', () => {
  it('documents every value of values.yaml', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
    // Walk values.yaml down to the keys the schema defines; free-form maps (resources,
    // securityContext, ...) are documented as a whole.
    const paths: string[] = [];
    const walk = (value: unknown, node: any, prefix: string) => {
      for (const key of Object.keys(value as object)) {
        const path = prefix ? `${prefix}.${key}` : key;
        const child = node?.properties?.[key];
        const v = (value as Record<string, unknown>)[key];
        if (child?.properties && child.additionalProperties === false && v && typeof v === 'object' && !Array.isArray(v)) walk(v, child, path);
        else paths.push(path);
      }
    };
    walk(values, schema, '');
    expect(paths.length).toBeGreaterThan(60);
    const missing = paths.filter((p) => !readme.includes(`\`${p}\``));
    expect(missing, 'values missing from charts/hubspot-operator/README.md').toEqual([]);
  });

  it('NOTES.txt tells how to check the install', async () => {
    const r = await helm(['install', 'hs', CHART_DIR, '--dry-run=client', '--namespace', 'ops', '--set', 'watchNamespaces[0]=crm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kubectl -n ops rollout status deployment/hs-hubspot-operator');
    expect(r.stdout).toContain('It watches HubSpotIntegrations, FieldMappings and SyncFilters in: crm.');
  });

  it('NOTES.txt gives the webhook target URL for the HubSpot app when the Ingress is on', async () => {
    const r = await helm(['install', 'hs', CHART_DIR, '--dry-run=client', '--namespace', 'ops', '--set', 'webhooks.ingress.enabled=true', '--set', 'webhooks.ingress.host=hooks.example.com']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('set the HubSpot app\'s webhook target URL to\n  https://hooks.example.com/webhooks/hubspot');
  });
});
