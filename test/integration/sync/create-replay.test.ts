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
 * HubSpot record created from it by the same batch upsert by email the operator makes (which
 * carries the operator's external ID `uid:key` on every create), no link; then the user's update
 * (or delete) of the row.
 *
 * The fix: every create writes the external-ID property. The pull leaves an unlinked record
 * carrying its own `uid:key` to the push pass while that key has captured changes pending; the
 * push replays the create idempotently (upsert) with the row's CURRENT values and links it, or —
 * the row deleted — finds the record by a batch read by external ID and archives it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EXTERNAL_ID_PROPERTY } from '../../../operator/src/sync/engine.js';
import { syncDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = await syncDbKinds();

// HubSpotWins and NewestWins lost the update before the fix (NewestWins: the pull's first-sight
// link ignored the row's pending capture times, so HubSpot's create time won); TargetWins held.
const RULES = ['TargetWins', 'HubSpotWins', 'NewestWins'] as const;

/** What the operator's push did before it died: the idempotent create by email, with its external ID. */
async function lostCreate(h: Harness, email: string, properties: Record<string, string>): Promise<void> {
  await h.hs.call('POST', '/crm/v3/properties/contacts', {
    name: EXTERNAL_ID_PROPERTY,
    label: 'HubSpot operator external ID',
    type: 'string',
    fieldType: 'text',
    hasUniqueValue: true,
  });
  const [row] = await h.rows<{ id: unknown }>(`SELECT id FROM {schema}.contacts WHERE email = $1`, [email]);
  await h.hs.call('POST', '/crm/v3/objects/contacts/batch/upsert', {
    inputs: [{ id: email, idProperty: 'email', properties: { email, ...properties, [EXTERNAL_ID_PROPERTY]: `${h.cfg.uid}:${String(row!.id)}` } }],
  });
}

describe.each(kinds)('a create whose link commit was lost (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it.each(RULES)('%s: the row updated after the lost commit keeps its update on both sides', async (rule) => {
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: rule }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname, lastname) VALUES ('replay@example.com', 'F-old', 'L-old')`);
    await lostCreate(h, 'replay@example.com', { firstname: 'F-old', lastname: 'L-old' });
    // The user edits the row; then the restarted operator runs.
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'F-new' WHERE email = 'replay@example.com'`);
    await h.settle();
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([{ firstname: 'F-new', lastname: 'L-old' }]);
    const live = await h.hs.listAll('contacts', ['email', 'firstname', 'lastname']);
    expect(live.map((x) => x.properties)).toEqual([expect.objectContaining({ email: 'replay@example.com', firstname: 'F-new', lastname: 'L-old' })]);
  });

  it('a row deleted after the lost commit is deleted in HubSpot too, never resurrected (deletes Propagate)', async () => {
    // Found by the chaos suite (seed 1 NewestWins, `c19.s1@chaos.test`): the operator created the
    // row in HubSpot, was SIGKILLed before committing the link, and the user deleted the row.
    // Today the push finds a delete without a link and drops it; the HubSpot record stays,
    // unlinked, and the next full pull creates the row again: the deleted record is back on both
    // sides. The external ID (uid:key) on every create lets the push find and archive it.
    h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot: 'Propagate', fromTarget: 'Propagate' } }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('gone@example.com', 'F')`);
    await lostCreate(h, 'gone@example.com', { firstname: 'F' });
    await h.exec(`DELETE FROM {schema}.contacts WHERE email = 'gone@example.com'`);
    await h.cycle();
    await h.cycle('full');
    await h.settle();
    expect(await h.rows(`SELECT email FROM {schema}.contacts`)).toEqual([]);
    expect(await h.hs.listAll('contacts', ['email'])).toEqual([]);
  });

  it('a row deleted after the lost commit stays deleted with deletes.fromTarget Ignore (HubSpot keeps its record, no row comes back)', async () => {
    h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot: 'Propagate', fromTarget: 'Ignore' } }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('kept@example.com', 'F')`);
    await lostCreate(h, 'kept@example.com', { firstname: 'F' });
    await h.exec(`DELETE FROM {schema}.contacts WHERE email = 'kept@example.com'`);
    await h.cycle();
    await h.cycle('full');
    await h.settle();
    expect(await h.rows(`SELECT email FROM {schema}.contacts`)).toEqual([]);
    expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email)).toEqual(['kept@example.com']);
  });

  it.each(RULES)('%s: HubSpot edits made after a create whose answer was lost are kept, and so are the row\'s', async (rule) => {
    // Found by the chaos run (seed 2005, TargetWins: `c42.s2005`): the replayed upsert had no
    // baseline and wrote every field of the row over the record, losing the user's HubSpot edits
    // made after the create (fields the table had not changed).
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: rule }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname, lastname) VALUES ('edit@example.com', 'F-row', 'L-row')`);
    const live = h.engine;
    h.engine = h.hookedEngine('batchUpsert', { crash: 'after' });
    expect((await h.cycle('incremental', { allowFailure: true })).completed).toBe(false);
    await h.engine.close();
    h.engine = live;
    const [created] = await h.hs.listAll('contacts', ['email']);
    // While the operator is down: the user edits firstname in HubSpot, the table changes lastname.
    await h.hs.update('contacts', created!.id, { firstname: 'F-hubspot' });
    await h.exec(`UPDATE {schema}.contacts SET lastname = 'L-table' WHERE email = 'edit@example.com'`);
    await h.restart();
    await h.settle();
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([{ firstname: 'F-hubspot', lastname: 'L-table' }]);
    const records = await h.hs.listAll('contacts', ['email', 'firstname', 'lastname']);
    expect(records.map((x) => x.properties)).toEqual([expect.objectContaining({ email: 'edit@example.com', firstname: 'F-hubspot', lastname: 'L-table' })]);
    expect(await h.errors()).toEqual([]);
  });

  it.each(RULES)('%s: an update whose commit was lost does not come back over the row\'s newer edit', async (rule) => {
    // Found by the chaos run (seed 3010, NewestWins: `c46.s3010`, jobtitle): the operator pushed
    // a row's edit, PostgreSQL dropped its connection before the commit, and the user edited the
    // row again meanwhile. The next pull saw the operator's own write as a HubSpot change newer
    // than that edit and put the row's OLD value back over it (NewestWins and HubSpotWins).
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: rule }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname, lastname) VALUES ('upd@example.com', 'F0', 'L0')`);
    await h.settle();
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'F1' WHERE email = 'upd@example.com'`);
    const live = h.engine;
    h.engine = h.hookedEngine('batchUpdate', {
      crash: 'after',
      meanwhile: () => h!.exec(`UPDATE {schema}.contacts SET firstname = 'F2', lastname = 'L2' WHERE email = 'upd@example.com'`),
    });
    expect((await h.cycle('incremental', { allowFailure: true })).completed).toBe(false);
    await h.engine.close();
    h.engine = live;
    expect((await h.hs.listAll('contacts', ['firstname'])).map((x) => x.properties.firstname)).toEqual(['F1']);
    await h.restart();
    await h.settle();
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([{ firstname: 'F2', lastname: 'L2' }]);
    const records = await h.hs.listAll('contacts', ['firstname', 'lastname']);
    expect(records.map((x) => x.properties)).toEqual([expect.objectContaining({ firstname: 'F2', lastname: 'L2' })]);
    expect(await h.errors()).toEqual([]);
  });

  describe.each(['Propagate', 'Ignore'] as const)('deletes.fromHubSpot %s', (fromHubSpot) => {
    it('a create whose record the user deleted in HubSpot before the operator came back is a HubSpot delete, never re-created', async () => {
      // Found by the 30-minute chaos run (seed 1000, NewestWins: `c728.s1000`): the operator
      // created the row in HubSpot, died before committing the link, the user deleted the new
      // HubSpot record, and the restarted operator's replayed upsert found nothing and created
      // the row again (a second record, the user's delete lost).
      h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot, fromTarget: 'Propagate' } }] });
      await h.cycle('initial');
      await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('lost@example.com', 'F'), ('kept@example.com', 'K')`);
      const live = h.engine;
      h.engine = h.hookedEngine('batchUpsert', { crash: 'after' });
      expect((await h.cycle('incremental', { allowFailure: true })).completed).toBe(false);
      await h.engine.close();
      h.engine = live;
      const created = await h.hs.listAll('contacts', ['email']);
      expect(created.map((c) => c.properties.email).sort()).toEqual(['kept@example.com', 'lost@example.com']);
      // The user deletes one of the two records while the operator is down.
      await h.hs.archive('contacts', created.find((c) => c.properties.email === 'lost@example.com')!.id);
      await h.restart();
      await h.settle();
      await h.cycle('full');
      await h.settle();
      const emails = (await h.hs.listAll('contacts', ['email'])).map((c) => c.properties.email);
      expect(emails).toEqual(['kept@example.com']);
      const rows = (await h.rows<{ email: string }>(`SELECT email FROM {schema}.contacts ORDER BY email`)).map((r) => r.email);
      expect(rows).toEqual(fromHubSpot === 'Propagate' ? ['kept@example.com'] : ['kept@example.com', 'lost@example.com']);
      expect(await h.errors()).toEqual([]);
      // The other record of the batch is linked (the replay found it), not duplicated.
      await h.exec(`UPDATE {schema}.contacts SET firstname = 'K2' WHERE email = 'kept@example.com'`);
      await h.settle();
      expect((await h.hs.listAll('contacts', ['email', 'firstname'])).map((c) => c.properties)).toEqual([expect.objectContaining({ email: 'kept@example.com', firstname: 'K2' })]);
    });
  });

  it('a create batch that died before HubSpot answered (nothing created) is simply created after the restart', async () => {
    h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot: 'Propagate', fromTarget: 'Propagate' } }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('late@example.com', 'L')`);
    const live = h.engine;
    h.engine = h.hookedEngine('batchUpsert', { crash: 'before' });
    expect((await h.cycle('incremental', { allowFailure: true })).completed).toBe(false);
    await h.engine.close();
    h.engine = live;
    expect(await h.hs.listAll('contacts', ['email'])).toEqual([]);
    await h.restart();
    await h.settle();
    expect((await h.hs.listAll('contacts', ['email'])).map((c) => c.properties.email)).toEqual(['late@example.com']);
    expect(await h.rows(`SELECT email FROM {schema}.contacts`)).toEqual([{ email: 'late@example.com' }]);
  });

  it('a key reused by a new row after a delete kept in HubSpot (Ignore) creates its own record, no unique-ID conflict', async () => {
    h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot: 'Ignore', fromTarget: 'Ignore' } }] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (id, email, firstname) VALUES (500, 'first@example.com', 'A')`);
    await h.settle();
    await h.exec(`DELETE FROM {schema}.contacts WHERE id = 500`);
    await h.settle();
    await h.exec(`INSERT INTO {schema}.contacts (id, email, firstname) VALUES (500, 'second@example.com', 'B')`);
    await h.settle();
    expect(await h.errors()).toEqual([]);
    expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email).sort()).toEqual(['first@example.com', 'second@example.com']);
    // (The kept record's tombstone is dropped when its key is reused, so a later pull may bring
    // first@ back as a new row: a separate, older limitation, not asserted here.)
    expect((await h.rows<{ email: string }>(`SELECT email FROM {schema}.contacts WHERE id = 500`)).map((r) => r.email)).toEqual(['second@example.com']);
  });
});
