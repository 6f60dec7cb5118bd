import { describe, expect, it } from 'vitest';
import { checkIdentifier, InvalidIdentifierError, q, qt } from '../../../operator/src/target/postgres/identifiers.js';

describe('SQL identifiers from specs', () => {
  it('accepts plain lower-case names and always quotes them', () => {
    expect(checkIdentifier('contacts_2026', 'spec.objects[0].table')).toBe('contacts_2026');
    expect(q('email')).toBe('"email"');
    expect(qt('public', 'contacts')).toBe('"public"."contacts"');
  });

  it.each(['Contacts', 'contacts; DROP TABLE users', 'a"b', '1table', '', 'x'.repeat(64), 'naïve', 'two words'])('rejects %j with a message naming the field', (bad) => {
    expect(() => checkIdentifier(bad, 'spec.objects[0].table')).toThrow(InvalidIdentifierError);
    expect(() => checkIdentifier(bad, 'spec.objects[0].table')).toThrow(/^spec\.objects\[0\]\.table: .* is not a valid SQL identifier/);
    expect(() => q(bad)).toThrow(InvalidIdentifierError);
  });
});
