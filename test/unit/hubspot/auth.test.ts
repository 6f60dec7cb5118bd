import { describe, expect, it } from 'vitest';
import { OAuthTokens, PrivateAppToken } from '../../../operator/src/hubspot/auth.js';
import { HubSpotApiError } from '../../../operator/src/hubspot/types.js';

const creds = { clientId: 'cid', clientSecret: 'csecret-123', refreshToken: 'rt-abcdef' };

function tokenServer(opts: { expiresIn?: number; refuse?: boolean } = {}) {
  const forms: URLSearchParams[] = [];
  let n = 0;
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  const requester = async (form: URLSearchParams) => {
    forms.push(form);
    await gate;
    if (opts.refuse) {
      return { status: 400, text: JSON.stringify({ status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token', correlationId: 'k1' }) };
    }
    n++;
    return { status: 200, text: JSON.stringify({ access_token: `at-${n}`, refresh_token: 'rt-abcdef', expires_in: opts.expiresIn ?? 1800, token_type: 'bearer' }) };
  };
  return {
    requester,
    forms,
    hold: () => {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

describe('OAuthTokens', () => {
  it('sends the refresh-token grant form and caches the access token', async () => {
    const s = tokenServer();
    const t = new OAuthTokens(creds, s.requester);
    expect(await t.token()).toBe('at-1');
    expect(await t.token()).toBe('at-1');
    expect(s.forms).toHaveLength(1);
    expect(Object.fromEntries(s.forms[0]!)).toEqual({ grant_type: 'refresh_token', client_id: 'cid', client_secret: 'csecret-123', refresh_token: 'rt-abcdef' });
  });

  it('refreshes five minutes before expiry', async () => {
    const s = tokenServer({ expiresIn: 1800 });
    let now = 1_000_000;
    const t = new OAuthTokens(creds, s.requester, () => now);
    expect(await t.token()).toBe('at-1');
    now += (1800 - 301) * 1000;
    expect(await t.token()).toBe('at-1');
    now += 2000;
    expect(await t.token()).toBe('at-2');
  });

  it('concurrent requests share one refresh', async () => {
    const s = tokenServer();
    const t = new OAuthTokens(creds, s.requester);
    s.hold();
    const all = Promise.all(Array.from({ length: 10 }, () => t.token()));
    s.release();
    expect(new Set(await all)).toEqual(new Set(['at-1']));
    expect(s.forms).toHaveLength(1);
  });

  it('after a 401 renews once; requests rejected with the same token share the renewal', async () => {
    const s = tokenServer();
    const t = new OAuthTokens(creds, s.requester);
    const first = await t.token();
    const renewed = await Promise.all([t.renew(first), t.renew(first), t.renew(first)]);
    expect(renewed).toEqual([true, true, true]);
    expect(await t.token()).toBe('at-2');
    expect(s.forms).toHaveLength(2);
    // A 401 for a token that was already replaced needs no new refresh.
    expect(await t.renew(first)).toBe(true);
    expect(s.forms).toHaveLength(2);
  });

  it('a refused refresh token is an Authentication error that names no secret', async () => {
    const s = tokenServer({ refuse: true });
    const t = new OAuthTokens(creds, s.requester);
    const err = (await t.token().catch((e: unknown) => e)) as HubSpotApiError;
    expect(err).toBeInstanceOf(HubSpotApiError);
    expect(err.category).toBe('Authentication');
    expect(err.message).toContain('BAD_REFRESH_TOKEN');
    expect(err.correlationId).toBe('k1');
    for (const secret of ['csecret-123', 'rt-abcdef']) expect(err.message).not.toContain(secret);
  });

  it('incomplete credentials name the missing keys', () => {
    expect(() => new OAuthTokens({ clientId: 'a', clientSecret: '', refreshToken: '' }, tokenServer().requester)).toThrow(/missing clientSecret, refreshToken/);
  });
});

describe('PrivateAppToken', () => {
  it('cannot be renewed, and an empty token is refused clearly', async () => {
    const t = new PrivateAppToken('pat-1');
    expect(await t.token()).toBe('pat-1');
    expect(await t.renew()).toBe(false);
    expect(() => new PrivateAppToken('')).toThrow(/private-app token is empty/);
  });
});
