/**
 * Change capture on MySQL / MariaDB (DESIGN §2.10, §3): AFTER INSERT / UPDATE / DELETE row
 * triggers on each synced table append (key, operation) to the outbox in the state database,
 * unless the session variable `@hubspot_operator_writer` holds this integration's UID (the
 * operator's own writes, marked for the duration of its transactions). MySQL has no NOTIFY:
 * one poller per state database, shared by its integrations, reads the outbox by primary key
 * (`id > last seen`, an index range that is empty when idle) about once a second and wakes the
 * integrations whose changes it saw.
 *
 * Trigger names carry a hash of (UID, table) and of the body: installing a changed body creates
 * the new triggers before dropping the old ones, so no change slips through in between (MySQL
 * DDL is not transactional and MySQL 8 has no CREATE OR REPLACE TRIGGER).
 */
import { createHash } from 'node:crypto';
import { checkIdentifier, TargetUnavailableError } from '../connector.js';
import type { MySqlDb } from './db.js';
import { WRITER_VARIABLE } from './db.js';
import { describeMySqlError } from './errors.js';
import { bq, bqt, checkUid } from './identifiers.js';

export interface MySqlCaptureTarget {
  uid: string;
  stateDatabase: string;
  schema: string;
  table: string;
  primaryKey: string;
  /**
   * The table's columns: an UPDATE records which of them it changed (OLD vs NEW) for NewestWins'
   * per-field times. Without them (or for a column added after the trigger) an update counts as
   * a change of every column.
   */
  columns?: string[];
}

function hash(s: string, n: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** The name prefix of one integration's triggers on one table. */
export function triggerPrefix(uid: string, schema: string, table: string): string {
  return `hso_${hash(`${uid}\u0000${schema}.${table}`, 12)}_`;
}

type Op = 'insert' | 'update' | 'delete';

/** The three trigger statements (name → CREATE TRIGGER) of a capture target. */
export function triggerStatements(t: MySqlCaptureTarget): Map<string, string> {
  const uid = checkUid(t.uid);
  const table = checkIdentifier(t.table, 'table');
  const pk = bq(checkIdentifier(t.primaryKey, 'primaryKey'));
  checkIdentifier(t.schema, 'schema');
  const outbox = `${bq(checkIdentifier(t.stateDatabase, 'stateDatabase'))}.outbox`;
  // Every literal below is a validated identifier or the checked UID: none can hold a quote.
  const notOurs = `NOT (${WRITER_VARIABLE} <=> '${uid}')`;
  const append = (row: 'NEW' | 'OLD', op: string, changed = 'NULL') =>
    `INSERT INTO ${outbox} (integration_uid, table_name, target_key, op, changed_columns) VALUES ('${uid}', '${table}', CAST(${row}.${pk} AS CHAR), '${op}', ${changed});`;
  // The changed columns as a JSON array of names (validated identifiers: no quote, no backslash).
  const cols = (t.columns ?? []).map((c) => checkIdentifier(c, 'column'));
  const changed = cols.length
    ? `CONCAT('[', CONCAT_WS(',', ${cols.map((c) => `IF(OLD.${bq(c)} <=> NEW.${bq(c)}, NULL, '"${c}"')`).join(', ')}), ']')`
    : 'NULL';
  const bodies: Record<Op, string> = {
    insert: `BEGIN IF ${notOurs} THEN ${append('NEW', 'I')} END IF; END`,
    // A changed key is a delete of the old key and an upsert of the new one.
    update: `BEGIN IF ${notOurs} THEN IF NOT (OLD.${pk} <=> NEW.${pk}) THEN ${append('OLD', 'D')} END IF; ${append('NEW', 'U', changed)} END IF; END`,
    delete: `BEGIN IF ${notOurs} THEN ${append('OLD', 'D')} END IF; END`,
  };
  const prefix = triggerPrefix(uid, t.schema, table);
  const out = new Map<string, string>();
  for (const op of ['insert', 'update', 'delete'] as const) {
    const name = `${prefix}${op[0]}_${hash(bodies[op], 8)}`;
    out.set(name, `CREATE TRIGGER ${bq(t.schema)}.${bq(name)} AFTER ${op.toUpperCase()} ON ${bqt(t.schema, table)} FOR EACH ROW ${bodies[op]}`);
  }
  return out;
}

async function existingTriggers(db: MySqlDb, schema: string, table: string, prefix: string): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME LIKE ?`,
    [schema, table, `${prefix.replaceAll('_', '\\_')}%`],
  );
  return r.rows.map((x) => String(x.name));
}

/** A refused CREATE TRIGGER as a message naming what to change on the server. */
export function triggerRefusal(err: unknown, t: MySqlCaptureTarget, user: string): TargetUnavailableError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${t.schema}.${t.table}`;
  if (code === 'ER_BINLOG_CREATE_ROUTINE_NEED_SUPER' || code === 'ER_BINLOG_UNSAFE_ROUTINE') {
    return new TargetUnavailableError(
      `MySQL refused to create the change-capture triggers on ${where}: binary logging is on and log_bin_trust_function_creators is 0; ` +
        `set log_bin_trust_function_creators = 1 on the server (SET GLOBAL log_bin_trust_function_creators = 1, and in its configuration) ` +
        `or grant the operator's user SUPER (${describeMySqlError(err)})`,
      { cause: err },
    );
  }
  if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR') {
    return new TargetUnavailableError(
      `MySQL refused to create the change-capture triggers on ${where}: the user ${JSON.stringify(user)} lacks the TRIGGER privilege; ` +
        `run GRANT TRIGGER ON \`${t.schema}\`.* TO '${user}'@'%' (see docs/mysql.md for every privilege needed) (${describeMySqlError(err)})`,
      { cause: err },
    );
  }
  return undefined;
}

/** Install (or update) the capture triggers of one table. Idempotent; no gap while a body changes. */
export async function installMySqlCapture(db: MySqlDb, t: MySqlCaptureTarget): Promise<void> {
  if (!t.columns) {
    const r = await db.query<{ name: string }>(
      `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [t.schema, t.table],
    );
    t = { ...t, columns: r.rows.map((x) => String(x.name)) };
  }
  const wanted = triggerStatements(t);
  const prefix = triggerPrefix(t.uid, t.schema, t.table);
  const existing = new Set(await existingTriggers(db, t.schema, t.table, prefix));
  for (const [name, sql] of wanted) {
    if (existing.has(name)) continue;
    try {
      await db.query(sql);
    } catch (err) {
      throw triggerRefusal(err, t, db.url.user) ?? err;
    }
  }
  for (const name of existing) if (!wanted.has(name)) await db.query(`DROP TRIGGER IF EXISTS ${bq(t.schema)}.${bq(name)}`);
}

/** Remove one integration's capture triggers from a table (a missing table is fine). */
export async function removeMySqlCapture(db: MySqlDb, t: Pick<MySqlCaptureTarget, 'uid' | 'schema' | 'table'>): Promise<void> {
  checkIdentifier(t.schema, 'schema');
  checkIdentifier(t.table, 'table');
  const names = await existingTriggers(db, t.schema, t.table, triggerPrefix(t.uid, t.schema, t.table));
  for (const name of names) await db.query(`DROP TRIGGER IF EXISTS ${bq(t.schema)}.${bq(name)}`);
}

// ---- the outbox poller ---------------------------------------------------------------------------

/** How often the outbox is read. */
export const POLL_INTERVAL_MS = 1000;
/** Ids skipped by a poll (a transaction not yet committed, or rows already applied) are re-read this long. */
const GAP_WINDOW_MS = 10_000;
const POLL_BATCH = 5000;

/**
 * One poller per state database: reads the outbox rows added since the last poll (by id, an
 * index range) and calls the listeners of the integrations they belong to. Ids below the
 * highest one seen that were missing (an uncommitted transaction commits later with a lower id)
 * stay in the window for GAP_WINDOW_MS, so a late commit still wakes its integration.
 */
export class OutboxPoller {
  private readonly db: MySqlDb;
  private readonly outbox: string;
  private readonly listeners = new Map<string, Set<() => void>>();
  private timer?: NodeJS.Timeout;
  private lastSeen?: bigint;
  /** Ids seen above the floor (not woken twice) and the open gaps (first missing id, when seen). */
  private seen = new Set<bigint>();
  private gaps: { from: bigint; to: bigint; at: number }[] = [];
  private failing = false;
  private running = false;
  private stopped = false;

  constructor(db: MySqlDb, stateDatabase: string) {
    this.db = db;
    this.outbox = `${bq(stateDatabase)}.outbox`;
  }

  /** Listen for changes captured for `uid`; returns the unsubscribe function. */
  subscribe(uid: string, onChange: () => void): () => void {
    let set = this.listeners.get(uid);
    if (!set) this.listeners.set(uid, (set = new Set()));
    set.add(onChange);
    this.schedule(0);
    return () => {
      set.delete(onChange);
      if (set.size === 0 && this.listeners.get(uid) === set) this.listeners.delete(uid);
    };
  }

  get subscribers(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  private schedule(delay: number): void {
    if (this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delay);
    this.timer.unref();
  }

  private wake(uids: Iterable<string>): void {
    for (const uid of uids) for (const cb of [...(this.listeners.get(uid) ?? [])]) cb();
  }

  private starting?: Promise<void>;

  /**
   * Read where the outbox ends now: changes captured after this resolves wake their listeners
   * (those captured before are the subscriber's to check, e.g. by the sync lag). Idempotent.
   */
  start(): Promise<void> {
    if (this.lastSeen !== undefined) return Promise.resolve();
    this.starting ??= this.db
      .query<{ m: string | null }>(`SELECT CAST(COALESCE(MAX(id), 0) AS CHAR) AS m FROM ${this.outbox}`)
      .then((r) => {
        this.lastSeen ??= BigInt(r.rows[0]?.m ?? '0');
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  /** One poll (exposed for tests). */
  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      if (this.listeners.size === 0) return;
      if (this.lastSeen === undefined) {
        await this.start();
      } else {
        const now = Date.now();
        this.gaps = this.gaps.filter((g) => now - g.at < GAP_WINDOW_MS);
        const floor = this.gaps.reduce((m, g) => (g.from - 1n < m ? g.from - 1n : m), this.lastSeen);
        for (const id of this.seen) if (id <= floor) this.seen.delete(id);
        // `id` itself, not a text alias of it: ORDER BY must sort numerically (ids come back as
        // strings: the pool reads BIGINT as text).
        const r = await this.db.query<{ id: string | number; uid: string }>(
          `SELECT id, integration_uid AS uid FROM ${this.outbox} WHERE id > ? ORDER BY id LIMIT ${POLL_BATCH}`,
          [floor.toString()],
        );
        const woken = new Set<string>();
        let prev = this.lastSeen;
        for (const row of r.rows) {
          const id = BigInt(String(row.id));
          if (id > this.lastSeen) {
            if (id > prev + 1n) this.gaps.push({ from: prev + 1n, to: id - 1n, at: now });
            prev = id;
          } else {
            // A late commit inside a gap: the gap is (partly) filled.
            this.gaps = this.gaps.flatMap((g) => (id < g.from || id > g.to ? [g] : [...(id > g.from ? [{ ...g, to: id - 1n }] : []), ...(id < g.to ? [{ ...g, from: id + 1n }] : [])]));
          }
          if (this.seen.has(id)) continue;
          this.seen.add(id);
          woken.add(row.uid);
        }
        if (prev > this.lastSeen) this.lastSeen = prev;
        if (this.failing) {
          // The watch recovered: changes may have been captured meanwhile.
          this.failing = false;
          this.wake([...this.listeners.keys()]);
        } else this.wake(woken);
      }
      this.failing = false;
    } catch {
      // The database is unreachable or the state database not created yet: try again next tick.
      this.failing = true;
    } finally {
      this.running = false;
      if (this.listeners.size > 0) this.schedule(POLL_INTERVAL_MS);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
