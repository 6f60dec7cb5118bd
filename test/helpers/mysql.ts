/**
 * The MySQL / MariaDB server for tests: `MYSQL_URL` when set, else the local server at
 * mysql://root@127.0.0.1:3306/test when it answers. When there is none, MySQL tests are
 * skipped with one clear line — except when `MYSQL_URL` or `CI` is set: then a missing server
 * is a failure, never a silent skip. Each test gets its own databases (business + state),
 * dropped by `cleanup()`.
 */
import mysql from 'mysql2/promise';
import { randomBytes } from 'node:crypto';

export const LOCAL_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

let probe: Promise<{ url?: string; why?: string }> | undefined;
let announced = false;

async function answers(url: string): Promise<string | undefined> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ uri: url, connectTimeout: 2000 });
    await conn.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await conn?.end().catch(() => {});
  }
}

/**
 * The server URL, or undefined (MySQL tests skip). Throws when MYSQL_URL or CI demands a
 * server and none answers. `announce`: say once that the MySQL tests are skipped (only the
 * connector's own test file asks, so a run prints one line, not one per file).
 */
export function mysqlUrl({ announce = false }: { announce?: boolean } = {}): Promise<string | undefined> {
  probe ??= (async () => {
    const url = process.env.MYSQL_URL || LOCAL_MYSQL_URL;
    const why = await answers(url);
    return why ? { why } : { url };
  })();
  return probe.then(({ url, why }) => {
    if (url) return url;
    if (process.env.MYSQL_URL) throw new Error(`MYSQL_URL is set but the server does not answer: ${why}`);
    if (process.env.CI) throw new Error(`CI is set but no MySQL/MariaDB server answers at ${LOCAL_MYSQL_URL} (${why}); set MYSQL_URL or start the server`);
    if (announce && !announced) {
      announced = true;
      process.stdout.write(`MySQL/MariaDB tests skipped: no server at ${LOCAL_MYSQL_URL} (set MYSQL_URL to run them)\n`);
    }
    return undefined;
  });
}

/** A URL naming another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface MySqlTestDatabase {
  /** Server URL (its own path names the test's business database). */
  url: string;
  /** Business database (spec.target.mysql.database) and state database (stateDatabase). */
  database: string;
  stateDatabase: string;
  /** A root-level connection for the test's own SQL (`?` placeholders). */
  conn: mysql.Connection;
  cleanup(): Promise<void>;
}

/**
 * Fresh, uniquely named business and state databases for one test. With `ansi`, the test's
 * connection reads double-quoted names as identifiers and `||` as concatenation (the
 * PostgreSQL-dialect SQL of the sync suites, see test/helpers/db.ts).
 */
export async function openMySqlTestDatabase(serverUrl: string, opts: { ansi?: boolean } = {}): Promise<MySqlTestDatabase> {
  const database = `t_${randomBytes(5).toString('hex')}`;
  const stateDatabase = `${database}_state`;
  const conn = await mysql.createConnection({ uri: serverUrl, timezone: 'Z', dateStrings: ['DATE'], supportBigNumbers: !opts.ansi, bigNumberStrings: !opts.ansi });
  await conn.query(`SET time_zone = '+00:00'`);
  if (opts.ansi) await conn.query(`SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES,PIPES_AS_CONCAT')`);
  await conn.query(`CREATE DATABASE \`${database}\``);
  return {
    url: withDatabase(serverUrl, database),
    database,
    stateDatabase,
    conn,
    cleanup: async () => {
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
        await conn.query(`DROP DATABASE IF EXISTS \`${stateDatabase}\``);
      } finally {
        await conn.end().catch(() => {});
      }
    },
  };
}
