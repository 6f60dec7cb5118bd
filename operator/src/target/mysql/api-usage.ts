/**
 * HubSpot API usage per account (mirrors target/postgres/api-usage.ts): per-minute counters in
 * the state database, shared by its integrations and kept across restarts. Created on first use.
 */
import type { MySqlDb } from './db.js';
import { bq } from './identifiers.js';

const ensured = new WeakMap<MySqlDb, Map<string, Promise<void>>>();
const KEEP_MS = 2 * 24 * 3600_000;

function ensureTable(db: MySqlDb, stateDatabase: string): Promise<void> {
  let m = ensured.get(db);
  if (!m) ensured.set(db, (m = new Map()));
  let p = m.get(stateDatabase);
  if (!p) {
    p = db
      .query(
        `CREATE TABLE IF NOT EXISTS ${bq(stateDatabase)}.api_usage (account varchar(255) NOT NULL, minute bigint NOT NULL,
           requests bigint NOT NULL DEFAULT 0, rate_limited bigint NOT NULL DEFAULT 0, PRIMARY KEY (account, minute)) ENGINE=InnoDB`,
      )
      .then(() => undefined);
    p.catch(() => m!.delete(stateDatabase));
    m.set(stateDatabase, p);
  }
  return p;
}

export async function recordMySqlApiUsage(db: MySqlDb, stateDatabase: string, account: string, atMs: number, requests: number, rateLimited: number): Promise<void> {
  if (requests <= 0 && rateLimited <= 0) return;
  await ensureTable(db, stateDatabase);
  const s = bq(stateDatabase);
  await db.query(
    `INSERT INTO ${s}.api_usage (account, minute, requests, rate_limited) VALUES (?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests), rate_limited = rate_limited + VALUES(rate_limited)`,
    [account, Math.floor(atMs / 60_000), Math.round(requests), Math.round(rateLimited)],
  );
  await db.query(`DELETE FROM ${s}.api_usage WHERE account = ? AND minute < ?`, [account, Math.floor((atMs - KEEP_MS) / 60_000)]);
}

export async function readMySqlApiUsage(db: MySqlDb, stateDatabase: string, account: string, sinceMs: number): Promise<{ requests: number; rateLimited: number }> {
  await ensureTable(db, stateDatabase);
  const r = await db.query<{ requests: unknown; rate_limited: unknown }>(
    `SELECT CAST(COALESCE(SUM(requests), 0) AS CHAR) AS requests, CAST(COALESCE(SUM(rate_limited), 0) AS CHAR) AS rate_limited FROM ${bq(stateDatabase)}.api_usage WHERE account = ? AND minute >= ?`,
    [account, Math.floor(sinceMs / 60_000)],
  );
  return { requests: Number(r.rows[0]?.requests ?? 0), rateLimited: Number(r.rows[0]?.rate_limited ?? 0) };
}
