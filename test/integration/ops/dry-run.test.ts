// The rendered chart is accepted by a Kubernetes API server: `kubectl apply --dry-run=server`
// against the Kubernetes API sandbox, for the default values and with every feature on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { parseAllDocuments } from 'yaml';
import { typeErrors } from './k8s-types.js';
import { FIXTURES_DIR, renderYaml, run, tools, type RenderOptions } from './tools.js';

let kube: KubeSandbox;
const work = mkdtempSync(join(tmpdir(), 'hubspot-operator-dryrun-'));
const kubeconfig = join(work, 'kubeconfig');
const kubectl = (...args: string[]) => run(tools().kubectl, ['--kubeconfig', kubeconfig, ...args]);

beforeAll(async () => {
  kube = await startKubeSandbox({ port: 0 });
  await kube.writeKubeconfig(kubeconfig);
  const namespaces = ['hubspot-system', 'ops', 'crm', 'sales'].map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`).join('---\n');
  writeFileSync(join(work, 'namespaces.yaml'), namespaces);
  const ns = await kubectl('apply', '-f', join(work, 'namespaces.yaml'));
  expect(ns.code, ns.stderr).toBe(0);
  const crds = await kubectl('apply', '-f', join(FIXTURES_DIR, 'monitoring-crds.yaml'));
  expect(crds.code, crds.stderr).toBe(0);
});

afterAll(async () => {
  await kube?.close();
  rmSync(work, { recursive: true, force: true });
});

async function dryRun(name: string, manifests: string) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, manifests);
  return kubectl('apply', '--dry-run=server', '-f', file);
}

describe('kubectl apply --dry-run=server of the rendered chart', () => {
  it('accepts every object of the default install and persists nothing', async () => {
    const r = await dryRun('default', await renderYaml({ namespace: 'hubspot-system' }));
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    for (const kind of ['customresourcedefinition.apiextensions.k8s.io/hubspotintegrations.hubspot-operator.dev', 'deployment.apps/hs-hubspot-operator', 'clusterrole.rbac.authorization.k8s.io/hs-hubspot-operator', 'serviceaccount/hs-hubspot-operator', 'service/hs-hubspot-operator-metrics', 'service/hs-hubspot-operator-webhooks', 'poddisruptionbudget.policy/hs-hubspot-operator']) {
      expect(lines.some((l) => l.startsWith(kind) && l.endsWith('(server dry run)')), `${kind} in:\n${r.stdout}`).toBe(true);
    }
    expect(lines).toHaveLength(14);
    const get = await kubectl('get', 'deployments,serviceaccounts', '-n', 'hubspot-system', '-o', 'name');
    expect(get.stdout).not.toContain('hs-hubspot-operator');
  });

  it('accepts every object with all features on (RBAC per namespace, monitoring, network policy, webhook Ingress)', async () => {
    const r = await dryRun('all', await renderYaml({ namespace: 'ops', valuesFiles: [join(FIXTURES_DIR, 'values-all-features.yaml')] }));
    expect(r.code, r.stderr).toBe(0);
    for (const obj of ['servicemonitor.monitoring.coreos.com/hs-hubspot-operator', 'prometheusrule.monitoring.coreos.com/hs-hubspot-operator', 'networkpolicy.networking.k8s.io/hs-hubspot-operator', 'ingress.networking.k8s.io/hs-hubspot-operator-webhooks', 'configmap/hs-hubspot-operator-dashboard', 'role.rbac.authorization.k8s.io/hs-hubspot-operator']) {
      expect(r.stdout, obj).toContain(`${obj} created (server dry run)`);
    }
  });

  it('refuses an install into a namespace that does not exist (helm install without --create-namespace)', async () => {
    const r = await dryRun('nonamespace', await renderYaml({ namespace: 'missing' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/namespaces "missing" not found/);
  });
});

// The sandbox stores built-in kinds without their schema, so the built-ins are also checked
// field by field against the Kubernetes API types.
describe('rendered built-in objects match the Kubernetes API types', () => {
  const cases: [string, RenderOptions][] = [
    ['default values', {}],
    ['all features', { valuesFiles: [join(FIXTURES_DIR, 'values-all-features.yaml')] }],
  ];
  for (const [name, opts] of cases) {
    it(name, async () => {
      const objs = parseAllDocuments(await renderYaml(opts)).map((d) => d.toJS()).filter(Boolean);
      const builtins = objs.filter((o) => !String(o.apiVersion).includes('monitoring.coreos.com'));
      expect(builtins.length).toBeGreaterThan(10);
      expect(builtins.flatMap((o) => typeErrors(o))).toEqual([]);
    });
  }

  it('catches a misspelt field', async () => {
    const objs = parseAllDocuments((await renderYaml()).replace('- apiGroups:', '- apiGroupz:').replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: "yes"')).map((d) => d.toJS()).filter(Boolean);
    expect(objs.flatMap((o) => typeErrors(o))).toEqual(expect.arrayContaining([expect.stringMatching(/rules\[0\]\.apiGroupz: unknown field \(not in V1PolicyRule\)/), expect.stringMatching(/securityContext\.readOnlyRootFilesystem: expected boolean, got string "yes"/)]));
  });
});
