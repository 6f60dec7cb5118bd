import { describe, expect, it } from 'vitest';
import { compileFilters, evaluateFilters, pushDownFilters, ruleMatches } from '../../../operator/src/sync/filter.js';
import type { FilterRule } from '../../../operator/src/api/types.js';
import type { PropertyType } from '../../../operator/src/sync/values.js';

const r = (operator: FilterRule['operator'], value?: string | string[]): FilterRule =>
  Array.isArray(value) ? { property: 'p', operator, values: value } : { property: 'p', operator, value };

describe('filter operators, typed by the HubSpot property type', () => {
  const cases: [FilterRule, PropertyType, string | null, boolean][] = [
    [r('Equals', 'lead'), 'enumeration', 'lead', true],
    [r('Equals', 'lead'), 'enumeration', 'customer', false],
    [r('Equals', '10'), 'number', '10.0', true],
    [r('NotEquals', 'lead'), 'enumeration', 'customer', true],
    [r('NotEquals', 'lead'), 'enumeration', null, true],
    [r('Contains', 'acme'), 'string', 'The ACME corp', true],
    [r('NotContains', 'acme'), 'string', 'Globex', true],
    [r('NotContains', 'acme'), 'string', 'acme', false],
    [r('StartsWith', 'ali'), 'string', 'Alice', true],
    [r('EndsWith', '@acme.com'), 'string', 'bob@acme.com', true],
    [r('EndsWith', '@acme.com'), 'string', 'bob@acme.co', false],
    [r('GreaterThan', '9'), 'number', '10', true], // numeric, not string, comparison
    [r('GreaterThan', '10'), 'number', '10', false],
    [r('GreaterThanOrEqual', '10'), 'number', '10', true],
    [r('LessThan', '2026-01-01'), 'date', '2025-12-31', true],
    [r('LessThan', '2026-01-01'), 'date', String(Date.UTC(2026, 0, 1)), false],
    [r('LessThanOrEqual', '2026-01-01T00:00:00Z'), 'datetime', '2026-01-01T00:00:00.000Z', true],
    [r('GreaterThan', '2026-01-01T00:00:00Z'), 'datetime', String(Date.UTC(2026, 0, 1, 0, 0, 1)), true],
    [r('Equals', 'true'), 'bool', 'true', true],
    [r('Equals', 'true'), 'bool', 'false', false],
    [r('IsEmpty'), 'string', null, true],
    [r('IsEmpty'), 'string', '', true],
    [r('IsEmpty'), 'string', 'x', false],
    [r('IsNotEmpty'), 'string', 'x', true],
    [r('In', ['lead', 'customer']), 'enumeration', 'customer', true],
    [r('In', ['lead', 'customer']), 'enumeration', 'subscriber', false],
    [r('In', ['1', '2']), 'number', '2.0', true],
    [r('NotIn', ['lead', 'customer']), 'enumeration', 'subscriber', true],
    [r('NotIn', ['lead', 'customer']), 'enumeration', 'lead', false],
    [r('GreaterThan', '5'), 'number', null, false],
  ];
  it.each(cases)('%o on a %s value %j → %s', (rule, type, value, expected) => {
    expect(ruleMatches(rule, type, value)).toBe(expected);
  });

  it('covers all 14 operators', () => {
    expect(new Set(cases.map((c) => c[0].operator)).size).toBe(14);
  });
});

describe('several filters on one object', () => {
  const types = (p: string): PropertyType | undefined => (p === 'score' ? 'number' : p === 'lifecyclestage' ? 'enumeration' : 'string');
  const filters = compileFilters([
    { name: 'acme-only', spec: { integrationRef: { name: 'x' }, objectType: 'contacts', action: 'Include', rules: [{ property: 'email', operator: 'EndsWith', value: '@acme.com' }, { property: 'score', operator: 'GreaterThan', value: '10' }] } },
    { name: 'no-leads', spec: { integrationRef: { name: 'x' }, objectType: 'contacts', action: 'Exclude', rules: [{ property: 'lifecyclestage', operator: 'Equals', value: 'lead' }] } },
    { name: 'push-only', spec: { integrationRef: { name: 'x' }, objectType: 'contacts', appliesTo: 'TargetToHubSpot', rules: [{ property: 'email', operator: 'StartsWith', value: 'vip' }] } },
  ]);
  const ev = (side: 'toTarget' | 'toHubSpot', rec: Record<string, string>) => evaluateFilters(filters, side, types, (p) => rec[p]);

  it('every Include must match (rules ANDed), no Exclude may match; appliesTo selects the direction', () => {
    expect(ev('toTarget', { email: 'a@acme.com', score: '11', lifecyclestage: 'customer' })).toEqual({ pass: true, matched: ['acme-only'] });
    expect(ev('toTarget', { email: 'a@acme.com', score: '9', lifecyclestage: 'customer' }).pass).toBe(false);
    expect(ev('toTarget', { email: 'a@acme.com', score: '11', lifecyclestage: 'lead' })).toEqual({ pass: false, matched: ['acme-only', 'no-leads'] });
    expect(ev('toTarget', { email: 'a@other.com', score: '11', lifecyclestage: 'customer' }).pass).toBe(false);
    // The TargetToHubSpot filter applies only when pushing.
    expect(ev('toHubSpot', { email: 'a@acme.com', score: '11', lifecyclestage: 'customer' }).pass).toBe(false);
    expect(ev('toHubSpot', { email: 'vip@acme.com', score: '11', lifecyclestage: 'customer' }).pass).toBe(true);
  });

  it('pushes down only what HubSpot search can express as a superset of the local rule', () => {
    expect(pushDownFilters(filters, types)).toEqual([{ propertyName: 'score', operator: 'GT', value: '10' }]);
    const more = compileFilters([
      { name: 'x', spec: { integrationRef: { name: 'x' }, objectType: 'contacts', rules: [
        { property: 'lifecyclestage', operator: 'In', values: ['lead'] },
        { property: 'phone', operator: 'IsNotEmpty' },
        { property: 'createdate', operator: 'GreaterThanOrEqual', value: '2026-01-01' },
      ] } },
    ]);
    const t = (p: string): PropertyType | undefined => (p === 'createdate' ? 'date' : p === 'lifecyclestage' ? 'enumeration' : 'string');
    expect(pushDownFilters(more, t)).toEqual([
      { propertyName: 'lifecyclestage', operator: 'IN', values: ['lead'] },
      { propertyName: 'phone', operator: 'HAS_PROPERTY' },
      { propertyName: 'createdate', operator: 'GTE', value: String(Date.UTC(2026, 0, 1)) },
    ]);
  });
});
