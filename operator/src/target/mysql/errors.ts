/**
 * Classification of MySQL / MariaDB errors (mysql2 sets `code` to the ER_* name or a Node
 * network code, and `errno` to the server's number):
 *   unreachable — the server cannot be reached or the session was lost → TargetUnavailable;
 *   record      — the statement was rejected for this row's values → a per-record `Target` error;
 *   other       — anything else (a bug, a missing privilege, a deadlock) → the cycle fails.
 */
import type { TargetErrorClass } from '../connector.js';

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'POOL_CLOSED',
  'ER_CON_COUNT_ERROR', // 1040 too many connections
  'ER_SERVER_SHUTDOWN', // 1053
  'ER_ACCESS_DENIED_ERROR', // 1045 wrong user or password
  'ER_DBACCESS_DENIED_ERROR', // 1044 no access to the database
  'ER_HOST_NOT_PRIVILEGED', // 1130
  'ER_HOST_IS_BLOCKED', // 1129
  'ER_CONNECTION_KILLED', // 1927 (MariaDB)
  'ER_CLIENT_INTERACTION_TIMEOUT', // 4031 (MySQL 8)
  'ER_QUERY_INTERRUPTED', // 1317 (KILL QUERY, server shutdown)
  'ER_OPTION_PREVENTS_STATEMENT', // 1290 read-only server (a failover in progress)
]);

/** Errors caused by the values of one row: the record fails, the batch and the cycle go on. */
const RECORD_CODES = new Set([
  'ER_DUP_ENTRY', // 1062
  'ER_DUP_ENTRY_WITH_KEY_NAME', // 1586
  'ER_BAD_NULL_ERROR', // 1048
  'ER_NO_DEFAULT_FOR_FIELD', // 1364
  'ER_TRUNCATED_WRONG_VALUE', // 1292
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', // 1366
  'WARN_DATA_TRUNCATED', // 1265
  'ER_DATA_TOO_LONG', // 1406
  'ER_WARN_DATA_OUT_OF_RANGE', // 1264
  'ER_DIVISION_BY_ZERO', // 1365
  'ER_WRONG_VALUE', // 1525
  'ER_INVALID_JSON_TEXT', // 3140 (MySQL)
  'ER_INVALID_JSON_TEXT_IN_PARAM', // 3141
  'ER_CHECK_CONSTRAINT_VIOLATED', // 3819 (MySQL)
  'ER_CONSTRAINT_FAILED', // 4025 (MariaDB CHECK)
  'ER_NO_REFERENCED_ROW', // 1216
  'ER_NO_REFERENCED_ROW_2', // 1452
  'ER_ROW_IS_REFERENCED', // 1217
  'ER_ROW_IS_REFERENCED_2', // 1451
  'ER_SIGNAL_EXCEPTION', // 1644 a user trigger's SIGNAL
  'ER_WARN_NULL_TO_NOTNULL', // 1263
  'ER_DATETIME_FUNCTION_OVERFLOW', // 1441
  'ER_WRONG_VALUE_FOR_TYPE', // 1411
]);

const RECORD_ERRNOS = new Set([1062, 1586, 1048, 1364, 1292, 1366, 1265, 1406, 1264, 1365, 1525, 3140, 3141, 3819, 4025, 1216, 1452, 1217, 1451, 1644, 1263, 1441, 1411]);

interface MySqlLikeError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
  sqlMessage?: unknown;
  sqlState?: unknown;
}

/**
 * A database write rejected for a row's values is a `Target` error (DESIGN §2.5: "database
 * write rejected: constraint, type"); the engine's own conversions are the `Mapping` ones.
 */
export function classifyMySqlError(err: unknown): TargetErrorClass {
  const message = describeMySqlError(err);
  if (!err || typeof err !== 'object') return { kind: 'other', message };
  const e = err as MySqlLikeError;
  const code = typeof e.code === 'string' ? e.code : '';
  const msg = typeof e.message === 'string' ? e.message : '';
  if (UNREACHABLE_CODES.has(code) || e.fatal === true || /Pool is closed|connection is in closed state/i.test(msg)) {
    return { kind: 'unreachable', message: `MySQL: ${message}` };
  }
  if (RECORD_CODES.has(code) || (typeof e.errno === 'number' && RECORD_ERRNOS.has(e.errno))) return { kind: 'record', category: 'Target', message };
  // SQLSTATE class 22 (data exception) and 23 (integrity constraint violation).
  if (typeof e.sqlState === 'string' && /^2[23]/.test(e.sqlState)) return { kind: 'record', category: 'Target', message };
  // A statement the server rejected (a missing privilege, a bug): Target, the cycle fails.
  if (code.startsWith('ER_') || typeof e.sqlState === 'string') return { kind: 'other', category: 'Target', message: `MySQL: ${message}` } as TargetErrorClass;
  return { kind: 'other', message };
}

/** Whether an error came from mysql2 (the connector-wide classifier only answers for those). */
export function isMySqlError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as MySqlLikeError;
  return typeof e.sqlState === 'string' || (typeof e.code === 'string' && (e.code.startsWith('ER_') || e.code.startsWith('PROTOCOL_') || e.code === 'POOL_CLOSED'));
}

/** What a record-level server error means, by errno (MySQL and MariaDB share these numbers below 1900). */
const MEANING: Record<number, string> = {
  1062: 'duplicate key',
  1586: 'duplicate key',
  1048: 'NOT NULL column',
  1364: 'NOT NULL column without default',
  1292: 'invalid value for the column type',
  1366: 'invalid value for the column type',
  1265: 'value truncated',
  1406: 'value too long for the column',
  1264: 'value out of range for the column',
  1525: 'invalid value',
  1452: 'foreign key',
  1451: 'foreign key',
  1216: 'foreign key',
  1217: 'foreign key',
  3819: 'check constraint',
  4025: 'check constraint',
  1644: 'rejected by a trigger',
};

/**
 * A database error for a per-record message: the server's message, what it means, its errno
 * and SQLSTATE (no values of other rows). mysql2's ER_ names follow MySQL's numbering, which
 * MariaDB's own errors (1900 and up) do not share, so the name is shown only below 1900.
 */
export function describeMySqlError(err: unknown): string {
  const e = (err ?? {}) as MySqlLikeError;
  const msg = typeof e.sqlMessage === 'string' ? e.sqlMessage : typeof e.message === 'string' ? e.message : String(err);
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const code = typeof e.code === 'string' && e.code ? e.code : undefined;
  const details: string[] = [];
  if (errno !== undefined && MEANING[errno]) details.push(MEANING[errno]!);
  if (code && (errno === undefined || errno < 1900 || !code.startsWith('ER_'))) details.push(code);
  if (errno !== undefined) details.push(`errno ${errno}`);
  if (typeof e.sqlState === 'string' && e.sqlState) details.push(`SQLSTATE ${e.sqlState}`);
  return details.length ? `${msg} (${details.join(', ')})` : msg;
}
