/**
 * Sync benchmark (DESIGN §7): `npm run bench -- [--target postgres|mysql] [--records 100000] [--changes 1000] [--seconds 60] [--no-build] [--engine-node-arg=FLAG …] [--heap-snapshots DIR]`.
 *
 * Three processes, so each one's cost is its own:
 *   - the HubSpot API sandbox (a child under tsx), whose rate limit is set through its admin API
 *     so that a full import takes about `--seconds`;
 *   - the operator's sync engine as it runs in production: compiled JavaScript (`npm run build`,
 *     skipped with --no-build) under plain `node` with the Dockerfile's node flags and
 *     memory settings (engine-child.ts), whose peak RSS (VmHWM, per phase and overall), where
 *     that memory is (V8 heap by space, native, file-backed) and CPU are reported;
 *   - this driver (under tsx), which seeds, changes data between cycles and prints the results.
 * Against PostgreSQL (DATABASE_URL, else the local server at 127.0.0.1:5432) or, with
 * `--target mysql`, MySQL / MariaDB (MYSQL_URL, else the local server at 127.0.0.1:3306) it measures:
 *   1. full import of N HubSpot records into an empty table;
 *   2. an incremental cycle with k records changed in HubSpot and k rows changed in the target;
 *   3. an idle cycle (after the search lookback has passed);
 *   4. full push of N target rows into HubSpot.
 * Prints one JSON document. records/s is compared with the bound the rate limit allows,
 * requestsPerWindow / windowSeconds × 100 records per request: `ratio` over the steady state
 * (whole rate-limit windows after the cycle's first, which starts with a full budget; see
 * steadyState in engine-child.ts), `ratioWholeCycle` over the whole cycle (flattered by that
 * first window's burst on short runs).
 *
 * `--target mysql` then runs the same phases against PostgreSQL too (when a server answers;
 * `--no-baseline` skips it) and prints both, with their ratios side by side under `ratios`.
 * `--target postgres,mysql` (any list) runs each target in turn.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import type { CycleKind, ResolvedIntegration } from '../../operator/src/sync/types.js';
import type { HubSpotIntegrationSpec } from '../../operator/src/api/types.js';
import type { ChildReply, ChildRequest, CycleMeasurement, MemorySample } from './engine-child.js';
import { openTestDb, postgresUrl } from '../helpers/db.js';
import { imageNode } from './image-node.js';
import { mysqlUrl, openMySqlTestDatabase } from '../helpers/mysql.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    changes: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    'no-build': { type: 'boolean', default: false },
    // The target database(s): postgres (default), mysql, or a comma-separated list.
    target: { type: 'string', default: 'postgres' },
    // With --target mysql alone: do not also run the PostgreSQL baseline.
    'no-baseline': { type: 'boolean', default: false },
    // Extra flags for the engine's node, e.g. --engine-node-arg=--cpu-prof or --max-old-space-size=128.
    'engine-node-arg': { type: 'string', multiple: true, default: [] },
    // Write a heap snapshot of the engine after each cycle into this directory (diagnosis; it
    // inflates the RSS of the cycles after the first, so peaks of such a run are not figures).
    'heap-snapshots': { type: 'string' },
  },
  strict: true,
});
const N = Number(values.records);
const K = Number(values.changes);
const SECONDS = Number(values.seconds);
for (const [name, v] of [['records', N], ['changes', K], ['seconds', SECONDS]] as const) {
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`--${name} must be a positive integer, got ${JSON.stringify(values[name])}\n`);
    process.exit(2);
  }
}

type TargetKind = 'postgres' | 'mysql';
const requested = values.target.split(',').map((x) => x.trim()).filter(Boolean);
for (const t of requested) {
  if (t !== 'postgres' && t !== 'mysql') {
    process.stderr.write(`--target: ${JSON.stringify(t)} is not a target; expected postgres, mysql or a comma-separated list of them\n`);
    process.exit(2);
  }
}
const TARGETS = [...new Set(requested)] as TargetKind[];
if (TARGETS.length === 0) {
  process.stderr.write('--target: expected postgres, mysql or a comma-separated list of them\n');
  process.exit(2);
}

const WINDOW_MS = 10_000;
// Enough budget per 10-second window that N/100 requests take about SECONDS.
const PER_WINDOW = Math.max(10, Math.ceil(N / 100 / (SECONDS / (WINDOW_MS / 1000))));
const BOUND = (PER_WINDOW / (WINDOW_MS / 1000)) * 100;
// The sandbox indexes immediately, so a short search lookback is enough here (default 5 min).
const LOOKBACK_MS = 2_000;

async function startSandbox(): Promise<{ url: string; child: ChildProcess }> {
  const main = fileURLToPath(new URL('../../operator/src/sandbox/hubspot/main.ts', import.meta.url));
  const child = spawn('npx', ['tsx', main, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /hubspot=(\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`sandbox exited with ${code} before serving`)));
  });
  return { url, child };
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: 'Bearer sandbox-token', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The engine child as plain JavaScript: engine-child.ts with its types stripped and its
 * `operator/src/…` imports pointed at the compiled `operator/dist/…` files. It lives in
 * node_modules/.cache so that its bare imports (pino) resolve from the project's node_modules.
 */
function compileEngineChild(): string {
  const source = readFileSync(fileURLToPath(new URL('./engine-child.ts', import.meta.url)), 'utf8');
  const js = ts
    .transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false } })
    .outputText.replaceAll(/(['"])\.\.\/\.\.\/operator\/src\//g, `$1${pathToFileURL(`${ROOT}operator/dist/`).href}`);
  const dir = `${ROOT}node_modules/.cache/hubspot-operator-bench`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/engine-child.mjs`;
  writeFileSync(file, js);
  return file;
}

const IMAGE_NODE = imageNode();
const NODE_FLAGS = [...IMAGE_NODE.flags, ...values['engine-node-arg']];

/** The engine child under plain `node` (no tsx loader: the driver's execArgv is not passed on). */
function startEngineChild(file: string) {
  const env = { ...process.env, ...IMAGE_NODE.env, ...(values['heap-snapshots'] ? { BENCH_HEAP_SNAPSHOT_DIR: resolve(values['heap-snapshots']) } : {}) };
  const child = spawn(process.execPath, [...NODE_FLAGS, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const waiting: Array<{ resolve: (r: ChildReply) => void; reject: (e: Error) => void }> = [];
  child.on('message', (reply: ChildReply) => {
    const w = waiting.shift();
    if (!w) return;
    if (reply.type === 'error') w.reject(new Error(`engine child: ${reply.message}`));
    else w.resolve(reply);
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`engine child exited (${code ?? signal})`));
  });
  const ask = <T extends ChildReply['type']>(req: ChildRequest, expect: T): Promise<Extract<ChildReply, { type: T }>> =>
    new Promise((resolve, reject) => {
      waiting.push({
        resolve: (r) => (r.type === expect ? resolve(r as Extract<ChildReply, { type: T }>) : reject(new Error(`engine child: expected ${expect}, got ${r.type}`))),
        reject,
      });
      child.send(req);
    });
  return { child, ask };
}

/** A benchmark database: the target spec, and the driver's own writes in its dialect. */
interface BenchDb {
  kind: TargetKind;
  url: string;
  target: (stateSuffix: string) => HubSpotIntegrationSpec['target'];
  createTables(): Promise<void>;
  /** Change `lastname` of the last `k` rows of contacts (the target side of the incremental cycle). */
  changeLastRows(k: number): Promise<void>;
  /** Fill `outgoing` with n rows (the full push). */
  insertOutgoing(n: number): Promise<void>;
  cleanup(): Promise<void>;
}

async function postgresBenchDb(): Promise<BenchDb> {
  const db = await openTestDb();
  if (db.kind !== 'postgres') {
    await db.cleanup();
    throw new Error('the benchmark needs a PostgreSQL server (DATABASE_URL, or one at 127.0.0.1:5432): the engine runs in its own process, which cannot share an in-process PGlite');
  }
  const t = (table: string) => `"${db.schema}".${table}`;
  return {
    kind: 'postgres',
    url: db.url,
    target: () => ({ postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema: db.schema, stateSchema: `${db.schema}_state`, createTables: false } }),
    createTables: async () => {
      await db.db.query(`CREATE TABLE ${t('contacts')} (id bigserial PRIMARY KEY, email text, firstname text, lastname text, phone text, company text, lifecyclestage text)`);
      await db.db.query(`CREATE TABLE ${t('outgoing')} (id bigserial PRIMARY KEY, email text, firstname text, lastname text)`);
    },
    changeLastRows: async (k) => {
      await db.db.query(`UPDATE ${t('contacts')} SET lastname = 'changed in target' WHERE id IN (SELECT id FROM ${t('contacts')} ORDER BY id DESC LIMIT $1)`, [k]);
    },
    insertOutgoing: async (n) => {
      await db.db.query(`INSERT INTO ${t('outgoing')} (email, firstname, lastname) SELECT 'push' || g || '@example.com', 'First' || g, 'Last' || g FROM generate_series(1, $1::int) g`, [n]);
    },
    cleanup: () => db.cleanup(),
  };
}

async function mysqlBenchDb(): Promise<BenchDb> {
  const server = await mysqlUrl();
  if (!server) throw new Error('the MySQL benchmark needs a MySQL or MariaDB server (MYSQL_URL, or one at 127.0.0.1:3306)');
  const db = await openMySqlTestDatabase(server);
  const t = (table: string) => `\`${db.database}\`.${table}`;
  return {
    kind: 'mysql',
    url: db.url,
    target: () => ({ mysql: { connectionSecretRef: { name: 'db', key: 'url' }, database: db.database, stateDatabase: db.stateDatabase, createTables: false } }),
    createTables: async () => {
      const cols = 'email varchar(255), firstname varchar(255), lastname varchar(255)';
      await db.conn.query(`CREATE TABLE ${t('contacts')} (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, ${cols}, phone varchar(64), company varchar(255), lifecyclestage varchar(64))`);
      await db.conn.query(`CREATE TABLE ${t('outgoing')} (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, ${cols})`);
    },
    changeLastRows: async (k) => {
      await db.conn.query(`UPDATE ${t('contacts')} SET lastname = 'changed in target' ORDER BY id DESC LIMIT ?`, [k]);
    },
    insertOutgoing: async (n) => {
      for (let i = 1; i <= n; i += 1000) {
        const rows: unknown[][] = [];
        for (let g = i; g < Math.min(i + 1000, n + 1); g++) rows.push([`push${g}@example.com`, `First${g}`, `Last${g}`]);
        await db.conn.query(`INSERT INTO ${t('outgoing')} (email, firstname, lastname) VALUES ?`, [rows]);
      }
    },
    cleanup: () => db.cleanup(),
  };
}

if (!values['no-build']) execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
const childFile = compileEngineChild();

/** All phases against one target database; returns the result document. */
async function runBench(kind: TargetKind): Promise<Record<string, unknown>> {
  const sandbox = await startSandbox();
  let engine: ReturnType<typeof startEngineChild> | undefined;
  let db: BenchDb | undefined;
  try {
    db = kind === 'mysql' ? await mysqlBenchDb() : await postgresBenchDb();
    await admin(sandbox.url, 'POST', '/__sandbox/seed', { contacts: N, historyDays: 30 });
    await admin(sandbox.url, 'PUT', '/__sandbox/limits', { requestsPerWindow: PER_WINDOW, windowMs: WINDOW_MS, dailyRequests: 10_000_000, searchPerSecond: 5 });
    await db.createTables();
    const bdb = db;

    const config = (table: string, direction: string): ResolvedIntegration => ({
      uid: randomUUID(),
      namespace: 'bench',
      name: table,
      generation: 1,
      spec: {
        hubspot: {
          baseURL: sandbox.url,
          auth: { privateAppToken: { secretRef: { name: 'h', key: 'token' } } },
          rateLimit: { requestsPerTenSeconds: PER_WINDOW, dailyRequests: 10_000_000, searchRequestsPerSecond: 4 },
        },
        target: bdb.target('_state'),
        objects: [{ type: 'contacts', table, primaryKey: 'id', direction, match: { property: 'email', column: 'email' }, create: { inHubSpot: true, inTarget: true } }],
      } as HubSpotIntegrationSpec,
      fieldMappings: [],
      filters: [],
      credentials: { hubspot: { kind: 'privateAppToken', token: 'sandbox-token' }, databaseUrl: bdb.url },
    });
    engine = startEngineChild(childFile);
    const ready = await engine.ask({ type: 'init', engines: { importer: config('contacts', 'TwoWay'), pusher: config('outgoing', 'TargetToHubSpot') }, lookbackMs: LOOKBACK_MS, windowMs: WINDOW_MS }, 'ready');

    const measure = async (name: string, kind: CycleKind) => {
      const stats0 = await admin(sandbox.url, 'GET', '/__sandbox/stats');
      const { result } = await engine!.ask({ type: 'cycle', engine: name, kind }, 'cycle');
      const stats1 = await admin(sandbox.url, 'GET', '/__sandbox/stats');
      if (!result.report.completed) throw new Error(`${kind} cycle did not complete: ${JSON.stringify(result.report.systemic)}`);
      return { ...result, sandbox429: stats1.rateLimited - stats0.rateLimited };
    };
    const mib = (bytes: number) => +(bytes / 1048576).toFixed(1);

    const result = (phase: string, m: CycleMeasurement & { sandbox429: number }, records: number) => ({
      phase,
      records,
      seconds: +m.seconds.toFixed(2),
      recordsPerSecond: +(records / m.seconds).toFixed(1),
      boundRecordsPerSecond: BOUND,
      ratio: m.steady.seconds > 0 ? +(m.steady.records / m.steady.seconds / BOUND).toFixed(3) : null,
      steadyState: { records: m.steady.records, seconds: +m.steady.seconds.toFixed(2), recordsPerSecond: m.steady.seconds > 0 ? +(m.steady.records / m.steady.seconds).toFixed(1) : null },
      ratioWholeCycle: +(records / m.seconds / BOUND).toFixed(3),
      hubspotRequestsPer1000Records: +((m.requests / records) * 1000).toFixed(2),
      responses429: m.sandbox429,
      operatorRateLimited: m.rateLimited,
      operatorCpuMicrosPerRecord: +(m.cpuMicros / records).toFixed(1),
      // Peak RSS (VmHWM) of this phase alone, and where the memory was at its highest sample.
      operatorPeakRssMiB: mib(m.cyclePeakRssBytes),
      operatorAtPeakMiB: m.atPeak ? breakdown(m.atPeak) : undefined,
      operatorRssAfterMiB: mib(m.rssBytes),
      operatorPeakRssSoFarMiB: mib(m.peakRssBytes),
      operatorMemoryAfterMiB: Object.fromEntries(Object.entries(m.memory).map(([k, v]) => [k, mib(v)])),
      ...(m.heapSnapshot ? { heapSnapshot: m.heapSnapshot } : {}),
    });
    // RSS = anonymous (V8 heap committed + native: malloc, buffers, threads) + file-backed (code pages of the node binary).
    const breakdown = (p: MemorySample) => ({
      rss: mib(p.rssBytes),
      anon: mib(p.anonBytes),
      file: mib(p.fileBytes),
      heapCommitted: mib(p.memory.heapTotal),
      heapUsed: mib(p.memory.heapUsed),
      nativeAnon: mib(p.anonBytes - p.memory.heapTotal),
      external: mib(p.memory.external),
      arrayBuffers: mib(p.memory.arrayBuffers),
      spaces: Object.fromEntries(Object.entries(p.spaces).filter(([, v]) => v.size > 0).map(([k, v]) => [k, { size: mib(v.size), used: mib(v.used) }])),
    });

    // 1. Full import.
    const imp = await measure('importer', 'initial');
    const imported = imp.report.objects[0]!.lastCycle.toTarget.created;

    // 3. Incremental: k records changed in HubSpot, k rows changed in the target (the bench's own
    // requests get a generous budget; the operator's are counted by its observer).
    await admin(sandbox.url, 'PUT', '/__sandbox/limits', { requestsPerWindow: 100_000, windowMs: WINDOW_MS, dailyRequests: 10_000_000, searchPerSecond: 100 });
    const some = await api(sandbox.url, 'GET', `/crm/v3/objects/contacts?limit=100&properties=email`);
    const ids: string[] = [];
    let after: string | undefined = some.paging?.next?.after;
    ids.push(...some.results.map((r: { id: string }) => r.id));
    while (ids.length < K && after) {
      const page = await api(sandbox.url, 'GET', `/crm/v3/objects/contacts?limit=100&after=${after}`);
      ids.push(...page.results.map((r: { id: string }) => r.id));
      after = page.paging?.next?.after;
    }
    for (let i = 0; i < Math.min(K, ids.length); i += 100) {
      await api(sandbox.url, 'POST', '/crm/v3/objects/contacts/batch/update', {
        inputs: ids.slice(i, Math.min(i + 100, K)).map((id) => ({ id, properties: { firstname: `Changed ${id}` } })),
      });
    }
    await db.changeLastRows(K);
    const inc = await measure('importer', 'incremental');
    const incReport = inc.report.objects[0]!.lastCycle;

    // 3b. The next cycle re-reads the records the push just updated (their last-modified moved):
    // echoes, recognised by hash and not written back. Then, once the lookback window has passed,
    // an idle cycle.
    const echo = await measure('importer', 'incremental');
    // Each cycle re-reads the lookback window before its predecessor's start (search is eventually
    // consistent); once a cycle has run more than the lookback after the last change, the next
    // idle cycle reads nothing new.
    await new Promise((r) => setTimeout(r, LOOKBACK_MS + 500));
    const settle = await measure('importer', 'incremental');
    const idle = await measure('importer', 'incremental');

    // 4. Full push (last: the records it creates would otherwise show up in the importer's cycles).
    // The push is rate-limited again like the import.
    await admin(sandbox.url, 'PUT', '/__sandbox/limits', { requestsPerWindow: PER_WINDOW, windowMs: WINDOW_MS, dailyRequests: 10_000_000, searchPerSecond: 5 });
    await db.insertOutgoing(N);
    const push = await measure('pusher', 'initial');
    const pushed = push.report.objects[0]!.lastCycle.toHubSpot.created;

    const closed = await engine.ask({ type: 'close' }, 'closed');
    // The sync-logic micro-benchmark runs in a fresh engine child, after the sync's peak RSS was read.
    const logicChild = startEngineChild(childFile);
    const logic = await logicChild.ask({ type: 'logic', records: Math.min(N, 100_000) }, 'logic');
    logicChild.child.kill();
    const out = {
      database: db.kind,
      records: N,
      rateLimit: { requestsPerWindow: PER_WINDOW, windowSeconds: WINDOW_MS / 1000 },
      operatorProcess: `node ${process.version}${NODE_FLAGS.length ? ` ${NODE_FLAGS.join(' ')}` : ''}${Object.entries(IMAGE_NODE.env).filter(([, v]) => v !== '').map(([k, v]) => `, ${k}=${v}`).join('')} (as in the Dockerfile), compiled operator/dist (no tsx), its own process`,
      import: { ...result('import', imp, imported), imported },
      push: { ...result('push', push, pushed), pushed },
      incremental: {
        changedInHubSpot: Math.min(K, ids.length),
        changedInTarget: K,
        applied: incReport,
        hubspotRequests: inc.requests,
        expectedAbout: Math.ceil((2 * K) / 100) + 2,
        seconds: +inc.seconds.toFixed(2),
      },
      echoCycle: { hubspotRequests: echo.requests, written: echo.report.objects[0]!.lastCycle },
      lookbackCycle: { hubspotRequests: settle.requests },
      idle: { hubspotRequests: idle.requests, seconds: +idle.seconds.toFixed(3) },
      // The engine process's high-water mark (VmHWM): after start-up, over the whole sync, and per phase.
      operatorStartupRssMiB: mib(ready.peakRssBytes),
      operatorPeakRssMiB: mib(closed.peakRssBytes),
      operatorPeakRssByPhaseMiB: { import: mib(imp.cyclePeakRssBytes), incremental: mib(Math.max(inc.cyclePeakRssBytes, echo.cyclePeakRssBytes, settle.cyclePeakRssBytes, idle.cyclePeakRssBytes)), push: mib(push.cyclePeakRssBytes) },
      syncLogicMicrosPerRecord: +logic.microsPerRecord.toFixed(2),
    };
    return out;
  } finally {
    engine?.child.kill();
    await db?.cleanup().catch(() => {});
    try {
      process.kill(-sandbox.child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

// --target mysql alone also measures PostgreSQL, so its ratios can be read side by side.
const runs: TargetKind[] = [...TARGETS];
if (TARGETS.length === 1 && TARGETS[0] === 'mysql' && !values['no-baseline']) {
  if (await postgresUrl()) runs.push('postgres');
  else process.stderr.write('no PostgreSQL server answers (DATABASE_URL or 127.0.0.1:5432): MySQL only, without the PostgreSQL baseline\n');
}
if (runs.length === 1) {
  process.stdout.write(`${JSON.stringify(await runBench(runs[0]!), null, 2)}\n`);
} else {
  const results: Record<string, Record<string, unknown>> = {};
  for (const kind of runs) results[kind] = await runBench(kind);
  const ratio = (r: Record<string, unknown>, phase: 'import' | 'push') => {
    const p = r[phase] as { ratio: number | null; ratioWholeCycle: number; recordsPerSecond: number; responses429: number };
    return { ratio: p.ratio, ratioWholeCycle: p.ratioWholeCycle, recordsPerSecond: p.recordsPerSecond, responses429: p.responses429 };
  };
  const ratios = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { import: ratio(r, 'import'), push: ratio(r, 'push'), boundRecordsPerSecond: BOUND }]));
  process.stdout.write(`${JSON.stringify({ ratios, results }, null, 2)}\n`);
}
