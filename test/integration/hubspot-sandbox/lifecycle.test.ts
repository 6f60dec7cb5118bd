import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
beforeEach(() => h.sandbox.reset());

const HS = 'HUBSPOT_DEFINED' as any;

async function typesOf(fromType: string, id: string, toType: string): Promise<Record<string, number[]>> {
  const page = await h.client.crm.associations.v4.basicApi.getPage(fromType, id, toType);
  return Object.fromEntries(page.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId).sort((a, b) => a - b)]));
}

/** A receiver collecting every delivered event. */
async function receiver(): Promise<{ url: string; events: Record<string, any>[]; requests: number; close(): Promise<void> }> {
  const out = { url: '', events: [] as Record<string, any>[], requests: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      out.requests++;
      out.events.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>[]));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  out.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  out.close = () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  return out;
}

describe('merge', () => {
  it('creates a new record with a new id from both (the primary\'s values first), both old ids read as it, associations and history move', async () => {
    const rx = await receiver();
    try {
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.merge', 'contact.deletion', 'contact.creation'], batchDelayMs: 5 });
      const p = await h.client.crm.contacts.basicApi.create({ properties: { email: 'pat@example.com', firstname: 'Pat' }, associations: [] });
      const o = await h.client.crm.contacts.basicApi.create({ properties: { email: 'oz@example.com', firstname: 'Oz', phone: '+1 555 0100' }, associations: [] });
      const [x, y] = [await h.client.crm.companies.basicApi.create({ properties: { name: 'X' }, associations: [] }), await h.client.crm.companies.basicApi.create({ properties: { name: 'Y' }, associations: [] })];
      await h.client.crm.associations.v4.basicApi.create('contacts', p.id, 'companies', y.id, [{ associationCategory: HS, associationTypeId: 1 }]);
      await h.client.crm.associations.v4.basicApi.create('contacts', o.id, 'companies', x.id, [{ associationCategory: HS, associationTypeId: 1 }]);
      const d = await h.client.crm.deals.basicApi.create({ properties: { dealname: 'D' }, associations: [{ to: { id: o.id }, types: [{ associationCategory: HS, associationTypeId: 3 }] }] });

      const merged = await h.client.crm.contacts.basicApi.merge({ primaryObjectId: p.id, objectIdToMerge: o.id });
      expect([p.id, o.id]).not.toContain(merged.id);
      expect(Number(merged.id)).toBeGreaterThan(Number(d.id)); // a new id
      expect(merged.properties).toMatchObject({ email: 'pat@example.com', firstname: 'Pat' });
      expect(merged.createdAt).toEqual(p.createdAt); // the older create date

      const got = await h.client.crm.contacts.basicApi.getById(merged.id, ['firstname', 'phone', 'email', 'hs_merged_object_ids'], ['firstname']);
      expect(got.properties).toMatchObject({ firstname: 'Pat', phone: '+1 555 0100', hs_merged_object_ids: `${p.id};${o.id}` });
      // both records' history is kept; the primary's value is the newest
      expect(got.propertiesWithHistory!.firstname!.map((v) => [v.value, v.sourceType])).toEqual([['Pat', 'MERGE'], ['Oz', 'API'], ['Pat', 'API']]);
      // both old ids now read as the merged record (HubSpot resolves merged ids)
      for (const old of [p.id, o.id]) expect((await h.client.crm.contacts.basicApi.getById(old, ['firstname'])).id).toBe(merged.id);
      const patched = await h.client.crm.contacts.basicApi.update(o.id, { properties: { lastname: 'Merged' } });
      expect(patched.id).toBe(merged.id); // writes through an old id reach the merged record too
      const deleted = await h.http('DELETE', `/crm/v3/objects/contacts/${p.id}`);
      expect(deleted.status).toBe(204); // archiving an old id does nothing (see Known differences)
      expect((await h.client.crm.contacts.basicApi.getById(merged.id)).archived).toBe(false);
      const batch = await h.client.crm.contacts.batchApi.read({ inputs: [{ id: o.id }, { id: p.id }], properties: ['firstname'], propertiesWithHistory: [] });
      expect(batch.results.map((r) => r.id)).toEqual([merged.id]);
      // ...and neither is listed, archived or not
      expect((await h.client.crm.contacts.basicApi.getPage(100)).results.map((r) => r.id)).toEqual([merged.id]);
      expect((await h.client.crm.contacts.basicApi.getPage(100, undefined, undefined, undefined, undefined, true)).results).toEqual([]);
      // associations moved; the primary's primary company wins, the other's loses its primary label
      expect(await typesOf('contacts', merged.id, 'companies')).toEqual({ [x.id]: [279], [y.id]: [1, 279] });
      expect(await typesOf('companies', x.id, 'contacts')).toEqual({ [merged.id]: [280] });
      expect(await typesOf('deals', d.id, 'contacts')).toEqual({ [merged.id]: [3] });
      // the other's email is free again (HubSpot keeps it as an additional email; see Known differences)
      await h.client.crm.contacts.basicApi.create({ properties: { email: 'oz@example.com' }, associations: [] });

      // the merge is the last change: once its event is in, the receiver has every event
      const events = await waitFor(() => (rx.events.some((e) => e.subscriptionType === 'contact.merge') ? rx.events : undefined), { what: 'the merge event' });
      const merges = events.filter((e) => e.subscriptionType === 'contact.merge');
      expect(merges).toHaveLength(1);
      expect(merges[0]).toMatchObject({ objectId: Number(merged.id), primaryObjectId: Number(p.id), newObjectId: Number(merged.id), mergedObjectIds: [Number(o.id)], numberOfPropertiesMoved: 1 });
      expect(events.filter((e) => e.subscriptionType === 'contact.deletion')).toEqual([]); // no deletion for the merged records
    } finally {
      await rx.close();
    }
  });

  it('chains merges and answers bad merges precisely', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => h.client.crm.companies.basicApi.create({ properties: { name: n }, associations: [] })));
    const n1 = await h.client.crm.companies.basicApi.merge({ primaryObjectId: b!.id, objectIdToMerge: a!.id });
    const n2 = await h.client.crm.companies.basicApi.merge({ primaryObjectId: c!.id, objectIdToMerge: n1.id });
    for (const old of [a!.id, b!.id, c!.id, n1.id]) expect((await h.client.crm.companies.basicApi.getById(old)).id).toBe(n2.id);
    expect((await h.client.crm.companies.basicApi.getById(n2.id, ['hs_merged_object_ids'])).properties.hs_merged_object_ids).toBe([a!.id, b!.id, c!.id, n1.id].sort((p, q) => Number(p) - Number(q)).join(';'));

    const self = await h.http('POST', '/crm/v3/objects/companies/merge', { primaryObjectId: n2.id, objectIdToMerge: n2.id });
    expect(self.status).toBe(400);
    const gone = await h.http('POST', '/crm/v3/objects/companies/merge', { primaryObjectId: n2.id, objectIdToMerge: '999999' });
    expect(gone.status).toBe(404);
    const missing = await h.http('POST', '/crm/v3/objects/companies/merge', { primaryObjectId: n2.id });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('objectIdToMerge is required');
  });

  it('merges custom object records with an object.merge event', async () => {
    const rx = await receiver();
    try {
      const schema = await h.client.crm.schemas.coreApi.create({
        name: 'machine', labels: { singular: 'Machine', plural: 'Machines' }, requiredProperties: [], searchableProperties: [], secondaryDisplayProperties: [],
        properties: [{ name: 'serial', label: 'Serial', type: 'string', fieldType: 'text' } as any, { name: 'note', label: 'Note', type: 'string', fieldType: 'text' } as any], associatedObjects: [],
      });
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['object.merge'], batchDelayMs: 5 });
      const m1 = await h.client.crm.objects.basicApi.create('p_machine', { properties: { serial: 'S1' }, associations: [] });
      const m2 = await h.client.crm.objects.basicApi.create('p_machine', { properties: { serial: 'S2', note: 'kept' }, associations: [] });
      const res = await h.http('POST', `/crm/v3/objects/${schema.objectTypeId}/merge`, { primaryObjectId: m1.id, objectIdToMerge: m2.id });
      expect(res.status).toBe(200);
      const got = await h.client.crm.objects.basicApi.getById('p_machine', m1.id, ['serial', 'note']);
      expect(got.id).toBe(res.body.id);
      expect(got.properties).toMatchObject({ serial: 'S1', note: 'kept' });
      const events = await waitFor(() => (rx.events.length >= 1 ? rx.events : undefined), { what: 'object.merge' });
      expect(events[0]).toMatchObject({ subscriptionType: 'object.merge', objectTypeId: schema.objectTypeId, objectId: Number(res.body.id), primaryObjectId: Number(m1.id), mergedObjectIds: [Number(m2.id)], newObjectId: Number(res.body.id) });
    } finally {
      await rx.close();
    }
  });
});

describe('GDPR delete', () => {
  it('deletes a contact, its values and associations for good (204), by id or by email, with a privacyDeletion event', async () => {
    const rx = await receiver();
    try {
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.privacyDeletion'], batchDelayMs: 5 });
      const c = await h.client.crm.contacts.basicApi.create({ properties: { email: 'forget@example.com', firstname: 'Forget' }, associations: [] });
      const co = await h.client.crm.companies.basicApi.create({ properties: { name: 'Keep' }, associations: [] });
      await h.client.crm.associations.v4.basicApi.createDefault('contacts', c.id, 'companies', co.id);
      await h.client.crm.contacts.basicApi.purge({ objectId: c.id } as any);
      expect((await apiError(() => h.client.crm.contacts.basicApi.getById(c.id))).code).toBe(404);
      expect((await apiError(() => h.client.crm.contacts.basicApi.getById(c.id, undefined, undefined, undefined, true))).code).toBe(404);
      expect((await h.client.crm.contacts.basicApi.getPage(100, undefined, undefined, undefined, undefined, true)).results).toEqual([]);
      expect(await typesOf('companies', co.id, 'contacts')).toEqual({});
      expect((await h.http('POST', '/__sandbox/restore', { objectType: 'contacts', id: Number(c.id) })).status).toBe(404);
      expect(h.sandbox.store('contacts').get(Number(c.id))!.v).toEqual([]); // nothing of it kept in memory

      const byEmail = await h.client.crm.contacts.basicApi.create({ properties: { email: 'Mail@Example.com' }, associations: [] });
      await h.client.crm.contacts.basicApi.purge({ objectId: 'mail@example.com', idProperty: 'email' });
      expect((await apiError(() => h.client.crm.contacts.basicApi.getById(byEmail.id))).code).toBe(404);

      const events = await waitFor(() => (rx.events.length >= 2 ? rx.events : undefined), { what: 'two privacyDeletion events' });
      expect(events.map((e) => [e.subscriptionType, e.objectId])).toEqual([['contact.privacyDeletion', Number(c.id)], ['contact.privacyDeletion', Number(byEmail.id)]]);
    } finally {
      await rx.close();
    }
  });

  it('blocklists an unknown email, 404s an unknown id, refuses other object types', async () => {
    await h.client.crm.contacts.basicApi.purge({ objectId: 'nobody@example.com', idProperty: 'email' });
    const blocked = await apiError(() => h.client.crm.contacts.basicApi.create({ properties: { email: 'NOBODY@example.com' }, associations: [] }));
    expect(blocked.code).toBe(400);
    expect(blocked.body.errors[0].code).toBe('BLOCKED_EMAIL');
    expect((await apiError(() => h.client.crm.contacts.basicApi.purge({ objectId: '999999' } as any))).code).toBe(404);
    const company = await h.http('POST', '/crm/v3/objects/companies/gdpr-delete', { objectId: '1' });
    expect(company.status).toBe(400);
    expect(company.body.message).toContain('contacts only');
    const noId = await h.http('POST', '/crm/v3/objects/contacts/gdpr-delete', {});
    expect(noId.status).toBe(400);
    expect(noId.body.message).toContain('objectId is required');
  });
});

describe('archive and restore', () => {
  it('lists archived records with archived=true and restores them (admin API, as HubSpot\'s UI), with restore events', async () => {
    const rx = await receiver();
    try {
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.restore', 'object.restore'], batchDelayMs: 5 });
      const c = await h.client.crm.contacts.basicApi.create({ properties: { email: 'back@example.com', firstname: 'Back' }, associations: [] });
      const deal = await h.client.crm.deals.basicApi.create({ properties: { dealname: 'Back deal' }, associations: [{ to: { id: c.id }, types: [{ associationCategory: HS, associationTypeId: 3 }] }] });
      await h.client.crm.contacts.basicApi.archive(c.id);
      await h.client.crm.deals.basicApi.archive(deal.id);
      const archived = await h.client.crm.contacts.basicApi.getPage(10, undefined, ['email'], undefined, undefined, true);
      expect(archived.results.map((r) => [r.id, r.archived, r.properties.email])).toEqual([[c.id, true, 'back@example.com']]);
      expect(archived.results[0]!.archivedAt).toBeInstanceOf(Date);

      const res = await h.http('POST', '/__sandbox/restore', { objectType: 'contacts', id: c.id });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: c.id, archived: false });
      h.sandbox.restore('deals', Number(deal.id));
      const back = await h.client.crm.contacts.basicApi.getById(c.id, ['firstname']);
      expect(back.properties.firstname).toBe('Back');
      expect(await typesOf('contacts', c.id, 'deals')).toEqual({ [deal.id]: [4] }); // associations come back with it
      const found = await h.client.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' as any, value: 'back@example.com' }] }], sorts: [], properties: [], limit: 10, after: '0' });
      expect(found.results.map((r) => r.id)).toEqual([c.id]);
      const dup = await apiError(() => h.client.crm.contacts.basicApi.create({ properties: { email: 'back@example.com' }, associations: [] }));
      expect(dup.code).toBe(409); // the restored record holds its email again

      const events = await waitFor(() => (rx.events.length >= 2 ? rx.events : undefined), { what: 'two restore events' });
      expect(events.map((e) => [e.subscriptionType, e.objectId])).toEqual([['contact.restore', Number(c.id)], ['object.restore', Number(deal.id)]]);
      expect(events[1]!.objectTypeId).toBe('0-3');
    } finally {
      await rx.close();
    }
  });

  it('refuses to restore over a taken unique value, a live record, or past 90 days', async () => {
    const c = await h.client.crm.contacts.basicApi.create({ properties: { email: 'taken@example.com' }, associations: [] });
    await h.client.crm.contacts.basicApi.archive(c.id);
    await h.client.crm.contacts.basicApi.create({ properties: { email: 'taken@example.com' }, associations: [] });
    const conflict = await h.http('POST', '/__sandbox/restore', { objectType: 'contacts', id: c.id });
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toContain('Existing ID');
    const live = await h.client.crm.contacts.basicApi.create({ properties: { email: 'live@example.com' }, associations: [] });
    expect((await h.http('POST', '/__sandbox/restore', { objectType: 'contacts', id: live.id })).status).toBe(400);
    const old = await h.client.crm.contacts.basicApi.create({ properties: { email: 'old@example.com' }, associations: [] });
    await h.client.crm.contacts.basicApi.archive(old.id);
    h.sandbox.store('contacts').get(Number(old.id))!.a = Date.now() - 91 * 24 * 3600 * 1000;
    const tooOld = await h.http('POST', '/__sandbox/restore', { objectType: 'contacts', id: old.id });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.message).toContain('90 days');
    const bad = await h.http('POST', '/__sandbox/restore', { objectType: 'widgets' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('id is required');
  });
});
