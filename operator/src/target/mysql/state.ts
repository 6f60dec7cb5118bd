/**
 * The operator's state on MySQL / MariaDB, in `stateDatabase`, keyed by integration UID
 * (mirrors target/postgres/state.ts): links, cursors, the change outbox, current per-record
 * errors, the audit log and the integrations registry. Bulk writes are one multi-row statement
 * per page (INSERT … VALUES (…), (…) ON DUPLICATE KEY UPDATE); lists travel as `IN (?)`.
 */
import { type AuditEntry, type AuditQuery, type AuditRow, type CursorRow, type DueError, type ErrorGroup, type LinkRow, type OutboxEntry, type OutboxOp, type PendingChange, type RecordError, type StateWriter, type StoredPlan, type StoredWebhookEvent, type SyncDirectionName, webhookDedupeKey, type WebhookEventRow } from '../connector.js';
import { createHash } from 'node:crypto';
import {
  auditFromRow,
  cursorFromRow,
  foldChanges,
  errorGroupFromRow,
  jsonOf,
  linkFromRow,
  msOf,
  outboxEntryFromRow,
  recordErrorFromRow,
  recordErrorRows,
  planFromRow,
  type StateRow,
} from '../state-rows.js';
import type { MySqlDb, MySqlQueryable } from './db.js';
import { bq } from './identifiers.js';

/** A table whose changes an integration captures (kept in `integrations.tables`, for adoption and cleanup). */
export interface CapturedTable {
  schema: string;
  table: string;
  primaryKey: string;
}

const STATE_TABLES = ['links', 'cursors', 'outbox', 'record_errors', 'audit_log', 'webhook_inbox', 'association_pairs', 'association_pending'] as const;

function dt(msValue: number | undefined): Date | null {
  return msValue === undefined || !Number.isFinite(msValue) ? null : new Date(msValue);
}

/** `(?, ?, …), (…)` for `rows` tuples of `width` placeholders. */
function tuples(rows: number, width: number): string {
  const one = `(${new Array(width).fill('?').join(', ')})`;
  return new Array(rows).fill(one).join(', ');
}

/**
 * The state of one integration seen through one queryable: the pool (committed reads, as
 * `connector.state`) or a transaction's connection (`tx.state`, reads and writes).
 */
export class MySqlState implements StateWriter {
  private readonly q: MySqlQueryable;
  readonly uid: string;
  private readonly s: string;

  constructor(q: MySqlQueryable, stateDatabase: string, uid: string) {
    this.q = q;
    this.uid = uid;
    this.s = bq(stateDatabase);
  }

  // ---- links -------------------------------------------------------------------------------

  async linksByHubSpotIds(objectType: string, ids: string[]): Promise<Map<string, LinkRow>> {
    if (ids.length === 0) return new Map();
    const res = await this.q.query(`SELECT * FROM ${this.s}.links WHERE integration_uid = ? AND object_type = ? AND hubspot_id IN (?)`, [
      this.uid,
      objectType,
      ids,
    ]);
    return new Map(res.rows.map((r) => [String(r.hubspot_id), linkFromRow(r)]));
  }

  async linksByTargetKeys(objectType: string, keys: string[]): Promise<Map<string, LinkRow>> {
    if (keys.length === 0) return new Map();
    const res = await this.q.query(`SELECT * FROM ${this.s}.links WHERE integration_uid = ? AND object_type = ? AND target_key IN (?)`, [
      this.uid,
      objectType,
      keys,
    ]);
    return new Map(res.rows.map((r) => [String(r.target_key), linkFromRow(r)]));
  }

  async upsertLinks(objectType: string, links: LinkRow[]): Promise<void> {
    if (links.length === 0) return;
    // A target key re-linked to another HubSpot record (records merged in HubSpot) drops its old link.
    const pairs = links.map(() => '(target_key = ? AND hubspot_id <> ?)').join(' OR ');
    await this.q.query(`DELETE FROM ${this.s}.links WHERE integration_uid = ? AND object_type = ? AND target_key IN (?) AND (${pairs})`, [
      this.uid,
      objectType,
      links.map((l) => l.targetKey),
      ...links.flatMap((l) => [l.targetKey, l.hubspotId]),
    ]);
    const params: unknown[] = [];
    for (const l of links) {
      params.push(
        this.uid,
        objectType,
        l.hubspotId,
        l.targetKey,
        JSON.stringify(l.hsValues),
        JSON.stringify(l.tgValues),
        l.hsHash,
        l.tgHash,
        dt(l.hsModified),
        dt(l.tgModified),
        l.deletedSide ?? null,
        l.matchKey ?? null,
      );
    }
    await this.q.query(
      `INSERT INTO ${this.s}.links (integration_uid, object_type, hubspot_id, target_key, hs_values, tg_values, hs_hash, tg_hash,
         hs_modified, tg_modified, deleted_side, match_key) VALUES ${tuples(links.length, 12)}
       ON DUPLICATE KEY UPDATE target_key = VALUES(target_key), hs_values = VALUES(hs_values), tg_values = VALUES(tg_values),
         hs_hash = VALUES(hs_hash), tg_hash = VALUES(tg_hash), hs_modified = VALUES(hs_modified), tg_modified = VALUES(tg_modified),
         deleted_side = VALUES(deleted_side), match_key = VALUES(match_key), synced_at = CURRENT_TIMESTAMP(6)`,
      params,
    );
  }

  async linksByMatchKeys(objectType: string, keys: string[]): Promise<LinkRow[]> {
    if (keys.length === 0) return [];
    const res = await this.q.query(
      `SELECT * FROM ${this.s}.links WHERE integration_uid = ? AND object_type = ? AND match_key IN (?) AND deleted_side IS NULL`,
      [this.uid, objectType, keys],
    );
    return res.rows.map((r) => linkFromRow(r));
  }

  async deleteLinks(objectType: string, hubspotIds: string[]): Promise<void> {
    if (hubspotIds.length === 0) return;
    await this.q.query(`DELETE FROM ${this.s}.links WHERE integration_uid = ? AND object_type = ? AND hubspot_id IN (?)`, [this.uid, objectType, hubspotIds]);
  }

  async countLinks(objectType: string): Promise<number> {
    const r = await this.q.query<{ n: string }>(
      `SELECT COUNT(*) AS n FROM ${this.s}.links WHERE integration_uid = ? AND object_type = ? AND deleted_side IS NULL`,
      [this.uid, objectType],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  // ---- cursors -----------------------------------------------------------------------------

  async getCursor(objectType: string, phase: string): Promise<CursorRow | undefined> {
    const r = await this.q.query(`SELECT * FROM ${this.s}.cursors WHERE integration_uid = ? AND object_type = ? AND phase = ?`, [this.uid, objectType, phase]);
    const row = r.rows[0];
    return row ? cursorFromRow(row) : undefined;
  }

  async setCursor(objectType: string, phase: string, c: CursorRow): Promise<void> {
    await this.q.query(
      `INSERT INTO ${this.s}.cursors (integration_uid, object_type, phase, watermark_ms, last_id, position, completed, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE watermark_ms = VALUES(watermark_ms), last_id = VALUES(last_id), position = VALUES(position),
         completed = VALUES(completed), data = VALUES(data), updated_at = CURRENT_TIMESTAMP(6)`,
      [this.uid, objectType, phase, c.watermarkMs ?? null, c.lastId ?? null, c.position ?? null, c.completed, JSON.stringify(c.data)],
    );
  }

  async deleteCursor(objectType: string, phase: string): Promise<void> {
    await this.q.query(`DELETE FROM ${this.s}.cursors WHERE integration_uid = ? AND object_type = ? AND phase = ?`, [this.uid, objectType, phase]);
  }

  // ---- outbox ------------------------------------------------------------------------------

  /** The oldest captured keys of a table, coalesced: one entry per key with its last operation. */
  async nextOutboxBatch(table: string, limit: number, objectType?: string): Promise<OutboxEntry[]> {
    // Keys whose target → HubSpot retry is not due yet wait in the outbox (DESIGN §3 "Convergence").
    const notDue =
      objectType === undefined
        ? ''
        : `AND NOT EXISTS (SELECT 1 FROM ${this.s}.record_errors e WHERE e.integration_uid = x.integration_uid AND e.object_type = ?
             AND e.target_key = x.target_key AND e.direction = 'toHubSpot' AND e.next_attempt_at > CURRENT_TIMESTAMP(6)
             AND (x.op = 'R' OR x.captured_at <= e.last_seen))`;
    const r = await this.q.query<{ target_key: string; max_id: string; last_op: string; first_at: unknown; last_at: unknown }>(
      `SELECT o.target_key, CAST(MAX(o.id) AS CHAR) AS max_id,
              SUBSTRING(MAX(CONCAT(LPAD(o.id, 20, '0'), o.op)), 21) AS last_op,
              MIN(o.captured_at) AS first_at, MAX(o.captured_at) AS last_at
         FROM ${this.s}.outbox o
         JOIN (SELECT target_key, MIN(id) AS first_id FROM (
                 SELECT id, target_key FROM ${this.s}.outbox x WHERE integration_uid = ? AND table_name = ? ${notDue} ORDER BY id LIMIT ?
               ) h GROUP BY target_key ORDER BY first_id LIMIT ?) head ON head.target_key = o.target_key
        WHERE o.integration_uid = ? AND o.table_name = ?
        GROUP BY o.target_key ORDER BY MIN(o.id)`,
      objectType === undefined
        ? [this.uid, table, limit * 10, limit, this.uid, table]
        : [this.uid, table, objectType, limit * 10, limit, this.uid, table],
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
    if (keys.length === 0) return foldChanges([]);
    const r = await this.q.query(
      `SELECT target_key, captured_at, changed_columns FROM ${this.s}.outbox
        WHERE integration_uid = ? AND table_name = ? AND target_key IN (?) AND op <> 'R'${maxId === undefined ? '' : ' AND id <= ?'}`,
      maxId === undefined ? [this.uid, table, keys] : [this.uid, table, keys, maxId],
    );
    return foldChanges(r.rows);
  }

  async outboxFor(table: string, keys: string[]): Promise<PendingChange[]> {
    if (keys.length === 0) return [];
    const r = await this.q.query<{ target_key: string; last_at: unknown }>(
      `SELECT target_key, MAX(captured_at) AS last_at FROM ${this.s}.outbox
        WHERE integration_uid = ? AND table_name = ? AND target_key IN (?) GROUP BY target_key`,
      [this.uid, table, keys],
    );
    const changes = await this.changesOf(table, keys);
    return r.rows.map((row) => ({ key: String(row.target_key), lastCapturedMs: msOf(row.last_at) ?? Date.now(), columnChangedMs: {}, ...changes.get(String(row.target_key)) }));
  }

  /** Remove the outbox rows an applied batch covered (rows captured since stay). */
  async ackOutbox(table: string, entries: { key: string; maxId: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const pairs = entries.map(() => '(target_key = ? AND id <= ?)').join(' OR ');
    await this.q.query(`DELETE FROM ${this.s}.outbox WHERE integration_uid = ? AND table_name = ? AND target_key IN (?) AND (${pairs})`, [
      this.uid,
      table,
      entries.map((e) => e.key),
      ...entries.flatMap((e) => [e.key, e.maxId]),
    ]);
  }

  async enqueue(table: string, keys: string[], op: OutboxOp): Promise<void> {
    if (keys.length === 0) return;
    await this.q.query(
      `INSERT INTO ${this.s}.outbox (integration_uid, table_name, target_key, op) VALUES ${tuples(keys.length, 4)}`,
      keys.flatMap((k) => [this.uid, table, k, op]),
    );
  }

  async pendingChanges(table: string): Promise<number> {
    const r = await this.q.query<{ n: string }>(
      `SELECT COUNT(DISTINCT target_key) AS n FROM ${this.s}.outbox WHERE integration_uid = ? AND table_name = ?`,
      [this.uid, table],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Age in seconds of the oldest unapplied change of this integration (0 when none). */
  async syncLagSeconds(): Promise<number> {
    const r = await this.q.query<{ age: string | null }>(
      `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(captured_at), CURRENT_TIMESTAMP(6)) / 1000000 AS age FROM ${this.s}.outbox WHERE integration_uid = ?`,
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
      `INSERT INTO ${this.s}.record_errors (integration_uid, object_type, record_key, hubspot_id, target_key, direction, category, message, correlation_id, next_attempt_at)
       VALUES ${dedup.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, TIMESTAMPADD(SECOND, 60, CURRENT_TIMESTAMP(6)))').join(', ')}
       ON DUPLICATE KEY UPDATE hubspot_id = COALESCE(VALUES(hubspot_id), hubspot_id), target_key = COALESCE(VALUES(target_key), target_key),
         direction = VALUES(direction), category = VALUES(category), message = VALUES(message), correlation_id = VALUES(correlation_id),
         last_seen = CURRENT_TIMESTAMP(6),
         next_attempt_at = TIMESTAMPADD(SECOND, LEAST(60 * POW(2, LEAST(attempts, 10)), 3600), CURRENT_TIMESTAMP(6)),
         attempts = attempts + 1`,
      dedup.flatMap((r) => [this.uid, r.object_type, r.record_key, r.hubspot_id, r.target_key, r.direction, r.category, r.message, r.correlation_id]),
    );
  }

  async clearErrors(objectType: string, hubspotIds: string[], targetKeys: string[], direction?: SyncDirectionName): Promise<void> {
    if (hubspotIds.length === 0 && targetKeys.length === 0) return;
    const ors: string[] = [];
    const params: unknown[] = [this.uid, objectType];
    if (hubspotIds.length) {
      ors.push('hubspot_id IN (?)');
      params.push(hubspotIds);
    }
    if (targetKeys.length) {
      ors.push('target_key IN (?)');
      params.push(targetKeys);
    }
    let dir = '';
    if (direction) {
      dir = ' AND direction = ?';
      params.push(direction);
    }
    await this.q.query(`DELETE FROM ${this.s}.record_errors WHERE integration_uid = ? AND object_type = ? AND (${ors.join(' OR ')})${dir}`, params);
  }

  async retryErrorsNow(): Promise<void> {
    await this.q.query(
      `UPDATE ${this.s}.record_errors SET next_attempt_at = CURRENT_TIMESTAMP(6) WHERE integration_uid = ? AND next_attempt_at > CURRENT_TIMESTAMP(6)`,
      [this.uid],
    );
  }

  async dueErrors(objectType: string, limit: number): Promise<DueError[]> {
    const r = await this.q.query<{ hubspot_id: string | null; target_key: string | null; direction: string }>(
      `SELECT hubspot_id, target_key, direction FROM ${this.s}.record_errors
        WHERE integration_uid = ? AND object_type = ? AND next_attempt_at <= CURRENT_TIMESTAMP(6) ORDER BY next_attempt_at LIMIT ?`,
      [this.uid, objectType, limit],
    );
    return r.rows.map((row) => ({ hubspotId: row.hubspot_id ?? undefined, targetKey: row.target_key ?? undefined, direction: row.direction as SyncDirectionName }));
  }

  async errorGroups(): Promise<ErrorGroup[]> {
    const r = await this.q.query<{ category: string; records: string; message: string; last_seen: unknown }>(
      `SELECT g.category, g.records, g.last_seen,
              (SELECT e.message FROM ${this.s}.record_errors e WHERE e.integration_uid = ? AND e.category = g.category
                ORDER BY e.last_seen DESC LIMIT 1) AS message
         FROM (SELECT category, COUNT(*) AS records, MAX(last_seen) AS last_seen FROM ${this.s}.record_errors
                WHERE integration_uid = ? GROUP BY category) g
        ORDER BY g.records DESC, g.category`,
      [this.uid, this.uid],
    );
    return r.rows.map(errorGroupFromRow);
  }

  async listErrors(limit = 1000): Promise<(RecordError & { firstSeen: string; lastSeen: string })[]> {
    const r = await this.q.query(`SELECT * FROM ${this.s}.record_errors WHERE integration_uid = ? ORDER BY last_seen DESC LIMIT ?`, [this.uid, limit]);
    return r.rows.map(recordErrorFromRow);
  }

  // ---- audit log ---------------------------------------------------------------------------

  async audit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.q.query(
      `INSERT INTO ${this.s}.audit_log (integration_uid, object_type, direction, operation, hubspot_id, target_key, outcome, category, message, fields, changes)
       VALUES ${tuples(entries.length, 11)}`,
      entries.flatMap((e) => [
        this.uid,
        e.objectType,
        e.direction,
        e.operation,
        e.hubspotId ?? null,
        e.targetKey ?? null,
        e.outcome,
        e.category ?? null,
        e.message ?? null,
        e.fields ? JSON.stringify(e.fields) : null,
        e.values ? JSON.stringify(e.values) : null,
      ]),
    );
  }

  async listAudit(f: AuditQuery): Promise<AuditRow[]> {
    const conds = ['integration_uid = ?'];
    const params: unknown[] = [this.uid];
    if (f.since) {
      conds.push('at >= ?');
      params.push(f.since);
    }
    if (f.record !== undefined) {
      if (f.side === 'hubspot') conds.push('hubspot_id = ?');
      else if (f.side === 'target') conds.push('target_key = ?');
      else {
        conds.push('(hubspot_id = ? OR target_key = ?)');
        params.push(f.record);
      }
      params.push(f.record);
    }
    if (f.objectType) {
      conds.push('object_type = ?');
      params.push(f.objectType);
    }
    params.push(f.limit ?? 1000);
    const r = await this.q.query<StateRow>(
      `SELECT * FROM (SELECT id, at, object_type, direction, operation, hubspot_id, target_key, outcome, category, message, fields, changes
           FROM ${this.s}.audit_log WHERE ${conds.join(' AND ')} ORDER BY at DESC, id DESC LIMIT ?) newest ORDER BY at, id`,
      params,
    );
    return r.rows.map(auditFromRow);
  }

  async getPlan(): Promise<StoredPlan | undefined> {
    const r = await this.q.query<StateRow>(`SELECT observed_at, summary, changes FROM ${this.s}.plans WHERE integration_uid = ?`, [this.uid]);
    return r.rows[0] ? planFromRow(r.rows[0]) : undefined;
  }

  // ---- the webhook inbox ---------------------------------------------------------------------

  async storeWebhookEvents(events: WebhookEventRow[]): Promise<number> {
    if (events.length === 0) return 0;
    const sorted = [...events].sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
    const r = await this.q.query(
      `INSERT IGNORE INTO ${this.s}.webhook_inbox (integration_uid, dedupe_hash, portal_id, event_id, subscription_id, subscription_type, object_type, event,
         object_id, property_name, change_source, attempt_number, occurred_at, payload) VALUES ${tuples(sorted.length, 14)}`,
      sorted.flatMap((e) => [
        this.uid,
        createHash('sha256').update(webhookDedupeKey(e)).digest('hex'),
        e.portalId,
        e.eventId,
        e.subscriptionId,
        e.subscriptionType,
        e.objectType,
        e.kind,
        e.objectId,
        e.propertyName,
        e.changeSource,
        e.attemptNumber,
        e.occurredAt,
        JSON.stringify(e.payload),
      ]),
    );
    return r.rowCount;
  }

  async pendingWebhookEvents(limit = 1000): Promise<StoredWebhookEvent[]> {
    const r = await this.q.query(
      `SELECT CAST(id AS CHAR) AS id, event_id, subscription_type, object_type, event, object_id, property_name, occurred_at, attempt_number, payload
         FROM ${this.s}.webhook_inbox WHERE integration_uid = ? AND processed_at IS NULL ORDER BY occurred_at, id LIMIT ?`,
      [this.uid, limit],
    );
    return r.rows.map((x) => ({
      id: String(x.id),
      eventId: String(x.event_id),
      subscriptionType: String(x.subscription_type),
      objectType: String(x.object_type),
      kind: String(x.event),
      objectId: x.object_id === null || x.object_id === undefined ? null : String(x.object_id),
      propertyName: (x.property_name as string | null) ?? null,
      occurredAt: new Date(msOf(x.occurred_at) ?? 0),
      attemptNumber: x.attempt_number === null || x.attempt_number === undefined ? null : Number(x.attempt_number),
      payload: jsonOf<Record<string, unknown>>(x.payload, {}),
    }));
  }

  async webhookStats(): Promise<{ lastEventTime?: string; eventsLast24h: number }> {
    const r = await this.q.query<{ last: unknown; n: unknown }>(
      `SELECT (SELECT MAX(occurred_at) FROM ${this.s}.webhook_inbox WHERE integration_uid = ?) AS last,
              (SELECT COUNT(*) FROM ${this.s}.webhook_inbox WHERE integration_uid = ? AND received_at > CURRENT_TIMESTAMP(6) - INTERVAL 24 HOUR) AS n`,
      [this.uid, this.uid],
    );
    const row = r.rows[0];
    const last = msOf(row?.last);
    return { ...(last !== undefined ? { lastEventTime: new Date(last).toISOString() } : {}), eventsLast24h: Number(row?.n ?? 0) };
  }

  async ackWebhookEvents(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.q.query(`UPDATE ${this.s}.webhook_inbox SET processed_at = CURRENT_TIMESTAMP(6) WHERE integration_uid = ? AND id IN (?) AND processed_at IS NULL`, [this.uid, ids]);
  }

  async forgetWebhookEvents(objectType: string, objectIds: string[]): Promise<void> {
    if (objectIds.length === 0) return;
    await this.q.query(`DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = ? AND object_type = ? AND object_id IN (?)`, [this.uid, objectType, objectIds]);
  }

  async pruneWebhookEvents(olderThanMs: number): Promise<number> {
    const r = await this.q.query(
      `DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = ? AND processed_at IS NOT NULL AND received_at < CURRENT_TIMESTAMP(6) - INTERVAL ? MICROSECOND`,
      [this.uid, Math.max(0, Math.round(olderThanMs)) * 1000],
    );
    return r.rowCount;
  }
}

/** Integration-wide state operations that run their own statements or transactions on the pool. */
export class MySqlStateAdmin {
  private readonly db: MySqlDb;
  readonly uid: string;
  private readonly s: string;

  constructor(db: MySqlDb, stateDatabase: string, uid: string) {
    this.db = db;
    this.uid = uid;
    this.s = bq(stateDatabase);
  }

  /** Drop audit entries older than the retention (bounded per call so a cycle never stalls on it). */
  async pruneAudit(retentionSeconds: number, maxRows = 50_000): Promise<number> {
    const r = await this.db.query(`DELETE FROM ${this.s}.audit_log WHERE integration_uid = ? AND at < CURRENT_TIMESTAMP(6) - INTERVAL ? SECOND ORDER BY at LIMIT ?`, [
      this.uid,
      Math.max(0, Math.floor(retentionSeconds)),
      maxRows,
    ]);
    return r.rowCount;
  }

  async savePlan(plan: StoredPlan): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.s}.plans (integration_uid, observed_at, summary, changes) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE observed_at = VALUES(observed_at), summary = VALUES(summary), changes = VALUES(changes)`,
      [this.uid, new Date(plan.observedAt), JSON.stringify(plan.objects), JSON.stringify(plan.changes)],
    );
  }

  /** Refresh index statistics of the state tables after bulk changes (an import). */
  async analyze(): Promise<void> {
    await this.db.query(`ANALYZE TABLE ${this.s}.links, ${this.s}.outbox`);
  }

  /**
   * Register this integration (namespace/name ↔ UID). When it is new and an integration of the
   * same namespace/name was deleted with deletionPolicy Orphan, adopt that one's state: links,
   * cursors and the changes captured meanwhile move to this UID. Returns the adopted
   * integration's UID and captured tables (their old triggers must be removed), if any.
   */
  async register(namespace: string, name: string): Promise<{ adoptedUid: string; tables: CapturedTable[] } | undefined> {
    return this.db.transaction(
      async (tx) => {
        const me = await tx.query(`SELECT 1 FROM ${this.s}.integrations WHERE integration_uid = ?`, [this.uid]);
        let adopted: { adoptedUid: string; tables: CapturedTable[] } | undefined;
        if (me.rows.length === 0) {
          const old = await tx.query<{ integration_uid: string; tables: unknown }>(
            `SELECT integration_uid, tables FROM ${this.s}.integrations WHERE namespace = ? AND name = ? AND orphaned_at IS NOT NULL
              ORDER BY orphaned_at DESC LIMIT 1`,
            [namespace, name],
          );
          const row = old.rows[0];
          if (row) {
            // The orphan's webhook events are not adopted (polling catches up).
            await tx.query(`DELETE FROM ${this.s}.webhook_inbox WHERE integration_uid = ?`, [row.integration_uid]);
            for (const t of STATE_TABLES) {
              if (t === 'webhook_inbox') continue;
              await tx.query(`UPDATE ${this.s}.${bq(t)} SET integration_uid = ? WHERE integration_uid = ?`, [this.uid, row.integration_uid]);
            }
            await tx.query(`DELETE FROM ${this.s}.integrations WHERE integration_uid = ?`, [row.integration_uid]);
            adopted = { adoptedUid: String(row.integration_uid), tables: jsonOf<CapturedTable[]>(row.tables, []) };
          }
        }
        await tx.query(
          `INSERT INTO ${this.s}.integrations (integration_uid, namespace, name, tables) VALUES (?, ?, ?, '[]')
           ON DUPLICATE KEY UPDATE namespace = VALUES(namespace), name = VALUES(name), orphaned_at = NULL, updated_at = CURRENT_TIMESTAMP(6)`,
          [this.uid, namespace, name],
        );
        return adopted;
      },
      { lock: `hubspot_operator.register.${namespace}/${name}` },
    );
  }

  async recordCapturedTable(t: CapturedTable): Promise<void> {
    await this.db.transaction(async (tx) => {
      const r = await tx.query<{ tables: unknown }>(`SELECT tables FROM ${this.s}.integrations WHERE integration_uid = ? FOR UPDATE`, [this.uid]);
      if (!r.rows[0]) return;
      const tables = jsonOf<CapturedTable[]>(r.rows[0].tables, []);
      if (tables.some((x) => x.schema === t.schema && x.table === t.table && x.primaryKey === t.primaryKey)) return;
      tables.push({ schema: t.schema, table: t.table, primaryKey: t.primaryKey });
      await tx.query(`UPDATE ${this.s}.integrations SET tables = ?, updated_at = CURRENT_TIMESTAMP(6) WHERE integration_uid = ?`, [
        JSON.stringify(tables),
        this.uid,
      ]);
    });
  }

  /** deletionPolicy Orphan: keep everything (triggers keep capturing) for a re-created integration to adopt. */
  async markOrphaned(): Promise<void> {
    await this.db.query(
      `UPDATE ${this.s}.integrations SET orphaned_at = CURRENT_TIMESTAMP(6), updated_at = CURRENT_TIMESTAMP(6) WHERE integration_uid = ?`,
      [this.uid],
    );
  }

  /** Remove every state row of this integration (deletionPolicy Delete). */
  async deleteAll(): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const t of [...STATE_TABLES, 'plans', 'integrations']) {
        await tx.query(`DELETE FROM ${this.s}.${bq(t)} WHERE integration_uid = ?`, [this.uid]);
      }
    });
  }
}
