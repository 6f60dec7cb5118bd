/**
 * What an operator process handles: --namespaces limits the watched namespaces, --shard limits
 * the integrations by label; and the Event recorder aggregates repeats like client-go.
 * Against the Kubernetes API sandbox, with a scripted engine (the e2e tests run the real one).
 */
import { KubeConfig } from '../../../operator/src/kube/config.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTEGRATION } from '../../../operator/src/controller/integration-reconciler.js';
import { KubeClient, type KubeObject } from '../../../operator/src/kube/client.js';
import { Operator } from '../../../operator/src/controller/manager.js';
import { EventRecorder } from '../../../operator/src/observability/events.js';
import { createMetrics } from '../../../operator/src/observability/metrics.js';
import { applyObjects, readManifests } from '../../../operator/src/sandbox/command.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import type { CycleKind, ResolvedIntegration, SyncEngine } from '../../../operator/src/sync/types.js';
import { waitFor } from '../../helpers/wait.js';

const synced = new Set<string>();

function engine(cfg: ResolvedIntegration): SyncEngine {
  return {
    validate: async () => [],
    runCycle: async (kind: CycleKind) => {
      synced.add(`${cfg.namespace}/${cfg.name}`);
      const now = new Date().toISOString();
      return { kind, startedAt: now, finishedAt: now, completed: true, objects: [], errors: [], apiUsage: { requestsLast24h: 0, rateLimitedLast24h: 0, dailyBudget: 1 }, syncLagSeconds: 0 };
    },
    waitForTargetChange: (signal) => new Promise<void>((r) => signal.addEventListener('abort', () => r())),
    cleanup: async () => {},
    close: async () => {},
  };
}

let kube: KubeSandbox;
let client: KubeClient;
const operators: Operator[] = [];

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  return kc;
}

function hsi(namespace: string, name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1', kind: 'HubSpotIntegration', metadata: { name, namespace, labels },
    spec: {
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'token' } } } },
      target: { postgres: { connectionSecretRef: { name: 'db' } } },
      objects: [{ type: 'contacts', table: 'contacts' }],
      schedule: { interval: '1h' },
    },
  };
}

beforeAll(async () => {
  kube = await startKubeSandbox({ port: 0 });
  client = new KubeClient(kubeConfig());
  await applyObjects(client, readManifests('crds'));
  const objects: KubeObject[] = [];
  for (const ns of ['team-a', 'team-b']) {
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: ns }, stringData: { token: 't0ken' } } as KubeObject);
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns }, stringData: { url: 'postgres://x@127.0.0.1/db' } } as KubeObject);
  }
  await applyObjects(client, objects);
  await applyObjects(client, [hsi('team-a', 'one', { shard: 'blue' }), hsi('team-a', 'two', { shard: 'green' }), hsi('team-b', 'three', { shard: 'blue' })] as never);
  const op = new Operator({
    kubeConfig: kubeConfig(), logger: pino({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), engineFactory: engine,
    namespaces: ['team-a'], shard: 'shard=blue', leaderElection: { enabled: false, namespace: 'default', name: 'unused' },
  });
  op.start();
  operators.push(op);
});

afterAll(async () => {
  for (const op of operators) await op.stop();
  await kube?.close();
});

describe('operator scope', () => {
  it('handles only integrations in the watched namespaces that match the shard selector', async () => {
    await waitFor(() => synced.has('team-a/one'), { what: 'the in-scope integration syncs' });
    const one = await client.get<KubeObject>(INTEGRATION, 'team-a', 'one');
    expect(one.metadata.finalizers).toContain('hubspot-operator.dev/cleanup');
    for (const [ns, name] of [['team-a', 'two'], ['team-b', 'three']] as const) {
      const other = await client.get<KubeObject & { status?: unknown }>(INTEGRATION, ns, name);
      expect(other.metadata.finalizers ?? []).toEqual([]);
      expect(other.status).toBeUndefined();
    }
    expect([...synced]).toEqual(['team-a/one']);
  });
});

describe('EventRecorder', () => {
  it('aggregates repeats into one Event with a count', async () => {
    const recorder = new EventRecorder({ client, logger: pino({ level: 'silent' }) });
    const involved = await client.get<KubeObject>(INTEGRATION, 'team-b', 'three');
    involved.apiVersion = 'hubspot-operator.dev/v1alpha1';
    involved.kind = 'HubSpotIntegration';
    for (let i = 0; i < 3; i++) {
      recorder.record(involved, 'Warning', 'SyncFailed', 'Transient: HubSpot answered 503');
      await recorder.flush();
    }
    recorder.record(involved, 'Normal', 'Ready', 'Synced');
    await recorder.flush();
    const events = (await client.list<KubeObject & { reason: string; count: number; involvedObject: { name: string; kind: string } }>({ group: '', version: 'v1', plural: 'events', kind: 'Event' }, { namespace: 'team-b' })).items;
    const failed = events.filter((e) => e.reason === 'SyncFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ count: 3, type: 'Warning', involvedObject: { name: 'three', kind: 'HubSpotIntegration' } });
    expect(events.filter((e) => e.reason === 'Ready')).toHaveLength(1);
  });
});
