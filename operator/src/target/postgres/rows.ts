/**
 * Reads and writes of business rows in a synced table. Identifiers are validated and quoted,
 * values are always bind parameters. Writes run inside the caller's (operator-marked)
 * transaction; a batch that fails falls back to one SAVEPOINT per row, so one bad row (a
 * constraint or type violation) becomes a per-record `Target` error and the rest commit.
 */
import { matchKey, VERSION_FIELD, type IfVersion, type MatchNormalisation, type Row, type RowReader, type RowWriter, type TableRef, type WriteFailure as RowFailure } from '../connector.js';
import { isConnectionError, type Queryable } from './db.js';
import { checkIdentifier, q, qt } from './identifiers.js';

export { matchKey, type MatchNormalisation, type Row, type TableRef };

const ARRAY_CASTS: Record<string, string> = {
  smallint: 'smallint',
  integer: 'integer',
  bigint: 'bigint',
  text: 'text',
  'character varying': 'text',
  uuid: 'uuid',
  numeric: 'numeric',
};

function keyPredicate(t: TableRef, param: string): string {
  const cast = t.keyDataType ? ARRAY_CASTS[t.keyDataType] : undefined;
  return cast ? `${q(t.primaryKey)} = ANY(${param}::${cast}[])` : `${q(t.primaryKey)}::text = ANY(${param}::text[])`;
}

/** Rows by key (the key as text), selecting only the needed columns. */
/** The version token of some columns of a row (read and re-checked in SQL alike). */
function versionExpr(columns: string[]): string {
  return `md5(jsonb_build_array(${[...new Set(columns)].map((c) => q(checkIdentifier(c, 'column'))).join(', ')})::text)`;
}

export async function selectRows(tx: Queryable, t: TableRef, keys: string[], columns: string[], opts: { version?: boolean } = {}): Promise<Map<string, Row>> {
  if (keys.length === 0) return new Map();
  const cols = [...new Set(columns)].map((c) => q(checkIdentifier(c, 'column'))).join(', ');
  const version = opts.version && columns.length ? `, ${versionExpr(columns)} AS "${VERSION_FIELD}"` : '';
  const res = await tx.query<Row>(
    `SELECT ${q(t.primaryKey)}::text AS "__key"${cols ? `, ${cols}` : ''}${version} FROM ${qt(t.schema, t.table)} WHERE ${keyPredicate(t, '$1')}`,
    [keys],
  );
  return new Map(res.rows.map((r) => [String(r.__key), r]));
}

/** Target rows whose normalised match column equals one of `values` (already normalised). */
export async function selectByMatch(
  tx: Queryable,
  t: TableRef,
  column: string,
  how: MatchNormalisation,
  values: string[],
  columns: string[],
): Promise<Row[]> {
  if (values.length === 0) return [];
  const c = q(checkIdentifier(column, 'match column'));
  const expr = how === 'digits' ? `regexp_replace(${c}::text, '\\D', '', 'g')` : `lower(btrim(${c}::text))`;
  const cols = [...new Set([...columns, column])].map((x) => q(checkIdentifier(x, 'column'))).join(', ');
  // A join with the wanted keys (hash join) instead of `= ANY($1)`, which compares every row with every key.
  const res = await tx.query<Row>(
    `SELECT ${q(t.primaryKey)}::text AS "__key", ${cols} FROM ${qt(t.schema, t.table)} WHERE ${expr} IN (SELECT unnest($1::text[]))`,
    [values],
  );
  return res.rows;
}

/**
 * Keys (as text) of the next `limit` rows after `afterKey` in key order: a keyset scan on the
 * primary key index, for the scan of target rows that have no link yet (the caller filters
 * linked ones with an index lookup — an anti-join over the whole links table would not scale).
 */
export async function selectKeysAfter(tx: Queryable, t: TableRef, afterKey: string | undefined, limit: number): Promise<string[]> {
  const params: unknown[] = [limit];
  let where = '';
  if (afterKey !== undefined) {
    params.push(afterKey);
    where = `WHERE ${q(t.primaryKey)} > $2`;
  }
  const res = await tx.query<{ k: string }>(
    `SELECT ${q(t.primaryKey)}::text AS k FROM ${qt(t.schema, t.table)} ${where} ORDER BY ${q(t.primaryKey)} LIMIT $1`,
    params,
  );
  return res.rows.map((r) => r.k);
}

export interface WriteFailure {
  index: number;
  error: unknown;
  /** A conditional update found the row changed since it was read. */
  changed?: boolean;
}

async function withSavepoint<T>(tx: Queryable, name: string, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const value = await fn();
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return { ok: true, value };
  } catch (error) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return { ok: false, error };
  }
}

/**
 * Insert rows (column → value; absent columns take their default) and return each row's key,
 * or the failure of that row. One multi-row INSERT; on failure, row by row.
 */
export async function insertRows(tx: Queryable, t: TableRef, rows: Row[]): Promise<{ keys: (string | undefined)[]; failures: WriteFailure[] }> {
  const keys: (string | undefined)[] = new Array(rows.length).fill(undefined);
  const failures: WriteFailure[] = [];
  if (rows.length === 0) return { keys, failures };
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].map((c) => checkIdentifier(c, 'column'));
  const build = (subset: Row[]) => {
    const params: unknown[] = [];
    const tuples = subset.map((r) => {
      const vals = cols.map((c) => {
        if (!(c in r)) return 'DEFAULT';
        params.push(r[c]);
        return `$${params.length}`;
      });
      return `(${vals.join(', ')})`;
    });
    const sql =
      cols.length === 0
        ? `INSERT INTO ${qt(t.schema, t.table)} DEFAULT VALUES RETURNING ${q(t.primaryKey)}::text AS k`
        : `INSERT INTO ${qt(t.schema, t.table)} (${cols.map(q).join(', ')}) VALUES ${tuples.join(', ')} RETURNING ${q(t.primaryKey)}::text AS k`;
    return { sql, params };
  };
  if (cols.length > 0) {
    // PostgreSQL returns the rows of a multi-row VALUES insert in VALUES order.
    const all = build(rows);
    const res = await withSavepoint(tx, 'hso_batch', () => tx.query<{ k: string }>(all.sql, all.params));
    if (res.ok && res.value.rows.length === rows.length) {
      res.value.rows.forEach((r, i) => (keys[i] = r.k));
      return { keys, failures };
    }
  }
  for (let i = 0; i < rows.length; i++) {
    const one = build([rows[i]!]);
    const res = await withSavepoint(tx, 'hso_row', () => tx.query<{ k: string }>(one.sql, one.params));
    if (res.ok) keys[i] = res.value.rows[0]?.k;
    else failures.push({ index: i, error: res.error });
  }
  return { keys, failures };
}

/** Update rows by key (each with its own column set). One savepoint for the batch, then row by row on failure. */
export async function updateRows(tx: Queryable, t: TableRef, updates: { key: string; values: Row; ifVersion?: IfVersion }[]): Promise<WriteFailure[]> {
  const work = updates.filter((u) => Object.keys(u.values).length > 0);
  const statements = updates.map((u) => {
    const cols = Object.keys(u.values).map((c) => checkIdentifier(c, 'column'));
    const params = cols.map((c) => u.values[c]);
    params.push(u.key);
    const sets = cols.map((c, i) => `${q(c)} = $${i + 1}`).join(', ');
    // Conditional: READ COMMITTED re-evaluates the WHERE on the latest version of a row it had
    // to wait for, so an edit committed meanwhile makes this update match nothing.
    let cond = '';
    if (u.ifVersion) {
      params.push(u.ifVersion.version);
      cond = ` AND ${versionExpr(u.ifVersion.columns)} = $${params.length}`;
    }
    return cols.length ? { sql: `UPDATE ${qt(t.schema, t.table)} SET ${sets} WHERE ${q(t.primaryKey)} = $${cols.length + 1}${cond}`, params, conditional: !!u.ifVersion } : undefined;
  });
  if (work.length === 0) return [];
  const changed: WriteFailure[] = [];
  const batch = await withSavepoint(tx, 'hso_batch', async () => {
    changed.length = 0;
    for (let i = 0; i < statements.length; i++) {
      const s = statements[i];
      if (!s) continue;
      const r = await tx.query(s.sql, s.params);
      if (s.conditional && r.rowCount === 0) changed.push({ index: i, error: new Error('the row changed since it was read'), changed: true });
    }
  });
  if (batch.ok) return changed;
  const failures: WriteFailure[] = [];
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    if (!s) continue;
    const res = await withSavepoint(tx, 'hso_row', () => tx.query(s.sql, s.params));
    if (!res.ok) failures.push({ index: i, error: res.error });
    else if (s.conditional && res.value.rowCount === 0) failures.push({ index: i, error: new Error('the row changed since it was read'), changed: true });
  }
  return failures;
}

export async function deleteRows(tx: Queryable, t: TableRef, keys: string[]): Promise<WriteFailure[]> {
  if (keys.length === 0) return [];
  const batch = await withSavepoint(tx, 'hso_batch', () => tx.query(`DELETE FROM ${qt(t.schema, t.table)} WHERE ${keyPredicate(t, '$1')}`, [keys]));
  if (batch.ok) return [];
  const failures: WriteFailure[] = [];
  for (let i = 0; i < keys.length; i++) {
    const res = await withSavepoint(tx, 'hso_row', () => tx.query(`DELETE FROM ${qt(t.schema, t.table)} WHERE ${keyPredicate(t, '$1')}`, [[keys[i]]]));
    if (!res.ok) failures.push({ index: i, error: res.error });
  }
  return failures;
}

/** Above this many rows (by the planner's estimate) the estimate is reported instead of an exact count. */
const EXACT_COUNT_LIMIT = 200_000;

/** Rows in the table: exact for small tables, the planner's estimate for big ones (status only; cheap every cycle). */
export async function countRows(tx: Queryable, t: TableRef): Promise<number> {
  const est = await tx.query<{ n: string | null }>(
    `SELECT c.reltuples::bigint::text AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relname = $2`,
    [t.schema, t.table],
  );
  const estimate = Number(est.rows[0]?.n ?? -1);
  if (estimate > EXACT_COUNT_LIMIT) return estimate;
  const r = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qt(t.schema, t.table)}`);
  return Number(r.rows[0]?.n ?? 0);
}

/** Describe a database error for a per-record message (constraint, type) without values from other rows. */
export function describeDbError(err: unknown): string {
  const e = err as { message?: string; code?: string; constraint?: string; column?: string; detail?: string };
  const parts = [e.message ?? String(err)];
  if (e.constraint) parts.push(`constraint ${e.constraint}`);
  if (e.code) parts.push(`SQLSTATE ${e.code}`);
  return parts.join('; ');
}

/** Failures as the connector contract wants them: a lost connection is thrown, a row's own failure described. */
function described(failures: WriteFailure[]): RowFailure[] {
  return failures.map((f) => {
    if (isConnectionError(f.error)) throw f.error;
    return { index: f.index, message: describeDbError(f.error), ...(f.changed ? { changed: true } : {}) };
  });
}

/** Row reads and writes through `q` (the pool, or one transaction). */
export class PgRows implements RowReader, RowWriter {
  private readonly q: Queryable;
  constructor(q: Queryable) {
    this.q = q;
  }
  selectRows(t: TableRef, keys: string[], columns: string[], opts?: { version?: boolean }): Promise<Map<string, Row>> {
    return selectRows(this.q, t, keys, columns, opts);
  }
  selectByMatch(t: TableRef, column: string, how: MatchNormalisation, values: string[], columns: string[]): Promise<Row[]> {
    return selectByMatch(this.q, t, column, how, values, columns);
  }
  selectKeysAfter(t: TableRef, afterKey: string | undefined, limit: number): Promise<string[]> {
    return selectKeysAfter(this.q, t, afterKey, limit);
  }
  countRows(t: TableRef): Promise<number> {
    return countRows(this.q, t);
  }
  async insertRows(t: TableRef, rows: Row[]): Promise<{ keys: (string | undefined)[]; failures: RowFailure[] }> {
    const r = await insertRows(this.q, t, rows);
    return { keys: r.keys, failures: described(r.failures) };
  }
  async updateRows(t: TableRef, updates: { key: string; values: Row; ifVersion?: IfVersion }[]): Promise<RowFailure[]> {
    return described(await updateRows(this.q, t, updates));
  }
  async deleteRows(t: TableRef, keys: string[]): Promise<RowFailure[]> {
    return described(await deleteRows(this.q, t, keys));
  }
}
