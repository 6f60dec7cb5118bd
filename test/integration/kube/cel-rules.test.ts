/**
 * The CRDs install, and every CEL rule (x-kubernetes-validations) accepts its good object and
 * refuses its bad one with the rule's message at the rule's field — on the Kubernetes API
 * sandbox and on the real kube-apiserver (when built), so the sandbox's CEL evaluation and the
 * CRDs' rules are checked against the apiserver's own (cel-go, with its cost budget).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBackends, startKubeBackend, type KubeBackend } from '../../helpers/kube-backend.js';
import { CASES } from '../../unit/api/cel-cases.js';
import { kubectlFor, type Kubectl } from './kubectl-helper.js';

const PLURAL: Record<string, string> = { HubSpotIntegration: 'hubspotintegrations', FieldMapping: 'fieldmappings', SyncFilter: 'syncfilters' };

interface Status {
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { reason: string; field: string; message: string }[] };
}

describe.each(kubeBackends())('CRDs and their CEL rules on the %s', (backend) => {
  let kube: KubeBackend;
  let k: Kubectl;

  beforeAll(async () => {
    kube = await startKubeBackend(backend);
    k = await kubectlFor(kube);
  });
  afterAll(async () => {
    await k?.cleanup();
    await kube?.close();
  });

  it('kubectl apply -f crds/ installs all three CRDs and they become Established', async () => {
    const out = await k.ok('apply', '-f', 'crds/');
    for (const name of ['fieldmappings', 'hubspotintegrations', 'syncfilters']) expect(out).toContain(`customresourcedefinition.apiextensions.k8s.io/${name}.hubspot-operator.dev created`);
    const waited = await k.ok('wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/');
    expect(waited.trim().split('\n')).toHaveLength(3);
    await k.ok('create', 'namespace', 'crm');
  });

  /** POST with dryRun=All: nothing is stored, admission (schema + CEL) runs in full. */
  async function create(obj: { kind: string; metadata: { namespace?: string } }): Promise<{ status: number; body: Status }> {
    const path = `/apis/hubspot-operator.dev/v1alpha1/namespaces/${obj.metadata.namespace}/${PLURAL[obj.kind]}?dryRun=All&fieldValidation=Strict`;
    // The resource must be served (discovery can lag the Established condition by a moment).
    for (;;) {
      const res = await kube.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(obj) });
      const body = (await res.json()) as Status;
      if (res.status === 404 && body.reason === 'NotFound' && !/already exists/.test(body.message)) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      return { status: res.status, body };
    }
  }

  for (const c of CASES) {
    it(`${c.kind} ${c.at}: good object accepted, bad one refused with "${c.message.source}" at ${c.badPath}`, async () => {
      const good = await create(c.good as never);
      expect(good.status, JSON.stringify(good.body)).toBe(201);
      const bad = await create(c.bad as never);
      expect(bad.status, JSON.stringify(bad.body)).toBe(422);
      expect(bad.body.reason).toBe('Invalid');
      // The rule's cause (a list-map with a repeated key also gets the schema's Duplicate cause).
      const causes = (bad.body.details?.causes ?? []).filter((x) => x.reason === 'FieldValueInvalid');
      expect(causes, JSON.stringify(bad.body)).toHaveLength(1);
      expect(causes[0]!.field).toBe(c.badPath);
      expect(causes[0]!.message).toMatch(/^Invalid value: "(object|array)": /);
      expect(causes[0]!.message.replace(/^Invalid value: "(object|array)": /, '')).toMatch(c.message);
      expect(bad.body.message).toContain(`${c.kind}.hubspot-operator.dev "${(c.bad as { metadata: { name: string } }).metadata.name}" is invalid: `);
      expect(bad.body.message).toContain(`${c.badPath}: Invalid value: "`);
    });
  }
});
