/**
 * A search result older than what the operator already synced must never be applied (DESIGN §3:
 * "search is eventually consistent"; "no rewrites of equal values"; zero lost updates).
 *
 * Found while writing the NewestWins cases of issue 16. HubSpot's search serves what it has
 * indexed, which lags writes by seconds; the incremental pull re-reads a lookback window, so it
 * keeps being served a record's previous version after the push pass has read (batch read, not
 * search) and synced the current one. Today the pull compares that stale version with the
 * link's baseline, sees "HubSpot changed", and writes HubSpot's OLD values into the table (and,
 * where the table changed meanwhile, queues them for HubSpot). Once search catches up the next
 * pull repairs the table, but until then the table shows values HubSpot no longer has, every
 * cycle rewrites them, and a table edit made in that window is decided against a phantom
 * HubSpot change.
 *
 * The fix: the incremental pull skips a search result whose last-modified time is before the
 * link's hsModified (the HubSpot time the link already reflects). An equal time is reconciled
 * against the baseline as before (equal values are skipped by the hash). Full passes read by
 * list (consistent) and always reconcile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { syncDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = await syncDbKinds();

describe.each(kinds)('a stale search view is never applied (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it.each(['HubSpotWins', 'NewestWins'] as const)('%s: after the push read the current record, later pulls of the older indexed version change nothing', async (rule) => {
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: rule }] });
    const c = await h.hs.create('contacts', { email: 'stale@example.com', firstname: 'F0', lastname: 'L0' });
    await h.cycle('initial');
    // Search lags from now on: it keeps serving the record as F0/L0.
    await h.hs.call('PUT', '/__sandbox/indexing', { indexingDelayMs: 600_000 });
    await h.hs.update('contacts', c.id, { firstname: 'F-hub' });
    await h.exec(`UPDATE {schema}.contacts SET lastname = 'L-table'`);
    // The push reads HubSpot's current record: F-hub reaches the table, L-table reaches HubSpot.
    await h.cycle();
    const want = { firstname: 'F-hub', lastname: 'L-table' };
    expect((await h.hs.get('contacts', c.id, ['firstname', 'lastname'])).properties).toMatchObject(want);
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([want]);
    // Search still serves F0/L0, older than what the link records. Nothing may change.
    for (let i = 0; i < 2; i++) {
      const r = await h.cycle();
      expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([want]);
      expect((await h.hs.get('contacts', c.id, ['firstname', 'lastname'])).properties).toMatchObject(want);
      expect(r.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
      expect(r.objects[0]!.lastCycle.toHubSpot).toEqual({ created: 0, updated: 0, deleted: 0 });
    }
  });

  it('a full reconciliation (list, consistent) still repairs drift the guard would skip', async () => {
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: 'HubSpotWins' }] });
    const c = await h.hs.create('contacts', { email: 'drift@example.com', firstname: 'F0', lastname: 'L0' });
    await h.cycle('initial');
    // A link that claims a HubSpot time later than any real edit (e.g. a clock jump): every search
    // result now looks stale to the incremental pull.
    await h.exec(`UPDATE {state}.links SET hs_modified = '2100-01-01 00:00:00' WHERE integration_uid = $1`, [h.cfg.uid]);
    await h.hs.update('contacts', c.id, { firstname: 'F-hub' });
    await h.cycle();
    expect(await h.rows(`SELECT firstname FROM {schema}.contacts`)).toEqual([{ firstname: 'F0' }]); // skipped as stale
    await h.cycle('full');
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([{ firstname: 'F-hub', lastname: 'L0' }]);
  });
});
