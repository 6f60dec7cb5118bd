/**
 * A cluster as the platform engineer has it after `helm install`: a Kubernetes API sandbox that
 * enforces RBAC (or the real kube-apiserver with --authorization-mode=RBAC, `backend: 'real'`), the rendered chart applied by an admin, a HubSpot sandbox, a PostgreSQL target,
 * one HubSpotIntegration, and the operator running as a process with the Deployment's
 * arguments and a token of the chart's ServiceAccount.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseAllDocuments, stringify } from 'yaml';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { startKubeBackend, type KubeBackend, type KubeBackendName } from '../../helpers/kube-backend.js';
import { waitFor } from '../../helpers/wait.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { renderYaml, run, tools, type KubeObject, type RenderOptions } from './tools.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const RELEASE_NS = 'hubspot-system';
export const RELEASE = 'hs';
export const SERVICE_ACCOUNT = 'hs-hubspot-operator';

export type Integration = KubeObject & {
  status?: { observedGeneration?: number; lastHandledSyncRequest?: string; conditions?: { type: string; status: string; reason: string; message: string }[] };
};

export interface ChartEnvironment {
  kube: KubeBackend;
  hubspot: HubSpotSandbox;
  operator: OperatorProcess;
  /** Starts one more replica: the same arguments and ServiceAccount, another pod name. */
  startReplica(podName: string): OperatorProcess;
  chartObjects: KubeObject[];
  /** Target schema of the integration. */
  schema: string;
  /** kubectl as cluster admin; throws with kubectl's stderr on failure. */
  kubectl(...args: string[]): Promise<string>;
  applyYaml(name: string, objects: unknown[]): Promise<string>;
  getIntegration(namespace: string, name: string): Promise<Integration>;
  /** Waits for Ready=True; fails early on a Ready=False that is not Progressing. */
  waitReady(namespace: string, name: string): Promise<Integration>;
  countRows(table: string): Promise<number>;
  close(): Promise<void>;
}

export const readyCondition = (i: Integration) => i.status?.conditions?.find((c) => c.type === 'Ready');

export async function startChartEnvironment(o: { render?: RenderOptions; integrationNamespace: string; records?: number; backend?: KubeBackendName }): Promise<ChartEnvironment> {
  const suffix = randomBytes(4).toString('hex');
  const schema = `ops_e2e_${suffix}`;
  const stateSchema = `ops_e2e_state_${suffix}`;
  const work = mkdtempSync(join(tmpdir(), 'hubspot-operator-chart-env-'));
  const adminKubeconfig = join(work, 'admin.kubeconfig');
  const operatorKubeconfig = join(work, 'operator.kubeconfig');
  const ns = o.integrationNamespace;

  const kubectl = async (...args: string[]) => {
    const r = await run(tools().kubectl, ['--kubeconfig', adminKubeconfig, ...args]);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const applyYaml = async (name: string, objects: unknown[]) => {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, objects.map((obj) => stringify(obj)).join('---\n'));
    return kubectl('apply', '-f', file);
  };
  const getIntegration = async (namespace: string, name: string): Promise<Integration> => JSON.parse(await kubectl('get', 'hubspotintegration', name, '-n', namespace, '-o', 'json'));

  const kube = await startKubeBackend(o.backend ?? 'sandbox', { authorization: 'RBAC' });
  await kube.writeKubeconfig(adminKubeconfig);
  const hubspot = await startHubSpotSandbox({ port: 0, seed: { contacts: o.records ?? 25, companies: 0 } });

  // The chart, as `helm install hs charts/hubspot-operator -n hubspot-system` would apply it.
  const rendered = await renderYaml({ ...o.render, namespace: RELEASE_NS, release: RELEASE });
  const chartObjects = parseAllDocuments(rendered).map((d) => d.toJS() as KubeObject).filter(Boolean);
  await applyYaml('namespaces', [...new Set([RELEASE_NS, ns])].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  writeFileSync(join(work, 'chart.yaml'), rendered);
  await kubectl('apply', '-f', join(work, 'chart.yaml'));

  // What a user applies: Secrets and one integration (HubSpot → PostgreSQL, tables created).
  await applyYaml('integration', [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-hubspot', namespace: ns }, stringData: { token: hubspot.token } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-db', namespace: ns }, stringData: { url: DATABASE_URL } },
    {
      apiVersion: 'hubspot-operator.dev/v1alpha1',
      kind: 'HubSpotIntegration',
      metadata: { name: 'acme', namespace: ns },
      spec: {
        hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'acme-hubspot', key: 'token' } } } },
        target: { postgres: { connectionSecretRef: { name: 'acme-db', key: 'url' }, schema, stateSchema, createTables: true } },
        objects: [{ type: 'contacts', table: 'contacts', direction: 'HubSpotToTarget', match: { property: 'email', column: 'email' } }],
        schedule: { interval: '5m', fullResyncInterval: '24h' },
      },
    },
  ]);

  // The operator authenticates as the chart's ServiceAccount, with the Deployment's arguments.
  writeFileSync(operatorKubeconfig, kube.kubeconfigFor(await kube.issueToken(RELEASE_NS, SERVICE_ACCOUNT)));
  const deployment = chartObjects.find((obj) => obj.kind === 'Deployment') as KubeObject & { spec: any };
  const args = (deployment.spec.template.spec.containers[0].args as string[])
    .map((a) => a.replace('$(POD_NAMESPACE)', RELEASE_NS))
    .map((a) => (a.startsWith('--metrics-port=') ? '--metrics-port=0' : a.startsWith('--webhook-port=') ? '--webhook-port=0' : a));
  const replicas: OperatorProcess[] = [];
  const startReplica = (podName: string) => {
    const p = startOperatorProcess([...args, '--kubeconfig', operatorKubeconfig, '--bind-address', '127.0.0.1'], { POD_NAMESPACE: RELEASE_NS, POD_NAME: podName });
    replicas.push(p);
    return p;
  };
  const operator = startReplica(`${RELEASE}-hubspot-operator-0`);

  const withDb = async <T>(fn: (db: pg.Client) => Promise<T>): Promise<T> => {
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      return await fn(db);
    } finally {
      await db.end();
    }
  };

  return {
    kube,
    hubspot,
    operator,
    startReplica,
    chartObjects,
    schema,
    kubectl,
    applyYaml,
    getIntegration,
    waitReady: (namespace, name) =>
      waitFor(
        async () => {
          const cur = await getIntegration(namespace, name);
          const r = readyCondition(cur);
          if (r?.status === 'False' && r.reason !== 'Progressing') throw new Error(`Ready=False ${r.reason}: ${r.message}`);
          return r?.status === 'True' ? cur : undefined;
        },
        { timeoutMs: 60_000, what: `HubSpotIntegration ${namespace}/${name} to become Ready` },
      ),
    countRows: (table) => withDb(async (db) => (await db.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0].n as number),
    close: async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await hubspot.close();
      await kube.close();
      await withDb(async (db) => {
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.query(`DROP SCHEMA IF EXISTS ${stateSchema} CASCADE`);
      }).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
