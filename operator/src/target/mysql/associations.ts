/**
 * Association state and link-table rows on MySQL / MariaDB (mirrors ../postgres/associations.ts):
 * the pairs last synced on both sides and the pending pairs (state migration 2), and reads and
 * writes of many-to-many link tables. Keys travel as strings (`CAST(col AS CHAR)`).
 */
import type { AssociationStore, LinkTableRef, PendingAssociation } from '../connector.js';
import { checkIdentifier } from '../connector.js';
import type { MySqlDb, MySqlQueryable } from './db.js';
import { bq, bqt } from './identifiers.js';
import { chunks } from '../../api/chunks.js';

const CHUNK = 500;

function linkCols(t: LinkTableRef): { table: string; from: string; to: string } {
  return {
    table: bqt(checkIdentifier(t.schema, 'database'), checkIdentifier(t.table, 'associations[].table')),
    from: bq(checkIdentifier(t.fromColumn, 'associations[].fromColumn')),
    to: bq(checkIdentifier(t.toColumn, 'associations[].toColumn')),
  };
}

export class MySqlAssociations implements AssociationStore {
  private readonly q: MySqlQueryable;
  private readonly s: string;
  private readonly uid: string;
  constructor(q: MySqlQueryable, stateDatabase: string, uid: string) {
    this.q = q;
    this.s = bq(stateDatabase);
    this.uid = uid;
  }

  async syncedPairs(assoc: string, fromIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const part of chunks(fromIds, 5000)) {
      const r = await this.q.query<{ from_id: string; to_id: string }>(
        `SELECT from_id, to_id FROM ${this.s}.association_pairs WHERE integration_uid = ? AND assoc = ? AND from_id IN (?) ORDER BY from_id, to_id`,
        [this.uid, assoc, part],
      );
      for (const row of r.rows) {
        const l = out.get(row.from_id) ?? [];
        l.push(row.to_id);
        out.set(row.from_id, l);
      }
    }
    return out;
  }

  async setSyncedPairs(assoc: string, fromIds: string[], pairs: { fromId: string; toId: string }[]): Promise<void> {
    for (const part of chunks(fromIds, 5000)) {
      await this.q.query(`DELETE FROM ${this.s}.association_pairs WHERE integration_uid = ? AND assoc = ? AND from_id IN (?)`, [this.uid, assoc, part]);
    }
    for (const part of chunks(pairs, CHUNK)) {
      await this.q.query(`INSERT IGNORE INTO ${this.s}.association_pairs (integration_uid, assoc, from_id, to_id) VALUES ?`, [part.map((p) => [this.uid, assoc, p.fromId, p.toId])]);
    }
  }

  async syncedFromIdsAfter(assoc: string, afterId: string | undefined, limit: number): Promise<string[]> {
    const r = await this.q.query<{ from_id: string }>(
      `SELECT DISTINCT from_id FROM ${this.s}.association_pairs WHERE integration_uid = ? AND assoc = ? AND (? IS NULL OR from_id > ?) ORDER BY from_id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [this.uid, assoc, afterId ?? null, afterId ?? null],
    );
    return r.rows.map((x) => x.from_id);
  }

  async pending(assoc: string): Promise<PendingAssociation[]> {
    const r = await this.q.query<{ side: 'hubspot' | 'target'; from_key: string; to_key: string; since_ms: string | number }>(
      `SELECT side, from_key, to_key, CAST(UNIX_TIMESTAMP(since) * 1000 AS SIGNED) AS since_ms FROM ${this.s}.association_pending
        WHERE integration_uid = ? AND assoc = ? ORDER BY since`,
      [this.uid, assoc],
    );
    return r.rows.map((x) => ({ side: x.side, fromKey: x.from_key, toKey: x.to_key, sinceMs: Number(x.since_ms) }));
  }

  async setPending(assoc: string, side: 'hubspot' | 'target', fromKeys: string[], pairs: { fromKey: string; toKey: string }[]): Promise<void> {
    const keep = new Set(pairs.map((p) => `${p.fromKey}\n${p.toKey}`));
    for (const part of chunks(fromKeys, 5000)) {
      const cur = await this.q.query<{ from_key: string; to_key: string }>(
        `SELECT from_key, to_key FROM ${this.s}.association_pending WHERE integration_uid = ? AND assoc = ? AND side = ? AND from_key IN (?)`,
        [this.uid, assoc, side, part],
      );
      for (const row of cur.rows) {
        if (keep.has(`${row.from_key}\n${row.to_key}`)) continue;
        await this.q.query(`DELETE FROM ${this.s}.association_pending WHERE integration_uid = ? AND assoc = ? AND side = ? AND from_key = ? AND to_key = ?`, [this.uid, assoc, side, row.from_key, row.to_key]);
      }
    }
    for (const part of chunks(pairs, CHUNK)) {
      // Pairs still pending keep their first-seen time.
      await this.q.query(`INSERT IGNORE INTO ${this.s}.association_pending (integration_uid, assoc, side, from_key, to_key) VALUES ?`, [part.map((p) => [this.uid, assoc, side, p.fromKey, p.toKey])]);
    }
  }

  async counts(assoc: string): Promise<{ linked: number; pending: number }> {
    const r = await this.q.query<{ linked: number | string; pending: number | string }>(
      `SELECT (SELECT COUNT(*) FROM ${this.s}.association_pairs WHERE integration_uid = ? AND assoc = ?) AS linked,
              (SELECT COUNT(*) FROM ${this.s}.association_pending WHERE integration_uid = ? AND assoc = ?) AS pending`,
      [this.uid, assoc, this.uid, assoc],
    );
    return { linked: Number(r.rows[0]?.linked ?? 0), pending: Number(r.rows[0]?.pending ?? 0) };
  }

  async linkRows(t: LinkTableRef, fromKeys: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const c = linkCols(t);
    for (const part of chunks(fromKeys, 5000)) {
      const r = await this.q.query<{ f: string; t: string }>(
        `SELECT CAST(${c.from} AS CHAR) AS f, CAST(${c.to} AS CHAR) AS t FROM ${c.table} WHERE ${c.from} IN (?) AND ${c.to} IS NOT NULL`,
        [part],
      );
      for (const row of r.rows) {
        const l = out.get(String(row.f)) ?? [];
        if (!l.includes(String(row.t))) l.push(String(row.t));
        out.set(String(row.f), l);
      }
    }
    return out;
  }

  async insertLinkRows(t: LinkTableRef, pairs: { fromKey: string; toKey: string }[]): Promise<void> {
    const c = linkCols(t);
    for (const part of chunks(pairs, CHUNK)) {
      await this.q.query(`INSERT INTO ${c.table} (${c.from}, ${c.to}) VALUES ?`, [part.map((p) => [p.fromKey, p.toKey])]);
    }
  }

  async deleteLinkRows(t: LinkTableRef, pairs: { fromKey: string; toKey: string }[]): Promise<void> {
    const c = linkCols(t);
    for (const p of pairs) await this.q.query(`DELETE FROM ${c.table} WHERE ${c.from} = ? AND ${c.to} = ?`, [p.fromKey, p.toKey]);
  }
}

/** createTables: the link table with its pair key and foreign keys to both tables' keys. */
export async function ensureMySqlLinkTable(
  db: MySqlDb,
  t: LinkTableRef,
  from: { schema: string; table: string; primaryKey: string; keyDataType: string },
  to: { schema: string; table: string; primaryKey: string; keyDataType: string },
): Promise<void> {
  const c = linkCols(t);
  const type = (dt: string) => (/^[a-z ]+(\(\d+(,\d+)?\))?( unsigned)?$/.test(dt) ? (dt === 'varchar' || dt === 'char' ? `${dt}(255)` : dt) : 'varchar(255)');
  await db.withConnection(async (q) => {
    await q.query(
      `CREATE TABLE IF NOT EXISTS ${c.table} (
        ${c.from} ${type(from.keyDataType)} NOT NULL,
        ${c.to} ${type(to.keyDataType)} NOT NULL,
        PRIMARY KEY (${c.from}, ${c.to}),
        KEY (${c.to}),
        FOREIGN KEY (${c.from}) REFERENCES ${bqt(from.schema, from.table)} (${bq(from.primaryKey)}) ON DELETE CASCADE,
        FOREIGN KEY (${c.to}) REFERENCES ${bqt(to.schema, to.table)} (${bq(to.primaryKey)}) ON DELETE CASCADE
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
  }, { untimed: true });
}
