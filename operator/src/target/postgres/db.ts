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
import { PGlite } from '@electric-sql/pglite';

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
  /** Pool size for postgres:// (default 4). */
  maxConnections?: number;
}

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
    return new PgDb(new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 4 }));
  }
  if (url.startsWith('pglite://')) {
    const rest = url.slice('pglite://'.length);
    const dir = rest === '' || rest === 'memory' ? undefined : rest;
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
  private readonly listeners = new Set<pg.PoolClient>();

  constructor(pool: pg.Pool) {
    this.pool = pool;
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
      client.release(broken);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let done = false;
    let client: pg.PoolClient | undefined;
    const handler = (msg: pg.Notification) => {
      if (msg.channel === channel) onNotify(msg.payload ?? '');
    };
    // A LISTEN connection lost (e.g. PostgreSQL restarted) is re-established in the background;
    // a wake-up is delivered on reconnection so nothing captured meanwhile waits for the timer.
    const connect = async (): Promise<void> => {
      const c = await this.pool.connect();
      c.on('notification', handler);
      c.on('error', () => {
        this.listeners.delete(c);
        c.release(true);
        if (!done) reconnect();
      });
      await c.query(`LISTEN ${quoteChannel(channel)}`);
      client = c;
      this.listeners.add(c);
    };
    const reconnect = () => {
      const timer = setTimeout(() => {
        if (done) return;
        connect().then(
          () => onNotify(''),
          () => reconnect(),
        );
      }, 1000);
      timer.unref();
    };
    await connect();
    return async () => {
      if (done) return;
      done = true;
      const c = client;
      if (!c || !this.listeners.has(c)) return;
      c.off('notification', handler);
      this.listeners.delete(c);
      try {
        await c.query(`UNLISTEN ${quoteChannel(channel)}`);
        c.release();
      } catch {
        c.release(true);
      }
    };
  }

  async close(): Promise<void> {
    for (const c of this.listeners) c.release(true);
    this.listeners.clear();
    await this.pool.end();
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
