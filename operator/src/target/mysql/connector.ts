/**
 * The MySQL / MariaDB connector (target/connector.ts `Connector`), on mysql2. Supported
 * servers: MySQL 8 and MariaDB 10.6+. One pool per distinct connection URL and one outbox
 * poller per state database, shared by the integrations on them (refcounted).
 */
import type { ColumnKind, Connector, ConnectorOptions, NewColumn, TableDescription, TableRef } from '../connector.js';
import { onWebhookStored, type LinkTableRef, type StoredPlan, type TargetErrorClass, type TargetSettings, type TargetTx, TargetUnavailableError, type TransactionOptions } from '../connector.js';
import { SharedRegistry, type Shared } from '../shared.js';
import { installMySqlCapture, OutboxPoller, removeMySqlCapture } from './capture.js';
import { MySqlDb, parseMySqlUrl, type MySqlQueryable } from './db.js';
import { classifyMySqlError } from './errors.js';
import { migrateMySql } from './migrations.js';
import { MySqlRows } from './rows.js';
import { ensureMySqlLinkTable, MySqlAssociations } from './associations.js';
import { MySqlState, MySqlStateAdmin } from './state.js';
import { describeMySqlTable, ensureMySqlTable } from './tables.js';

interface PoolKey {
  url: string;
  poolSize: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

const pools = new SharedRegistry<MySqlDb>((db) => db.close());

function acquirePool(key: PoolKey): Promise<Shared<MySqlDb>> {
  return pools.acquire(JSON.stringify(key), async () =>
    new MySqlDb(parseMySqlUrl(key.url), { maxConnections: key.poolSize, connectTimeoutMs: key.connectTimeoutMs, statementTimeoutMs: key.statementTimeoutMs }),
  );
}

/** One poller per (pool, state database); it holds its own reference to the pool. */
const pollers = new SharedRegistry<{ poller: OutboxPoller; pool: Shared<MySqlDb> }>(async ({ poller, pool }) => {
  poller.stop();
  await pool.release();
});

/** Migrations run once per process and state database (they are idempotent and locked anyway). */
const migrated = new Map<string, Promise<number[]>>();

/** Number of live pools and pollers (tests: nothing leaks after close). */
export function mysqlSharedResources(): { pools: number; pollers: number } {
  return { pools: pools.size, pollers: pollers.size };
}

class MySqlConnector implements Connector {
  readonly kind = 'mysql' as const;
  readonly settings: TargetSettings;
  readonly rows: MySqlRows;
  readonly state: MySqlState;
  readonly associations: MySqlAssociations;
  private readonly opts: ConnectorOptions;
  private readonly poolRef: Shared<MySqlDb>;
  private readonly poolKey: string;
  private readonly poolKeyValue: PoolKey;
  private readonly db: MySqlDb;
  private readonly admin: MySqlStateAdmin;
  private readonly kindsCache = new Map<string, Promise<Map<string, ColumnKind>>>();
  private readonly watches = new Set<() => Promise<void>>();
  private closed = false;

  constructor(poolRef: Shared<MySqlDb>, poolKey: PoolKey, opts: ConnectorOptions) {
    this.opts = opts;
    this.settings = opts.settings;
    this.poolRef = poolRef;
    this.poolKeyValue = poolKey;
    this.poolKey = JSON.stringify(poolKey);
    this.db = poolRef.value;
    this.admin = new MySqlStateAdmin(this.db, this.settings.stateSchema, opts.uid);
    this.rows = new MySqlRows(this.db, (t) => this.kinds(t), () => this.hasReturning());
    this.state = new MySqlState(this.db, this.settings.stateSchema, opts.uid);
    this.associations = new MySqlAssociations(this.db, this.settings.stateSchema, opts.uid);
  }

  /** Column kinds of a table, for value conversion on write (cached; refreshed by describeTable/ensureTable). */
  private kinds(t: TableRef): Promise<Map<string, ColumnKind>> {
    const key = `${t.schema}.${t.table}`;
    let p = this.kindsCache.get(key);
    if (!p) {
      p = describeMySqlTable(this.db, t.schema, t.table).then((d) => new Map([...(d?.columns ?? new Map()).entries()].map(([c, info]) => [c, info.kind])));
      p.catch(() => this.kindsCache.delete(key));
      this.kindsCache.set(key, p);
    }
    return p;
  }

  async prepareState(): Promise<void> {
    const key = `${this.poolKey}\u0000${this.settings.stateSchema}`;
    let m = migrated.get(key);
    if (!m) {
      m = migrateMySql(this.db, this.settings.stateSchema);
      migrated.set(key, m);
      m.catch(() => migrated.delete(key));
    }
    await m;
  }

  /** INSERT … RETURNING: MariaDB 10.5 and later (MySQL 8 has none). */
  private async hasReturning(): Promise<boolean> {
    const { version, mariadb } = await this.db.serverInfo();
    const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
    return mariadb && (major > 10 || (major === 10 && minor >= 5));
  }

  async register(): Promise<{ adoptedUid?: string }> {
    const key = `${this.poolKey}\u0000${this.settings.stateSchema}`;
    let m = migrated.get(key);
    if (!m) {
      m = migrateMySql(this.db, this.settings.stateSchema);
      migrated.set(key, m);
      m.catch(() => migrated.delete(key));
    }
    await m;
    const adopted = await this.admin.register(this.opts.namespace, this.opts.name);
    if (!adopted) return {};
    // The orphaned integration's triggers make way for ours (the engine installs them).
    for (const t of adopted.tables) await removeMySqlCapture(this.db, { uid: adopted.adoptedUid, schema: t.schema, table: t.table });
    return { adoptedUid: adopted.adoptedUid };
  }

  async describeTable(schema: string, table: string): Promise<TableDescription | undefined> {
    const d = await describeMySqlTable(this.db, schema, table);
    this.kindsCache.set(`${schema}.${table}`, Promise.resolve(new Map([...(d?.columns ?? new Map()).entries()].map(([c, info]) => [c, info.kind]))));
    return d;
  }

  async ensureTable(t: TableRef, columns: NewColumn[]): Promise<void> {
    this.kindsCache.delete(`${t.schema}.${t.table}`);
    await ensureMySqlTable(this.db, t.schema, t.table, t.primaryKey, columns);
  }

  async transaction<T>(fn: (tx: TargetTx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.db.transaction(
      (q: MySqlQueryable) =>
        fn({
          rows: new MySqlRows(q, (t) => this.kinds(t), () => this.hasReturning()),
          state: new MySqlState(q, this.settings.stateSchema, this.opts.uid),
          associations: new MySqlAssociations(q, this.settings.stateSchema, this.opts.uid),
        }),
      {
        writer: opts.writer ? this.opts.uid : undefined,
        // Integration-scoped: two integrations never wait for each other.
        lock: opts.lock === undefined ? undefined : `hubspot_operator.${this.opts.uid}.${opts.lock}`,
      },
    );
  }

  ensureLinkTable(t: LinkTableRef, from: TableRef & { keyDataType: string }, to: TableRef & { keyDataType: string }): Promise<void> {
    return ensureMySqlLinkTable(this.db, t, from, to);
  }

  async installCapture(t: TableRef): Promise<void> {
    await installMySqlCapture(this.db, { uid: this.opts.uid, stateDatabase: this.settings.stateSchema, schema: t.schema, table: t.table, primaryKey: t.primaryKey });
    await this.admin.recordCapturedTable({ schema: t.schema, table: t.table, primaryKey: t.primaryKey });
  }

  async removeCapture(t: TableRef, ownerUid?: string): Promise<void> {
    await removeMySqlCapture(this.db, { uid: ownerUid ?? this.opts.uid, schema: t.schema, table: t.table });
  }

  async watchChanges(onChange: () => void): Promise<() => Promise<void>> {
    const stateDatabase = this.settings.stateSchema;
    const ref = await pollers.acquire(JSON.stringify([this.poolKey, stateDatabase]), async () => {
      const pool = await acquirePool(this.poolKeyValue);
      return { poller: new OutboxPoller(pool.value, stateDatabase), pool };
    });
    // Where the outbox ends now, before returning: a change committed after this call wakes onChange.
    await ref.value.poller.start().catch(() => {
      /* unreachable or not migrated yet: the poll retries, and wakes everyone once it recovers */
    });
    const unsubscribe = ref.value.poller.subscribe(this.opts.uid, onChange);
    // Webhook events stored by this process (a standby's are found by the worker's poll).
    const unsubscribeInbox = onWebhookStored(this.opts.uid, onChange);
    let done = false;
    const stop = async () => {
      if (done) return;
      done = true;
      this.watches.delete(stop);
      unsubscribe();
      unsubscribeInbox();
      await ref.release();
    };
    this.watches.add(stop);
    return stop;
  }

  pruneAudit(retentionSeconds: number, maxRows?: number): Promise<number> {
    return this.admin.pruneAudit(retentionSeconds, maxRows);
  }

  savePlan(plan: StoredPlan): Promise<void> {
    return this.admin.savePlan(plan);
  }

  analyze(): Promise<void> {
    return this.admin.analyze();
  }

  private async stateExists(): Promise<boolean> {
    const r = await this.db.query(`SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'links'`, [this.settings.stateSchema]);
    return r.rows.length > 0;
  }

  async cleanup(policy: 'Delete' | 'Orphan', tables: TableRef[]): Promise<void> {
    const exists = await this.stateExists();
    if (policy === 'Orphan') {
      // Triggers stay and keep capturing; a re-created integration of the same name adopts it all.
      if (exists) await this.admin.markOrphaned();
      return;
    }
    for (const t of tables) await this.removeCapture(t);
    if (exists) await this.admin.deleteAll();
  }

  classifyError(err: unknown): TargetErrorClass {
    if (err instanceof TargetUnavailableError) return { kind: 'unreachable', message: err.message };
    return classifyMySqlError(err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.watches]) await stop().catch(() => {});
    await this.poolRef.release();
  }
}

export async function openMySqlConnector(databaseUrl: string | undefined, opts: ConnectorOptions): Promise<Connector> {
  if (!databaseUrl) throw new TargetUnavailableError(`${opts.settings.fields.connectionSecretRef}: the connection URL is empty; expected mysql://user:password@host:3306/`);
  parseMySqlUrl(databaseUrl); // a malformed URL fails here, before a pool exists
  const key: PoolKey = { url: databaseUrl, poolSize: opts.poolSize ?? 10, connectTimeoutMs: opts.connectTimeoutMs, statementTimeoutMs: opts.statementTimeoutMs };
  const ref = await acquirePool(key);
  return new MySqlConnector(ref, key, opts);
}
