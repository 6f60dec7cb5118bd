/**
 * The PostgreSQL connector's resources (DESIGN §4): one pool per distinct database shared by
 * its integrations, ONE LISTEN connection per database dispatching by channel, a refused
 * connection classified as unreachable (→ TargetUnavailable with the server's message), and
 * a URL of the wrong scheme refused as a spec error naming the Secret reference.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openConnector, targetSettings, TargetSpecError, type Connector } from '../../../operator/src/target/index.js';
import { channelFor } from '../../../operator/src/target/postgres/capture.js';
import { sharedDbCount } from '../../../operator/src/target/postgres/db.js';
import { toSystemic, SystemicError } from '../../../operator/src/sync/context.js';
import { postgresUrl, uniqueName } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';

const url = await postgresUrl();

async function open(databaseUrl: string, schema: string, stateSchema: string, uid = randomUUID()): Promise<Connector> {
  return openConnector(databaseUrl, {
    uid,
    namespace: 'test',
    name: `acme-${uid.slice(0, 8)}`,
    settings: targetSettings({ postgres: { connectionSecretRef: { name: 'db' }, schema, stateSchema } }),
    poolSize: 3,
  });
}

describe.skipIf(!url)('PostgreSQL connector resources', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it('integrations on one database share one pool and one LISTEN connection; notifications go to their own integration', async () => {
    const schema = uniqueName('t');
    const stateSchema = `${schema}_state`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS "${stateSchema}" CASCADE`);
      await admin.end();
    });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(`CREATE TABLE "${schema}".a (id bigserial PRIMARY KEY, name text)`);
    await admin.query(`CREATE TABLE "${schema}".b (id bigserial PRIMARY KEY, name text)`);

    const before = sharedDbCount();
    const uids = [randomUUID(), randomUUID()];
    const one = await open(url!, schema, stateSchema, uids[0]);
    const two = await open(url!, schema, stateSchema, uids[1]);
    cleanups.push(() => one.close(), () => two.close());
    expect(sharedDbCount()).toBe(before + 1);

    await one.register();
    await two.register();
    await one.installCapture({ schema, table: 'a', primaryKey: 'id' });
    await two.installCapture({ schema, table: 'b', primaryKey: 'id' });
    const got = { one: 0, two: 0 };
    const stopOne = await one.watchChanges(() => got.one++);
    const stopTwo = await two.watchChanges(() => got.two++);

    // Both subscriptions use one server connection: one backend whose last statement was a LISTEN on
    // either channel (two connections would show two).
    const listeners = await admin.query<{ n: string }>(`SELECT count(DISTINCT pid)::text AS n FROM pg_stat_activity WHERE query = ANY($1::text[])`, [
      uids.map((u) => `LISTEN "${channelFor(u)}"`),
    ]);
    expect(Number(listeners.rows[0]!.n)).toBe(1);

    await admin.query(`INSERT INTO "${schema}".a (name) VALUES ('x')`);
    await expect.poll(() => got.one, { timeout: 10_000 }).toBe(1);
    await admin.query(`INSERT INTO "${schema}".b (name) VALUES ('y'), ('z')`);
    // (PostgreSQL folds identical notifications of one transaction into one.)
    await expect.poll(() => got.two, { timeout: 10_000 }).toBe(1);
    expect(got.one).toBe(1);
    expect((await one.state.nextOutboxBatch('a', 10)).map((e) => e.op)).toEqual(['I']);
    expect(await two.state.pendingChanges('b')).toBe(2);

    await stopOne();
    await stopTwo();
    await one.close();
    expect(sharedDbCount()).toBe(before + 1); // still used by the other integration
    await two.close();
    expect(sharedDbCount()).toBe(before);
  });

  it('a refused connection (too many connections) is unreachable: TargetUnavailable with the server message', async () => {
    const role = uniqueName('hso_limited');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(async () => {
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    });
    await admin.query(`CREATE ROLE "${role}" LOGIN CONNECTION LIMIT 0`);
    const u = new URL(url!);
    u.username = role;
    const schema = uniqueName('t');
    const c = await open(u.toString(), schema, `${schema}_state`);
    cleanups.push(() => c.close());
    const err = await c.register().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    const cls = c.classifyError(err);
    expect(cls.kind).toBe('unreachable');
    expect(cls.message).toMatch(/too many connections/);
    const s = toSystemic(err, c);
    expect(s).toBeInstanceOf(SystemicError);
    expect((s as SystemicError).reason).toBe('TargetUnavailable');
    expect(s.message).toMatch(/^target database unreachable: .*too many connections/);
  });

  it('a connection terminated inside a transaction fails that transaction, never the process; the pool goes on', async () => {
    // Found by the chaos run (seed 2005): pg_terminate_backend of a connection checked out for a
    // transaction emitted 'error' on a client nobody listened to (pg-pool only listens to idle
    // clients), an uncaught exception that killed the operator for 75 s.
    const schema = uniqueName('t');
    const app = uniqueName('hso_tx');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}_state" CASCADE`);
      await admin.end();
    });
    const u = new URL(url!);
    u.searchParams.set('application_name', app);
    const c = await open(u.toString(), schema, `${schema}_state`);
    cleanups.push(() => c.close());
    await c.register();
    const failed = await c
      .transaction(async (tx) => {
        await tx.state.getCursor('contacts', 'x');
        // The transaction's own connection is the only one of this application idle in a transaction.
        const killed = await admin.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'`, [app]);
        expect(killed.rows).toEqual([{ ok: true }]);
        await waitFor(async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'`, [app])).rowCount === 0, {
          what: 'the terminated backend gone',
        });
        await tx.state.getCursor('contacts', 'y');
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(Error);
    expect(c.classifyError(failed).kind).toBe('unreachable');
    // The broken client was not returned to the pool: the next transaction works.
    await c.transaction((tx) => tx.state.setCursor('contacts', 'x', { completed: true, data: {} }));
    expect(await c.state.getCursor('contacts', 'x')).toMatchObject({ completed: true });
  });
});

describe('a connection URL of the wrong scheme', () => {
  it('a mysql:// URL in a postgres target, and the reverse, name the Secret reference to change', async () => {
    const pgSettings = targetSettings({ postgres: { connectionSecretRef: { name: 'db' } } });
    const myOpts = { uid: 'u', namespace: 'n', name: 'x', settings: pgSettings };
    const e1 = await openConnector('mysql://root@127.0.0.1:3306/crm', myOpts).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(TargetSpecError);
    expect((e1 as TargetSpecError).field).toBe('spec.target.postgres.connectionSecretRef');
    expect((e1 as Error).message).toMatch(/mysql:\/\/ URL, but the target is spec.target.postgres.*postgres:\/\/.*spec.target.mysql/);

    const mySettings = targetSettings({ mysql: { connectionSecretRef: { name: 'db' }, database: 'crm' } });
    const e2 = await openConnector('postgres://root@127.0.0.1:5432/test', { ...myOpts, settings: mySettings }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(TargetSpecError);
    expect((e2 as TargetSpecError).field).toBe('spec.target.mysql.connectionSecretRef');
    expect((e2 as Error).message).toMatch(/postgres:\/\/ URL, but the target is spec.target.mysql/);
  });
});
