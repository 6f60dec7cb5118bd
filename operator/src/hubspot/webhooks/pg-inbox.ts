/**
 * The webhook inbox in PostgreSQL: one table `webhook_inbox` in the integration's state schema.
 * Built on a `pg`-like query function only, so it can move behind the target connector as is.
 *
 * - Durable: `store` is one INSERT statement (atomic); when it resolves the events are committed.
 * - Duplicates dropped: a unique key per integration over (portal, eventId, subscriptionType,
 *   objectId, propertyName) — a redelivery carries the same values (only attemptNumber differs),
 *   and a reused eventId for another object or property is still kept. ON CONFLICT DO NOTHING.
 * - Ordered: consumers read `occurred_at, id` (HubSpot's occurredAt, then arrival).
 * - No personal values: the payload is the event minus propertyValue (see InboxEvent).
 */
import type { InboxEvent, WebhookInbox } from './events.js';

/** Same rule as spec.target.postgres.stateSchema (kept local: this module depends on nothing of target/). */
function checkIdentifier(value: string, field: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) throw new Error(`${field}: ${JSON.stringify(value)} is not a valid SQL identifier; expected lower-case letters, digits and underscores`);
  return value;
}

export type QueryFn = (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[]; rowCount?: number | null }>;

export function inboxDdl(schema: string): string[] {
  const s = `"${checkIdentifier(schema, 'stateSchema')}"`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
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
  ];
}

export function dedupeKey(e: InboxEvent): string {
  return [e.portalId, e.eventId, e.subscriptionType, e.objectId ?? '', e.propertyName ?? ''].join(':');
}

export interface StoredInboxRow {
  id: string;
  eventId: string;
  subscriptionType: string;
  objectType: string;
  event: string;
  objectId: string | null;
  propertyName: string | null;
  occurredAt: Date;
  attemptNumber: number | null;
  payload: Record<string, unknown>;
}

export class PgWebhookInbox implements WebhookInbox {
  private readonly query: QueryFn;
  private readonly s: string;
  private readonly schema: string;
  private ensured?: Promise<void>;
  private readonly autoCreate: boolean;

  /** autoCreate (default true): create the table on first use (else the connector's migrations do). */
  constructor(o: { query: QueryFn; stateSchema: string; autoCreate?: boolean }) {
    this.query = o.query;
    this.schema = checkIdentifier(o.stateSchema, 'stateSchema');
    this.s = `"${this.schema}"`;
    this.autoCreate = o.autoCreate ?? true;
  }

  ensureTable(): Promise<void> {
    this.ensured ??= (async () => {
      for (const sql of inboxDdl(this.schema)) {
        try {
          await this.query(sql);
        } catch (err) {
          // Two replicas creating the same object at once: one wins, the other sees a duplicate; retry once.
          const code = (err as { code?: string }).code;
          if (code !== '23505' && code !== '42P07') throw err;
          await this.query(sql);
        }
      }
    })().catch((err) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  /** Stores the events in one statement; returns how many were new (duplicates dropped). */
  async storeCounting(integrationKey: string, events: InboxEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    if (this.autoCreate) await this.ensureTable();
    const rows = events.map((e) => ({
      dedupe_key: dedupeKey(e),
      portal_id: e.portalId,
      event_id: e.eventId,
      subscription_id: e.subscriptionId,
      subscription_type: e.subscriptionType,
      object_type: e.objectType,
      event: e.kind,
      object_id: e.objectId,
      property_name: e.propertyName,
      change_source: e.changeSource,
      attempt_number: e.attemptNumber,
      occurred_at: e.occurredAt.toISOString(),
      payload: e.payload,
    }));
    const r = await this.query(
      `INSERT INTO ${this.s}.webhook_inbox (integration_uid, dedupe_key, portal_id, event_id, subscription_id, subscription_type, object_type, event,
         object_id, property_name, change_source, attempt_number, occurred_at, payload)
       SELECT $1, x.dedupe_key, x.portal_id, x.event_id, x.subscription_id, x.subscription_type, x.object_type, x.event,
         x.object_id, x.property_name, x.change_source, x.attempt_number, x.occurred_at, x.payload
       FROM jsonb_to_recordset($2::jsonb) AS x(dedupe_key text, portal_id bigint, event_id text, subscription_id bigint, subscription_type text,
         object_type text, event text, object_id text, property_name text, change_source text, attempt_number integer,
         occurred_at timestamptz, payload jsonb)
       ORDER BY x.occurred_at
       ON CONFLICT (integration_uid, dedupe_key) DO NOTHING`,
      [integrationKey, JSON.stringify(rows)],
    );
    return r.rowCount ?? 0;
  }

  async store(integrationKey: string, events: InboxEvent[]): Promise<void> {
    await this.storeCounting(integrationKey, events);
  }

  /** Unprocessed events of an integration in HubSpot's order (occurredAt, then arrival). */
  async pending(integrationKey: string, limit = 1000): Promise<StoredInboxRow[]> {
    if (this.autoCreate) await this.ensureTable();
    const r = await this.query(
      `SELECT id::text, event_id, subscription_type, object_type, event, object_id, property_name, occurred_at, attempt_number, payload
         FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND processed_at IS NULL ORDER BY occurred_at, webhook_inbox.id LIMIT $2`,
      [integrationKey, limit],
    );
    return r.rows.map((x) => ({
      id: x.id as string,
      eventId: x.event_id as string,
      subscriptionType: x.subscription_type as string,
      objectType: x.object_type as string,
      event: x.event as string,
      objectId: (x.object_id as string | null) ?? null,
      propertyName: (x.property_name as string | null) ?? null,
      occurredAt: new Date(x.occurred_at as string | Date),
      attemptNumber: (x.attempt_number as number | null) ?? null,
      payload: (typeof x.payload === 'string' ? JSON.parse(x.payload) : x.payload) as Record<string, unknown>,
    }));
  }

  /** status.webhooks from the table (every replica's intake): newest occurredAt and events received in the last 24 h. */
  async stats(integrationKey: string): Promise<{ lastEventTime?: string; eventsLast24h: number }> {
    if (this.autoCreate) await this.ensureTable();
    const r = await this.query(
      `SELECT (SELECT max(occurred_at) FROM ${this.s}.webhook_inbox WHERE integration_uid = $1) AS last,
              (SELECT count(*) FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND received_at > now() - interval '24 hours')::text AS n`,
      [integrationKey],
    );
    const row = r.rows[0] ?? {};
    const last = row.last ? new Date(row.last as string | Date).toISOString() : undefined;
    return { ...(last ? { lastEventTime: last } : {}), eventsLast24h: Number(row.n ?? 0) };
  }

  /** Deletes processed events older than `olderThanMs` (default 24 h, what eventsLast24h counts). */
  async prune(integrationKey: string, olderThanMs = 24 * 60 * 60 * 1000): Promise<number> {
    const r = await this.query(
      `DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND processed_at IS NOT NULL AND received_at < now() - ($2::text || ' milliseconds')::interval`,
      [integrationKey, String(olderThanMs)],
    );
    return r.rowCount ?? 0;
  }
}

export interface InboxLocation {
  /** Connection URL of the integration's database. */
  url: string;
  stateSchema: string;
}

/**
 * One inbox for the whole receiver: finds each integration's database and state schema
 * (`locate`, from the informer caches) and keeps one small pool per database (2 connections,
 * closed when idle), so a standby that never receives a delivery opens no connection.
 */
export interface PgInboxRouter extends WebhookInbox {
  /** PgWebhookInbox.stats of the integration's inbox (undefined when it has no PostgreSQL target). */
  stats(integrationKey: string): Promise<{ lastEventTime?: string; eventsLast24h: number } | undefined>;
  close(): Promise<void>;
}

export async function createPgInboxRouter(locate: (integrationKey: string) => InboxLocation | undefined): Promise<PgInboxRouter> {
  const pg = (await import('pg')).default;
  const pools = new Map<string, InstanceType<typeof pg.Pool>>();
  const inboxes = new Map<string, PgWebhookInbox>();
  const inboxFor = (key: string): PgWebhookInbox | undefined => {
    const loc = locate(key);
    if (!loc) return undefined;
    let pool = pools.get(loc.url);
    if (!pool) {
      pool = new pg.Pool({ connectionString: loc.url, max: 2, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 3000 });
      pool.on('error', () => undefined);
      pools.set(loc.url, pool);
    }
    const id = `${loc.url}\u0000${loc.stateSchema}`;
    let inbox = inboxes.get(id);
    if (!inbox) {
      const p = pool;
      inboxes.set(id, (inbox = new PgWebhookInbox({ query: (sql, params) => p.query(sql, params), stateSchema: loc.stateSchema })));
    }
    return inbox;
  };
  return {
    async store(key, events) {
      const inbox = inboxFor(key);
      if (!inbox) throw new Error(`integration ${key} has no PostgreSQL target to store webhook events in`);
      await inbox.store(key, events);
    },
    async stats(key) {
      return inboxFor(key)?.stats(key);
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end().catch(() => undefined)));
      pools.clear();
      inboxes.clear();
    },
  };
}
