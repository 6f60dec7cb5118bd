import { afterEach, describe, expect, it } from 'vitest';
import { postgresUrl } from '../../helpers/db.js';
import { Harness } from './harness.js';

const hasPostgres = !!(await postgresUrl());

describe.skipIf(!hasPostgres)('incremental sync at scale (postgres)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('brings 25,000 records sharing one last-modified time exactly once, past the 10,000-result search cap', async () => {
    h = await Harness.start({ dbKind: 'postgres' });
    await h.cycle('initial');
    const seeded = h.sandbox.seed({ contacts: 25_000, historyDays: 0 });
    expect(seeded.contacts).toBe(25_000);
    const all = await h.hs.call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [],
      properties: ['lastmodifieddate'],
      limit: 1,
    });
    expect(all.total).toBe(25_000);
    const before = await h.hs.stats();

    const r = await h.cycle('incremental');
    expect(r.objects[0]!.lastCycle.toTarget.created).toBe(25_000);
    const [counts] = await h.rows(`SELECT count(*)::int AS n, count(DISTINCT email)::int AS emails FROM {schema}.contacts`);
    expect(counts).toEqual({ n: 25_000, emails: 25_000 });
    const after = await h.hs.stats();
    // No search ever ran past the cap (HubSpot answers 400 there).
    expect(after.requests.byStatus['400'] ?? 0).toBe(before.requests.byStatus['400'] ?? 0);
    // 25,000 / 200 per page, plus one page per new window.
    const searches = after.requests.total - before.requests.total;
    expect(searches).toBeGreaterThanOrEqual(125);
    expect(searches).toBeLessThanOrEqual(130);

  }, 120_000);

  it('a record changed during the import still arrives', async () => {
    h = await Harness.start({ dbKind: 'postgres', seed: { contacts: 450 } });
    const first = (await h.hs.call('GET', '/crm/v3/objects/contacts?limit=1')).results[0];
    // The import stops after its first page (as a crash or suspend would)...
    const ac = new AbortController();
    h.opts.observer = { progress: (_t, phase, done) => phase === 'import' && done >= 100 && ac.abort() };
    await h.restart();
    const r1 = await h.engine.runCycle('initial', ac.signal);
    expect(r1.completed).toBe(false);
    expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts`))[0]!.n).toBe(100);
    // ...a record of that page changes in HubSpot, the import resumes and completes...
    await h.hs.update('contacts', first.id, { firstname: 'Changed during import' });
    h.opts.observer = undefined;
    await h.restart();
    await h.cycle('initial');
    expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts`))[0]!.n).toBe(450);
    // ...and the next incremental cycle brings the change.
    await h.cycle('incremental');
    const rows = await h.rows(`SELECT firstname FROM {schema}.contacts WHERE email = $1`, [first.properties.email]);
    expect(rows).toEqual([{ firstname: 'Changed during import' }]);
  });
});
