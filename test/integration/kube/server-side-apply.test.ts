/**
 * Server-side apply and field ownership: managedFields are recorded for every write, an apply
 * merges by list keys and removes what the manager stopped applying, and changing a field
 * another manager owns is a 409 naming that manager unless forced — with kubectl and raw HTTP,
 * on the Kubernetes API sandbox and the real kube-apiserver (when built).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../../helpers/kube-backend.js';
import { kubectlFor, type Kubectl } from './kubectl-helper.js';

let kube: KubeBackend;
const PATH = '/apis/hubspot-operator.dev/v1alpha1/namespaces/default/hubspotintegrations';

type Body = Record<string, any>;
async function apply(name: string, config: Body, manager: string, force = false): Promise<{ status: number; body: Body }> {
  const res = await kube.request(`${PATH}/${name}?fieldManager=${manager}${force ? '&force=true' : ''}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/apply-patch+yaml' },
    body: stringify(config),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

function config(name: string, spec: Body): Body {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { name },
    spec: {
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'hs', key: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' } } },
      objects: [{ type: 'contacts', table: 'contacts' }],
      ...spec,
    },
  };
}

const managers = (obj: Body): string[] => (obj.metadata.managedFields as Body[]).map((e) => `${e.manager}/${e.operation}`).sort();

describe.each(kubeBackends())('on the %s', (backend) => {
let k: Kubectl;

beforeAll(async () => {
  kube = await startKubeBackend(backend);
  k = await kubectlFor(kube);
  await k.ok('apply', '--server-side', '-f', 'crds/hubspotintegrations.yaml');
  // A real kube-apiserver serves the new resource a moment after it accepts the CRD.
  await k.ok('wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/hubspotintegrations.yaml');
});
afterAll(async () => {
  await k?.cleanup();
  await kube?.close();
});

describe('server-side apply', () => {
  it('creates, records the Apply owner, and merges list items by key', async () => {
    const created = await apply('ssa', config('ssa', { suspend: true }), 'gitops');
    expect(created.status).toBe(201);
    expect(managers(created.body)).toEqual(['gitops/Apply']);
    const fields = created.body.metadata.managedFields[0].fieldsV1;
    expect(fields['f:spec']['f:objects']['k:{"type":"contacts"}']).toEqual({ '.': {}, 'f:table': {}, 'f:type': {} });

    // Another manager adds a list item; both items stay, each owned by its manager.
    const second = await apply('ssa', { apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'HubSpotIntegration', metadata: { name: 'ssa' }, spec: { objects: [{ type: 'deals', table: 'deals' }] } }, 'deals-team');
    expect(second.status).toBe(200);
    expect(second.body.spec.objects.map((o: Body) => o.type)).toEqual(['contacts', 'deals']);
    expect(managers(second.body)).toEqual(['deals-team/Apply', 'gitops/Apply']);
  });

  it('removes fields the manager no longer applies', async () => {
    const before = await apply('ssa', config('ssa', { suspend: true, deletionPolicy: 'Orphan' }), 'gitops');
    expect(before.body.spec.deletionPolicy).toBe('Orphan');
    const after = await apply('ssa', config('ssa', { suspend: true }), 'gitops');
    // deletionPolicy was only gitops's: it is removed, then defaulted again by the schema.
    expect(after.body.spec.deletionPolicy).toBe('Delete');
    expect(after.body.spec.objects.map((o: Body) => o.type)).toEqual(['contacts', 'deals']);
  });

  it('refuses to change a field another manager owns, unless forced', async () => {
    const conflict = await apply('ssa', config('ssa', { suspend: false }), 'intruder');
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ kind: 'Status', reason: 'Conflict' });
    // An Apply owner is named alone; an Update owner (below: kubectl patch) with the version it wrote.
    expect(conflict.body.message).toBe('Apply failed with 1 conflict: conflict with "gitops": .spec.suspend');
    expect(conflict.body.details.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "gitops"', field: '.spec.suspend' }]);
    // The same value is no conflict: the field becomes shared.
    expect((await apply('ssa', config('ssa', { suspend: true }), 'intruder')).status).toBe(200);
    const forced = await apply('ssa', config('ssa', { suspend: false }), 'intruder', true);
    expect(forced.status).toBe(200);
    expect(forced.body.spec.suspend).toBe(false);
    const gitops = (forced.body.metadata.managedFields as Body[]).find((e) => e.manager === 'gitops');
    expect(gitops?.fieldsV1['f:spec']['f:suspend']).toBeUndefined();
  });

  it('kubectl apply --server-side conflicts with a kubectl patch, and --force-conflicts takes over', async () => {
    const manifest = readFileSync('examples/acme/10-hubspotintegration.yaml', 'utf8');
    const file = await k.file('acme.yaml', manifest);
    expect(await k.ok('apply', '--server-side', '-f', file)).toMatch(/hubspotintegration.hubspot-operator.dev\/acme serverside-applied/);
    await k.ok('patch', 'hsi', 'acme', '--type=merge', '-p', '{"spec":{"suspend":true}}');
    const refused = await k.run('apply', '--server-side', '-f', file);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Apply failed with 1 conflict: conflict with "kubectl-patch" using hubspot-operator.dev\/v1alpha1: .spec.suspend/);
    await k.ok('apply', '--server-side', '--force-conflicts', '-f', file);
    expect(await k.ok('get', 'hsi', 'acme', '-o', 'jsonpath={.spec.suspend}')).toBe('false');
    const obj = parse(await k.ok('get', 'hsi', 'acme', '-o', 'yaml', '--show-managed-fields'));
    // kubectl-patch owned only spec.suspend; having lost it, its entry is gone.
    expect(managers(obj)).toEqual(['kubectl/Apply']);
  });

  it('ordinary writes record Update owners and no-op writes leave managedFields alone', async () => {
    const cm = await kube.request(`/api/v1/namespaces/default/configmaps?fieldManager=creator`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'owned', labels: { a: 'b' } }, data: { x: '1' } }),
    }).then((r) => r.json() as Promise<Body>);
    expect(cm.metadata.managedFields).toEqual([
      // The maps the create added are owned as nodes too ('.'), as structured-merge-diff records them.
      expect.objectContaining({ manager: 'creator', operation: 'Update', fieldsV1: { 'f:data': { '.': {}, 'f:x': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } } } }),
    ]);
    const same = await kube.request(`/api/v1/namespaces/default/configmaps/owned?fieldManager=other`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ data: { x: '1' } }),
    }).then((r) => r.json() as Promise<Body>);
    expect(same.metadata.resourceVersion).toBe(cm.metadata.resourceVersion);
    expect(same.metadata.managedFields).toEqual(cm.metadata.managedFields);
  });

  it('a create and a merge patch of a custom resource record the fields (and added maps and lists) as kube-apiserver does', async () => {
    const created = (await kube.request(`${PATH}?fieldManager=creator`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config('recorded', {})),
    }).then((r) => r.json())) as Body;
    const creator = created.metadata.managedFields[0];
    expect(creator).toMatchObject({ manager: 'creator', operation: 'Update' });
    // Defaulted fields count as written; every map and list the create added is owned as a node.
    expect(creator.fieldsV1['f:spec']['.']).toEqual({});
    expect(creator.fieldsV1['f:spec']['f:objects']['.']).toEqual({});
    expect(creator.fieldsV1['f:spec']['f:objects']['k:{"type":"contacts"}']['f:deletes']).toEqual({ '.': {}, 'f:fromHubSpot': {}, 'f:fromTarget': {}, 'f:privacyFromHubSpot': {} });
    expect(creator.fieldsV1['f:spec']['f:schedule']).toEqual({ '.': {}, 'f:fullResyncInterval': {}, 'f:interval': {}, 'f:minInterval': {} });
    const patched = (await kube.request(`${PATH}/recorded?fieldManager=editor`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { x: 'y' } }, spec: { suspend: true, schedule: { interval: '10m' } } }),
    }).then((r) => r.json())) as Body;
    const entries = Object.fromEntries((patched.metadata.managedFields as Body[]).map((e) => [e.manager, e.fieldsV1]));
    expect(entries.editor).toEqual({ 'f:metadata': { 'f:annotations': { '.': {}, 'f:x': {} } }, 'f:spec': { 'f:schedule': { 'f:interval': {} }, 'f:suspend': {} } });
    expect(entries.creator['f:spec']['f:schedule']).toEqual({ '.': {}, 'f:fullResyncInterval': {}, 'f:minInterval': {} });
    expect(entries.creator['f:spec']['f:suspend']).toBeUndefined();
  });

  it('requires a fieldManager for apply', async () => {
    const res = await kube.request(`${PATH}/nomanager`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      body: stringify(config('nomanager', {})),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as Body).message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  });
});
});
