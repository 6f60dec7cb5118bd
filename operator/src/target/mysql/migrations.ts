/**
 * Versioned migrations of the operator's state database on MySQL / MariaDB (mirrors
 * target/postgres/migrations.ts; the MySQL schema starts at version 1 with everything the
 * PostgreSQL one reached in three). DDL commits implicitly in MySQL, so concurrent migrators
 * (two replicas starting at once) are serialised with a named lock (GET_LOCK) held by the
 * session, and every statement is idempotent (IF NOT EXISTS). Only ever append a migration.
 *
 * Types: text keys are VARCHAR with a binary collation (exact, case-sensitive comparisons, as in
 * PostgreSQL), values are JSON, times DATETIME(6) in UTC (every operator session runs in UTC).
 * Indexes are declared inside CREATE TABLE (MySQL 8 has no CREATE INDEX IF NOT EXISTS).
 */
import type { MySqlDb } from './db.js';
import { lockName } from './db.js';
import { bq } from './identifiers.js';

interface Migration {
  version: number;
  name: string;
  up(s: string): string[];
}

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const MYSQL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'links, cursors, outbox, record errors, audit log, integrations',
    up: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.links (
        integration_uid varchar(128) NOT NULL,
        object_type varchar(100) NOT NULL,
        hubspot_id varchar(64) NOT NULL,
        target_key varchar(255) NOT NULL,
        hs_values json NOT NULL,
        tg_values json NOT NULL,
        hs_hash varchar(64),
        tg_hash varchar(64),
        hs_modified datetime(6),
        tg_modified datetime(6),
        deleted_side varchar(16),
        -- Any length (a normalised company name may be long); indexed by its first 191 characters.
        match_key text,
        synced_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (hubspot_id, object_type, integration_uid),
        UNIQUE KEY links_target_key (target_key, object_type, integration_uid),
        KEY links_match_key (match_key(191), object_type, integration_uid),
        KEY links_integration (integration_uid, object_type)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${s}.cursors (
        integration_uid varchar(128) NOT NULL,
        object_type varchar(100) NOT NULL,
        phase varchar(32) NOT NULL,
        watermark_ms bigint,
        last_id varchar(255),
        position text,
        completed boolean NOT NULL DEFAULT false,
        data json NOT NULL,
        updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (integration_uid, object_type, phase)
      ) ${TABLE_OPTIONS}`,
      // The poller reads it by id (primary key range), the drain by (integration, table, id).
      `CREATE TABLE IF NOT EXISTS ${s}.outbox (
        id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
        integration_uid varchar(128) NOT NULL,
        table_name varchar(64) NOT NULL,
        target_key varchar(255) NOT NULL,
        op char(1) NOT NULL,
        captured_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        KEY outbox_order (integration_uid, table_name, id),
        KEY outbox_key (target_key, table_name, integration_uid)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${s}.record_errors (
        integration_uid varchar(128) NOT NULL,
        object_type varchar(100) NOT NULL,
        record_key varchar(300) NOT NULL,
        hubspot_id varchar(64),
        target_key varchar(255),
        direction varchar(16) NOT NULL,
        category varchar(32) NOT NULL,
        message text NOT NULL,
        correlation_id varchar(128),
        first_seen datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        last_seen datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (integration_uid, object_type, record_key),
        KEY record_errors_hubspot_id (hubspot_id),
        KEY record_errors_target_key (target_key)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${s}.audit_log (
        id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
        integration_uid varchar(128) NOT NULL,
        at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        object_type varchar(100) NOT NULL,
        direction varchar(16) NOT NULL,
        operation varchar(32) NOT NULL,
        hubspot_id varchar(64),
        target_key varchar(255),
        outcome varchar(16) NOT NULL,
        category varchar(32),
        message text,
        KEY audit_log_at (at),
        KEY audit_log_integration (integration_uid, at)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${s}.integrations (
        integration_uid varchar(128) NOT NULL PRIMARY KEY,
        namespace varchar(253) NOT NULL,
        name varchar(253) NOT NULL,
        tables json NOT NULL,
        orphaned_at datetime(6),
        updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        KEY integrations_name (namespace, name)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    name: 'per-column capture times (outbox.changed_columns) and record retries (record_errors.attempts, next_attempt_at)',
    up: (s) => [
      // The columns an UPDATE changed (JSON array text); NULL: every column (insert, delete, older rows).
      `ALTER TABLE ${s}.outbox ADD COLUMN changed_columns text NULL`,
      `ALTER TABLE ${s}.record_errors ADD COLUMN attempts int NOT NULL DEFAULT 1,
         ADD COLUMN next_attempt_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
         ADD KEY record_errors_due (integration_uid, object_type, next_attempt_at)`,
    ],
  },
  {
    version: 3,
    name: 'audit_log.fields/changes (spec.audit: changed field names, before/after values); plans (Observe mode)',
    up: (s) => [
      `ALTER TABLE ${s}.audit_log ADD COLUMN fields json NULL, ADD COLUMN changes json NULL`,
      `CREATE TABLE IF NOT EXISTS ${s}.plans (
        integration_uid varchar(128) NOT NULL PRIMARY KEY,
        observed_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        summary json NOT NULL,
        changes json NOT NULL
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 4,
    name: 'webhook_inbox: HubSpot webhook events stored by the receiver before it answers, applied by the worker (DESIGN §2.8)',
    up: (s) => [
      // dedupe_hash: sha256 of webhookDedupeKey (the key itself can exceed an index's length).
      `CREATE TABLE IF NOT EXISTS ${s}.webhook_inbox (
        id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
        integration_uid varchar(128) NOT NULL,
        dedupe_hash char(64) NOT NULL,
        portal_id bigint NOT NULL,
        event_id varchar(40) NOT NULL,
        subscription_id bigint,
        subscription_type varchar(100) NOT NULL,
        object_type varchar(100) NOT NULL,
        event varchar(32) NOT NULL,
        object_id varchar(40),
        property_name varchar(255),
        change_source varchar(64),
        attempt_number int,
        occurred_at datetime(3) NOT NULL,
        payload json NOT NULL,
        received_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        processed_at datetime(6),
        UNIQUE KEY webhook_inbox_dedupe (integration_uid, dedupe_hash),
        KEY webhook_inbox_pending (integration_uid, processed_at, occurred_at, id),
        KEY webhook_inbox_received (integration_uid, received_at),
        KEY webhook_inbox_object (object_id, object_type, integration_uid)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 5,
    name: 'associations: the pairs last synced on both sides and the pending ones (DESIGN 2.7)',
    up: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.association_pairs (
        integration_uid varchar(128) NOT NULL,
        assoc varchar(200) NOT NULL,
        from_id varchar(64) NOT NULL,
        to_id varchar(64) NOT NULL,
        PRIMARY KEY (integration_uid, assoc, from_id, to_id)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${s}.association_pending (
        integration_uid varchar(128) NOT NULL,
        assoc varchar(200) NOT NULL,
        side varchar(16) NOT NULL,
        from_key varchar(191) NOT NULL,
        to_key varchar(191) NOT NULL,
        since datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (integration_uid, assoc, side, from_key, to_key)
      ) ${TABLE_OPTIONS}`,
    ],
  },
];

export const MYSQL_LATEST_VERSION = MYSQL_MIGRATIONS[MYSQL_MIGRATIONS.length - 1]!.version;

/** Create the state database and apply every missing migration. Returns the versions applied now. */
export async function migrateMySql(db: MySqlDb, stateDatabase: string): Promise<number[]> {
  const s = bq(stateDatabase);
  return db.withConnection(async (c) => {
    const lock = lockName(`hubspot_operator.migrate.${stateDatabase}`);
    const got = await c.query<{ ok: number | null }>('SELECT GET_LOCK(?, 50) AS ok', [lock]);
    if (Number(got.rows[0]?.ok) !== 1) throw new Error(`timed out waiting for another operator to migrate database ${stateDatabase}`);
    try {
      await c.query(`CREATE DATABASE IF NOT EXISTS ${s} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version int NOT NULL PRIMARY KEY, name varchar(255) NOT NULL,
           applied_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ${TABLE_OPTIONS}`,
      );
      const done = new Set((await c.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).rows.map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const m of MYSQL_MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const stmt of m.up(s)) await c.query(stmt);
        await c.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES (?, ?)`, [m.version, m.name]);
        applied.push(m.version);
      }
      return applied;
    } finally {
      await c.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => {});
    }
  }, { untimed: true });
}
