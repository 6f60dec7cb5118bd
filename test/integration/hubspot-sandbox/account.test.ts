import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandbox.close();
});

describe('account details for a token', () => {
  it('GET /account-info/v3/details answers with exactly HubSpot\'s documented fields, for the token\'s portal', async () => {
    const res = await h.http('GET', '/account-info/v3/details');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['accountType', 'additionalCurrencies', 'companyCurrency', 'dataHostingLocation', 'portalId', 'timeZone', 'uiDomain', 'utcOffset', 'utcOffsetMilliseconds']);
    expect(res.body).toMatchObject({ portalId: 1234567, accountType: 'STANDARD', companyCurrency: 'USD', additionalCurrencies: [], utcOffset: '-05:00', utcOffsetMilliseconds: -18000000 });
    expect(res.headers.get('x-hubspot-ratelimit-max')).not.toBeNull(); // a normal API call, counted like the others

    h.sandbox.registerToken('pat-other', { portalId: 7654321, scopes: ['crm.objects.contacts.read'] });
    const other = await h.http('GET', '/account-info/v3/details', undefined, { authorization: 'Bearer pat-other' });
    expect(other.body.portalId).toBe(7654321); // no particular scope needed
    // the SDK's generic request helper reaches it too
    const viaSdk = await h.clientWith('pat-other').apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    expect(((await viaSdk.json()) as { portalId: number }).portalId).toBe(7654321);
  });

  it('GET /integrations/v1/me answers the legacy shape; no token → 401', async () => {
    const me = await h.http('GET', '/integrations/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ portalId: 1234567, timeZone: 'US/Eastern', currency: 'USD', utcOffsetMilliseconds: -18000000, utcOffset: '-05:00' });
    const anon = await h.http('GET', '/integrations/v1/me', undefined, { authorization: '' });
    expect(anon.status).toBe(401);
    expect(anon.body.category).toBe('INVALID_AUTHENTICATION');
  });
});
