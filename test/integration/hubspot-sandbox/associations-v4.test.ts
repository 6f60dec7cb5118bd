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
const USER = 'USER_DEFINED' as any;

async function contact(email: string) {
  return h.client.crm.contacts.basicApi.create({ properties: { email }, associations: [] });
}
async function company(name: string) {
  return h.client.crm.companies.basicApi.create({ properties: { name }, associations: [] });
}
/** Type ids from `fromType` record `id` to each `toType` record, as {toId: sorted typeIds}. */
async function typesOf(fromType: string, id: string, toType: string): Promise<Record<string, number[]>> {
  const page = await h.client.crm.associations.v4.basicApi.getPage(fromType, id, toType);
  return Object.fromEntries(page.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId).sort((a, b) => a - b)]));
}

describe('associations v4 like HubSpot', () => {
  it('never moves the last-modified date of either record', async () => {
    const c = await contact('lm@example.com');
    const co = await company('LM');
    const before = await h.client.crm.contacts.basicApi.getById(c.id, ['lastmodifieddate']);
    const beforeCo = await h.client.crm.companies.basicApi.getById(co.id, ['hs_lastmodifieddate']);
    await h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', co.id, [{ associationCategory: HS, associationTypeId: 1 }]);
    await h.client.crm.associations.v4.batchApi.createDefault('companies', 'contacts', { inputs: [{ _from: { id: co.id }, to: { id: c.id } }] });
    await h.client.crm.associations.v4.batchApi.archive('contacts', 'companies', { inputs: [{ _from: { id: c.id }, to: [{ id: co.id }] }] });
    const after = await h.client.crm.contacts.basicApi.getById(c.id, ['lastmodifieddate']);
    const afterCo = await h.client.crm.companies.basicApi.getById(co.id, ['hs_lastmodifieddate']);
    expect(after.updatedAt).toEqual(before.updatedAt);
    expect(after.properties.lastmodifieddate).toBe(before.properties.lastmodifieddate);
    expect(afterCo.properties.hs_lastmodifieddate).toBe(beforeCo.properties.hs_lastmodifieddate);
    // a poller asking search for changes since before the association change sees nothing
    const changed = await h.client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GT' as any, value: String(before.updatedAt.getTime()) }] }],
      sorts: [], properties: [], limit: 10, after: '0',
    });
    expect(changed.total).toBe(0);
  });

  it('batch read accepts 1,000 ids and answers 400 past it', async () => {
    h.sandbox.seed({ contacts: 1000 });
    const ids = [...h.sandbox.store('contacts').scanById(0, false)].map((r) => String(r.id));
    expect(ids).toHaveLength(1000);
    const co = await company('Big');
    await h.client.crm.associations.v4.batchApi.createDefault('contacts', 'companies', { inputs: ids.slice(0, 3).map((id) => ({ _from: { id }, to: { id: co.id } })) });
    const res = await h.http('POST', '/crm/v4/associations/contacts/companies/batch/read', { inputs: ids.map((id) => ({ id })) });
    expect(res.status).toBe(207); // 997 contacts without a company
    expect(res.body.results).toHaveLength(3);
    expect(res.body.errors).toHaveLength(997);
    const tooMany = await h.http('POST', '/crm/v4/associations/contacts/companies/batch/read', { inputs: [...ids, '999999'].map((id) => ({ id })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ category: 'VALIDATION_ERROR' });
    expect(tooMany.body.message).toContain('1000');
  });

  it('has primary and unlabeled types for contact→company and deal→company; a primary implies the unlabeled one', async () => {
    const labels = async (f: string, t: string) => (await h.client.crm.associations.v4.schema.definitionsApi.getAll(f, t)).results.map((l) => [l.typeId, l.label ?? null, l.category]);
    expect(await labels('contacts', 'companies')).toEqual(expect.arrayContaining([[279, null, 'HUBSPOT_DEFINED'], [1, 'Primary', 'HUBSPOT_DEFINED']]));
    expect(await labels('companies', 'contacts')).toEqual(expect.arrayContaining([[280, null, 'HUBSPOT_DEFINED'], [2, 'Primary', 'HUBSPOT_DEFINED']]));
    expect(await labels('deals', 'companies')).toEqual(expect.arrayContaining([[341, null, 'HUBSPOT_DEFINED'], [5, 'Primary', 'HUBSPOT_DEFINED']]));
    expect(await labels('companies', 'deals')).toEqual(expect.arrayContaining([[342, null, 'HUBSPOT_DEFINED'], [6, 'Primary', 'HUBSPOT_DEFINED']]));

    const c = await contact('p@example.com');
    const co = await company('P');
    await h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', co.id, [{ associationCategory: HS, associationTypeId: 1 }]);
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({ [co.id]: [1, 279] });
    expect(await typesOf('companies', co.id, 'contacts')).toEqual({ [c.id]: [2, 280] });
    const v3 = await h.client.crm.contacts.basicApi.getById(c.id, undefined, undefined, ['companies']);
    expect(v3.associations?.companies?.results.map((r) => r.type).sort()).toEqual(['contact_to_company', 'contact_to_company_unlabeled']);
  });

  it('keeps one primary company per contact and per deal: a new primary moves it, from either side', async () => {
    const c = await contact('move@example.com');
    const [a, b, z] = [await company('A'), await company('B'), await company('Z')];
    await h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', a.id, [{ associationCategory: HS, associationTypeId: 1 }]);
    await h.client.crm.associations.v4.batchApi.create('contacts', 'companies', { inputs: [{ _from: { id: c.id }, to: { id: b.id }, types: [{ associationCategory: HS, associationTypeId: 1 }] }] });
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({ [a.id]: [279], [b.id]: [1, 279] });
    // from the company side: company Z becomes the contact's primary (inverse type 2)
    await h.client.crm.associations.v4.basicApi.create('companies', z.id, 'contacts', c.id, [{ associationCategory: HS, associationTypeId: 2 }]);
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({ [a.id]: [279], [b.id]: [279], [z.id]: [1, 279] });
    expect(await typesOf('companies', b.id, 'contacts')).toEqual({ [c.id]: [280] });

    const d = await h.client.crm.deals.basicApi.create({ properties: { dealname: 'D' }, associations: [{ to: { id: a.id }, types: [{ associationCategory: HS, associationTypeId: 5 }] }] });
    await h.client.crm.associations.v4.basicApi.create('deals', d.id, 'companies', b.id, [{ associationCategory: HS, associationTypeId: 5 }]);
    expect(await typesOf('deals', d.id, 'companies')).toEqual({ [a.id]: [341], [b.id]: [5, 341] });
    // a company may be the primary of many contacts
    const c2 = await contact('second@example.com');
    await h.client.crm.associations.v4.basicApi.create('contacts', c2.id, 'companies', z.id, [{ associationCategory: HS, associationTypeId: 1 }]);
    expect(await typesOf('companies', z.id, 'contacts')).toEqual({ [c.id]: [2, 280], [c2.id]: [2, 280] });
  });

  it('creates, reads, renames and deletes USER_DEFINED labels and associates with them', async () => {
    const created = await h.client.crm.associations.v4.schema.definitionsApi.create('contacts', 'companies', { label: 'Billing contact', name: 'billing_contact', inverseLabel: 'Billed company' });
    expect(created.results.map((r) => [r.category, r.label])).toEqual([['USER_DEFINED', 'Billing contact'], ['USER_DEFINED', 'Billed company']]);
    const [mine, theirs] = created.results.map((r) => r.typeId);
    expect((await h.client.crm.associations.v4.schema.definitionsApi.getAll('contacts', 'companies')).results).toEqual(expect.arrayContaining([{ category: 'USER_DEFINED', typeId: mine, label: 'Billing contact' }]));
    expect((await h.client.crm.associations.v4.schema.definitionsApi.getAll('companies', 'contacts')).results).toEqual(expect.arrayContaining([{ category: 'USER_DEFINED', typeId: theirs, label: 'Billed company' }]));

    const c = await contact('bill@example.com');
    const co = await company('Billing Co');
    const r = await h.client.crm.associations.v4.batchApi.create('contacts', 'companies', { inputs: [{ _from: { id: c.id }, to: { id: co.id }, types: [{ associationCategory: USER, associationTypeId: mine! }] }] });
    expect(r.results[0]!.labels).toEqual(['Billing contact']);
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({ [co.id]: [279, mine!].sort((x, y) => x - y) });
    const read = await h.client.crm.associations.v4.batchApi.getPage('companies', 'contacts', { inputs: [{ id: co.id }] });
    expect(read.results[0]!.to[0]!.associationTypes).toEqual(expect.arrayContaining([{ category: 'USER_DEFINED', typeId: theirs, label: 'Billed company' }, { category: 'HUBSPOT_DEFINED', typeId: 280, label: null }]));
    const v3 = await h.client.crm.contacts.basicApi.getById(c.id, undefined, undefined, ['companies']);
    expect(v3.associations?.companies?.results.map((x) => x.type).sort()).toEqual(['billing_contact', 'contact_to_company_unlabeled']);

    // the wrong category for a type id is refused
    const wrong = await apiError(() => h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', co.id, [{ associationCategory: HS, associationTypeId: mine! }]));
    expect(wrong.code).toBe(400);
    expect(wrong.body.message).toContain('USER_DEFINED');

    // removing just the label keeps the unlabeled association
    await h.client.crm.associations.v4.batchApi.archiveLabels('contacts', 'companies', { inputs: [{ _from: { id: c.id }, to: { id: co.id }, types: [{ associationCategory: USER, associationTypeId: mine! }] }] });
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({ [co.id]: [279] });

    await h.client.crm.associations.v4.schema.definitionsApi.update('contacts', 'companies', { associationTypeId: mine!, label: 'Accounts payable' });
    expect((await h.client.crm.associations.v4.schema.definitionsApi.getAll('contacts', 'companies')).results.find((l) => l.typeId === mine)!.label).toBe('Accounts payable');
    await h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', co.id, [{ associationCategory: USER, associationTypeId: mine! }]);
    await h.client.crm.associations.v4.schema.definitionsApi.remove('contacts', 'companies', mine!);
    expect((await h.client.crm.associations.v4.schema.definitionsApi.getAll('contacts', 'companies')).results.some((l) => l.typeId === mine)).toBe(false);
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({ [co.id]: [279] }); // the label's associations went with it

    // removing the unlabeled type removes the whole association, primary included
    await h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', co.id, [{ associationCategory: HS, associationTypeId: 1 }]);
    await h.client.crm.associations.v4.batchApi.archiveLabels('contacts', 'companies', { inputs: [{ _from: { id: c.id }, to: { id: co.id }, types: [{ associationCategory: HS, associationTypeId: 279 }] }] });
    expect(await typesOf('contacts', c.id, 'companies')).toEqual({});

    const bad = await h.http('POST', '/crm/v4/associations/contacts/companies/labels', { name: 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('label is required');
    expect(bad.body.message).toContain('name is required');
    const dup = await h.http('POST', '/crm/v4/associations/contacts/companies/labels', { label: 'X', name: 'billing_contact' });
    expect(dup.status).toBe(200); // the deleted label's name is free again
    const dup2 = await h.http('POST', '/crm/v4/associations/contacts/companies/labels', { label: 'X', name: 'billing_contact' });
    expect(dup2.status).toBe(400);
    const builtIn = await h.http('DELETE', '/crm/v4/associations/contacts/companies/labels/1');
    expect(builtIn.status).toBe(400);
  });

  it('associates custom objects with built-in ones, with labels, in both directions', async () => {
    const schema = await h.client.crm.schemas.coreApi.create({
      name: 'machine', labels: { singular: 'Machine', plural: 'Machines' }, requiredProperties: [], searchableProperties: [], secondaryDisplayProperties: [],
      properties: [{ name: 'serial', label: 'Serial', type: 'string', fieldType: 'text' } as any], associatedObjects: ['CONTACT'],
    });
    const m = await h.client.crm.objects.basicApi.create('p_machine', { properties: { serial: 'S1' }, associations: [] });
    const c = await contact('owner@example.com');
    const label = await h.client.crm.associations.v4.schema.definitionsApi.create(schema.objectTypeId!, 'contacts', { label: 'Owner', name: 'owner' });
    await h.client.crm.associations.v4.batchApi.create('p_machine', 'contacts', { inputs: [{ _from: { id: m.id }, to: { id: c.id }, types: [{ associationCategory: USER, associationTypeId: label.results[0]!.typeId }] }] });
    const fromContact = await h.client.crm.associations.v4.batchApi.getPage('contacts', schema.objectTypeId!, { inputs: [{ id: c.id }] });
    expect(fromContact.results[0]!.to.map((t) => String(t.toObjectId))).toEqual([m.id]);
    expect(fromContact.results[0]!.to[0]!.associationTypes.map((t) => t.label)).toEqual(expect.arrayContaining(['Owner', null]));
    await h.client.crm.associations.v4.batchApi.archive('contacts', 'p_machine', { inputs: [{ _from: { id: c.id }, to: [{ id: m.id }] }] });
    expect(await typesOf('p_machine', m.id, 'contacts')).toEqual({});
  });

  it('sends associationChange webhooks for each side on add and remove, legacy and generic', async () => {
    const got: Record<string, unknown>[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[]));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      h.sandbox.subscribeWebhook({ targetUrl: url, clientSecret: 's', events: ['contact.associationChange', 'company.associationChange'], batchDelayMs: 5 });
      h.sandbox.subscribeWebhook({ targetUrl: url, clientSecret: 's', events: ['object.associationChange'], batchDelayMs: 5 });
      const c = await contact('hook@example.com');
      const co = await company('Hook');
      await h.client.crm.associations.v4.basicApi.create('contacts', c.id, 'companies', co.id, [{ associationCategory: HS, associationTypeId: 1 }]);
      await h.client.crm.associations.v4.basicApi.archive('contacts', c.id, 'companies', co.id);
      const events = await waitFor(() => (got.length >= 16 ? got : undefined), { what: '16 associationChange events' });
      const legacy = events.filter((e) => e.subscriptionType !== 'object.associationChange');
      const key = (e: Record<string, unknown>) => `${e.associationType} ${e.fromObjectId}->${e.toObjectId} ${e.associationRemoved ? 'removed' : 'added'} primary=${e.isPrimaryAssociation}`;
      expect(legacy.map(key).sort()).toEqual([
        `COMPANY_TO_CONTACT ${co.id}->${c.id} added primary=false`,
        `COMPANY_TO_CONTACT ${co.id}->${c.id} added primary=true`,
        `COMPANY_TO_CONTACT ${co.id}->${c.id} removed primary=false`,
        `COMPANY_TO_CONTACT ${co.id}->${c.id} removed primary=true`,
        `CONTACT_TO_COMPANY ${c.id}->${co.id} added primary=false`,
        `CONTACT_TO_COMPANY ${c.id}->${co.id} added primary=true`,
        `CONTACT_TO_COMPANY ${c.id}->${co.id} removed primary=false`,
        `CONTACT_TO_COMPANY ${c.id}->${co.id} removed primary=true`,
      ]);
      const contactSide = legacy.find((e) => e.subscriptionType === 'contact.associationChange')!;
      expect(contactSide).toMatchObject({ portalId: 1234567, changeSource: 'API', attemptNumber: 0 });
      expect(contactSide).not.toHaveProperty('associationTypeId'); // the legacy payload names only associationType
      const generic = events.filter((e) => e.subscriptionType === 'object.associationChange');
      expect(generic).toHaveLength(8);
      expect(generic.map((e) => `${e.fromObjectTypeId}->${e.toObjectTypeId} ${e.associationTypeId} ${e.associationCategory} ${e.associationRemoved}`).sort()).toEqual([
        '0-1->0-2 1 HUBSPOT_DEFINED false', '0-1->0-2 1 HUBSPOT_DEFINED true', '0-1->0-2 279 HUBSPOT_DEFINED false', '0-1->0-2 279 HUBSPOT_DEFINED true',
        '0-2->0-1 2 HUBSPOT_DEFINED false', '0-2->0-1 2 HUBSPOT_DEFINED true', '0-2->0-1 280 HUBSPOT_DEFINED false', '0-2->0-1 280 HUBSPOT_DEFINED true',
      ]);
    } finally {
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
    }
  });
});
