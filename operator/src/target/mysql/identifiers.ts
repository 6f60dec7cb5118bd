/**
 * MySQL identifiers from specs (database, table, column, primary key): validated with the
 * connector-wide rule (target/connector.ts `checkIdentifier`: lower-case letters, digits and
 * underscores — within MySQL's 64-character limit) and always emitted back-quoted, so no spec
 * value can change the shape of a statement. Values never appear in SQL text.
 */
import { InvalidIdentifierError, isValidIdentifier } from '../connector.js';

/** Back-quote an identifier (re-validated: defence in depth). */
export function bq(ident: string): string {
  if (!isValidIdentifier(ident)) throw new InvalidIdentifierError('identifier', ident);
  return `\`${ident}\``;
}

/** database.table, both back-quoted. */
export function bqt(database: string, table: string): string {
  return `${bq(database)}.${bq(table)}`;
}

/** An integration UID as it may appear inside trigger bodies (checked: it can never hold a quote). */
const UID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function checkUid(uid: string): string {
  if (!UID_PATTERN.test(uid)) throw new Error(`integration UID ${JSON.stringify(uid)} is not usable: expected ${UID_PATTERN.source}`);
  return uid;
}
