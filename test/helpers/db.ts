/**
 * A database for a test: `DATABASE_URL` when set, else the local PostgreSQL at
 * postgres://root@127.0.0.1:5432/test when it answers, else PGlite in memory. Each test gets its
 * own unique business schema and state schema, so test files run in parallel without
 * interfering; `cleanup()` drops both and closes the connection.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { openDb, type Db } from '../../operator/src/target/postgres/db.js';

export const LOCAL_POSTGRES_URL = 'postgres://root@127.0.0.1:5432/test';

export type TestDbKind = 'postgres' | 'pglite';

export interface TestDb {
  kind: TestDbKind;
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

/** The kinds of database available here: PostgreSQL (when reachable) and always PGlite. */
export async function availableDbKinds(): Promise<TestDbKind[]> {
  return (await postgresUrl()) ? ['postgres', 'pglite'] : ['pglite'];
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function openTestDb(kind?: TestDbKind): Promise<TestDb> {
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
