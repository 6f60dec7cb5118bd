import { describe, expect, it } from 'vitest';
import { ObjectTypes } from '../../../operator/src/sandbox/hubspot/object-types.js';
import { validateValue, type PropertyDef } from '../../../operator/src/sandbox/hubspot/properties.js';
import { executeSearch, parseSearchRequest } from '../../../operator/src/sandbox/hubspot/search.js';
import { HubSpotHttpError } from '../../../operator/src/sandbox/hubspot/errors.js';

function prop(over: Partial<PropertyDef>): PropertyDef {
  return {
    name: 'p', label: 'P', type: 'string', fieldType: 'text', groupName: 'g', description: '', options: [], hasUniqueValue: false,
    hubspotDefined: false, readOnlyValue: false, calculated: false, formField: true, displayOrder: 0, createdAt: '', updatedAt: '',
    archived: false, column: 0, ...over,
  };
}

describe('validateValue', () => {
  it('normalises like HubSpot and names the failing code', () => {
    expect(validateValue(prop({ name: 'email' }), '  Mixed@Case.IO ')).toEqual({ ok: true, value: 'mixed@case.io' });
    expect(validateValue(prop({ name: 'email' }), 'a@b')).toMatchObject({ ok: false, error: { code: 'INVALID_EMAIL', propertyName: 'email' } });
    expect(validateValue(prop({ type: 'number' }), 12)).toEqual({ ok: true, value: '12' });
    expect(validateValue(prop({ type: 'number' }), '1,5')).toMatchObject({ ok: false, error: { code: 'INVALID_INTEGER' } });
    expect(validateValue(prop({ type: 'date' }), '2024-02-29')).toEqual({ ok: true, value: '2024-02-29' });
    expect(validateValue(prop({ type: 'datetime' }), 0)).toEqual({ ok: true, value: '1970-01-01T00:00:00.000Z' });
    expect(validateValue(prop({ type: 'bool' }), true)).toEqual({ ok: true, value: 'true' });
    const enumDef = prop({ type: 'enumeration', fieldType: 'checkbox', options: [{ label: 'A', value: 'a' }, { label: 'B', value: 'b' }] });
    expect(validateValue(enumDef, 'a;b')).toEqual({ ok: true, value: 'a;b' });
    expect(validateValue(enumDef, 'a;c')).toMatchObject({ ok: false, error: { code: 'INVALID_OPTION' } });
    expect(validateValue(prop({}), '')).toEqual({ ok: true, value: undefined }); // "" clears
    expect(validateValue(prop({}), { nested: true })).toMatchObject({ ok: false, error: { code: 'INVALID_PROPERTY_VALUE' } });
  });
});

describe('search planner', () => {
  function contactsWith(n: number) {
    const types = new ObjectTypes(1, 0);
    const store = types.resolve('contacts')!;
    const email = store.props.get('email')!;
    for (let i = 0; i < n; i++) {
      const values: (string | undefined)[] = [];
      values[email.column] = `c${i}@example.com`;
      store.insert(types.allocateId(), values, 1_000 + Math.floor(i / 10), 1_000); // ten records per millisecond
    }
    return store;
  }

  it('answers sorted range queries from the index and counts the total without scanning', () => {
    const store = contactsWith(5_000);
    const req = parseSearchRequest(store, {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'BETWEEN', value: '1100', highValue: '1199' }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }],
      limit: 5,
    });
    const out = executeSearch(store, req);
    expect(out.plan).toBe('index-walk');
    expect(out.total).toBe(1_000);
    expect(out.views.map((v) => v.u)).toEqual([1199, 1199, 1199, 1199, 1199]);
    expect(out.views.map((v) => v.id)).toEqual([2000, 1999, 1998, 1997, 1996]); // ties by id, same direction
    expect(out.nextAfter).toBe(5);
  });

  it('strict sorts: only the first sort applies and ties come in descending id order', () => {
    const store = contactsWith(40); // ten records per millisecond: 1000..1003
    const body = { filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '1001' }] }], sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }, { propertyName: 'hs_object_id', direction: 'ASCENDING' }], limit: 12 };
    const lenient = executeSearch(store, parseSearchRequest(store, body));
    expect(lenient.views.map((v) => v.id)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
    const strict = executeSearch(store, { ...parseSearchRequest(store, body), strictSorts: true });
    expect(strict.plan).toBe('index-walk');
    expect(strict.total).toBe(30);
    expect(strict.views.map((v) => v.id)).toEqual([20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 30, 29]);
    const byEmail = executeSearch(store, { ...parseSearchRequest(store, { sorts: ['lastmodifieddate', '-email'], limit: 3 }), strictSorts: true });
    expect(byEmail.views.map((v) => v.id)).toEqual([10, 9, 8]); // the email sort is ignored
  });

  it('walks ids downwards for a descending id sort, within the filter range', () => {
    const store = contactsWith(500);
    const out = executeSearch(store, parseSearchRequest(store, {
      filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'LTE', value: '300' }, { propertyName: 'hs_object_id', operator: 'GT', value: '10' }] }],
      sorts: ['-hs_object_id'],
      limit: 3,
      after: 2,
    }));
    expect(out.plan).toBe('index-walk');
    expect(out.views.map((v) => v.id)).toEqual([298, 297, 296]);
    expect(out.total).toBe(290);
    store.archive(store.get(297)!, 2_000);
    const again = executeSearch(store, parseSearchRequest(store, { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'BETWEEN', value: '11', highValue: '300' }] }], sorts: ['-hs_object_id'], limit: 3, after: 2 }));
    expect(again.views.map((v) => v.id)).toEqual([298, 296, 295]);
    expect(again.total).toBe(289);
  });

  it('reuses the total of a filtered query between pages only while nothing changed', () => {
    const store = contactsWith(3_000);
    const body = (after: number) => ({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '0' }, { propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@example.com' }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      limit: 100,
      after,
    });
    expect(executeSearch(store, parseSearchRequest(store, body(0))).total).toBe(3_000);
    const second = executeSearch(store, parseSearchRequest(store, body(100)));
    expect(second.total).toBe(3_000);
    expect(second.views[0]!.id).toBe(101);
    const email = store.props.get('email')!;
    const values: (string | undefined)[] = [];
    values[email.column] = 'late@example.com';
    store.insert(99_999, values, 5_000);
    expect(executeSearch(store, parseSearchRequest(store, body(200))).total).toBe(3_001);
  });

  it('looks up unique values directly and falls back to collect-and-sort for other sorts', () => {
    const store = contactsWith(100);
    const byEmail = executeSearch(store, parseSearchRequest(store, { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN', values: ['C5@example.com', 'c7@example.com'] }] }] }));
    expect(byEmail.plan).toBe('lookup');
    expect(byEmail.views.map((v) => v.id)).toEqual([6, 8]);
    const byEmailSort = executeSearch(store, parseSearchRequest(store, { sorts: ['-email'], limit: 2 }));
    expect(byEmailSort.plan).toBe('collect-sort');
    expect(byEmailSort.total).toBe(100);
    expect(byEmailSort.views.map((v) => v.id)).toEqual([10, 100]); // 'c9@…' > 'c99@…' > 'c98@…' as strings
  });

  it('answers equality on a non-unique property of a large object through an equality index kept up to date', () => {
    const types = new ObjectTypes(1, 0);
    const store = types.resolve('companies')!;
    const domain = store.props.get('domain')!;
    for (let i = 0; i < 25_000; i++) {
      const values: (string | undefined)[] = [];
      values[domain.column] = `d${i % 12_500}.example.com`; // two companies per domain
      store.insert(types.allocateId(), values, 1_000);
    }
    const find = (...domains: string[]) => executeSearch(store, parseSearchRequest(store, { filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'IN', values: domains }] }], limit: 10 }));
    const first = find('D7.example.com', 'd8.example.com');
    expect(first.plan).toBe('lookup');
    expect(first.views.map((v) => v.id)).toEqual([8, 9, 12_508, 12_509]);
    store.update(store.get(8)!, new Map([[domain, 'moved.example.com']]), 2_000);
    store.archive(store.get(9)!, 2_000);
    expect(find('d7.example.com', 'd8.example.com').views.map((v) => v.id)).toEqual([12_508, 12_509]);
    expect(find('moved.example.com').views.map((v) => v.id)).toEqual([8]);
    // With a date range the index is not needed: the planner walks the date index instead.
    const ranged = executeSearch(store, parseSearchRequest(store, { filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: 'd1.example.com' }, { propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: '0' }] }], sorts: ['hs_lastmodifieddate'] }));
    expect(ranged.plan).toBe('index-walk');
    expect(ranged.total).toBe(2);
  });

  it('rejects requests beyond HubSpot limits with 400s that say what is wrong', () => {
    const store = contactsWith(1);
    const fails = (body: Record<string, unknown>) => {
      try {
        parseSearchRequest(store, body);
      } catch (err) {
        expect(err).toBeInstanceOf(HubSpotHttpError);
        return (err as HubSpotHttpError).body.message;
      }
      throw new Error('expected a 400');
    };
    expect(fails({ after: '9900', limit: 200 })).toContain('after (9900) + limit (200)');
    expect(fails({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] })).toContain('LIKE');
    expect(fails({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN' }] }] })).toContain('values');
    expect(fails({ sorts: [{ propertyName: 'email', direction: 'UP' }] })).toContain('ASCENDING or DESCENDING');
    expect(fails({ after: 'abc' })).toContain('after');
  });
});
