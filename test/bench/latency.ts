/**
 * `npm run bench:latency` (DESIGN §7, issue 12): how long a change takes to reach the other
 * side, side by side in ONE run with `schedule.interval` 5m (override: --interval 2m):
 *
 *   HubSpot edit → table, with webhooks      (integration A: spec.hubspot.webhooks set)
 *   HubSpot edit → table, polling only       (integration B: same contacts, no webhooks)
 *   table edit → HubSpot                     (A's table; change capture → NOTIFY → push)
 *
 * Real pieces: the HubSpot API sandbox (its signed webhook deliveries, 50 ms batching), the
 * webhook receiver with its inbox in the state store, PostgreSQL, and the controller's
 * SyncWorker driving the sync engine exactly as `hubspot-operator run` does (no Kubernetes
 * API: status is not under test). Edits are spread evenly over one interval, so the polling
 * samples see every phase of the poll; each edit is one sample for A and one for B.
 * Reports median and p95 (nearest rank) in seconds and a JSON line.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { parseDuration } from '../../operator/src/api/duration.js';
import type { HubSpotIntegrationSpec, SyncedObjectSpec } from '../../operator/src/api/types.js';
import { SyncWorker } from '../../operator/src/controller/worker.js';
import { createConnectorInboxRouter } from '../../operator/src/hubspot/webhooks/connector-inbox.js';
import { directoryFromCache } from '../../operator/src/hubspot/webhooks/directory.js';
import { WebhookReceiver } from '../../operator/src/hubspot/webhooks/receiver.js';
import { startHubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';
import { createSyncEngine } from '../../operator/src/sync/index.js';
import type { ResolvedIntegration } from '../../operator/src/sync/types.js';
import { openTestDb, type PgTestDb } from '../helpers/db.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const INTERVAL = arg('--interval', '5m');
const INTERVAL_MS = parseDuration(INTERVAL);
const SAMPLES = Number(arg('--samples', '10'));
const TOKEN = 'bench-token';
const SECRET = 'bench-app-secret';
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const sandbox = await startHubSpotSandbox({ port: 0, token: TOKEN, limits: { requestsPerWindow: 1_000_000, dailyRequests: 100_000_000, searchPerSecond: 1000 } });
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${sandbox.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
  const n = SAMPLES * 2;
  const created = await api<{ results: { id: string; properties: { email: string } }[] }>('POST', '/crm/v3/objects/contacts/batch/create', {
    inputs: Array.from({ length: n }, (_, i) => ({ properties: { email: `bench${i}@example.com`, firstname: 'start', lastname: 'start' } })),
  });
  const idOf = new Map(created.results.map((r) => [r.properties.email, r.id]));

  const dbs: PgTestDb[] = [await openTestDb('postgres'), await openTestDb('postgres')];
  for (const d of dbs) await d.db.query(`CREATE TABLE "${d.schema}".contacts (id bigserial PRIMARY KEY, email text, firstname text, lastname text)`);

  const resolved = (d: PgTestDb, name: string, webhooks: boolean): ResolvedIntegration => ({
    uid: randomUUID(),
    namespace: 'bench',
    name,
    generation: 1,
    spec: {
      suspend: false,
      hubspot: {
        baseURL: sandbox.url,
        portalId: sandbox.portalId,
        auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } },
        ...(webhooks ? { webhooks: { clientSecretRef: { name: 'app', key: 'clientSecret' } } } : {}),
      },
      target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema: d.schema, stateSchema: d.stateSchema } },
      objects: [
        {
          type: 'contacts',
          table: 'contacts',
          primaryKey: 'id',
          direction: 'TwoWay',
          match: { property: 'email', column: 'email' },
          conflictResolution: 'HubSpotWins',
          create: { inHubSpot: true, inTarget: true },
          deletes: { fromHubSpot: 'Ignore', fromTarget: 'Ignore' },
        } as SyncedObjectSpec,
      ],
      schedule: { interval: INTERVAL, fullResyncInterval: '24h' },
      deletionPolicy: 'Delete',
    } as HubSpotIntegrationSpec,
    fieldMappings: [],
    filters: [],
    credentials: { hubspot: { kind: 'privateAppToken', token: TOKEN }, databaseUrl: d.url },
  });
  const A = resolved(dbs[0]!, 'webhooks', true);
  const B = resolved(dbs[1]!, 'polling', false);

  // The receiver of `hubspot-operator run`, with the inbox behind the connector.
  const inbox = createConnectorInboxRouter((key) => (key === A.uid ? { uid: key, namespace: A.namespace, name: A.name, target: A.spec.target, databaseUrl: A.credentials.databaseUrl } : undefined));
  const receiver = new WebhookReceiver({
    directory: directoryFromCache({
      integrations: () => [{ metadata: { namespace: A.namespace, name: A.name, uid: A.uid }, spec: A.spec }] as never,
      secret: (_ns, name) => (name === 'app' ? { stringData: { clientSecret: SECRET } } : undefined),
    }),
    inbox,
  });
  const url = await receiver.listen(0, '127.0.0.1');

  const workers = [A, B].map(
    (r) =>
      new SyncWorker({
        key: `${r.namespace}/${r.name}`,
        config: { resolved: r, suspended: false, intervalMs: INTERVAL_MS, fullResyncIntervalMs: 24 * 3_600_000 },
        history: { initialDone: false },
        engineFactory: (cfg, deps) => createSyncEngine(cfg, deps),
        observer: {},
        logger: log.child({ integration: r.name }),
        onChange: () => undefined,
      }),
  );
  const count = async (d: PgTestDb) => Number((await d.db.query(`SELECT count(*)::int AS n FROM "${d.schema}".contacts`)).rows[0]!.n);
  const t0 = Date.now();
  while ((await count(dbs[0]!)) < n || (await count(dbs[1]!)) < n) {
    if (Date.now() - t0 > 120_000) throw new Error('the initial import did not finish in 2 minutes');
    await sleep(100);
  }
  sandbox.subscribeWebhook({ targetUrl: url, clientSecret: SECRET, events: ['contact.propertyChange'] });
  process.stderr.write(`initial import done; ${SAMPLES} edits per direction spread over ${INTERVAL} (expect about ${Math.round((INTERVAL_MS * 1.1) / 1000)} s)\n`);

  interface Pending {
    start: number;
    check: () => Promise<boolean>;
    done?: number;
  }
  const series: Record<'webhooks' | 'polling' | 'toHubSpot', Pending[]> = { webhooks: [], polling: [], toHubSpot: [] };
  const firstnameIs = (d: PgTestDb, email: string, v: string) => async () =>
    (await d.db.query(`SELECT firstname FROM "${d.schema}".contacts WHERE email = $1`, [email])).rows[0]?.firstname === v;

  // Checks every 100 ms in the background while the edits go on.
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      await watch(series);
      await sleep(100);
    }
  })();
  const spacing = INTERVAL_MS / SAMPLES;
  const begin = Date.now();
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(Math.max(0, begin + i * spacing - Date.now()));
    const email = `bench${i}@example.com`;
    const value = `v${i}-${Date.now()}`;
    const start = Date.now();
    await api('PATCH', `/crm/v3/objects/contacts/${idOf.get(email)}`, { properties: { firstname: value } });
    series.webhooks.push({ start, check: firstnameIs(dbs[0]!, email, value) });
    series.polling.push({ start, check: firstnameIs(dbs[1]!, email, value) });
    const other = `bench${SAMPLES + i}@example.com`;
    const last = `L${i}-${Date.now()}`;
    const tstart = Date.now();
    await dbs[0]!.db.query(`UPDATE "${dbs[0]!.schema}".contacts SET lastname = $1 WHERE email = $2`, [last, other]);
    series.toHubSpot.push({
      start: tstart,
      check: async () => (await api<{ properties: { lastname: string | null } }>('GET', `/crm/v3/objects/contacts/${idOf.get(other)}?properties=lastname`)).properties.lastname === last,
    });
  }
  const deadline = Date.now() + INTERVAL_MS + 120_000;
  while (Object.values(series).some((s) => s.some((p) => p.done === undefined)) && Date.now() < deadline) await sleep(200);
  watching = false;
  await watcher;

  const rows = (['webhooks', 'polling', 'toHubSpot'] as const).map((k) => {
    const done = series[k].filter((p) => p.done !== undefined).map((p) => (p.done! - p.start) / 1000);
    return { series: k, samples: done.length, missing: series[k].length - done.length, medianSeconds: +quantile(done, 0.5).toFixed(2), p95Seconds: +quantile(done, 0.95).toFixed(2) };
  });
  const label = { webhooks: 'HubSpot edit → table, webhooks', polling: 'HubSpot edit → table, polling only', toHubSpot: 'table edit → HubSpot' };
  console.log(`\nlatency with schedule.interval ${INTERVAL} (${SAMPLES} edits each)\n`);
  console.log(`${'path'.padEnd(38)}${'n'.padStart(4)}${'median'.padStart(10)}${'p95'.padStart(10)}`);
  for (const r of rows) console.log(`${label[r.series].padEnd(38)}${String(r.samples).padStart(4)}${(r.medianSeconds + ' s').padStart(10)}${(r.p95Seconds + ' s').padStart(10)}${r.missing ? `  (${r.missing} not applied in time)` : ''}`);
  const wh = rows[0]!;
  console.log(`\nwebhooks median ${wh.medianSeconds} s ${wh.medianSeconds <= 5 ? '≤' : '>'} 5 s target`);
  console.log(JSON.stringify({ interval: INTERVAL, samples: SAMPLES, results: rows }));

  for (const w of workers) await w.stop();
  await receiver.close();
  await inbox.close();
  for (const d of dbs) await d.cleanup();
  await sandbox.close();
  if (wh.missing || wh.medianSeconds > 5) process.exitCode = 1;
}

async function watch(series: Record<string, { start: number; check: () => Promise<boolean>; done?: number }[]>): Promise<void> {
  for (const s of Object.values(series)) {
    for (const p of s) {
      if (p.done !== undefined) continue;
      if (await p.check()) p.done = Date.now();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
