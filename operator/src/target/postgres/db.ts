/**
 * One small database interface with two implementations:
 * - `postgres://` / `postgresql://` URLs → a `pg` Pool (a real server);
 * - `pglite://memory`, `pglite:///absolute/dir` or an injected PGlite instance → PGlite, the
 *   in-process PostgreSQL the sandbox uses.
 *
 * The engine needs only: parameterised queries, transactions (optionally marked as the
 * operator's own writes so the capture triggers skip them), and LISTEN/NOTIFY.
 */
import pg from 'pg';
// Types only: PGlite's JS (several MiB resident) is imported on first use of a pglite:// URL.
import type { PGlite } from '@electric-sql/pglite';
import { SharedRegistry } from '../shared.js';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface TransactionOptions {
  /**
   * Marks every write in the transaction as the operator's own (integration UID): the
   * transaction-local setting `hubspot_operator.writer` that the capture triggers check.
   */
  writer?: string;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** Subscribe to NOTIFY on `channel`; returns an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The setting the capture triggers read; set transaction-locally by `transaction({writer})`. */
export const WRITER_SETTING = 'hubspot_operator.writer';

export interface OpenDbOptions {
  /** Use this PGlite instance instead of opening one (the sandbox shares one in-process database). */
  pglite?: PGlite;
  /** Pool size for postgres:// (default 10). */
  maxConnections?: number;
  /** Milliseconds to wait for a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Server-side statement timeout in milliseconds (default 120 s; 0 disables). */
  statementTimeoutMs?: number;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 120_000;

/** Describe a URL for errors and logs without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

export async function openDb(url: string | undefined, opts: OpenDbOptions = {}): Promise<Db> {
  if (opts.pglite) return new PGliteDb(opts.pglite, false);
  if (!url) throw new Error('database URL is empty; expected postgres://… or pglite://memory');
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const config: pg.PoolConfig = {
      connectionString: url,
      max: opts.maxConnections ?? DEFAULT_POOL_SIZE,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      statement_timeout: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    };
    return new PgDb(new pg.Pool(config), config);
  }
  if (url.startsWith('pglite://')) {
    const rest = url.slice('pglite://'.length);
    const dir = rest === '' || rest === 'memory' ? undefined : rest;
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dir);
    return new PGliteDb(db, true);
  }
  throw new Error(`unsupported database URL ${redactUrl(url)}; expected postgres://, postgresql:// or pglite://`);
}

function setWriterSql(): string {
  return `SELECT set_config('${WRITER_SETTING}', $1, true)`;
}

function quoteChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid NOTIFY channel name ${JSON.stringify(channel)}`);
  return `"${channel}"`;
}

class PgDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly config: pg.PoolConfig;
  private listener?: SharedListener;

  constructor(pool: pg.Pool, config: pg.PoolConfig) {
    this.pool = pool;
    this.config = config;
    // An idle client that loses its connection must not crash the process; the next query
    // reports the failure (classified as TargetUnavailable by the engine).
    this.pool.on('error', () => {});
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const res = await this.pool.query(sql, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    // pg-pool listens for errors of IDLE clients only: a checked-out client whose connection is
    // terminated (pg_terminate_backend, a restart, a reset) while the transaction awaits emits
    // 'error', and with no listener that crashes the whole process. The failing query rejects
    // anyway; the client is then broken and must not go back to the pool.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      if (opts.writer) await client.query(setWriterSql(), [opts.writer]);
      const tx: Queryable = {
        query: async <R>(sql: string, params?: unknown[]) => {
          const res = await client.query(sql, params as unknown[] | undefined);
          return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
        },
      };
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** NOTIFY subscriptions of every integration on this database share ONE connection (outside the pool). */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    quoteChannel(channel);
    this.listener ??= new SharedListener(this.config);
    return this.listener.subscribe(channel, onNotify);
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.pool.end();
  }
}

/**
 * One LISTEN connection per database, dispatching notifications by channel. A lost connection
 * (e.g. PostgreSQL restarted) is re-established in the background and every subscriber gets a
 * wake-up, so nothing captured meanwhile waits for the timer.
 */
class SharedListener {
  private readonly config: pg.ClientConfig;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private client?: Promise<pg.Client>;
  private closed = false;

  constructor(config: pg.PoolConfig) {
    this.config = { connectionString: config.connectionString, connectionTimeoutMillis: config.connectionTimeoutMillis };
  }

  private connect(): Promise<pg.Client> {
    this.client ??= (async () => {
      const c = new pg.Client(this.config);
      c.on('notification', (msg) => {
        for (const h of [...(this.handlers.get(msg.channel) ?? [])]) h(msg.payload ?? '');
      });
      c.on('error', () => this.lost(c));
      c.on('end', () => this.lost(c));
      try {
        await c.connect();
        for (const ch of this.handlers.keys()) await c.query(`LISTEN ${quoteChannel(ch)}`);
      } catch (err) {
        this.client = undefined;
        await c.end().catch(() => {});
        throw err;
      }
      return c;
    })();
    return this.client;
  }

  private lost(c: pg.Client): void {
    const current = this.client;
    if (!current) return;
    void current.then(
      (active) => {
        if (active !== c || this.closed) return;
        this.client = undefined;
        void c.end().catch(() => {});
        this.reconnect();
      },
      () => {},
    );
  }

  private reconnect(): void {
    const timer = setTimeout(() => {
      if (this.closed || this.handlers.size === 0) return;
      this.connect().then(
        () => {
          for (const set of this.handlers.values()) for (const h of [...set]) h('');
        },
        () => this.reconnect(),
      );
    }, 1000);
    timer.unref();
  }

  async subscribe(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(onNotify);
    try {
      const c = await this.connect();
      if (first) await c.query(`LISTEN ${quoteChannel(channel)}`);
    } catch (err) {
      set.delete(onNotify);
      if (set.size === 0) this.handlers.delete(channel);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const s = this.handlers.get(channel);
      if (!s) return;
      s.delete(onNotify);
      if (s.size > 0) return;
      this.handlers.delete(channel);
      const c = this.client;
      if (!c) return;
      try {
        const active = await c;
        if (this.handlers.size === 0) await this.close(false);
        else await active.query(`UNLISTEN ${quoteChannel(channel)}`);
      } catch {
        // The connection is gone; there is nothing to unlisten.
      }
    };
  }

  /** Close the connection (final: no reconnection) or just drop it until the next subscriber. */
  async close(final = true): Promise<void> {
    if (final) this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    try {
      const active = await c;
      active.removeAllListeners('end');
      active.removeAllListeners('error');
      active.on('error', () => {});
      await active.end();
    } catch {
      // Already closed.
    }
  }
}

class PGliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly db: PGlite;
  private readonly owned: boolean;

  constructor(db: PGlite, owned: boolean) {
    this.db = db;
    this.owned = owned;
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const res = await this.db.query<R>(sql, params as unknown[] | undefined);
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.db.transaction(async (t) => {
      if (opts.writer) await t.query(setWriterSql(), [opts.writer]);
      const tx: Queryable = {
        query: async <R>(sql: string, params?: unknown[]) => {
          const res = await t.query<R>(sql, params as unknown[] | undefined);
          return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
        },
      };
      return fn(tx);
    });
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    quoteChannel(channel);
    const unsub = await this.db.listen(channel, onNotify);
    return async () => {
      await unsub();
    };
  }

  async close(): Promise<void> {
    if (this.owned) await this.db.close();
  }
}

/**
 * A database shared by every integration on one connection target (DESIGN §4: one pool and one
 * LISTEN connection per database): the first user opens it, the last `close()` closes it. The
 * pool size of the first user applies (it comes from the process-wide --db-pool-size).
 * `pglite://memory` is never shared (each URL opens its own in-memory database, as openDb does).
 */
const sharedDbs = new SharedRegistry<Db>((db) => db.close());
const pgliteIds = new WeakMap<PGlite, string>();
let nextPgliteId = 0;

export async function acquireDb(url: string | undefined, opts: OpenDbOptions = {}): Promise<Db> {
  let key: string;
  if (opts.pglite) {
    let id = pgliteIds.get(opts.pglite);
    if (!id) pgliteIds.set(opts.pglite, (id = `pglite-instance:${nextPgliteId++}`));
    key = id;
  } else if (!url || url === 'pglite://' || url === 'pglite://memory') {
    return openDb(url, opts);
  } else key = url;
  const shared = await sharedDbs.acquire(key, () => openDb(url, opts));
  const db = shared.value;
  return {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    transaction: (fn, o) => db.transaction(fn, o),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: () => shared.release(),
  };
}

/** Number of databases currently open through acquireDb (tests). */
export function sharedDbCount(): number {
  return sharedDbs.size;
}

/** Whether a database error means the database cannot be reached (vs. a rejected statement). */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code)) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect|PGlite is closed/i.test(
    msg,
  );
}
