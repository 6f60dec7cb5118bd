/**
 * RBAC in the Kubernetes API sandbox and the real kube-apiserver (when built): bearer tokens map to ServiceAccounts, Roles /
 * ClusterRoles and their bindings are honoured (verbs, resourceNames, subresources, `*`),
 * and denials are 403 Status bodies with kube-apiserver's message.
 */
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../../helpers/kube-backend.js';
import { kubectlFor, type Kubectl } from './kubectl-helper.js';

const SA = 'system:serviceaccount:crm:operator';
let kube: KubeBackend;
let admin: Kubectl;
let asOperator: Kubectl;
let operatorToken: string;

/** An unauthenticated GET over the sandbox's TLS (its CA is trusted). */
function anonymousGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(kube.url + path, { ca: kube.caCert }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function client(token: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfigFor(token, 'crm'));
  return kc;
}

async function status(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
    return { code: 200, reason: '', message: '' };
  } catch (err) {
    const e = err as k8s.ApiException<unknown>;
    return typeof e.body === 'string' ? JSON.parse(e.body) : (e.body as { code: number; reason: string; message: string });
  }
}

const RBAC_MANIFEST = `
apiVersion: v1
kind: Namespace
metadata: {name: crm}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: crm}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: operator, namespace: crm}
rules:
- apiGroups: [hubspot-operator.dev]
  resources: [hubspotintegrations]
  verbs: [get, list, watch]
- apiGroups: [hubspot-operator.dev]
  resources: [hubspotintegrations/status]
  verbs: [update, patch]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [acme-hubspot]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: operator, namespace: crm}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: operator}
subjects:
- {kind: ServiceAccount, name: operator, namespace: crm}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: hubspot-operator:leases}
rules:
- apiGroups: [coordination.k8s.io]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: hubspot-operator:leases}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: hubspot-operator:leases}
subjects:
- {kind: ServiceAccount, name: operator, namespace: crm}
---
apiVersion: v1
kind: Secret
metadata: {name: acme-hubspot, namespace: crm}
stringData: {token: pat-123}
---
apiVersion: v1
kind: Secret
metadata: {name: unrelated, namespace: crm}
stringData: {password: hunter2}
---
apiVersion: hubspot-operator.dev/v1alpha1
kind: HubSpotIntegration
metadata: {name: acme, namespace: crm}
spec:
  hubspot: {auth: {privateAppToken: {secretRef: {name: acme-hubspot, key: token}}}}
  target: {postgres: {connectionSecretRef: {name: acme-db, key: url}}}
  objects: [{type: contacts, table: contacts}]
`;

describe.each(kubeBackends())('on the %s', (backend) => {
beforeAll(async () => {
  kube = await startKubeBackend(backend, { authorization: 'RBAC' });
  admin = await kubectlFor(kube);
  await admin.ok('apply', '-f', 'crds/hubspotintegrations.yaml');
  await admin.ok('apply', '-f', await admin.file('rbac.yaml', RBAC_MANIFEST));
  operatorToken = await kube.issueToken('crm', 'operator');
  asOperator = await kubectlFor(kube, operatorToken);
});

afterAll(async () => {
  await admin?.cleanup();
  await asOperator?.cleanup();
  await kube?.close();
});

describe('RBAC', () => {
  it('allows what the Role grants to the ServiceAccount', async () => {
    const kc = client(operatorToken);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const list = (await custom.listNamespacedCustomObject({ group: 'hubspot-operator.dev', version: 'v1alpha1', namespace: 'crm', plural: 'hubspotintegrations' })) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
    const secret = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace: 'crm', name: 'acme-hubspot' });
    expect(Buffer.from(secret.data?.token ?? '', 'base64').toString()).toBe('pat-123');
    const patched = await status(
      custom.patchNamespacedCustomObjectStatus(
        { group: 'hubspot-operator.dev', version: 'v1alpha1', namespace: 'crm', plural: 'hubspotintegrations', name: 'acme', body: { status: { errorCount: 0 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
    expect(patched.code).toBe(200);
    // The ClusterRoleBinding grants leases in any namespace.
    const lease = await kc.makeApiClient(k8s.CoordinationV1Api).createNamespacedLease({ namespace: 'other', body: { metadata: { name: 'leader' }, spec: {} } });
    expect(lease.metadata?.name).toBe('leader');
  });

  it('denies everything else with kube-apiserver\'s 403 message', async () => {
    const kc = client(operatorToken);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    expect(await status(core.listNamespacedSecret({ namespace: 'crm' }))).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: `secrets is forbidden: User "${SA}" cannot list resource "secrets" in API group "" in the namespace "crm"`,
    });
    // resourceNames: only the named Secret.
    expect(await status(core.readNamespacedSecret({ namespace: 'crm', name: 'unrelated' }))).toMatchObject({
      code: 403,
      message: `secrets "unrelated" is forbidden: User "${SA}" cannot get resource "secrets" in API group "" in the namespace "crm"`,
    });
    // Status may be written, the main resource may not.
    expect(
      await status(
        custom.patchNamespacedCustomObject(
          { group: 'hubspot-operator.dev', version: 'v1alpha1', namespace: 'crm', plural: 'hubspotintegrations', name: 'acme', body: { spec: { suspend: true } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
      ),
    ).toMatchObject({
      code: 403,
      message: `hubspotintegrations.hubspot-operator.dev "acme" is forbidden: User "${SA}" cannot patch resource "hubspotintegrations" in API group "hubspot-operator.dev" in the namespace "crm"`,
    });
    // A Role binds only in its namespace.
    expect(await status(custom.listNamespacedCustomObject({ group: 'hubspot-operator.dev', version: 'v1alpha1', namespace: 'other', plural: 'hubspotintegrations' }))).toMatchObject({
      code: 403,
      message: `hubspotintegrations.hubspot-operator.dev is forbidden: User "${SA}" cannot list resource "hubspotintegrations" in API group "hubspot-operator.dev" in the namespace "other"`,
    });
    expect(await status(custom.listClusterCustomObject({ group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations' }))).toMatchObject({
      code: 403,
      message: `hubspotintegrations.hubspot-operator.dev is forbidden: User "${SA}" cannot list resource "hubspotintegrations" in API group "hubspot-operator.dev" at the cluster scope`,
    });
  });

  it('kubectl as the ServiceAccount sees the same rules (get, auth can-i, Forbidden errors)', async () => {
    expect(await asOperator.ok('get', 'hsi', '-n', 'crm')).toMatch(/acme/);
    const denied = await asOperator.run('get', 'secrets', '-n', 'crm');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`secrets is forbidden: User "${SA}" cannot list resource "secrets" in API group "" in the namespace "crm"`);
    expect((await asOperator.run('auth', 'can-i', 'update', 'hubspotintegrations', '--subresource=status', '-n', 'crm')).stdout.trim()).toBe('yes');
    expect((await asOperator.run('auth', 'can-i', 'delete', 'hubspotintegrations', '-n', 'crm')).stdout.trim()).toBe('no');
    expect((await asOperator.run('auth', 'can-i', 'get', 'secret/acme-hubspot', '-n', 'crm')).stdout.trim()).toBe('yes');
    expect((await asOperator.run('auth', 'can-i', 'get', 'secret/unrelated', '-n', 'crm')).stdout.trim()).toBe('no');
  });

  it('SelfSubjectAccessReview answers from the same rules', async () => {
    const authz = client(operatorToken).makeApiClient(k8s.AuthorizationV1Api);
    const can = async (verb: string, resource: string, subresource?: string) =>
      (await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: 'crm', verb, group: 'hubspot-operator.dev', resource, subresource } } } })).status?.allowed;
    expect(await can('update', 'hubspotintegrations', 'status')).toBe(true);
    expect(await can('watch', 'hubspotintegrations')).toBe(true);
    expect(await can('delete', 'hubspotintegrations')).toBe(false);
  });

  it('a removed permission takes effect immediately', async () => {
    const kc = client(operatorToken);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const event = { metadata: { generateName: 'acme.' }, involvedObject: { kind: 'HubSpotIntegration', name: 'acme', namespace: 'crm' }, reason: 'Synced', message: 'ok', type: 'Normal' };
    expect((await status(core.createNamespacedEvent({ namespace: 'crm', body: event }))).code).toBe(200);
    const role = readFileSync(admin.dir + '/rbac.yaml', 'utf8').split('---').find((d) => d.includes('kind: Role\n')) as string;
    await admin.ok('apply', '-f', await admin.file('role.yaml', role.replace(/- apiGroups: \[""\]\n  resources: \[events\]\n  verbs: \[create, patch\]\n/, '')));
    expect(await status(core.createNamespacedEvent({ namespace: 'crm', body: event }))).toMatchObject({
      code: 403,
      message: `events is forbidden: User "${SA}" cannot create resource "events" in API group "" in the namespace "crm"`,
    });
  });

  it('kubectl create token mints an expiring ServiceAccount token; whoami and can-i --list report it', async () => {
    const token = (await admin.ok('create', 'token', 'operator', '-n', 'crm', '--duration=15m')).trim();
    const k = await kubectlFor(kube, token);
    try {
      const whoami = await k.ok('auth', 'whoami');
      expect(whoami).toMatch(new RegExp(`Username\\s+${SA}`));
      expect(whoami).toMatch(/system:serviceaccounts:crm/);
      const list = await k.ok('auth', 'can-i', '--list', '-n', 'crm');
      expect(list).toMatch(/hubspotintegrations.hubspot-operator.dev\s+\[\]\s+\[\]\s+\[get list watch\]/);
      expect(list).toMatch(/secrets\s+\[\]\s+\[acme-hubspot\]\s+\[get\]/);
    } finally {
      await k.cleanup();
    }
    const missing = await admin.run('create', 'token', 'nobody', '-n', 'crm');
    expect(missing.stderr).toMatch(/serviceaccounts "nobody" not found/);
  });

  // Aggregation is kube-controller-manager's clusterrole-aggregation controller, which the
  // sandbox emulates and a bare kube-apiserver (like envtest's) does not run.
  it.skipIf(backend === 'real')('has the default ClusterRoles, and aggregates labelled ClusterRoles into view/edit/admin', async () => {
    await admin.ok('create', 'serviceaccount', 'viewer', '-n', 'crm');
    await admin.ok('create', 'rolebinding', 'viewer', '-n', 'crm', '--clusterrole=view', '--serviceaccount=crm:viewer');
    const viewer = client(await kube.issueToken('crm', 'viewer'));
    const custom = viewer.makeApiClient(k8s.CustomObjectsApi);
    const listHsi = () => custom.listNamespacedCustomObject({ group: 'hubspot-operator.dev', version: 'v1alpha1', namespace: 'crm', plural: 'hubspotintegrations' });
    // view covers ConfigMaps but not Secrets, and knows nothing of the HubSpot kinds yet.
    expect((await status(viewer.makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: 'crm' }))).code).toBe(200);
    expect((await status(viewer.makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: 'crm' }))).code).toBe(403);
    expect((await status(listHsi())).code).toBe(403);
    // What the chart's aggregate-to-view ClusterRole does in a real cluster:
    await admin.ok('apply', '-f', await admin.file('aggregate.yaml', `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: hubspot-operator-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [hubspot-operator.dev]
  resources: [hubspotintegrations, fieldmappings, syncfilters]
  verbs: [get, list, watch]
`));
    expect((await status(listHsi())).code).toBe(200);
    const view = JSON.parse(await admin.ok('get', 'clusterrole', 'view', '-o', 'json'));
    expect(view.rules).toEqual(expect.arrayContaining([expect.objectContaining({ apiGroups: ['hubspot-operator.dev'] })]));
    // edit and admin include view's rules through their own aggregation.
    const adminRole = JSON.parse(await admin.ok('get', 'clusterrole', 'admin', '-o', 'json'));
    expect(adminRole.rules).toEqual(expect.arrayContaining([expect.objectContaining({ apiGroups: ['hubspot-operator.dev'] })]));
  });

  it('unauthenticated requests may only read health and version', async () => {
    expect(kube.url).toMatch(/^https:/);
    expect((await anonymousGet('/healthz')).status).toBe(200);
    expect((await anonymousGet('/version')).status).toBe(200);
    const res = await anonymousGet('/api/v1/namespaces/crm/secrets');
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).message).toBe('secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" in the namespace "crm"');
  });
});
});
