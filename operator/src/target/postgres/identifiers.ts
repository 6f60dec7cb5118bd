/**
 * SQL identifiers that come from specs (schema, table, column, primary key). They are validated
 * against a conservative pattern — lower-case, unquoted-safe PostgreSQL names — and always
 * emitted double-quoted, so no spec value can ever change the shape of a statement. Values are
 * never interpolated: they always travel as bind parameters.
 */
export const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export class InvalidIdentifierError extends Error {
  readonly field: string;
  constructor(field: string, value: unknown) {
    super(
      `${field}: ${JSON.stringify(value)} is not a valid SQL identifier; expected lower-case letters, digits and ` +
        `underscores, starting with a letter or underscore, at most 63 characters (pattern ${IDENTIFIER_PATTERN.source})`,
    );
    this.name = 'InvalidIdentifierError';
    this.field = field;
  }
}

export function isValidIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER_PATTERN.test(value);
}

/** Validate `value` (named `field` in error messages) and return it. */
export function checkIdentifier(value: unknown, field: string): string {
  if (!isValidIdentifier(value)) throw new InvalidIdentifierError(field, value);
  return value;
}

/** Quote an identifier that already passed validation (defence in depth: re-checks). */
export function q(ident: string): string {
  if (!isValidIdentifier(ident)) throw new InvalidIdentifierError('identifier', ident);
  return `"${ident}"`;
}

/** schema.table, both quoted. */
export function qt(schema: string, table: string): string {
  return `${q(schema)}.${q(table)}`;
}
