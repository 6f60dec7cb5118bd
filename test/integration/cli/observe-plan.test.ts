/**
 * `hubspot-operator plan NAME` against a real Observe pass: the engine observes overlapping data
 * (HubSpot sandbox + a real PostgreSQL / MariaDB), the controller's status code turns the report
 * into status.plan, and the CLI shows it in table, json and csv (exit 1: differences), with
 * `--details` reading the full plan from the state schema through the connector factory.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '../../../operator/src/kube/config.js';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeIntegrationStatus } from '../../../operator/src/controller/status.js';
import { KubeClient, type KubeObject } from '../../../operator/src/kube/client.js';
import { applyObjects } from '../../../operator/src/sandbox/command.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { serverDbKinds } from '../../helpers/db.js';
import { R } from '../../e2e/harness.js';
import { Harness } from '../sync/harness.js';
import { cli, csvObjects, tableRows } from './helpers.js';

const kinds = await serverDbKinds();
let kube: KubeSandbox;
let client: KubeClient;
let dir: string;
let kc: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hso-cli-observe-'));
  kube = await startKubeSandbox({});
  kc = join(dir, 'kubeconfig');
  await kube.writeKubeconfig(kc);
  const k = new KubeConfig();
  k.loadFromString(kube.kubeconfig);
  client = new KubeClient(k);
  await applyObjects(client, [parse(readFileSync('crds/hubspotintegrations.yaml', 'utf8')), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'crm' } } as never]);
});

afterAll(async () => {
  await kube?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(kinds)('plan NAME after an Observe pass (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
  });

  it('shows the observed plan in table, json and csv, exit 1, and the field-level diffs with --details', async () => {
    h = await Harness.start({ dbKind });
    const name = `observe-${dbKind}`;
    await applyObjects(client, [{ apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'HubSpotIntegration', metadata: { name, namespace: 'crm' }, spec: { ...h.cfg.spec, hubspot: { ...h.cfg.spec.hubspot, rateLimit: undefined }, mode: 'Observe' } } as never]);
    const obj = await client.get<KubeObject>(R.integration, 'crm', name);
    // The engine keys the state by the resource's UID, as the operator does.
    h.cfg = { ...h.cfg, uid: obj.metadata.uid!, name, namespace: 'crm', spec: { ...h.cfg.spec, mode: 'Observe' } };
    await h.restart();
    await h.hs.create('contacts', { email: 'alice@example.com', firstname: 'Alice' });
    await h.hs.create('contacts', { email: 'bob@example.com', firstname: 'Bob' });
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('alice@example.com', 'Ally'), ('carol@example.com', 'Carol, "C"')`);
    const report = await h.cycle('initial');
    const status = computeIntegrationStatus({
      generation: 1,
      suspended: false,
      staticIssues: [],
      worker: { suspended: false, generation: 1, initialDone: false, specIssues: [], completedGeneration: 1, lastReport: report, lastSyncTime: report.finishedAt },
      now: new Date(),
    });
    expect(status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Observed' });
    await client.replaceStatus(R.integration, 'crm', name, { ...obj, status });

    const K = ['--kubeconfig', kc, '-n', 'crm'];
    const t = await cli('plan', name, ...K);
    expect(t).toMatchObject({ code: 1, stderr: '' });
    expect(tableRows(t.stdout.trimEnd().split('\n').slice(0, 2).join('\n'))).toEqual([
      ['TYPE', 'TO TARGET', 'TO HUBSPOT', 'LINK', 'DUPLICATES', 'CONFLICTS', 'WOULD FAIL'],
      ['contacts', '+1 ~1 -0', '+1 ~0 -0', '1', '0', '0', '0'],
    ]);
    const j = await cli('plan', name, ...K, '-o', 'json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ mode: 'Observe', differences: true, objects: [{ type: 'contacts', toTarget: { create: 1, update: 1, delete: 0 }, toHubSpot: { create: 1 }, link: 1 }] });
    const c = await cli('plan', name, ...K, '-o', 'csv');
    expect(c.code).toBe(1);
    expect(csvObjects(c.stdout)).toEqual([
      { type: 'contacts', toTargetCreate: '1', toTargetUpdate: '1', toTargetDelete: '0', toHubSpotCreate: '1', toHubSpotUpdate: '0', toHubSpotDelete: '0', link: '1', duplicates: '0', conflicts: '0', wouldFail: '0' },
    ]);

    // --details: the full plan from the state schema (the connector of spec.target, here --database-url).
    const d = await cli('plan', name, ...K, '--details', '-o', 'json', '--database-url', h.db.url);
    expect(d.code).toBe(1);
    const stored = JSON.parse(d.stdout).stored;
    expect(stored.objects).toEqual(report.plan!.objects);
    const items = stored.items as { direction: string; operation: string; fields: Record<string, { before?: string | null; after: string | null }> }[];
    expect(items.find((i) => i.direction === 'toTarget' && i.operation === 'update')!.fields.firstname).toEqual({ before: 'Ally', after: 'Alice' });
    expect(items.find((i) => i.direction === 'toHubSpot' && i.operation === 'create')!.fields.firstname).toEqual({ after: 'Carol, "C"' });

    // Switch on: the audit log of the sync carries the changed fields with before/after values, in every format.
    h.cfg.spec.mode = 'Sync';
    await h.restart();
    await h.cycle('initial');
    const a = JSON.parse((await cli('audit', name, ...K, '-o', 'json', '--database-url', h.db.url)).stdout);
    const linked = a.items.find((i: { operation: string }) => i.operation === 'link+update');
    expect(linked).toMatchObject({ direction: 'toTarget', fields: expect.arrayContaining(['firstname']), values: { firstname: { before: 'Ally', after: 'Alice' } } });
    const ac = csvObjects((await cli('audit', name, ...K, '-o', 'csv', '--database-url', h.db.url)).stdout);
    expect(ac.find((r) => r.operation === 'link+update')!.fields).toContain('firstname');
    const at = await cli('audit', name, ...K, '--database-url', h.db.url);
    expect(at.code).toBe(0);
    expect(tableRows(at.stdout)[0]).toContain('FIELDS');
  });
});
