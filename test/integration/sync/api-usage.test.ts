/**
 * API usage per HubSpot account in the state store (issue 10): status.apiUsage survives an
 * operator restart and a spec change; status.portalId comes from the token when spec.portalId
 * is absent; capture-driven cycles coalesce per schedule.minInterval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = await serverDbKinds();

describe.each(kinds)('API usage and portal (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('status.apiUsage survives an operator restart and a spec change; status.portalId is learned from the token', async () => {
    h = await Harness.start({ dbKind });
    expect(h.cfg.spec.hubspot.portalId).toBeUndefined();
    await h.hs.create('contacts', { email: 'a@example.com' });
    const before = (await h.hs.stats()).requests.total;
    const first = await h.cycle('initial');
    const firstCalls = (await h.hs.stats()).requests.total - before;
    expect(first.portalId).toEqual(expect.any(Number));
    expect(first.portalId).toBeGreaterThan(0);
    expect(first.apiUsage.requestsLast24h).toBe(firstCalls);

    // A restart of the operator with a changed spec: a new engine, the count goes on.
    h.cfg.spec.schedule = { ...h.cfg.spec.schedule, interval: '10m' };
    h.cfg.generation = 2;
    await h.restart();
    const mid = (await h.hs.stats()).requests.total;
    const second = await h.cycle('full');
    const secondCalls = (await h.hs.stats()).requests.total - mid;
    expect(secondCalls).toBeGreaterThan(0);
    expect(second.apiUsage.requestsLast24h).toBe(firstCalls + secondCalls);
    expect(second.portalId).toBe(first.portalId);
  });

  it('the daily-budget guard counts the usage of before a restart', async () => {
    h = await Harness.start({ dbKind });
    await h.hs.create('contacts', { email: 'a@example.com' });
    const first = await h.cycle('initial');
    const used = first.apiUsage.requestsLast24h;
    expect(used).toBeGreaterThan(0);
    // Restarted with a budget the earlier cycle already spent: no cycle runs, whatever the process forgot.
    h.cfg.spec.hubspot.rateLimit = { ...h.cfg.spec.hubspot.rateLimit!, dailyRequests: used };
    await h.restart();
    const before = (await h.hs.stats()).requests.total;
    const r = await h.cycle('incremental', { allowFailure: true });
    expect(r.systemic).toMatchObject({ category: 'RateLimit', reason: 'RateLimited' });
    expect(r.systemic!.message).toContain('daily budget is spent');
    expect((await h.hs.stats()).requests.total - before).toBe(0);
  });

  it('capture-driven cycles coalesce: at most one per schedule.minInterval', async () => {
    h = await Harness.start({ dbKind });
    h.cfg.spec.schedule = { ...h.cfg.spec.schedule, minInterval: '1500ms' } as typeof h.cfg.spec.schedule;
    await h.restart();
    const cycleStarted = Date.now();
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('x@example.com')`);
    await h.engine.waitForTargetChange(new AbortController().signal);
    // The wait lasted until minInterval after the last cycle started (timer granularity aside).
    expect(Date.now() - cycleStarted).toBeGreaterThanOrEqual(1450);
    await h.cycle();
    expect((await h.hs.listAll('contacts', ['email'])).length).toBe(1);
  });
});
