/**
 * The HubSpot client's associations v4, property-history reads, merged records and portal
 * lookup, over real HTTP against the HubSpot API sandbox (which serves them as HubSpot does:
 * docs/sandboxes.md, HubSpot API sandbox). Every call goes through the client's transport, so each is paced,
 * retried, classified and counted like the object calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import {
  createHubSpotClient,
  LimiterRegistry,
  primaryAssociationTypeId,
  unlabeledAssociationTypeId,
  type HubSpotClientOptions,
  type RequestObservation,
} from '../../../operator/src/hubspot/index.js';
import { credentialKey, portalKey } from '../../../operator/src/hubspot/ratelimit.js';
import { waitFor } from '../../helpers/wait.js';

let sandbox: HubSpotSandbox;
const limiters = new LimiterRegistry();

async function api(method: string, path: string, body?: unknown, admin = false): Promise<any> {
  const res = await fetch(`${sandbox.url}${admin ? '/__sandbox' : ''}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(admin ? {} : { authorization: `Bearer ${sandbox.token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function client(extra: Partial<HubSpotClientOptions> = {}) {
  const seen: RequestObservation[] = [];
  const c = createHubSpotClient({
    baseURL: sandbox.url,
    auth: { kind: 'privateAppToken', token: sandbox.token },
    rateLimit: { requestsPerTenSeconds: 100, dailyRequests: 250_000, searchRequestsPerSecond: 4 },
    limiters,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    onRequest: (o) => seen.push(o),
    ...extra,
  });
  return { c, seen };
}

let run = 0;
async function createContacts(n: number): Promise<string[]> {
  const { c } = client();
  const tag = `${Date.now()}-${run++}`;
  const r = await c.batchCreate('contacts', Array.from({ length: n }, (_, i) => ({ properties: { email: `v4-${tag}-${i}@example.com`, firstname: `F${i}` } })));
  expect(r.errors).toEqual([]);
  return r.inputIndexes!.map((idx, k) => [idx, r.results[k]!.id] as const).sort((a, b) => a[0] - b[0]).map(([, id]) => id);
}

async function createCompanies(n: number): Promise<string[]> {
  const { c } = client();
  const r = await c.batchCreate('companies', Array.from({ length: n }, (_, i) => ({ properties: { name: `Company ${run++}-${i}` } })));
  expect(r.errors).toEqual([]);
  return r.inputIndexes!.map((idx, k) => [idx, r.results[k]!.id] as const).sort((a, b) => a[0] - b[0]).map(([, id]) => id);
}

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ port: 0 });
});

afterAll(async () => {
  await sandbox?.close();
});

describe('associations v4 through the client', () => {
  it('primary, unlabeled and labelled associations: created, read with their types, moved, partly and wholly archived', async () => {
    const [alice, bob, carol] = await createContacts(3);
    const [acme, globex] = await createCompanies(2);
    const { c, seen } = client();
    const primary = primaryAssociationTypeId('contacts', 'companies')!;
    const unlabeled = unlabeledAssociationTypeId('contacts', 'companies')!;
    await api('POST', '/crm/v4/associations/contacts/companies/labels', { label: 'Billing contact', name: 'billing_contact' });

    const created = await c.createAssociations('contacts', 'companies', [
      { fromId: alice!, toId: acme!, types: [{ category: 'HUBSPOT_DEFINED', typeId: primary }] },
      { fromId: bob!, toId: acme! }, // HubSpot's default (unlabeled) association
      { fromId: alice!, toId: globex!, label: 'Billing contact' },
      { fromId: carol!, toId: '999999' }, // no such company
    ]);
    expect(created.errors).toMatchObject([{ index: 3, category: 'NotFound' }]);
    expect(created.errors[0]!.correlationId).toBeTruthy();

    const read = await c.readAssociations('contacts', 'companies', [alice!, bob!, carol!]);
    expect(read.errors).toEqual([]);
    const typeIds = (fromId: string, toId: string) => read.results.get(fromId)!.find((a) => a.toId === toId)?.types.map((t) => t.typeId).sort((x, y) => x - y);
    expect(typeIds(alice!, acme!)).toEqual([primary, unlabeled]); // creating a primary creates the unlabeled one too
    expect(typeIds(bob!, acme!)).toEqual([unlabeled]);
    const labels = await c.associationLabels('contacts', 'companies');
    const billing = labels.find((l) => l.label === 'Billing contact')!;
    expect(billing.category).toBe('USER_DEFINED');
    expect(typeIds(alice!, globex!)).toEqual([unlabeled, billing.typeId].sort((x, y) => x - y));
    expect(read.results.get(carol!)).toEqual([]); // no association: an empty list, not an error

    // Moving Alice's primary company to Globex: Acme keeps the unlabeled association.
    expect((await c.createAssociations('contacts', 'companies', [{ fromId: alice!, toId: globex!, types: [{ category: 'HUBSPOT_DEFINED', typeId: primary }] }])).errors).toEqual([]);
    let again = await c.readAssociations('contacts', 'companies', [alice!]);
    const aliceTypes = new Map(again.results.get(alice!)!.map((a) => [a.toId, a.types.map((t) => t.typeId).sort((x, y) => x - y)]));
    expect(aliceTypes.get(acme!)).toEqual([unlabeled]);
    expect(aliceTypes.get(globex!)).toEqual([primary, unlabeled, billing.typeId].sort((x, y) => x - y));

    // Label-only archive keeps the association; whole archive removes it.
    expect((await c.archiveAssociations('contacts', 'companies', [{ fromId: alice!, toId: globex!, label: 'Billing contact' }])).errors).toEqual([]);
    again = await c.readAssociations('contacts', 'companies', [alice!]);
    expect(again.results.get(alice!)!.find((a) => a.toId === globex!)!.types.map((t) => t.typeId).sort((x, y) => x - y)).toEqual([primary, unlabeled]);
    expect((await c.archiveAssociations('contacts', 'companies', [{ fromId: alice!, toId: globex! }, { fromId: alice!, toId: acme! }])).errors).toEqual([]);
    again = await c.readAssociations('contacts', 'companies', [alice!]);
    expect(again.results.get(alice!)).toEqual([]);

    // The inverse direction reads the same links with the inverse types.
    const fromCompany = await c.readAssociations('companies', 'contacts', [acme!]);
    expect(fromCompany.results.get(acme!)!.map((a) => a.toId)).toEqual([bob!]);
    expect(fromCompany.results.get(acme!)![0]!.types.map((t) => t.typeId)).toEqual([unlabeledAssociationTypeId('companies', 'contacts')]);

    // Every call went through the transport and is counted like the others.
    const kinds = new Set(seen.map((o) => o.kind));
    expect(kinds).toEqual(new Set(['associations_create', 'associations_read', 'association_labels', 'associations_archive']));
    expect(c.usage().requestsLast24h).toBe(seen.length);
  });

  it('a read of 1,001 IDs is two requests (HubSpot takes at most 1,000 per batch read)', async () => {
    const ids = await createContacts(100);
    const [co] = await createCompanies(1);
    const { c, seen } = client();
    const created = await c.createAssociations('contacts', 'companies', ids.map((id) => ({ fromId: id, toId: co! })));
    expect(created.errors).toEqual([]);
    // IDs of no record have no association: HubSpot answers them as NO_ASSOCIATIONS_FOUND.
    const asked = [...ids, ...Array.from({ length: 901 }, (_, i) => String(900_000 + i))];
    const before = seen.length;
    const r = await c.readAssociations('contacts', 'companies', asked);
    expect(seen.length - before).toBe(2);
    expect(r.errors).toEqual([]);
    expect(r.results.size).toBe(1001);
    expect(ids.every((id) => r.results.get(id)!.map((a) => a.toId).join() === co)).toBe(true);
    expect(r.results.get('900000')).toEqual([]);
  });
});

describe('property history through the client', () => {
  it('batch read with propertiesWithHistory: 50 per request, each property\'s own change time', async () => {
    const ids = await createContacts(60);
    const { c, seen } = client();
    const created = await c.batchRead('contacts', { ids: [ids[0]!], properties: ['createdate'] });
    const createdAt = Date.parse(created.results[0]!.properties.createdate!);
    // A later write of firstname only, once the clock has moved on.
    await waitFor(() => Date.now() > createdAt + 5, { what: 'the clock to move past the creation' });
    const writeStart = Date.now();
    expect((await c.batchUpdate('contacts', [{ id: ids[0]!, properties: { firstname: 'Changed' } }])).errors).toEqual([]);

    const before = seen.length;
    const r = await c.batchRead('contacts', { ids, properties: ['email'], propertiesWithHistory: ['firstname', 'lastname', 'email'] });
    expect(seen.slice(before).map((o) => `${o.kind}:${o.code}`)).toEqual(['batch_read:200', 'batch_read:200']);
    expect(r.errors).toEqual([]);
    expect(r.results).toHaveLength(60);
    const first = r.results[r.inputIndexes!.indexOf(0)]!;
    expect(first.properties.firstname).toBe('Changed'); // the values come with the history
    expect(first.propertiesWithHistory!.firstname!.map((v) => v.value)).toEqual(['Changed', 'F0']);
    expect(first.propertyChangedAt!.firstname).toBeGreaterThanOrEqual(writeStart);
    expect(first.propertyChangedAt!.email).toBe(createdAt); // never rewritten: dates from the creation
    expect(first.propertyChangedAt!.lastname).toBeUndefined(); // never set
  });
});

describe('merged records through the client', () => {
  it('reads by merged-away IDs return the merged record, tied to each input, with mergedFrom', async () => {
    const [a, b, other] = await createContacts(3);
    const merged = await api('POST', '/crm/v3/objects/contacts/merge', { primaryObjectId: a, objectIdToMerge: b });
    const newId = String(merged.id);
    expect([a, b]).not.toContain(newId);
    const { c } = client();
    const r = await c.batchRead('contacts', { ids: [a!, other!, b!, '987654321'], properties: ['email'] });
    expect(r.errors).toMatchObject([{ index: 3, category: 'NotFound' }]);
    const byInput = new Map(r.inputIndexes!.map((idx, k) => [idx, r.results[k]!]));
    expect(byInput.get(0)).toMatchObject({ id: newId });
    expect(byInput.get(2)).toMatchObject({ id: newId });
    expect(byInput.get(0)!.mergedFrom!.sort()).toEqual([a, b].sort());
    expect(byInput.get(1)).toMatchObject({ id: other });
    expect(byInput.get(1)!.mergedFrom).toBeUndefined();
    // Listing and search show the merged record with mergedFrom too.
    const found = await c.searchObjects('contacts', { filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: newId }] }], properties: ['email'], limit: 1 });
    expect(found.results[0]!.mergedFrom!.sort()).toEqual([a, b].sort());
  });
});

describe('portal learned from the token', () => {
  it('a private-app token and an OAuth app of one portal, no spec.portalId: one limiter, portalId() set', async () => {
    const own = new LimiterRegistry();
    await api('POST', '/tokens', { token: 'v4-second-token' }, true);
    const { refreshToken } = await api('POST', '/oauth-apps', { clientId: 'v4-app', clientSecret: 'v4-secret' }, true);
    const a = client({ limiters: own, auth: { kind: 'privateAppToken', token: 'v4-second-token' } });
    const b = client({ limiters: own, auth: { kind: 'oauth', clientId: 'v4-app', clientSecret: 'v4-secret', refreshToken } });
    expect([a.c.portalId(), b.c.portalId()]).toEqual([undefined, undefined]);
    await Promise.all([a.c.listObjects('contacts', { limit: 1, properties: [] }), b.c.listObjects('contacts', { limit: 1, properties: [] })]);
    expect([a.c.portalId(), b.c.portalId()]).toEqual([sandbox.portalId, sandbox.portalId]);
    expect(own.keys()).toEqual([portalKey(sandbox.url, sandbox.portalId)]);
    expect(own.get(credentialKey(sandbox.url, 'token:v4-second-token'))).toBe(own.get(portalKey(sandbox.url, sandbox.portalId)));
    expect(a.seen.map((o) => o.kind)).toEqual(['account', 'list']);
    expect(b.seen.map((o) => o.kind)).toEqual(['oauth', 'token_info', 'list']);
  });
});
