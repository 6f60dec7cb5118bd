import { describe, expect, it } from 'vitest';
import { compileTransform, transformIssues, TransformError } from '../../../operator/src/sync/transform.js';
import { countryCount, findCountry } from '../../../operator/src/sync/countries.js';

describe('field transforms', () => {
  it('valueMap maps HubSpot → target and inverts for target → HubSpot; unmapped values pass through', () => {
    const t = compileTransform({ valueMap: { US: 'United States', DE: 'Germany' } })!;
    expect(t.forward('US')).toBe('United States');
    expect(t.inverse('Germany')).toBe('DE');
    expect(t.forward('FR')).toBe('FR');
    expect(t.inverse('France')).toBe('France');
  });

  it('rejects a valueMap that is not one-to-one, and more than one transform', () => {
    expect(transformIssues({ valueMap: { a: 'x', b: 'x' } })).toEqual(['valueMap must be one-to-one: "a" and "b" both map to "x"']);
    expect(transformIssues({ lowercase: true, trim: true })).toEqual(['only one transform may be set, found lowercase, trim']);
    expect(() => compileTransform({ valueMap: { a: 'x', b: 'x' } })).toThrow(TransformError);
  });

  it('lowercase, uppercase and trim apply towards the target and pass values back unchanged', () => {
    for (const [spec, input, out] of [
      [{ lowercase: true }, 'ACME Inc', 'acme inc'],
      [{ uppercase: true }, 'acme inc', 'ACME INC'],
      [{ trim: true }, '  acme  ', 'acme'],
    ] as const) {
      const t = compileTransform(spec)!;
      expect(t.forward(input)).toBe(out);
      expect(t.inverse(out)).toBe(out);
    }
  });

  it('countryCode normalises names, alpha-2 and alpha-3 codes and common aliases', () => {
    const a2 = compileTransform({ countryCode: 'alpha2' })!;
    expect(['Germany', 'DEU', 'de', 'Deutschland'].map((v) => a2.forward(v))).toEqual(['DE', 'DE', 'DE', 'DE']);
    expect(['United States', 'USA', 'U.S.A.', 'united states of america'].map((v) => a2.forward(v))).toEqual(['US', 'US', 'US', 'US']);
    expect(compileTransform({ countryCode: 'alpha3' })!.forward('Côte d’Ivoire')).toBe('CIV');
    expect(compileTransform({ countryCode: 'name' })!.forward('gb')).toBe('United Kingdom');
    expect(() => a2.forward('Atlantis')).toThrow(/"Atlantis" is not a known country/);
    expect(a2.inverse('DE')).toBe('DE');
  });

  it('knows every ISO 3166-1 country', () => {
    expect(countryCount()).toBe(249);
    expect(findCountry('Japan')).toEqual({ alpha2: 'JP', alpha3: 'JPN', name: 'Japan' });
  });
});
