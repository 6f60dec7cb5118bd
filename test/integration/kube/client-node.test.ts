/**
 * @kubernetes/client-node (what the operator uses) against the Kubernetes API sandbox and the
 * real kube-apiserver (when built): CRUD,
 * status-subresource isolation, generation, optimistic concurrency, pagination, selectors,
 * watches from a resourceVersion, 410 Gone, and an informer that survives dropped watches.
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../../helpers/kube-backend.js';
import { waitFor } from '../../helpers/wait.js';

const G = 'hubspot-operator.dev';
const V = 'v1alpha1';
const P = 'hubspotintegrations';
const NS = 'client-node';

let kube: KubeBackend;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let leases: k8s.CoordinationV1Api;

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function integration(name: string, labels: Record<string, string> = {}): k8s.KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: `${G}/${V}`,
    kind: 'HubSpotIntegration',
    metadata: { name, namespace: NS, labels },
    spec: {
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'hs', key: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' } } },
      objects: [{ type: 'contacts', table: 'contacts' }],
    },
  };
}

/** The Status body of a failed call. */
async function failure(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string; details?: unknown }> {
  try {
    await p;
  } catch (err) {
    const e = err as k8s.ApiException<unknown>;
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    expect(body.kind).toBe('Status');
    expect(body.code).toBe(e.code);
    return body;
  }
  throw new Error('expected the call to fail');
}

type Obj = k8s.KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

describe.each(kubeBackends())('on the %s', (backend) => {
beforeAll(async () => {
  kube = await startKubeBackend(backend, { bookmarkIntervalMs: 200 });
  kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  leases = kc.makeApiClient(k8s.CoordinationV1Api);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync('crds/hubspotintegrations.yaml', 'utf8'));
  await ext.createCustomResourceDefinition({ body: crd });
  await core.createNamespace({ body: { metadata: { name: NS } } });
  // A real kube-apiserver serves a new CRD's resource a moment after accepting it (404 until then).
  await waitFor(
    async () => {
      try {
        await custom.listNamespacedCustomObject({ group: 'hubspot-operator.dev', version: 'v1alpha1', namespace: NS, plural: 'hubspotintegrations' });
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, what: 'the HubSpotIntegration resource to be served' },
  );
});

afterAll(async () => {
  await kube?.close();
});

describe('client-node against the sandbox', () => {
  it('creates, reads, replaces, patches, lists and deletes a custom resource', async () => {
    const created = (await custom.createNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, body: integration('crud') })) as Obj;
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);
    // Defaults from the CRD schema are applied.
    expect(created.spec?.suspend).toBe(false);

    const got = (await custom.getNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'crud' })) as Obj;
    expect(got.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    got.spec = { ...got.spec, suspend: true };
    const replaced = (await custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'crud', body: got })) as Obj;
    expect(replaced.spec?.suspend).toBe(true);
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(got.metadata?.resourceVersion));

    const patched = (await custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: NS, plural: P, name: 'crud', body: { metadata: { labels: { team: 'revops' } } } },
      mergePatch,
    )) as Obj;
    expect(patched.metadata?.labels).toEqual({ team: 'revops' });

    const list = (await custom.listNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P })) as { kind: string; items: Obj[] };
    expect(list.kind).toBe('HubSpotIntegrationList');
    expect(list.items.map((i) => i.metadata?.name)).toContain('crud');

    await custom.deleteNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'crud' });
    const gone = await failure(custom.getNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'crud' }));
    expect(gone).toMatchObject({ code: 404, reason: 'NotFound', message: `${P}.${G} "crud" not found` });

    const dup = integration('dup');
    await custom.createNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, body: dup });
    const exists = await failure(custom.createNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, body: dup }));
    expect(exists).toMatchObject({ code: 409, reason: 'AlreadyExists' });
  });

  it('isolates status: status writes ignore spec, spec writes ignore status; generation moves on spec only', async () => {
    const created = (await custom.createNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, body: integration('iso') })) as Obj;
    expect(created.status).toBeUndefined();

    const statusWrite = { ...created, spec: { ...created.spec, suspend: true }, status: { errorCount: 2 } };
    const afterStatus = (await custom.replaceNamespacedCustomObjectStatus({ group: G, version: V, namespace: NS, plural: P, name: 'iso', body: statusWrite })) as Obj;
    expect(afterStatus.status).toEqual({ errorCount: 2 });
    expect(afterStatus.spec?.suspend).toBe(false);
    expect(afterStatus.metadata?.generation).toBe(1);

    const specWrite = { ...afterStatus, spec: { ...afterStatus.spec, suspend: true }, status: { errorCount: 99 } };
    const afterSpec = (await custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'iso', body: specWrite })) as Obj;
    expect(afterSpec.spec?.suspend).toBe(true);
    expect(afterSpec.status).toEqual({ errorCount: 2 });
    expect(afterSpec.metadata?.generation).toBe(2);

    const labelled = (await custom.patchNamespacedCustomObject(
      { group: G, version: V, namespace: NS, plural: P, name: 'iso', body: { metadata: { annotations: { note: 'x' } } } },
      mergePatch,
    )) as Obj;
    expect(labelled.metadata?.generation).toBe(2);

    // A write that changes nothing keeps the resourceVersion (no watch event, like kube-apiserver).
    const noop = (await custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'iso', body: labelled })) as Obj;
    expect(noop.metadata?.resourceVersion).toBe(labelled.metadata?.resourceVersion);
  });

  it('answers a stale resourceVersion with 409 Conflict', async () => {
    const created = (await custom.createNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, body: integration('stale') })) as Obj;
    await custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'stale', body: { ...created, spec: { ...created.spec, suspend: true } } });
    const body = await failure(
      custom.replaceNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: 'stale', body: { ...created, spec: { ...created.spec, suspend: false } } }),
    );
    expect(body).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(body.message).toBe(`Operation cannot be fulfilled on ${P}.${G} "stale": the object has been modified; please apply your changes to the latest version and try again`);
  });

  it('rejects invalid objects with 422 and field causes', async () => {
    const bad = integration('bad');
    (bad.spec.objects as Array<Record<string, unknown>>)[0].direction = 'Sideways';
    delete bad.spec.target;
    const body = await failure(custom.createNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, body: bad }));
    expect(body).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(body.message).toMatch(/^HubSpotIntegration.hubspot-operator.dev "bad" is invalid: \[/);
    expect((body.details as { causes: unknown[] }).causes).toEqual(
      expect.arrayContaining([
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.target' },
        expect.objectContaining({ reason: 'FieldValueNotSupported', field: 'spec.objects[0].direction' }),
      ]),
    );
  });

  it('paginates lists with limit and continue', async () => {
    for (let i = 0; i < 25; i++) {
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `page-${String(i).padStart(2, '0')}`, labels: { set: 'paging' } } } });
    }
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'set=paging', limit: 10, _continue: cont });
      names.push(...page.items.map((i) => i.metadata?.name as string));
      cont = page.metadata?._continue;
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(names).toEqual(Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
    const first = await core.listNamespacedConfigMap({ namespace: NS, limit: 10 });
    expect(first.metadata?.remainingItemCount).toBe(first.items.length === 10 ? (await core.listNamespacedConfigMap({ namespace: NS })).items.length - 10 : undefined);
  });

  it('filters lists by label selectors', async () => {
    const mk = (name: string, labels: Record<string, string>) => core.createNamespacedSecret({ namespace: NS, body: { metadata: { name, labels }, stringData: { k: 'v' } } });
    await mk('s-a', { tier: 'a', env: 'prod' });
    await mk('s-b', { tier: 'b', env: 'prod' });
    await mk('s-c', { tier: 'c' });
    const names = async (labelSelector: string) =>
      (await core.listNamespacedSecret({ namespace: NS, labelSelector })).items.map((s) => s.metadata?.name).sort();
    expect(await names('env=prod')).toEqual(['s-a', 's-b']);
    expect(await names('env==prod,tier!=a')).toEqual(['s-b']);
    expect(await names('tier in (a,c)')).toEqual(['s-a', 's-c']);
    expect(await names('tier notin (a),tier')).toEqual(['s-b', 's-c']);
    expect(await names('!env,tier')).toEqual(['s-c']);
    expect(await names('env')).toEqual(['s-a', 's-b']);
    const byName = await core.listNamespacedSecret({ namespace: NS, fieldSelector: 'metadata.name=s-b' });
    expect(byName.items.map((s) => s.metadata?.name)).toEqual(['s-b']);
    // stringData is folded into base64 data, as kube-apiserver does.
    expect(byName.items[0].data).toEqual({ k: Buffer.from('v').toString('base64') });
  });

  it('a watch from a resourceVersion receives exactly the later events, in order', async () => {
    const start = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'set=watch' });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'w1', labels: { set: 'watch' } }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'w1', body: { data: { a: '2' } } }, mergePatch);
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'other' } } }); // filtered out by the selector
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'w1' });

    const events: Array<[string, string, string | undefined]> = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: start.metadata?.resourceVersion, labelSelector: 'set=watch' },
      (type, obj: k8s.V1ConfigMap) => events.push([type, obj.metadata?.name as string, obj.data?.a]),
      () => undefined,
    );
    await waitFor(() => events.length >= 3, { what: 'three watch events' });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'w2', labels: { set: 'watch' } } } });
    await waitFor(() => events.length >= 4, { what: 'the live event' });
    req.abort();
    expect(events).toEqual([
      ['ADDED', 'w1', '1'],
      ['MODIFIED', 'w1', '2'],
      ['DELETED', 'w1', '2'],
      ['ADDED', 'w2', undefined],
    ]);
  });

  // Compaction and dropped connections are sandbox controls (compact(), dropWatches()).
  it.skipIf(backend === 'real')('answers a too-old resourceVersion with 410 Gone (watch ERROR event and expired continue)', async () => {
    const before = await core.listNamespacedConfigMap({ namespace: NS, limit: 5 });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'after-compaction' } } });
    kube.sandbox!.compact();
    let error: { code?: number; reason?: string } | undefined;
    let ended = false;
    await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: before.metadata?.resourceVersion },
      (type, obj) => {
        if (type === 'ERROR') error = obj;
      },
      () => (ended = true),
    );
    await waitFor(() => ended, { what: 'the expired watch to end' });
    expect(error).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    const expired = await failure(core.listNamespacedConfigMap({ namespace: NS, limit: 5, _continue: before.metadata?._continue }));
    expect(expired).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it.skipIf(backend === 'real')('the informer keeps delivering after the server drops its watch connections', async () => {
    const seen = new Set<string>();
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${NS}/configmaps`, () => core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'set=informer' }), 'set=informer');
    informer.on('add', (cm) => seen.add(cm.metadata?.name as string));
    informer.on('update', (cm) => seen.add(`${cm.metadata?.name}@${cm.data?.v}`));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'i1', labels: { set: 'informer' } } } });
    await waitFor(() => seen.has('i1'), { what: 'informer add i1' });

    kube.sandbox!.dropWatches();
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'i2', labels: { set: 'informer' } } } });
    await waitFor(() => seen.has('i2'), { what: 'informer add after a dropped watch' });

    // Dropped again and the history compacted: the informer gets 410 and relists.
    kube.sandbox!.dropWatches();
    kube.sandbox!.compact();
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'i1', body: { data: { v: '2' } } }, mergePatch);
    await waitFor(() => seen.has('i1@2'), { what: 'informer update after 410' });
    await informer.stop();
  });

  it('leases have optimistic concurrency, so only one of two candidates acquires', async () => {
    const lease = await leases.createNamespacedLease({ namespace: NS, body: { metadata: { name: 'leader' }, spec: { holderIdentity: '', leaseDurationSeconds: 15 } } });
    const claim = (who: string) =>
      // V1MicroTime serialises with microseconds; a plain Date (milliseconds) is refused with 400.
      leases.replaceNamespacedLease({ namespace: NS, name: 'leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: who, acquireTime: new k8s.V1MicroTime() } } });
    const results = await Promise.allSettled([claim('a'), claim('b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as k8s.ApiException<unknown>).code).toBe(409);
    const millis = await failure(leases.replaceNamespacedLease({ namespace: NS, name: 'leader', body: { ...lease, spec: { ...lease.spec, acquireTime: new Date('2026-01-01T00:00:00.123Z') } } }));
    expect(millis).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(millis.message).toBe('Lease in version "v1" cannot be handled as a Lease: parsing time "2026-01-01T00:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"');
  });
});
});
