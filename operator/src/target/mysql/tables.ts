/**
 * Target table introspection on MySQL / MariaDB (information_schema) with the mapping of MySQL
 * column types to the engine's neutral column kinds, and, with `createTables`, creation of
 * missing tables and columns with MySQL types for the HubSpot property types.
 */
import { checkIdentifier, type ColumnInfo, type ColumnKind, type NewColumn, type TableDescription } from '../connector.js';
import type { MySqlDb, MySqlQueryable } from './db.js';
import { bq, bqt } from './identifiers.js';

/**
 * The column kind of a MySQL column. `tinyint(1)` and `bit(1)` are booleans (MySQL's BOOLEAN is
 * TINYINT(1)); MariaDB's JSON is LONGTEXT with a json_valid check, so it reads as text.
 */
export function mysqlColumnKindOf(dataType: string, columnType: string): ColumnKind {
  const t = dataType.toLowerCase();
  const full = columnType.toLowerCase();
  if ((t === 'tinyint' && /^tinyint\(1\)/.test(full)) || full === 'bit(1)' || t === 'boolean' || t === 'bool') return 'boolean';
  switch (t) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      return 'integer';
    case 'decimal':
    case 'numeric':
    case 'float':
    case 'double':
    case 'real':
      return 'decimal';
    case 'date':
      return 'date';
    case 'datetime':
    case 'timestamp':
      return 'datetime';
    case 'json':
      return 'json';
    default:
      return 'text';
  }
}

/** The MySQL type createTables gives a column of a neutral kind. */
export function mysqlTypeFor(kind: ColumnKind): string {
  switch (kind) {
    case 'integer':
      return 'bigint';
    case 'decimal':
      return 'decimal(38,10)';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'datetime':
      // HubSpot times have millisecond precision.
      return 'datetime(3)';
    case 'json':
      return 'json';
    default:
      // HubSpot string properties hold up to 65,536 characters.
      return 'text';
  }
}

/** Columns and primary key of database.table, or undefined when the table does not exist. */
export async function describeMySqlTable(db: MySqlQueryable, database: string, table: string): Promise<TableDescription | undefined> {
  const r = await db.query<{
    COLUMN_NAME: string;
    DATA_TYPE: string;
    COLUMN_TYPE: string;
    COLUMN_DEFAULT: string | null;
    IS_NULLABLE: string;
    EXTRA: string;
    COLUMN_KEY: string;
  }>(
    `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_DEFAULT, IS_NULLABLE, EXTRA, COLUMN_KEY FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
  if (r.rows.length === 0) return undefined;
  const pk = await db.query<{ COLUMN_NAME: string }>(
    `SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
    [database, table],
  );
  const columns = new Map<string, ColumnInfo>();
  for (const c of r.rows) {
    const extra = String(c.EXTRA ?? '').toLowerCase();
    // MariaDB reports a missing default as the text 'NULL' for nullable columns and NULL otherwise.
    const hasDefault = (c.COLUMN_DEFAULT !== null && !(c.COLUMN_DEFAULT === 'NULL' && c.IS_NULLABLE === 'YES')) || extra.includes('auto_increment');
    columns.set(c.COLUMN_NAME, {
      kind: mysqlColumnKindOf(c.DATA_TYPE, c.COLUMN_TYPE),
      dataType: c.COLUMN_TYPE,
      hasDefault: hasDefault || extra.includes('default_generated'),
      nullable: c.IS_NULLABLE === 'YES',
    });
  }
  return { columns, primaryKey: pk.rows.map((x) => x.COLUMN_NAME) };
}

/** Create the table (key column a BIGINT AUTO_INCREMENT) or add the missing columns. Idempotent. */
export async function ensureMySqlTable(
  db: MySqlDb,
  database: string,
  table: string,
  primaryKey: string,
  columns: NewColumn[],
): Promise<void> {
  checkIdentifier(database, 'database');
  checkIdentifier(table, 'table');
  checkIdentifier(primaryKey, 'primaryKey');
  // DDL commits implicitly in MySQL: each statement is idempotent instead of one transaction,
  // and runs without the statement timeout (adding columns may rebuild a large table).
  await db.withConnection(
    async (c) => {
      await c.query(`CREATE DATABASE IF NOT EXISTS ${bq(database)} CHARACTER SET utf8mb4`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${bqt(database, table)} (${bq(primaryKey)} bigint NOT NULL AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      );
      const existing = await describeMySqlTable(c, database, table);
      const add = columns.filter((col) => col.column !== primaryKey && !existing?.columns.has(col.column));
      if (add.length === 0) return;
      const clauses = add.map((col) => `ADD COLUMN ${bq(checkIdentifier(col.column, 'column'))} ${mysqlTypeFor(col.kind)} NULL`);
      await c.query(`ALTER TABLE ${bqt(database, table)} ${clauses.join(', ')}`);
    },
    { untimed: true },
  );
}
