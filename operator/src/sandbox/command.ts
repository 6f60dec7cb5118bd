/**
 * `hubspot-operator sandbox` (DESIGN §5): everything embedded, no cluster, no HubSpot account,
 * no database. Starts the Kubernetes API sandbox, the HubSpot API sandbox seeded with demo data
 * and PGlite (also served to psql over a local socket), installs the CRDs, applies
 * examples/sandbox/ with the embedded URLs filled in, runs the operator in-process, prints
 * progress and a status summary, writes .sandbox/kubeconfig, and keeps syncing until Ctrl-C.
 * The sandboxes depend on nothing of the operator; this command alone wires them together.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '../kube/config.js';
import { parseAllDocuments } from 'yaml';
import pino from 'pino';
import { parseOrThrow, parsePort, parsePositiveInt, untilSignal, UsageError } from '../cli-args.js';
import { KubeClient, isStatus, type KubeObject, type ResourceType } from '../kube/client.js';
import type { EngineFactory } from '../controller/worker.js';
import { createLogger, LOG_LEVELS } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { HubSpotIntegrationStatus } from '../api/types.js';
import type { PGlite } from '@electric-sql/pglite';
import type { KubeSandbox } from './kube/index.js';
import type { HubSpotSandbox } from './hubspot/index.js';
import { createSyncEngine } from '../sync/index.js';
import { relaySocketNotifications } from './pglite-notify-relay.js';

export const SANDBOX_HELP = `Usage: hubspot-operator sandbox [flags]

Runs everything embedded: a Kubernetes API server, a HubSpot API sandbox seeded with demo data,
and PostgreSQL (PGlite, in-process). Installs the CRDs, applies examples/sandbox/, runs the
operator, and keeps syncing until Ctrl-C. kubectl works with --kubeconfig .sandbox/kubeconfig.

Flags:
  --kube-port <port>           port of the Kubernetes API sandbox; default 6443 (0 = any free port)
  --hubspot-port <port>        port of the HubSpot API sandbox; default 4010
  --metrics-port <port>        port of the operator's /metrics, /healthz, /readyz; default 8080
  --postgres-port <port>       port psql connects to (PGlite over a socket); default 5433
  --records <n>                demo contacts to seed (companies: a quarter of it); default 2000
  --database-url <url>         use this PostgreSQL (postgres://...) instead of PGlite
  --components <list>          start only some of kube,hubspot,postgres,operator; default all
  --no-examples                do not apply examples/sandbox/ (start empty)
  --hubspot-token <token>      the private-app token the HubSpot sandbox accepts; default sandbox-token
  --dir <path>                 where kubeconfig and operator.log are written; default .sandbox
  --log-level <level>          operator log level (logs go to <dir>/operator.log); default info
  -h, --help                   this help
`;

const COMPONENTS = ['kube', 'hubspot', 'postgres', 'operator'] as const;
type Component = (typeof COMPONENTS)[number];
/** The database URL the examples get when PGlite is used; the engine factory maps it to the shared instance. */
export const SANDBOX_PGLITE_URL = 'pglite://sandbox';

function repoRoot(): string {
  // operator/src/sandbox/command.ts or operator/dist/sandbox/command.js → the package root.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

const KNOWN_TYPES: Record<string, ResourceType & { namespaced: boolean }> = {
  'v1/Namespace': { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  'v1/Secret': { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
  'hubspot-operator.dev/v1alpha1/HubSpotIntegration': { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration', namespaced: true },
  'hubspot-operator.dev/v1alpha1/FieldMapping': { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'fieldmappings', kind: 'FieldMapping', namespaced: true },
  'hubspot-operator.dev/v1alpha1/SyncFilter': { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'syncfilters', kind: 'SyncFilter', namespaced: true },
};

export function readManifests(dir: string): KubeObject[] {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: KubeObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${join(dir, f)}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

/** Creates or replaces each object; retries briefly while a just-installed CRD becomes served. */
export async function applyObjects(client: KubeClient, objects: KubeObject[]): Promise<void> {
  for (const obj of objects) {
    const type = KNOWN_TYPES[`${obj.apiVersion}/${obj.kind}`];
    if (!type) throw new Error(`cannot apply ${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}: unsupported kind in the sandbox command`);
    const ns = type.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        try {
          await client.create(type, ns, obj);
        } catch (err) {
          if (!isStatus(err, 409)) throw err;
          const existing = await client.get(type, ns, obj.metadata.name);
          await client.replace(type, ns, obj.metadata.name, { ...obj, metadata: { ...obj.metadata, resourceVersion: existing.metadata.resourceVersion } });
        }
        break;
      } catch (err) {
        if (isStatus(err, 404) && attempt < 50) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        throw err;
      }
    }
  }
}

/** Fills the sandbox URLs and token into the example manifests. */
export function substituteExamples(objects: KubeObject[], o: { databaseUrl: string; hubspotUrl: string; token: string }): KubeObject[] {
  return objects.map((obj) => {
    const copy = structuredClone(obj) as KubeObject & { stringData?: Record<string, string>; data?: Record<string, string>; spec?: { hubspot?: { baseURL?: string } } };
    if (copy.kind === 'Secret') {
      if (copy.stringData?.url !== undefined) copy.stringData.url = o.databaseUrl;
      if (copy.stringData?.token !== undefined) copy.stringData.token = o.token;
    }
    if (copy.kind === 'HubSpotIntegration' && copy.spec?.hubspot) copy.spec.hubspot.baseURL = o.hubspotUrl;
    return copy;
  });
}

function parseComponents(value: string | undefined): Set<Component> {
  if (!value) return new Set(COMPONENTS);
  const out = new Set<Component>();
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(COMPONENTS as readonly string[]).includes(part)) throw new UsageError(`--components: unknown component "${part}"; expected a comma-separated list of ${COMPONENTS.join(', ')}`);
    out.add(part as Component);
  }
  if (out.has('operator') && !out.has('kube')) throw new UsageError('--components: operator needs kube (the operator runs against the Kubernetes API sandbox)');
  return out;
}

export async function sandboxCommand(args: string[]): Promise<void> {
  const { values } = parseOrThrow(args, {
    'kube-port': { type: 'string' },
    'hubspot-port': { type: 'string' },
    'metrics-port': { type: 'string' },
    'postgres-port': { type: 'string' },
    records: { type: 'string' },
    'database-url': { type: 'string' },
    components: { type: 'string' },
    examples: { type: 'boolean' },
    'hubspot-token': { type: 'string' },
    dir: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(SANDBOX_HELP);
    return;
  }
  const kubePort = parsePort(values['kube-port'], '--kube-port', 6443)!;
  const hubspotPort = parsePort(values['hubspot-port'], '--hubspot-port', 4010)!;
  const metricsPort = parsePort(values['metrics-port'], '--metrics-port', 8080)!;
  const postgresPort = parsePort(values['postgres-port'], '--postgres-port', 5433)!;
  const records = values.records === '0' ? 0 : parsePositiveInt(values.records, '--records', 2000);
  const components = parseComponents(values.components);
  const logLevel = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as (typeof LOG_LEVELS)[number])) throw new UsageError(`--log-level: "${logLevel}" is not a log level; expected one of ${LOG_LEVELS.join(', ')}`);
  const token = values['hubspot-token'] ?? 'sandbox-token';
  const databaseUrlFlag = values['database-url'];
  if (databaseUrlFlag !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrlFlag)) {
    throw new UsageError('--database-url: expected a postgres:// or postgresql:// URL');
  }
  const dir = resolve(values.dir ?? '.sandbox');
  mkdirSync(dir, { recursive: true });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const closers: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    out('stopping...');
    for (const close of closers.reverse()) await close().catch((err) => process.stderr.write(`while stopping: ${err instanceof Error ? err.message : String(err)}\n`));
  };

  try {
    let kube: KubeSandbox | undefined;
    const kubeconfigPath = join(dir, 'kubeconfig');
    if (components.has('kube')) {
      const { startKubeSandbox } = await import('./kube/index.js');
      kube = await portFlag('--kube-port', kubePort, () => startKubeSandbox({ port: kubePort, host: '127.0.0.1', kubeconfigPath }));
      closers.push(() => kube!.close());
      await kube.writeKubeconfig(kubeconfigPath);
    }

    let hubspot: HubSpotSandbox | undefined;
    if (components.has('hubspot')) {
      const { startHubSpotSandbox, HUBSPOT_LIMITS } = await import('./hubspot/index.js');
      out(`seeding the HubSpot sandbox with ${records} contacts and ${Math.ceil(records / 4)} companies...`);
      hubspot = await portFlag('--hubspot-port', hubspotPort, () => startHubSpotSandbox({
          port: hubspotPort,
          host: '127.0.0.1',
          token,
          seed: { contacts: records, companies: Math.ceil(records / 4), demo: true },
          // Behave like a real account on the lowest tier, so what the user sees (pacing, the
          // lookback that covers search's indexing delay) is what production does.
          limits: HUBSPOT_LIMITS,
          indexingDelayMs: 1000,
        }));
      closers.push(() => hubspot!.close());
    }

    let databaseUrl = databaseUrlFlag;
    let psqlHint: string | undefined;
    let sharedPglite: PGlite | undefined;
    if (components.has('postgres') && !databaseUrl) {
      const { PGlite } = await import('@electric-sql/pglite');
      const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
      const db = await PGlite.create();
      sharedPglite = db;
      // psql's changes must wake the sync at once, like on a real server (see pglite-notify-relay.ts).
      relaySocketNotifications(db);
      const server = new PGLiteSocketServer({ db, port: postgresPort, host: '127.0.0.1', maxConnections: 4 });
      await portFlag('--postgres-port', postgresPort, () => server.start());
      closers.push(async () => {
        await server.stop();
        await db.close();
      });
      databaseUrl = SANDBOX_PGLITE_URL;
      const served = server.getServerConn(); // host:port actually bound (port 0 = any free port)
      psqlHint = `psql "postgresql://postgres@${served}/postgres?sslmode=disable"`;
    } else if (databaseUrl) {
      psqlHint = `psql "<your --database-url>"`;
    }

    if (kube) {
      const client = new KubeClient(loadConfig(kubeconfigPath));
      await applyObjects(client, readManifests(join(repoRoot(), 'crds')));
      if (values.examples !== false && hubspot && databaseUrl) {
        const examples = substituteExamples(readManifests(join(repoRoot(), 'examples', 'sandbox')), { databaseUrl, hubspotUrl: hubspot.url, token });
        await applyObjects(client, examples);
      } else if (values.examples !== false) {
        out('  (examples/sandbox/ not applied: they need the hubspot and postgres components, or --database-url)');
      }
    }

    let metricsUrl = '-';
    let operatorClient: KubeClient | undefined;
    if (components.has('operator') && kube) {
      const { runOperator } = await import('../controller/run.js');
      // The examples name SANDBOX_PGLITE_URL: those engines share the one in-process PGlite that psql also sees.
      const engineFactory: EngineFactory = (cfg, deps) =>
        createSyncEngine(cfg, cfg.credentials.databaseUrl === SANDBOX_PGLITE_URL && sharedPglite ? { ...deps, pglite: sharedPglite } : deps);
      const logger = createLogger({ level: logLevel, destination: pino.destination({ dest: join(dir, 'operator.log'), sync: true, append: true }) });
      const progress = progressPrinter(out);
      const running = await portFlag('--metrics-port', metricsPort, () => runOperator({
        kubeConfig: loadConfig(kubeconfigPath),
        logger,
        metrics: createMetrics(),
        metricsPort,
        host: '127.0.0.1',
        leaderElection: { enabled: false, namespace: 'default', name: 'hubspot-operator-leader' },
        engineFactory,
        watchTimeoutSeconds: 60,
        onProgress: progress,
      }));
      closers.push(() => running.stop());
      metricsUrl = running.endpoints.metricsUrl;
      operatorClient = running.operator.client;
    }

    out(`ready kube=${kube?.url ?? '-'} hubspot=${hubspot?.url ?? '-'} metrics=${metricsUrl}`);
    if (kube) out(`  kubectl --kubeconfig ${relativeToCwd(kubeconfigPath)} get hubspot -A`);
    if (psqlHint) {
      out(`  ${psqlHint} -c 'select count(*) from contacts'`);
      // Each contact's primary company (a HubSpot association) is kept in contacts.company_id.
      out(`  ${psqlHint} -c 'select c.email, co.name as company from contacts c join companies co on co.id = c.company_id limit 5'`);
    }
    if (hubspot) out(`  curl -s -H 'Authorization: Bearer ${values['hubspot-token'] ? '<your token>' : 'sandbox-token'}' '${hubspot.url}/crm/v3/objects/contacts?limit=3'`);
    out('Press Ctrl-C to stop.');

    const watcher = operatorClient ? watchStatus(operatorClient, out) : undefined;
    await untilSignal(async () => {
      watcher?.stop();
      await stopAll();
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Runs `start`; a port already in use becomes a usage error naming the flag. */
async function portFlag<T>(flag: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as { code?: string }).code === 'EADDRINUSE') throw new UsageError(`${flag}: port ${port} is already in use; pick another port, or 0 for any free one`);
    throw err;
  }
}

function loadConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function relativeToCwd(path: string): string {
  const cwd = process.cwd();
  return path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

/** Words for the engine's progress phases. */
const PHASE_LABELS: Record<string, string> = {
  import: 'imported from HubSpot',
  seed: 'table rows sent to HubSpot',
  push: 'changes pushed to HubSpot',
  incremental: 'changes pulled from HubSpot',
  full: 'compared in the full reconciliation',
};

/** Prints initial-import progress at most once a second per object type. */
function progressPrinter(out: (line: string) => void) {
  const last = new Map<string, number>();
  return (namespace: string, integration: string, objectType: string, phase: string, done: number, total?: number) => {
    const key = `${namespace}/${integration}/${objectType}/${phase}`;
    const now = Date.now();
    const finished = total !== undefined && done >= total;
    if (!finished && now - (last.get(key) ?? 0) < 1000) return;
    last.set(key, now);
    if (done === 0 && phase !== 'import') return;
    const label = PHASE_LABELS[phase] ?? phase;
    out(`  ${namespace}/${integration} ${objectType}: ${done}${total !== undefined ? ` of ${total}` : ''} ${label}`);
  };
}

const INTEGRATIONS: ResourceType = KNOWN_TYPES['hubspot-operator.dev/v1alpha1/HubSpotIntegration']!;

/**
 * Prints a status summary when an integration first becomes Ready, then a line when its Ready
 * condition changes (e.g. suspended, failing) and one per cycle that changed records.
 */
function watchStatus(client: KubeClient, out: (line: string) => void): { stop(): void } {
  let stopped = false;
  const summarized = new Set<string>();
  const lastSync = new Map<string, string>();
  const lastReady = new Map<string, string>();
  void (async () => {
    while (!stopped) {
      try {
        const list = await client.list<KubeObject & { status?: HubSpotIntegrationStatus }>(INTEGRATIONS);
        for (const item of list.items) {
          const key = `${item.metadata.namespace}/${item.metadata.name}`;
          const status = item.status;
          const ready = status?.conditions?.find((c) => c.type === 'Ready');
          const readyText = ready ? `Ready=${ready.status} (${ready.reason}): ${ready.message}` : '';
          if (ready?.status === 'True' && !summarized.has(key)) {
            summarized.add(key);
            out(summary(key, status!));
          } else if (summarized.has(key)) {
            if (readyText && lastReady.get(key) !== readyText) out(`  ${key} ${readyText}`);
            if (status?.lastSyncTime && lastSync.get(key) !== status.lastSyncTime) {
              const changes = (status.objects ?? []).map(describeCycle).filter(Boolean);
              if (changes.length) out(`  ${status.lastSyncTime} ${key} synced ${changes.join('; ')}`);
            }
          }
          if (readyText) lastReady.set(key, readyText);
          if (status?.lastSyncTime) lastSync.set(key, status.lastSyncTime);
        }
      } catch {
        /* the operator is stopping or the API is busy; try again */
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return { stop: () => void (stopped = true) };
}

function describeCycle(o: NonNullable<HubSpotIntegrationStatus['objects']>[number]): string {
  const t = o.lastCycle?.toTarget ?? {};
  const h = o.lastCycle?.toHubSpot ?? {};
  const parts: string[] = [];
  const side = (label: string, c: { created?: number; updated?: number; deleted?: number }) => {
    const bits = [c.created ? `${c.created} created` : '', c.updated ? `${c.updated} updated` : '', c.deleted ? `${c.deleted} deleted` : ''].filter(Boolean);
    if (bits.length) parts.push(`${label} ${bits.join(', ')}`);
  };
  side('to the table:', t);
  side('to HubSpot:', h);
  if (o.lastCycle?.failed) parts.push(`${o.lastCycle.failed} failed`);
  return parts.length ? `${o.type} ${parts.join('; ')}` : '';
}

export function summary(key: string, status: HubSpotIntegrationStatus): string {
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const lines = [`HubSpotIntegration ${key}: Ready=${ready?.status} (${ready?.reason})`];
  for (const o of status.objects ?? []) {
    lines.push(`  ${o.type.padEnd(10)} hubspot ${String(o.hubspotRecords ?? 0).padStart(6)}  table ${String(o.targetRecords ?? 0).padStart(6)}  linked ${String(o.linkedRecords ?? 0).padStart(6)}  pending ${o.pendingChanges ?? 0}`);
  }
  lines.push(status.errors?.length ? `  errors: ${status.errors.map((e) => `${e.category} ${e.records}`).join(', ')}` : '  errors: none');
  if (status.apiUsage) lines.push(`  HubSpot API requests (24h): ${status.apiUsage.requestsLast24h} of ${status.apiUsage.dailyBudget}`);
  return lines.join('\n');
}
