/**
 * Verification at every full reconciliation (issue 10): every linked pair is compared field by
 * field, not only by the HubSpot hash; a value changed behind the operator's back (an
 * uncaptured table write) and a tampered link hash are repaired at the next resync and counted
 * in status.objects[].drift.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openConnector, targetSettings } from '../../../operator/src/target/index.js';
import { serverDbKinds } from '../../helpers/db.js';
import { Harness } from './harness.js';

const kinds = await serverDbKinds();

describe.each(kinds)('verification and drift (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('repairs an uncaptured table edit and a tampered link hash at the next full reconciliation, and counts them', async () => {
    h = await Harness.start({ dbKind });
    const a = await h.hs.create('contacts', { email: 'a@example.com', firstname: 'Ann' });
    const b = await h.hs.create('contacts', { email: 'b@example.com', firstname: 'Bob' });
    await h.hs.create('contacts', { email: 'c@example.com', firstname: 'Cy' });
    const first = await h.cycle('initial');
    expect(first.objects[0]!.drift).toBeUndefined(); // no full reconciliation yet

    // A table write the capture does not see (marked as the operator's own, as with a disabled trigger).
    const side = await openConnector(h.cfg.credentials.databaseUrl, {
      uid: h.cfg.uid,
      namespace: h.cfg.namespace,
      name: h.cfg.name,
      settings: targetSettings(h.cfg.spec.target),
      pglite: h.db.pglite,
    });
    try {
      const [row] = await h.rows<{ id: unknown }>(`SELECT id FROM {schema}.contacts WHERE email = 'a@example.com'`);
      await side.transaction(
        (tx) => tx.rows.updateRows({ schema: h!.db.schema, table: 'contacts', primaryKey: 'id' }, [{ key: String(row!.id), values: { firstname: 'Edited behind the back' } }]),
        { writer: true },
      );
    } finally {
      await side.close();
    }
    expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.outbox`))[0]!.n).toBe(0);

    // An incremental cycle does not see either.
    await h.cycle();
    expect((await h.hs.get('contacts', a.id, ['firstname'])).properties.firstname).toBe('Ann');
    // A link whose hash no longer matches its values.
    await h.exec(`UPDATE {state}.links SET hs_hash = 'tampered' WHERE integration_uid = $1 AND hubspot_id = $2`, [h.cfg.uid, b.id]);

    const full = await h.cycle('full');
    expect(full.objects[0]!.drift).toMatchObject({ records: 2 });
    expect(Date.parse(full.objects[0]!.drift!.lastVerifyTime)).toBeGreaterThan(Date.now() - 60_000);
    // Repaired through the conflict rules: only the table changed since the last sync, so its value wins.
    expect((await h.hs.get('contacts', a.id, ['firstname'])).properties.firstname).toBe('Edited behind the back');
    const [link] = await h.rows<{ hs_hash: string }>(`SELECT hs_hash FROM {state}.links WHERE integration_uid = $1 AND hubspot_id = $2`, [h.cfg.uid, b.id]);
    expect(link!.hs_hash).not.toBe('tampered');
    const tableNames = (await h.rows<{ email: string; firstname: string }>(`SELECT email, firstname FROM {schema}.contacts ORDER BY email`)).map((r) => r.firstname);
    const hsNames = (await h.hs.listAll('contacts', ['email', 'firstname'])).sort((x, y) => String(x.properties.email).localeCompare(String(y.properties.email))).map((c) => c.properties.firstname);
    expect(tableNames).toEqual(hsNames);

    // Verified again: nothing differs now.
    const again = await h.cycle('full');
    expect(again.objects[0]!.drift).toMatchObject({ records: 0 });
    expect(again.objects[0]!.lastCycle.toHubSpot.updated + again.objects[0]!.lastCycle.toTarget.updated).toBe(0);
  });
});
