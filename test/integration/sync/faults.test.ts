/**
 * Faults through the sandbox's fault API: 429 storms, 5xx, connection resets and expired or
 * revoked credentials. While faults last, cycles may stop (classified, never silently); once
 * they end, both sides converge with nothing lost or duplicated, and every failed request was
 * observed with its status.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

// The real servers here: PostgreSQL and MySQL / MariaDB (PGlite is in-process: no second process, no scale).
const kinds = await serverDbKinds();

// With no server at all, the suite shows as skipped (not as an empty file).
(kinds.length ? describe : describe.skip).each(kinds.length ? kinds : (['postgres'] as const))('HubSpot faults (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('converges after 429 storms, 5xx and connection resets, counting every failure', async () => {
    const codes: number[] = [];
    let rateLimited = 0;
    h = await Harness.start({
      dbKind,
      seed: { contacts: 400 },
      observer: {
        apiRequest: (_kind, code, limited) => {
          codes.push(code);
          if (limited) rateLimited++;
        },
      },
    });
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) SELECT 'target' || g || '@example.com', 'T' || g FROM generate_series(1, 300) g`);
    const systemic = new Set<string>();
    const runUnderFaults = async (faults: Record<string, unknown>, kind: 'initial' | 'incremental') => {
      await h!.hs.faults(faults);
      for (let i = 0; i < 3; i++) {
        const r = await h!.cycle(kind, { allowFailure: true });
        if (r.systemic) systemic.add(`${r.systemic.category}/${r.systemic.reason}`);
      }
    };
    await runUnderFaults({ errorRate: 0.25, errorStatus: 429 }, 'initial');
    await h.exec(`UPDATE {schema}.contacts SET lastname = 'edited under faults' WHERE email LIKE 'target1%'`);
    await runUnderFaults({ errorRate: 0.25, errorStatus: 503 }, 'incremental');
    await runUnderFaults({ resetRate: 0.2 }, 'incremental');
    await h.hs.faults({});
    await h.cycle('initial');
    await h.cycle('full');
    await h.settle();

    // Converged: every record on both sides exactly once, the edits applied, no errors left.
    const [t] = await h.rows(`SELECT count(*)::int AS n, count(DISTINCT lower(email))::int AS e FROM {schema}.contacts`);
    expect(t).toEqual({ n: 700, e: 700 });
    const live = await h.hs.listAll('contacts', ['email', 'lastname']);
    expect(live.length).toBe(700);
    expect(new Set(live.map((x) => x.properties.email)).size).toBe(700);
    expect(live.filter((x) => x.properties.lastname === 'edited under faults').length).toBe(111);
    expect(await h.errors()).toEqual([]);
    // The failures were seen and classified: rate-limited responses, server errors, network errors (code 0).
    expect(codes).toContain(429);
    expect(rateLimited).toBeGreaterThan(0);
    expect(codes).toContain(503);
    expect(codes).toContain(0);
    for (const s of systemic) expect(['RateLimit/RateLimited', 'Transient/SyncFailed']).toContain(s);
  }, 180_000);

  it('refreshes an expired OAuth access token; a revoked private-app token stops the cycle as Authentication', async () => {
    h = await Harness.start({ dbKind });
    const app = await h.hs.call<{ refreshToken: string }>('POST', '/__sandbox/oauth-apps', { clientId: 'client-1', clientSecret: 'secret-1' });
    h.cfg.credentials.hubspot = { kind: 'oauth', clientId: 'client-1', clientSecret: 'secret-1', refreshToken: app.refreshToken };
    await h.restart();
    await h.hs.create('contacts', { email: 'a@example.com' });
    await h.cycle('initial');
    await h.hs.faults({ expireTokens: true });
    await h.hs.create('contacts', { email: 'b@example.com' });
    const r = await h.cycle();
    expect(r.systemic).toBeUndefined();
    expect((await h.rows(`SELECT email FROM {schema}.contacts ORDER BY email`)).map((x) => x.email)).toEqual(['a@example.com', 'b@example.com']);

    // A refused refresh token is Authentication.
    h.cfg.credentials.hubspot = { kind: 'oauth', clientId: 'client-1', clientSecret: 'secret-1', refreshToken: 'not-a-refresh-token' };
    await h.restart();
    const refused = await h.cycle('incremental', { allowFailure: true });
    expect(refused.systemic).toMatchObject({ category: 'Authentication', reason: 'AuthenticationFailed' });
    expect(JSON.stringify(refused)).not.toContain('not-a-refresh-token');
    expect(JSON.stringify(refused)).not.toContain('secret-1');

    // A private-app token that HubSpot no longer accepts is systemic: the cycle stops, nothing is lost.
    await h.hs.call('POST', '/__sandbox/tokens', { token: 'short-lived' });
    h.cfg.credentials.hubspot = { kind: 'privateAppToken', token: 'short-lived' };
    await h.restart();
    await h.cycle();
    await h.hs.call('DELETE', '/__sandbox/tokens/short-lived');
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('c@example.com')`);
    const failed = await h.cycle('incremental', { allowFailure: true });
    expect(failed.completed).toBe(false);
    expect(failed.systemic).toMatchObject({ category: 'Authentication', reason: 'AuthenticationFailed' });
    expect(JSON.stringify(failed)).not.toContain('short-lived');
    expect(failed.objects[0]!.pendingChanges).toBe(1);
    // New credentials: the captured change is applied.
    h.cfg.credentials.hubspot = { kind: 'privateAppToken', token: 'sandbox-token' };
    await h.restart();
    await h.cycle();
    expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email).sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });

  it('stops the cycle as RateLimit when the daily budget is spent, and as TargetUnavailable when the database is unreachable', async () => {
    h = await Harness.start({ dbKind });
    await h.hs.create('contacts', { email: 'a@example.com' });
    await h.hs.limits({ dailyRequests: 1 });
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.completed).toBe(false);
    expect(r.systemic).toMatchObject({ category: 'RateLimit', reason: 'RateLimited' });
    await h.hs.limits({ dailyRequests: 10_000_000 });

    h.cfg.credentials.databaseUrl = `${dbKind === 'mysql' ? 'mysql' : 'postgres'}://nobody@127.0.0.1:1/none`;
    await h.restart();
    const down = await h.cycle('initial', { allowFailure: true });
    expect(down.systemic).toMatchObject({ category: 'Target', reason: 'TargetUnavailable' });
    expect(down.systemic!.message).not.toContain('nobody@');
  });

  it('stops the cycle as Permission on missing scopes and on a portal ID that does not match the token', async () => {
    h = await Harness.start({ dbKind });
    await h.hs.call('POST', '/__sandbox/tokens', { token: 'read-only', scopes: ['crm.objects.contacts.read', 'crm.schemas.contacts.read'] });
    await h.hs.create('contacts', { email: 'a@example.com' });
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('b@example.com')`);
    h.cfg.credentials.hubspot = { kind: 'privateAppToken', token: 'read-only' };
    await h.restart();
    const r = await h.cycle('initial', { allowFailure: true });
    expect(r.systemic).toMatchObject({ category: 'Permission', reason: 'PermissionDenied' });

    h.cfg.credentials.hubspot = { kind: 'privateAppToken', token: 'sandbox-token' };
    h.cfg.spec.hubspot.portalId = 7654321;
    await h.restart();
    const wrongPortal = await h.cycle('initial', { allowFailure: true });
    expect(wrongPortal.systemic).toMatchObject({ category: 'Permission', reason: 'PermissionDenied' });
    expect(wrongPortal.systemic!.message).toMatch(/portal 1234567.*spec.hubspot.portalId is 7654321/);
  });
});
