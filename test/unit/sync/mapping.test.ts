import { describe, expect, it } from 'vitest';
import { buildObjectPlan, type PlanInput } from '../../../operator/src/sync/mapping.js';
import type { PropertyDefinition } from '../../../operator/src/hubspot/types.js';
import type { ColumnInfo } from '../../../operator/src/target/connector.js';

const props = new Map<string, PropertyDefinition>(
  (
    [
      ['email', 'string'],
      ['firstname', 'string'],
      ['lastname', 'string'],
      ['phone', 'phone_number'],
      ['lifecyclestage', 'enumeration'],
      ['hs_object_id', 'number'],
      ['lastmodifieddate', 'datetime'],
    ] as const
  ).map(([name, type]) => [name, { name, label: name, type, fieldType: 'text' }]),
);
props.get('hs_object_id')!.modificationMetadata = { readOnlyValue: true };
const text: ColumnInfo = { kind: 'text', dataType: 'text', hasDefault: false, nullable: true };
const columns = new Map<string, ColumnInfo>([
  ['id', { kind: 'integer', dataType: 'bigint', hasDefault: true, nullable: false }],
  ['email', text],
  ['firstname', text],
  ['lastname', text],
  ['lifecyclestage', text],
  ['hubspot_id', text],
]);

const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  index: 0,
  object: { type: 'contacts', table: 'contacts', direction: 'HubSpotToTarget', match: { property: 'email', column: 'email' } },
  schema: 'public',
  createTables: false,
  filters: [],
  properties: props,
  columns,
  ...over,
});

describe('object plans', () => {
  it('uses the default mapping without a FieldMapping: standard properties to same-named existing columns', () => {
    const { plan, issues } = buildObjectPlan(input());
    expect(issues).toEqual([]);
    expect(plan.fields.map((f) => f.property)).toEqual(['email', 'firstname', 'lastname', 'lifecyclestage']);
    expect(plan.properties).toEqual(['email', 'firstname', 'lastname', 'lifecyclestage', 'lastmodifieddate']);
    expect(plan.fields.every((f) => f.toTarget && !f.toHubSpot)).toBe(true);
  });

  it('names each problem of a FieldMapping by its field path', () => {
    const { issues } = buildObjectPlan(
      input({
        fieldMapping: {
          name: 'contacts-map',
          spec: {
            integrationRef: { name: 'acme' },
            objectType: 'contacts',
            fields: [
              { property: 'email', column: 'email' },
              { property: 'no_such_property', column: 'firstname' },
              { property: 'lastname', column: 'no_such_column' },
              { property: 'firstname', column: 'lastname', direction: 'TwoWay' },
              { property: 'email', column: 'lifecyclestage' },
              { property: 'lifecyclestage', column: 'email', mode: 'ForwardOnly' },
              { property: 'phone', column: 'hubspot_id', transform: { valueMap: { a: 'x', b: 'x' } } },
            ],
          },
        },
        filters: [{ name: 'only-leads', spec: { integrationRef: { name: 'acme' }, objectType: 'contacts', rules: [{ property: 'city', operator: 'Equals', value: 'Berlin' }] } }],
      }),
    );
    expect(issues.map((i) => `${i.kind} ${i.name} ${i.field}`)).toEqual([
      'FieldMapping contacts-map spec.fields[1].property',
      'FieldMapping contacts-map spec.fields[2].column',
      'FieldMapping contacts-map spec.fields[3].direction',
      'FieldMapping contacts-map spec.fields[4].property',
      'FieldMapping contacts-map spec.fields[5].column',
      'FieldMapping contacts-map spec.fields[5].order',
      'FieldMapping contacts-map spec.fields[6].transform',
      'SyncFilter only-leads spec.rules[0].property',
    ]);
    expect(issues[0]!.message).toBe('HubSpot contacts have no property "no_such_property" (set createMissingProperties to create it)');
    expect(issues[2]!.message).toBe("direction TwoWay is wider than the object's direction HubSpotToTarget");
    expect(issues[3]!.message).toMatch(/property "email" is mapped twice \(also at spec.fields\[0\]\)/);
  });

  it('rejects identifiers that are not plain SQL names, and missing tables unless createTables', () => {
    const bad = buildObjectPlan(input({ object: { type: 'contacts', table: 'contacts"; DROP TABLE x; --', primaryKey: 'Id' } }));
    expect(bad.issues.map((i) => i.field)).toEqual(expect.arrayContaining(['spec.objects[0].table', 'spec.objects[0].primaryKey']));
    const missing = buildObjectPlan(input({ columns: undefined }));
    expect(missing.issues.map((i) => i.message)).toContain('table "public.contacts" does not exist (set spec.target.postgres.createTables to create it)');
    const created = buildObjectPlan(input({ columns: undefined, createTables: true }));
    expect(created.issues).toEqual([]);
    expect(created.plan.missingColumns.map((f) => f.column)).toEqual(['email', 'firstname', 'lastname', 'phone', 'lifecyclestage']);
  });

  it('maps read-only HubSpot properties one way only, and plans creation of missing properties', () => {
    const { plan, issues } = buildObjectPlan(
      input({
        object: { type: 'contacts', table: 'contacts', direction: 'TwoWay' },
        fieldMapping: {
          name: 'm',
          spec: { integrationRef: { name: 'a' }, objectType: 'contacts', createMissingProperties: true, fields: [{ property: 'hs_object_id', column: 'hubspot_id' }, { property: 'favourite_colour', column: 'firstname' }] },
        },
      }),
    );
    expect(issues).toEqual([]);
    expect(plan.fields.find((f) => f.property === 'hs_object_id')).toMatchObject({ toTarget: true, toHubSpot: false });
    expect(plan.missingProperties.map((f) => f.property)).toEqual(['favourite_colour']);
  });
});
