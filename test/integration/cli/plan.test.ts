/**
 * `plan` with a plan to show. spec.mode and status.plan belong to Observe mode (issue 13's other
 * part), which is not in crds/ yet: this test extends the CRD in its own Kubernetes API sandbox
 * with the §2.9 shape (spec.mode Sync|Observe; status.plan one entry per object type with
 * toTarget/toHubSpot {create, update, delete}, link, duplicates, conflicts, wouldFail) and writes
 * the status itself, as the operator in Observe mode will. Exit codes like `flux diff`.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '../../../operator/src/kube/config.js';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type KubeObject } from '../../../operator/src/kube/client.js';
import { applyObjects } from '../../../operator/src/sandbox/command.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { DATABASE_URL, R } from '../../e2e/harness.js';
import { cli, csvObjects, tableRows } from './helpers.js';

let kube: KubeSandbox;
let client: KubeClient;
let dir: string;
let kc: string;

const PLAN = [
  { type: 'contacts', toTarget: { create: 3, update: 2, delete: 0 }, toHubSpot: { create: 1, update: 0, delete: 0 }, link: 40, duplicates: 1, conflicts: 2, wouldFail: 1 },
  { type: 'companies', toTarget: { create: 0, update: 0, delete: 0 }, toHubSpot: { create: 0, update: 0, delete: 0 }, link: 0, duplicates: 0, conflicts: 0, wouldFail: 0 },
];

async function integration(name: string, mode: 'Sync' | 'Observe', plan?: unknown[]) {
  await applyObjects(client, [{
    apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'HubSpotIntegration', metadata: { name, namespace: 'crm' },
    spec: {
      mode,
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'hs', key: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' } } },
      objects: [{ type: 'contacts', table: 'contacts' }, { type: 'companies', table: 'companies' }],
    },
  } as never]);
  if (plan) {
    const obj = await client.get<KubeObject>(R.integration, 'crm', name);
    await client.replaceStatus(R.integration, 'crm', name, { ...obj, status: { plan } });
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hso-cli-plan-'));
  kube = await startKubeSandbox({});
  kc = join(dir, 'kubeconfig');
  await kube.writeKubeconfig(kc);
  const k = new KubeConfig();
  k.loadFromString(kube.kubeconfig);
  client = new KubeClient(k);
  const crd = parse(readFileSync('crds/hubspotintegrations.yaml', 'utf8'));
  const schema = crd.spec.versions[0].schema.openAPIV3Schema;
  schema.properties.spec.properties.mode = { type: 'string', enum: ['Sync', 'Observe'], default: 'Sync' };
  schema.properties.status.properties.plan = { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
  await applyObjects(client, [crd, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'crm' } } as never]);
  await applyObjects(client, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'crm' }, stringData: { url: DATABASE_URL } } as never]);
  await integration('preview', 'Observe', PLAN);
  await integration('clean', 'Observe', [PLAN[1]]);
  await integration('pending', 'Observe');
});

afterAll(async () => {
  await kube?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('plan', () => {
  const K = () => ['--kubeconfig', kc, '-n', 'crm'];

  it('with differences: exit 1, in table, json and csv', async () => {
    const t = await cli('plan', 'preview', ...K());
    expect(t.code).toBe(1);
    const lines = t.stdout.trimEnd().split('\n');
    expect(tableRows(lines.slice(0, 3).join('\n'))).toEqual([
      ['TYPE', 'TO TARGET', 'TO HUBSPOT', 'LINK', 'DUPLICATES', 'CONFLICTS', 'WOULD FAIL'],
      ['contacts', '+3 ~2 -0', '+1 ~0 -0', '40', '1', '2', '1'],
      ['companies', '+0 ~0 -0', '+0 ~0 -0', '0', '0', '0', '0'],
    ]);
    expect(lines[3]).toBe('A sync would change records (+ create, ~ update, - delete). Mode: Observe.');

    const j = await cli('plan', 'preview', ...K(), '-o', 'json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ namespace: 'crm', name: 'preview', mode: 'Observe', differences: true, plan: PLAN, objects: PLAN });

    const c = await cli('plan', 'preview', ...K(), '-o', 'csv');
    expect(c.code).toBe(1);
    expect(csvObjects(c.stdout)[0]).toEqual({ type: 'contacts', toTargetCreate: '3', toTargetUpdate: '2', toTargetDelete: '0', toHubSpotCreate: '1', toHubSpotUpdate: '0', toHubSpotDelete: '0', link: '40', duplicates: '1', conflicts: '2', wouldFail: '1' });
  });

  it('without differences: exit 0', async () => {
    const t = await cli('plan', 'clean', ...K());
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('A sync would change nothing. Mode: Observe.');
    expect(JSON.parse((await cli('plan', 'clean', ...K(), '-o', 'json')).stdout).differences).toBe(false);
    expect((await cli('plan', 'clean', ...K(), '-o', 'csv')).code).toBe(0);
  });

  it('Observe without a plan yet, or a failure: exit 2 (never 1, which means differences)', async () => {
    expect(await cli('plan', 'pending', ...K())).toMatchObject({ code: 2, stdout: '', stderr: 'hubspot-operator: crm/pending has no plan yet: the first Observe pass has not completed (see "hubspot-operator status pending")\n' });
    expect(await cli('plan', 'ghost', ...K())).toMatchObject({ code: 2, stderr: 'hubspot-operator: HubSpotIntegration "ghost" not found in namespace "crm"\n' });
    expect((await cli('plan', 'preview', ...K(), '--details', '--database-url', 'postgres://127.0.0.1:1/x')).code).toBe(2);
  });

  it('--details reads the stored plan from the state schema (none is stored until Observe mode keeps one)', async () => {
    const t = await cli('plan', 'preview', ...K(), '--details');
    expect(t.code).toBe(1);
    expect(t.stdout).toContain('No stored plan with field-level diffs in the state schema.');
    expect(JSON.parse((await cli('plan', 'preview', ...K(), '--details', '-o', 'json')).stdout).stored).toBeNull();
  });

  it('status shows the mode', async () => {
    expect((await cli('status', 'preview', ...K())).stdout).toMatch(/^Mode:\s+Observe$/m);
  });
});
