/**
 * ONE value-normalisation rule (issue 9/10): the canonical values that are hashed and compared,
 * and the match keys that link records, decide "is this a phone number / an email" the same
 * way, so a record never links by one rule and hashes by another.
 */
import { describe, expect, it } from 'vitest';
import { buildObjectPlan } from '../../../operator/src/sync/mapping.js';
import { canonHubSpot, canonTarget, matchNormalisationOf, normalisationOf, type FieldValueSpec } from '../../../operator/src/sync/values.js';
import { matchKey, type ColumnInfo } from '../../../operator/src/target/connector.js';
import type { PropertyDefinition } from '../../../operator/src/hubspot/types.js';

const f = (over: Partial<FieldValueSpec>): FieldValueSpec => ({ property: 'p', column: 'c', propertyType: 'string', columnKind: 'text', ...over });

describe('the value-normalisation rule', () => {
  it.each([
    [f({ property: 'phone' }), 'phone', 'digits'],
    [f({ property: 'mobilephone' }), 'phone', 'digits'],
    [f({ property: 'fax' }), 'phone', 'digits'],
    [f({ property: 'hs_whatsapp', propertyType: 'phone_number' }), 'phone', 'digits'],
    [f({ property: 'email' }), 'email', 'lowerTrim'],
    [f({ property: 'work_address', column: 'work_email' }), 'email', 'lowerTrim'],
    [f({ property: 'domain' }), 'none', 'lowerTrim'],
  ] as const)('%o is %s, matched by %s', (field, kind, how) => {
    expect(normalisationOf(field)).toBe(kind);
    expect(matchNormalisationOf(field)).toBe(how);
  });

  it('a phone number hashes and matches by the same digits on both sides, whatever its property name', () => {
    const fax = f({ property: 'fax', column: 'fax' });
    const hs = canonHubSpot(fax, '+1 (555) 010-0000');
    const tg = canonTarget(fax, '1-555-010-0000');
    expect(hs).toBe(tg);
    expect(matchKey('+1 (555) 010-0000', matchNormalisationOf(fax))).toBe(hs);
  });

  it('the plan carries the match rule of its match field (a phone_number property not named phone)', () => {
    const columns = new Map<string, ColumnInfo>([
      ['id', { kind: 'integer', dataType: 'bigint', hasDefault: true, nullable: false }],
      ['whatsapp', { kind: 'text', dataType: 'text', hasDefault: false, nullable: true }],
    ]);
    const properties = new Map<string, PropertyDefinition>([
      ['hs_whatsapp_phone_number', { name: 'hs_whatsapp_phone_number', label: 'WhatsApp', type: 'phone_number', fieldType: 'phonenumber' } as PropertyDefinition],
    ]);
    const { plan, issues } = buildObjectPlan({
      index: 0,
      object: { type: 'contacts', table: 'people', match: { property: 'hs_whatsapp_phone_number', column: 'whatsapp' } } as never,
      schema: 'public',
      createTables: false,
      filters: [],
      properties,
      columns,
      tablePrimaryKey: ['id'],
    });
    expect(issues).toEqual([]);
    expect(plan.match).toEqual({ property: 'hs_whatsapp_phone_number', column: 'whatsapp', how: 'digits' });
  });

  it('a table without a primary key is a spec issue naming the table and what to add', () => {
    const columns = new Map<string, ColumnInfo>([['id', { kind: 'integer', dataType: 'bigint', hasDefault: false, nullable: true }]]);
    const { issues } = buildObjectPlan({
      index: 2,
      object: { type: 'contacts', table: 'people' } as never,
      schema: 'crm',
      createTables: false,
      filters: [],
      properties: new Map(),
      columns,
      tablePrimaryKey: [],
      targetFields: { schema: 'spec.target.mysql.database', createTables: 'spec.target.mysql.createTables' },
    });
    expect(issues).toContainEqual(
      expect.objectContaining({ field: 'spec.objects[2].table', message: expect.stringMatching(/"crm.people" has no primary key; add a primary key on its key column "id"/) }),
    );
  });
});
