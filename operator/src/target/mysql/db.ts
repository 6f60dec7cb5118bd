/**
 * The MySQL / MariaDB connection: a mysql2 pool opened from a `mysql://` URL, parameterised
 * queries (`?` placeholders, arrays expand to lists), and transactions optionally marked as the
 * operator's own writes — the session variable `@hubspot_operator_writer` the capture triggers
 * check, set for the transaction and reset before the connection goes back to the pool — and
 * optionally holding a named lock (GET_LOCK) for their duration.
 *
 * Every connection runs in UTC (`time_zone = '+00:00'`, DATETIME values are UTC) and in strict
 * mode, so a value the column cannot hold is an error (a per-record `Target` error), never a
 * silent truncation.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';

export interface MySqlQueryResult<R> {
  rows: R[];
  /** Rows affected (writes) or returned (reads). */
  rowCount: number;
  /** AUTO_INCREMENT value of the first row an INSERT created (0 when none). */
  insertId: number;
}

export interface MySqlQueryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<MySqlQueryResult<R>>;
}

export interface MySqlTransactionOptions {
  /** Mark every write of the transaction as this integration's own (the triggers skip them). */
  writer?: string;
  /** Hold this named lock (GET_LOCK) for the transaction: serialises writers of one integration. */
  lock?: string;
}

/** The session variable the capture triggers read. */
export const WRITER_VARIABLE = '@hubspot_operator_writer';

/** How long a transaction waits for its named lock before failing (seconds). */
const LOCK_TIMEOUT_SECONDS = 50;

export interface MySqlUrl {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** The database named in the URL path, if any. */
  database?: string;
  ssl?: { rejectUnauthorized: boolean };
}

export class MySqlUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MySqlUrlError';
  }
}

/**
 * Parse `mysql://user:password@host:3306/database?ssl=true`. `ssl` (or `sslmode`) accepts
 * true/required/verify-full (TLS, certificate verified), skip-verify (TLS, not verified) and
 * false/disabled.
 */
export function parseMySqlUrl(url: string): MySqlUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MySqlUrlError('the connection URL is not a valid URL; expected mysql://user:password@host:3306/database');
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new MySqlUrlError(
      `the connection URL has scheme "${u.protocol.replace(/:$/, '')}://" but spec.target.mysql needs a mysql:// URL ` +
        `(mysql://user:password@host:3306/database); for PostgreSQL use spec.target.postgres`,
    );
  }
  if (!u.hostname) throw new MySqlUrlError('the connection URL has no host; expected mysql://user:password@host:3306/database');
  const port = u.port ? Number(u.port) : 3306;
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const sslParam = (u.searchParams.get('ssl') ?? u.searchParams.get('sslmode') ?? '').toLowerCase();
  let ssl: MySqlUrl['ssl'];
  if (['true', '1', 'required', 'require', 'verify-full', 'verify_identity', 'verify-ca'].includes(sslParam)) ssl = { rejectUnauthorized: true };
  else if (['skip-verify', 'no-verify', 'preferred', 'prefer'].includes(sslParam)) ssl = { rejectUnauthorized: false };
  else if (!['', 'false', '0', 'disabled', 'disable'].includes(sslParam)) {
    throw new MySqlUrlError(`the connection URL has ssl=${JSON.stringify(sslParam)}; expected true, skip-verify or false`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    user: decodeURIComponent(u.username || 'root'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: db || undefined,
    ssl,
  };
}

export interface OpenMySqlOptions {
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Connect timeout in milliseconds (default 10 s). */
  connectTimeoutMs?: number;
  /** Statement timeout in milliseconds (default 60 s; MariaDB max_statement_time, MySQL max_execution_time for reads). */
  statementTimeoutMs?: number;
}

/** A short lock name (GET_LOCK names are at most 64 characters). */
export function lockName(name: string): string {
  return `hso_${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

function wrap<R>(res: unknown): MySqlQueryResult<R> {
  const [out] = res as [unknown, unknown];
  if (Array.isArray(out)) return { rows: out as R[], rowCount: out.length, insertId: 0 };
  const h = out as { affectedRows?: number; insertId?: number };
  return { rows: [], rowCount: h.affectedRows ?? 0, insertId: Number(h.insertId ?? 0) };
}

export class MySqlDb implements MySqlQueryable {
  readonly kind = 'mysql' as const;
  readonly url: MySqlUrl;
  private readonly pool: mysql.Pool;
  private closed = false;
  private readonly timeoutMs: number;
  private server?: Promise<{ version: string; mariadb: boolean }>;

  constructor(url: MySqlUrl, opts: OpenMySqlOptions = {}) {
    this.url = url;
    this.pool = mysql.createPool({
      host: url.host,
      port: url.port,
      user: url.user,
      password: url.password,
      database: url.database,
      ssl: url.ssl,
      connectionLimit: opts.maxConnections ?? 10,
      maxIdle: 1,
      idleTimeout: 60_000,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      enableKeepAlive: true,
      charset: 'utf8mb4',
      timezone: 'Z',
      dateStrings: ['DATE'],
      supportBigNumbers: true,
      bigNumberStrings: true,
      multipleStatements: false,
    });
    // Each new connection: UTC and strict mode, before any statement of ours (commands queue in order).
    const timeoutMs = Math.max(0, Math.floor(opts.statementTimeoutMs ?? 60_000));
    this.timeoutMs = timeoutMs;
    // mysql2 hands the core (callback-style) connection to this event, whatever its typings say.
    this.pool.on('connection', (promiseTyped) => {
      const conn = promiseTyped as unknown as { query(sql: string, cb: (err: unknown) => void): void };
      conn.query(`SET time_zone = '+00:00', SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_TRANS_TABLES')`, () => {});
      // The statement timeout has a different name on each server; the one that does not exist fails harmlessly.
      conn.query(`SET SESSION max_statement_time = ${timeoutMs / 1000}`, () => {});
      conn.query(`SET SESSION max_execution_time = ${timeoutMs}`, () => {});
    });
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<MySqlQueryResult<R>> {
    return wrap<R>(await this.pool.query(sql, params));
  }

  /** Server version and flavour (cached). */
  serverInfo(): Promise<{ version: string; mariadb: boolean }> {
    this.server ??= this.query<{ v: string }>('SELECT VERSION() AS v').then(
      (r) => {
        const version = String(r.rows[0]?.v ?? '');
        return { version, mariadb: /mariadb/i.test(version) };
      },
      (err) => {
        this.server = undefined;
        throw err;
      },
    );
    return this.server;
  }

  /**
   * Run `fn` on one connection (session state such as GET_LOCK stays with it). `untimed`: without
   * the statement timeout (migrations and createTables DDL, which may rebuild a large table).
   */
  async withConnection<T>(fn: (c: MySqlQueryable) => Promise<T>, opts: { untimed?: boolean } = {}): Promise<T> {
    const conn = await this.pool.getConnection();
    const setTimeout = async (ms: number) => {
      await conn.query(`SET SESSION max_statement_time = ${ms / 1000}`).catch(() => {});
      await conn.query(`SET SESSION max_execution_time = ${ms}`).catch(() => {});
    };
    try {
      if (opts.untimed) await setTimeout(0);
      return await fn({ query: async <R>(sql: string, params?: unknown[]) => wrap<R>(await conn.query(sql, params)) });
    } finally {
      if (opts.untimed) await setTimeout(this.timeoutMs);
      conn.release();
    }
  }

  async transaction<T>(fn: (tx: MySqlQueryable) => Promise<T>, opts: MySqlTransactionOptions = {}): Promise<T> {
    const conn = await this.pool.getConnection();
    const tx: MySqlQueryable = { query: async <R>(sql: string, params?: unknown[]) => wrap<R>(await conn.query(sql, params)) };
    let broken = false;
    let locked = false;
    try {
      if (opts.writer !== undefined) await conn.query(`SET ${WRITER_VARIABLE} = ?`, [opts.writer]);
      if (opts.lock !== undefined) {
        const r = await tx.query<{ ok: number | null }>('SELECT GET_LOCK(?, ?) AS ok', [lockName(opts.lock), LOCK_TIMEOUT_SECONDS]);
        if (Number(r.rows[0]?.ok) !== 1) throw new Error(`timed out after ${LOCK_TIMEOUT_SECONDS}s waiting for the lock of ${opts.lock}`);
        locked = true;
      }
      await conn.beginTransaction();
      try {
        const out = await fn(tx);
        await conn.commit();
        return out;
      } catch (err) {
        try {
          await conn.rollback();
        } catch {
          broken = true;
        }
        throw err;
      }
    } finally {
      // The connection goes back to the pool clean: no writer mark, no lock.
      if (!broken && (opts.writer !== undefined || locked)) {
        try {
          if (opts.writer !== undefined) await conn.query(`SET ${WRITER_VARIABLE} = NULL`);
          if (locked) await conn.query('SELECT RELEASE_LOCK(?)', [lockName(opts.lock!)]);
        } catch {
          broken = true;
        }
      }
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Open a pool for a mysql:// URL (nothing is connected until the first query). */
export function openMySql(url: string, opts: OpenMySqlOptions = {}): MySqlDb {
  return new MySqlDb(parseMySqlUrl(url), opts);
}
