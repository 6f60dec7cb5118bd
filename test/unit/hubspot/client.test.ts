/**
 * The client over a scripted fetch: retries, 401 refresh, 429 policies, observations, budget,
 * and that no secret leaves in an error. (Real HTTP against the sandbox: test/integration/hubspot-client.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHubSpotClient, HubSpotApiError, LimiterRegistry, type RequestObservation } from '../../../operator/src/hubspot/index.js';
import { credentialKey, portalKey } from '../../../operator/src/hubspot/ratelimit.js';

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

function script(replies: Reply[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchMock = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const r = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (r instanceof Error) throw r;
    const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    return new Response(r.status === 204 ? null : text, { status: r.status, headers: r.headers });
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const rateLimit = { requestsPerTenSeconds: 100, dailyRequests: 250_000, searchRequestsPerSecond: 4 };
const page = { results: [{ id: '1', properties: { email: 'a@x' }, createdAt: 'c', updatedAt: 'u' }], paging: { next: { after: '1' } } };
const reset = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });

function client(extra: Partial<Parameters<typeof createHubSpotClient>[0]> = {}) {
  const seen: RequestObservation[] = [];
  const c = createHubSpotClient({
    baseURL: 'http://hubspot.test/',
    auth: { kind: 'privateAppToken', token: 'pat-secret-0001' },
    rateLimit,
    limiters: new LimiterRegistry(),
    retry: { baseDelayMs: 1, maxDelayMs: 4 },
    onRequest: (o) => seen.push(o),
    // The client sends through node:http by default; here through the global fetch the tests stub.
    fetch: (url, init) => globalThis.fetch(url, init),
    // The portal is named (spec.hubspot.portalId): no lookup before the first request, so each
    // scripted reply answers the call under test. Lookups are tested below.
    portalId: 1,
    ...extra,
  });
  return { c, seen };
}

describe('HubSpot client requests', () => {
  it('lists objects with repeated properties, bearer auth, and the next cursor', async () => {
    const calls = script([{ status: 200, body: page }]);
    const { c, seen } = client();
    const p = await c.listObjects('p_orders', { limit: 100, properties: ['email', 'firstname'], after: 'abc', archived: false });
    expect(p).toEqual({ results: page.results, after: '1' });
    expect(calls[0]!.url).toBe('http://hubspot.test/crm/v3/objects/p_orders?limit=100&after=abc&properties=email&properties=firstname&properties=hs_merged_object_ids&archived=false');
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer pat-secret-0001');
    expect(seen).toMatchObject([{ kind: 'list', code: 200, rateLimited: false }]);
  });

  it('retries 5xx and resets of idempotent calls with backoff, observing every attempt', async () => {
    script([{ status: 502, body: '<html>bad gateway</html>' }, reset(), { status: 503 }, { status: 200, body: page }]);
    const { c, seen } = client();
    const p = await c.listObjects('contacts', { limit: 10, properties: [] });
    expect(p.results).toHaveLength(1);
    expect(seen.map((o) => o.code)).toEqual([502, 0, 503, 200]);
    expect(c.usage().requestsLast24h).toBe(4);
  });

  it('gives up after maxAttempts as Transient', async () => {
    script([{ status: 500, body: { message: 'boom' } }]);
    const { c, seen } = client({ retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } });
    const err = (await c.listObjects('contacts', { limit: 10, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err.category).toBe('Transient');
    expect(err.status).toBe(500);
    expect(seen).toHaveLength(3);
  });

  it('never resends a batch create whose outcome is unknown (reset after sending)', async () => {
    const calls = script([reset()]);
    const { c } = client();
    const err = (await c.batchCreate('contacts', [{ properties: { email: 'a@x' } }]).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err.category).toBe('Transient');
    expect(err.message).toMatch(/not resent/);
    expect(calls).toHaveLength(1);
  });

  it('times out a hanging request and retries it', async () => {
    let n = 0;
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => {
      n++;
      if (n === 1) {
        return new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));
      }
      return Promise.resolve(new Response(JSON.stringify(page), { status: 200 }));
    });
    const { c, seen } = client({ timeoutMs: 50 });
    const p = await c.listObjects('contacts', { limit: 10, properties: [] });
    expect(p.results).toHaveLength(1);
    expect(seen.map((o) => o.code)).toEqual([0, 200]);
  });

  it('4xx other than 429/401 are not retried and are classified', async () => {
    const calls = script([{ status: 403, body: { status: 'error', category: 'MISSING_SCOPES', message: 'missing crm.objects.contacts.write', correlationId: 'x1' } }]);
    const { c } = client();
    const err = (await c.batchUpdate('contacts', [{ id: '1', properties: { a: 'b' } }]).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toBeInstanceOf(HubSpotApiError);
    expect(err.category).toBe('Permission');
    expect(err.correlationId).toBe('x1');
    expect(calls).toHaveLength(1);
  });

  it('a private-app token rejected with 401 is Authentication, and the token is not in the message', async () => {
    script([{ status: 401, body: { status: 'error', category: 'INVALID_AUTHENTICATION', message: 'token pat-secret-0001 is not valid' } }]);
    const { c } = client();
    const err = (await c.getPortalId().catch((e: unknown) => e)) as HubSpotApiError;
    expect(err.category).toBe('Authentication');
    expect(err.message).not.toContain('pat-secret-0001');
  });

  it('OAuth: refreshes on 401 once and retries with the new token', async () => {
    const calls = script([
      { status: 200, body: { access_token: 'at-1', refresh_token: 'rt', expires_in: 1800 } },
      { status: 401, body: { category: 'EXPIRED_AUTHENTICATION', message: 'expired' } },
      { status: 200, body: { access_token: 'at-2', refresh_token: 'rt', expires_in: 1800 } },
      { status: 200, body: page },
    ]);
    const { c, seen } = client({ auth: { kind: 'oauth', clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt' } });
    expect((await c.listObjects('contacts', { limit: 1, properties: [] })).results).toHaveLength(1);
    expect(calls.map((x) => new URL(x.url).pathname)).toEqual(['/oauth/v1/token', '/crm/v3/objects/contacts', '/oauth/v1/token', '/crm/v3/objects/contacts']);
    expect((calls[3]!.init.headers as Record<string, string>).authorization).toBe('Bearer at-2');
    expect(calls[0]!.init.body).toBe('grant_type=refresh_token&client_id=cid&client_secret=cs&refresh_token=rt');
    expect(seen.map((o) => o.kind)).toEqual(['oauth', 'list', 'oauth', 'list']);
    // Token refreshes are observed but not counted as API usage.
    expect(c.usage().requestsLast24h).toBe(2);
  });

  it('OAuth: a second 401 after the refresh is Authentication (refreshed once, not in a loop)', async () => {
    const calls = script([
      { status: 200, body: { access_token: 'at-1', refresh_token: 'rt', expires_in: 1800 } },
      { status: 401, body: { category: 'INVALID_AUTHENTICATION', message: 'revoked' } },
      { status: 200, body: { access_token: 'at-2', refresh_token: 'rt', expires_in: 1800 } },
      { status: 401, body: { category: 'INVALID_AUTHENTICATION', message: 'revoked' } },
    ]);
    const { c } = client({ auth: { kind: 'oauth', clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt' } });
    const err = (await c.listObjects('contacts', { limit: 1, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toMatchObject({ category: 'Authentication', status: 401 });
    expect(calls).toHaveLength(4);
    expect(err.message).not.toContain('at-2');
  });

  it('429 TEN_SECONDLY_ROLLING is retried after waiting; counted in usage', async () => {
    script([
      { status: 429, body: { policyName: 'TEN_SECONDLY_ROLLING', errorType: 'RATE_LIMIT' }, headers: { 'X-HubSpot-RateLimit-Max': '2', 'X-HubSpot-RateLimit-Remaining': '0', 'X-HubSpot-RateLimit-Interval-Milliseconds': '100' } },
      { status: 200, body: page, headers: { 'X-HubSpot-RateLimit-Max': '2', 'X-HubSpot-RateLimit-Remaining': '1', 'X-HubSpot-RateLimit-Interval-Milliseconds': '100' } },
    ]);
    const { c, seen } = client();
    const started = Date.now();
    await c.listObjects('contacts', { limit: 10, properties: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(seen.map((o) => o.rateLimited)).toEqual([true, false]);
    expect(c.usage()).toMatchObject({ requestsLast24h: 2, rateLimitedLast24h: 1, remainingInWindow: 1 });
  });

  it('429 DAILY raises RateLimit with policyName DAILY at once', async () => {
    const calls = script([{ status: 429, body: { policyName: 'DAILY', errorType: 'RATE_LIMIT', message: 'You have reached your daily limit.' } }]);
    const { c } = client();
    const err = (await c.listObjects('contacts', { limit: 10, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toMatchObject({ category: 'RateLimit', policyName: 'DAILY' });
    const again = (await c.listObjects('contacts', { limit: 10, properties: [] }).catch((e: unknown) => e)) as HubSpotApiError;
    expect(again).toMatchObject({ category: 'RateLimit', policyName: 'DAILY' });
    expect(calls).toHaveLength(1);
  });

  it("stops at this integration's daily budget without calling HubSpot", async () => {
    const calls = script([{ status: 200, body: page }]);
    const { c } = client({ rateLimit: { ...rateLimit, dailyRequests: 2 } });
    await c.listObjects('contacts', { limit: 10, properties: [] });
    await c.listObjects('contacts', { limit: 10, properties: [] });
    await expect(c.listObjects('contacts', { limit: 10, properties: [] })).rejects.toMatchObject({ category: 'RateLimit', policyName: 'DAILY' });
    expect(calls).toHaveLength(2);
    expect(c.usage()).toMatchObject({ requestsLast24h: 2, dailyBudget: 2, remainingToday: 0 });
  });

  it('aborting the client signal stops a backoff wait promptly', async () => {
    script([{ status: 500 }]);
    const ac = new AbortController();
    const { c } = client({ signal: ac.signal, retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    const p = c.listObjects('contacts', { limit: 10, properties: [] });
    setTimeout(() => ac.abort(), 20);
    const started = Date.now();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('aborting mid-request frees its slot in the shared limiter', async () => {
    let fetched = false;
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => {
      fetched = true;
      return new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));
    });
    const limiters = new LimiterRegistry();
    const ac = new AbortController();
    const { c } = client({ limiters, signal: ac.signal });
    const p = c.listObjects('contacts', { limit: 10, properties: [] });
    const limiter = limiters.get(portalKey('http://hubspot.test/', 1));
    await vi.waitFor(() => expect(limiter.general.inFlight).toBe(1));
    await vi.waitFor(() => expect(fetched).toBe(true));
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(limiter.general.inFlight).toBe(0);
  });

  it('rejects bad object types and settings with precise messages, before any request', async () => {
    const calls = script([{ status: 200, body: page }]);
    const { c } = client();
    await expect(c.listObjects('../account-info', { limit: 1, properties: [] })).rejects.toThrow(/invalid HubSpot object type "..\/account-info"/);
    expect(calls).toHaveLength(0);
    expect(() => client({ rateLimit: { ...rateLimit, requestsPerTenSeconds: 0 } })).toThrow(/spec.hubspot.rateLimit.requestsPerTenSeconds must be a number >= 1, got 0/);
    expect(() => client({ baseURL: 'ftp://x' })).toThrow(/must use http or https/);
  });

  it('splits batches over 100 inputs and reports absolute input indexes', async () => {
    const calls = script([{ status: 200, body: { results: [] } }]);
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      const { inputs } = JSON.parse(String(init.body)) as { inputs: { id: string; properties: Record<string, string> }[] };
      const bad = inputs.find((i) => i.id === '150');
      if (bad) {
        return new Response(JSON.stringify({ status: 'COMPLETE', results: inputs.filter((i) => i !== bad).map((i) => ({ id: i.id, properties: {} })), errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'not found', context: { ids: ['150'] } }] }), { status: 207 });
      }
      return new Response(JSON.stringify({ status: 'COMPLETE', results: inputs.map((i) => ({ id: i.id, properties: {} })) }), { status: 200 });
    });
    const { c } = client();
    const inputs = Array.from({ length: 250 }, (_, i) => ({ id: String(i), properties: { firstname: `n${i}` } }));
    const r = await c.batchUpdate('contacts', inputs);
    expect(calls).toHaveLength(3);
    expect(r.results).toHaveLength(249);
    expect(r.errors).toMatchObject([{ index: 150, category: 'NotFound' }]);
    expect(r.inputIndexes!.slice(0, 3)).toEqual([0, 1, 2]);
    expect(r.inputIndexes).not.toContain(150);
  });
});
