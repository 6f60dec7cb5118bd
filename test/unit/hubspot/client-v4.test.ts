/**
 * The client's portal lookup, association paging and error mapping, property-history chunking
 * and merged-record mapping over a scripted fetch — the shapes HubSpot can send that the
 * sandbox does not (paging inside one association input, whole-batch rejections).
 * Real HTTP against the sandbox: test/integration/hubspot-client/v4.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createHubSpotClient,
  LimiterRegistry,
  primaryAssociationTypeId,
  unlabeledAssociationTypeId,
  type RequestObservation,
} from '../../../operator/src/hubspot/index.js';
import { credentialKey, portalKey } from '../../../operator/src/hubspot/ratelimit.js';

type Handler = (path: string, body: any, url: URL) => { status: number; body?: unknown } | undefined;

function serve(handler: Handler) {
  const calls: { path: string; body: any; url: URL }[] = [];
  vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = init?.body ? (String(init.body).startsWith('{') ? JSON.parse(String(init.body)) : String(init.body)) : undefined;
    calls.push({ path: url.pathname, body, url });
    const r = handler(url.pathname, body, url) ?? { status: 404, body: { status: 'error', message: `no route ${url.pathname}`, category: 'OBJECT_NOT_FOUND' } };
    return new Response(r.status === 204 || r.body === undefined ? null : JSON.stringify(r.body), { status: r.status });
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const rateLimit = { requestsPerTenSeconds: 100, dailyRequests: 250_000, searchRequestsPerSecond: 4 };
const BASE = 'http://hubspot.test';

function client(extra: Partial<Parameters<typeof createHubSpotClient>[0]> = {}) {
  const seen: RequestObservation[] = [];
  const c = createHubSpotClient({
    baseURL: BASE,
    auth: { kind: 'privateAppToken', token: 'pat-secret-0001' },
    rateLimit,
    limiters: new LimiterRegistry(),
    retry: { baseDelayMs: 1, maxDelayMs: 4 },
    onRequest: (o) => seen.push(o),
    // The client sends through node:http by default; here through the global fetch the tests stub.
    fetch: (url, init) => globalThis.fetch(url, init),
    ...extra,
  });
  return { c, seen };
}

const emptyPage = { results: [] };

describe('portal learned from the token', () => {
  it('private-app token: asks /account-info/v3/details once before the first request; the limiter is the portal\'s', async () => {
    const calls = serve((path) => (path === '/account-info/v3/details' ? { status: 200, body: { portalId: 777 } } : { status: 200, body: emptyPage }));
    const limiters = new LimiterRegistry();
    const { c, seen } = client({ limiters });
    expect(c.portalId()).toBeUndefined();
    await Promise.all([c.listObjects('contacts', { limit: 1, properties: [] }), c.listObjects('contacts', { limit: 1, properties: [] })]);
    expect(c.portalId()).toBe(777);
    expect(await c.getPortalId()).toBe(777);
    expect(calls.map((x) => x.path)).toEqual(['/account-info/v3/details', '/crm/v3/objects/contacts', '/crm/v3/objects/contacts']);
    expect(seen.map((o) => o.kind)).toEqual(['account', 'list', 'list']);
    expect(limiters.keys()).toEqual([portalKey(BASE, 777)]);
    // Another client of the same credential in this process does not ask again.
    const again = client({ limiters });
    expect(again.c.portalId()).toBe(777);
    await again.c.listObjects('contacts', { limit: 1, properties: [] });
    expect(calls.filter((x) => x.path === '/account-info/v3/details')).toHaveLength(1);
  });

  it('OAuth: asks the access-token information (not counted as API usage), never showing the token', async () => {
    const calls = serve((path) => {
      if (path === '/oauth/v1/token') return { status: 200, body: { access_token: 'at-secret-1', refresh_token: 'rt', expires_in: 1800 } };
      if (path === '/oauth/v1/access-tokens/at-secret-1') return { status: 200, body: { hub_id: 4242, token: 'at-secret-1', app_id: 1 } };
      return { status: 200, body: emptyPage };
    });
    const limiters = new LimiterRegistry();
    const { c, seen } = client({ limiters, auth: { kind: 'oauth', clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt' } });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    expect(c.portalId()).toBe(4242);
    expect(calls.map((x) => x.path)).toEqual(['/oauth/v1/token', '/oauth/v1/access-tokens/at-secret-1', '/crm/v3/objects/contacts']);
    expect(seen.map((o) => o.kind)).toEqual(['oauth', 'token_info', 'list']);
    expect(c.usage().requestsLast24h).toBe(1);
    expect(limiters.keys()).toEqual([portalKey(BASE, 4242)]);
  });

  it('a failed lookup fails the request (classified, token redacted) and is asked again next time', async () => {
    let fail = true;
    serve((path) => {
      if (path === '/account-info/v3/details') return fail ? { status: 401, body: { category: 'INVALID_AUTHENTICATION', message: 'bad token pat-secret-0001' } } : { status: 200, body: { portalId: 5 } };
      return { status: 200, body: emptyPage };
    });
    const { c } = client();
    const err = await c.listObjects('contacts', { limit: 1, properties: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ category: 'Authentication', status: 401 });
    expect((err as Error).message).not.toContain('pat-secret-0001');
    fail = false;
    await c.listObjects('contacts', { limit: 1, properties: [] });
    expect(c.portalId()).toBe(5);
  });

  it('no account endpoint (404): paced by credential, requests go on', async () => {
    const limiters = new LimiterRegistry();
    serve((path) => (path === '/account-info/v3/details' ? undefined : { status: 200, body: emptyPage }));
    const { c } = client({ limiters });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    expect(c.portalId()).toBeUndefined();
    expect(limiters.keys()).toEqual([credentialKey(BASE, 'token:pat-secret-0001')]);
  });

  it('spec.portalId: paced by it from the first request, verified by getPortalId', async () => {
    const limiters = new LimiterRegistry();
    const calls = serve((path) => (path === '/account-info/v3/details' ? { status: 200, body: { portalId: 99 } } : { status: 200, body: emptyPage }));
    const { c } = client({ limiters, portalId: 12 });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    expect(calls.map((x) => x.path)).toEqual(['/crm/v3/objects/contacts']);
    expect(limiters.keys()).toEqual([portalKey(BASE, 12)]);
    expect(await c.getPortalId()).toBe(99); // the engine compares it with the spec
    expect(c.portalId()).toBe(99);
    expect(() => client({ portalId: -3 })).toThrow(/spec.hubspot.portalId must be a positive integer/);
  });
});

describe('associations v4', () => {
  it('batch read: 1,000 IDs per request, follows per-input paging, NO_ASSOCIATIONS_FOUND is []', async () => {
    const calls = serve((path, body) => {
      if (!path.endsWith('/batch/read')) return undefined;
      const inputs = body.inputs as { id: string; after?: string }[];
      const results: unknown[] = [];
      const errors: unknown[] = [];
      for (const i of inputs) {
        if (i.id === '7') {
          results.push(i.after
            ? { from: { id: '7' }, to: [{ toObjectId: 902, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] }] }
            : { from: { id: '7' }, to: [{ toObjectId: 901, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] }], paging: { next: { after: 'p2' } } });
        } else if (Number(i.id) % 2 === 0) {
          results.push({ from: { id: i.id }, to: [{ toObjectId: 500, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] }] });
        } else {
          errors.push({ status: 'error', category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND', message: 'none', context: { fromId: [i.id] } });
        }
      }
      return { status: errors.length ? 207 : 200, body: { status: 'COMPLETE', results, errors } };
    });
    const { c, seen } = client({ portalId: 1 });
    const ids = Array.from({ length: 1500 }, (_, i) => String(i + 1));
    const r = await c.readAssociations('contacts', 'companies', [...ids, '7', 'abc']);
    expect(calls.map((x) => x.body.inputs.length)).toEqual([1000, 500, 1]);
    expect(calls[2]!.body.inputs).toEqual([{ id: '7', after: 'p2' }]);
    expect(r.results.get('7')).toEqual([
      { toId: '901', types: [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' }, { category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] },
      { toId: '902', types: [{ category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] },
    ]);
    expect(r.results.get('2')).toEqual([{ toId: '500', types: [{ category: 'HUBSPOT_DEFINED', typeId: 279, label: null }] }]);
    expect(r.results.get('3')).toEqual([]);
    expect(r.results.size).toBe(1500);
    expect(r.errors).toMatchObject([{ index: 1501, category: 'Validation' }]);
    expect(r.errors[0]!.message).toMatch(/invalid HubSpot record ID "abc"/);
    expect(seen.every((o) => o.kind === 'associations_read')).toBe(true);
  });

  it('create: a whole-batch 400 is narrowed down to the bad pair; 207 entries tie to pairs by from and to', async () => {
    const calls = serve((path, body) => {
      if (path.endsWith('/batch/create')) {
        const inputs = body.inputs as { from: { id: string }; to: { id: string }; types: { associationTypeId: number }[] }[];
        if (inputs.some((i) => i.types[0]!.associationTypeId === 9999)) return { status: 400, body: { status: 'error', category: 'VALIDATION_ERROR', message: 'invalid association type' } };
        const errors = inputs.filter((i) => i.to.id === '404').map((i) => ({ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'company 404 does not exist', context: { fromId: [i.from.id], toId: [i.to.id] } }));
        return { status: errors.length ? 207 : 201, body: { status: 'COMPLETE', results: [], errors } };
      }
      if (path.endsWith('/batch/associate/default')) return { status: 200, body: { status: 'COMPLETE', results: [] } };
      return undefined;
    });
    const { c } = client({ portalId: 1 });
    const t = (typeId: number) => [{ category: 'HUBSPOT_DEFINED' as const, typeId }];
    const r = await c.createAssociations('contacts', 'companies', [
      { fromId: '1', toId: '10', types: t(1) },
      { fromId: '1', toId: '404', types: t(1) },
      { fromId: '2', toId: '10', types: t(9999) },
      { fromId: '3', toId: '10', types: t(279) },
      { fromId: '4', toId: '10' },
      { fromId: '', toId: '10' },
    ]);
    expect(r.errors.map((e) => [e.index, e.category])).toEqual([[1, 'NotFound'], [2, 'Validation'], [5, 'Validation']]);
    expect(calls.filter((x) => x.path.endsWith('/batch/associate/default'))).toHaveLength(1);
    expect(calls.find((x) => x.path.endsWith('/batch/associate/default'))!.body).toEqual({ inputs: [{ from: { id: '4' }, to: { id: '10' } }] });
  });

  it('labels: resolved by name through the cached labels (one read), re-read once for an unknown name', async () => {
    const labels = [{ category: 'HUBSPOT_DEFINED', typeId: 279, label: null }, { category: 'USER_DEFINED', typeId: 1001, label: 'Billing contact' }];
    const calls = serve((path, body) => {
      if (path.endsWith('/labels')) return { status: 200, body: { results: labels } };
      if (path.endsWith('/batch/create') || path.endsWith('/batch/labels/archive')) return { status: path.endsWith('create') ? 201 : 204, body: path.endsWith('create') ? { status: 'COMPLETE', results: [] } : undefined };
      return undefined;
    });
    const { c } = client({ portalId: 1 });
    const r = await c.createAssociations('contacts', 'companies', [
      { fromId: '1', toId: '2', label: 'Billing contact' },
      { fromId: '3', toId: '4', label: 'billing CONTACT' },
      { fromId: '5', toId: '6', label: 'Nope' },
    ]);
    expect(r.errors).toMatchObject([{ index: 2, category: 'Validation' }]);
    expect(r.errors[0]!.message).toMatch(/association label "Nope" does not exist from contacts to companies; labels of the pair: "Billing contact"/);
    const create = calls.find((x) => x.path.endsWith('/batch/create'))!;
    expect(create.body.inputs).toEqual([
      { from: { id: '1' }, to: { id: '2' }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: 1001 }] },
      { from: { id: '3' }, to: { id: '4' }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: 1001 }] },
    ]);
    expect(calls.filter((x) => x.path.endsWith('/labels'))).toHaveLength(2); // first read + one refresh for "Nope"
    await c.archiveAssociations('contacts', 'companies', [{ fromId: '1', toId: '2', label: 'Billing contact' }]);
    expect(calls.filter((x) => x.path.endsWith('/labels'))).toHaveLength(2); // cached
    expect(calls.at(-1)!.body).toEqual({ inputs: [{ from: { id: '1' }, to: { id: '2' }, types: [{ associationCategory: 'USER_DEFINED', associationTypeId: 1001 }] }] });
  });

  it('archive of whole associations groups the to-records of one from-record', async () => {
    const calls = serve((path) => (path.endsWith('/batch/archive') ? { status: 204 } : undefined));
    const { c } = client({ portalId: 1 });
    const r = await c.archiveAssociations('deals', 'contacts', [{ fromId: '1', toId: '2' }, { fromId: '1', toId: '3' }, { fromId: '4', toId: '2' }]);
    expect(r.errors).toEqual([]);
    expect(calls[0]!.path).toBe('/crm/v4/associations/deals/contacts/batch/archive');
    expect(calls[0]!.body).toEqual({ inputs: [{ from: { id: '1' }, to: [{ id: '2' }, { id: '3' }] }, { from: { id: '4' }, to: [{ id: '2' }] }] });
  });

  it('primary and unlabeled type ids of the standard pairs', () => {
    expect(primaryAssociationTypeId('contacts', 'companies')).toBe(1);
    expect(primaryAssociationTypeId('0-2', '0-1')).toBe(2);
    expect(primaryAssociationTypeId('deal', 'company')).toBe(5);
    expect(primaryAssociationTypeId('companies', 'deals')).toBe(6);
    expect(primaryAssociationTypeId('deals', 'contacts')).toBeUndefined();
    expect(primaryAssociationTypeId('p_car', 'companies')).toBeUndefined();
    expect(unlabeledAssociationTypeId('contacts', 'companies')).toBe(279);
    expect(unlabeledAssociationTypeId('deals', 'companies')).toBe(341);
    expect(unlabeledAssociationTypeId('deals', 'contacts')).toBe(3);
  });
});

describe('batch read: history and merges', () => {
  it('propertiesWithHistory: 50 inputs per request, propertyChangedAt per property', async () => {
    const calls = serve((path, body) => {
      if (!path.endsWith('/batch/read')) return undefined;
      return {
        status: 200,
        body: {
          status: 'COMPLETE',
          results: (body.inputs as { id: string }[]).map((i) => ({
            id: i.id,
            properties: { firstname: `f${i.id}`, lastname: null },
            propertiesWithHistory: {
              firstname: [{ value: `f${i.id}`, timestamp: '2026-01-02T00:00:00.000Z', sourceType: 'API' }, { value: 'old', timestamp: '2026-01-01T00:00:00.000Z', sourceType: 'API' }],
              lastname: [],
            },
            createdAt: 'c', updatedAt: 'u',
          })),
        },
      };
    });
    const { c } = client({ portalId: 1 });
    const ids = Array.from({ length: 120 }, (_, i) => String(i + 1));
    const r = await c.batchRead('contacts', { ids, properties: ['email'], propertiesWithHistory: ['firstname', 'lastname'] });
    expect(calls.map((x) => x.body.inputs.length)).toEqual([50, 50, 20]);
    expect(calls[0]!.body.propertiesWithHistory).toEqual(['firstname', 'lastname']);
    expect(calls[0]!.body.properties).toEqual(['email', 'firstname', 'lastname', 'hs_merged_object_ids']);
    expect(r.results).toHaveLength(120);
    expect(r.results[0]!.propertyChangedAt).toEqual({ firstname: Date.parse('2026-01-02T00:00:00.000Z') });
    expect(r.inputIndexes![119]).toBe(119);
    // Without history: 100 per request, no propertiesWithHistory in the body.
    calls.length = 0;
    await c.batchRead('contacts', { ids, properties: ['email'] });
    expect(calls.map((x) => x.body.inputs.length)).toEqual([100, 20]);
    expect(calls[0]!.body.propertiesWithHistory).toBeUndefined();
  });

  it('IDs merged into one record: the record answers each input (mergedFrom, inputIndexes)', async () => {
    serve((path, body) => {
      if (!path.endsWith('/batch/read')) return undefined;
      // HubSpot answers old IDs 11 and 12 with the merged record 30, once.
      const asked = (body.inputs as { id: string }[]).map((i) => i.id);
      const results = [];
      if (asked.some((id) => ['11', '12', '30'].includes(id))) results.push({ id: '30', properties: { hs_merged_object_ids: '11;12' }, createdAt: 'c', updatedAt: 'u' });
      if (asked.includes('5')) results.push({ id: '5', properties: { hs_merged_object_ids: '' }, createdAt: 'c', updatedAt: 'u' });
      return { status: 200, body: { status: 'COMPLETE', results } };
    });
    const { c } = client({ portalId: 1 });
    const r = await c.batchRead('contacts', { ids: ['11', '5', '12'], properties: [] });
    expect(r.errors).toEqual([]);
    const byInput = new Map(r.inputIndexes!.map((idx, k) => [idx, r.results[k]!]));
    expect([...byInput.keys()].sort()).toEqual([0, 1, 2]);
    expect(byInput.get(0)).toMatchObject({ id: '30', mergedFrom: ['11', '12'] });
    expect(byInput.get(2)).toMatchObject({ id: '30', mergedFrom: ['11', '12'] });
    expect(byInput.get(0)).not.toBe(byInput.get(2));
    expect(byInput.get(1)!.mergedFrom).toBeUndefined();
  });
});
