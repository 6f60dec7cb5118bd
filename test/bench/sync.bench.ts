/**
 * Sync benchmark (DESIGN §7): `npm run bench -- [--records 100000] [--changes 1000] [--seconds 60]`.
 *
 * Runs the HubSpot API sandbox in a child process (so its CPU is not counted as the operator's),
 * sets its rate limit through the admin API so that a full import takes about `--seconds`, and
 * measures against PostgreSQL (DATABASE_URL, else the local server, else PGlite in-process):
 *   1. full import of N HubSpot records into an empty table;
 *   2. an incremental cycle with k records changed in HubSpot and k rows changed in the target;
 *   3. an idle cycle (after the search lookback has passed);
 *   4. full push of N target rows into HubSpot.
 * Prints one JSON document. records/s is compared with the bound the rate limit allows:
 * requestsPerWindow / windowSeconds × 100 records per request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { fileURLToPath } from 'node:url';
import { createSyncEngine } from '../../operator/src/sync/index.js';
import type { CycleKind, ResolvedIntegration, SyncEngine } from '../../operator/src/sync/types.js';
import type { HubSpotIntegrationSpec } from '../../operator/src/api/types.js';
import { openTestDb } from '../helpers/db.js';
import { buildObjectPlan } from '../../operator/src/sync/mapping.js';
import { reconcile } from '../../operator/src/sync/conflict.js';
import { baselineHashes, hsHashOf, hsValuesOf, tgValuesOf } from '../../operator/src/sync/context.js';
import { evaluateFilters } from '../../operator/src/sync/filter.js';
import type { PropertyDefinition } from '../../operator/src/hubspot/types.js';

/**
 * CPU of the sync logic alone (DESIGN §7: mapping, filtering, hashing, diffing ≤ 20 µs/record):
 * canonical values and hash of a HubSpot record, the filters, the field-by-field decision
 * against its target row, and the new baseline hashes — the work per changed record.
 */
function syncLogicMicrosPerRecord(n: number): number {
  const prop = (name: string, type: PropertyDefinition['type']): [string, PropertyDefinition] => [name, { name, label: name, type, fieldType: 'text' }];
  const properties = new Map([prop('email', 'string'), prop('firstname', 'string'), prop('lastname', 'string'), prop('phone', 'phone_number'), prop('company', 'string'), prop('lifecyclestage', 'enumeration'), prop('lastmodifieddate', 'datetime')]);
  const col = { kind: 'text' as const, dataType: 'text', hasDefault: false, nullable: true };
  const columns = new Map(['id', 'email', 'firstname', 'lastname', 'phone', 'company', 'lifecyclestage'].map((c) => [c, c === 'id' ? { ...col, kind: 'integer' as const, dataType: 'bigint', hasDefault: true } : col]));
  const order = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];
  const { plan } = buildObjectPlan({
    index: 0,
    object: { type: 'contacts', table: 'contacts', match: { property: 'email', column: 'email' } },
    schema: 'public',
    createTables: false,
    fieldMapping: {
      name: 'fm',
      spec: {
        integrationRef: { name: 'x' },
        objectType: 'contacts',
        fields: [
          { property: 'email', column: 'email' },
          { property: 'firstname', column: 'firstname', transform: { trim: true } },
          { property: 'lastname', column: 'lastname' },
          { property: 'phone', column: 'phone' },
          { property: 'company', column: 'company', mode: 'FillEmpty' },
          { property: 'lifecyclestage', column: 'lifecyclestage', mode: 'ForwardOnly', order },
        ],
      },
    },
    filters: [{ name: 'f', spec: { integrationRef: { name: 'x' }, objectType: 'contacts', rules: [{ property: 'email', operator: 'EndsWith', value: '@example.com' }] } }],
    properties,
    columns,
  });
  const typeOf = (p: string) => plan.propertyTypes.get(p);
  let sink = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const hs = { email: `Contact${i}@Example.com`, firstname: `First${i}`, lastname: `Last${i} changed`, phone: `+1 555 ${i}`, company: null, lifecyclestage: order[i % 7]!, lastmodifieddate: '2026-11-23T01:00:00.000Z' };
    const tg = { __key: String(i), email: `contact${i}@example.com`, firstname: `First${i}`, lastname: `Last${i}`, phone: `+1 (555) ${i}`, company: 'Acme', lifecyclestage: order[(i + 3) % 7]! };
    const values = hsValuesOf(plan.fields, hs);
    const h = hsHashOf(plan, values);
    if (!evaluateFilters(plan.filters, 'toTarget', typeOf, (p) => (hs as Record<string, string | null>)[p]).pass) continue;
    const baseline = { hs: { ...values, lastname: `Last${i}` }, tg: tgValuesOf(plan.fields, tg) };
    const r = reconcile(plan.fields, { hs, tg, baseline, hubspotWritesDeferred: true });
    sink += h.length + baselineHashes(plan, r.baseline).hsHash.length;
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) throw new Error('nothing computed');
  return (cpu.user + cpu.system) / n;
}

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    changes: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
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

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
rssTimer.unref();

const sandbox = await startSandbox();
const db = await openTestDb();
let requests = 0;
let rateLimited = 0;
try {
  await admin(sandbox.url, 'POST', '/__sandbox/seed', { contacts: N, historyDays: 30 });
  await admin(sandbox.url, 'PUT', '/__sandbox/limits', { requestsPerWindow: PER_WINDOW, windowMs: WINDOW_MS, dailyRequests: 10_000_000, searchPerSecond: 5 });
  await db.db.query(`CREATE TABLE "${db.schema}".contacts (id bigserial PRIMARY KEY, email text, firstname text, lastname text, phone text, company text, lifecyclestage text)`);
  await db.db.query(`CREATE TABLE "${db.schema}".outgoing (id bigserial PRIMARY KEY, email text, firstname text, lastname text)`);

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
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema: db.schema, stateSchema: `${db.schema}_state`, createTables: false } },
      objects: [{ type: 'contacts', table, primaryKey: 'id', direction, match: { property: 'email', column: 'email' }, create: { inHubSpot: true, inTarget: true } }],
    } as HubSpotIntegrationSpec,
    fieldMappings: [],
    filters: [],
    credentials: { hubspot: { kind: 'privateAppToken', token: 'sandbox-token' }, databaseUrl: db.url },
  });
  const engineFor = (cfg: ResolvedIntegration): SyncEngine =>
    createSyncEngine(cfg, {
      logger: pino({ level: 'warn' }),
      pglite: db.pglite,
      lookbackMs: LOOKBACK_MS,
      observer: {
        apiRequest: (_k, code, limited) => {
          requests++;
          if (limited || code === 429) rateLimited++;
        },
      },
    });

  const measure = async (engine: SyncEngine, kind: CycleKind) => {
    const r0 = requests;
    const l0 = rateLimited;
    const stats0 = await admin(sandbox.url, 'GET', '/__sandbox/stats');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await engine.runCycle(kind, new AbortController().signal);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const stats1 = await admin(sandbox.url, 'GET', '/__sandbox/stats');
    if (!report.completed) throw new Error(`${kind} cycle did not complete: ${JSON.stringify(report.systemic)}`);
    return { report, seconds, cpuUs: cpu.user + cpu.system, requests: requests - r0, rateLimited: rateLimited - l0, sandbox429: stats1.rateLimited - stats0.rateLimited };
  };

  const result = (phase: string, m: Awaited<ReturnType<typeof measure>>, records: number) => ({
    phase,
    records,
    seconds: +m.seconds.toFixed(2),
    recordsPerSecond: +(records / m.seconds).toFixed(1),
    boundRecordsPerSecond: BOUND,
    ratio: +(records / m.seconds / BOUND).toFixed(3),
    hubspotRequestsPer1000Records: +((m.requests / records) * 1000).toFixed(2),
    responses429: m.sandbox429,
    operatorCpuMicrosPerRecord: +(m.cpuUs / records).toFixed(1),
  });

  // 1. Full import.
  const importer = engineFor(config('contacts', 'TwoWay'));
  const imp = await measure(importer, 'initial');
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
  await db.db.query(`UPDATE "${db.schema}".contacts SET lastname = 'changed in target' WHERE id IN (SELECT id FROM "${db.schema}".contacts ORDER BY id DESC LIMIT $1)`, [K]);
  const inc = await measure(importer, 'incremental');
  const incReport = inc.report.objects[0]!.lastCycle;

  // 3b. The next cycle re-reads the records the push just updated (their last-modified moved):
  // echoes, recognised by hash and not written back. Then, once the lookback window has passed,
  // an idle cycle.
  const echo = await measure(importer, 'incremental');
  // Each cycle re-reads the lookback window before its predecessor's start (search is eventually
  // consistent); once a cycle has run more than the lookback after the last change, the next
  // idle cycle reads nothing new.
  await new Promise((r) => setTimeout(r, LOOKBACK_MS + 500));
  const settle = await measure(importer, 'incremental');
  const idle = await measure(importer, 'incremental');

  // 4. Full push (last: the records it creates would otherwise show up in the importer's cycles).
  await db.db.query(`INSERT INTO "${db.schema}".outgoing (email, firstname, lastname) SELECT 'push' || g || '@example.com', 'First' || g, 'Last' || g FROM generate_series(1, $1::int) g`, [N]);
  const pusher = engineFor(config('outgoing', 'TargetToHubSpot'));
  const push = await measure(pusher, 'initial');
  const pushed = push.report.objects[0]!.lastCycle.toHubSpot.created;

  await importer.close();
  await pusher.close();
  const syncPeakRss = Math.max(peakRss, process.memoryUsage().rss);
  const out = {
    database: db.kind,
    records: N,
    rateLimit: { requestsPerWindow: PER_WINDOW, windowSeconds: WINDOW_MS / 1000 },
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
    // Sampled every 50 ms while syncing (before the CPU micro-benchmark below).
    peakRssMiB: +(syncPeakRss / 1048576).toFixed(1),
    syncLogicMicrosPerRecord: +syncLogicMicrosPerRecord(Math.min(N, 100_000)).toFixed(2),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  clearInterval(rssTimer);
  await db.cleanup().catch(() => {});
  try {
    process.kill(-sandbox.child.pid!, 'SIGTERM');
  } catch {
    /* gone */
  }
}
