/**
 * A create in HubSpot whose state commit was lost (operator killed, or its database connection
 * dropped, between HubSpot's answer and the commit of the link) must not cost the table's later
 * edits (DESIGN §3: "Creates are idempotent … so a create retried after a crash never
 * duplicates"; zero lost updates).
 *
 * Found by the chaos runner (seed 100, HubSpotWins, 2 minutes: `c94.s100@chaos.test`). A row was
 * inserted (captured), the operator upserted it into HubSpot by email, PostgreSQL dropped the
 * operator's connections before the link was committed, and the operator was SIGKILLed; the
 * user had meanwhile updated the row. After the restart the pull pass found the HubSpot record
 * unlinked, linked it to the row by email as a first sight (no baseline: both sides "changed")
 * and let the conflict rule pick HubSpot's values — the ones the operator itself had created
 * from the row's OLD values — over the row's update; the push then found the row equal to the
 * new baseline and dropped the captured update. The row's update is lost on both sides.
 *
 * The test sets up exactly the state such a crash leaves: the row inserted and captured, the
 * HubSpot record created from it by the same batch upsert by email the operator makes, no link;
 * then the user's update of the row. HubSpotWins and NewestWins gated behind OWN_CREATE_REPLAY=1
 * until fixed. Fix (either):
 * the pull leaves a row with pending captured changes to the push pass (whose upsert replays the
 * create idempotently with the row's current values, then links); or every create also writes the
 * external-ID property (uid:key), so a pull that finds it links the record to that key with the
 * created values as the baseline, and the row's later update is a target-only change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { availableDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = (await availableDbKinds()).slice(0, 1);

// TargetWins holds today (the table wins the first-sight merge anyway): always on, as a guard.
// HubSpotWins and NewestWins lose the update today (NewestWins: the pull's first-sight link
// ignores the row's pending capture times, so HubSpot's create time wins).
const RULES = [
  ['TargetWins', true],
  ['HubSpotWins', !!process.env.OWN_CREATE_REPLAY],
  ['NewestWins', !!process.env.OWN_CREATE_REPLAY],
] as const;

describe.each(kinds)('a create whose link commit was lost (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it.each(RULES.filter(([, on]) => on).map(([rule]) => rule))('%s: the row updated after the lost commit keeps its update on both sides', async (rule) => {
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: rule }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname, lastname) VALUES ('replay@example.com', 'F-old', 'L-old')`);
    // What the operator's push did before it died: the idempotent create, by email.
    await h.hs.call('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [{ id: 'replay@example.com', idProperty: 'email', properties: { email: 'replay@example.com', firstname: 'F-old', lastname: 'L-old' } }],
    });
    // The user edits the row; then the restarted operator runs.
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'F-new' WHERE email = 'replay@example.com'`);
    await h.settle();
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([{ firstname: 'F-new', lastname: 'L-old' }]);
    const live = await h.hs.listAll('contacts', ['email', 'firstname', 'lastname']);
    expect(live.map((x) => x.properties)).toEqual([expect.objectContaining({ email: 'replay@example.com', firstname: 'F-new', lastname: 'L-old' })]);
  });

  it.skipIf(!process.env.OWN_CREATE_REPLAY)('a row deleted after the lost commit is deleted in HubSpot too, never resurrected (deletes Propagate)', async () => {
    // Found by the chaos suite (seed 1 NewestWins, `c19.s1@chaos.test`): the operator created the
    // row in HubSpot, was SIGKILLed before committing the link, and the user deleted the row.
    // Today the push finds a delete without a link and drops it; the HubSpot record stays,
    // unlinked, and the next full pull creates the row again: the deleted record is back on both
    // sides. The external-ID (uid:key) on every create, or a create intent committed before the
    // call, would let the operator find and archive the record it created.
    h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot: 'Propagate', fromTarget: 'Propagate' } }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('gone@example.com', 'F')`);
    await h.hs.call('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [{ id: 'gone@example.com', idProperty: 'email', properties: { email: 'gone@example.com', firstname: 'F' } }],
    });
    await h.exec(`DELETE FROM {schema}.contacts WHERE email = 'gone@example.com'`);
    await h.cycle();
    await h.cycle('full');
    await h.settle();
    expect(await h.rows(`SELECT email FROM {schema}.contacts`)).toEqual([]);
    expect(await h.hs.listAll('contacts', ['email'])).toEqual([]);
  });
});
