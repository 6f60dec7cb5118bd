/**
 * Bad input to the Kubernetes API sandbox itself: every malformed request gets a `kind: Status`
 * error with the right HTTP code and a message saying what is wrong — never a crash or a hang.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';

let kube: KubeSandbox;

beforeAll(async () => {
  kube = await startKubeSandbox({ onInternalError: (err) => { throw err; } });
});
afterAll(async () => {
  await kube?.close();
});

async function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(kube.url + path, {
    method,
    headers: { authorization: `Bearer ${kube.token}`, 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { kind: string; code: number; reason: string; message: string } };
}

/** Sets a dotted path (numeric segments index arrays), creating objects on the way. */
function setPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const parts = path.split('.');
  let cur = obj as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
  return obj;
}

describe('bad input', () => {
  it('malformed JSON is 400 BadRequest', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', '{"metadata": {"name": "x"');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(r.body.message).toMatch(/could not be decoded as JSON/);
  });

  it('absurdly deep nesting is 400, not a stack overflow', async () => {
    const deep = '{"metadata":{"name":"deep"},"data":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}';
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', deep);
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/nested more than 1000 levels/);
  });

  it('a body that is not an object, or of the wrong kind, is 400', async () => {
    expect((await call('POST', '/api/v1/namespaces/default/configmaps', '[1,2]')).status).toBe(400);
    const wrongKind = await call('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }));
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.message).toMatch(/kind of the provided object \(Secret\) does not match/);
  });

  it('a malformed percent-encoded path is 400', async () => {
    const r = await call('GET', '/api/v1/namespaces/%E0%A4%A/configmaps');
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/percent-encoding/);
  });

  it('an unknown resource or group is 404 NotFound', async () => {
    for (const path of ['/api/v1/namespaces/default/widgets', '/apis/nope.example.com/v1/things', '/apis/apps/v9/deployments']) {
      const r = await call('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource' });
    }
  });

  it('creating in an unknown namespace is 404 naming the namespace', async () => {
    const r = await call('POST', '/api/v1/namespaces/nowhere/configmaps', JSON.stringify({ metadata: { name: 'x' } }));
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "nowhere" not found');
  });

  it('a wrong content type is 415 UnsupportedMediaType', async () => {
    const post = await call('POST', '/api/v1/namespaces/default/configmaps', 'name: x', { 'content-type': 'text/plain' });
    expect(post.status).toBe(415);
    expect(post.body).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType' });
    await call('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'ct' } }));
    const patch = await call('PATCH', '/api/v1/namespaces/default/configmaps/ct', '{}', { 'content-type': 'application/json' });
    expect(patch.status).toBe(415);
    expect(patch.body.message).toMatch(/application\/merge-patch\+json/);
  });

  it('a body over 3 MiB is 413 RequestEntityTooLarge', async () => {
    const big = JSON.stringify({ metadata: { name: 'big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', big);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ kind: 'Status', code: 413, reason: 'RequestEntityTooLarge' });
  });

  it('bad selectors, limits and resource versions are 400', async () => {
    expect((await call('GET', '/api/v1/configmaps?labelSelector=' + encodeURIComponent('a in (b'))).status).toBe(400);
    expect((await call('GET', '/api/v1/configmaps?fieldSelector=' + encodeURIComponent('metadata.name'))).status).toBe(400);
    expect((await call('GET', '/api/v1/configmaps?limit=-3')).status).toBe(400);
    expect((await call('GET', '/api/v1/configmaps?continue=garbage')).status).toBe(400);
    expect((await call('GET', '/api/v1/configmaps?watch=true&resourceVersion=abc')).status).toBe(400);
  });

  it('a bad JSON patch is refused with a Status, not a crash', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'jp' } }));
    const notArray = await call('PATCH', '/api/v1/namespaces/default/configmaps/jp', '{"op":"add"}', { 'content-type': 'application/json-patch+json' });
    expect(notArray.status).toBe(400);
    const missing = await call('PATCH', '/api/v1/namespaces/default/configmaps/jp', '[{"op":"remove","path":"/data/nope"}]', { 'content-type': 'application/json-patch+json' });
    expect(missing.status).toBe(422);
  });

  it('an invalid token is 401 Unauthorized; unsupported methods are 405', async () => {
    const r = await call('GET', '/api/v1/namespaces', undefined, { authorization: 'Bearer wrong' });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    expect((await call('POST', '/api/v1/namespaces/default/configmaps/x', '{}')).status).toBe(405);
  });

  it('wrongly typed fields anywhere in an object are a 4xx Status, never a 500', async () => {
    const values = [123, 'x', null, [], {}, true, [1, 'a'], { a: 1 }];
    const fields = ['apiVersion', 'kind', 'metadata', 'metadata.name', 'metadata.namespace', 'metadata.labels', 'metadata.labels.a', 'metadata.annotations', 'metadata.finalizers', 'metadata.generateName', 'metadata.resourceVersion', 'metadata.ownerReferences', 'spec', 'spec.objects', 'data', 'stringData', 'roleRef', 'subjects'];
    const paths = ['/api/v1/namespaces/default/configmaps', '/api/v1/namespaces/default/secrets', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', '/api/v1/namespaces'];
    let n = 0;
    for (const path of paths) {
      for (const field of fields) {
        for (const v of values) {
          const body = setPath({ metadata: { name: `typed-${n++}` }, roleRef: { kind: 'Role', name: 'r' } }, field, v);
          const r = await call('POST', path, JSON.stringify(body));
          expect(r.status, `${path} ${field}=${JSON.stringify(v)}: ${r.body.message}`).toBeLessThan(500);
          if (r.status === 201) expect(typeof (r.body as unknown as { metadata: { name: unknown } }).metadata.name).toBe('string');
          else expect(r.body.kind).toBe('Status');
        }
      }
    }
  });

  it('a malformed CRD is refused at admission and never breaks later writes', async () => {
    const crd = parse(readFileSync('crds/hubspotintegrations.yaml', 'utf8'));
    const schema = 'spec.versions.0.schema.openAPIV3Schema';
    const fields = ['spec', 'spec.names', 'spec.names.shortNames', 'spec.versions', 'spec.versions.0', `${schema}`, `${schema}.properties`, `${schema}.properties.spec`, `${schema}.properties.spec.required`, `${schema}.properties.spec.x-kubernetes-validations`, `${schema}.properties.spec.properties.objects.items`, 'spec.versions.0.additionalPrinterColumns'];
    for (const field of fields) {
      for (const v of [123, 'x', null, [null], { a: 1 }]) {
        const r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', JSON.stringify(setPath(structuredClone(crd), field, v)));
        expect(r.status, `${field}=${JSON.stringify(v)}: ${r.body.message}`).toBeLessThan(500);
        if (r.status === 201) {
          const w = await call('POST', '/apis/hubspot-operator.dev/v1alpha1/namespaces/default/hubspotintegrations', JSON.stringify({ metadata: { name: 'x' }, spec: { a: 1 } }));
          expect(w.status, `write after ${field}=${JSON.stringify(v)}: ${w.body.message}`).toBeLessThan(500);
          await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/hubspotintegrations.hubspot-operator.dev');
        } else {
          expect(r.body).toMatchObject({ kind: 'Status' });
        }
      }
    }
  });

  it('still serves after all of the above', async () => {
    const res = await fetch(`${kube.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });
});
