/**
 * Scale benchmark (DESIGN §4, §7; issue 14): N HubSpotIntegrations — a mix of the three
 * directions, each with its own table — on ONE database and ONE HubSpot account, the operator
 * running as a separate process (operator/dist, as in the image) against the Kubernetes API and
 * HubSpot API sandboxes. Prints one JSON document with:
 * - time from the first create until every integration is Ready (and what the others say);
 * - idle RSS of the operator with 0 and with N integrations, per-integration RSS, peak RSS;
 * - database connections held (pg_stat_activity of the bench database) idle and at peak;
 * - spec change → status.observedGeneration latency, p50/p99, with K simultaneous changes;
 * - HubSpot requests per idle minute (the sandbox's request counter over an idle window).
 *
 * The database is a private PostgreSQL started for the run (initdb into a temporary directory,
 * `max_connections` 100 as PostgreSQL's default) unless --database-url is given, so the run
 * cannot exhaust a shared server's connections.
 *
 *   npm run build && npm run bench:scale -- --integrations 500
 *   npm run bench:scale -- --integrations 100 --idle-seconds 60 --operator-args="--max-concurrent-syncs 8"
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { KubeClient, type KubeObject, type ResourceType } from '../../operator/src/kube/client.js';
import { KubeConfig } from '../../operator/src/kube/config.js';
import { applyObjects, readManifests } from '../../operator/src/sandbox/command.js';
import { startHubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox } from '../../operator/src/sandbox/kube/index.js';
import { imageNode } from './image-node.js';

const { values } = parseArgs({
  options: {
    integrations: { type: 'string', default: '100' },
    records: { type: 'string', default: '20' },
    changes: { type: 'string', default: '20' },
    'idle-seconds': { type: 'string', default: '60' },
    interval: { type: 'string', default: '5m' },
    'ready-timeout-seconds': { type: 'string', default: '900' },
    'database-url': { type: 'string' },
    'max-connections': { type: 'string', default: '100' },
    'operator-args': { type: 'string', default: '' },
  },
});
const N = Number(values.integrations);
const CHANGES = Math.min(Number(values.changes), N);
const IDLE_SECONDS = Number(values['idle-seconds']);
const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'operator', 'dist', 'cli.js');
const NS = 'scale';
const R = {
  integration: { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration' },
  namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' },
  secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
} satisfies Record<string, ResourceType>;
const DIRECTIONS = ['TwoWay', 'HubSpotToTarget', 'TargetToHubSpot'] as const;

if (!existsSync(CLI)) {
  process.stderr.write('operator/dist/cli.js is missing: run `npm run build` first (the benchmark runs the built operator, as the image does)\n');
  process.exit(2);
}

const mib = (kb: number) => Math.round((kb / 1024) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
function percentiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN);
  return { p50: at(0.5), p99: at(0.99), max: at(1), n: s.length };
}

// ---------------------------------------------------------------- a private PostgreSQL
interface Database {
  url: string;
  admin: string;
  stop(): Promise<void>;
}

async function privatePostgres(maxConnections: number): Promise<Database> {
  const dir = mkdtempSync(join(tmpdir(), 'scale-pg-'));
  const root = userInfo().uid === 0;
  const as = (cmd: string, args: string[]) => (root ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' }));
  if (root) execFileSync('chown', ['postgres', dir]);
  as('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const logFile = join(dir, 'postgres.log');
  if (root) {
    writeFileSync(logFile, '');
    chownSync(logFile, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
  }
  as('pg_ctl', ['-D', join(dir, 'data'), '-l', logFile, '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=${maxConnections} -c fsync=off`, 'start']);
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const c = new pg.Client(admin);
  await c.connect();
  await c.query('CREATE DATABASE scale');
  await c.end();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/scale`,
    admin,
    stop: async () => {
      try {
        as('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function sharedPostgres(url: string): Promise<Database> {
  const u = new URL(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client(admin.toString());
  await c.connect();
  await c.query('DROP DATABASE IF EXISTS scale WITH (FORCE)');
  await c.query('CREATE DATABASE scale');
  await c.end();
  u.pathname = '/scale';
  return { url: u.toString(), admin: admin.toString(), stop: async () => {} };
}

// ---------------------------------------------------------------- the operator process
function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function startOperator(kubeconfig: string, extra: string[]): { child: ChildProcess; lines: string[]; metricsUrl: Promise<string> } {
  const image = imageNode(); // node flags and memory settings as in the Dockerfile
  const child = spawn(process.execPath, [...image.flags, CLI, 'run', '--kubeconfig', kubeconfig, '--no-leader-elect', '--metrics-port', '0', '--bind-address', '127.0.0.1', '--log-level', 'info', ...extra], {
    cwd: REPO,
    env: { ...process.env, ...image.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  let onStarted: (url: string) => void = () => {};
  const metricsUrl = new Promise<string>((resolve, reject) => {
    onStarted = resolve;
    child.once('exit', () => reject(new Error(`the operator exited: ${lines.slice(-5).join('\n')}`)));
  });
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) {
      if (!p) continue;
      if (p.includes('"operator started"')) onStarted(/"metrics":"([^"]+)"/.exec(p)?.[1] ?? '');
      lines.push(p.slice(0, 2000));
    }
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return { child, lines, metricsUrl };
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------- main
const cleanups: (() => Promise<void>)[] = [];
async function main() {
  log(`${N} integrations, ${values.records} HubSpot contacts, interval ${values.interval}`);
  const db = values['database-url'] ? await sharedPostgres(values['database-url']) : await privatePostgres(Number(values['max-connections']));
  cleanups.push(() => db.stop());
  const kube = await startKubeSandbox({ port: 0, bookmarkIntervalMs: 5_000 });
  cleanups.push(() => kube.close());
  const hubspot = await startHubSpotSandbox({ limits: { requestsPerWindow: 250, windowMs: 10_000, dailyRequests: 1_000_000_000, searchPerSecond: 5 } });
  cleanups.push(() => hubspot.close());
  hubspot.seed({ contacts: Number(values.records) });
  const dir = mkdtempSync(join(tmpdir(), 'scale-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kube.kubeconfig);
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig);
  const client = new KubeClient(kc);
  cleanups.push(() => client.close());
  await applyObjects(client, readManifests(join(REPO, 'crds')));
  await client.create(R.namespace, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await client.create(R.secret, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubspot' }, stringData: { token: hubspot.token } });
  await client.create(R.secret, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { url: db.url } });

  const pgAdmin = new pg.Client(db.admin);
  await pgAdmin.connect();
  cleanups.push(() => pgAdmin.end());
  const connections = async () => Number((await pgAdmin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'scale'`)).rows[0].n);
  const hubspotRequests = () => hubspot.stats().requests.total;

  const op = startOperator(kubeconfigPath, values['operator-args'].split(/\s+/).filter(Boolean));
  cleanups.push(async () => {
    if (op.child.exitCode === null) {
      op.child.kill('SIGTERM');
      await new Promise((r) => op.child.once('exit', r));
    }
  });
  const metricsUrl = await op.metricsUrl;
  const pid = op.child.pid!;
  // Samplers: operator RSS and database connections, every 250 ms.
  let peakRss = 0;
  let peakConnections = 0;
  let exited: string | undefined;
  op.child.once('exit', (code, signal) => (exited = `exit code ${code} signal ${signal}`));
  const sampler = setInterval(() => {
    if (exited) return;
    peakRss = Math.max(peakRss, rssKb(pid) || 0);
    connections().then((n) => (peakConnections = Math.max(peakConnections, n)), () => {});
  }, 250);
  cleanups.push(async () => clearInterval(sampler));

  await sleep(10_000);
  const idleEmptyKb = rssKb(pid);
  log(`operator idle without integrations: ${mib(idleEmptyKb)} MiB`);

  // Create the integrations, 20 requests at a time.
  const t0 = performance.now();
  const names = Array.from({ length: N }, (_, i) => `i${String(i).padStart(4, '0')}`);
  for (let i = 0; i < N; i += 20) {
    await Promise.all(
      names.slice(i, i + 20).map((name, j) =>
        client.create(R.integration, NS, {
          apiVersion: 'hubspot-operator.dev/v1alpha1',
          kind: 'HubSpotIntegration',
          metadata: { name },
          spec: {
            hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } }, rateLimit: { requestsPerTenSeconds: 250, searchRequestsPerSecond: 5 } },
            target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, createTables: true } },
            objects: [{ type: 'contacts', table: `contacts_${name}`, direction: DIRECTIONS[(i + j) % 3], match: { property: 'email', column: 'email' } }],
            schedule: { interval: values.interval },
          },
        }),
      ),
    );
  }
  log(`created ${N} integrations in ${Math.round(performance.now() - t0)} ms; waiting for Ready`);

  type Integration = KubeObject & { status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string; message: string }[] } };
  const readyOf = (o: Integration) => o.status?.conditions?.find((c) => c.type === 'Ready');
  let readyMs: number | undefined;
  let notReady: Record<string, number> = {};
  let sampleMessages: Record<string, string> = {};
  const deadline = performance.now() + Number(values['ready-timeout-seconds']) * 1000;
  while (performance.now() < deadline && !exited) {
    const list = await client.list<Integration>(R.integration, { namespace: NS });
    notReady = {};
    sampleMessages = {};
    for (const o of list.items) {
      const r = readyOf(o);
      if (r?.status === 'True') continue;
      const key = r ? `${r.status}/${r.reason}` : 'no status';
      notReady[key] = (notReady[key] ?? 0) + 1;
      sampleMessages[key] ??= r?.message?.slice(0, 300) ?? '';
    }
    if (Object.keys(notReady).length === 0) {
      readyMs = performance.now() - t0;
      break;
    }
    await sleep(500);
  }
  log(readyMs !== undefined ? `all Ready after ${Math.round(readyMs)} ms` : `not all Ready: ${JSON.stringify(notReady)}`);

  // Idle: let the start-up settle, then measure memory, connections and HubSpot traffic.
  await sleep(15_000);
  const idleKb = rssKb(pid);
  const idleConnections = await connections();
  const requestsBefore = hubspotRequests();
  const routesBefore = { ...hubspot.stats().requests.byRoute };
  await sleep(IDLE_SECONDS * 1000);
  const idleRequests = hubspotRequests() - requestsBefore;
  const idleByRoute = Object.fromEntries(
    Object.entries(hubspot.stats().requests.byRoute)
      .map(([route, n]) => [route, n - (routesBefore[route] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const idleKb2 = rssKb(pid);
  log(`idle: ${mib(idleKb)} MiB, ${idleConnections} connections, ${idleRequests} HubSpot requests in ${IDLE_SECONDS}s`);

  // K simultaneous spec changes: time until each shows in status.observedGeneration (a watch).
  const changed = names.slice(0, CHANGES);
  const waiting = new Map<string, { generation: number; start: number }>();
  const latencies: number[] = [];
  const watchAbort = new AbortController();
  let allSeen: () => void = () => {};
  const seen = new Promise<void>((r) => (allSeen = r));
  const list = await client.list<Integration>(R.integration, { namespace: NS });
  const watching = client
    .watch<Integration>(R.integration, { namespace: NS, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 120 }, (ev) => {
      const w = waiting.get(ev.object.metadata.name);
      if (!w || ev.type !== 'MODIFIED') return;
      if ((ev.object.status?.observedGeneration ?? 0) >= w.generation) {
        latencies.push(performance.now() - w.start);
        waiting.delete(ev.object.metadata.name);
        if (waiting.size === 0 && latencies.length === CHANGES) allSeen();
      }
    }, watchAbort.signal)
    .catch(() => {});
  await Promise.all(
    changed.map(async (name) => {
      const start = performance.now();
      const current = list.items.find((o) => o.metadata.name === name)!;
      waiting.set(name, { generation: (current.metadata.generation ?? 1) + 1, start });
      await client.patch(R.integration, NS, name, { spec: { schedule: { interval: values.interval === '4m' ? '5m' : '4m' } } });
    }),
  );
  await Promise.race([seen, sleep(30_000)]);
  watchAbort.abort();
  await watching;

  const queueWaitCount = await metric(metricsUrl, 'hubspot_operator_sync_queue_wait_seconds_count');
  const queueWaitSum = await metric(metricsUrl, 'hubspot_operator_sync_queue_wait_seconds_sum');
  clearInterval(sampler);
  const result = {
    integrations: N,
    directions: Object.fromEntries(DIRECTIONS.map((d, k) => [d, names.filter((_, i) => i % 3 === k).length])),
    hubspotContacts: Number(values.records),
    operatorArgs: values['operator-args'] || undefined,
    database: values['database-url'] ? 'given' : `private PostgreSQL 15, max_connections ${values['max-connections']}`,
    allReadyMs: readyMs === undefined ? null : Math.round(readyMs),
    notReadyAtEnd: readyMs === undefined ? notReady : undefined,
    notReadyMessages: readyMs === undefined ? sampleMessages : undefined,
    rssMiB: {
      idleWithoutIntegrations: mib(idleEmptyKb),
      idle: mib(idleKb),
      idleAfterIdleWindow: mib(idleKb2),
      perIntegrationKiB: Math.round(((idleKb - idleEmptyKb) / N) * 10) / 10,
      peak: mib(peakRss),
    },
    databaseConnections: { idle: idleConnections, peak: peakConnections },
    specChangeToObservedGenerationMs: { simultaneous: CHANGES, ...percentiles(latencies), missing: CHANGES - latencies.length },
    syncQueue: { cycles: queueWaitCount, meanWaitMs: queueWaitCount ? Math.round(((queueWaitSum ?? 0) / queueWaitCount) * 1000) : undefined },
    hubspotRequestsPerIdleMinute: Math.round((idleRequests / IDLE_SECONDS) * 60 * 10) / 10,
    hubspotIdleRequestsByRoute: idleByRoute,
    operatorExited: exited ?? false,
    operatorErrors: op.lines.filter((l) => l.includes('"level":50') || l.includes('"level":60')).length,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

try {
  await main();
} finally {
  for (const c of cleanups.reverse()) await c().catch((err) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
}
process.exit(0);
