/**
 * SQL identifiers that come from specs (schema, table, column, primary key). They are validated
 * against a conservative pattern — lower-case, unquoted-safe PostgreSQL names — and always
 * emitted double-quoted, so no spec value can ever change the shape of a statement. Values are
 * never interpolated: they always travel as bind parameters.
 */
import { InvalidIdentifierError, isValidIdentifier } from '../connector.js';

export { checkIdentifier, IDENTIFIER_PATTERN, InvalidIdentifierError, isValidIdentifier } from '../connector.js';

/** Quote an identifier that already passed validation (defence in depth: re-checks). */
export function q(ident: string): string {
  if (!isValidIdentifier(ident)) throw new InvalidIdentifierError('identifier', ident);
  return `"${ident}"`;
}

/** schema.table, both quoted. */
export function qt(schema: string, table: string): string {
  return `${q(schema)}.${q(table)}`;
}
