import { afterEach, describe, expect, it } from 'vitest';
import { syncDbKinds } from '../../helpers/db.js';
import { Harness, writeRequests } from './harness.js';

const kinds = await syncDbKinds();

describe.each(kinds)('initial import and linking (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('imports both sides, links by normalised match key, reports ambiguous matches as Duplicate, and is quiet at rest', async () => {
    h = await Harness.start({ dbKind });
    const a = await h.hs.create('contacts', { email: 'alice@example.com', firstname: 'Alice', lastname: 'A' });
    await h.hs.create('contacts', { email: 'bob@example.com', firstname: 'Bob' });
    const dup = await h.hs.create('contacts', { email: 'dup@example.com', firstname: 'Dup' });
    // Target: Alice exists with another case/whitespace (links, not duplicates), Carol only here, two rows for dup.
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname, phone) VALUES (' Alice@Example.COM ', 'Alicia', '+1 (555) 010-0000'), ('carol@example.com', 'Carol', NULL), ('dup@example.com', 'D1', NULL), ('DUP@example.com', 'D2', NULL)`);

    const r1 = await h.cycle('initial');
    const c = r1.objects[0]!;
    expect(c.lastCycle.toTarget.created).toBe(1); // bob
    expect(c.lastCycle.toHubSpot.created).toBe(1); // carol
    const rows = await h.rows(`SELECT email, firstname FROM {schema}.contacts ORDER BY id`);
    expect(rows.map((r) => r.email)).toEqual([' Alice@Example.COM ', 'carol@example.com', 'dup@example.com', 'DUP@example.com', 'bob@example.com']);
    // HubSpotWins on first link: Alice's first name comes from HubSpot.
    expect(rows[0]!.firstname).toBe('Alice');
    const hsAll = await h.hs.listAll('contacts', ['email', 'firstname', 'phone']);
    expect(hsAll.map((x) => x.properties.email).sort()).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com', 'dup@example.com']);
    // Alice's phone only existed in the target: it is filled in HubSpot.
    const alice = await h.hs.get('contacts', a.id, ['phone', 'firstname']);
    expect(alice.properties.phone).toBe('+1 (555) 010-0000');
    const errors = await h.errors();
    // The HubSpot record and both target rows that share its email are failing as Duplicate.
    expect(errors.map((e) => e.category)).toEqual(['Duplicate', 'Duplicate', 'Duplicate']);
    expect(errors.find((e) => e.hubspot_id === dup.id)?.message).toMatch(/2 target rows have email = "dup@example.com"/);
    expect(errors.filter((e) => e.target_key).map((e) => e.message)).toEqual([
      expect.stringMatching(/2 target rows \(keys \d+, \d+\) have email = "dup@example.com"/),
      expect.stringMatching(/2 target rows \(keys \d+, \d+\) have email = "dup@example.com"/),
    ]);
    expect(r1.errors).toEqual([expect.objectContaining({ category: 'Duplicate', records: 3 })]);

    // A second cycle at rest writes nothing anywhere.
    await h.settle();
    const before = await h.hs.stats();
    const auditBefore = await h.rows(`SELECT count(*)::int AS n FROM {state}.audit_log WHERE outcome = 'ok'`);
    const r2 = await h.cycle();
    const after = await h.hs.stats();
    expect(writeRequests(after.requests.byRoute) - writeRequests(before.requests.byRoute)).toBe(0);
    expect(r2.objects[0]!.lastCycle).toEqual({ toTarget: { created: 0, updated: 0, deleted: 0 }, toHubSpot: { created: 0, updated: 0, deleted: 0 }, failed: expect.any(Number), conflicts: 0 });
    expect(await h.rows(`SELECT count(*)::int AS n FROM {state}.audit_log WHERE outcome = 'ok'`)).toEqual(auditBefore);
    expect(after.requests.total - before.requests.total).toBeLessThanOrEqual(2);
  });
});
