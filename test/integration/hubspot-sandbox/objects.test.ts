import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiError, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandbox.close();
});
beforeEach(() => h.sandbox.reset());

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('objects CRUD and list', () => {
  it('creates, reads, updates and archives a contact with maintained system properties', async () => {
    const c = h.client.crm.contacts.basicApi;
    const created = await c.create({ properties: { email: 'Ada@Example.COM', firstname: 'Ada' }, associations: [] });
    expect(created.properties.email).toBe('ada@example.com'); // HubSpot lower-cases emails
    expect(created.properties.hs_object_id).toBe(created.id);
    expect(created.properties.createdate).toMatch(ISO_MS);
    expect(created.properties.lastmodifieddate).toMatch(ISO_MS);

    const got = await c.getById(created.id, ['email', 'firstname', 'nonexistent_prop']);
    expect(got.properties.firstname).toBe('Ada');
    expect(got.properties).not.toHaveProperty('nonexistent_prop'); // unknown names are ignored

    const byEmail = await c.getById('ada@example.com', ['firstname'], undefined, undefined, false, 'email');
    expect(byEmail.id).toBe(created.id);

    await new Promise((r) => setTimeout(r, 2)); // a later millisecond for the modified date
    const updated = await c.update(created.id, { properties: { lastname: 'Lovelace' } });
    expect(updated.properties.lastname).toBe('Lovelace');
    expect(Date.parse(updated.properties.lastmodifieddate!)).toBeGreaterThan(Date.parse(created.properties.lastmodifieddate!));
    expect(updated.updatedAt.getTime()).toBe(Date.parse(updated.properties.lastmodifieddate!));

    await c.archive(created.id);
    const gone = await apiError(() => c.getById(created.id));
    expect(gone.code).toBe(404);
    expect(gone.body.category).toBe('OBJECT_NOT_FOUND');
    const archived = await c.getById(created.id, undefined, undefined, undefined, true);
    expect(archived.archived).toBe(true);
  });

  it('uses hs_lastmodifieddate for companies and deals', async () => {
    const co = await h.client.crm.companies.basicApi.create({ properties: { name: 'Acme', domain: 'acme.com' }, associations: [] });
    expect(co.properties.hs_lastmodifieddate).toMatch(ISO_MS);
    expect(co.properties).not.toHaveProperty('lastmodifieddate');
    const deal = await h.client.crm.deals.basicApi.create({ properties: { dealname: 'Big', amount: '12.5', dealstage: 'closedwon', pipeline: 'default' }, associations: [] });
    expect(deal.properties.hs_lastmodifieddate).toMatch(ISO_MS);
  });

  it('lists by id with an opaque after cursor, limit <= 100, properties and archived', async () => {
    h.sandbox.seed({ contacts: 25 });
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await h.client.crm.contacts.basicApi.getPage(10, after, ['email']);
      seen.push(...page.results.map((r) => r.id));
      expect(page.results.every((r) => r.properties.email)).toBe(true);
      after = page.paging?.next?.after;
    } while (after);
    expect(seen).toHaveLength(25);
    expect([...seen].sort((a, b) => Number(a) - Number(b))).toEqual(seen);

    await h.client.crm.contacts.basicApi.archive(seen[3]!);
    const live = await h.client.crm.contacts.basicApi.getPage(100);
    expect(live.results).toHaveLength(24);
    const arch = await h.client.crm.contacts.basicApi.getPage(100, undefined, undefined, undefined, undefined, true);
    expect(arch.results.map((r) => r.id)).toEqual([seen[3]]);

    const tooMany = await apiError(() => h.client.crm.contacts.basicApi.getPage(101));
    expect(tooMany.code).toBe(400);
  });

  it('works for a custom object created through the schemas API, by every name', async () => {
    const schema = await h.client.crm.schemas.coreApi.create({
      name: 'car',
      labels: { singular: 'Car', plural: 'Cars' },
      primaryDisplayProperty: 'vin',
      requiredProperties: ['vin'],
      searchableProperties: ['vin'],
      secondaryDisplayProperties: [],
      properties: [
        { name: 'vin', label: 'VIN', type: 'string', fieldType: 'text', hasUniqueValue: true } as any,
        { name: 'year', label: 'Year', type: 'number', fieldType: 'number' } as any,
      ],
      associatedObjects: ['CONTACT'],
    });
    expect(schema.objectTypeId).toMatch(/^2-\d+$/);
    expect(schema.fullyQualifiedName).toBe('p1234567_car');
    for (const name of [schema.objectTypeId, 'p_car', schema.fullyQualifiedName!] as string[]) {
      const rec = await h.client.crm.objects.basicApi.create(name, { properties: { vin: `VIN-${name}`, year: '2020' }, associations: [] });
      expect(rec.properties.hs_object_id).toBe(rec.id);
      expect(rec.properties.hs_lastmodifieddate).toMatch(ISO_MS);
    }
    const missingRequired = await apiError(() => h.client.crm.objects.basicApi.create('p_car', { properties: { year: '1999' }, associations: [] }));
    expect(missingRequired.code).toBe(400);
    expect(missingRequired.body.errors[0].code).toBe('REQUIRED_PROPERTY');
    const dup = await apiError(() => h.client.crm.objects.basicApi.create('p_car', { properties: { vin: 'VIN-p_car' }, associations: [] }));
    expect(dup.code).toBe(409);
    expect(dup.body.category).toBe('CONFLICT');
    const all = await h.client.crm.schemas.coreApi.getAll();
    expect(all.results.map((s) => s.name)).toEqual(['car']);
  });
});

describe('validation and normalisation', () => {
  it('rejects unknown properties and invalid values with VALIDATION_ERROR bodies', async () => {
    const err = await apiError(() =>
      h.client.crm.contacts.basicApi.create({ properties: { email: 'not-an-email', lifecyclestage: 'wizard', no_such: 'x' }, associations: [] }),
    );
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
    expect(err.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const codes = Object.fromEntries(err.body.errors.map((e: any) => [e.context.propertyName[0], e.code]));
    expect(codes).toEqual({ email: 'INVALID_EMAIL', lifecyclestage: 'INVALID_OPTION', no_such: 'PROPERTY_DOESNT_EXIST' });
    expect(err.body.message).toContain('Property values were not valid');
  });

  it('validates numbers, dates, datetimes and bools by property type and normalises them', async () => {
    for (const [name, type, fieldType] of [['score', 'number', 'number'], ['birthday', 'date', 'date'], ['seen_at', 'datetime', 'date'], ['vip', 'bool', 'booleancheckbox']] as const) {
      const opts = type === 'bool' ? [{ label: 'Yes', value: 'true' }, { label: 'No', value: 'false' }] : undefined;
      await h.client.crm.properties.coreApi.create('contacts', { name, label: name, type, fieldType, groupName: 'contactinformation', ...(opts ? { options: opts } : {}) } as any);
    }
    const ok = await h.client.crm.contacts.basicApi.create({
      properties: { score: ' 42.5 ', birthday: '1700006400000'.replace(/.*/, String(Date.UTC(2023, 10, 15))), seen_at: '2024-01-02T03:04:05+01:00', vip: 'TRUE' },
      associations: [],
    });
    expect(ok.properties).toMatchObject({ score: '42.5', birthday: '2023-11-15', seen_at: '2024-01-02T02:04:05.000Z', vip: 'true' });
    const bad = await apiError(() =>
      h.client.crm.contacts.basicApi.create({ properties: { score: 'many', birthday: String(Date.UTC(2023, 10, 15, 13)), seen_at: 'yesterday', vip: 'maybe' }, associations: [] }),
    );
    expect(Object.fromEntries(bad.body.errors.map((e: any) => [e.context.propertyName[0], e.code]))).toEqual({
      score: 'INVALID_INTEGER', birthday: 'INVALID_DATE', seen_at: 'INVALID_DATETIME', vip: 'INVALID_BOOLEAN',
    });
  });

  it('refuses duplicate emails and unique property values with CONFLICT and the existing id', async () => {
    const first = await h.client.crm.contacts.basicApi.create({ properties: { email: 'dup@example.com' }, associations: [] });
    const err = await apiError(() => h.client.crm.contacts.basicApi.create({ properties: { email: 'DUP@example.com' }, associations: [] }));
    expect(err.code).toBe(409);
    expect(err.body.category).toBe('CONFLICT');
    expect(err.body.message).toBe(`Contact already exists. Existing ID: ${first.id}`);

    await h.client.crm.properties.coreApi.create('companies', { name: 'external_id', label: 'External ID', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation' } as any);
    await h.client.crm.companies.basicApi.create({ properties: { name: 'A', external_id: 'x-1' }, associations: [] });
    const err2 = await apiError(() => h.client.crm.companies.basicApi.create({ properties: { name: 'B', external_id: 'x-1' }, associations: [] }));
    expect(err2.code).toBe(409);
    const prop = await h.client.crm.properties.coreApi.getByName('companies', 'external_id');
    expect(prop.hasUniqueValue).toBe(true);
  });

  it('answers bad input with HubSpot error shapes, never a crash', async () => {
    const malformed = await h.http('POST', '/crm/v3/objects/contacts', '{"properties": {', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/json');
    expect(malformed.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(malformed.body.message).toContain('Invalid input JSON');

    const unknownType = await apiError(() => h.client.crm.objects.basicApi.getPage('spaceships'));
    expect(unknownType.code).toBe(400);
    expect(unknownType.body.message).toContain('spaceships');

    const inputs = Array.from({ length: 101 }, (_, i) => ({ properties: { email: `u${i}@example.com` }, associations: [] }));
    const tooMany = await apiError(() => h.client.crm.contacts.batchApi.create({ inputs }));
    expect(tooMany.code).toBe(400);
    expect(tooMany.body.category).toBe('VALIDATION_ERROR');
    expect(tooMany.body.message).toContain('100');

    const odd: [string, string, unknown][] = [
      ['GET', '/crm/v3/objects/contacts?limit=abc', undefined],
      ['GET', '/crm/v3/objects/contacts?after=-1', undefined],
      ['GET', '/crm/v3/objects/contacts/%zz', undefined],
      ['GET', '/crm/v3/objects/contacts/12?idProperty=firstname', undefined],
      ['POST', '/crm/v3/objects/contacts', { properties: { firstname: ['a'] } }],
      ['POST', '/crm/v3/objects/contacts', { properties: 'email=x' }],
      ['POST', '/crm/v3/objects/contacts', [1, 2]],
      ['POST', '/crm/v3/objects/contacts/batch/update', { inputs: 'all' }],
      ['POST', '/crm/v3/objects/contacts/search', { filterGroups: [{ filters: [null] }] }],
      ['POST', '/crm/v3/objects/contacts/search', { filterGroups: 'x', sorts: 5 }],
      ['POST', '/crm/v3/objects/contacts/search', { sorts: [{ propertyName: 'email', direction: 'SIDEWAYS' }] }],
      ['POST', '/crm/v3/objects/contacts/search', 'null'],
      ['POST', '/crm/v3/properties/contacts', { name: 'Bad Name', type: 'json' }],
      ['POST', '/crm/v4/associations/contacts/companies/batch/create', { inputs: [{ from: {}, to: { id: 'x' } }] }],
      ['PUT', '/__sandbox/faults', 'not json'],
      ['POST', '/__sandbox/tokens', { token: 'has space' }],
      ['POST', '/__sandbox/seed', { contacts: -5 }],
      ['DELETE', '/crm/v3/objects/contacts', undefined],
    ];
    for (const [method, path, body] of odd) {
      const res = await h.http(method, path, body, typeof body === 'string' ? { 'content-type': 'application/json' } : {});
      expect({ path, status: res.status >= 400 && res.status < 500 }).toEqual({ path, status: true });
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.body.status).toBe('error');
      expect(typeof res.body.message).toBe('string');
    }

    const noId = await h.http('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', properties: {} }] });
    expect(noId.status).toBe(207); // per input, like the other upsert failures
    expect(noId.body.errors[0].message).toContain('id is required');

    const notObject = await h.http('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [1, 2] });
    expect(notObject.status).toBe(400);
    const unknownRoute = await h.http('GET', '/crm/v3/nothing-here');
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.status).toBe('error');
  });
});

describe('batch endpoints', () => {
  it('batch create is all-or-nothing: 201 when valid, 400 for the whole batch otherwise', async () => {
    const ok = await h.client.crm.contacts.batchApi.create({ inputs: [1, 2, 3].map((i) => ({ properties: { email: `b${i}@example.com` }, associations: [] })) });
    expect(ok.status).toBe('COMPLETE');
    expect(ok.results).toHaveLength(3);
    const bad = await apiError(() => h.client.crm.contacts.batchApi.create({ inputs: [{ properties: { email: 'c1@example.com' }, associations: [] }, { properties: { email: 'nope' }, associations: [] }] }));
    expect(bad.code).toBe(400);
    expect(bad.body.context.inputIndex).toEqual(['1']);
    const list = await h.client.crm.contacts.basicApi.getPage(100, undefined, ['email']);
    expect(list.results.map((r) => r.properties.email)).not.toContain('c1@example.com');
  });

  it('batch read returns found records and a 207 error naming missing ids', async () => {
    const [a, b] = (await h.client.crm.contacts.batchApi.create({ inputs: [{ properties: { email: 'r1@example.com' }, associations: [] }, { properties: { email: 'r2@example.com' }, associations: [] }] })).results;
    const all = await h.client.crm.contacts.batchApi.read({ inputs: [{ id: a!.id }, { id: b!.id }], properties: ['email'], propertiesWithHistory: [] });
    expect(all.results.map((r) => r.properties.email).sort()).toEqual(['r1@example.com', 'r2@example.com']);
    expect((all as any).errors).toBeUndefined();

    const res = await h.http('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: a!.id }, { id: '999999' }], properties: ['email'] });
    expect(res.status).toBe(207);
    expect(res.body.numErrors).toBe(1);
    expect(res.body.errors[0]).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['999999'] } });
    expect(res.body.results).toHaveLength(1);

    const byEmail = await h.client.crm.contacts.batchApi.read({ inputs: [{ id: 'R2@example.com' }], idProperty: 'email', properties: ['email'], propertiesWithHistory: [] });
    expect(byEmail.results[0]!.id).toBe(b!.id);
  });

  it('batch update reports per-input failures in a 207 and applies the rest', async () => {
    const [a, b] = (await h.client.crm.contacts.batchApi.create({ inputs: [{ properties: { email: 'u1@example.com' }, associations: [] }, { properties: { email: 'u2@example.com' }, associations: [] }] })).results;
    const res = await h.client.crm.contacts.batchApi.update({
      inputs: [
        { id: a!.id, properties: { firstname: 'Fine' } },
        { id: b!.id, properties: { email: 'broken' } },
        { id: '987654', properties: { firstname: 'Ghost' } },
      ],
    });
    expect(res.results.map((r) => r.id)).toEqual([a!.id]);
    const errors = (res as any).errors as any[];
    expect(errors.map((e) => [e.category, e.context.ids[0]])).toEqual([['VALIDATION_ERROR', b!.id], ['OBJECT_NOT_FOUND', '987654']]);
    expect(errors.every((e) => e.status === 'error')).toBe(true);
    const traced = await h.http('POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [{ id: a!.id, properties: { firstname: 'T' }, objectWriteTraceId: 't-1' }, { id: '555555', properties: {}, objectWriteTraceId: 't-2' }],
    });
    expect(traced.status).toBe(207);
    expect(traced.body.results[0].objectWriteTraceId).toBe('t-1');
    expect(traced.body.errors[0].context.objectWriteTraceId).toEqual(['t-2']);
    const dup = await apiError(() => h.client.crm.contacts.batchApi.update({ inputs: [{ id: a!.id, properties: {} }, { id: a!.id, properties: {} }] }));
    expect(dup.code).toBe(400);
  });

  it('batch upsert by email and by a unique property reports new true/false', async () => {
    const existing = await h.client.crm.contacts.basicApi.create({ properties: { email: 'known@example.com', firstname: 'Old' }, associations: [] });
    const res = await h.client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'KNOWN@example.com', idProperty: 'email', properties: { firstname: 'New' } },
        { id: 'fresh@example.com', idProperty: 'email', properties: { firstname: 'Fresh' } },
      ],
    });
    const byEmail = Object.fromEntries(res.results.map((r) => [r.properties.email ?? (r.id === existing.id ? 'known@example.com' : '?'), r]));
    expect(res.results.find((r) => r.id === existing.id)!._new).toBe(false);
    const fresh = res.results.find((r) => r.id !== existing.id)!;
    expect(fresh._new).toBe(true);
    expect(fresh.properties.email).toBe('fresh@example.com');
    expect(Object.keys(byEmail)).toHaveLength(2);

    await h.client.crm.properties.coreApi.create('contacts', { name: 'ext_id', label: 'Ext', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'contactinformation' } as any);
    const r1 = await h.client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'E-1', idProperty: 'ext_id', properties: { email: 'e1@example.com' } }] });
    const r2 = await h.client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'E-1', idProperty: 'ext_id', properties: { firstname: 'Again' } }] });
    expect([r1.results[0]!._new, r2.results[0]!._new]).toEqual([true, false]);
    expect(r2.results[0]!.id).toBe(r1.results[0]!.id);

    const notUnique = await h.http('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: 'x', idProperty: 'firstname', properties: {} }] });
    expect(notUnique.status).toBe(207);
    expect(notUnique.body.errors[0].message).toContain('not a unique identifier property');
  });

  it('batch archive: 204, then 207 for ids that never existed; archived records leave list and search', async () => {
    const created = (await h.client.crm.contacts.batchApi.create({ inputs: [1, 2].map((i) => ({ properties: { email: `z${i}@example.com` }, associations: [] })) })).results;
    await h.client.crm.contacts.batchApi.archive({ inputs: created.map((c) => ({ id: c.id })) });
    expect((await h.client.crm.contacts.basicApi.getPage(10)).results).toHaveLength(0);
    const search = await h.client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 10, after: '0', sorts: [], properties: [] });
    expect(search.total).toBe(0);
    const again = await h.http('POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: created[0]!.id }, { id: '424242' }] });
    expect(again.status).toBe(207);
    expect(again.body.errors[0].context.ids).toEqual(['424242']);
  });
});

describe('properties API', () => {
  it('lists the standard properties with their types and creates enumeration properties with options', async () => {
    const props = await h.client.crm.properties.coreApi.getAll('contacts');
    const byName = Object.fromEntries(props.results.map((p) => [p.name, p]));
    expect(byName.email).toMatchObject({ type: 'string', hubspotDefined: true });
    expect(byName.lastmodifieddate).toMatchObject({ type: 'datetime' });
    expect(byName.hs_object_id).toMatchObject({ type: 'number' });
    expect(byName.lifecyclestage!.options.map((o) => o.value)).toContain('customer');
    const deals = await h.client.crm.properties.coreApi.getAll('deals');
    expect(deals.results.map((p) => p.name)).toEqual(expect.arrayContaining(['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'hs_lastmodifieddate', 'createdate', 'hs_object_id']));

    const created = await h.client.crm.properties.coreApi.create('contacts', {
      name: 'tier', label: 'Tier', type: 'enumeration', fieldType: 'select', groupName: 'contactinformation',
      options: [{ label: 'Gold', value: 'gold', hidden: false, displayOrder: 0 }, { label: 'Silver', value: 'silver', hidden: false, displayOrder: 1 }],
    } as any);
    expect(created.options.map((o) => o.value)).toEqual(['gold', 'silver']);
    const again = await apiError(() => h.client.crm.properties.coreApi.create('contacts', { name: 'tier', label: 'Tier', type: 'string', fieldType: 'text', groupName: 'contactinformation' } as any));
    expect(again.code).toBe(409);
    const badType = await apiError(() => h.client.crm.properties.coreApi.create('contacts', { name: 'x_y', label: 'X', type: 'string', fieldType: 'select', groupName: 'contactinformation' } as any));
    expect(badType.code).toBe(400);
    expect(badType.body.message).toContain('fieldType select is not valid for type string');
    const readOnly = await apiError(() => h.client.crm.contacts.basicApi.create({ properties: { lastmodifieddate: '2020-01-01' }, associations: [] }));
    expect(readOnly.body.errors[0].code).toBe('READ_ONLY_VALUE');
  });

  it('updates a property definition: new options are accepted as values at once', async () => {
    await h.client.crm.properties.coreApi.create('deals', {
      name: 'region', label: 'Region', type: 'enumeration', fieldType: 'select', groupName: 'dealinformation',
      options: [{ label: 'EMEA', value: 'emea', hidden: false, displayOrder: 0 }],
    } as any);
    const rejected = await apiError(() => h.client.crm.deals.basicApi.create({ properties: { region: 'apac' }, associations: [] }));
    expect(rejected.body.errors[0].code).toBe('INVALID_OPTION');
    const updated = await h.client.crm.properties.coreApi.update('deals', 'region', {
      label: 'Sales region',
      options: [{ label: 'EMEA', value: 'emea', hidden: false, displayOrder: 0 }, { label: 'APAC', value: 'apac', hidden: false, displayOrder: 1 }],
    } as any);
    expect(updated.label).toBe('Sales region');
    const deal = await h.client.crm.deals.basicApi.create({ properties: { region: 'apac' }, associations: [] });
    expect(deal.properties.region).toBe('apac');
    const missing = await apiError(() => h.client.crm.properties.coreApi.getByName('deals', 'nope'));
    expect(missing.code).toBe(404);
  });

  it('reads a custom object schema by name and lists its properties', async () => {
    await h.client.crm.schemas.coreApi.create({
      name: 'ticket_ext', labels: { singular: 'Ticket ext', plural: 'Ticket exts' }, requiredProperties: [], searchableProperties: [], secondaryDisplayProperties: [],
      properties: [{ name: 'code', label: 'Code', type: 'string', fieldType: 'text' } as any], associatedObjects: [],
    });
    const schema = await h.client.crm.schemas.coreApi.getById('p_ticket_ext');
    expect(schema.properties.map((p) => p.name)).toEqual(expect.arrayContaining(['code', 'hs_object_id', 'hs_lastmodifieddate', 'hs_createdate']));
    const props = await h.client.crm.properties.coreApi.getAll(schema.objectTypeId!);
    expect(props.results.map((p) => p.name)).toContain('code');
    const bad = await h.http('POST', '/crm-object-schemas/v3/schemas', { name: '9lives', labels: {}, properties: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('labels {singular, plural} are required');
    const reserved = await h.http('POST', '/crm-object-schemas/v3/schemas', {
      name: 'gadget', labels: { singular: 'Gadget', plural: 'Gadgets' },
      properties: [{ name: 'hs_object_id', label: 'X', type: 'string' }, { name: 'size', label: 'S', type: 'number' }, { name: 'size', label: 'S', type: 'number' }],
    });
    expect(reserved.status).toBe(400);
    expect(reserved.body.message).toContain('reserved');
    expect(reserved.body.message).toContain('size is defined twice');
  });
});
