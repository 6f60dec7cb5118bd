/**
 * Account and OAuth endpoints: `GET /account-info/v3/details` (HubSpot's documented body:
 * portalId, accountType, timeZone, companyCurrency, additionalCurrencies, utcOffset,
 * utcOffsetMilliseconds, uiDomain, dataHostingLocation), the legacy `GET /integrations/v1/me`
 * (portalId, timeZone, currency, utcOffsetMilliseconds, utcOffset), both for the token's portal,
 * `POST /oauth/v1/token` (refresh_token grant, form-encoded) and
 * `GET /oauth/v1/access-tokens/{token}`.
 */
import { HubSpotHttpError } from './errors.js';
import type { Route } from './http.js';
import type { SandboxState } from './state.js';

export function accountRoutes(state: SandboxState): Route[] {
  return [
    {
      method: 'GET', path: '/account-info/v3/details', access: 'api', rate: 'standard',
      handle: (ctx) => ({
        status: 200,
        body: {
          portalId: ctx.portalId,
          accountType: 'STANDARD',
          timeZone: 'US/Eastern',
          companyCurrency: 'USD',
          additionalCurrencies: [],
          utcOffset: '-05:00',
          utcOffsetMilliseconds: -18_000_000,
          uiDomain: 'app.hubspot.com',
          dataHostingLocation: 'na1',
        },
      }),
    },
    {
      method: 'GET', path: '/integrations/v1/me', access: 'api', rate: 'standard',
      handle: (ctx) => ({
        status: 200,
        body: { portalId: ctx.portalId, timeZone: 'US/Eastern', currency: 'USD', utcOffsetMilliseconds: -18_000_000, utcOffset: '-05:00' },
      }),
    },
    {
      method: 'GET', path: '/oauth/v1/access-tokens/{token}', access: 'public',
      handle: (ctx) => {
        const info = state.credentials.describe(ctx.params.token!);
        if (!info) throw new HubSpotHttpError(404, { message: 'The access token is unknown, revoked or expired.', category: 'OBJECT_NOT_FOUND' });
        return { status: 200, body: info };
      },
    },
    {
      method: 'POST', path: '/oauth/v1/token', access: 'public',
      handle: (ctx) => {
        const type = String(ctx.req.headers['content-type'] ?? '');
        let form: URLSearchParams;
        if (type.includes('application/json')) {
          const o = ctx.jsonObject();
          form = new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)]));
        } else form = new URLSearchParams(ctx.rawBody);
        return { status: 200, body: state.credentials.refresh(form) };
      },
    },
  ];
}
