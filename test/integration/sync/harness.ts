/**
 * Test harness for the sync engine: the HubSpot API sandbox (over HTTP), a test database with
 * unique schemas, a resolved integration and its engine, and small helpers to read and write
 * both sides the way a user would (HubSpot through its REST API, the target through SQL).
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { createHubSpotClient } from '../../../operator/src/hubspot/index.js';
import type { HubSpotClient } from '../../../operator/src/hubspot/types.js';
import { createSyncEngine } from '../../../operator/src/sync/index.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SyncEngine, SyncObserver } from '../../../operator/src/sync/types.js';
import type { FieldMappingSpec, HubSpotIntegrationSpec, SyncFilterSpec, SyncedObjectSpec } from '../../../operator/src/api/types.js';
import { openTestDb, type TestDb, type TestDbKind } from '../../helpers/db.js';

export const TOKEN = 'sandbox-token';

export interface HarnessOptions {
  dbKind?: TestDbKind;
  /** Objects of the spec; `table` is created by `tables` DDL (use {schema} for the business schema). */
  objects?: Partial<SyncedObjectSpec>[];
  fieldMappings?: { name: string; spec: Omit<FieldMappingSpec, 'integrationRef'> }[];
  filters?: { name: string; spec: Omit<SyncFilterSpec, 'integrationRef'> }[];
  /** DDL run before the engine starts; `{schema}` is replaced by the test's business schema. */
  ddl?: string[];
  createTables?: boolean;
  seed?: { contacts?: number; companies?: number; deals?: number };
  indexingDelayMs?: number;
  /** HubSpot's search honours only the first sort and orders ties arbitrarily; default true (as HubSpot). */
  strictSorts?: boolean;
  lookbackMs?: number;
  sandbox?: HubSpotSandbox;
  observer?: SyncObserver;
}

export const CONTACTS_DDL = `CREATE TABLE {schema}.contacts (
  id bigserial PRIMARY KEY,
  email text,
  firstname text,
  lastname text,
  phone text,
  company text,
  lifecyclestage text
)`;

export class HubSpotHttp {
  readonly url: string;
  readonly token: string;
  constructor(url: string, token = TOKEN) {
    this.url = url;
    this.token = token;
  }

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  create(type: string, properties: Record<string, string>): Promise<{ id: string; properties: Record<string, string | null> }> {
    return this.call('POST', `/crm/v3/objects/${type}`, { properties });
  }
  update(type: string, id: string, properties: Record<string, string>): Promise<{ id: string }> {
    return this.call('PATCH', `/crm/v3/objects/${type}/${id}`, { properties });
  }
  archive(type: string, id: string): Promise<void> {
    return this.call('DELETE', `/crm/v3/objects/${type}/${id}`);
  }
  get(type: string, id: string, properties: string[]): Promise<{ id: string; properties: Record<string, string | null> }> {
    return this.call('GET', `/crm/v3/objects/${type}/${id}?properties=${properties.join(',')}`);
  }
  async listAll(type: string, properties: string[]): Promise<{ id: string; properties: Record<string, string | null> }[]> {
    const out: { id: string; properties: Record<string, string | null> }[] = [];
    let after: string | undefined;
    do {
      const page: any = await this.call('GET', `/crm/v3/objects/${type}?limit=100&properties=${properties.join(',')}${after ? `&after=${after}` : ''}`);
      out.push(...page.results);
      after = page.paging?.next?.after;
    } while (after);
    return out;
  }
  stats(): Promise<{ requests: { total: number; byStatus: Record<string, number>; byRoute: Record<string, number> }; rateLimited: number }> {
    return this.call('GET', '/__sandbox/stats');
  }
  faults(f: Record<string, unknown>): Promise<unknown> {
    return this.call('PUT', '/__sandbox/faults', f);
  }
  limits(l: Record<string, unknown>): Promise<unknown> {
    return this.call('PUT', '/__sandbox/limits', l);
  }
}

/** Count HubSpot write requests (everything but reads and searches) in a stats snapshot. */
export function writeRequests(byRoute: Record<string, number>): number {
  let n = 0;
  for (const [route, count] of Object.entries(byRoute)) {
    const [method] = route.split(' ');
    if (method === 'GET' || route.includes('/search') || route.includes('batch/read') || route.includes('__sandbox')) continue;
    n += count;
  }
  return n;
}

export class Harness {
  sandbox!: HubSpotSandbox;
  ownsSandbox = true;
  db!: TestDb;
  hs!: HubSpotHttp;
  cfg!: ResolvedIntegration;
  engine!: SyncEngine;
  opts: HarnessOptions;

  constructor(opts: HarnessOptions) {
    this.opts = opts;
  }

  static async start(opts: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(opts);
    h.sandbox = opts.sandbox ?? (await startHubSpotSandbox({ port: 0, indexingDelayMs: opts.indexingDelayMs ?? 0, strictSorts: opts.strictSorts ?? true }));
    h.ownsSandbox = !opts.sandbox;
    if (opts.seed) h.sandbox.seed({ ...opts.seed, historyDays: 0 });
    h.hs = new HubSpotHttp(h.sandbox.url);
    h.db = opts.dbKind ? await openTestDb(opts.dbKind) : await openTestDb();
    for (const stmt of opts.ddl ?? [CONTACTS_DDL]) await h.db.db.query(stmt.replaceAll('{schema}', `"${h.db.schema}"`));
    h.cfg = h.buildConfig();
    h.engine = h.newEngine();
    return h;
  }

  buildConfig(): ResolvedIntegration {
    const o = this.opts;
    const objects = (o.objects ?? [{}]).map((x) => ({
      type: 'contacts',
      table: 'contacts',
      primaryKey: 'id',
      direction: 'TwoWay',
      match: { property: 'email', column: 'email' },
      conflictResolution: 'HubSpotWins',
      create: { inHubSpot: true, inTarget: true },
      deletes: { fromHubSpot: 'Ignore', fromTarget: 'Ignore' },
      ...x,
    })) as SyncedObjectSpec[];
    const spec = {
      suspend: false,
      hubspot: {
        baseURL: this.sandbox.url,
        auth: { privateAppToken: { secretRef: { name: 'hubspot', key: 'token' } } },
        rateLimit: { requestsPerTenSeconds: 250, dailyRequests: 10_000_000, searchRequestsPerSecond: 100 },
      },
      target:
        this.db.kind === 'mysql'
          ? { mysql: { connectionSecretRef: { name: 'db', key: 'url' }, database: this.db.schema, stateDatabase: this.db.stateSchema, createTables: o.createTables ?? false } }
          : { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema: this.db.schema, stateSchema: this.db.stateSchema, createTables: o.createTables ?? false } },
      objects,
      schedule: { interval: '5m', fullResyncInterval: '24h' },
      deletionPolicy: 'Delete',
    } as HubSpotIntegrationSpec;
    const ref = { name: 'acme' };
    return {
      uid: randomUUID(),
      namespace: 'test',
      name: 'acme',
      generation: 1,
      spec,
      fieldMappings: (o.fieldMappings ?? []).map((m) => ({ name: m.name, spec: { integrationRef: ref, ...m.spec } as FieldMappingSpec })),
      filters: (o.filters ?? []).map((f) => ({ name: f.name, spec: { integrationRef: ref, ...f.spec } as SyncFilterSpec })),
      credentials: { hubspot: { kind: 'privateAppToken', token: TOKEN }, databaseUrl: this.db.url },
    };
  }

  newEngine(): SyncEngine {
    return createSyncEngine(this.cfg, {
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
      pglite: this.db.pglite,
      observer: this.opts.observer,
      lookbackMs: this.opts.lookbackMs ?? 60_000,
    });
  }

  /**
   * An engine whose HubSpot client, at the first `method` call, first runs `meanwhile` (e.g. the
   * user's edit that lands while the operator's write is in flight) and then, with `crash`, fails
   * right AFTER HubSpot answered (the state an operator SIGKILLed, or cut off from its database,
   * between HubSpot's answer and its commit leaves behind) or BEFORE sending. The calls are real
   * (the sandbox serves them); only the answer is lost.
   */
  hookedEngine(
    method: 'batchUpsert' | 'batchUpdate' | 'batchArchive',
    { crash, meanwhile }: { crash?: 'after' | 'before'; meanwhile?: () => Promise<void> } = {},
  ): SyncEngine {
    const real = createHubSpotClient({
      baseURL: this.sandbox.url,
      auth: this.cfg.credentials.hubspot,
      rateLimit: { requestsPerTenSeconds: 250, dailyRequests: 10_000_000, searchRequestsPerSecond: 100 },
    });
    let hooked = false;
    const hubspot = new Proxy(real, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== method || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return async (...args: unknown[]) => {
          const call = () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (hooked) return call();
          hooked = true;
          await meanwhile?.();
          if (!crash) return call();
          if (crash === 'after') await call();
          throw new Error(`test: the operator died ${crash} HubSpot answered ${method}`);
        };
      },
    }) as HubSpotClient;
    return createSyncEngine(this.cfg, { logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }), pglite: this.db.pglite, hubspot, lookbackMs: this.opts.lookbackMs ?? 60_000 });
  }

  /** Replace the engine (e.g. after changing cfg), like the controller reconfiguring its worker. */
  async restart(): Promise<void> {
    await this.engine.close();
    this.engine = this.newEngine();
  }

  async cycle(kind: CycleKind = 'incremental', { allowFailure = false } = {}): Promise<CycleReport> {
    const report = await this.engine.runCycle(kind, new AbortController().signal);
    if (!allowFailure && (!report.completed || report.systemic)) {
      throw new Error(`cycle ${kind} did not complete: ${JSON.stringify(report.systemic)}`);
    }
    return report;
  }

  /** Run cycles until one makes no writes on either side (at most `max`). */
  async settle(max = 4): Promise<CycleReport> {
    let last!: CycleReport;
    for (let i = 0; i < max; i++) {
      last = await this.cycle();
      const o = last.objects;
      const writes = o.reduce((n, x) => n + Object.values(x.lastCycle.toTarget).reduce((a, b) => a + b, 0) + Object.values(x.lastCycle.toHubSpot).reduce((a, b) => a + b, 0), 0);
      if (writes === 0) return last;
    }
    return last;
  }

  t(table = 'contacts'): string {
    return `"${this.db.schema}"."${table}"`;
  }

  async rows<R = Record<string, any>>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.db.db.query<R>(sql.replaceAll('{schema}', `"${this.db.schema}"`).replaceAll('{state}', `"${this.db.stateSchema}"`), params)).rows;
  }

  async exec(sql: string, params: unknown[] = []): Promise<void> {
    await this.rows(sql, params);
  }

  /** Capture triggers per captured table: PostgreSQL one (INSERT OR UPDATE OR DELETE), MySQL three (one per event). */
  get triggersPerCapture(): number {
    return this.db.kind === 'mysql' ? 3 : 1;
  }

  /** Names of the (non-internal) triggers on the business tables. */
  async triggerNames(): Promise<string[]> {
    const sql =
      this.db.kind === 'mysql'
        ? `SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = $1 ORDER BY TRIGGER_NAME`
        : `SELECT tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY tgname`;
    return (await this.rows<{ name: string }>(sql, [this.db.schema])).map((r) => r.name);
  }

  async errors(): Promise<{ category: string; message: string; hubspot_id: string | null; target_key: string | null; correlation_id: string | null }[]> {
    return this.rows(`SELECT category, message, hubspot_id, target_key, correlation_id FROM {state}.record_errors WHERE integration_uid = $1 ORDER BY message`, [this.cfg.uid]);
  }

  async close(): Promise<void> {
    await this.engine?.close().catch(() => {});
    await this.db?.cleanup().catch(() => {});
    if (this.ownsSandbox) await this.sandbox?.close().catch(() => {});
  }
}
