import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { syncDbKinds } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, writeRequests } from './harness.js';
import { channelFor } from '../../../operator/src/target/postgres/capture.js';

const kinds = await syncDbKinds();

async function tick(): Promise<void> {
  // Two modification times must differ (millisecond clocks on both sides).
  const t0 = Date.now();
  await waitFor(() => Date.now() > t0 + 2, { intervalMs: 1, what: 'the clock to advance' });
}

describe.each(kinds)('two-way edits, conflicts, modes and deletes (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('carries edits each way and makes zero writes on either side at rest', async () => {
    h = await Harness.start({ dbKind });
    const a = await h.hs.create('contacts', { email: 'alice@example.com', firstname: 'Alice', phone: '+1 555 0100' });
    await h.cycle('initial');
    const [row] = await h.rows(`SELECT id, firstname, phone FROM {schema}.contacts`);
    expect(row).toMatchObject({ firstname: 'Alice', phone: '+1 555 0100' });

    await h.hs.update('contacts', a.id, { firstname: 'Alicia' });
    let r = await h.cycle();
    expect(r.objects[0]!.lastCycle.toTarget.updated).toBe(1);
    expect((await h.rows(`SELECT firstname FROM {schema}.contacts`))[0]!.firstname).toBe('Alicia');

    // The same phone number written differently is not a change; a new last name is.
    await h.exec(`UPDATE {schema}.contacts SET lastname = 'Liddell', phone = '+1 (555) 0100' WHERE id = $1`, [row!.id]);
    r = await h.cycle();
    expect(r.objects[0]!.lastCycle.toHubSpot.updated).toBe(1);
    const got = await h.hs.get('contacts', a.id, ['lastname', 'phone']);
    expect(got.properties.lastname).toBe('Liddell');
    expect(got.properties.phone).toBe('+1 555 0100');
    expect(await h.engine.runCycle('incremental', new AbortController().signal).then((x) => x.syncLagSeconds)).toBe(0);

    const before = await h.hs.stats();
    const audit = await h.rows(`SELECT count(*)::int AS n FROM {state}.audit_log`);
    for (let i = 0; i < 2; i++) {
      r = await h.cycle();
      expect(r.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
      expect(r.objects[0]!.lastCycle.toHubSpot).toEqual({ created: 0, updated: 0, deleted: 0 });
    }
    const after = await h.hs.stats();
    expect(writeRequests(after.requests.byRoute)).toBe(writeRequests(before.requests.byRoute));
    expect(await h.rows(`SELECT count(*)::int AS n FROM {state}.audit_log`)).toEqual(audit);
  });

  it('resolves a field changed on both sides by HubSpotWins, TargetWins and NewestWins', async () => {
    h = await Harness.start({
      dbKind,
      objects: [{ conflictResolution: 'HubSpotWins' }],
      fieldMappings: [
        {
          name: 'contacts',
          spec: {
            objectType: 'contacts',
            fields: [
              { property: 'email', column: 'email' },
              { property: 'firstname', column: 'firstname' },
              { property: 'lastname', column: 'lastname', conflictResolution: 'TargetWins' },
              { property: 'company', column: 'company', conflictResolution: 'NewestWins' },
              { property: 'phone', column: 'phone', conflictResolution: 'NewestWins' },
            ],
          },
        },
      ],
    });
    // NewestWins compares record modification times (HubSpot's last-modified date, the target
    // change's capture time): for a, HubSpot changes last; for b, the target does.
    const a = await h.hs.create('contacts', { email: 'a@example.com', firstname: 'F0', lastname: 'L0', company: 'C0' });
    const b = await h.hs.create('contacts', { email: 'b@example.com', company: 'C0' });
    await h.cycle('initial');
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'F-target', lastname = 'L-target', company = 'C-target' WHERE email = 'a@example.com'`);
    await h.hs.update('contacts', b.id, { company: 'C-hub' });
    await tick();
    await h.hs.update('contacts', a.id, { firstname: 'F-hub', lastname: 'L-hub', company: 'C-hub' });
    await h.exec(`UPDATE {schema}.contacts SET company = 'C-target' WHERE email = 'b@example.com'`);
    await h.settle();
    const rows = await h.rows(`SELECT email, firstname, lastname, company FROM {schema}.contacts ORDER BY email`);
    expect(rows).toEqual([
      { email: 'a@example.com', firstname: 'F-hub', lastname: 'L-target', company: 'C-hub' },
      { email: 'b@example.com', firstname: null, lastname: null, company: 'C-target' },
    ]);
    expect((await h.hs.get('contacts', a.id, ['firstname', 'lastname', 'company'])).properties).toMatchObject({ firstname: 'F-hub', lastname: 'L-target', company: 'C-hub' });
    expect((await h.hs.get('contacts', b.id, ['company'])).properties.company).toBe('C-target');
  });

  it('a HubSpot edit that search does not show yet is not overwritten by a target edit: the conflict rule decides', async () => {
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: 'HubSpotWins' }] });
    const a = await h.hs.create('contacts', { email: 'race@example.com', firstname: 'F0', lastname: 'L0' });
    await h.cycle('initial');
    // HubSpot indexes changes for search with a delay; the cycle's pull pass cannot see this
    // edit yet, so only the read right before the push can.
    await h.hs.call('PUT', '/__sandbox/indexing', { indexingDelayMs: 60_000 });
    await h.hs.update('contacts', a.id, { firstname: 'F-hub' });
    await tick();
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'F-target', lastname = 'L-target' WHERE email = 'race@example.com'`);
    await h.cycle();
    // HubSpotWins: HubSpot keeps its edit and the table follows it; the field only the target
    // changed still reaches HubSpot.
    expect((await h.hs.get('contacts', a.id, ['firstname', 'lastname'])).properties).toMatchObject({ firstname: 'F-hub', lastname: 'L-target' });
    expect(await h.rows(`SELECT firstname, lastname FROM {schema}.contacts`)).toEqual([{ firstname: 'F-hub', lastname: 'L-target' }]);
    // Once search catches up, nothing is left to do on either side.
    await h.hs.call('PUT', '/__sandbox/indexing', { indexingDelayMs: 0 });
    const r = await h.cycle();
    expect(r.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
    expect(r.objects[0]!.lastCycle.toHubSpot).toEqual({ created: 0, updated: 0, deleted: 0 });
  });

  it('with TargetWins the push needs no read of HubSpot before writing', async () => {
    h = await Harness.start({ dbKind, objects: [{ conflictResolution: 'TargetWins' }] });
    await h.hs.create('contacts', { email: 'tw@example.com', firstname: 'F0' });
    await h.cycle('initial');
    const reads = async () => Object.entries((await h!.hs.stats()).requests.byRoute).filter(([r]) => r.includes('batch/read')).reduce((n, [, c]) => n + c, 0);
    const before = await reads();
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'F-target'`);
    const r = await h.cycle();
    expect(r.objects[0]!.lastCycle.toHubSpot.updated).toBe(1);
    expect(await reads()).toBe(before);
  });

  it('FillEmpty never overwrites and ForwardOnly never moves lifecycle stage back; both sides converge', async () => {
    const order = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];
    h = await Harness.start({
      dbKind,
      fieldMappings: [
        {
          name: 'contacts',
          spec: {
            objectType: 'contacts',
            fields: [
              { property: 'email', column: 'email' },
              { property: 'firstname', column: 'firstname', mode: 'FillEmpty' },
              { property: 'company', column: 'company', mode: 'FillEmpty' },
              { property: 'lifecyclestage', column: 'lifecyclestage', mode: 'ForwardOnly', order },
            ],
          },
        },
      ],
    });
    const a = await h.hs.create('contacts', { email: 'a@example.com', firstname: 'Hub', lifecyclestage: 'lead' });
    await h.cycle('initial');
    expect((await h.rows(`SELECT firstname, lifecyclestage FROM {schema}.contacts`))[0]).toEqual({ firstname: 'Hub', lifecyclestage: 'lead' });

    // FillEmpty: a present value is never overwritten, an empty one is filled.
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'Target', company = 'Acme'`);
    await h.settle();
    expect((await h.hs.get('contacts', a.id, ['firstname', 'company'])).properties).toMatchObject({ firstname: 'Hub', company: 'Acme' });
    expect((await h.rows(`SELECT firstname FROM {schema}.contacts`))[0]!.firstname).toBe('Target');

    // ForwardOnly: forward in the target goes to HubSpot...
    await h.exec(`UPDATE {schema}.contacts SET lifecyclestage = 'customer'`);
    await h.settle();
    expect((await h.hs.get('contacts', a.id, ['lifecyclestage'])).properties.lifecyclestage).toBe('customer');
    // ...backwards in HubSpot is undone, and the target never moves back.
    await h.hs.update('contacts', a.id, { lifecyclestage: 'lead' });
    await h.settle();
    expect((await h.rows(`SELECT lifecyclestage FROM {schema}.contacts`))[0]!.lifecyclestage).toBe('customer');
    expect((await h.hs.get('contacts', a.id, ['lifecyclestage'])).properties.lifecyclestage).toBe('customer');
    // ...and backwards in the target is undone too.
    await h.exec(`UPDATE {schema}.contacts SET lifecyclestage = 'subscriber'`);
    await h.settle();
    expect((await h.rows(`SELECT lifecyclestage FROM {schema}.contacts`))[0]!.lifecyclestage).toBe('customer');
    expect((await h.hs.get('contacts', a.id, ['lifecyclestage'])).properties.lifecyclestage).toBe('customer');
  });

  it('backfills a field added to the FieldMapping without waiting for records to change', async () => {
    const fields = [
      { property: 'email', column: 'email' },
      { property: 'firstname', column: 'firstname' },
    ];
    h = await Harness.start({ dbKind, fieldMappings: [{ name: 'contacts', spec: { objectType: 'contacts', fields } }] });
    await h.hs.create('contacts', { email: 'a@example.com', firstname: 'A', lastname: 'Old record' });
    await h.cycle('initial');
    expect((await h.rows(`SELECT lastname FROM {schema}.contacts`))[0]!.lastname).toBeNull();
    h.cfg.fieldMappings[0]!.spec.fields.push({ property: 'lastname', column: 'lastname' });
    await h.restart();
    const r = await h.cycle('incremental');
    expect(r.objects[0]!.lastCycle.toTarget.updated).toBe(1);
    expect((await h.rows(`SELECT lastname FROM {schema}.contacts`))[0]!.lastname).toBe('Old record');
    const again = await h.cycle('incremental');
    expect(again.objects[0]!.lastCycle.toTarget.updated).toBe(0);
  });

  it.each([
    ['Ignore', 'Ignore'],
    ['Propagate', 'Propagate'],
  ] as const)('applies deletes.fromHubSpot=%s and deletes.fromTarget=%s', async (fromHubSpot, fromTarget) => {
    h = await Harness.start({ dbKind, objects: [{ deletes: { fromHubSpot, fromTarget } }] });
    const a = await h.hs.create('contacts', { email: 'a@example.com', firstname: 'A' });
    const b = await h.hs.create('contacts', { email: 'b@example.com', firstname: 'B' });
    await h.cycle('initial');
    // A is deleted in HubSpot (seen by the full reconciliation), B in the target (captured).
    await h.hs.archive('contacts', a.id);
    await h.exec(`DELETE FROM {schema}.contacts WHERE email = 'b@example.com'`);
    await h.cycle('full');
    await h.settle();
    const emails = (await h.rows(`SELECT email FROM {schema}.contacts ORDER BY email`)).map((r) => r.email);
    const live = (await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email).sort();
    if (fromHubSpot === 'Propagate') {
      expect(emails).toEqual([]);
      expect(live).toEqual([]);
    } else {
      // Nothing is deleted, nothing is re-created: the survivors are no longer synced.
      expect(emails).toEqual(['a@example.com']);
      expect(live).toEqual(['b@example.com']);
      await h.exec(`UPDATE {schema}.contacts SET firstname = 'changed'`);
      await h.hs.update('contacts', b.id, { firstname: 'changed too' });
      await h.cycle('full');
      await h.settle();
      expect((await h.rows(`SELECT email FROM {schema}.contacts ORDER BY email`)).map((r) => r.email)).toEqual(['a@example.com']);
      expect((await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email)).toEqual(['b@example.com']);
    }
  });
});

describe.each(kinds)('capture notifications and cleanup (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('wakes up on a captured target change, and cleanup removes triggers and state but never business data', async () => {
    h = await Harness.start({ dbKind });
    await h.hs.create('contacts', { email: 'a@example.com' });
    await h.cycle('initial');
    const ac = new AbortController();
    const woke = h.engine.waitForTargetChange(ac.signal);
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('b@example.com')`);
    await woke; // resolves on NOTIFY (PostgreSQL) or the next outbox poll (MySQL)
    await h.cycle();
    expect((await h.hs.listAll('contacts', ['email'])).length).toBe(2);

    // Orphan keeps everything; Delete removes the operator's artifacts only.
    await h.engine.cleanup('Orphan');
    expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.links`))[0]!.n).toBe(2);
    await h.engine.cleanup('Delete');
    expect(await h.triggerNames()).toEqual([]);
    for (const t of ['links', 'cursors', 'outbox', 'record_errors', 'audit_log']) {
      expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.${t} WHERE integration_uid = $1`, [h.cfg.uid]))[0]!.n).toBe(0);
    }
    expect((await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts`))[0]!.n).toBe(2);
    expect((await h.hs.listAll('contacts', ['email'])).length).toBe(2);
    // Captured no more: a new row does not reach the outbox.
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('c@example.com')`);
    expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.outbox`))[0]!.n).toBe(0);
  });
});

describe.each(kinds)('suspend (%s)', (dbKind) => {
  it('an aborted cycle stops at the next batch boundary; the next one applies the rest exactly once', async () => {
    const ac = new AbortController();
    const h = await Harness.start({ dbKind, observer: { progress: (_t, phase, done) => phase === 'seed' && done >= 200 && ac.abort() } });
    try {
      await h.exec(`INSERT INTO {schema}.contacts (email) SELECT 'row' || g || '@example.com' FROM generate_series(1, 450) g`);
      const r = await h.engine.runCycle('initial', ac.signal);
      expect(r.completed).toBe(false);
      expect(r.systemic).toBeUndefined();
      expect((await h.hs.listAll('contacts', ['email'])).length).toBe(200);
      // Captured while suspended: applied after resume.
      await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('while-suspended@example.com')`);
      await h.cycle('initial');
      const emails = (await h.hs.listAll('contacts', ['email'])).map((x) => x.properties.email);
      expect(emails.length).toBe(451);
      expect(new Set(emails).size).toBe(451);
    } finally {
      await h.close();
    }
  });
});

describe.each(kinds)('deletionPolicy Orphan (%s)', (dbKind) => {
  it('a re-created integration of the same name adopts the state: no re-matching, changes captured meanwhile are applied', async () => {
    const h = await Harness.start({ dbKind });
    try {
      await h.hs.create('contacts', { email: 'a@example.com', firstname: 'A' });
      await h.cycle('initial');
      await h.engine.cleanup('Orphan');
      await h.engine.close();
      // While no integration exists, the trigger keeps capturing.
      await h.exec(`UPDATE {schema}.contacts SET firstname = 'edited while orphaned'`);
      const oldUid = h.cfg.uid;
      h.cfg.uid = randomUUID(); // re-created: a new UID, the same namespace/name
      h.engine = h.newEngine();
      const r = await h.cycle('initial');
      expect(r.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
      expect(r.objects[0]!.lastCycle.toHubSpot).toEqual({ created: 0, updated: 1, deleted: 0 });
      expect((await h.hs.listAll('contacts', ['firstname'])).map((x) => x.properties.firstname)).toEqual(['edited while orphaned']);
      expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.links WHERE integration_uid = $1`, [oldUid]))[0]!.n).toBe(0);
      // Only the new integration's capture triggers on the table.
      expect((await h.triggerNames()).length).toBe(h.triggersPerCapture);
    } finally {
      await h.close();
    }
  });
});

describe.skipIf(!kinds.includes('postgres'))('LISTEN survives a lost connection (postgres)', () => {
  it('re-subscribes after its connection is terminated and still wakes on captured changes', async () => {
    const h = await Harness.start({ dbKind: 'postgres' });
    try {
      await h.cycle('initial');
      const channel = channelFor(h.cfg.uid);
      const killed = await h.rows(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
      expect(killed).toEqual([{ ok: true }]);
      // The re-established subscription wakes a waiter (changes may have been missed meanwhile)...
      await h.engine.waitForTargetChange(new AbortController().signal);
      await waitFor(async () => (await h.rows(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]))[0]!.n === 1, { what: 'the new LISTEN connection' });
      // ...and the new connection delivers notifications.
      const woke = h.engine.waitForTargetChange(new AbortController().signal);
      await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('after-restart@example.com')`);
      await woke;
    } finally {
      await h.close();
    }
  });
});
