/**
 * A table edit committed while the HubSpot → target pass is writing that row is never
 * overwritten (DESIGN §3: zero lost updates; the target, unlike HubSpot, has transactions, so
 * this race is the operator's to close).
 *
 * Found by the chaos runner (seed 3, NewestWins: a table UPDATE at 07:12:11.196 overwritten by the
 * operator's toTarget update committed 5 ms later, and lost on both sides). Cause (pull.ts): the
 * page's target rows are read with selectRows() OUTSIDE the page transaction, the decision is
 * made on them, and updateRows() then writes the decided columns unconditionally. A user's
 * UPDATE committed between that read and the write is overwritten; its outbox row survives, but
 * the push pass then finds the row equal to the link's new baseline ("unchanged") and drops it.
 *
 * Reproduced deterministically: the test holds the row lock (SELECT … FOR UPDATE) before the
 * cycle starts, so the pull reads the old row, decides, and blocks on its UPDATE; the test then
 * edits the row in its transaction and commits. The fix: each row update of the pull is
 * conditional on the row's version token as read (UPDATE … WHERE key = $k AND md5(columns) =
 * token; READ COMMITTED re-checks it on the row's new version after the lock wait), and a row
 * that changed keeps its old link and is left to the push pass (conflict rules).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresUrl } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness } from './harness.js';

const hasPostgres = !!(await postgresUrl());

describe.skipIf(!hasPostgres)('a table edit racing the pull is not overwritten (postgres)', () => {
  let h: Harness | undefined;
  let c: pg.Client | undefined;
  afterEach(async () => {
    await c?.end().catch(() => {});
    await h?.close();
    h = undefined;
    c = undefined;
  });

  it.each(['TargetWins', 'NewestWins'] as const)('%s: the table edit committed while the pull waits for the row wins on both sides', async (rule) => {
    h = await Harness.start({ dbKind: 'postgres', objects: [{ conflictResolution: rule }] });
    const contact = await h.hs.create('contacts', { email: 'race@example.com', firstname: 'F0', lastname: 'L0' });
    await h.cycle('initial');
    await h.hs.update('contacts', contact.id, { firstname: 'F-hub' });

    c = new pg.Client({ connectionString: h.db.url });
    await c.connect();
    await c.query('BEGIN');
    await c.query(`SELECT * FROM "${h.db.schema}".contacts WHERE email = 'race@example.com' FOR UPDATE`);
    const cycle = h.engine.runCycle('incremental', new AbortController().signal);
    // The pull has read the row and now waits for the lock to write F-hub.
    await waitFor(
      async () =>
        (
          await h!.rows(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'UPDATE%' AND query LIKE $1`, [`%"${h!.db.schema}"%`])
        ).length > 0,
      { what: "the pull's UPDATE to wait for the row lock" },
    );
    // The user's edit, later than HubSpot's: it must win under TargetWins and NewestWins alike.
    await c.query(`UPDATE "${h.db.schema}".contacts SET firstname = 'F-table' WHERE email = 'race@example.com'`);
    await c.query('COMMIT');
    const r = await cycle;
    expect(r.completed).toBe(true);
    await h.settle();
    expect(await h.rows(`SELECT firstname FROM {schema}.contacts`)).toEqual([{ firstname: 'F-table' }]);
    expect((await h.hs.get('contacts', contact.id, ['firstname'])).properties.firstname).toBe('F-table');
  });
});
