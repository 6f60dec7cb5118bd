import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Signature } from '@hubspot/api-client';
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

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

/** A webhook receiver that fails the first `failFirst` deliveries with 500. */
async function receiver(failFirst = 0): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures < failFirst) {
        failures++;
        res.writeHead(500).end();
        return;
      }
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), path: req.url ?? '' });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/hubspot`,
    deliveries,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

describe('webhooks', () => {
  it('delivers creation, propertyChange and deletion events in batches with v3 signatures the SDK accepts', async () => {
    const rx = await receiver();
    try {
      const sub = await h.http('POST', '/__sandbox/webhooks', {
        targetUrl: rx.url,
        clientSecret: 'hook-secret',
        events: ['contact.creation', 'contact.propertyChange', 'contact.deletion'],
        batchDelayMs: 20,
      });
      expect(sub.status).toBe(201);
      const created = await h.client.crm.contacts.basicApi.create({ properties: { email: 'w@example.com' }, associations: [] });
      await h.client.crm.contacts.basicApi.update(created.id, { properties: { firstname: 'Wanda' } });
      await h.client.crm.contacts.basicApi.archive(created.id);

      const events = await waitFor(() => {
        const all = rx.deliveries.flatMap((d) => JSON.parse(d.body) as Record<string, unknown>[]);
        return all.length >= 3 ? all : undefined;
      }, { what: 'three webhook events' });
      expect(events.map((e) => e.subscriptionType)).toEqual(['contact.creation', 'contact.propertyChange', 'contact.deletion']);
      expect(events.every((e) => e.objectId === Number(created.id) && e.portalId === 1234567)).toBe(true);
      expect(events[1]).toMatchObject({ propertyName: 'firstname', propertyValue: 'Wanda', attemptNumber: 0 });

      for (const d of rx.deliveries) {
        expect(d.headers['content-type']).toBe('application/json');
        const valid = Signature.isValid({
          signatureVersion: 'v3',
          signature: String(d.headers['x-hubspot-signature-v3']),
          method: 'POST',
          clientSecret: 'hook-secret',
          requestBody: d.body,
          url: rx.url,
          timestamp: Number(d.headers['x-hubspot-request-timestamp']),
        });
        expect(valid).toBe(true);
        expect(Signature.isValid({
          signatureVersion: 'v3', signature: String(d.headers['x-hubspot-signature-v3']), method: 'POST', clientSecret: 'wrong',
          requestBody: d.body, url: rx.url, timestamp: Number(d.headers['x-hubspot-request-timestamp']),
        })).toBe(false);
      }
    } finally {
      await rx.close();
    }
  });

  it('batches many events into one request (max 100) and retries failed deliveries', async () => {
    const rx = await receiver(1);
    try {
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.creation'], batchDelayMs: 50, retryDelayMs: 20 });
      await h.client.crm.contacts.batchApi.create({ inputs: Array.from({ length: 100 }, (_, i) => ({ properties: { email: `m${i}@example.com` }, associations: [] })) });
      await waitFor(() => rx.deliveries.length >= 1, { what: 'a delivery after one failure' });
      const batch = JSON.parse(rx.deliveries[0]!.body) as { attemptNumber: number }[];
      expect(batch).toHaveLength(100);
      expect(batch[0]!.attemptNumber).toBe(1); // the first attempt got a 500
      const list = (await h.http('GET', '/__sandbox/webhooks')).body.results[0];
      expect(list).toMatchObject({ deliveredEvents: 100, failedAttempts: 1 });
    } finally {
      await rx.close();
    }
  });

  it('delivers object.* events for custom objects and filters propertyChange by property', async () => {
    const rx = await receiver();
    try {
      const schema = await h.client.crm.schemas.coreApi.create({
        name: 'machine', labels: { singular: 'Machine', plural: 'Machines' }, requiredProperties: [], searchableProperties: [], secondaryDisplayProperties: [],
        properties: [{ name: 'serial', label: 'Serial', type: 'string', fieldType: 'text' } as any, { name: 'note', label: 'Note', type: 'string', fieldType: 'text' } as any],
        associatedObjects: [],
      });
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['object.creation', 'object.propertyChange'], propertyNames: ['serial'], batchDelayMs: 10 });
      const rec = await h.client.crm.objects.basicApi.create('p_machine', { properties: { serial: 'S1' }, associations: [] });
      await h.client.crm.objects.basicApi.update('p_machine', rec.id, { properties: { note: 'ignored', serial: 'S2' } });
      const events = await waitFor(() => {
        const all = rx.deliveries.flatMap((d) => JSON.parse(d.body) as Record<string, unknown>[]);
        return all.length >= 2 ? all : undefined;
      }, { what: 'custom object events' });
      expect(events.map((e) => [e.subscriptionType, e.objectTypeId, e.propertyName ?? null])).toEqual([
        ['object.creation', schema.objectTypeId, null],
        ['object.propertyChange', schema.objectTypeId, 'serial'],
      ]);
    } finally {
      await rx.close();
    }
  });

  it('rejects an invalid subscription with a precise message', async () => {
    const res = await h.http('POST', '/__sandbox/webhooks', { targetUrl: 'ftp://x', events: ['contact.explode'] });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('targetUrl must be an http(s) URL');
    expect(res.body.message).toContain('clientSecret is required');
    expect(res.body.message).toContain('contact.explode');
  });
});

describe('associations v4', () => {
  it('creates, reads and archives associations in batches with the standard type ids', async () => {
    const company = await h.client.crm.companies.basicApi.create({ properties: { name: 'Acme' }, associations: [] });
    const contacts = (await h.client.crm.contacts.batchApi.create({ inputs: [1, 2, 3].map((i) => ({ properties: { email: `a${i}@acme.com` }, associations: [] })) })).results;
    const created = await h.client.crm.associations.v4.batchApi.create('contacts', 'companies', {
      inputs: contacts.slice(0, 2).map((c) => ({ _from: { id: c.id }, to: { id: company.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 279 }] })),
    });
    expect(created.results).toHaveLength(2);
    await h.client.crm.associations.v4.batchApi.createDefault('contacts', 'companies', { inputs: [{ _from: { id: contacts[2]!.id }, to: { id: company.id } }] });

    const fromCompany = await h.client.crm.associations.v4.batchApi.getPage('companies', 'contacts', { inputs: [{ id: company.id }] });
    expect(fromCompany.results[0]!.to.map((t) => String(t.toObjectId)).sort()).toEqual(contacts.map((c) => c.id).sort());
    expect(fromCompany.results[0]!.to[0]!.associationTypes[0]!.typeId).toBe(280); // the paired type id

    await h.client.crm.associations.v4.batchApi.archive('contacts', 'companies', { inputs: [{ _from: { id: contacts[0]!.id }, to: [{ id: company.id }] }] });
    const after = await h.client.crm.associations.v4.basicApi.getPage('companies', company.id, 'contacts');
    expect(after.results).toHaveLength(2);

    const primary = await h.client.crm.associations.v4.basicApi.create('deals', (await h.client.crm.deals.basicApi.create({ properties: { dealname: 'D' }, associations: [] })).id, 'companies', company.id, [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 5 }]);
    expect(primary.labels).toContain('Primary');

    const labels = await h.client.crm.associations.v4.schema.definitionsApi.getAll('deals', 'companies');
    expect(labels.results.map((l) => [l.typeId, l.label ?? null])).toEqual(expect.arrayContaining([[341, null], [5, 'Primary']]));
    const listed = await h.client.crm.companies.basicApi.getPage(10, undefined, ['name'], undefined, ['contacts']);
    expect(listed.results[0]!.associations?.contacts?.results).toHaveLength(2);

    const none = await h.http('POST', '/crm/v4/associations/contacts/deals/batch/read', { inputs: [{ id: contacts[0]!.id }] });
    expect(none.status).toBe(207);
    expect(none.body.errors[0].subCategory).toBe('crm.associations.NO_ASSOCIATIONS_FOUND');
  });

  it('accepts associations on object create and rejects unknown type ids', async () => {
    const company = await h.client.crm.companies.basicApi.create({ properties: { name: 'Globex' }, associations: [] });
    const contact = await h.client.crm.contacts.basicApi.create({
      properties: { email: 'linked@globex.com' },
      associations: [{ to: { id: company.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 279 }] }],
    });
    const withAssoc = await h.client.crm.contacts.basicApi.getById(contact.id, undefined, undefined, ['companies']);
    expect(withAssoc.associations?.companies?.results.map((r) => [r.id, r.type])).toEqual([[company.id, 'contact_to_company_unlabeled']]);
    const bad = await apiError(() => h.client.crm.associations.v4.basicApi.create('contacts', contact.id, 'companies', company.id, [{ associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 9999 }]));
    expect(bad.code).toBe(400);
    expect(bad.body.message).toContain('9999');
  });
});
