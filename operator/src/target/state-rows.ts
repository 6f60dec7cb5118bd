/**
 * The state tables' rows as every SQL connector stores them (the same columns on PostgreSQL and
 * MySQL, DESIGN §3): converting database rows to the connector's records and records to rows.
 * Connector-neutral and SQL-free; each connector keeps its own statements.
 */
import type { AuditRow, Canon, CursorRow, ErrorGroup, LinkRow, OutboxEntry, RecordError, StoredPlan } from './connector.js';

export type StateRow = Record<string, unknown>;

/** Epoch milliseconds of a time column (a Date, a number or a text timestamp). */
export function msOf(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.getTime();
  const t = typeof v === 'number' ? v : Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t;
}

/** A JSON column: parsed by some drivers, text (or bytes) with others. */
export function jsonOf<T>(v: unknown, empty: T): T {
  if (v === null || v === undefined || v === '') return empty;
  if (typeof v === 'string') return JSON.parse(v) as T;
  if (Buffer.isBuffer(v)) return JSON.parse(v.toString('utf8')) as T;
  return v as T;
}

export function linkFromRow(r: StateRow): LinkRow {
  return {
    hubspotId: String(r.hubspot_id),
    targetKey: String(r.target_key),
    hsValues: jsonOf<Record<string, Canon>>(r.hs_values, {}),
    tgValues: jsonOf<Record<string, Canon>>(r.tg_values, {}),
    hsHash: (r.hs_hash as string | null) ?? null,
    tgHash: (r.tg_hash as string | null) ?? null,
    hsModified: msOf(r.hs_modified),
    tgModified: msOf(r.tg_modified),
    deletedSide: (r.deleted_side as LinkRow['deletedSide']) ?? null,
    matchKey: (r.match_key as string | null) ?? null,
  };
}

export function cursorFromRow(row: StateRow): CursorRow {
  return {
    watermarkMs: row.watermark_ms === null || row.watermark_ms === undefined ? undefined : Number(row.watermark_ms),
    lastId: (row.last_id as string | null) ?? undefined,
    position: (row.position as string | null) ?? undefined,
    completed: row.completed === true || Number(row.completed) === 1,
    data: jsonOf<Record<string, unknown>>(row.data, {}),
  };
}

export function outboxEntryFromRow(row: StateRow): OutboxEntry {
  return {
    key: String(row.target_key),
    maxId: String(row.max_id),
    op: String(row.last_op).trim(),
    firstCapturedMs: msOf(row.first_at) ?? Date.now(),
    lastCapturedMs: msOf(row.last_at) ?? Date.now(),
    columnChangedMs: {},
  };
}

/**
 * Fold captured outbox rows (op ≠ R) into per-key change times: the latest capture per column
 * (`changed_columns` a JSON array of column names; NULL → `*`, every column) and per key.
 */
export function foldChanges(rows: StateRow[]): Map<string, { lastChangedMs: number; columnChangedMs: Record<string, number> }> {
  const out = new Map<string, { lastChangedMs: number; columnChangedMs: Record<string, number> }>();
  for (const r of rows) {
    const at = msOf(r.captured_at);
    if (at === undefined) continue;
    const key = String(r.target_key);
    let e = out.get(key);
    if (!e) out.set(key, (e = { lastChangedMs: at, columnChangedMs: {} }));
    e.lastChangedMs = Math.max(e.lastChangedMs, at);
    const cols = r.changed_columns === null || r.changed_columns === undefined ? ['*'] : jsonOf<string[]>(r.changed_columns, ['*']);
    for (const c of cols) e.columnChangedMs[c] = Math.max(e.columnChangedMs[c] ?? -Infinity, at);
  }
  return out;
}

export interface RecordErrorRow {
  object_type: string;
  record_key: string;
  hubspot_id: string | null;
  target_key: string | null;
  direction: string;
  category: string;
  message: string;
  correlation_id: string | null;
}

/** Record errors as rows, one per record (keyed by HubSpot ID, else target key): the latest failure wins. */
export function recordErrorRows(errors: RecordError[]): RecordErrorRow[] {
  const rows = errors.map((e) => ({
    object_type: e.objectType,
    record_key: e.hubspotId ? `hubspot:${e.hubspotId}` : `target:${e.targetKey ?? ''}`,
    hubspot_id: e.hubspotId ?? null,
    target_key: e.targetKey ?? null,
    direction: e.direction,
    category: e.category,
    message: e.message,
    correlation_id: e.correlationId ?? null,
  }));
  return [...new Map(rows.map((r) => [`${r.object_type}\u0000${r.record_key}`, r])).values()];
}

export function recordErrorFromRow(row: StateRow): RecordError & { firstSeen: string; lastSeen: string } {
  return {
    objectType: String(row.object_type),
    hubspotId: (row.hubspot_id as string | null) ?? undefined,
    targetKey: (row.target_key as string | null) ?? undefined,
    direction: row.direction as RecordError['direction'],
    category: String(row.category),
    message: String(row.message),
    correlationId: (row.correlation_id as string | null) ?? undefined,
    firstSeen: new Date(msOf(row.first_seen) ?? 0).toISOString(),
    lastSeen: new Date(msOf(row.last_seen) ?? 0).toISOString(),
  };
}

export function errorGroupFromRow(row: StateRow): ErrorGroup {
  return {
    category: String(row.category),
    records: Number(row.records),
    message: String(row.message),
    lastSeenTime: new Date(msOf(row.last_seen) ?? Date.now()).toISOString(),
  };
}

/** An audit_log row → AuditRow (both connectors). */
export function auditFromRow(row: StateRow): AuditRow {
  const fields = jsonOf<string[] | null>(row.fields, null);
  const values = jsonOf<AuditRow['values'] | null>(row.changes, null);
  return {
    at: new Date(row.at as string | Date).toISOString(),
    objectType: String(row.object_type),
    direction: row.direction as AuditRow['direction'],
    operation: String(row.operation),
    hubspotId: (row.hubspot_id as string | null) ?? undefined,
    targetKey: (row.target_key as string | null) ?? undefined,
    outcome: row.outcome as AuditRow['outcome'],
    category: (row.category as string | null) ?? undefined,
    message: (row.message as string | null) ?? undefined,
    ...(fields ? { fields } : {}),
    ...(values ? { values } : {}),
  };
}

/** A plans row → StoredPlan (both connectors). */
export function planFromRow(row: StateRow): StoredPlan {
  return {
    observedAt: new Date(row.observed_at as string | Date).toISOString(),
    objects: jsonOf<unknown[]>(row.summary, []),
    changes: jsonOf<unknown[]>(row.changes, []),
  };
}
