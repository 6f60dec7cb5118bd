import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { apiError, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandbox.close();
});
beforeEach(() => {
  h.sandbox.reset();
  h.sandbox.setIndexingDelay(0);
});

type Filter = { propertyName: string; operator: string; value?: string; highValue?: string; values?: string[] };

async function search(groups: Filter[][], extra: { sorts?: unknown[]; limit?: number; after?: string; properties?: string[]; query?: string } = {}) {
  return h.client.crm.contacts.searchApi.doSearch({
    filterGroups: groups.map((filters) => ({ filters: filters as any })),
    sorts: (extra.sorts ?? []) as any,
    properties: extra.properties ?? ['email', 'firstname', 'score', 'lifecyclestage'],
    limit: extra.limit ?? 100,
    after: extra.after ?? '0',
    ...(extra.query ? { query: extra.query } : {}),
  });
}

const emails = (r: { results: { properties: Record<string, string | null> }[] }) => r.results.map((x) => x.properties.email).sort();

describe('search filters', () => {
  beforeEach(async () => {
    await h.client.crm.properties.coreApi.create('contacts', { name: 'score', label: 'Score', type: 'number', fieldType: 'number', groupName: 'contactinformation' } as any);
    await h.client.crm.contacts.batchApi.create({
      inputs: [
        { email: 'ann@acme.com', firstname: 'Ann', score: '9', lifecyclestage: 'lead' },
        { email: 'bob@acme.com', firstname: 'Bob', score: '10', lifecyclestage: 'customer' },
        { email: 'cy@globex.com', firstname: 'Cy', score: '100', lifecyclestage: 'customer' },
        { email: 'di@globex.com', firstname: 'Di Anne', lifecyclestage: 'subscriber' },
      ].map((properties) => ({ properties: properties as Record<string, string>, associations: [] })),
    });
  });

  it('supports every operator with typed comparison', async () => {
    const cases: [Filter, string[]][] = [
      [{ propertyName: 'firstname', operator: 'EQ', value: 'ann' }, ['ann@acme.com']], // case-insensitive
      [{ propertyName: 'lifecyclestage', operator: 'NEQ', value: 'customer' }, ['ann@acme.com', 'di@globex.com']],
      [{ propertyName: 'score', operator: 'LT', value: '10' }, ['ann@acme.com']], // numeric, not "10" < "9"
      [{ propertyName: 'score', operator: 'LTE', value: '10' }, ['ann@acme.com', 'bob@acme.com']],
      [{ propertyName: 'score', operator: 'GT', value: '9' }, ['bob@acme.com', 'cy@globex.com']],
      [{ propertyName: 'score', operator: 'GTE', value: '100' }, ['cy@globex.com']],
      [{ propertyName: 'score', operator: 'BETWEEN', value: '9', highValue: '10' }, ['ann@acme.com', 'bob@acme.com']],
      [{ propertyName: 'lifecyclestage', operator: 'IN', values: ['lead', 'subscriber'] }, ['ann@acme.com', 'di@globex.com']],
      [{ propertyName: 'lifecyclestage', operator: 'NOT_IN', values: ['lead', 'subscriber'] }, ['bob@acme.com', 'cy@globex.com']],
      [{ propertyName: 'score', operator: 'HAS_PROPERTY' }, ['ann@acme.com', 'bob@acme.com', 'cy@globex.com']],
      [{ propertyName: 'score', operator: 'NOT_HAS_PROPERTY' }, ['di@globex.com']],
      [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@globex.com' }, ['cy@globex.com', 'di@globex.com']],
      [{ propertyName: 'firstname', operator: 'CONTAINS_TOKEN', value: 'anne' }, ['di@globex.com']],
      [{ propertyName: 'email', operator: 'NOT_CONTAINS_TOKEN', value: '*@globex.com' }, ['ann@acme.com', 'bob@acme.com']],
      [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: 'acme.com' }, ['ann@acme.com', 'bob@acme.com']], // words in a row
    ];
    for (const [filter, expected] of cases) {
      const res = await search([[filter]]);
      expect({ filter, got: emails(res) }).toEqual({ filter, got: expected });
      expect(res.total).toBe(expected.length);
    }
  });

  it('ANDs filters inside a group and ORs groups', async () => {
    const and = await search([[{ propertyName: 'lifecyclestage', operator: 'EQ', value: 'customer' }, { propertyName: 'score', operator: 'LT', value: '50' }]]);
    expect(emails(and)).toEqual(['bob@acme.com']);
    const or = await search([[{ propertyName: 'firstname', operator: 'EQ', value: 'Ann' }], [{ propertyName: 'score', operator: 'GTE', value: '100' }]]);
    expect(emails(or)).toEqual(['ann@acme.com', 'cy@globex.com']);
  });

  it('sorts with the object form and the string form, default by id', async () => {
    const byScoreDesc = await search([[{ propertyName: 'score', operator: 'HAS_PROPERTY' }]], { sorts: [{ propertyName: 'score', direction: 'DESCENDING' }] });
    expect(byScoreDesc.results.map((r) => r.properties.score)).toEqual(['100', '10', '9']);
    const byNameString = await search([], { sorts: ['firstname'] });
    expect(byNameString.results.map((r) => r.properties.firstname)).toEqual(['Ann', 'Bob', 'Cy', 'Di Anne']);
    const byNameDesc = await search([], { sorts: ['-firstname'] });
    expect(byNameDesc.results.map((r) => r.properties.firstname)).toEqual(['Di Anne', 'Cy', 'Bob', 'Ann']);
    const byId = await search([]);
    const ids = byId.results.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('matches multi-select (checkbox) values option by option', async () => {
    await h.client.crm.properties.coreApi.create('contacts', {
      name: 'tags', label: 'Tags', type: 'enumeration', fieldType: 'checkbox', groupName: 'contactinformation',
      options: ['vip', 'beta', 'churn'].map((value, i) => ({ label: value, value, hidden: false, displayOrder: i })),
    } as any);
    const all = await search([]);
    const id = (email: string) => all.results.find((r) => r.properties.email === email)!.id;
    await h.client.crm.contacts.batchApi.update({ inputs: [{ id: id('ann@acme.com'), properties: { tags: 'vip;beta' } }, { id: id('bob@acme.com'), properties: { tags: 'churn' } }] });
    expect(emails(await search([[{ propertyName: 'tags', operator: 'EQ', value: 'beta' }]]))).toEqual(['ann@acme.com']);
    expect(emails(await search([[{ propertyName: 'tags', operator: 'IN', values: ['churn', 'vip'] }]]))).toEqual(['ann@acme.com', 'bob@acme.com']);
    expect(emails(await search([[{ propertyName: 'tags', operator: 'NOT_IN', values: ['vip'] }]]))).toEqual(['bob@acme.com', 'cy@globex.com', 'di@globex.com']);
  });

  it('finds by free-text query', async () => {
    const res = await search([], { query: 'globex' });
    expect(emails(res)).toEqual(['cy@globex.com', 'di@globex.com']);
  });

  it('enforces the documented limits with 400 VALIDATION_ERROR', async () => {
    const f: Filter = { propertyName: 'score', operator: 'HAS_PROPERTY' };
    const tooManyGroups = await apiError(() => search(Array.from({ length: 6 }, () => [f])));
    expect(tooManyGroups.code).toBe(400);
    expect(tooManyGroups.body.category).toBe('VALIDATION_ERROR');
    const tooManyInGroup = await apiError(() => search([Array.from({ length: 7 }, () => f)]));
    expect(tooManyInGroup.code).toBe(400);
    const tooManyTotal = await apiError(() => search(Array.from({ length: 4 }, () => Array.from({ length: 5 }, () => f))));
    expect(tooManyTotal.code).toBe(400);
    expect(tooManyTotal.body.message).toContain('18');
    const limit = await apiError(() => search([], { limit: 201 }));
    expect(limit.code).toBe(400);
    const unknownProp = await apiError(() => search([[{ propertyName: 'nope', operator: 'EQ', value: '1' }]]));
    expect(unknownProp.code).toBe(400);
    const badNumber = await apiError(() => search([[{ propertyName: 'score', operator: 'GT', value: 'ten' }]]));
    expect(badNumber.code).toBe(400);
  });
});

describe('search paging', () => {
  it('pages 25,000 matches to the 10,000 cap, then answers 400', async () => {
    h.sandbox.seed({ contacts: 25_000 });
    const seen = new Set<string>();
    let after: string | undefined = '0';
    let pages = 0;
    let total = 0;
    while (after !== undefined && Number(after) < 10_000) {
      const page = await h.client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE' as any, value: '0' }] }],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }] as any,
        properties: ['email'],
        limit: 200,
        after,
      });
      total = page.total;
      for (const r of page.results) seen.add(r.id);
      after = page.paging?.next?.after;
      pages++;
    }
    expect(total).toBe(25_000);
    expect(pages).toBe(50);
    expect(seen.size).toBe(10_000);
    expect(after).toBe('10000');
    const past = await apiError(() =>
      h.client.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 200, after: '10000' }),
    );
    expect(past.code).toBe(400);
    expect(past.body.category).toBe('VALIDATION_ERROR');
    expect(past.body.message).toContain('10000');
  });

  it('pages one stable order through many records sharing one timestamp (by default, as HubSpot: one sort, ties by descending id)', async () => {
    h.sandbox.seed({ contacts: 1_000 }); // one batch, one millisecond
    const store = h.sandbox.store('contacts');
    expect(new Set([...store.scanById(0, false)].map((r) => r.u)).size).toBe(1);
    const ids: string[] = [];
    for (let after = 0; after < 1_000; after += 150) {
      const page = await h.client.crm.contacts.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE' as any, value: '0' }] }],
        // The second sort is not honoured (HubSpot accepts one sorting rule).
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }, { propertyName: 'hs_object_id', direction: 'ASCENDING' }] as any,
        properties: [],
        limit: 150,
        after: String(after),
      });
      ids.push(...page.results.map((r) => r.id));
    }
    expect(ids).toHaveLength(1_000);
    expect(new Set(ids).size).toBe(1_000);
    expect(ids.map(Number)).toEqual([...ids].map(Number).sort((a, b) => b - a));
    // The sync's tie-group read: one timestamp, sorted by id alone, after the last id read.
    const lastTs = String(store.get(Number(ids[0]))!.u);
    const ascending = [...ids].map(Number).sort((a, b) => a - b).map(String);
    const drain = await h.client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ' as any, value: lastTs }, { propertyName: 'hs_object_id', operator: 'GT' as any, value: ascending[499] }] }],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }] as any,
      properties: [],
      limit: 200,
    });
    expect(drain.results.map((r) => r.id)).toEqual(ascending.slice(500, 700));
    expect(drain.total).toBe(500);
  });

  it('strict sorts (admin switch, on by default) apply only the first sort; off, every sort applies and ties go by id', async () => {
    h.sandbox.seed({ contacts: 30 }); // one millisecond
    const firstPage = async () => {
      const page = await h.client.crm.contacts.searchApi.doSearch({
        filterGroups: [], properties: [], limit: 5, after: '0',
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }, { propertyName: 'hs_object_id', direction: 'ASCENDING' }] as any,
      });
      return page.results.map((r) => Number(r.id));
    };
    expect((await h.http('GET', '/__sandbox/search')).body).toEqual({ strictSorts: true });
    const strict = await firstPage();
    expect(strict).toEqual([...strict].sort((a, b) => b - a));
    try {
      expect((await h.http('PUT', '/__sandbox/search', { strictSorts: false })).status).toBe(200);
      const lenient = await firstPage();
      expect(lenient).toEqual([...lenient].sort((a, b) => a - b));
      expect((await h.http('PUT', '/__sandbox/search', { strictSorts: 'yes' })).status).toBe(400);
    } finally {
      h.sandbox.setStrictSorts(true);
    }
  });

  it('is eventually consistent: writes become searchable after the indexing delay', async () => {
    h.sandbox.setIndexingDelay(1500); // long enough that the immediate checks below run before it passes, even on a busy machine
    const created = await h.client.crm.contacts.basicApi.create({ properties: { email: 'late@example.com', firstname: 'Before' }, associations: [] });
    const find = (filter: Filter) => search([[filter]]);
    expect((await find({ propertyName: 'email', operator: 'EQ', value: 'late@example.com' })).total).toBe(0);
    // Reads see the record at once; only search lags.
    expect((await h.client.crm.contacts.basicApi.getById(created.id)).id).toBe(created.id);
    await waitFor(async () => (await find({ propertyName: 'email', operator: 'EQ', value: 'late@example.com' })).total === 1, { what: 'record indexed' });

    await h.client.crm.contacts.basicApi.update(created.id, { properties: { firstname: 'After' } });
    const stale = await find({ propertyName: 'email', operator: 'EQ', value: 'late@example.com' });
    expect(stale.results[0]!.properties.firstname).toBe('Before'); // search still has the old version
    await waitFor(async () => (await find({ propertyName: 'firstname', operator: 'EQ', value: 'After' })).total === 1, { what: 'update indexed' });
  });
});
