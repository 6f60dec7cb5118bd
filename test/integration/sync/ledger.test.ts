/**
 * Every pass records its outcomes through the one batch ledger: a HubSpot delete the target
 * refuses (deletes.fromHubSpot Propagate, a row another table still references) is a record
 * error, a failed audit entry, a failed count in status and in sync_errors_total — like a
 * failed create or update — and it is retried until the row can go.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { syncDbKinds } from '../../helpers/db.js';
import { CONTACTS_DDL, Harness } from './harness.js';

const kinds = await syncDbKinds();

describe.each(kinds)('the batch ledger (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a refused target delete counts as a sync error everywhere, and is retried until it succeeds', async () => {
    const syncErrors: [string, string, number][] = [];
    const synced: [string, string, string, number][] = [];
    h = await Harness.start({
      dbKind,
      objects: [{ deletes: { fromHubSpot: 'Propagate', fromTarget: 'Ignore' } }],
      ddl: [CONTACTS_DDL, `CREATE TABLE {schema}.orders (id bigserial PRIMARY KEY, contact_id bigint NOT NULL, FOREIGN KEY (contact_id) REFERENCES {schema}.contacts (id))`],
      observer: {
        syncErrors: (type, category, n) => syncErrors.push([type, category, n]),
        recordsSynced: (type, direction, op, n) => synced.push([type, direction, op, n]),
      },
    });
    const a = await h.hs.create('contacts', { email: 'a@example.com', firstname: 'A' });
    await h.cycle('initial');
    const [row] = await h.rows<{ id: string | number }>(`SELECT id FROM {schema}.contacts WHERE email = 'a@example.com'`);
    const key = String(row!.id);
    await h.exec(`INSERT INTO {schema}.orders (contact_id) VALUES ($1)`, [key]);

    await h.hs.archive('contacts', a.id);
    synced.length = 0;
    const r = await h.cycle('full');
    expect(r.objects[0]!.lastCycle.failed).toBe(1);
    expect(r.objects[0]!.lastCycle.toTarget.deleted).toBe(0);
    expect(syncErrors).toEqual([['contacts', 'Target', 1]]);
    expect(synced.filter((s) => s[2] === 'deleted')).toEqual([]);
    const errors = await h.errors();
    expect(errors).toEqual([expect.objectContaining({ category: 'Target', hubspot_id: a.id, target_key: key, message: expect.stringMatching(/delete \(HubSpot contacts \d+ was deleted\) failed/) })]);
    const audit = await h.rows(`SELECT operation, outcome, category FROM {state}.audit_log WHERE integration_uid = $1 AND outcome = 'failed'`, [h.cfg.uid]);
    expect(audit).toEqual([{ operation: 'delete', outcome: 'failed', category: 'Target' }]);

    // Once nothing references the row, the next full pass deletes it and clears the error.
    await h.exec(`DELETE FROM {schema}.orders`);
    const again = await h.cycle('full');
    expect(again.objects[0]!.lastCycle.toTarget.deleted).toBe(1);
    expect(synced).toContainEqual(['contacts', 'toTarget', 'deleted', 1]);
    expect(await h.errors()).toEqual([]);
    expect(await h.rows(`SELECT id FROM {schema}.contacts`)).toEqual([]);
  });
});
