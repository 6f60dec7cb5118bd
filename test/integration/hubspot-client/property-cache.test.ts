/**
 * Property definitions cached per HubSpot account (operator/src/hubspot/property-cache.ts),
 * through real clients against the HubSpot API sandbox: clients of one account share one read,
 * a new client (a new or changed spec) wants a recent list, created properties show at once,
 * the TTL and a forced read refresh it, and another account has its own entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PropertyCache } from '../../../operator/src/hubspot/property-cache.js';
import { createHubSpotClient, LimiterRegistry } from '../../../operator/src/hubspot/index.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';

let sandbox: HubSpotSandbox;
const limiters = new LimiterRegistry();
let now = 1_000_000;
const cache = new PropertyCache({ ttlMs: 300_000, newReaderMaxAgeMs: 10_000, now: () => now });

const propertyReads = () => sandbox.stats().requests.byRoute['GET /crm/v3/properties/{objectType}'] ?? 0;

function client(token = sandbox.token) {
  return createHubSpotClient({
    baseURL: sandbox.url,
    auth: { kind: 'privateAppToken', token },
    rateLimit: { requestsPerTenSeconds: 100, dailyRequests: 250_000, searchRequestsPerSecond: 4 },
    limiters,
    propertyCache: cache,
  });
}

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ limits: { requestsPerWindow: 100_000, windowMs: 10_000, dailyRequests: 100_000_000, searchPerSecond: 10_000 } });
});

afterAll(async () => {
  await sandbox?.close();
});

describe('HubSpot property cache', () => {
  it('clients of one account starting together share one read per object type', async () => {
    const before = propertyReads();
    const clients = Array.from({ length: 50 }, () => client());
    const lists = await Promise.all(clients.map((c) => c.listProperties('contacts')));
    expect(propertyReads() - before).toBe(1);
    expect(lists[0]!.some((p) => p.name === 'email')).toBe(true);
    // One shared, frozen list: no per-integration copy.
    expect(new Set(lists).size).toBe(1);
    expect(Object.isFrozen(lists[0])).toBe(true);
    await Promise.all(clients.map((c) => c.listProperties('companies')));
    expect(propertyReads() - before).toBe(2);
    expect(cache.stats.loads).toBe(2);
  });

  it('a client reads again after the TTL; a new client wants a recent list; maxAgeMs 0 forces a read', async () => {
    const c = client();
    await c.listProperties('deals');
    const before = propertyReads();
    now += 60_000;
    await c.listProperties('deals'); // the same client within the TTL: cached
    expect(propertyReads()).toBe(before);
    await client().listProperties('deals'); // a new client (new spec): the entry is 60 s old > 10 s
    expect(propertyReads()).toBe(before + 1);
    await client().listProperties('deals'); // another new client right after: recent enough
    expect(propertyReads()).toBe(before + 1);
    now += 300_001;
    await c.listProperties('deals');
    expect(propertyReads()).toBe(before + 2);
    await c.listProperties('deals', { maxAgeMs: 0 });
    expect(propertyReads()).toBe(before + 3);
  });

  it('a property created through one client is seen by the others without a read', async () => {
    const a = client();
    const b = client();
    await a.listProperties('contacts', { maxAgeMs: 0 });
    await b.listProperties('contacts');
    const before = propertyReads();
    await a.createProperty('contacts', { name: 'favourite_colour', label: 'Favourite colour', type: 'string' });
    expect((await b.listProperties('contacts')).some((p) => p.name === 'favourite_colour')).toBe(true);
    expect(propertyReads()).toBe(before);
  });

  it('another account has its own entry', async () => {
    await fetch(`${sandbox.url}/__sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'other-account', portalId: 7654321 }) });
    const other = client('other-account');
    await other.getPortalId();
    const before = propertyReads();
    const list = await other.listProperties('contacts');
    expect(propertyReads()).toBe(before + 1);
    expect(list.some((p) => p.name === 'email')).toBe(true);
  });

  it('a failed read is not cached', async () => {
    // An object type HubSpot does not know: the read itself fails (a revoked token would now fail
    // earlier, at the portal lookup, without reaching the cache).
    const bad = client();
    await expect(bad.listProperties('tickets_x')).rejects.toThrow();
    expect(cache.size).toBeGreaterThan(0);
    const before = cache.stats.loads;
    await expect(bad.listProperties('tickets_x')).rejects.toThrow();
    expect(cache.stats.loads).toBe(before + 1);
  });
});
