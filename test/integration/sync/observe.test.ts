/**
 * Observe mode (DESIGN §2.9): against overlapping data on both sides, an Observe cycle sends no
 * HubSpot write request, changes no business row, leaves no state row and no trigger, and its
 * plan counts equal what the following Sync cycle actually does, object by object.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverDbKinds } from '../../helpers/db.js';
import { Harness, writeRequests } from './harness.js';

const kinds = await serverDbKinds();
const STATE_TABLES = ['links', 'cursors', 'outbox', 'record_errors', 'audit_log'];

describe.each(kinds)('Observe mode (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function businessRows(): Promise<string> {
    return JSON.stringify(await h!.rows(`SELECT id, email, firstname, lastname, phone, company, lifecyclestage FROM {schema}.contacts ORDER BY id`));
  }
  async function stateRows(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of STATE_TABLES) out[t] = Number((await h!.rows(`SELECT count(*) AS n FROM {state}.${t} WHERE integration_uid = $1`, [h!.cfg.uid]))[0]!.n);
    return out;
  }

  it('writes nothing, and plans exactly what the following Sync does', async () => {
    h = await Harness.start({ dbKind });
    h.cfg.spec.mode = 'Observe';
    await h.restart();
    // HubSpot: alice (differs from the row), bob (HubSpot only), erin (HubSpot only).
    await h.hs.create('contacts', { email: 'alice@example.com', firstname: 'Alice', lastname: 'Liddell' });
    await h.hs.create('contacts', { email: 'bob@example.com', firstname: 'Bob' });
    await h.hs.create('contacts', { email: 'erin@example.com', firstname: 'Erin' });
    // Table: alice (other first name), carol (table only), dave twice (a duplicate).
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('Alice@Example.com', 'Ally'), ('carol@example.com', 'Carol'), ('dave@example.com', 'Dave'), ('dave@example.com', 'David')`);

    const rowsBefore = await businessRows();
    const writesBefore = writeRequests((await h.hs.stats()).requests.byRoute);

    const observed = await h.cycle('initial');
    const again = await h.cycle('incremental');
    expect(again.plan?.objects).toEqual(observed.plan?.objects);

    // Nothing written anywhere.
    expect(writeRequests((await h.hs.stats()).requests.byRoute)).toBe(writesBefore);
    expect(await businessRows()).toBe(rowsBefore);
    expect(await stateRows()).toEqual({ links: 0, cursors: 0, outbox: 0, record_errors: 0, audit_log: 0 });
    expect(await h.triggerNames()).toEqual([]);
    expect(observed.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });

    const plan = observed.plan!.objects[0]!;
    expect(plan.type).toBe('contacts');
    // bob + erin created in the table; carol created in HubSpot; alice linked (and updated: HubSpotWins); dave x2 duplicates.
    expect(plan.toTarget).toEqual({ create: 2, update: 1, delete: 0 });
    expect(plan.toHubSpot).toEqual({ create: 1, update: 0, delete: 0 });
    expect(plan.link).toBe(1);
    expect(plan.duplicates).toBe(2);
    expect(plan.wouldFail).toBe(2);
    expect(observed.plan!.hubspotWriteRequests).toBeGreaterThan(0);
    const aliceDiff = observed.plan!.changes.find((c) => c.direction === 'toTarget' && c.operation === 'update');
    expect(aliceDiff?.fields.firstname).toEqual({ before: 'Ally', after: 'Alice' });

    // Switch to Sync: the same passes really run, and do exactly what the plan said.
    h.cfg.spec.mode = 'Sync';
    await h.restart();
    const synced = await h.cycle('initial');
    expect(synced.plan).toBeUndefined();
    const c = synced.objects[0]!.lastCycle;
    expect({ create: c.toTarget.created, update: c.toTarget.updated, delete: c.toTarget.deleted }).toEqual(plan.toTarget);
    expect({ create: c.toHubSpot.created, update: c.toHubSpot.updated, delete: c.toHubSpot.deleted }).toEqual(plan.toHubSpot);
    expect(c.failed).toBe(plan.wouldFail);
    const links = Number((await h.rows(`SELECT count(*) AS n FROM {state}.links WHERE integration_uid = $1`, [h.cfg.uid]))[0]!.n);
    expect(links).toBe(plan.toTarget.create + plan.toHubSpot.create + plan.link);
    expect(await h.triggerNames()).toHaveLength(h.triggersPerCapture);

    // The full plan stayed in the state schema (the only state Observe writes), with its diffs.
    const [stored] = await h.rows(`SELECT summary, changes FROM {state}.plans WHERE integration_uid = $1`, [h.cfg.uid]);
    const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    expect(json(stored!.summary)).toEqual(observed.plan!.objects);
    expect(json(stored!.changes)).toHaveLength(observed.plan!.changes.length);
    // The audit log of the sync names the changed fields with before/after values (spec.audit.values default true).
    const audit = await h.rows(`SELECT operation, direction, fields, changes FROM {state}.audit_log WHERE integration_uid = $1 AND operation = 'link+update'`, [h.cfg.uid]);
    expect(audit).toHaveLength(1);
    expect(json(audit[0]!.fields)).toContain('firstname');
    expect(json(audit[0]!.changes).firstname).toEqual({ before: 'Ally', after: 'Alice' });
  });

  it('Sync → Observe keeps the capture triggers: a change made meanwhile stays in the outbox (no ack) and is planned, then synced', async () => {
    h = await Harness.start({ dbKind });
    await h.hs.create('contacts', { email: 'ann@example.com', firstname: 'Ann' });
    await h.cycle('initial');
    expect(await h.triggerNames()).toHaveLength(h.triggersPerCapture);
    h.cfg.spec.mode = 'Observe';
    await h.restart();
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ('new@example.com', 'New')`);
    await h.exec(`UPDATE {schema}.contacts SET firstname = 'Annie' WHERE email = 'ann@example.com'`);
    const outbox = async () => Number((await h!.rows(`SELECT count(*) AS n FROM {state}.outbox WHERE integration_uid = $1`, [h!.cfg.uid]))[0]!.n);
    const pending = await outbox();
    expect(pending).toBeGreaterThan(0);
    const writes = writeRequests((await h.hs.stats()).requests.byRoute);
    const dump = async () => {
      const out: Record<string, unknown> = {};
      for (const t of STATE_TABLES) out[t] = await h!.rows(`SELECT * FROM {state}.${t} WHERE integration_uid = $1 ORDER BY 1, 2, 3`, [h!.cfg.uid]);
      out.business = await businessRows();
      return JSON.stringify(out);
    };
    const before = await dump();
    const observed = await h.cycle();
    expect(await dump()).toBe(before);
    expect(observed.plan!.objects[0]).toMatchObject({ toHubSpot: { create: 1, update: 1, delete: 0 }, toTarget: { create: 0, update: 0, delete: 0 } });
    expect(await outbox()).toBe(pending);
    expect(await h.triggerNames()).toHaveLength(h.triggersPerCapture);
    expect(writeRequests((await h.hs.stats()).requests.byRoute)).toBe(writes);
    h.cfg.spec.mode = 'Sync';
    await h.restart();
    const synced = await h.cycle();
    expect(synced.objects[0]!.lastCycle.toHubSpot).toEqual({ created: 1, updated: 1, deleted: 0 });
    expect(await outbox()).toBe(0);
  });

  it('spec.audit: values false keeps field names only; retention prunes older entries', async () => {
    h = await Harness.start({ dbKind });
    h.cfg.spec.audit = { values: false, retention: '1d' };
    await h.restart();
    await h.hs.create('contacts', { email: 'zoe@example.com', firstname: 'Zoe' });
    await h.cycle('initial');
    const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    const [created] = await h.rows(`SELECT fields, changes FROM {state}.audit_log WHERE integration_uid = $1 AND operation = 'create'`, [h.cfg.uid]);
    expect(json(created!.fields)).toContain('email');
    expect(created!.changes).toBeNull();
    // Entries older than the retention go at the end of the next cycle; younger ones stay.
    const ago = (hours: number) => (dbKind === 'mysql' ? `CURRENT_TIMESTAMP(6) - INTERVAL ${hours} HOUR` : `now() - interval '${hours} hours'`);
    await h.exec(`INSERT INTO {state}.audit_log (integration_uid, at, object_type, direction, operation, outcome) VALUES ($1, ${ago(36)}, 'contacts', 'toTarget', 'old', 'ok')`, [h.cfg.uid]);
    await h.exec(`INSERT INTO {state}.audit_log (integration_uid, at, object_type, direction, operation, outcome) VALUES ($1, ${ago(12)}, 'contacts', 'toTarget', 'recent', 'ok')`, [h.cfg.uid]);
    await h.cycle();
    const ops = (await h.rows(`SELECT operation FROM {state}.audit_log WHERE integration_uid = $1 ORDER BY id`, [h.cfg.uid])).map((r) => r.operation);
    expect(ops).toContain('recent');
    expect(ops).not.toContain('old');
  });
});
