/**
 * Versioned migrations of the operator's state schema (DESIGN §3). Applied at engine start,
 * idempotent, and safe when two processes start at once: the whole run holds a transaction
 * advisory lock keyed by the schema name, and each version is recorded in `schema_migrations`.
 * Only ever append a migration; never edit one that shipped.
 */
import type { Db, Queryable } from './db.js';
import { q } from './identifiers.js';

interface Migration {
  version: number;
  name: string;
  up(s: string): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'links, cursors, outbox, record errors, audit log',
    up: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.links (
        integration_uid text NOT NULL,
        object_type text NOT NULL,
        hubspot_id text NOT NULL,
        target_key text NOT NULL,
        hs_values jsonb NOT NULL DEFAULT '{}',
        tg_values jsonb NOT NULL DEFAULT '{}',
        hs_hash text,
        tg_hash text,
        hs_modified timestamptz,
        tg_modified timestamptz,
        -- A tombstone: the record was deleted on one side and the delete was not propagated
        -- (policy Ignore); the survivor is no longer synced and never re-created.
        deleted_side text,
        synced_at timestamptz NOT NULL DEFAULT now(),
        -- The selective column leads every index: lookups by ID stay index lookups even while
        -- the statistics know nothing yet about a new integration's rows.
        PRIMARY KEY (hubspot_id, object_type, integration_uid)
      )`,
      `CREATE UNIQUE INDEX IF NOT EXISTS links_target_key ON ${s}.links (target_key, object_type, integration_uid)`,
      `CREATE TABLE IF NOT EXISTS ${s}.cursors (
        integration_uid text NOT NULL,
        object_type text NOT NULL,
        phase text NOT NULL,
        watermark_ms bigint,
        last_id text,
        position text,
        completed boolean NOT NULL DEFAULT false,
        data jsonb NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration_uid, object_type, phase)
      )`,
      `CREATE TABLE IF NOT EXISTS ${s}.outbox (
        id bigserial PRIMARY KEY,
        integration_uid text NOT NULL,
        table_name text NOT NULL,
        target_key text NOT NULL,
        op char(1) NOT NULL,
        captured_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE INDEX IF NOT EXISTS outbox_order ON ${s}.outbox (integration_uid, table_name, id)`,
      `CREATE INDEX IF NOT EXISTS outbox_key ON ${s}.outbox (target_key, table_name, integration_uid)`,
      `CREATE TABLE IF NOT EXISTS ${s}.record_errors (
        integration_uid text NOT NULL,
        object_type text NOT NULL,
        record_key text NOT NULL,
        hubspot_id text,
        target_key text,
        direction text NOT NULL,
        category text NOT NULL,
        message text NOT NULL,
        correlation_id text,
        first_seen timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration_uid, object_type, record_key)
      )`,
      `CREATE INDEX IF NOT EXISTS record_errors_hubspot_id ON ${s}.record_errors (hubspot_id) WHERE hubspot_id IS NOT NULL`,
      `CREATE INDEX IF NOT EXISTS record_errors_target_key ON ${s}.record_errors (target_key) WHERE target_key IS NOT NULL`,
      `CREATE TABLE IF NOT EXISTS ${s}.audit_log (
        id bigserial PRIMARY KEY,
        integration_uid text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        object_type text NOT NULL,
        direction text NOT NULL,
        operation text NOT NULL,
        hubspot_id text,
        target_key text,
        outcome text NOT NULL,
        category text,
        message text
      )`,
      `CREATE INDEX IF NOT EXISTS audit_log_at ON ${s}.audit_log (at)`,
      `CREATE INDEX IF NOT EXISTS audit_log_integration ON ${s}.audit_log (integration_uid, at)`,
    ],
  },
  {
    version: 2,
    name: 'links.match_key: the normalised match value, indexed, for duplicate checks without scanning the target table',
    up: (s) => [
      `ALTER TABLE ${s}.links ADD COLUMN IF NOT EXISTS match_key text`,
      `CREATE INDEX IF NOT EXISTS links_match_key ON ${s}.links (match_key, object_type, integration_uid) WHERE match_key IS NOT NULL`,
    ],
  },
  {
    version: 3,
    name: 'integrations: namespace/name of each UID, so an integration re-created after deletionPolicy Orphan adopts its state',
    up: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.integrations (
        integration_uid text PRIMARY KEY,
        namespace text NOT NULL,
        name text NOT NULL,
        -- Captured tables (schema, table, primary key), to remove their triggers when adopted.
        tables jsonb NOT NULL DEFAULT '[]',
        orphaned_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX IF NOT EXISTS integrations_name ON ${s}.integrations (namespace, name)`,
    ],
  },
  {
    version: 4,
    name: 'per-column capture times (outbox.changed_columns) and record retries (record_errors.attempts, next_attempt_at)',
    up: (s) => [
      // The columns an UPDATE changed (JSON array); NULL: every column (insert, delete, older rows).
      `ALTER TABLE ${s}.outbox ADD COLUMN IF NOT EXISTS changed_columns jsonb`,
      `ALTER TABLE ${s}.record_errors ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 1`,
      // Errors recorded before this migration are due at once.
      `ALTER TABLE ${s}.record_errors ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz NOT NULL DEFAULT now() + interval '1 minute'`,
      `UPDATE ${s}.record_errors SET next_attempt_at = now()`,
      `CREATE INDEX IF NOT EXISTS record_errors_due ON ${s}.record_errors (integration_uid, object_type, next_attempt_at)`,
    ],
  },
  {
    version: 5,
    name: 'audit_log.fields/changes (spec.audit: changed field names, before/after values); plans (Observe mode)',
    up: (s) => [
      `ALTER TABLE ${s}.audit_log ADD COLUMN IF NOT EXISTS fields jsonb, ADD COLUMN IF NOT EXISTS changes jsonb`,
      `CREATE TABLE IF NOT EXISTS ${s}.plans (
        integration_uid text PRIMARY KEY,
        observed_at timestamptz NOT NULL DEFAULT now(),
        summary jsonb NOT NULL,
        changes jsonb NOT NULL
      )`,
    ],
  },
  {
    version: 6,
    name: 'webhook_inbox: HubSpot webhook events stored by the receiver before it answers, applied by the worker (DESIGN §2.8)',
    up: (s) => [
      // IF NOT EXISTS: the receiver of earlier builds created the same table on first use.
      `CREATE TABLE IF NOT EXISTS ${s}.webhook_inbox (
        id bigserial PRIMARY KEY,
        integration_uid text NOT NULL,
        dedupe_key text NOT NULL,
        portal_id bigint NOT NULL,
        event_id text NOT NULL,
        subscription_id bigint,
        subscription_type text NOT NULL,
        object_type text NOT NULL,
        event text NOT NULL,
        object_id text,
        property_name text,
        change_source text,
        attempt_number integer,
        occurred_at timestamptz NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        UNIQUE (integration_uid, dedupe_key)
      )`,
      `CREATE INDEX IF NOT EXISTS webhook_inbox_pending ON ${s}.webhook_inbox (integration_uid, occurred_at, id) WHERE processed_at IS NULL`,
      `CREATE INDEX IF NOT EXISTS webhook_inbox_received ON ${s}.webhook_inbox (integration_uid, received_at)`,
      `CREATE INDEX IF NOT EXISTS webhook_inbox_object ON ${s}.webhook_inbox (object_id, object_type, integration_uid)`,
    ],
  },
  {
    version: 7,
    name: 'associations: the pairs last synced on both sides and the pending ones (DESIGN 2.7)',
    up: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.association_pairs (
        integration_uid text NOT NULL,
        assoc text NOT NULL,
        from_id text NOT NULL,
        to_id text NOT NULL,
        PRIMARY KEY (integration_uid, assoc, from_id, to_id)
      )`,
      `CREATE TABLE IF NOT EXISTS ${s}.association_pending (
        integration_uid text NOT NULL,
        assoc text NOT NULL,
        side text NOT NULL,
        from_key text NOT NULL,
        to_key text NOT NULL,
        since timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration_uid, assoc, side, from_key, to_key)
      )`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Create the state schema and apply every missing migration. Returns the versions applied now. */
export async function migrate(db: Db, stateSchema: string): Promise<number[]> {
  const s = q(stateSchema);
  return db.transaction(async (tx: Queryable) => {
    // Serialise concurrent migrators of this schema (two operator replicas starting at once).
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hubspot_operator.migrate.${stateSchema}`]);
    // A migration may build an index over a large table: no statement timeout for this transaction.
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await tx.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).rows.map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const stmt of m.up(s)) await tx.query(stmt);
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
