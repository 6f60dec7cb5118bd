import { describe, expect, it } from 'vitest';
import { canonHubSpot, canonTarget, ConversionError, hubSpotToTarget, targetToHubSpot, type FieldValueSpec } from '../../../operator/src/sync/values.js';
import { compileTransform } from '../../../operator/src/sync/transform.js';

const f = (over: Partial<FieldValueSpec>): FieldValueSpec => ({ property: 'p', column: 'c', propertyType: 'string', columnKind: 'text', ...over });

describe('canonical values (echo and churn suppression)', () => {
  it('normalises what HubSpot reformats: emails, phone numbers, numbers, dates, booleans, empties', () => {
    expect(canonHubSpot(f({ property: 'email' }), ' Alice@Example.COM ')).toBe('alice@example.com');
    expect(canonTarget(f({ column: 'email' }), 'alice@example.com')).toBe('alice@example.com');
    expect(canonHubSpot(f({ propertyType: 'phone_number' }), '+1 (555) 010-0000')).toBe('15550100000');
    expect(canonTarget(f({ property: 'phone' }), '+1 555 010 0000')).toBe('15550100000');
    expect(canonHubSpot(f({ propertyType: 'number' }), '10.50')).toBe('10.5');
    expect(canonTarget(f({ columnKind: 'decimal' }), '10.500')).toBe('10.5');
    expect(canonHubSpot(f({ propertyType: 'datetime' }), '2026-01-02T03:04:05.000Z')).toBe(String(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(canonTarget(f({ columnKind: 'datetime' }), new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe(String(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(canonHubSpot(f({ propertyType: 'date' }), String(Date.UTC(2026, 0, 2)))).toBe('2026-01-02');
    expect(canonTarget(f({ columnKind: 'date' }), '2026-01-02')).toBe('2026-01-02');
    expect(canonHubSpot(f({ propertyType: 'bool' }), 'TRUE')).toBe('true');
    expect(canonTarget(f({ columnKind: 'boolean' }), false)).toBe('false');
    expect(canonHubSpot(f({}), '')).toBeNull();
    expect(canonTarget(f({}), null)).toBeNull();
  });

  it('converts HubSpot strings to column types and back, through the transform', () => {
    expect(hubSpotToTarget(f({ columnKind: 'decimal', propertyType: 'number' }), '12.5')).toBe('12.5');
    expect(hubSpotToTarget(f({ columnKind: 'integer', propertyType: 'number' }), '12')).toBe('12');
    expect(hubSpotToTarget(f({ columnKind: 'boolean', propertyType: 'bool' }), 'true')).toBe(true);
    expect(hubSpotToTarget(f({ columnKind: 'date', propertyType: 'date' }), String(Date.UTC(2026, 4, 1)))).toBe('2026-05-01');
    expect(hubSpotToTarget(f({ columnKind: 'datetime', propertyType: 'datetime' }), '1767225600000')).toBe('2026-01-01T00:00:00.000Z');
    expect(hubSpotToTarget(f({}), '')).toBeNull();
    expect(targetToHubSpot(f({ propertyType: 'number', columnKind: 'decimal' }), 12.5)).toBe('12.5');
    expect(targetToHubSpot(f({ propertyType: 'bool', columnKind: 'boolean' }), true)).toBe('true');
    expect(targetToHubSpot(f({ propertyType: 'date', columnKind: 'date' }), '2026-05-01')).toBe('2026-05-01');
    expect(targetToHubSpot(f({ propertyType: 'datetime', columnKind: 'datetime' }), new Date(Date.UTC(2026, 0, 1)))).toBe('2026-01-01T00:00:00.000Z');
    expect(targetToHubSpot(f({}), null)).toBe('');
    const mapped = f({ transform: compileTransform({ valueMap: { US: 'United States' } }) });
    expect(hubSpotToTarget(mapped, 'US')).toBe('United States');
    expect(targetToHubSpot(mapped, 'United States')).toBe('US');
  });

  it('reports values that cannot be converted as Mapping errors naming the field', () => {
    expect(() => hubSpotToTarget(f({ property: 'amount', column: 'amount', columnKind: 'decimal' }), 'lots')).toThrow(
      new ConversionError('property "amount" → column "amount": "lots" is not a number'),
    );
    expect(() => hubSpotToTarget(f({ columnKind: 'integer' }), '1.5')).toThrow(/is not an integer/);
    expect(() => hubSpotToTarget(f({ columnKind: 'boolean' }), 'maybe')).toThrow(/is not a boolean/);
    expect(() => hubSpotToTarget(f({ columnKind: 'date' }), 'someday')).toThrow(/is not a date/);
    expect(() => targetToHubSpot(f({ propertyType: 'number' }), 'abc')).toThrow(/is not a number/);
    expect(() => hubSpotToTarget(f({ transform: compileTransform({ countryCode: 'alpha2' }) }), 'Atlantis')).toThrow(ConversionError);
  });
});
