/**
 * Association state (DESIGN §2.7): the pairs last synced on both sides and the pending pairs
 * (state tables of migration 4), plus reads and writes of many-to-many link tables. Keys travel
 * as text and are compared as text; writes let PostgreSQL coerce the untyped parameters to the
 * link columns' own types.
 */
import type { AssociationStore, LinkTableRef, PendingAssociation } from '../connector.js';
import type { Queryable } from './db.js';
import { checkIdentifier, q, qt } from './identifiers.js';
import { chunks } from '../../api/chunks.js';

const CHUNK = 500;

function linkCols(t: LinkTableRef): { table: string; from: string; to: string } {
  return {
    table: qt(checkIdentifier(t.schema, 'schema'), checkIdentifier(t.table, 'associations[].table')),
    from: q(checkIdentifier(t.fromColumn, 'associations[].fromColumn')),
    to: q(checkIdentifier(t.toColumn, 'associations[].toColumn')),
  };
}

export class PgAssociations implements AssociationStore {
  private readonly s: string;
  private readonly q: Queryable;
  private readonly uid: string;
  constructor(db: Queryable, stateSchema: string, uid: string) {
    this.q = db;
    this.uid = uid;
    this.s = q(stateSchema);
  }

  async syncedPairs(assoc: string, fromIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (fromIds.length === 0) return out;
    const r = await this.q.query<{ from_id: string; to_id: string }>(
      `SELECT from_id, to_id FROM ${this.s}.association_pairs WHERE integration_uid = $1 AND assoc = $2 AND from_id = ANY($3::text[]) ORDER BY from_id, to_id`,
      [this.uid, assoc, fromIds],
    );
    for (const row of r.rows) {
      const l = out.get(row.from_id) ?? [];
      l.push(row.to_id);
      out.set(row.from_id, l);
    }
    return out;
  }

  async setSyncedPairs(assoc: string, fromIds: string[], pairs: { fromId: string; toId: string }[]): Promise<void> {
    if (fromIds.length) {
      await this.q.query(`DELETE FROM ${this.s}.association_pairs WHERE integration_uid = $1 AND assoc = $2 AND from_id = ANY($3::text[])`, [this.uid, assoc, fromIds]);
    }
    if (pairs.length) {
      await this.q.query(
        `INSERT INTO ${this.s}.association_pairs (integration_uid, assoc, from_id, to_id)
         SELECT $1, $2, f, t FROM unnest($3::text[], $4::text[]) AS p(f, t) ON CONFLICT DO NOTHING`,
        [this.uid, assoc, pairs.map((p) => p.fromId), pairs.map((p) => p.toId)],
      );
    }
  }

  async syncedFromIdsAfter(assoc: string, afterId: string | undefined, limit: number): Promise<string[]> {
    const r = await this.q.query<{ from_id: string }>(
      `SELECT DISTINCT from_id FROM ${this.s}.association_pairs WHERE integration_uid = $1 AND assoc = $2 AND ($3::text IS NULL OR from_id > $3) ORDER BY from_id LIMIT $4`,
      [this.uid, assoc, afterId ?? null, limit],
    );
    return r.rows.map((x) => x.from_id);
  }

  async pending(assoc: string): Promise<PendingAssociation[]> {
    const r = await this.q.query<{ side: 'hubspot' | 'target'; from_key: string; to_key: string; since_ms: string }>(
      `SELECT side, from_key, to_key, (extract(epoch FROM since) * 1000)::bigint::text AS since_ms FROM ${this.s}.association_pending
        WHERE integration_uid = $1 AND assoc = $2 ORDER BY since`,
      [this.uid, assoc],
    );
    return r.rows.map((x) => ({ side: x.side, fromKey: x.from_key, toKey: x.to_key, sinceMs: Number(x.since_ms) }));
  }

  async setPending(assoc: string, side: 'hubspot' | 'target', fromKeys: string[], pairs: { fromKey: string; toKey: string }[]): Promise<void> {
    if (fromKeys.length === 0 && pairs.length === 0) return;
    // Pairs still pending keep their first-seen time.
    await this.q.query(
      `DELETE FROM ${this.s}.association_pending WHERE integration_uid = $1 AND assoc = $2 AND side = $3 AND from_key = ANY($4::text[])
          AND (from_key, to_key) NOT IN (SELECT * FROM unnest($5::text[], $6::text[]))`,
      [this.uid, assoc, side, fromKeys, pairs.map((p) => p.fromKey), pairs.map((p) => p.toKey)],
    );
    if (pairs.length) {
      await this.q.query(
        `INSERT INTO ${this.s}.association_pending (integration_uid, assoc, side, from_key, to_key)
         SELECT $1, $2, $3, f, t FROM unnest($4::text[], $5::text[]) AS p(f, t) ON CONFLICT DO NOTHING`,
        [this.uid, assoc, side, pairs.map((p) => p.fromKey), pairs.map((p) => p.toKey)],
      );
    }
  }

  async counts(assoc: string): Promise<{ linked: number; pending: number }> {
    const r = await this.q.query<{ linked: string; pending: string }>(
      `SELECT (SELECT count(*) FROM ${this.s}.association_pairs WHERE integration_uid = $1 AND assoc = $2)::text AS linked,
              (SELECT count(*) FROM ${this.s}.association_pending WHERE integration_uid = $1 AND assoc = $2)::text AS pending`,
      [this.uid, assoc],
    );
    return { linked: Number(r.rows[0]?.linked ?? 0), pending: Number(r.rows[0]?.pending ?? 0) };
  }

  async linkRows(t: LinkTableRef, fromKeys: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (fromKeys.length === 0) return out;
    const c = linkCols(t);
    const r = await this.q.query<{ f: string; t: string }>(
      `SELECT ${c.from}::text AS f, ${c.to}::text AS t FROM ${c.table} WHERE ${c.from}::text = ANY($1::text[]) AND ${c.to} IS NOT NULL`,
      [fromKeys],
    );
    for (const row of r.rows) {
      const l = out.get(row.f) ?? [];
      if (!l.includes(row.t)) l.push(row.t);
      out.set(row.f, l);
    }
    return out;
  }

  async insertLinkRows(t: LinkTableRef, pairs: { fromKey: string; toKey: string }[]): Promise<void> {
    const c = linkCols(t);
    for (const part of chunks(pairs, CHUNK)) {
      const values = part.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
      await this.q.query(`INSERT INTO ${c.table} (${c.from}, ${c.to}) VALUES ${values}`, part.flatMap((p) => [p.fromKey, p.toKey]));
    }
  }

  async deleteLinkRows(t: LinkTableRef, pairs: { fromKey: string; toKey: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    const c = linkCols(t);
    await this.q.query(
      `DELETE FROM ${c.table} WHERE (${c.from}::text, ${c.to}::text) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [pairs.map((p) => p.fromKey), pairs.map((p) => p.toKey)],
    );
  }
}

/** createTables: the link table with its pair key and foreign keys to both tables' keys. */
export async function ensureLinkTable(
  db: { transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> },
  t: LinkTableRef,
  from: { schema: string; table: string; primaryKey: string; keyDataType: string },
  to: { schema: string; table: string; primaryKey: string; keyDataType: string },
): Promise<void> {
  const c = linkCols(t);
  const type = (dt: string) => (/^[a-z ]+(\(\d+(,\d+)?\))?$/.test(dt) ? dt : 'text');
  await db.transaction(async (tx) => {
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${c.table} (
        ${c.from} ${type(from.keyDataType)} NOT NULL REFERENCES ${qt(from.schema, from.table)} (${q(from.primaryKey)}) ON DELETE CASCADE,
        ${c.to} ${type(to.keyDataType)} NOT NULL REFERENCES ${qt(to.schema, to.table)} (${q(to.primaryKey)}) ON DELETE CASCADE,
        PRIMARY KEY (${c.from}, ${c.to})
      )`,
    );
    await tx.query(`CREATE INDEX IF NOT EXISTS ${q(`${t.table}_${t.toColumn}_idx`.slice(0, 63))} ON ${c.table} (${c.to})`);
  });
}
