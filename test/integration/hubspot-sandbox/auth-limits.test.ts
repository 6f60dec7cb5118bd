import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GENEROUS_LIMITS } from '../../../operator/src/sandbox/hubspot/index.js';
import { apiError, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandbox.close();
});
beforeEach(() => {
  h.sandbox.reset();
  h.sandbox.setLimits(GENEROUS_LIMITS);
  h.sandbox.setFaults({});
});

describe('authentication and scopes', () => {
  it('rejects missing, unknown and revoked tokens with 401 INVALID_AUTHENTICATION', async () => {
    const none = await h.http('GET', '/crm/v3/objects/contacts', undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(none.body.correlationId).toBeTruthy();
    const unknown = await apiError(() => h.clientWith('who-is-this').crm.contacts.basicApi.getPage());
    expect(unknown.code).toBe(401);
    expect(unknown.body.category).toBe('INVALID_AUTHENTICATION');

    const reg = await h.http('POST', '/__sandbox/tokens', { token: 'pat-temp', portalId: 777 });
    expect(reg.status).toBe(201);
    const details = await h.clientWith('pat-temp').apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(((await details.json()) as { portalId: number }).portalId).toBe(777);
    expect((await h.http('DELETE', '/__sandbox/tokens/pat-temp')).status).toBe(204);
    expect((await apiError(() => h.clientWith('pat-temp').crm.contacts.basicApi.getPage())).code).toBe(401);
  });

  it('answers a missing scope with 403 MISSING_SCOPES naming the required scope', async () => {
    h.sandbox.registerToken('pat-readonly', { scopes: ['crm.objects.contacts.read'] });
    const c = h.clientWith('pat-readonly');
    await c.crm.contacts.basicApi.getPage(); // read allowed
    const write = await apiError(() => c.crm.contacts.basicApi.create({ properties: { email: 'x@example.com' }, associations: [] }));
    expect(write.code).toBe(403);
    expect(write.body.category).toBe('MISSING_SCOPES');
    expect(write.body.errors[0].context.requiredGranularScopes).toEqual(['crm.objects.contacts.write']);
    const companies = await apiError(() => c.crm.companies.basicApi.getPage());
    expect(companies.body.errors[0].context.requiredGranularScopes).toEqual(['crm.objects.companies.read']);
    const schema = await apiError(() => c.crm.properties.coreApi.create('contacts', { name: 'p', label: 'P', type: 'string', fieldType: 'text', groupName: 'contactinformation' } as any));
    expect(schema.body.errors[0].context.requiredGranularScopes).toEqual(['crm.schemas.contacts.write']);
  });

  it('reports the portal of a token through account-info and the access-token endpoint', async () => {
    const res = await h.client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(await res.json()).toMatchObject({ portalId: 1234567, timeZone: expect.any(String), companyCurrency: 'USD' });
    const info = await h.client.oauth.accessTokensApi.get('sandbox-token');
    expect(info.hubId).toBe(1234567);
    expect(info.scopes).toContain('crm.objects.contacts.write');
  });
});

describe('OAuth', () => {
  it('refreshes access tokens; expired tokens get 401 EXPIRED_AUTHENTICATION until refreshed', async () => {
    const { refreshToken } = (await h.http('POST', '/__sandbox/oauth-apps', { clientId: 'app-1', clientSecret: 's3cret' })).body;
    const anon = h.clientWith('');
    const tokens = await anon.oauth.tokensApi.create('refresh_token', undefined, undefined, 'app-1', 's3cret', refreshToken);
    expect(tokens).toMatchObject({ expiresIn: 1800, tokenType: 'bearer', refreshToken });
    const c = h.clientWith(tokens.accessToken);
    await c.crm.contacts.basicApi.getPage();
    const meta = await anon.oauth.accessTokensApi.get(tokens.accessToken);
    expect(meta.hubId).toBe(1234567);
    expect(meta.expiresIn).toBeGreaterThan(1700);

    expect((await h.http('PUT', '/__sandbox/faults', { expireTokens: true })).status).toBe(200);
    const expired = await apiError(() => c.crm.contacts.basicApi.getPage());
    expect(expired.code).toBe(401);
    expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');
    await h.client.crm.contacts.basicApi.getPage(); // private-app tokens do not expire

    const fresh = await anon.oauth.tokensApi.create('refresh_token', undefined, undefined, 'app-1', 's3cret', refreshToken);
    expect(fresh.accessToken).not.toBe(tokens.accessToken);
    await h.clientWith(fresh.accessToken).crm.contacts.basicApi.getPage();
  });

  it('rejects a bad refresh token with 400 BAD_REFRESH_TOKEN', async () => {
    h.sandbox.registerOAuthApp('app-2', 'secret-2');
    const res = await fetch(`${h.sandbox.url}/oauth/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'app-2', client_secret: 'secret-2', refresh_token: 'nope' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ status: 'BAD_REFRESH_TOKEN', message: expect.any(String) });
    const badClient = await apiError(() => h.clientWith('').oauth.tokensApi.create('refresh_token', undefined, undefined, 'app-x', 'y', 'z'));
    expect(badClient.code).toBe(400);
    expect(badClient.body.status).toBe('BAD_CLIENT_ID');
  });
});

describe('rate limits', () => {
  it('sends the X-HubSpot-RateLimit headers on success', async () => {
    h.sandbox.setLimits({ requestsPerWindow: 50, windowMs: 10_000, dailyRequests: 1000 });
    const res = await h.http('GET', '/crm/v3/objects/contacts');
    expect(res.status).toBe(200);
    expect(Object.fromEntries(['max', 'remaining', 'interval-milliseconds', 'daily', 'daily-remaining'].map((k) => [k, res.headers.get(`x-hubspot-ratelimit-${k}`)]))).toEqual({
      max: '50', remaining: '49', 'interval-milliseconds': '10000', daily: '1000', 'daily-remaining': '999',
    });
  });

  it('answers the rolling window with 429 TEN_SECONDLY_ROLLING, and the SDK retry recovers', async () => {
    h.sandbox.setLimits({ requestsPerWindow: 3, windowMs: 10_000 }); // the SDK waits 10 s after this 429: the window has rolled by then
    for (let i = 0; i < 3; i++) await h.client.crm.contacts.basicApi.getPage();
    const limited = await apiError(() => h.client.crm.contacts.basicApi.getPage());
    expect(limited.code).toBe(429);
    expect(limited.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', category: 'RATE_LIMITS', policyName: 'TEN_SECONDLY_ROLLING' });
    expect(limited.body.message).toBe('You have reached your ten_secondly_rolling limit.');
    expect(limited.body.correlationId).toBeTruthy();
    // The SDK retries a TEN_SECONDLY_ROLLING 429 after 10 s.
    const retrying = h.clientWith(h.sandbox.token, 2);
    const page = await retrying.crm.contacts.basicApi.getPage();
    expect(page.results).toEqual([]);
    expect(h.sandbox.stats().rateLimited).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('answers the daily limit with 429 DAILY', async () => {
    h.sandbox.setLimits({ dailyRequests: 2 });
    await h.client.crm.contacts.basicApi.getPage();
    await h.client.crm.contacts.basicApi.getPage();
    const limited = await apiError(() => h.client.crm.contacts.basicApi.getPage());
    expect(limited.code).toBe(429);
    expect(limited.body).toMatchObject({ policyName: 'DAILY', category: 'RATE_LIMITS', message: 'You have reached your daily limit.' });
  });

  it('limits search per second with its own policy; search responses carry no standard headers', async () => {
    h.sandbox.setLimits({ searchPerSecond: 2 });
    const body = { filterGroups: [], limit: 1 };
    const first = await h.http('POST', '/crm/v3/objects/contacts/search', body);
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBeNull();
    await h.http('POST', '/crm/v3/objects/contacts/search', body);
    const third = await h.http('POST', '/crm/v3/objects/contacts/search', body);
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ policyName: 'SECONDLY', category: 'RATE_LIMITS', message: 'You have reached your secondly limit.' });
    // Non-search requests are unaffected by the search limit.
    expect((await h.http('GET', '/crm/v3/objects/contacts')).status).toBe(200);
    // The SDK recognises the secondly message and retries after a second.
    const retrying = h.clientWith(h.sandbox.token, 2);
    const res = await retrying.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' });
    expect(res.total).toBe(0);
  });

  it('validates PUT /__sandbox/limits', async () => {
    const bad = await h.http('PUT', '/__sandbox/limits', { requestsPerWindow: -1, bogus: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('requestsPerWindow must be a positive integer');
    expect(bad.body.message).toContain('unknown field bogus');
    const ok = await h.http('PUT', '/__sandbox/limits', { requestsPerWindow: 250 });
    expect(ok.body.requestsPerWindow).toBe(250);
  });
});

describe('faults and stats', () => {
  it('injects errors, latency and connection resets, counted in /__sandbox/stats', async () => {
    await h.http('PUT', '/__sandbox/faults', { errorRate: 1, errorStatus: 503 });
    const err = await apiError(() => h.client.crm.contacts.basicApi.getPage());
    expect(err.code).toBe(503);
    expect(err.body.status).toBe('error');

    await h.http('PUT', '/__sandbox/faults', { latencyMs: 150 });
    const start = Date.now();
    await h.client.crm.contacts.basicApi.getPage();
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);

    await h.http('PUT', '/__sandbox/faults', { resetRate: 1 });
    await expect(h.client.crm.contacts.basicApi.getPage()).rejects.toThrow();

    const cleared = await h.http('PUT', '/__sandbox/faults', {});
    expect(cleared.body).toEqual({});
    await h.client.crm.contacts.basicApi.getPage();

    const stats = (await h.http('GET', '/__sandbox/stats')).body;
    expect(stats.requests.byStatus['503']).toBe(1);
    expect(stats.requests.byStatus['200']).toBe(2);
    expect(stats.requests.total).toBe(4);
    expect(stats.requests.byRoute['GET /crm/v3/objects/{objectType}']).toBe(4);
    expect(stats.faults).toMatchObject({ injectedErrors: 1, resets: 1, delayed: 1 });
    expect(stats.rateLimited).toBe(0);
  });

  it('with errorRate 0.5, the SDK retry gets through and every attempt is counted', async () => {
    await h.http('PUT', '/__sandbox/faults', { errorRate: 0.5, errorStatus: 500 });
    const retrying = h.clientWith(h.sandbox.token, 6);
    for (let i = 0; i < 5; i++) await retrying.crm.contacts.basicApi.getPage();
    const stats = h.sandbox.stats();
    expect(stats.requests.total).toBe((stats.requests.byStatus['500'] ?? 0) + 5);
  }, 30_000);

  it('rejects invalid fault settings', async () => {
    const bad = await h.http('PUT', '/__sandbox/faults', { errorRate: 2, errorStatus: 200 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('errorRate must be a number from 0 to 1');
  });

  it('reset empties the data', async () => {
    await h.client.crm.contacts.basicApi.create({ properties: { email: 'r@example.com' }, associations: [] });
    expect((await h.http('POST', '/__sandbox/reset')).status).toBe(204);
    expect((await h.client.crm.contacts.basicApi.getPage()).results).toEqual([]);
    const seeded = await h.http('POST', '/__sandbox/seed', { contacts: 5, companies: 2, demo: true });
    expect(seeded.body).toEqual({ contacts: 5, companies: 2, deals: 0 });
    expect((await h.client.crm.contacts.basicApi.getPage(10)).results).toHaveLength(5);
  });
});
