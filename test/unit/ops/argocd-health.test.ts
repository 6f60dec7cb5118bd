// The Argo CD health check (charts/hubspot-operator/argocd/health.lua) run in a Lua VM against
// sample objects in every state a platform engineer sees in the Argo CD UI.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runHealthScript } from './argocd-lua.js';

const argocdDir = fileURLToPath(new URL('../../../charts/hubspot-operator/argocd/', import.meta.url));
const script = readFileSync(`${argocdDir}health.lua`, 'utf8');

type Condition = { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string; observedGeneration?: number };

function integration(opts: { generation?: number; observedGeneration?: number; suspend?: boolean; deleting?: boolean; conditions?: Condition[] | null }) {
  const generation = opts.generation ?? 3;
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: {
      name: 'acme',
      namespace: 'crm',
      generation,
      ...(opts.deleting ? { deletionTimestamp: '2026-11-23T10:00:00Z', finalizers: ['hubspot-operator.dev/cleanup'] } : {}),
    },
    spec: { suspend: opts.suspend ?? false, hubspot: { auth: { privateAppToken: { secretRef: { name: 's', key: 'token' } } } } },
    ...(opts.conditions === null
      ? {}
      : { status: { observedGeneration: opts.observedGeneration ?? generation, conditions: (opts.conditions ?? []).map((c) => ({ observedGeneration: generation, lastTransitionTime: '2026-11-23T09:00:00Z', ...c })) } }),
  };
}

const ready: Condition = { type: 'Ready', status: 'True', reason: 'Synced', message: 'Synced 3 object types' };

describe('Argo CD health of a HubSpotIntegration', () => {
  const cases: { name: string; obj: unknown; status: string; message: RegExp }[] = [
    { name: 'Ready=True', obj: integration({ conditions: [ready] }), status: 'Healthy', message: /Synced: Synced 3 object types/ },
    {
      name: 'Ready=True Observed (spec.mode Observe)',
      obj: integration({ conditions: [{ type: 'Ready', status: 'True', reason: 'Observed', message: 'Observed: contacts: 2 differences' }] }),
      status: 'Healthy',
      message: /Observed: contacts: 2 differences/,
    },
    {
      name: 'Ready=True during a routine cycle (Reconciling=True/Syncing) stays Healthy, no flapping',
      obj: integration({ conditions: [ready, { type: 'Reconciling', status: 'True', reason: 'Syncing', message: 'Incremental cycle' }] }),
      status: 'Healthy',
      message: /Synced/,
    },
    {
      name: 'Ready=True with Degraded=True (records failing) is Degraded with the category',
      obj: integration({ conditions: [ready, { type: 'Degraded', status: 'True', reason: 'Validation', message: '2 records failing' }] }),
      status: 'Degraded',
      message: /Validation: 2 records failing/,
    },
    {
      name: 'spec.suspend is Suspended, whatever the conditions say',
      obj: integration({ suspend: true, conditions: [{ type: 'Ready', status: 'False', reason: 'Suspended', message: 'Suspended by spec.suspend' }] }),
      status: 'Suspended',
      message: /spec\.suspend/,
    },
    {
      name: 'no status yet is Progressing',
      obj: integration({ conditions: null }),
      status: 'Progressing',
      message: /Waiting for the operator/,
    },
    {
      name: 'observedGeneration behind metadata.generation is Progressing, even if Ready was True',
      obj: integration({ generation: 4, observedGeneration: 3, conditions: [ready] }),
      status: 'Progressing',
      message: /generation 4 \(observed 3\)/,
    },
    {
      name: 'a Ready condition of an older generation is Progressing',
      obj: { ...integration({ generation: 5, observedGeneration: 5, conditions: [] }), status: { observedGeneration: 5, conditions: [{ ...ready, observedGeneration: 4 }] } },
      status: 'Progressing',
      message: /Ready condition of generation 5/,
    },
    {
      name: 'initial sync (Ready=Unknown/Progressing, Reconciling=InitialSync) is Progressing',
      obj: integration({
        conditions: [
          { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'First cycle running' },
          { type: 'Reconciling', status: 'True', reason: 'InitialSync', message: 'Imported 3000 of 12000 contacts' },
        ],
      }),
      status: 'Progressing',
      message: /InitialSync: Imported 3000 of 12000 contacts/,
    },
    {
      name: 'Ready=False/Progressing is Progressing',
      obj: integration({ conditions: [{ type: 'Ready', status: 'False', reason: 'Progressing', message: 'Resuming' }] }),
      status: 'Progressing',
      message: /Resuming/,
    },
    {
      name: 'Stalled (bad credentials) is Degraded with the reason',
      obj: integration({
        conditions: [
          { type: 'Ready', status: 'False', reason: 'AuthenticationFailed', message: 'HubSpot rejected the token (401)' },
          { type: 'Stalled', status: 'True', reason: 'AuthenticationFailed', message: 'HubSpot rejected the token (401)' },
        ],
      }),
      status: 'Degraded',
      message: /AuthenticationFailed: HubSpot rejected the token/,
    },
    {
      name: 'Ready=False/TargetUnavailable is Degraded, also while a retry cycle runs',
      obj: integration({
        conditions: [
          { type: 'Ready', status: 'False', reason: 'TargetUnavailable', message: 'connection refused' },
          { type: 'Reconciling', status: 'True', reason: 'Syncing', message: 'retrying' },
        ],
      }),
      status: 'Degraded',
      message: /TargetUnavailable: connection refused/,
    },
    {
      name: 'Ready=False/RateLimited (daily budget spent) is Degraded',
      obj: integration({ conditions: [{ type: 'Ready', status: 'False', reason: 'RateLimited', message: 'Daily budget spent; resumes at 00:00 UTC' }] }),
      status: 'Degraded',
      message: /RateLimited/,
    },
    {
      name: 'being deleted is Progressing',
      obj: integration({ deleting: true, conditions: [{ type: 'Ready', status: 'False', reason: 'Deleting', message: 'cleaning up' }] }),
      status: 'Progressing',
      message: /Deleting/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const hs = runHealthScript(script, c.obj);
      expect(hs.status).toBe(c.status);
      expect(hs.message).toMatch(c.message);
    });
  }
});

describe('Argo CD health of a FieldMapping and a SyncFilter', () => {
  const fieldMapping = (conditions: Condition[] | null, generation = 1, observedGeneration = 1) => ({
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'FieldMapping',
    metadata: { name: 'contacts', namespace: 'crm', generation },
    spec: { integrationRef: { name: 'acme' }, objectType: 'contacts', fields: [{ property: 'email', column: 'email' }] },
    ...(conditions ? { status: { observedGeneration, fieldCount: 1, conditions: conditions.map((c) => ({ observedGeneration, ...c })) } } : {}),
  });
  it('Ready=True is Healthy', () => {
    expect(runHealthScript(script, fieldMapping([{ type: 'Ready', status: 'True', reason: 'Valid', message: '1 field mapped' }])).status).toBe('Healthy');
  });
  it('Ready=False/InvalidSpec is Degraded and names the field', () => {
    const hs = runHealthScript(script, fieldMapping([{ type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'spec.fields[0].property: unknown HubSpot property "emial"' }]));
    expect(hs).toEqual({ status: 'Degraded', message: 'InvalidSpec: spec.fields[0].property: unknown HubSpot property "emial"' });
  });
  it('not yet validated is Progressing', () => {
    expect(runHealthScript(script, fieldMapping(null)).status).toBe('Progressing');
    expect(runHealthScript(script, fieldMapping([{ type: 'Ready', status: 'True', reason: 'Valid' }], 2, 1)).status).toBe('Progressing');
  });
  it('a SyncFilter without spec.suspend is never Suspended', () => {
    const filter = { kind: 'SyncFilter', metadata: { name: 'f', generation: 1 }, spec: { integrationRef: { name: 'acme' }, rules: [] }, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Valid', observedGeneration: 1 }] } };
    expect(runHealthScript(script, filter).status).toBe('Healthy');
  });
});

describe('argocd-cm snippet', () => {
  it('registers the same script for all three kinds', () => {
    const snippet = parse(readFileSync(`${argocdDir}argocd-cm.yaml`, 'utf8')) as { data: Record<string, string> };
    expect(Object.keys(snippet.data).sort()).toEqual([
      'resource.customizations.health.hubspot-operator.dev_FieldMapping',
      'resource.customizations.health.hubspot-operator.dev_HubSpotIntegration',
      'resource.customizations.health.hubspot-operator.dev_SyncFilter',
    ]);
    for (const [key, value] of Object.entries(snippet.data)) expect(value, `${key} differs from health.lua`).toBe(script);
  });
});

describe('chart README', () => {
  it('shows an argocd-cm snippet that registers exactly health.lua for the three kinds', () => {
    const readme = readFileSync(`${argocdDir}../README.md`, 'utf8');
    const block = readme.split('```yaml').map((b) => b.split('```')[0]).find((b) => b.includes('name: argocd-cm'));
    expect(block, 'argocd-cm snippet in charts/hubspot-operator/README.md').toBeDefined();
    const cm = parse(block!) as { data: Record<string, string> };
    expect(Object.keys(cm.data)).toHaveLength(3);
    for (const [key, value] of Object.entries(cm.data)) expect(value, `${key} in the README differs from health.lua`).toBe(script);
  });
});
