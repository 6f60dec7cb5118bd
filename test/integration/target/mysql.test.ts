/**
 * The MySQL / MariaDB connector against a real server (MariaDB 10.11 on the development
 * machines and in CI; see test/helpers/mysql.ts for when it is skipped): the state store,
 * table description, row writes with per-row failures, change capture (others' writes
 * captured, the operator's own not, the poll wakes within about a second), cleanup by
 * deletionPolicy, and the bad inputs a user can get wrong, each with a message naming the fix.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openConnector, targetSettings, TargetSpecError, TargetUnavailableError, type Connector, type TableRef } from '../../../operator/src/target/index.js';
import { mysqlUrl, openMySqlTestDatabase, withDatabase, type MySqlTestDatabase } from '../../helpers/mysql.js';
import { waitFor } from '../../helpers/wait.js';

const server = await mysqlUrl({ announce: true });

describe.skipIf(!server)('target/mysql connector (MariaDB / MySQL)', () => {
  let t: MySqlTestDatabase;
  const open: Connector[] = [];

  async function connector(opts: { uid?: string; url?: string; name?: string } = {}): Promise<Connector> {
    const c = await openConnector(opts.url ?? t.url, {
      uid: opts.uid ?? randomUUID(),
      namespace: 'test',
      name: opts.name ?? 'acme',
      settings: targetSettings({ mysql: { database: t.database, stateDatabase: t.stateDatabase } }),
      poolSize: 4,
    });
    open.push(c);
    return c;
  }

  const contacts = (): TableRef => ({ schema: t.database, table: 'contacts', primaryKey: 'id' });

  async function outbox(uid: string): Promise<{ target_key: string; op: string }[]> {
    const [rows] = await t.conn.query(`SELECT target_key, op FROM \`${t.stateDatabase}\`.outbox WHERE integration_uid = ? ORDER BY id`, [uid]);
    return rows as { target_key: string; op: string }[];
  }

  beforeAll(async () => {
    t = await openMySqlTestDatabase(server!);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    await t.conn.query(`DROP TABLE IF EXISTS \`${t.database}\`.contacts`);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  async function contactsTable(): Promise<void> {
    await t.conn.query(`CREATE TABLE \`${t.database}\`.contacts (
      id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
      email varchar(255) NOT NULL,
      firstname varchar(20),
      vip boolean,
      score decimal(10,2),
      born date,
      seen_at datetime(3),
      extra json
    )`);
  }

  it('migrates the state database once, describes tables in neutral kinds and reports a missing primary key', async () => {
    await contactsTable();
    await t.conn.query(`CREATE TABLE \`${t.database}\`.nokey (email varchar(255))`);
    const c = await connector();
    await c.register();
    await c.register(); // idempotent
    const [tables] = await t.conn.query(`SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, [t.stateDatabase]);
    expect((tables as { n: string }[]).map((r) => r.n)).toEqual(['association_pairs', 'association_pending', 'audit_log', 'cursors', 'integrations', 'links', 'outbox', 'plans', 'record_errors', 'schema_migrations', 'webhook_inbox']);

    const d = await c.describeTable(t.database, 'contacts');
    expect(d?.primaryKey).toEqual(['id']);
    expect(Object.fromEntries([...d!.columns].map(([k, v]) => [k, v.kind]))).toEqual({
      id: 'integer',
      email: 'text',
      firstname: 'text',
      vip: 'boolean',
      score: 'decimal',
      born: 'date',
      seen_at: 'datetime',
      extra: expect.stringMatching(/^(json|text)$/), // MariaDB's JSON is LONGTEXT
    });
    expect(d!.columns.get('id')!.hasDefault).toBe(true);
    expect(d!.columns.get('email')!.nullable).toBe(false);
    expect((await c.describeTable(t.database, 'nokey'))?.primaryKey).toEqual([]);
    expect(await c.describeTable(t.database, 'missing')).toBeUndefined();
    await t.conn.query(`DROP TABLE \`${t.database}\`.nokey`);
  });

  it('writes rows in one transaction, a bad row failing alone, and reads them back by key and by match key', async () => {
    await contactsTable();
    const c = await connector();
    await c.register();
    await c.describeTable(t.database, 'contacts');
    const result = await c.transaction(async (tx) =>
      tx.rows.insertRows(contacts(), [
        { email: ' Ann@Example.com ', firstname: 'Ann', vip: true, score: '12.50', born: '1990-02-03', seen_at: '2026-01-02T03:04:05.678Z' },
        { email: null, firstname: 'No email' },
        { email: 'bob@example.com', firstname: 'a name much longer than twenty characters' },
        { email: 'cy@example.com', firstname: 'Cy' },
      ]),
    { writer: true });
    expect(result.keys[0]).toMatch(/^\d+$/);
    expect(result.keys[1]).toBeUndefined();
    expect(result.failures.map((f) => f.index)).toEqual([1, 2]);
    expect(result.failures[0]!.message).toMatch(/email.*null|ER_BAD_NULL_ERROR/i);
    expect(result.failures[1]!.message).toMatch(/ER_DATA_TOO_LONG|too long/i);

    const rows = await c.rows.selectRows(contacts(), [result.keys[0]!, result.keys[3]!], ['email', 'vip', 'score', 'born', 'seen_at']);
    const ann = rows.get(result.keys[0]!)!;
    expect(ann).toMatchObject({ email: ' Ann@Example.com ', score: '12.50', born: '1990-02-03' });
    expect(Number(ann.vip)).toBe(1);
    expect((ann.seen_at as Date).toISOString()).toBe('2026-01-02T03:04:05.678Z');
    const matched = await c.rows.selectByMatch(contacts(), 'email', 'lowerTrim', ['ann@example.com', 'nobody@example.com'], ['firstname']);
    expect(matched.map((r) => r.__key)).toEqual([result.keys[0]]);
    expect(await c.rows.countRows(contacts())).toBe(2);
    expect(await c.rows.selectKeysAfter(contacts(), result.keys[0], 10)).toEqual([result.keys[3]]);

    // A batch that succeeds (MariaDB: one INSERT … RETURNING): each key belongs to its row.
    const batch = await c.transaction((tx) => tx.rows.insertRows(contacts(), [{ email: 'k1@example.com' }, { email: 'k2@example.com' }, { email: 'k3@example.com' }]), { writer: true });
    expect(batch.failures).toEqual([]);
    const byKey = await c.rows.selectRows(contacts(), batch.keys as string[], ['email']);
    expect(batch.keys.map((k) => byKey.get(k!)!.email)).toEqual(['k1@example.com', 'k2@example.com', 'k3@example.com']);
    await t.conn.query(`DELETE FROM \`${t.database}\`.contacts WHERE email LIKE 'k_@example.com'`);

    const failures = await c.transaction((tx) => tx.rows.updateRows(contacts(), [
      { key: result.keys[0]!, values: { firstname: 'Annie' } },
      { key: result.keys[3]!, values: { email: null } },
    ]), { writer: true });
    expect(failures.map((f) => f.index)).toEqual([1]);
    expect((await c.rows.selectRows(contacts(), [result.keys[0]!], ['firstname'])).get(result.keys[0]!)!.firstname).toBe('Annie');
  });

  it('keeps links with a long match value (a company name past 255 characters) and finds them by it', async () => {
    const c = await connector();
    await c.register();
    const long = `${'acme holding '.repeat(30)}gmbh`;
    const link = { hubspotId: '42', targetKey: '7', hsValues: { name: long }, tgValues: { name: long }, hsHash: 'h', tgHash: 't', hsModified: 1_700_000_000_123, matchKey: long };
    await c.transaction((tx) => tx.state.upsertLinks('companies', [link]));
    expect(await c.state.linksByMatchKeys('companies', [long])).toEqual([expect.objectContaining({ hubspotId: '42', targetKey: '7', matchKey: long, hsModified: 1_700_000_000_123 })]);
    // Re-linking the target key to another HubSpot record drops the old link.
    await c.transaction((tx) => tx.state.upsertLinks('companies', [{ ...link, hubspotId: '43' }]));
    expect([...(await c.state.linksByTargetKeys('companies', ['7'])).values()].map((l) => l.hubspotId)).toEqual(['43']);
    expect(await c.state.countLinks('companies')).toBe(1);
  });

  it('captures inserts, updates and deletes by others but not the operator\'s own writes, and wakes the watcher within about a second', async () => {
    await contactsTable();
    const uid = randomUUID();
    const c = await connector({ uid });
    await c.register();
    await c.installCapture(contacts());
    await c.installCapture(contacts()); // idempotent: still one trigger per operation
    const [trg] = await t.conn.query(`SELECT EVENT_MANIPULATION AS op FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY op`, [t.database]);
    expect((trg as { op: string }[]).map((x) => x.op)).toEqual(['DELETE', 'INSERT', 'UPDATE']);

    let woken = 0;
    const stop = await c.watchChanges(() => woken++);
    // The operator's own writes: not captured.
    await c.transaction((tx) => tx.rows.insertRows(contacts(), [{ email: 'own@example.com' }]), { writer: true });
    expect(await outbox(uid)).toEqual([]);

    // Another session's writes: captured, and the watcher wakes about a second later at most.
    const before = woken;
    const started = Date.now();
    const [ins] = await t.conn.query(`INSERT INTO \`${t.database}\`.contacts (email) VALUES ('other@example.com')`);
    const id = String((ins as { insertId: number }).insertId);
    await waitFor(() => woken > before, { what: 'the outbox poll to wake the watcher', timeoutMs: 5000 });
    const latency = Date.now() - started;
    expect(latency).toBeLessThanOrEqual(1500);
    await t.conn.query(`UPDATE \`${t.database}\`.contacts SET firstname = 'X' WHERE id = ?`, [id]);
    await t.conn.query(`UPDATE \`${t.database}\`.contacts SET id = 1000 WHERE id = ?`, [id]);
    await t.conn.query(`DELETE FROM \`${t.database}\`.contacts WHERE id = 1000`);
    expect(await outbox(uid)).toEqual([
      { target_key: id, op: 'I' },
      { target_key: id, op: 'U' },
      { target_key: id, op: 'D' },
      { target_key: '1000', op: 'U' },
      { target_key: '1000', op: 'D' },
    ]);
    const batch = await c.state.nextOutboxBatch('contacts', 100);
    expect(batch.map((e) => [e.key, e.op])).toEqual([[id, 'D'], ['1000', 'D']]);
    await c.transaction((tx) => tx.state.ackOutbox('contacts', batch));
    expect(await outbox(uid)).toEqual([]);

    // A second integration on the same table captures the first one's writes (the mark is per integration).
    const other = await connector({ name: 'other' });
    await other.register();
    await other.installCapture(contacts());
    await c.transaction((tx) => tx.rows.insertRows(contacts(), [{ email: 'from-c@example.com' }]), { writer: true });
    expect(await outbox(uid)).toEqual([]);
    expect((await other.state.nextOutboxBatch('contacts', 10)).length).toBe(1);
    await stop();
  });

  it('a change committed late with a lower outbox id (a long transaction) still wakes the watcher', async () => {
    await contactsTable();
    const c = await connector();
    await c.register();
    await c.installCapture(contacts());
    let woken = 0;
    const stop = await c.watchChanges(() => woken++);
    const slow = await mysql.createConnection({ uri: t.url });
    try {
      // The slow transaction takes outbox id n, a quick one n+1 and commits first: the poll sees n+1.
      await slow.beginTransaction();
      await slow.query(`INSERT INTO \`${t.database}\`.contacts (email) VALUES ('slow@example.com')`);
      await t.conn.query(`INSERT INTO \`${t.database}\`.contacts (email) VALUES ('quick@example.com')`);
      await waitFor(() => woken >= 1, { what: 'the quick change to wake the watcher', timeoutMs: 5000 });
      const before = woken;
      await slow.commit();
      await waitFor(() => woken > before, { what: 'the late commit (a lower id) to wake the watcher', timeoutMs: 5000 });
    } finally {
      await slow.end();
      await stop();
    }
  });

  it('cleanup: Orphan keeps triggers and state for adoption, Delete removes them (business rows stay)', async () => {
    await contactsTable();
    const first = await connector({ name: 'adopt-me' });
    await first.register();
    await first.installCapture(contacts());
    await first.transaction((tx) => tx.state.setCursor('contacts', 'import', { completed: true, data: {} }));
    await first.cleanup('Orphan', [contacts()]);
    await t.conn.query(`INSERT INTO \`${t.database}\`.contacts (email) VALUES ('while-orphaned@example.com')`);

    const secondUid = randomUUID();
    const second = await connector({ name: 'adopt-me', uid: secondUid });
    const { adoptedUid } = await second.register();
    expect(adoptedUid).toBeDefined();
    expect((await second.state.getCursor('contacts', 'import'))?.completed).toBe(true);
    expect((await second.state.nextOutboxBatch('contacts', 10)).map((e) => e.op)).toEqual(['I']);
    const [afterAdopt] = await t.conn.query(`SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`, [t.database]);
    expect(Number((afterAdopt as { n: number }[])[0]!.n)).toBe(0); // the orphan's triggers made way
    await second.installCapture(contacts());

    await second.cleanup('Delete', [contacts()]);
    const [trg] = await t.conn.query(`SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`, [t.database]);
    expect(Number((trg as { n: number }[])[0]!.n)).toBe(0);
    for (const table of ['links', 'cursors', 'outbox', 'record_errors', 'audit_log', 'integrations']) {
      const [n] = await t.conn.query(`SELECT COUNT(*) AS n FROM \`${t.stateDatabase}\`.${table} WHERE integration_uid IN (?, ?)`, [secondUid, adoptedUid]);
      expect(Number((n as { n: number }[])[0]!.n), table).toBe(0);
    }
    const [biz] = await t.conn.query(`SELECT COUNT(*) AS n FROM \`${t.database}\`.contacts`);
    expect(Number((biz as { n: number }[])[0]!.n)).toBe(1);
  });

  describe('bad input', () => {
    it('a postgres:// URL in a mysql target is a spec error naming the Secret reference', async () => {
      const err = await connector({ url: 'postgres://u:secret@db:5432/crm' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetSpecError);
      expect((err as TargetSpecError).field).toBe('spec.target.mysql.connectionSecretRef');
      expect((err as Error).message).toMatch(/mysql:\/\//);
      expect((err as Error).message).not.toContain('secret');
    });

    it('a user without the TRIGGER privilege gets a TargetUnavailable message with the GRANT to run', async () => {
      await contactsTable();
      const user = `hso_${randomBytes(4).toString('hex')}`;
      await t.conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
      try {
        await t.conn.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON \`${t.database}\`.* TO '${user}'@'%'`);
        await t.conn.query(`GRANT ALL ON \`${t.stateDatabase}\`.* TO '${user}'@'%'`);
        const u = new URL(server!);
        u.username = user;
        u.password = 'pw';
        const c = await connector({ url: withDatabase(u.toString(), t.database) });
        await c.register();
        const err = await c.installCapture(contacts()).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TargetUnavailableError);
        expect((err as Error).message).toContain(`GRANT TRIGGER ON \`${t.database}\`.* TO '${user}'@'%'`);
        expect(c.classifyError(err).kind).toBe('unreachable');
      } finally {
        await t.conn.query(`DROP USER IF EXISTS '${user}'@'%'`);
      }
    });

    it('an unreachable server is classified unreachable', async () => {
      const c = await connector({ url: 'mysql://root@127.0.0.1:1/test' });
      const err = await c.register().catch((e: unknown) => e);
      expect(c.classifyError(err).kind).toBe('unreachable');
    });
  });
});

afterAll(async () => {
  // Nothing leaks: every pool and poller was released by close().
  const { mysqlSharedResources } = await import('../../../operator/src/target/mysql/index.js');
  if (server) expect(mysqlSharedResources()).toEqual({ pools: 0, pollers: 0 });
});
