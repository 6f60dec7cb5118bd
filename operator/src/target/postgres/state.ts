/**
 * The operator's state in `stateSchema`, keyed by integration UID (DESIGN §3): links between
 * HubSpot records and target rows (with per-side hashes and canonical values of the last sync),
 * cursors, the change outbox, current per-record errors and the append-only audit log.
 * Bulk writes go through jsonb_to_recordset so a page of 100 records is one statement.
 */
import { type AuditEntry, type AuditQuery, type AuditRow, type Canon, type CursorRow, type DueError, type ErrorGroup, type LinkRow, type OutboxEntry, type OutboxOp, type PendingChange, type RecordError, type StateWriter, type StoredPlan, type StoredWebhookEvent, type SyncDirectionName, webhookDedupeKey, type WebhookEventRow } from '../connector.js';
import { auditFromRow, cursorFromRow, errorGroupFromRow, foldChanges, linkFromRow, msOf, outboxEntryFromRow, planFromRow, recordErrorFromRow, recordErrorRows, type StateRow } from '../state-rows.js';
import { channelFor } from './capture.js';
import type { Db, Queryable } from './db.js';
import { q as quote } from './identifiers.js';

export type { AuditEntry, Canon, CursorRow, ErrorGroup, LinkRow, OutboxEntry, RecordError };

/** The tables keyed by integration UID (besides `integrations`). */
const STATE_TABLES = ['links', 'cursors', 'outbox', 'record_errors', 'audit_log', 'webhook_inbox', 'association_pairs', 'association_pending'] as const;

export interface CapturedTable {
  schema: string;
  table: string;
  primaryKey: string;
}

function iso(msValue: number | undefined): string | null {
  return msValue === undefined || !Number.isFinite(msValue) ? null : new Date(msValue).toISOString();
}

/** The state of one integration, read and written through `q` (the pool, or one transaction). */
export class StateStore implements StateWriter {
  readonly q: Queryable;
  readonly uid: string;
  private readonly s: string;

  constructor(q: Queryable, stateSchema: string, uid: string) {
    this.q = q;
    this.uid = uid;
    this.s = quote(stateSchema);
  }

  // ---- links -------------------------------------------------------------------------------

  async linksByHubSpotIds(objectType: string, ids: string[]): Promise<Map<string, LinkRow>> {
    if (ids.length === 0) return new Map();
    const res = await this.q.query(
      `SELECT * FROM ${this.s}.links WHERE integration_uid = $1 AND object_type = $2 AND hubspot_id = ANY($3::text[])`,
      [this.uid, objectType, ids],
    );
    return new Map(res.rows.map((r) => [String(r.hubspot_id), linkFromRow(r)]));
  }

  async linksByTargetKeys(objectType: string, keys: string[]): Promise<Map<string, LinkRow>> {
    if (keys.length === 0) return new Map();
    const res = await this.q.query(
      `SELECT * FROM ${this.s}.links WHERE integration_uid = $1 AND object_type = $2 AND target_key = ANY($3::text[])`,
      [this.uid, objectType, keys],
    );
    return new Map(res.rows.map((r) => [String(r.target_key), linkFromRow(r)]));
  }

  async upsertLinks(objectType: string, links: LinkRow[]): Promise<void> {
    if (links.length === 0) return;
    const rows = links.map((l) => ({
      hubspot_id: l.hubspotId,
      target_key: l.targetKey,
      hs_values: l.hsValues,
      tg_values: l.tgValues,
      hs_hash: l.hsHash,
      tg_hash: l.tgHash,
      hs_modified: iso(l.hsModified),
      tg_modified: iso(l.tgModified),
      deleted_side: l.deletedSide ?? null,
      match_key: l.matchKey ?? null,
    }));
    const payload = JSON.stringify(rows);
    // A target key re-linked to another HubSpot record (e.g. records merged in HubSpot) drops its old link.
    // `target_key = ANY` keeps this an index lookup (a join with the recordset would scan all links).
    await this.q.query(
      `DELETE FROM ${this.s}.links l
        WHERE l.integration_uid = $1 AND l.object_type = $2 AND l.target_key = ANY($3::text[])
          AND (l.target_key, l.hubspot_id) NOT IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
      [this.uid, objectType, links.map((l) => l.targetKey), links.map((l) => l.hubspotId)],
    );
    await this.q.query(
      `INSERT INTO ${this.s}.links AS l (integration_uid, object_type, hubspot_id, target_key, hs_values, tg_values, hs_hash, tg_hash, hs_modified, tg_modified, deleted_side, match_key, synced_at)
       SELECT $1, $2, x.hubspot_id, x.target_key, x.hs_values, x.tg_values, x.hs_hash, x.tg_hash, x.hs_modified, x.tg_modified, x.deleted_side, x.match_key, now()
         FROM jsonb_to_recordset($3::jsonb) AS x(hubspot_id text, target_key text, hs_values jsonb, tg_values jsonb, hs_hash text, tg_hash text,
                                                  hs_modified timestamptz, tg_modified timestamptz, deleted_side text, match_key text)
       ON CONFLICT (integration_uid, object_type, hubspot_id) DO UPDATE SET
         target_key = EXCLUDED.target_key, hs_values = EXCLUDED.hs_values, tg_values = EXCLUDED.tg_values,
         hs_hash = EXCLUDED.hs_hash, tg_hash = EXCLUDED.tg_hash, hs_modified = EXCLUDED.hs_modified,
         tg_modified = EXCLUDED.tg_modified, deleted_side = EXCLUDED.deleted_side, match_key = EXCLUDED.match_key, synced_at = now()`,
      [this.uid, objectType, payload],
    );
  }

  /** Live links whose normalised match value is one of `keys`. */
  async linksByMatchKeys(objectType: string, keys: string[]): Promise<LinkRow[]> {
    if (keys.length === 0) return [];
    const res = await this.q.query(
      `SELECT * FROM ${this.s}.links WHERE integration_uid = $1 AND object_type = $2 AND match_key = ANY($3::text[]) AND deleted_side IS NULL`,
      [this.uid, objectType, keys],
    );
    return res.rows.map((r) => linkFromRow(r));
  }

  async deleteLinks(objectType: string, hubspotIds: string[]): Promise<void> {
    if (hubspotIds.length === 0) return;
    await this.q.query(`DELETE FROM ${this.s}.links WHERE integration_uid = $1 AND object_type = $2 AND hubspot_id = ANY($3::text[])`, [
      this.uid,
      objectType,
      hubspotIds,
    ]);
  }

  async countLinks(objectType: string): Promise<number> {
    const r = await this.q.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${this.s}.links WHERE integration_uid = $1 AND object_type = $2 AND deleted_side IS NULL`,
      [this.uid, objectType],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  // ---- cursors -----------------------------------------------------------------------------

  async getCursor(objectType: string, phase: string): Promise<CursorRow | undefined> {
    const r = await this.q.query(`SELECT * FROM ${this.s}.cursors WHERE integration_uid = $1 AND object_type = $2 AND phase = $3`, [
      this.uid,
      objectType,
      phase,
    ]);
    const row = r.rows[0];
    if (!row) return undefined;
    return cursorFromRow(row);
  }

  async setCursor(objectType: string, phase: string, c: CursorRow): Promise<void> {
    await this.q.query(
      `INSERT INTO ${this.s}.cursors (integration_uid, object_type, phase, watermark_ms, last_id, position, completed, data, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, now())
       ON CONFLICT (integration_uid, object_type, phase) DO UPDATE SET watermark_ms = EXCLUDED.watermark_ms, last_id = EXCLUDED.last_id,
         position = EXCLUDED.position, completed = EXCLUDED.completed, data = EXCLUDED.data, updated_at = now()`,
      [this.uid, objectType, phase, c.watermarkMs ?? null, c.lastId ?? null, c.position ?? null, c.completed, JSON.stringify(c.data)],
    );
  }

  async deleteCursor(objectType: string, phase: string): Promise<void> {
    await this.q.query(`DELETE FROM ${this.s}.cursors WHERE integration_uid = $1 AND object_type = $2 AND phase = $3`, [this.uid, objectType, phase]);
  }

  // ---- outbox ------------------------------------------------------------------------------

  /** The oldest captured keys of a table, coalesced: one entry per key with its last operation. */
  async nextOutboxBatch(table: string, limit: number, objectType?: string): Promise<OutboxEntry[]> {
    // Keys whose target → HubSpot retry is not due yet wait in the outbox (DESIGN §3 "Convergence").
    const notDue =
      objectType === undefined
        ? ''
        : `AND NOT EXISTS (SELECT 1 FROM ${this.s}.record_errors e WHERE e.integration_uid = $1 AND e.object_type = $5
             AND e.target_key = x.target_key AND e.direction = 'toHubSpot' AND e.next_attempt_at > now()
             -- a change captured after the failure goes at once (the operator's own R rows do not)
             AND (x.op = 'R' OR x.captured_at <= e.last_seen))`;
    const r = await this.q.query<{ target_key: string; max_id: string; last_op: string; first_at: unknown; last_at: unknown }>(
      `WITH head AS (
         SELECT target_key, min(id) AS first_id FROM (
           SELECT id, target_key FROM ${this.s}.outbox x WHERE integration_uid = $1 AND table_name = $2 ${notDue} ORDER BY id LIMIT $4
         ) h GROUP BY target_key ORDER BY min(id) LIMIT $3
       )
       SELECT o.target_key, max(o.id)::text AS max_id, (array_agg(o.op ORDER BY o.id DESC))[1] AS last_op,
              min(o.captured_at) AS first_at, max(o.captured_at) AS last_at
         FROM ${this.s}.outbox o JOIN head USING (target_key)
        WHERE o.integration_uid = $1 AND o.table_name = $2
        GROUP BY o.target_key ORDER BY min(o.id)`,
      objectType === undefined ? [this.uid, table, limit, limit * 10] : [this.uid, table, limit, limit * 10, objectType],
    );
    const entries = r.rows.map(outboxEntryFromRow);
    const changes = await this.changesOf(table, entries.map((e) => e.key), Math.max(0, ...entries.map((e) => Number(e.maxId))));
    for (const e of entries) {
      const c = changes.get(e.key);
      if (c) Object.assign(e, c);
    }
    return entries;
  }

  /** Per key and per column, when the table changed it (captured rows only, never R), up to maxId. */
  private async changesOf(table: string, keys: string[], maxId?: number) {
    if (keys.length === 0) return new Map<string, { lastChangedMs: number; columnChangedMs: Record<string, number> }>();
    const r = await this.q.query(
      `SELECT target_key, captured_at, changed_columns FROM ${this.s}.outbox
        WHERE integration_uid = $1 AND table_name = $2 AND target_key = ANY($3::text[]) AND op <> 'R' AND ($4::bigint IS NULL OR id <= $4)`,
      [this.uid, table, keys, maxId ?? null],
    );
    return foldChanges(r.rows);
  }

  /** Pending outbox entries for some keys (the HubSpot → target pass leaves rows deleted in the target to the push pass). */
  async outboxFor(table: string, keys: string[]): Promise<PendingChange[]> {
    if (keys.length === 0) return [];
    const r = await this.q.query<{ target_key: string; last_at: unknown }>(
      `SELECT target_key, max(captured_at) AS last_at FROM ${this.s}.outbox
        WHERE integration_uid = $1 AND table_name = $2 AND target_key = ANY($3::text[]) GROUP BY target_key`,
      [this.uid, table, keys],
    );
    const changes = await this.changesOf(table, keys);
    return r.rows.map((row) => ({ key: row.target_key, lastCapturedMs: msOf(row.last_at) ?? Date.now(), columnChangedMs: {}, ...changes.get(row.target_key) }));
  }

  /** Remove the outbox rows an applied batch covered (rows captured since stay). */
  async ackOutbox(table: string, entries: { key: string; maxId: string }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.q.query(
      `DELETE FROM ${this.s}.outbox o USING unnest($3::text[], $4::bigint[]) AS k(key, max_id)
        WHERE o.integration_uid = $1 AND o.table_name = $2 AND o.target_key = k.key AND o.id <= k.max_id`,
      [this.uid, table, entries.map((e) => e.key), entries.map((e) => e.maxId)],
    );
  }

  async enqueue(table: string, keys: string[], op: OutboxOp): Promise<void> {
    if (keys.length === 0) return;
    await this.q.query(
      `INSERT INTO ${this.s}.outbox (integration_uid, table_name, target_key, op) SELECT $1, $2, k, $4 FROM unnest($3::text[]) AS k`,
      [this.uid, table, keys, op],
    );
  }

  async pendingChanges(table: string): Promise<number> {
    const r = await this.q.query<{ n: string }>(
      `SELECT count(DISTINCT target_key)::text AS n FROM ${this.s}.outbox WHERE integration_uid = $1 AND table_name = $2`,
      [this.uid, table],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Age in seconds of the oldest unapplied change of this integration (0 when none). */
  async syncLagSeconds(): Promise<number> {
    const r = await this.q.query<{ age: string | null }>(
      `SELECT extract(epoch FROM now() - min(captured_at))::text AS age FROM ${this.s}.outbox WHERE integration_uid = $1`,
      [this.uid],
    );
    const age = Number(r.rows[0]?.age ?? 0);
    return Number.isFinite(age) && age > 0 ? age : 0;
  }

  // ---- record errors -----------------------------------------------------------------------

  async recordErrors(errors: RecordError[]): Promise<void> {
    if (errors.length === 0) return;
    // One row per record: the latest failure wins (first_seen is kept).
    const dedup = recordErrorRows(errors);
    await this.q.query(
      `INSERT INTO ${this.s}.record_errors AS e (integration_uid, object_type, record_key, hubspot_id, target_key, direction, category, message, correlation_id)
       SELECT $1, x.object_type, x.record_key, x.hubspot_id, x.target_key, x.direction, x.category, x.message, x.correlation_id
         FROM jsonb_to_recordset($2::jsonb) AS x(object_type text, record_key text, hubspot_id text, target_key text, direction text,
                                                  category text, message text, correlation_id text)
       ON CONFLICT (integration_uid, object_type, record_key) DO UPDATE SET hubspot_id = coalesce(EXCLUDED.hubspot_id, e.hubspot_id),
         target_key = coalesce(EXCLUDED.target_key, e.target_key), direction = EXCLUDED.direction, category = EXCLUDED.category,
         message = EXCLUDED.message, correlation_id = EXCLUDED.correlation_id, last_seen = now(),
         attempts = e.attempts + 1,
         next_attempt_at = now() + make_interval(secs => least(60 * power(2, least(e.attempts, 10)), 3600))`,
      [this.uid, JSON.stringify(dedup)],
    );
  }

  /**
   * A record synced in one direction: forget its errors of that direction (matched by either
   * ID); `direction` undefined forgets both (the record is gone).
   */
  async clearErrors(objectType: string, hubspotIds: string[], targetKeys: string[], direction?: SyncDirectionName): Promise<void> {
    if (hubspotIds.length === 0 && targetKeys.length === 0) return;
    await this.q.query(
      `DELETE FROM ${this.s}.record_errors WHERE integration_uid = $1 AND object_type = $2
          AND (hubspot_id = ANY($3::text[]) OR target_key = ANY($4::text[])) AND ($5::text IS NULL OR direction = $5)`,
      [this.uid, objectType, hubspotIds, targetKeys, direction ?? null],
    );
  }

  async retryErrorsNow(): Promise<void> {
    await this.q.query(`UPDATE ${this.s}.record_errors SET next_attempt_at = now() WHERE integration_uid = $1 AND next_attempt_at > now()`, [this.uid]);
  }

  async dueErrors(objectType: string, limit: number): Promise<DueError[]> {
    const r = await this.q.query<{ hubspot_id: string | null; target_key: string | null; direction: string }>(
      `SELECT hubspot_id, target_key, direction FROM ${this.s}.record_errors
        WHERE integration_uid = $1 AND object_type = $2 AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $3`,
      [this.uid, objectType, limit],
    );
    return r.rows.map((row) => ({ hubspotId: row.hubspot_id ?? undefined, targetKey: row.target_key ?? undefined, direction: row.direction as SyncDirectionName }));
  }

  async errorGroups(): Promise<ErrorGroup[]> {
    const r = await this.q.query<{ category: string; records: string; message: string; last_seen: unknown }>(
      `SELECT category, count(*)::text AS records, (array_agg(message ORDER BY last_seen DESC))[1] AS message, max(last_seen) AS last_seen
         FROM ${this.s}.record_errors WHERE integration_uid = $1 GROUP BY category ORDER BY count(*) DESC, category`,
      [this.uid],
    );
    return r.rows.map(errorGroupFromRow);
  }

  async listErrors(limit = 1000): Promise<(RecordError & { firstSeen: string; lastSeen: string })[]> {
    const r = await this.q.query(
      `SELECT * FROM ${this.s}.record_errors WHERE integration_uid = $1 ORDER BY last_seen DESC LIMIT $2`,
      [this.uid, limit],
    );
    return r.rows.map(recordErrorFromRow);

  }

  // ---- audit log ---------------------------------------------------------------------------

  async audit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => ({
      object_type: e.objectType,
      direction: e.direction,
      operation: e.operation,
      hubspot_id: e.hubspotId ?? null,
      target_key: e.targetKey ?? null,
      outcome: e.outcome,
      category: e.category ?? null,
      message: e.message ?? null,
      fields: e.fields ?? null,
      changes: e.values ?? null,
    }));
    await this.q.query(
      `INSERT INTO ${this.s}.audit_log (integration_uid, object_type, direction, operation, hubspot_id, target_key, outcome, category, message, fields, changes)
       SELECT $1, x.object_type, x.direction, x.operation, x.hubspot_id, x.target_key, x.outcome, x.category, x.message, x.fields, x.changes
         FROM jsonb_to_recordset($2::jsonb) AS x(object_type text, direction text, operation text, hubspot_id text, target_key text,
                                                  outcome text, category text, message text, fields jsonb, changes jsonb)`,
      [this.uid, JSON.stringify(rows)],
    );
  }

  async listAudit(f: AuditQuery): Promise<AuditRow[]> {
    const r = await this.q.query<StateRow>(
      `SELECT * FROM (
         SELECT id, at, object_type, direction, operation, hubspot_id, target_key, outcome, category, message, fields, changes
           FROM ${this.s}.audit_log
          WHERE integration_uid = $1 AND ($2::timestamptz IS NULL OR at >= $2)
            AND ($3::text IS NULL OR ($4::text IS DISTINCT FROM 'target' AND hubspot_id = $3) OR ($4::text IS DISTINCT FROM 'hubspot' AND target_key = $3))
            AND ($5::text IS NULL OR object_type = $5)
          ORDER BY at DESC, id DESC LIMIT $6) newest
       ORDER BY at, id`,
      [this.uid, f.since?.toISOString() ?? null, f.record ?? null, f.side ?? null, f.objectType ?? null, f.limit ?? 1000],
    );
    return r.rows.map(auditFromRow);
  }

  async getPlan(): Promise<StoredPlan | undefined> {
    const r = await this.q.query<StateRow>(`SELECT observed_at, summary, changes FROM ${this.s}.plans WHERE integration_uid = $1`, [this.uid]);
    return r.rows[0] ? planFromRow(r.rows[0]) : undefined;
  }

  // ---- the webhook inbox ---------------------------------------------------------------------

  async storeWebhookEvents(events: WebhookEventRow[]): Promise<number> {
    if (events.length === 0) return 0;
    const rows = events.map((e) => ({
      dedupe_key: webhookDedupeKey(e),
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
    const r = await this.q.query(
      `INSERT INTO ${this.s}.webhook_inbox (integration_uid, dedupe_key, portal_id, event_id, subscription_id, subscription_type, object_type, event,
         object_id, property_name, change_source, attempt_number, occurred_at, payload)
       SELECT $1, x.dedupe_key, x.portal_id, x.event_id, x.subscription_id, x.subscription_type, x.object_type, x.event,
         x.object_id, x.property_name, x.change_source, x.attempt_number, x.occurred_at, x.payload
       FROM jsonb_to_recordset($2::jsonb) AS x(dedupe_key text, portal_id bigint, event_id text, subscription_id bigint, subscription_type text,
         object_type text, event text, object_id text, property_name text, change_source text, attempt_number integer,
         occurred_at timestamptz, payload jsonb)
       ORDER BY x.occurred_at
       ON CONFLICT (integration_uid, dedupe_key) DO NOTHING`,
      [this.uid, JSON.stringify(rows)],
    );
    const n = r.rowCount ?? 0;
    // Delivered at commit: wakes the leader's worker even when a standby stored the events.
    if (n > 0) await this.q.query('SELECT pg_notify($1, $2)', [channelFor(this.uid), 'webhook_inbox']);
    return n;
  }

  async pendingWebhookEvents(limit = 1000): Promise<StoredWebhookEvent[]> {
    const r = await this.q.query(
      `SELECT id::text AS id, event_id, subscription_type, object_type, event, object_id, property_name, occurred_at, attempt_number, payload
         FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND processed_at IS NULL ORDER BY occurred_at, id LIMIT $2`,
      [this.uid, limit],
    );
    return r.rows.map((x) => ({
      id: String(x.id),
      eventId: String(x.event_id),
      subscriptionType: String(x.subscription_type),
      objectType: String(x.object_type),
      kind: String(x.event),
      objectId: (x.object_id as string | null) ?? null,
      propertyName: (x.property_name as string | null) ?? null,
      occurredAt: new Date(x.occurred_at as string | Date),
      attemptNumber: (x.attempt_number as number | null) ?? null,
      payload: (typeof x.payload === 'string' ? JSON.parse(x.payload) : x.payload) as Record<string, unknown>,
    }));
  }

  async webhookStats(): Promise<{ lastEventTime?: string; eventsLast24h: number }> {
    const r = await this.q.query(
      `SELECT (SELECT max(occurred_at) FROM ${this.s}.webhook_inbox WHERE integration_uid = $1) AS last,
              (SELECT count(*) FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND received_at > now() - interval '24 hours')::text AS n`,
      [this.uid],
    );
    const row = r.rows[0] ?? {};
    const last = row.last ? new Date(row.last as string | Date).toISOString() : undefined;
    return { ...(last ? { lastEventTime: last } : {}), eventsLast24h: Number(row.n ?? 0) };
  }

  async ackWebhookEvents(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.q.query(`UPDATE ${this.s}.webhook_inbox SET processed_at = now() WHERE integration_uid = $1 AND id = ANY($2::bigint[]) AND processed_at IS NULL`, [this.uid, ids]);
  }

  async forgetWebhookEvents(objectType: string, objectIds: string[]): Promise<void> {
    if (objectIds.length === 0) return;
    await this.q.query(`DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND object_type = $2 AND object_id = ANY($3::text[])`, [this.uid, objectType, objectIds]);
  }

  async pruneWebhookEvents(olderThanMs: number): Promise<number> {
    const r = await this.q.query(
      `DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = $1 AND processed_at IS NOT NULL AND received_at < now() - ($2::text || ' milliseconds')::interval`,
      [this.uid, String(olderThanMs)],
    );
    return r.rowCount ?? 0;
  }
}

/** The integration-wide state operations that run on their own (transactions, maintenance). */
export class StateAdmin {
  readonly db: Db;
  readonly uid: string;
  private readonly s: string;

  constructor(db: Db, stateSchema: string, uid: string) {
    this.db = db;
    this.uid = uid;
    this.s = quote(stateSchema);
  }

  /** Drop audit entries older than the retention (bounded per call so a cycle never stalls on it). */
  async pruneAudit(retentionSeconds: number, maxRows = 50_000): Promise<number> {
    const r = await this.db.query(
      `DELETE FROM ${this.s}.audit_log WHERE id IN (
         SELECT id FROM ${this.s}.audit_log WHERE integration_uid = $3 AND at < now() - make_interval(secs => $1::double precision) ORDER BY at LIMIT $2)`,
      [Math.max(0, retentionSeconds), maxRows, this.uid],
    );
    return r.rowCount;
  }

  async savePlan(plan: StoredPlan): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.s}.plans (integration_uid, observed_at, summary, changes) VALUES ($1, $2, $3::jsonb, $4::jsonb)
       ON CONFLICT (integration_uid) DO UPDATE SET observed_at = EXCLUDED.observed_at, summary = EXCLUDED.summary, changes = EXCLUDED.changes`,
      [this.uid, plan.observedAt, JSON.stringify(plan.objects), JSON.stringify(plan.changes)],
    );
  }

  /** Refresh planner statistics of the state tables after bulk changes (an import), so joins with them stay index-driven. */
  async analyze(): Promise<void> {
    for (const t of ['links', 'outbox']) await this.db.query(`ANALYZE ${this.s}.${quote(t)}`);
  }

  // ---- integration identity, orphaning and adoption ----------------------------------------

  /**
   * Register this integration (namespace/name ↔ UID). When it is new and an integration of the
   * same namespace/name was deleted with deletionPolicy Orphan, adopt that one's state: links,
   * cursors and the changes captured meanwhile move to this UID. Returns the adopted
   * integration's UID and captured tables (their old triggers must be removed), if any.
   */
  async register(namespace: string, name: string): Promise<{ adoptedUid: string; tables: CapturedTable[] } | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hubspot_operator.register.${namespace}/${name}`]);
      const me = await tx.query(`SELECT 1 FROM ${this.s}.integrations WHERE integration_uid = $1`, [this.uid]);
      let adopted: { adoptedUid: string; tables: CapturedTable[] } | undefined;
      if (me.rows.length === 0) {
        const old = await tx.query<{ integration_uid: string; tables: unknown }>(
          `SELECT integration_uid, tables FROM ${this.s}.integrations WHERE namespace = $1 AND name = $2 AND orphaned_at IS NOT NULL
            ORDER BY orphaned_at DESC LIMIT 1`,
          [namespace, name],
        );
        const row = old.rows[0];
        if (row) {
          // The orphan's webhook events are not adopted: HubSpot re-sends nothing, polling catches up.
          await tx.query(`DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = $1`, [row.integration_uid]);
          for (const t of STATE_TABLES) {
            if (t === 'webhook_inbox') continue;
            await tx.query(`UPDATE ${this.s}.${quote(t)} SET integration_uid = $1 WHERE integration_uid = $2`, [this.uid, row.integration_uid]);
          }
          await tx.query(`DELETE FROM ${this.s}.integrations WHERE integration_uid = $1`, [row.integration_uid]);
          const tables = (typeof row.tables === 'string' ? JSON.parse(row.tables) : row.tables) as CapturedTable[];
          adopted = { adoptedUid: row.integration_uid, tables };
        }
      }
      await tx.query(
        `INSERT INTO ${this.s}.integrations (integration_uid, namespace, name) VALUES ($1, $2, $3)
         ON CONFLICT (integration_uid) DO UPDATE SET namespace = EXCLUDED.namespace, name = EXCLUDED.name, orphaned_at = NULL, updated_at = now()`,
        [this.uid, namespace, name],
      );
      return adopted;
    });
  }

  async recordCapturedTable(t: CapturedTable): Promise<void> {
    await this.db.query(
      `UPDATE ${this.s}.integrations SET tables = (
         SELECT coalesce(jsonb_agg(DISTINCT x), '[]'::jsonb) FROM jsonb_array_elements(tables || jsonb_build_array($2::jsonb)) AS x), updated_at = now()
        WHERE integration_uid = $1`,
      [this.uid, JSON.stringify(t)],
    );
  }

  /** deletionPolicy Orphan: keep everything (triggers keep capturing) for a re-created integration to adopt. */
  async markOrphaned(): Promise<void> {
    await this.db.query(`UPDATE ${this.s}.integrations SET orphaned_at = now(), updated_at = now() WHERE integration_uid = $1`, [this.uid]);
  }

  /** Remove every state row of this integration (deletionPolicy Delete). */
  async deleteAll(): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const t of [...STATE_TABLES, 'plans', 'integrations']) {
        await tx.query(`DELETE FROM ${this.s}.${quote(t)} WHERE integration_uid = $1`, [this.uid]);
      }
    });
  }
}
