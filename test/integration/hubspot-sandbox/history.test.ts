import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_VERSIONS } from '../../../operator/src/sandbox/hubspot/store.js';
import { apiError, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandbox.close();
});
beforeEach(() => h.sandbox.reset());

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

describe('propertiesWithHistory', () => {
  it('returns each property\'s own versions, newest first, with the time that property changed', async () => {
    const c = await h.client.crm.contacts.basicApi.create({ properties: { firstname: 'Ann', lastname: 'Lee' }, associations: [] });
    const u1 = await h.client.crm.contacts.basicApi.update(c.id, { properties: { firstname: 'Bea' } });
    const u2 = await h.client.crm.contacts.basicApi.update(c.id, { properties: { lastname: 'Moe' } });
    const u3 = await h.client.crm.contacts.basicApi.update(c.id, { properties: { firstname: '' } });

    const got = await h.client.crm.contacts.basicApi.getById(c.id, ['firstname'], ['firstname', 'lastname', 'email', 'nosuchproperty']);
    const hist = got.propertiesWithHistory!;
    expect(Object.keys(hist).sort()).toEqual(['email', 'firstname', 'lastname']); // unknown names ignored
    expect(hist.firstname!.map((v) => [v.value, iso(v.timestamp), v.sourceType])).toEqual([
      ['', iso(u3.updatedAt), 'API'], // a cleared value shows as ""
      ['Bea', iso(u1.updatedAt), 'API'],
      ['Ann', iso(c.createdAt), 'API'],
    ]);
    // lastname changed after firstname's first change: its own time, not the record's last-modified time
    expect(hist.lastname!.map((v) => [v.value, iso(v.timestamp)])).toEqual([['Moe', iso(u2.updatedAt)], ['Lee', iso(c.createdAt)]]);
    expect(hist.email).toEqual([]); // never set
    expect(got.properties.firstname).toBeNull();
  });

  it('serves history in list pages (at most 50 per page) and batch reads (at most 50 inputs, 400 past it)', async () => {
    const created = await h.client.crm.contacts.batchApi.create({ inputs: Array.from({ length: 60 }, (_, i) => ({ properties: { email: `h${i}@example.com`, firstname: `F${i}` }, associations: [] })) });
    const ids = created.results.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    const changed = await h.client.crm.contacts.basicApi.update(ids[3]!, { properties: { firstname: 'Changed' } });

    const page = await h.client.crm.contacts.basicApi.getPage(100, undefined, ['firstname'], ['firstname']);
    expect(page.results).toHaveLength(50);
    expect(page.paging?.next?.after).toBe(ids[50]);
    const third = page.results.find((r) => r.id === ids[3])!;
    expect(third.propertiesWithHistory!.firstname!.map((v) => [v.value, iso(v.timestamp)])).toEqual([['Changed', iso(changed.updatedAt)], ['F3', iso(third.createdAt)]]);
    const plain = await h.client.crm.contacts.basicApi.getPage(100, undefined, ['firstname']);
    expect(plain.results).toHaveLength(60); // without history the page size is not lowered
    expect(plain.results[0]!.propertiesWithHistory).toBeUndefined();

    const batch = await h.client.crm.contacts.batchApi.read({ inputs: ids.slice(0, 50).map((id) => ({ id })), properties: ['firstname'], propertiesWithHistory: ['firstname'] });
    expect(batch.results).toHaveLength(50);
    expect(batch.results.find((r) => r.id === ids[3])!.propertiesWithHistory!.firstname![0]!.value).toBe('Changed');

    const tooMany = await apiError(() => h.client.crm.contacts.batchApi.read({ inputs: ids.slice(0, 51).map((id) => ({ id })), properties: ['firstname'], propertiesWithHistory: ['firstname'] }));
    expect(tooMany.code).toBe(400);
    expect(tooMany.body.message).toContain('maximum number of inputs supported in a batch request for property histories is 50');
    const noHistory = await h.client.crm.contacts.batchApi.read({ inputs: ids.slice(0, 60).map((id) => ({ id })), properties: ['firstname'], propertiesWithHistory: [] });
    expect(noHistory.results).toHaveLength(60);
  });

  it(`keeps the last ${MAX_VERSIONS} versions of a property`, async () => {
    const c = await h.client.crm.contacts.basicApi.create({ properties: { firstname: 'v0' }, associations: [] });
    for (let i = 1; i <= MAX_VERSIONS + 5; i++) await h.client.crm.contacts.basicApi.update(c.id, { properties: { firstname: `v${i}` } });
    const got = await h.client.crm.contacts.basicApi.getById(c.id, undefined, ['firstname']);
    const values = got.propertiesWithHistory!.firstname!.map((v) => v.value);
    expect(values).toHaveLength(MAX_VERSIONS);
    expect(values[0]).toBe(`v${MAX_VERSIONS + 5}`);
    expect(values.at(-1)).toBe('v6');
    const times = got.propertiesWithHistory!.firstname!.map((v) => new Date(v.timestamp).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('a write that changes nothing adds no version', async () => {
    const c = await h.client.crm.contacts.basicApi.create({ properties: { firstname: 'Same' }, associations: [] });
    await h.client.crm.contacts.basicApi.update(c.id, { properties: { firstname: 'Same' } });
    const got = await h.client.crm.contacts.basicApi.getById(c.id, undefined, ['firstname']);
    expect(got.propertiesWithHistory!.firstname!.map((v) => v.value)).toEqual(['Same']);
  });
});
