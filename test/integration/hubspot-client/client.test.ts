/**
 * The HubSpot client over real HTTP against the HubSpot API sandbox, steered through its admin
 * API: pacing under a small rate limit, faults retried, daily limit, OAuth refresh, revoked
 * tokens, missing scopes, shared limiter, batch isolation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import {
  createHubSpotClient,
  HubSpotApiError,
  LimiterRegistry,
  type HubSpotClient,
  type HubSpotClientOptions,
  type RequestObservation,
} from '../../../operator/src/hubspot/index.js';
import { credentialKey, portalKey } from '../../../operator/src/hubspot/ratelimit.js';

let sandbox: HubSpotSandbox;

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sandbox.url}/__sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox admin ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * One registry for the file, as one process has one: requests of an earlier test still count
 * in the sandbox's window when the next test starts, and the limiter must know them.
 */
const limiters = new LimiterRegistry();
const clients: HubSpotClient[] = [];

const GENEROUS = { requestsPerWindow: 100_000, windowMs: 10_000, dailyRequests: 100_000_000, searchPerSecond: 10_000 };

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
  clients.push(c);
  return { c, seen };
}

/** Run `n` calls with `concurrency` workers; returns wall time from first start to last end. */
async function pool(n: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await call(next++);
    }),
  );
  return performance.now() - started;
}

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ port: 0, seed: { contacts: 50 } });
});

afterAll(async () => {
  await sandbox?.close();
});

afterEach(async () => {
  // A finished test's clients no longer lower the account's shared budget.
  for (const c of clients.splice(0)) c.close?.();
  await admin('PUT', '/faults', {});
  await admin('PUT', '/limits', GENEROUS);
});

describe('HubSpot client against the sandbox', () => {
  it("paces to >= 95% of a 20-per-10-seconds limit (HubSpot's window) with zero 429s", async () => {
    // Each window costs one request latency (see window.ts): with HubSpot's 10 s window that
    // stays small even when a loaded CI machine stretches latencies to hundreds of ms.
    const cap = 20;
    const windowMs = 10_000;
    await admin('PUT', '/limits', { requestsPerWindow: cap, windowMs });
    const rateLimit = { requestsPerTenSeconds: cap, dailyRequests: 250_000, searchRequestsPerSecond: 4 };
    // Warm up sockets and JIT first — a one-time cost of ~100 ms that a real import amortises
    // over hours but that would weigh on a measurement of a few windows — on another portal,
    // so the measured portal's window starts empty.
    await admin('POST', '/tokens', { token: 'warm-up-token', portalId: 7654321 });
    // (portalId given, as spec.hubspot.portalId would: no lookup request inside the measurement.)
    const warm = client({ rateLimit, limiters: new LimiterRegistry(), auth: { kind: 'privateAppToken', token: 'warm-up-token' }, portalId: 7654321 });
    await pool(16, 8, () => warm.c.listObjects('contacts', { limit: 10, properties: ['email'] }));
    // Measured on a portal of its own too, so that its full window does not hold up later tests.
    await admin('POST', '/tokens', { token: 'pacing-token', portalId: 7654322 });
    const before = (await admin('GET', '/stats')).rateLimited as number;
    const { c, seen } = client({ rateLimit, limiters: new LimiterRegistry(), auth: { kind: 'privateAppToken', token: 'pacing-token' }, portalId: 7654322 });
    const n = 40;
    const elapsed = await pool(n, 8, () => c.listObjects('contacts', { limit: 10, properties: ['email'] }));
    const after = (await admin('GET', '/stats')).rateLimited as number;
    expect(after - before).toBe(0);
    expect(seen.filter((o) => o.rateLimited)).toHaveLength(0);
    expect(seen).toHaveLength(n);
    // A perfect limiter sends `cap` at once, then `cap` more each window.
    const idealMs = (n / cap - 1) * windowMs;
    const ratio = idealMs / elapsed;
    console.log(`pacing: ${n} requests in ${Math.round(elapsed)} ms, ideal ${idealMs} ms, ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThanOrEqual(0.95);
    expect(ratio).toBeLessThanOrEqual(1.0);
  });

  it('two clients of one account share one limiter: together they stay within the limit', async () => {
    await admin('PUT', '/limits', { requestsPerWindow: 10, windowMs: 500 });
    const before = (await admin('GET', '/stats')).rateLimited as number;
    const rateLimit = { requestsPerTenSeconds: 10, dailyRequests: 250_000, searchRequestsPerSecond: 4 };
    // Two credentials of the same portal, no spec.portalId: each client learns the portal from
    // its token before its first request, so both pace in the portal's one limiter.
    await admin('POST', '/tokens', { token: 'second-token' });
    const a = client({ rateLimit });
    const b = client({ rateLimit, auth: { kind: 'privateAppToken', token: 'second-token' } });
    const n = 40;
    const elapsed = await Promise.all([
      pool(n, 4, () => a.c.listObjects('contacts', { limit: 1, properties: [] })),
      pool(n, 4, () => b.c.listObjects('contacts', { limit: 1, properties: [] })),
    ]);
    const after = (await admin('GET', '/stats')).rateLimited as number;
    expect(after - before).toBe(0);
    // 82 requests at 10 per 500 ms cannot take less than ~3.5 s together.
    expect(Math.max(...elapsed)).toBeGreaterThanOrEqual(3500);
    expect(a.c.usage().requestsLast24h + b.c.usage().requestsLast24h).toBe(2 * n + 2);
    expect([a.c.portalId(), b.c.portalId()]).toEqual([sandbox.portalId, sandbox.portalId]);
    const shared = limiters.get(portalKey(sandbox.url, sandbox.portalId));
    expect(limiters.get(credentialKey(sandbox.url, `token:${sandbox.token}`))).toBe(shared);
    expect(limiters.get(credentialKey(sandbox.url, 'token:second-token'))).toBe(shared);
  });

  it('retries 5xx and connection resets to success', async () => {
    await admin('PUT', '/faults', { errorRate: 0.25, errorStatus: 503, resetRate: 0.15 });
    // 40% of attempts fail: ten attempts make a call fail only once in ~10,000.
    const { c, seen } = client({ retry: { baseDelayMs: 1, maxDelayMs: 10, maxAttempts: 10 } });
    const ids = (await sandboxIds(5));
    for (let i = 0; i < 15; i++) {
      const r = await c.batchRead('contacts', { ids, properties: ['email'] });
      expect(r.results).toHaveLength(5);
      expect(r.errors).toEqual([]);
    }
    const upsert = await c.batchUpsert('contacts', [{ id: 'fault-1@example.com', idProperty: 'email', properties: { firstname: 'F' } }]);
    expect(upsert.results).toHaveLength(1);
    const stats = await admin('GET', '/stats');
    expect(stats.faults.injectedErrors + stats.faults.resets).toBeGreaterThan(0);
    expect(seen.some((o) => o.code === 503)).toBe(true);
  });

  it('rides out a 429 storm (TEN_SECONDLY_ROLLING) and counts it in usage', async () => {
    await admin('PUT', '/faults', { errorRate: 0.3, errorStatus: 429 });
    const { c, seen } = client({ retry: { maxRateLimitRetries: 20 } });
    for (let i = 0; i < 12; i++) {
      const page = await c.listObjects('contacts', { limit: 1, properties: [] });
      expect(page.results).toHaveLength(1);
    }
    const limited = seen.filter((o) => o.rateLimited).length;
    expect(limited).toBeGreaterThan(0);
    expect(c.usage().rateLimitedLast24h).toBe(limited);
    expect(c.usage().requestsLast24h).toBe(12 + limited);
  });

  it('a request that outlives its timeout is retried, then reported as Transient', async () => {
    await admin('PUT', '/faults', { latencyMs: 400 });
    const { c, seen } = client({ timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = (await c.listObjects('contacts', { limit: 1, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toBeInstanceOf(HubSpotApiError);
    expect(err.category).toBe('Transient');
    expect(err.message).toMatch(/timed out after 100 ms after 2 attempts/);
    expect(seen.map((o) => o.code)).toEqual([0, 0]);
  });

  it('a DAILY 429 becomes RateLimit with policyName DAILY; other clients of the account then fail fast', async () => {
    // Its own registry: in this process the account's daily limit is now known to be spent.
    const dailyLimiters = new LimiterRegistry();
    const { c } = client({ limiters: dailyLimiters });
    const other = client({ limiters: dailyLimiters });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    const today = (await admin('GET', '/stats')).usage[String(sandbox.portalId)].today as number;
    await admin('PUT', '/limits', { dailyRequests: today + 1 });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    const err = (await c.listObjects('contacts', { limit: 1, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toBeInstanceOf(HubSpotApiError);
    expect(err.category).toBe('RateLimit');
    expect(err.policyName).toBe('DAILY');
    expect(c.usage().remainingToday).toBe(0);
    const calls = (await admin('GET', '/stats')).requests.total as number;
    await expect(other.c.listObjects('contacts', { limit: 1, properties: [] })).rejects.toMatchObject({ category: 'RateLimit', policyName: 'DAILY' });
    expect((await admin('GET', '/stats')).requests.total).toBe(calls); // HubSpot was not called
  });

  it('OAuth: an expired access token is refreshed and the request succeeds', async () => {
    const { refreshToken } = await admin('POST', '/oauth-apps', { clientId: 'app-1', clientSecret: 'shh-secret' });
    const { c, seen } = client({ auth: { kind: 'oauth', clientId: 'app-1', clientSecret: 'shh-secret', refreshToken } });
    expect(await c.getPortalId()).toBe(sandbox.portalId);
    await admin('PUT', '/faults', { expireTokens: true });
    const page = await c.listObjects('contacts', { limit: 2, properties: ['email'] });
    expect(page.results).toHaveLength(2);
    // The portal comes from the access-token information (not counted against the API limits).
    expect(seen.map((o) => `${o.kind}:${o.code}`)).toEqual(['oauth:200', 'token_info:200', 'list:401', 'oauth:200', 'list:200']);
    expect(c.usage().requestsLast24h).toBe(2);
  });

  it('OAuth: a refused refresh token is Authentication, and names no secret', async () => {
    await admin('POST', '/oauth-apps', { clientId: 'app-2', clientSecret: 'shh-secret-2' });
    const { c } = client({ auth: { kind: 'oauth', clientId: 'app-2', clientSecret: 'shh-secret-2', refreshToken: 'not-a-real-refresh-token' } });
    const err = (await c.getPortalId().catch((e: unknown) => e)) as HubSpotApiError;
    expect(err.category).toBe('Authentication');
    expect(err.message).not.toContain('not-a-real-refresh-token');
    expect(err.message).not.toContain('shh-secret-2');
  });

  it('a revoked private-app token is Authentication', async () => {
    await admin('POST', '/tokens', { token: 'soon-revoked' });
    const { c } = client({ auth: { kind: 'privateAppToken', token: 'soon-revoked' } });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    await admin('DELETE', '/tokens/soon-revoked');
    const err = (await c.listObjects('contacts', { limit: 1, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err.category).toBe('Authentication');
    expect(err.status).toBe(401);
    expect(err.message).not.toContain('soon-revoked');
  });

  it('a token without the write scope gets Permission', async () => {
    await admin('POST', '/tokens', { token: 'read-only', scopes: ['crm.objects.contacts.read'] });
    const { c } = client({ auth: { kind: 'privateAppToken', token: 'read-only' } });
    await c.listObjects('contacts', { limit: 1, properties: [] });
    const err = (await c.batchUpsert('contacts', [{ id: 'x@example.com', idProperty: 'email', properties: {} }]).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err.category).toBe('Permission');
    expect(err.status).toBe(403);
  });

  it('batch create: one invalid and one duplicate record never block the other 98', async () => {
    const { c, seen } = client();
    const existing = await c.batchRead('contacts', { ids: (await sandboxIds(1)), properties: ['email'] });
    const dupEmail = existing.results[0]!.properties.email!;
    const inputs = Array.from({ length: 100 }, (_, i) => ({ properties: { email: `batch${i}@example.com`, firstname: `B${i}` } }));
    inputs[17]!.properties.email = 'not an email';
    inputs[80]!.properties.email = dupEmail;
    const before = (await admin('GET', '/stats')).records.contacts as number;
    const r = await c.batchCreate('contacts', inputs);
    expect(r.errors.map((e) => [e.index, e.category])).toEqual([[17, 'Validation'], [80, 'Duplicate']]);
    expect(r.errors[0]!.correlationId).toBeTruthy();
    expect(r.results).toHaveLength(98);
    expect((await admin('GET', '/stats')).records.contacts).toBe(before + 98);
    expect(seen.filter((o) => o.kind === 'batch_create').length).toBeLessThanOrEqual(20);
  });

  it('batch update: a missing id is a per-input NotFound, the rest apply', async () => {
    const { c } = client();
    const ids = await sandboxIds(3);
    const r = await c.batchUpdate('contacts', [
      { id: ids[0]!, properties: { firstname: 'U0' } },
      { id: '999999999', properties: { firstname: 'nobody' } },
      { id: ids[2]!, properties: { firstname: 'U2' } },
    ]);
    expect(r.errors).toMatchObject([{ index: 1, category: 'NotFound' }]);
    expect(r.inputIndexes).toEqual([0, 2]);
    const read = await c.batchRead('contacts', { ids: [ids[0]!, ids[2]!], properties: ['firstname'] });
    expect(read.results.map((o) => o.properties.firstname).sort()).toEqual(['U0', 'U2']);
  });

  it('upsert, search, archive and properties round-trip', async () => {
    const { c } = client();
    const up = await c.batchUpsert('contacts', [
      { id: 'round@example.com', idProperty: 'email', properties: { firstname: 'Round' } },
    ]);
    expect(up.results[0]!.new).toBe(true);
    const id = up.results[0]!.id;
    // Upserting the existing record again: matched by email, the result says so.
    const again2 = await c.batchUpsert('contacts', [{ id: 'round@example.com', idProperty: 'email', properties: { lastname: 'Trip' } }]);
    expect(again2.results).toMatchObject([{ id, new: false, properties: { email: 'round@example.com', lastname: 'Trip' } }]);
    expect(again2.inputIndexes).toEqual([0]);
    const found = await c.searchObjects('contacts', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'round@example.com' }] }],
      properties: ['email', 'firstname'],
      limit: 10,
    });
    expect(found.total).toBe(1);
    expect(found.results[0]!.id).toBe(id);
    const archived = await c.batchArchive('contacts', [id]);
    expect(archived.errors).toEqual([]);
    const props = await c.listProperties('contacts');
    expect(props.some((p) => p.name === 'email')).toBe(true);
    const created = await c.createProperty('contacts', { name: 'ext_id', label: 'External ID', type: 'string', hasUniqueValue: true });
    expect(created.name).toBe('ext_id');
    const again = (await c.createProperty('contacts', { name: 'ext_id', label: 'External ID', type: 'string' }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(again.category).toBe('Duplicate');
  });

  it('custom objects go through the same routes by p_name and by type ID', async () => {
    const res = await fetch(`${sandbox.url}/crm-object-schemas/v3/schemas`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'car',
        labels: { singular: 'Car', plural: 'Cars' },
        properties: [{ name: 'vin', label: 'VIN', type: 'string', fieldType: 'text', hasUniqueValue: true }],
        requiredProperties: ['vin'],
        primaryDisplayProperty: 'vin',
      }),
    });
    expect(res.status).toBe(201);
    const { objectTypeId } = (await res.json()) as { objectTypeId: string };
    const { c } = client();
    const created = await c.batchCreate('p_car', [{ properties: { vin: 'VIN-1' } }, { properties: {} }]);
    expect(created.results).toHaveLength(1);
    expect(created.errors).toMatchObject([{ index: 1, category: 'Validation' }]);
    const page = await c.listObjects(objectTypeId, { limit: 10, properties: ['vin'] });
    expect(page.results.map((o) => o.properties.vin)).toEqual(['VIN-1']);
    const props = await c.listProperties('p_car');
    expect(props.map((p) => p.name)).toContain('vin');
  });

  it('an unknown object type is NotFound', async () => {
    const { c } = client();
    const err = (await c.listObjects('p_nope', { limit: 1, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toBeInstanceOf(HubSpotApiError);
    expect(err.category).toBe('NotFound');
  });

  it('paces searches to the per-second search limit with zero 429s', async () => {
    await admin('PUT', '/limits', { searchPerSecond: 4 });
    const before = (await admin('GET', '/stats')).rateLimited as number;
    const { c } = client();
    const elapsed = await pool(12, 6, () =>
      c.searchObjects('contacts', { filterGroups: [], properties: ['email'], limit: 1 }),
    );
    expect((await admin('GET', '/stats')).rateLimited - before).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(2000);
  });
});

/** IDs of seeded contacts. */
async function sandboxIds(n: number): Promise<string[]> {
  const { c } = client();
  const page = await c.listObjects('contacts', { limit: n, properties: [] });
  return page.results.map((o) => o.id);
}
