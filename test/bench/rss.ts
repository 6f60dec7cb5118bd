/**
 * Idle RSS benchmark (DESIGN §7: ≤ 100 MiB idle with one integration; issue 14):
 *
 *   npm run build && npm run bench:rss -- [--database-url postgres://root@127.0.0.1:5432/postgres]
 *       [--records 2000] [--samples 30,60] [--heap-snapshot <dir>] [--node-arg=<flag>]…
 *
 * Runs `hubspot-operator sandbox --components kube,hubspot,postgres --database-url …` (the
 * Kubernetes and HubSpot API sandboxes, the demo integration of examples/sandbox/ with its
 * Secret pointing at the real PostgreSQL; database `rss_bench` of that server, dropped and
 * recreated) and the built operator as its own process (`hubspot-operator run`, started with
 * the Dockerfile's node flags and NODE_OPTIONS), waits until the integration is Ready and
 * samples the operator's memory at the given seconds after that. Prints one JSON document:
 * VmRSS split into anonymous and file-backed (the node binary's code pages), and the V8 heap
 * by space and external memory as the operator's own /metrics reports them (prom-client's
 * default metrics), so the figure can be broken down without attaching a debugger.
 * `--heap-snapshot <dir>` writes a heap snapshot of the operator after the last sample
 * (node's --heapsnapshot-signal; summarise it with test/bench/heap-summary.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { KubeClient, type KubeObject, type ResourceType } from '../../operator/src/kube/client.js';
import { KubeConfig } from '../../operator/src/kube/config.js';
import { imageNode, procMemory, type ProcMemory } from './image-node.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres' },
    records: { type: 'string', default: '2000' },
    samples: { type: 'string', default: '30,60' },
    'ready-timeout-seconds': { type: 'string', default: '300' },
    'heap-snapshot': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    // Extra environment of the operator, e.g. --env MALLOC_ARENA_MAX=2 (experiments).
    env: { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});
const SAMPLES = values.samples.split(',').map(Number);
if (SAMPLES.some((s) => !Number.isFinite(s) || s < 0)) {
  process.stderr.write(`--samples: expected seconds after Ready, e.g. 30,60; got ${JSON.stringify(values.samples)}\n`);
  process.exit(2);
}
const REPO = resolve(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'operator', 'dist', 'cli.js');
if (!existsSync(CLI)) {
  process.stderr.write('operator/dist/cli.js is missing: run `npm run build` first (the benchmark runs the built operator, as the image does)\n');
  process.exit(2);
}
const extraEnv = Object.fromEntries(
  values.env.map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0) {
      process.stderr.write(`--env: expected NAME=value, got ${JSON.stringify(kv)}\n`);
      process.exit(2);
    }
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);
const DB_NAME = 'rss_bench';
const INTEGRATION: ResourceType = { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration' };
const log = (msg: string) => process.stderr.write(`[rss ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** A fresh database on the given server, so every run starts from an empty state schema. */
async function freshDatabase(url: string): Promise<string> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client(admin.toString());
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${DB_NAME}`);
  await c.end();
  const u = new URL(url);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
}

/** Start a child and resolve with the first stdout/stderr line matching `re`. */
function startChild(args: string[], env: NodeJS.ProcessEnv, re: RegExp): { child: ChildProcess; match: Promise<RegExpExecArray>; tail: string[] } {
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let onMatch: (m: RegExpExecArray) => void = () => {};
  const match = new Promise<RegExpExecArray>((res, rej) => {
    onMatch = res;
    child.once('exit', (code) => rej(new Error(`${args.slice(0, 3).join(' ')} exited with ${code}: ${tail.slice(-5).join('\n')}`)));
  });
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      const m = re.exec(line);
      if (m) onMatch(m);
      tail.push(line.slice(0, 500));
      if (tail.length > 200) tail.shift();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return { child, match, tail };
}

/** The operator's memory as its own /metrics reports it (prom-client's default process metrics), in MiB. */
async function heapMetrics(metricsUrl: string): Promise<Record<string, unknown>> {
  const text = await (await fetch(metricsUrl)).text();
  const one = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const bySpace = (name: string) =>
    Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{space="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, +(Number(m[2]) / 1048576).toFixed(1)]));
  const m = (b: number) => +(b / 1048576).toFixed(1);
  return {
    heapUsed: m(one('nodejs_heap_size_used_bytes')),
    heapTotal: m(one('nodejs_heap_size_total_bytes')),
    external: m(one('nodejs_external_memory_bytes')),
    spaceUsed: bySpace('nodejs_heap_space_size_used_bytes'),
    spaceTotal: bySpace('nodejs_heap_space_size_total_bytes'),
  };
}

const memMiB = (p: ProcMemory) => ({ rss: mib(p.rssKiB), anon: mib(p.anonKiB), file: mib(p.fileKiB), peak: mib(p.peakRssKiB) });

const children: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'rss-bench-'));
async function main() {
  const databaseUrl = await freshDatabase(values['database-url']);
  const started = performance.now();
  // The sandbox under the same node, without the image's flags (it is not what is measured).
  const sandbox = startChild(
    [CLI, 'sandbox', '--components', 'kube,hubspot,postgres', '--database-url', databaseUrl, '--kube-port', '0', '--hubspot-port', '0', '--records', values.records, '--dir', work],
    { ...process.env, NODE_OPTIONS: '' },
    /^ready kube=(\S+)/,
  );
  children.push(sandbox.child);
  await sandbox.match;
  log('sandbox ready');

  const image = imageNode();
  const snapshotDir = values['heap-snapshot'] ? resolve(values['heap-snapshot']) : undefined;
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  const nodeArgs = [...image.flags, ...values['node-arg'], ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [])];
  const op = startChild(
    [...nodeArgs, CLI, 'run', '--kubeconfig', join(work, 'kubeconfig'), '--no-leader-elect', '--metrics-port', '0', '--bind-address', '127.0.0.1', '--log-level', 'info'],
    { ...process.env, ...image.env, ...extraEnv },
    /^(?=.*"operator started").*"metrics":"([^"]+)"/,
  );
  children.push(op.child);
  const metricsUrl = (await op.match)[1]!;
  const pid = op.child.pid!;
  const atStart = procMemory(pid);
  log(`operator started: ${mib(atStart.rssKiB)} MiB`);

  const kc = new KubeConfig();
  kc.loadFromFile(join(work, 'kubeconfig'));
  const client = new KubeClient(kc);
  type Integration = KubeObject & { status?: { conditions?: { type: string; status: string; reason: string }[] } };
  const deadline = performance.now() + Number(values['ready-timeout-seconds']) * 1000;
  let readyAt: number | undefined;
  while (performance.now() < deadline && op.child.exitCode === null) {
    const demo = await client.get<Integration>(INTEGRATION, 'demo', 'demo').catch(() => undefined);
    if (demo?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
      readyAt = performance.now();
      break;
    }
    await sleep(250);
  }
  if (readyAt === undefined) throw new Error(`demo/demo did not become Ready: ${op.tail.slice(-5).join('\n')}`);
  log(`demo Ready after ${Math.round(readyAt - started)} ms: ${mib(procMemory(pid).rssKiB)} MiB`);

  const samples: Record<string, unknown>[] = [];
  for (const s of SAMPLES) {
    await sleep(Math.max(0, readyAt + s * 1000 - performance.now()));
    const mem = procMemory(pid);
    samples.push({ secondsAfterReady: s, ...memMiB(mem), v8: await heapMetrics(metricsUrl) });
    log(`+${s}s: ${mib(mem.rssKiB)} MiB`);
  }
  let snapshot: string | undefined;
  if (snapshotDir) {
    const before = new Set(readdirSync(snapshotDir));
    process.kill(pid, 'SIGUSR2');
    // Complete once its size stops growing.
    let size = -1;
    for (let i = 0; i < 600 && !snapshot; i++) {
      await sleep(1000);
      const fresh = readdirSync(snapshotDir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (!fresh.length) continue;
      const now = statSync(join(snapshotDir, fresh[0]!)).size;
      if (now > 0 && now === size) snapshot = join(snapshotDir, fresh[0]!);
      size = now;
    }
  }
  await client.close();
  process.stdout.write(
    `${JSON.stringify(
      {
        what: 'hubspot-operator run with the demo integration (contacts + companies TwoWay, 30 s interval), idle after Ready',
        records: Number(values.records),
        operatorProcess: `node ${process.version} ${nodeArgs.join(' ')}${Object.entries({ ...image.env, ...extraEnv }).filter(([, v]) => v !== '').map(([k, v]) => ` ${k}=${v}`).join('')}, compiled operator/dist, its own process`,
        rssMiB: { atStart: memMiB(atStart), samples },
        heapSnapshot: snapshot,
      },
      null,
      2,
    )}\n`,
  );
}

try {
  await main();
} finally {
  for (const c of children.reverse()) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
  rmSync(work, { recursive: true, force: true });
}
