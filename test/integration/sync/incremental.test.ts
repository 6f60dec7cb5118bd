import { afterEach, describe, expect, it } from 'vitest';
import { serverDbKinds } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness } from './harness.js';

// The real servers here: PostgreSQL and MySQL / MariaDB (PGlite is in-process: no second process, no scale).
const kinds = await serverDbKinds();

// With no server at all, the suite shows as skipped (not as an empty file).
(kinds.length ? describe : describe.skip).each(kinds.length ? kinds : (['postgres'] as const))('incremental sync at scale (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('brings 25,000 records sharing one last-modified time exactly once, past the 10,000-result search cap', async () => {
    h = await Harness.start({ dbKind });
    // As HubSpot: one sort honoured, ties in descending id order (not the order asked for).
    expect(h.sandbox.strictSorts).toBe(true);
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
    // 25,000 / 200 per page, plus the page that revealed the tie group and the final empty one.
    const searches = after.requests.total - before.requests.total;
    expect(searches).toBeGreaterThanOrEqual(125);
    expect(searches).toBeLessThanOrEqual(130);

    // The next cycle reads the group again (it is inside the lookback) and changes nothing.
    const again = await h.cycle('incremental');
    expect(again.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts`))[0]!.n).toBe(25_000);
  }, 120_000);

  it('reads a tie group that straddles a page boundary and the 10,000-result cap, ties in descending id order, each record once', async () => {
    h = await Harness.start({ dbKind });
    await h.cycle('initial');
    // 150 records at one time, 10,100 at a later one, 130 at a later one still: the first page
    // ends inside the big tie group, and reading it by offset would cross the 10,000-result cap.
    const batches = [150, 10_100, 130];
    for (const contacts of batches) {
      const t0 = Date.now();
      await waitFor(() => Date.now() > t0, { what: 'the clock to tick' });
      h.sandbox.seed({ contacts, historyDays: 0 });
    }
    const total = batches.reduce((a, b) => a + b, 0);
    const times = await h.hs.call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [], properties: ['lastmodifieddate'], limit: 200,
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }, { propertyName: 'hs_object_id', direction: 'ASCENDING' }],
    });
    // The sandbox answers as HubSpot does: the second sort is ignored, ties come in descending id order.
    const page: { id: string; properties: { lastmodifieddate: string } }[] = times.results;
    const tie = page.filter((r) => r.properties.lastmodifieddate === page[199]!.properties.lastmodifieddate).map((r) => Number(r.id));
    expect(tie).toHaveLength(50);
    expect(tie).toEqual([...tie].sort((a, b) => b - a));
    const before = await h.hs.stats();

    const r = await h.cycle('incremental');
    expect(r.objects[0]!.lastCycle.toTarget).toEqual({ created: total, updated: 0, deleted: 0 });
    const [counts] = await h.rows(`SELECT count(*)::int AS n, count(DISTINCT email)::int AS emails FROM {schema}.contacts`);
    expect(counts).toEqual({ n: total, emails: total });
    const after = await h.hs.stats();
    expect(after.requests.byStatus['400'] ?? 0).toBe(before.requests.byStatus['400'] ?? 0);
    // About one request per 200 records: no loop, no re-reading windows.
    const searches = after.requests.total - before.requests.total;
    expect(searches).toBeLessThanOrEqual(Math.ceil(total / 200) + 4);
  }, 120_000);

  it('an interrupted read of a large tie group resumes from the last committed id', async () => {
    h = await Harness.start({ dbKind });
    await h.cycle('initial');
    h.sandbox.seed({ contacts: 3_000, historyDays: 0 });
    // The incremental pass stops while it reads the tie group (as a crash or suspend would)...
    const ac = new AbortController();
    h.opts.observer = { progress: (_t, phase, done) => phase === 'incremental' && done >= 1_200 && ac.abort() };
    await h.restart();
    const r1 = await h.engine.runCycle('incremental', ac.signal);
    expect(r1.completed).toBe(false);
    const [{ n: firstPart }] = (await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts`)) as { n: number }[];
    expect(firstPart).toBeGreaterThanOrEqual(1_000);
    expect(firstPart).toBeLessThan(3_000);
    // ...and the next cycle brings the rest, each record once, without reading the group again.
    h.opts.observer = undefined;
    await h.restart();
    const before = await h.hs.stats();
    const r2 = await h.cycle('incremental');
    expect(r2.objects[0]!.lastCycle.toTarget.created).toBe(3_000 - firstPart);
    const [counts] = await h.rows(`SELECT count(*)::int AS n, count(DISTINCT email)::int AS emails FROM {schema}.contacts`);
    expect(counts).toEqual({ n: 3_000, emails: 3_000 });
    const searches = (await h.hs.stats()).requests.total - before.requests.total;
    expect(searches).toBeLessThanOrEqual(Math.ceil((3_000 - firstPart) / 200) + 4);
  }, 120_000);

  it('a record changed during the import still arrives', async () => {
    h = await Harness.start({ dbKind, seed: { contacts: 450 } });
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
