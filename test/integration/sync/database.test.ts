/**
 * The database layer on both implementations: transactions that mark the operator's writes,
 * LISTEN/NOTIFY, and migrations that are idempotent and safe when two processes race.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { availableDbKinds, openTestDb, postgresUrl, type TestDb } from '../../helpers/db.js';
import { openDb, redactUrl } from '../../../operator/src/target/postgres/db.js';
import { LATEST_VERSION, MIGRATIONS, migrate } from '../../../operator/src/target/postgres/migrations.js';
import { channelFor, installCapture } from '../../../operator/src/target/postgres/capture.js';

const kinds = await availableDbKinds();

describe.each(kinds)('database layer (%s)', (kind) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('captures application writes but not the operator-marked ones, and notifies', async () => {
    t = await openTestDb(kind);
    const { db, schema, stateSchema } = t;
    expect(await migrate(db, stateSchema)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(db, stateSchema)).toEqual([]);
    await db.query(`CREATE TABLE "${schema}".items (id int PRIMARY KEY, name text)`);
    await installCapture(db, { uid: 'uid-1', stateSchema, schema, table: 'items', primaryKey: 'id' });
    const got: string[] = [];
    const unlisten = await db.listen(channelFor('uid-1'), (p) => got.push(p));
    await db.query(`INSERT INTO "${schema}".items VALUES (1, 'a')`);
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO "${schema}".items VALUES (2, 'b')`);
    }, { writer: 'uid-1' });
    await db.transaction(async (tx) => {
      // Another integration's writes are captured for this one.
      await tx.query(`INSERT INTO "${schema}".items VALUES (3, 'c')`);
    }, { writer: 'uid-2' });
    await db.query(`UPDATE "${schema}".items SET name = name WHERE id = 1`); // no change: not captured
    await db.query(`UPDATE "${schema}".items SET id = 10 WHERE id = 1`); // key change: delete + insert
    await db.query(`DELETE FROM "${schema}".items WHERE id = 3`);
    const outbox = await db.query<{ target_key: string; op: string }>(`SELECT target_key, op FROM "${stateSchema}".outbox ORDER BY id`);
    expect(outbox.rows.map((r) => `${r.op}${r.target_key}`)).toEqual(['I1', 'I3', 'D1', 'U10', 'D3']);
    // NOTIFY reaches the LISTEN connection asynchronously (on a real server it is another
    // connection than the one that wrote): wait for the deliveries, don't assume them.
    await waitFor(() => got.length >= 4, { what: 'four notifications' });
    expect(new Set(got)).toEqual(new Set(['items']));
    await unlisten();
    // The transaction-local marker does not leak out of its transaction.
    const setting = await db.query<{ v: string | null }>(`SELECT current_setting('hubspot_operator.writer', true) AS v`);
    expect(setting.rows[0]!.v ?? '').toBe('');
  });
});

describe.skipIf(!(await postgresUrl()))('migrations under a race (postgres)', () => {
  it('two processes migrating one schema at once apply each version exactly once', async () => {
    const t = await openTestDb('postgres');
    const a = await openDb(t.url);
    const b = await openDb(t.url);
    try {
      const [ra, rb] = await Promise.all([migrate(a, t.stateSchema), migrate(b, t.stateSchema)]);
      expect([...ra, ...rb].sort()).toEqual(MIGRATIONS.map((m) => m.version));
      const v = await t.db.query<{ version: number }>(`SELECT version FROM "${t.stateSchema}".schema_migrations ORDER BY version`);
      expect(v.rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
      expect(v.rows.at(-1)!.version).toBe(LATEST_VERSION);
    } finally {
      await a.close();
      await b.close();
      await t.cleanup();
    }
  });

  it('reports unsupported URLs clearly and never prints a password', async () => {
    await expect(openDb('mysql://x')).rejects.toThrow(/unsupported database URL mysql:\/\/x.*expected postgres:\/\//);
    expect(redactUrl('postgres://user:secret@db:5432/app')).toBe('postgres://user:***@db:5432/app');
  });
});
