/**
 * Classification of PostgreSQL (pg, PGlite) errors for the connector contract: unreachable
 * (connection refused, lost, too many clients, shutting down), record (a row's data or a
 * constraint: SQLSTATE classes 22 and 23) or other (another statement failure, with its SQLSTATE).
 */
import { registerErrorClassifier, type TargetErrorClass } from '../connector.js';
import { isConnectionError } from './db.js';
import { describeDbError } from './rows.js';

const SQLSTATE = /^[0-9A-Z]{5}$/;

export function classifyPgError(err: unknown): TargetErrorClass | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (isConnectionError(err)) return { kind: 'unreachable', message: String(e?.message ?? err) };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (!SQLSTATE.test(code)) return undefined;
  if (code.startsWith('22') || code.startsWith('23')) return { kind: 'record', category: 'Target', message: describeDbError(err) };
  return { kind: 'other', category: 'Target', message: `target database: ${String(e?.message)} (SQLSTATE ${code})` };
}

registerErrorClassifier(classifyPgError);
