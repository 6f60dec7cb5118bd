/**
 * The rest of the kube-apiserver protocol the README promises, over raw HTTP: discovery,
 * OpenAPI, watch bookmarks / timeouts / legacy paths / selector moves, dry runs, field
 * validation warnings, pending deletes, namespace and CRD deletion, Tables, built-in rules.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { waitFor } from '../../helpers/wait.js';

let kube: KubeSandbox;
const HSI = '/apis/hubspot-operator.dev/v1alpha1';

type Body = Record<string, any>;
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Body; headers: Headers }> {
  const res = await fetch(kube.url + path, {
    method,
    headers: { authorization: `Bearer ${kube.token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Body, headers: res.headers };
}

/** Reads watch events from a streaming response until `until` says stop or the stream ends. */
async function watchEvents(path: string, until: (events: Body[]) => boolean = () => false): Promise<Body[]> {
  const controller = new AbortController();
  const res = await fetch(kube.url + path, { headers: { authorization: `Bearer ${kube.token}` }, signal: controller.signal });
  const events: Body[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      if (until(events)) {
        controller.abort();
        break;
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  return events;
}

function integration(name: string, extra: Body = {}): Body {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { name, namespace: 'default', ...extra },
    spec: {
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'hs', key: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' } } },
      objects: [{ type: 'contacts', table: 'contacts' }],
    },
  };
}

beforeAll(async () => {
  kube = await startKubeSandbox({ bookmarkIntervalMs: 50 });
  const crd = parse(readFileSync('crds/hubspotintegrations.yaml', 'utf8'));
  const r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  expect(r.status).toBe(201);
  expect(r.body.status.conditions.map((c: Body) => `${c.type}=${c.status}`)).toEqual(['NamesAccepted=True', 'Established=True']);
});
afterAll(async () => {
  await kube?.close();
});

describe('discovery and OpenAPI', () => {
  it('lists the CRD resource with short names, categories and the status subresource', async () => {
    const groups = (await call('GET', '/apis')).body;
    expect(groups.groups.map((g: Body) => g.name)).toContain('hubspot-operator.dev');
    const list = (await call('GET', HSI)).body;
    expect(list.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'hubspotintegrations', kind: 'HubSpotIntegration', namespaced: true, shortNames: ['hsi'], categories: ['hubspot'] }),
        expect.objectContaining({ name: 'hubspotintegrations/status', verbs: ['get', 'patch', 'update'] }),
      ]),
    );
    expect((await call('GET', '/version')).body.gitVersion).toMatch(/^v1\.32/);
  });

  it('serves aggregated discovery (apidiscovery.k8s.io/v2) when asked for it', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const res = await fetch(`${kube.url}/apis`, { headers: { authorization: `Bearer ${kube.token}`, accept } });
    expect(res.headers.get('content-type')).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const body = (await res.json()) as Body;
    expect(body.kind).toBe('APIGroupDiscoveryList');
    const group = body.items.find((g: Body) => g.metadata.name === 'hubspot-operator.dev');
    expect(group.versions[0].resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          resource: 'hubspotintegrations',
          scope: 'Namespaced',
          shortNames: ['hsi'],
          categories: ['hubspot'],
          subresources: [{ subresource: 'status', responseKind: { group: 'hubspot-operator.dev', version: 'v1alpha1', kind: 'HubSpotIntegration' }, verbs: ['get', 'patch', 'update'] }],
        }),
      ]),
    );
    const core = (await (await fetch(`${kube.url}/api`, { headers: { authorization: `Bearer ${kube.token}`, accept } })).json()) as Body;
    expect(core.items[0].versions[0].resources.map((r: Body) => r.resource)).toEqual(expect.arrayContaining(['namespaces', 'secrets', 'configmaps', 'events']));
  });

  it('publishes the CRD schema in OpenAPI v3 under its group/version', async () => {
    const index = (await call('GET', '/openapi/v3')).body;
    const url = index.paths['apis/hubspot-operator.dev/v1alpha1'].serverRelativeURL as string;
    const doc = (await call('GET', url)).body;
    const model = doc.components.schemas['dev.hubspot-operator.v1alpha1.HubSpotIntegration'];
    expect(model['x-kubernetes-group-version-kind']).toEqual([{ group: 'hubspot-operator.dev', version: 'v1alpha1', kind: 'HubSpotIntegration' }]);
    expect(model.properties.spec.properties.objects.description).toMatch(/object types/);
  });
});

describe('watch protocol', () => {
  it('sends BOOKMARKs carrying the current resourceVersion when asked', async () => {
    const rv = (await call('GET', `${HSI}/hubspotintegrations`)).body.metadata.resourceVersion;
    const events = await watchEvents(`${HSI}/hubspotintegrations?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, (e) => e.some((x) => x.type === 'BOOKMARK'));
    const bookmark = events.find((e) => e.type === 'BOOKMARK') as Body;
    expect(bookmark.object).toMatchObject({ kind: 'HubSpotIntegration', apiVersion: 'hubspot-operator.dev/v1alpha1' });
    expect(Number(bookmark.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
  });

  it('ends a watch after timeoutSeconds', async () => {
    const started = Date.now();
    const events = await watchEvents(`${HSI}/namespaces/default/hubspotintegrations?watch=true&timeoutSeconds=1`);
    expect(events).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('serves the legacy /watch/ path and turns label changes into ADDED/DELETED for a selector', async () => {
    const rv = (await call('GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion;
    await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'mover' } });
    await call('PATCH', '/api/v1/namespaces/default/configmaps/mover', { metadata: { labels: { pick: 'me' } } }, { 'content-type': 'application/merge-patch+json' });
    await call('PATCH', '/api/v1/namespaces/default/configmaps/mover', { data: { a: 'b' } }, { 'content-type': 'application/merge-patch+json' });
    await call('PATCH', '/api/v1/namespaces/default/configmaps/mover', { metadata: { labels: { pick: null } } }, { 'content-type': 'application/merge-patch+json' });
    const events = await watchEvents(`/api/v1/watch/namespaces/default/configmaps?labelSelector=pick%3Dme&resourceVersion=${rv}`, (e) => e.length >= 3);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
  });

  it('cuts off a watcher that stopped reading instead of buffering without bound', async () => {
    const { connect } = await import('node:net');
    const url = new URL(kube.url);
    await waitFor(() => kube.openWatches === 0, { what: 'earlier watches to close' });
    const before = 0;
    const socket = connect(Number(url.port), url.hostname);
    socket.pause(); // never reads
    socket.write(`GET /api/v1/namespaces/kube-public/configmaps?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${kube.token}\r\n\r\n`);
    await waitFor(() => kube.openWatches > before, { what: 'the stalled watch' });
    const blob = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 48 && kube.openWatches > before; i++) {
      await call('POST', '/api/v1/namespaces/kube-public/configmaps', { metadata: { name: `big-${i}` }, data: { blob } });
    }
    expect(kube.openWatches).toBe(before);
    socket.destroy();
    await call('DELETE', '/api/v1/namespaces/kube-public/configmaps?labelSelector=');
  });

  it('starts a watch without a resourceVersion with the current objects as ADDED', async () => {
    await call('POST', `${HSI}/namespaces/default/hubspotintegrations`, integration('existing'));
    const events = await watchEvents(`${HSI}/namespaces/default/hubspotintegrations?watch=true&fieldSelector=metadata.name%3Dexisting`, (e) => e.length >= 1);
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'existing' } } });
  });
});

describe('writes', () => {
  it('dryRun=All validates and defaults but stores nothing', async () => {
    const r = await call('POST', `${HSI}/namespaces/default/hubspotintegrations?dryRun=All`, integration('dry'));
    expect(r.status).toBe(201);
    expect(r.body.spec.suspend).toBe(false);
    expect((await call('GET', `${HSI}/namespaces/default/hubspotintegrations/dry`)).status).toBe(404);
    const bad = integration('dry-bad');
    bad.spec.objects[0].direction = 'Up';
    expect((await call('POST', `${HSI}/namespaces/default/hubspotintegrations?dryRun=All`, bad)).status).toBe(422);
  });

  it('fieldValidation=Warn prunes unknown fields and says so in a Warning header; Strict refuses them', async () => {
    const body = integration('warned');
    body.spec.colour = 'blue';
    const warn = await call('POST', `${HSI}/namespaces/default/hubspotintegrations?fieldValidation=Warn`, body);
    expect(warn.status).toBe(201);
    expect(warn.body.spec.colour).toBeUndefined();
    expect(warn.headers.get('warning')).toBe('299 - "unknown field \\"spec.colour\\""');
    const strict = await call('POST', `${HSI}/namespaces/default/hubspotintegrations?fieldValidation=Strict`, { ...body, metadata: { name: 'strict' } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toMatch(/strict decoding error: unknown field "spec.colour"/);
  });

  it('a delete held by a finalizer answers 202 and refuses new finalizers; the last one removed deletes', async () => {
    await call('POST', `${HSI}/namespaces/default/hubspotintegrations`, integration('held', { finalizers: ['a/b'] }));
    const del = await call('DELETE', `${HSI}/namespaces/default/hubspotintegrations/held`, { propagationPolicy: 'Background' });
    expect(del.status).toBe(202);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    expect(del.body.metadata.generation).toBe(2);
    const more = await call('PATCH', `${HSI}/namespaces/default/hubspotintegrations/held`, { metadata: { finalizers: ['a/b', 'c/d'] } }, { 'content-type': 'application/merge-patch+json' });
    expect(more.status).toBe(422);
    expect(more.body.message).toMatch(/no new finalizers can be added if the object is being deleted/);
    const rv = del.body.metadata.resourceVersion;
    await call('PATCH', `${HSI}/namespaces/default/hubspotintegrations/held`, { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
    expect((await call('GET', `${HSI}/namespaces/default/hubspotintegrations/held`)).status).toBe(404);
    const events = await watchEvents(`${HSI}/namespaces/default/hubspotintegrations?watch=true&resourceVersion=${rv}`, (e) => e.length >= 2);
    expect(events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
  });

  it('ratchets validation: values a tightened CRD now rejects may stay while other fields change', async () => {
    const crd = (max: number) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{
          name: 'v1', served: true, storage: true, subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', maximum: max } } }, status: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
        }],
      },
    });
    expect((await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(10))).status).toBe(201);
    const W = '/apis/example.com/v1/namespaces/default/widgets';
    expect((await call('POST', W, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 8 } })).status).toBe(201);
    const current = (await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com')).body;
    const tightened = { ...crd(5), metadata: { name: 'widgets.example.com', resourceVersion: current.metadata.resourceVersion } };
    expect((await call('PUT', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com', tightened)).status).toBe(200);
    const merge = { 'content-type': 'application/merge-patch+json' };
    expect((await call('PATCH', `${W}/w/status`, { status: { ok: true } }, merge)).status).toBe(200);
    expect((await call('PATCH', `${W}/w`, { metadata: { labels: { a: 'b' } } }, merge)).status).toBe(200);
    const worse = await call('PATCH', `${W}/w`, { spec: { size: 9 } }, merge);
    expect(worse.status).toBe(422);
    expect(worse.body.message).toMatch(/spec.size: Invalid value: 9: spec.size in body should be less than or equal to 5/);
    expect((await call('PATCH', `${W}/w`, { spec: { size: 4 } }, merge)).status).toBe(200);
  });

  it('garbage-collects dependents of a deleted owner, or orphans them on request', async () => {
    const owner = (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'owner' } })).body;
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
    await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'dependent', ownerReferences: [ref] } });
    const other = (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'other-owner' } })).body;
    await call('POST', '/api/v1/namespaces/default/secrets', {
      metadata: { name: 'shared', ownerReferences: [ref, { apiVersion: 'v1', kind: 'ConfigMap', name: 'other-owner', uid: other.metadata.uid }] },
    });
    await call('DELETE', '/api/v1/namespaces/default/configmaps/owner');
    expect((await call('GET', '/api/v1/namespaces/default/secrets/dependent')).status).toBe(404);
    // Still owned by other-owner: kept.
    expect((await call('GET', '/api/v1/namespaces/default/secrets/shared')).status).toBe(200);
    const third = (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'third' } })).body;
    await call('POST', '/api/v1/namespaces/default/secrets', {
      metadata: { name: 'orphan', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'third', uid: third.metadata.uid }] },
    });
    await call('DELETE', '/api/v1/namespaces/default/configmaps/third', { propagationPolicy: 'Orphan' });
    const orphan = (await call('GET', '/api/v1/namespaces/default/secrets/orphan')).body;
    expect(orphan.metadata.name).toBe('orphan');
    expect(orphan.metadata.ownerReferences).toBeUndefined();
  });

  it('deleting a namespace deletes what is in it', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await call('POST', '/api/v1/namespaces/doomed/secrets', { metadata: { name: 's' }, stringData: { a: 'b' } });
    const del = await call('DELETE', '/api/v1/namespaces/doomed');
    expect(del.status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/doomed')).status).toBe(404);
    expect((await call('GET', '/api/v1/namespaces/doomed/secrets/s')).status).toBe(404);
  });

  it('refuses changes to immutable Secrets and to a binding\'s roleRef', async () => {
    await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'frozen' }, immutable: true, stringData: { a: 'b' } });
    const change = await call('PATCH', '/api/v1/namespaces/default/secrets/frozen', { stringData: { a: 'c' } }, { 'content-type': 'application/merge-patch+json' });
    expect(change.status).toBe(422);
    expect(change.body.message).toMatch(/data: Forbidden: field is immutable when `immutable` is set/);
    const rb = { metadata: { name: 'rb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'a' }, subjects: [] };
    expect((await call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', rb)).status).toBe(201);
    const swap = await call('PATCH', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/rb', { roleRef: { name: 'b' } }, { 'content-type': 'application/merge-patch+json' });
    expect(swap.status).toBe(422);
    expect(swap.body.message).toMatch(/roleRef: Invalid value: .*cannot change roleRef/);
  });

  it('deleting a CRD stops serving its kind and deletes its objects', async () => {
    const crd = parse(readFileSync('crds/syncfilters.yaml', 'utf8'));
    await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    const sf = { apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'SyncFilter', metadata: { name: 'f' }, spec: { integrationRef: { name: 'x' }, objectType: 'contacts', rules: [{ property: 'email', operator: 'IsNotEmpty' }] } };
    const created = await call('POST', `${HSI}/namespaces/default/syncfilters`, sf);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const before = kube.openWatches;
    const watching = watchEvents(`${HSI}/syncfilters?watch=true&resourceVersion=${created.body.metadata.resourceVersion}`);
    await waitFor(() => kube.openWatches > before, { what: 'the syncfilters watch' });
    await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/syncfilters.hubspot-operator.dev');
    // Its watchers see the objects go and then the stream ends.
    expect((await watching).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['DELETED f']);
    expect((await call('GET', `${HSI}/namespaces/default/syncfilters`)).status).toBe(404);
    expect((await call('GET', HSI)).body.resources.map((r: Body) => r.name)).not.toContain('syncfilters');
    expect(kube.getObject('syncfilters.hubspot-operator.dev', 'default', 'f')).toBeUndefined();
  });
});

describe('Events', () => {
  it('are one collection in core/v1 and events.k8s.io/v1, each with its own field names', async () => {
    const created = await call('POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      metadata: { name: 'acme.1' },
      regarding: { kind: 'HubSpotIntegration', name: 'acme', namespace: 'default' },
      reason: 'Synced',
      note: 'cycle completed',
      type: 'Normal',
      action: 'Sync',
      reportingController: 'hubspot-operator.dev/controller',
      reportingInstance: 'pod-1',
      eventTime: '2026-01-01T00:00:00.000000Z',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'cycle completed', regarding: { name: 'acme' } });
    const core = (await call('GET', '/api/v1/namespaces/default/events/acme.1')).body;
    expect(core).toMatchObject({ apiVersion: 'v1', message: 'cycle completed', involvedObject: { name: 'acme' }, reportingComponent: 'hubspot-operator.dev/controller' });
    expect(core.note).toBeUndefined();
    const bySelector = (await call('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dacme')).body;
    expect(bySelector.items.map((e: Body) => e.metadata.name)).toContain('acme.1');
    await call('PATCH', '/api/v1/namespaces/default/events/acme.1', { count: 2, message: 'again' }, { 'content-type': 'application/merge-patch+json' });
    const viaV1 = (await call('GET', '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dacme')).body;
    expect(viaV1.items.map((e: Body) => e.metadata.name)).toContain('acme.1');
    const v1 = (await call('GET', '/apis/events.k8s.io/v1/namespaces/default/events/acme.1')).body;
    expect(v1).toMatchObject({ note: 'again', deprecatedCount: 2 });
  });
});

describe('Table output', () => {
  const TABLE = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' };
  it('renders the CRD printer columns with typed cells', async () => {
    await call('POST', `${HSI}/namespaces/default/hubspotintegrations`, integration('tabled'));
    await call('PATCH', `${HSI}/namespaces/default/hubspotintegrations/tabled/status`, { status: { errorCount: 7, conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: 'fine', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }, { 'content-type': 'application/merge-patch+json' });
    const t = (await call('GET', `${HSI}/namespaces/default/hubspotintegrations/tabled`, undefined, TABLE)).body;
    expect(t.kind).toBe('Table');
    const names = t.columnDefinitions.map((c: Body) => c.name);
    expect(names[0]).toBe('Name');
    const cell = (name: string) => t.rows[0].cells[names.indexOf(name)];
    expect(cell('Ready')).toBe('True');
    expect(cell('Errors')).toBe(7);
    expect(cell('Suspended')).toBe(false);
    expect(t.columnDefinitions.find((c: Body) => c.name === 'Status').priority).toBe(1);
    expect(t.rows[0].object.kind).toBe('PartialObjectMetadata');
  });

  it('gives built-ins their usual columns', async () => {
    const t = (await call('GET', '/api/v1/namespaces', undefined, TABLE)).body;
    expect(t.columnDefinitions.map((c: Body) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(t.rows.find((r: Body) => r.cells[0] === 'default').cells[1]).toBe('Active');
  });
});

describe('many objects, many watchers', () => {
  it('delivers every event to every watcher', async () => {
    const watchers = Array.from({ length: 20 }, () => watchEvents('/api/v1/namespaces/kube-public/configmaps?watch=true', (e) => e.length >= 200));
    await waitFor(() => kube.openWatches >= 20, { what: '20 watches' });
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => call('POST', '/api/v1/namespaces/kube-public/configmaps', { metadata: { name: `bulk-${i + j}` } })));
    }
    for (const events of await Promise.all(watchers)) expect(events).toHaveLength(200);
    const page = await call('GET', '/api/v1/namespaces/kube-public/configmaps?limit=50');
    expect(page.body.items).toHaveLength(50);
    expect(page.body.metadata.remainingItemCount).toBe(150);
  });
});
