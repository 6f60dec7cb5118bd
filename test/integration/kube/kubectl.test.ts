/**
 * The real, unmodified kubectl against the Kubernetes API sandbox and — when built
 * (`npm run setup:kube-real`) — the real kube-apiserver: the project's CRDs and examples apply,
 * printer columns and explain work, and patch / wait / delete behave the same on both.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../../helpers/kube-backend.js';
import { waitFor } from '../../helpers/wait.js';
import { kubectlFor, type Kubectl } from './kubectl-helper.js';

describe.each(kubeBackends())('kubectl against the %s', (backend) => {
let kube: KubeBackend;
let k: Kubectl;

beforeAll(async () => {
  kube = await startKubeBackend(backend);
  k = await kubectlFor(kube);
  // Every test below builds on the CRDs and examples being applied.
  const crds = await k.ok('apply', '-f', 'crds/');
  expect(crds).toMatch(/customresourcedefinition.apiextensions.k8s.io\/hubspotintegrations.hubspot-operator.dev created/);
  expect(crds).toMatch(/fieldmappings.hubspot-operator.dev created/);
  expect(crds).toMatch(/syncfilters.hubspot-operator.dev created/);
  const examples = await k.ok('apply', '-R', '-f', 'examples/');
  expect(examples).toMatch(/hubspotintegration.hubspot-operator.dev\/acme created/);
  expect(examples).toMatch(/fieldmapping.hubspot-operator.dev\/acme-contacts created/);
  expect(examples).toMatch(/syncfilter.hubspot-operator.dev\/demo-contacts-with-email created/);
  expect(examples).toMatch(/secret\/acme-hubspot created/);
  expect(examples).toMatch(/namespace\/demo created/);
});

afterAll(async () => {
  await k?.cleanup();
  await kube?.close();
});

async function writeStatus(namespace: string, name: string, status: unknown): Promise<void> {
  const path = `/apis/hubspot-operator.dev/v1alpha1/namespaces/${namespace}/hubspotintegrations/${name}/status`;
  const res = await kube.request(path, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ status }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

describe('kubectl', () => {
  it('get hubspot lists all three kinds with their printer columns (category and short names)', async () => {
    const out = await k.ok('get', 'hubspot', '-A');
    expect(out).toMatch(/NAMESPACE\s+NAME\s+READY\s+SUSPENDED\s+ERRORS\s+LAST SYNC\s+AGE/);
    expect(out).toMatch(/default\s+hubspotintegration.hubspot-operator.dev\/acme\s+/);
    expect(out).toMatch(/demo\s+hubspotintegration.hubspot-operator.dev\/demo\s+/);
    expect(out).toMatch(/fieldmapping.hubspot-operator.dev\/acme-contacts/);
    expect(out).toMatch(/syncfilter.hubspot-operator.dev\/acme-deals-recent/);

    await writeStatus('default', 'acme', {
      errorCount: 3,
      lastSyncTime: new Date(Date.now() - 5 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      conditions: [{ type: 'Ready', status: 'False', reason: 'SyncFailed', message: 'target unavailable', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    });
    const wide = await k.ok('get', 'hsi', 'acme', '-o', 'wide');
    // STATUS has priority 1: only in -o wide. LAST SYNC is a date column, shown as an age.
    expect(wide).toMatch(/NAME\s+READY\s+SUSPENDED\s+ERRORS\s+LAST SYNC\s+STATUS\s+AGE/);
    expect(wide).toMatch(/acme\s+False\s+false\s+3\s+5m\d*s?\s+target unavailable\s+/);
    const narrow = await k.ok('get', 'hsi', 'acme');
    expect(narrow).not.toMatch(/STATUS/);
  });

  it('explain hubspotintegration.spec.objects prints the CRD field descriptions', async () => {
    const crd = parse(readFileSync('crds/hubspotintegrations.yaml', 'utf8'));
    const objects = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.objects;
    const out = await k.ok('explain', 'hubspotintegration.spec.objects');
    expect(out).toMatch(/KIND:\s+HubSpotIntegration/);
    expect(out).toMatch(/FIELD: objects <\[\]Object>/);
    const firstWords = String(objects.description).split(/\s+/).slice(0, 6).join(' ');
    expect(out.replace(/\s+/g, ' ')).toContain(firstWords);
    const direction = String(objects.items.properties.direction.description).split(/\s+/).slice(0, 5).join(' ');
    expect(out).toMatch(/direction\s+<string>/);
    expect(out.replace(/\s+/g, ' ')).toContain(direction);
  });

  it('patch --type=merge sets spec.suspend and bumps the generation', async () => {
    const before = Number(await k.ok('get', 'hsi', 'acme', '-o', 'jsonpath={.metadata.generation}'));
    expect(await k.ok('patch', 'hsi', 'acme', '--type=merge', '-p', '{"spec":{"suspend":true}}')).toMatch(/hubspotintegration.hubspot-operator.dev\/acme patched/);
    const out = await k.ok('get', 'hsi', 'acme', '-o', 'jsonpath={.spec.suspend} {.metadata.generation}');
    expect(out).toBe(`true ${before + 1}`);
    expect(await k.ok('get', 'hsi', 'acme')).toMatch(/acme\s+False\s+true\s+/);
  });

  it('wait --for=condition=Ready returns once a status with Ready=True is written', async () => {
    const { child, done } = k.spawn('wait', '--for=condition=Ready', 'hsi/demo', '-n', 'demo', '--timeout=30s');
    let exited = false;
    void done.then(() => (exited = true));
    await waitFor(async () => (await kube.openWatches()) > 0, { what: 'kubectl wait to watch' });
    expect(exited).toBe(false);
    await writeStatus('demo', 'demo', {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: 'in sync', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    });
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/hubspotintegration.hubspot-operator.dev\/demo condition met/);
    child.kill();
  });

  it('delete of an object with a finalizer leaves a deletionTimestamp until the finalizer is removed', async () => {
    await k.ok('patch', 'hsi', 'acme-oauth', '--type=merge', '-p', '{"metadata":{"finalizers":["hubspot-operator.dev/cleanup"]}}');
    const { done } = k.spawn('delete', 'hsi', 'acme-oauth', '--timeout=30s');
    let exited = false;
    void done.then(() => (exited = true));
    const ts = await waitFor(async () => (await k.ok('get', 'hsi', 'acme-oauth', '-o', 'jsonpath={.metadata.deletionTimestamp}')).trim(), {
      what: 'deletionTimestamp',
    });
    expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(exited).toBe(false);
    // The object is still listed while the finalizer is there.
    expect(await k.ok('get', 'hsi')).toMatch(/acme-oauth/);
    await k.ok('patch', 'hsi', 'acme-oauth', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/hubspotintegration.hubspot-operator.dev "acme-oauth" deleted/);
    const gone = await k.run('get', 'hsi', 'acme-oauth');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/hubspotintegrations.hubspot-operator.dev "acme-oauth" not found/);
  });

  it('apply of a manifest that breaks the schema is refused, naming the field', async () => {
    const manifest = readFileSync('examples/acme/10-hubspotintegration.yaml', 'utf8')
      .replace('name: acme\n', 'name: broken\n')
      .replace('direction: HubSpotToTarget', 'direction: Sideways')
      .replace('requestsPerTenSeconds: 100', 'requestsPerTenSeconds: 1000');
    const r = await k.run('apply', '-f', await k.file('broken.yaml', manifest));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HubSpotIntegration "broken" is invalid/);
    expect(r.stderr).toMatch(/spec.objects\[2\].direction: Unsupported value: "Sideways": supported values: "HubSpotToTarget", "TargetToHubSpot", "TwoWay"/);
    expect(r.stderr).toMatch(/spec.hubspot.rateLimit.requestsPerTenSeconds: Invalid value: 1000: .*less than or equal to 250/);
    expect((await k.run('get', 'hsi', 'broken')).code).not.toBe(0);
  });

  it('apply of a manifest that breaks a CEL rule is refused with the rule message', async () => {
    const manifest = readFileSync('examples/acme/10-hubspotintegration.yaml', 'utf8')
      .replace('name: acme\n', 'name: two-auths\n')
      .replace('        secretRef: {name: acme-hubspot, key: token}\n', '        secretRef: {name: acme-hubspot, key: token}\n      oauth:\n        secretRef: {name: acme-oauth}\n');
    const r = await k.run('apply', '-f', await k.file('two-auths.yaml', manifest));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HubSpotIntegration "two-auths" is invalid: spec.hubspot.auth: Invalid value: "object": /);
  });

  it('apply of an unknown field is refused by strict field validation', async () => {
    const manifest = readFileSync('examples/acme/30-syncfilters.yaml', 'utf8').split(/^---$/m)[0].replace('spec:\n', 'spec:\n  colour: blue\n');
    const r = await k.run('apply', '-f', await k.file('unknown.yaml', manifest));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "spec.colour"/);
  });

  it('re-apply of unchanged files says unchanged', async () => {
    const crds = await k.ok('apply', '-f', 'crds/');
    expect(crds.trim().split('\n')).toHaveLength(3);
    for (const line of crds.trim().split('\n')) expect(line).toMatch(/ unchanged$/);
    const filters = await k.ok('apply', '-f', 'examples/acme/30-syncfilters.yaml');
    for (const line of filters.trim().split('\n')) expect(line).toMatch(/ unchanged$/);
  });

  it('apply -f of a kind: List, as kubectl get -o yaml writes it, applies every item (kubectl validates it against /openapi/v2)', async () => {
    const listed = await k.ok('get', 'syncfilters', '-n', 'default', '-o', 'yaml');
    const list = parse(listed) as { kind: string; items: { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> }[] };
    expect(list.kind).toBe('List');
    expect(list.items.length).toBeGreaterThan(1);
    const again = await k.ok('apply', '-f', await k.file('list.yaml', listed));
    for (const i of list.items) expect(again).toMatch(new RegExp(`syncfilter.hubspot-operator.dev/${i.metadata.name} (configured|unchanged)`));

    const copies = {
      apiVersion: 'v1',
      kind: 'List',
      items: list.items.map((i) => ({ apiVersion: i.apiVersion, kind: i.kind, metadata: { name: `${i.metadata.name}-copy`, namespace: i.metadata.namespace }, spec: i.spec })),
    };
    const created = await k.ok('apply', '-f', await k.file('copies.yaml', stringify(copies)));
    for (const i of copies.items) expect(created).toContain(`syncfilter.hubspot-operator.dev/${i.metadata.name} created`);

    // An unknown field in one item: kubectl refuses the whole List before sending anything.
    const bad = structuredClone(copies);
    for (const i of bad.items) i.metadata.name = i.metadata.name.replace(/-copy$/, '-bad');
    bad.items[1]!.spec.colour = 'blue';
    const r = await k.run('apply', '-f', await k.file('bad-list.yaml', stringify(bad)));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "colour" in dev.hubspot-operator.v1alpha1.SyncFilter.spec/);
    expect((await k.run('get', 'syncfilter', bad.items[0]!.metadata.name)).code).not.toBe(0);
  });

  it('kubectl create (protobuf requests) makes namespaces, secrets and configmaps', async () => {
    expect(await k.ok('create', 'namespace', 'crm')).toMatch(/namespace\/crm created/);
    expect(await k.ok('create', 'secret', 'generic', 'acme-db', '-n', 'crm', '--from-literal=url=postgres://db/crm')).toMatch(/secret\/acme-db created/);
    expect(await k.ok('get', 'secret', 'acme-db', '-n', 'crm', '-o', 'jsonpath={.data.url}')).toBe(Buffer.from('postgres://db/crm').toString('base64'));
    expect(await k.ok('create', 'configmap', 'settings', '-n', 'crm', '--from-literal=a=b')).toMatch(/configmap\/settings created/);
    const table = await k.ok('get', 'secrets,configmaps', '-n', 'crm');
    expect(table).toMatch(/secret\/acme-db\s+Opaque\s+1\s+/);
    expect(table).toMatch(/configmap\/settings\s+1\s+/);
    const dup = await k.run('create', 'namespace', 'crm');
    expect(dup.stderr).toMatch(/AlreadyExists.*namespaces "crm" already exists/);
  });

  it('refuses a misspelt or wrongly typed field in a built-in kind, like kube-apiserver', async () => {
    const deployment = (container: Record<string, unknown>, replicas: unknown = 1) => JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } } },
    });
    const typo = await k.run('apply', '--dry-run=server', '-f', await k.file('typo.json', deployment({ name: 'web', imagee: 'nginx' })));
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/strict decoding error: unknown field "spec.template.spec.containers\[0\].imagee"/);
    const wrongType = await k.run('apply', '--dry-run=server', '-f', await k.file('type.json', deployment({ name: 'web', image: 'nginx' }, 'three')));
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toContain('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32');
    const nested = await k.run('apply', '--dry-run=server', '-f', await k.file('nested.json', deployment({ name: 'web', image: 5, ports: { containerPort: 80 } })));
    expect(nested.code).not.toBe(0);
    expect(nested.stderr).toContain('json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image of type string');
    expect(await k.ok('apply', '--dry-run=server', '-f', await k.file('ok.json', deployment({ name: 'web', image: 'nginx' })))).toMatch(/deployment.apps\/web created \(server dry run\)/);
    // Stored Deployments get kube-apiserver's defaults, which kubectl describe relies on.
    await k.ok('apply', '-f', await k.file('web.json', deployment({ name: 'web', image: 'nginx:1.27' })));
    const described = await k.ok('describe', 'deployment', 'web');
    expect(described).toMatch(/Replicas:\s+1 desired/);
    expect(described).toMatch(/RollingUpdateStrategy:\s+25% max unavailable, 25% max surge/);
  });

  // kube-controller-manager's serviceaccount controller does this; the sandbox emulates it, a
  // bare kube-apiserver (like envtest's) has no controller-manager.
  it.skipIf(backend === 'real')('every namespace has a default ServiceAccount', async () => {
    expect(await k.ok('get', 'serviceaccount', 'default', '-n', 'demo', '-o', 'name')).toBe('serviceaccount/default\n');
  });

  it('describe shows the object and its events', async () => {
    const uid = await k.ok('get', 'hsi', 'demo', '-n', 'demo', '-o', 'jsonpath={.metadata.uid}');
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'demo.1', namespace: 'demo' },
      involvedObject: { apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'HubSpotIntegration', name: 'demo', namespace: 'demo', uid },
      reason: 'Synced',
      message: 'first cycle completed',
      type: 'Normal',
      source: { component: 'hubspot-operator' },
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:00Z',
      count: 1,
    };
    await k.ok('apply', '-f', await k.file('event.json', JSON.stringify(event)));
    const out = await k.ok('describe', 'hsi', 'demo', '-n', 'demo');
    expect(out).toMatch(/Name:\s+demo/);
    expect(out).toMatch(/Normal\s+Synced\s+.*first cycle completed/);
  });
});
});
