/**
 * HubSpot API usage per account (DESIGN §3), in the state schema: per-minute counters of
 * requests and rate-limited responses, keyed by the account (portal), shared by every
 * integration using this state schema and kept across restarts and spec changes. The table is
 * created on first use (CREATE … IF NOT EXISTS), independent of the versioned migrations.
 */
import type { Db } from './db.js';
import { q } from './identifiers.js';

const ensured = new WeakMap<Db, Map<string, Promise<void>>>();
const KEEP_MS = 2 * 24 * 3600_000;

function ensureTable(db: Db, stateSchema: string): Promise<void> {
  let m = ensured.get(db);
  if (!m) ensured.set(db, (m = new Map()));
  let p = m.get(stateSchema);
  if (!p) {
    const s = q(stateSchema);
    p = db
      .query(
        `CREATE TABLE IF NOT EXISTS ${s}.api_usage (account text NOT NULL, minute bigint NOT NULL, requests bigint NOT NULL DEFAULT 0,
           rate_limited bigint NOT NULL DEFAULT 0, PRIMARY KEY (account, minute))`,
      )
      .then(() => undefined);
    p.catch(() => m!.delete(stateSchema));
    m.set(stateSchema, p);
  }
  return p;
}

export async function recordApiUsage(db: Db, stateSchema: string, account: string, atMs: number, requests: number, rateLimited: number): Promise<void> {
  if (requests <= 0 && rateLimited <= 0) return;
  await ensureTable(db, stateSchema);
  const s = q(stateSchema);
  const minute = Math.floor(atMs / 60_000);
  await db.query(
    `INSERT INTO ${s}.api_usage (account, minute, requests, rate_limited) VALUES ($1, $2, $3, $4)
     ON CONFLICT (account, minute) DO UPDATE SET requests = ${s}.api_usage.requests + EXCLUDED.requests, rate_limited = ${s}.api_usage.rate_limited + EXCLUDED.rate_limited`,
    [account, minute, Math.round(requests), Math.round(rateLimited)],
  );
  await db.query(`DELETE FROM ${s}.api_usage WHERE account = $1 AND minute < $2`, [account, Math.floor((atMs - KEEP_MS) / 60_000)]);
}

export async function readApiUsage(db: Db, stateSchema: string, account: string, sinceMs: number): Promise<{ requests: number; rateLimited: number }> {
  await ensureTable(db, stateSchema);
  const r = await db.query<{ requests: string | null; rate_limited: string | null }>(
    `SELECT sum(requests)::text AS requests, sum(rate_limited)::text AS rate_limited FROM ${q(stateSchema)}.api_usage WHERE account = $1 AND minute >= $2`,
    [account, Math.floor(sinceMs / 60_000)],
  );
  return { requests: Number(r.rows[0]?.requests ?? 0), rateLimited: Number(r.rows[0]?.rate_limited ?? 0) };
}
