/**
 * Reads and writes of business rows on MySQL / MariaDB. Identifiers are validated and
 * back-quoted, values are bind parameters. Keys travel as strings (`CAST(pk AS CHAR)`).
 *
 * One bad row never fails the batch: InnoDB rolls back a failed statement by itself (the
 * transaction goes on), so a multi-row INSERT that fails is retried row by row and UPDATE /
 * DELETE run one statement per row; the rows that fail come back as WriteFailures. A lost
 * connection, a deadlock or a lock wait timeout (which can roll back the whole transaction)
 * is thrown instead, so the page is retried as a whole.
 */
import { checkIdentifier, KEY_FIELD, VERSION_FIELD, type ColumnKind, type IfVersion, type MatchNormalisation, type Row, type RowReader, type RowWriter, type TableRef, type WriteFailure } from '../connector.js';
import type { MySqlQueryable } from './db.js';
import { classifyMySqlError, describeMySqlError } from './errors.js';
import { bq, bqt } from './identifiers.js';

/** Column kinds of a table (for value conversion on write), resolved by the connector and cached. */
export type ColumnKinds = (t: TableRef) => Promise<Map<string, ColumnKind>>;

/** Errors after which the transaction itself may be gone: never a row failure. */
const TRANSACTION_FATAL = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

function rowFailure(index: number, err: unknown): WriteFailure {
  const code = (err as { code?: unknown } | null)?.code;
  if (classifyMySqlError(err).kind === 'unreachable' || (typeof code === 'string' && TRANSACTION_FATAL.has(code))) throw err;
  return { index, message: describeMySqlError(err) };
}

/** Above this many rows (InnoDB's estimate) the estimate is reported instead of an exact count. */
const EXACT_COUNT_LIMIT = 200_000;

/** `2026-01-02T03:04:05.678Z` (what the engine writes to date-time columns) → a Date mysql2 writes as UTC DATETIME. */
function toDbValue(v: unknown, kind: ColumnKind | undefined): unknown {
  if (kind === 'datetime' && typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : new Date(t);
  }
  if (kind === 'json' && v !== null && typeof v === 'object' && !(v instanceof Date)) return JSON.stringify(v);
  return v;
}

export class MySqlRows implements RowReader, RowWriter {
  private readonly q: MySqlQueryable;
  private readonly kinds: ColumnKinds;
  private readonly hasReturning: () => Promise<boolean>;

  /** `hasReturning`: whether the server has INSERT … RETURNING (MariaDB 10.5+; MySQL 8 has not). */
  constructor(q: MySqlQueryable, kinds: ColumnKinds, hasReturning: () => Promise<boolean> = async () => false) {
    this.q = q;
    this.kinds = kinds;
    this.hasReturning = hasReturning;
  }

  private static cols(columns: string[]): string {
    return [...new Set(columns)].map((c) => bq(checkIdentifier(c, 'column'))).join(', ');
  }

  /** The version token of some columns of a row (read and re-checked in SQL alike). */
  private static version(columns: string[]): string {
    return `MD5(JSON_ARRAY(${MySqlRows.cols(columns)}))`;
  }

  async selectRows(t: TableRef, keys: string[], columns: string[], opts: { version?: boolean } = {}): Promise<Map<string, Row>> {
    if (keys.length === 0) return new Map();
    const cols = MySqlRows.cols(columns);
    const version = opts.version && columns.length ? `, ${MySqlRows.version(columns)} AS ${VERSION_FIELD}` : '';
    const res = await this.q.query<Row>(
      `SELECT CAST(${bq(t.primaryKey)} AS CHAR) AS ${KEY_FIELD}${cols ? `, ${cols}` : ''}${version} FROM ${bqt(t.schema, t.table)} WHERE ${bq(t.primaryKey)} IN (?)`,
      [keys],
    );
    return new Map(res.rows.map((r) => [String(r[KEY_FIELD]), r]));
  }

  async selectByMatch(t: TableRef, column: string, how: MatchNormalisation, values: string[], columns: string[]): Promise<Row[]> {
    if (values.length === 0) return [];
    const c = bq(checkIdentifier(column, 'match column'));
    // Exactly connector.matchKey(): digits only, or lower-cased without surrounding spaces.
    const expr = how === 'digits' ? `REGEXP_REPLACE(CAST(${c} AS CHAR), '[^0-9]', '')` : `LOWER(TRIM(CAST(${c} AS CHAR)))`;
    const res = await this.q.query<Row>(
      `SELECT CAST(${bq(t.primaryKey)} AS CHAR) AS ${KEY_FIELD}, ${MySqlRows.cols([...columns, column])} FROM ${bqt(t.schema, t.table)} WHERE ${expr} IN (?)`,
      [values],
    );
    return res.rows;
  }

  async selectKeysAfter(t: TableRef, afterKey: string | undefined, limit: number): Promise<string[]> {
    const pk = bq(t.primaryKey);
    const where = afterKey === undefined ? '' : `WHERE ${pk} > ?`;
    const params = afterKey === undefined ? [limit] : [afterKey, limit];
    // The alias is KEY_FIELD, never a column name the key column could have: ORDER BY must mean the column.
    const res = await this.q.query<Row>(`SELECT CAST(${pk} AS CHAR) AS ${KEY_FIELD} FROM ${bqt(t.schema, t.table)} ${where} ORDER BY ${pk} LIMIT ?`, params);
    return res.rows.map((r) => String(r[KEY_FIELD]));
  }

  async countRows(t: TableRef): Promise<number> {
    const est = await this.q.query<{ n: string | null }>(`SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, [
      t.schema,
      t.table,
    ]);
    const estimate = Number(est.rows[0]?.n ?? -1);
    if (estimate > EXACT_COUNT_LIMIT) return estimate;
    const r = await this.q.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${bqt(t.schema, t.table)}`);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Insert rows and return each row's key. Rows that carry their key: one multi-row INSERT
   * (row by row if it fails). Rows whose key the table generates (AUTO_INCREMENT): on MariaDB
   * one multi-row INSERT … RETURNING (rows come back in VALUES order); on MySQL, which has no
   * RETURNING and whose multi-row insert ids are not guaranteed consecutive
   * (innodb_autoinc_lock_mode 2, Galera), one INSERT per row with its insert id.
   */
  async insertRows(t: TableRef, rows: Row[]): Promise<{ keys: (string | undefined)[]; failures: WriteFailure[] }> {
    const keys: (string | undefined)[] = new Array(rows.length).fill(undefined);
    const failures: WriteFailure[] = [];
    if (rows.length === 0) return { keys, failures };
    const kinds = await this.kinds(t);
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].map((c) => checkIdentifier(c, 'column'));
    const target = bqt(t.schema, t.table);
    const build = (subset: Row[]) => {
      const params: unknown[] = [];
      const tuples = subset.map((r) => {
        const vals = cols.map((c) => {
          if (!(c in r)) return 'DEFAULT';
          params.push(toDbValue(r[c], kinds.get(c)));
          return '?';
        });
        return `(${vals.join(', ')})`;
      });
      return { sql: `INSERT INTO ${target} (${cols.map(bq).join(', ')}) VALUES ${tuples.join(', ')}`, params };
    };
    const keyOf = (r: Row, insertId: number): string | undefined => {
      const k = r[t.primaryKey];
      if (k !== undefined && k !== null) return String(k);
      return insertId > 0 ? String(insertId) : undefined;
    };
    const allKeyed = rows.every((r) => r[t.primaryKey] !== undefined && r[t.primaryKey] !== null);
    if (!allKeyed && cols.length > 0 && rows.length > 1 && (await this.hasReturning())) {
      const all = build(rows);
      try {
        const res = await this.q.query<{ k: string }>(`${all.sql} RETURNING CAST(${bq(t.primaryKey)} AS CHAR) AS k`, all.params);
        if (res.rows.length === rows.length) {
          res.rows.forEach((r, i) => (keys[i] = String(r.k)));
          return { keys, failures };
        }
      } catch (err) {
        rowFailure(-1, err); // rethrows when the transaction is gone; otherwise row by row
      }
    }
    if (allKeyed && cols.length > 0) {
      const all = build(rows);
      try {
        await this.q.query(all.sql, all.params);
        rows.forEach((r, i) => (keys[i] = keyOf(r, 0)));
        return { keys, failures };
      } catch (err) {
        rowFailure(-1, err); // rethrows when the transaction is gone; otherwise retry row by row
      }
    }
    for (let i = 0; i < rows.length; i++) {
      const one = cols.length > 0 ? build([rows[i]!]) : { sql: `INSERT INTO ${target} () VALUES ()`, params: [] };
      try {
        const res = await this.q.query(one.sql, one.params);
        keys[i] = keyOf(rows[i]!, res.insertId);
        if (keys[i] === undefined) failures.push({ index: i, message: `the insert returned no key: ${t.table}.${t.primaryKey} has no AUTO_INCREMENT and no value was given` });
      } catch (err) {
        failures.push(rowFailure(i, err));
      }
    }
    return { keys, failures };
  }

  async updateRows(t: TableRef, updates: { key: string; values: Row; ifVersion?: IfVersion }[]): Promise<WriteFailure[]> {
    const failures: WriteFailure[] = [];
    if (updates.every((u) => Object.keys(u.values).length === 0)) return failures;
    const kinds = await this.kinds(t);
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const cols = Object.keys(u.values).map((c) => checkIdentifier(c, 'column'));
      if (cols.length === 0) continue;
      const params = cols.map((c) => toDbValue(u.values[c], kinds.get(c)));
      params.push(u.key);
      // Conditional: InnoDB's UPDATE reads the latest committed version (waiting for a row lock),
      // so an edit committed meanwhile makes it match nothing (affected rows count matches: FOUND_ROWS).
      let cond = '';
      if (u.ifVersion) {
        params.push(u.ifVersion.version);
        cond = ` AND ${MySqlRows.version(u.ifVersion.columns)} = ?`;
      }
      try {
        const r = await this.q.query(`UPDATE ${bqt(t.schema, t.table)} SET ${cols.map((c) => `${bq(c)} = ?`).join(', ')} WHERE ${bq(t.primaryKey)} = ?${cond}`, params);
        if (u.ifVersion && r.rowCount === 0) failures.push({ index: i, message: 'the row changed since it was read', changed: true });
      } catch (err) {
        failures.push(rowFailure(i, err));
      }
    }
    return failures;
  }

  async deleteRows(t: TableRef, keys: string[]): Promise<WriteFailure[]> {
    if (keys.length === 0) return [];
    const sql = `DELETE FROM ${bqt(t.schema, t.table)} WHERE ${bq(t.primaryKey)} IN (?)`;
    try {
      await this.q.query(sql, [keys]);
      return [];
    } catch (err) {
      rowFailure(-1, err);
    }
    const failures: WriteFailure[] = [];
    for (let i = 0; i < keys.length; i++) {
      try {
        await this.q.query(sql, [[keys[i]]]);
      } catch (err) {
        failures.push(rowFailure(i, err));
      }
    }
    return failures;
  }
}
