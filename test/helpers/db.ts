/**
 * A database for a test: `DATABASE_URL` when set, else the local PostgreSQL at
 * postgres://root@127.0.0.1:5432/test when it answers, else PGlite in memory — and, as the
 * kind 'mysql', the MySQL / MariaDB server of test/helpers/mysql.ts (MYSQL_URL, else
 * 127.0.0.1:3306). Each test gets its own unique business schema (a MySQL database) and state
 * schema, so test files run in parallel without interfering; `cleanup()` drops both and closes
 * the connection.
 *
 * Tests write their own SQL once, in PostgreSQL's dialect; on MySQL `db.query` runs it through
 * `toMySql` (placeholders, casts, generate_series, serial keys) on a connection in ANSI_QUOTES
 * and PIPES_AS_CONCAT mode, so the sync suites are parametrised over every kind, not copied.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { openDb, type Db } from '../../operator/src/target/postgres/db.js';
import { mysqlUrl, openMySqlTestDatabase } from './mysql.js';

export const LOCAL_POSTGRES_URL = 'postgres://root@127.0.0.1:5432/test';

/** The PostgreSQL kinds (the postgres connector's own tests use these). */
export type PgTestDbKind = 'postgres' | 'pglite';
export type TestDbKind = PgTestDbKind | 'mysql';

/** What tests need of a database: PostgreSQL-dialect queries (translated on MySQL). */
export interface TestQueryable {
  query<R = Record<string, any>>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }>;
}

export interface MySqlTestDb {
  kind: 'mysql';
  url: string;
  db: TestQueryable;
  pglite?: undefined;
  schema: string;
  stateSchema: string;
  cleanup(): Promise<void>;
}

export type TestDb = PgTestDb | MySqlTestDb;

export interface PgTestDb {
  kind: PgTestDbKind;
  /** URL for credentials.databaseUrl (for PGlite: pass `pglite` to the engine as well). */
  url: string;
  db: Db;
  pglite?: PGlite;
  schema: string;
  stateSchema: string;
  cleanup(): Promise<void>;
}

let probe: Promise<string | undefined> | undefined;
let sharedPglite: Promise<PGlite> | undefined;

/** The PostgreSQL server URL to use, or undefined when there is none (then PGlite). */
export function postgresUrl(): Promise<string | undefined> {
  if (process.env.DATABASE_URL) return Promise.resolve(process.env.DATABASE_URL);
  probe ??= (async () => {
    const client = new pg.Client({ connectionString: LOCAL_POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return LOCAL_POSTGRES_URL;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return probe;
}

/** The PostgreSQL kinds available here: PostgreSQL (when reachable) and always PGlite. */
export async function availableDbKinds(): Promise<PgTestDbKind[]> {
  return (await postgresUrl()) ? ['postgres', 'pglite'] : ['pglite'];
}

/** Every kind the sync suites run on: the PostgreSQL kinds, and MySQL when a server answers. */
export async function syncDbKinds(): Promise<TestDbKind[]> {
  return [...(await availableDbKinds()), ...((await mysqlUrl()) ? (['mysql'] as const) : [])];
}

/** The kinds backed by a real server (suites that need one: crash, faults, big imports). */
export async function serverDbKinds(): Promise<TestDbKind[]> {
  return [...((await postgresUrl()) ? (['postgres'] as const) : []), ...((await mysqlUrl()) ? (['mysql'] as const) : [])];
}

/**
 * A test's PostgreSQL-dialect SQL for MySQL / MariaDB: `$n` placeholders → `?` (in order),
 * casts (`::int`, `::text`…) dropped, `bigserial PRIMARY KEY` → an AUTO_INCREMENT bigint,
 * `numeric` columns → decimal(20,2), `generate_series(1, N) g` → MariaDB's sequence table.
 * Double-quoted identifiers and `||` work through the connection's sql_mode.
 */
export function toMySql(sql: string, params: unknown[] = []): { sql: string; params: unknown[] } {
  const out: unknown[] = [];
  let s = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    out.push(params[Number(n) - 1]);
    return '?';
  });
  s = s.replace(/::(int|integer|bigint|text|numeric)(\[\])?/g, '');
  s = s.replace(/\bbigserial PRIMARY KEY\b/gi, 'bigint NOT NULL AUTO_INCREMENT PRIMARY KEY');
  if (/^\s*CREATE TABLE/i.test(s)) s = s.replace(/\bnumeric\b(?!\s*\()/gi, 'decimal(20,2)');
  s = s.replace(/generate_series\(\s*1\s*,\s*(\d+)\s*\)\s+(\w+)/g, '(SELECT seq AS $2 FROM seq_1_to_$1) $2');
  return { sql: s, params: out };
}

async function openMySqlTestDb(server: string): Promise<MySqlTestDb> {
  const t = await openMySqlTestDatabase(server, { ansi: true });
  const db: TestQueryable = {
    query: async <R>(sql: string, params?: unknown[]) => {
      const m = toMySql(sql, params);
      const [res] = await t.conn.query(m.sql, m.params);
      if (Array.isArray(res)) return { rows: res as R[], rowCount: res.length };
      return { rows: [] as R[], rowCount: (res as { affectedRows?: number }).affectedRows ?? 0 };
    },
  };
  return { kind: 'mysql', url: t.url, db, schema: t.database, stateSchema: t.stateDatabase, cleanup: t.cleanup };
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function openTestDb(kind?: PgTestDbKind): Promise<PgTestDb>;
export async function openTestDb(kind: TestDbKind): Promise<TestDb>;
export async function openTestDb(kind?: TestDbKind): Promise<TestDb> {
  if (kind === 'mysql') {
    const server = await mysqlUrl();
    if (!server) throw new Error('no MySQL / MariaDB server for this test (MYSQL_URL, or one at 127.0.0.1:3306)');
    return openMySqlTestDb(server);
  }
  const url = kind === 'pglite' ? undefined : await postgresUrl();
  const schema = uniqueName('t');
  const stateSchema = `${schema}_state`;
  if (url) {
    const db = await openDb(url, { maxConnections: 4 });
    await db.query(`CREATE SCHEMA "${schema}"`);
    return {
      kind: 'postgres',
      url,
      db,
      schema,
      stateSchema,
      cleanup: async () => {
        try {
          await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await db.query(`DROP SCHEMA IF EXISTS "${stateSchema}" CASCADE`);
        } finally {
          await db.close();
        }
      },
    };
  }
  // One PGlite per test process (its start-up, a WASM compile and initdb, takes seconds);
  // tests are still isolated by their own schemas.
  sharedPglite ??= PGlite.create();
  const pglite = await sharedPglite;
  const db = await openDb(undefined, { pglite });
  await db.query(`CREATE SCHEMA "${schema}"`);
  return {
    kind: 'pglite',
    url: 'pglite://memory',
    db,
    pglite,
    schema,
    stateSchema,
    cleanup: async () => {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.query(`DROP SCHEMA IF EXISTS "${stateSchema}" CASCADE`);
    },
  };
}
