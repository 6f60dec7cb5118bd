/**
 * Observe mode (DESIGN §2.9): the SAME passes as a sync, run against a dry-run connector and a
 * recording HubSpot client, so the plan is what the sync would do by construction rather than
 * by a second implementation of the passes that could drift from them.
 *
 * - `DryRun.connector(real)`: reads go to the real database (committed data); every write of a
 *   transaction (rows, links, cursors, outbox acks, errors, audit) lands in an in-memory
 *   overlay instead, and state reads see the overlay (so a pass's loop advances exactly as in a
 *   sync: cursors move, acknowledged outbox entries disappear, new links hide linked rows from
 *   the scan). Capture, table creation, ANALYZE, audit pruning and cleanup are no-ops.
 * - `DryRun.hubspot(real)`: reads go to HubSpot; writes (create/update/upsert/archive,
 *   properties, associations) are recorded and answered locally (created records get IDs
 *   `observe-N`), so not one write request reaches HubSpot.
 * - The counts come from the passes' own ledger (`ctx.counters`, the counters a sync reports
 *   as lastCycle), the links, duplicates and failures from the ledger's audit entries and
 *   record errors, and the field-level diffs from the recorded writes.
 */
import type { HubSpotClient, HubSpotObject } from '../hubspot/types.js';
import {
  KEY_FIELD,
  type AuditEntry,
  type Connector,
  type CursorRow,
  type LinkRow,
  type OutboxEntry,
  type OutboxOp,
  type RecordError,
  type Row,
  type RowReader,
  type RowWriter,
  type StateReader,
  type StateWriter,
  type TableRef,
  type TargetTx,
} from '../target/connector.js';
import type { ObjectCounters } from './context.js';
import type { ObjectPlanSummary, PlanChange } from './types.js';

/** Records kept with field-level diffs per object type and direction (the counts are always exact). */
export const PLAN_DETAIL_LIMIT = 200;

type Before = Record<string, unknown>;

function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export class DryRun {
  private readonly links = new Map<string, Map<string, LinkRow | null>>();
  private readonly cursors = new Map<string, CursorRow | null>();
  private readonly acked = new Set<string>();
  private readonly enqueued = new Map<string, Map<string, OutboxEntry>>();
  readonly errors: RecordError[] = [];
  readonly audits: AuditEntry[] = [];
  /** Field-level changes, per object type + direction, bounded by PLAN_DETAIL_LIMIT. */
  readonly changes: PlanChange[] = [];
  private readonly detailCount = new Map<string, number>();
  /** Which object type a table belongs to (for target writes). */
  private readonly typeOfTable = new Map<string, string>();
  private seq = 0;
  hubspotWrites = 0;

  constructor(tables: { type: string; table: string }[]) {
    for (const t of tables) this.typeOfTable.set(t.table, t.type);
  }

  private linkMap(type: string): Map<string, LinkRow | null> {
    let m = this.links.get(type);
    if (!m) this.links.set(type, (m = new Map()));
    return m;
  }

  private addChange(c: PlanChange): void {
    const k = `${c.objectType}/${c.direction}`;
    const n = this.detailCount.get(k) ?? 0;
    if (n >= PLAN_DETAIL_LIMIT) return;
    this.detailCount.set(k, n + 1);
    this.changes.push(c);
  }

  /** A state view: reads of the real store with the overlay applied; writes into the overlay. */
  state(real: StateReader): StateWriter {
    const self = this;
    const live = (type: string, l: LinkRow): boolean => {
      const o = self.linkMap(type).get(l.hubspotId);
      return o === undefined || (o !== null && o.targetKey === l.targetKey);
    };
    const pendingOf = (table: string) => [...(self.enqueued.get(table)?.values() ?? [])];
    return {
      async linksByHubSpotIds(type, ids) {
        const r = await real.linksByHubSpotIds(type, ids);
        const m = self.linkMap(type);
        for (const id of ids) {
          const o = m.get(id);
          if (o === null) r.delete(id);
          else if (o) r.set(id, o);
        }
        return r;
      },
      async linksByTargetKeys(type, keys) {
        const r = await real.linksByTargetKeys(type, keys);
        for (const [k, l] of [...r]) if (!live(type, l)) r.delete(k);
        const want = new Set(keys);
        for (const l of self.linkMap(type).values()) if (l && want.has(l.targetKey)) r.set(l.targetKey, l);
        return r;
      },
      async linksByMatchKeys(type, keys) {
        const r = (await real.linksByMatchKeys(type, keys)).filter((l) => live(type, l));
        const want = new Set(keys);
        for (const l of self.linkMap(type).values()) if (l && !l.deletedSide && l.matchKey && want.has(l.matchKey) && !r.some((x) => x.hubspotId === l.hubspotId)) r.push(l);
        return r;
      },
      countLinks: (type) => real.countLinks(type),
      async getCursor(type, phase) {
        const k = `${type}\u0000${phase}`;
        if (self.cursors.has(k)) return self.cursors.get(k) ?? undefined;
        return real.getCursor(type, phase);
      },
      async nextOutboxBatch(table, limit) {
        const mine = pendingOf(table).filter((e) => !self.acked.has(`${table}\u0000${e.key}\u0000${e.maxId}`));
        const seen = new Set(mine.map((e) => e.key));
        const ackedHere = [...self.acked].filter((a) => a.startsWith(`${table}\u0000`)).length;
        const realBatch = (await real.nextOutboxBatch(table, limit + ackedHere)).filter((e) => !self.acked.has(`${table}\u0000${e.key}\u0000${e.maxId}`) && !seen.has(e.key));
        return [...mine, ...realBatch].slice(0, limit);
      },
      async outboxFor(table, keys) {
        const r = (await real.outboxFor(table, keys)).filter((e) => ![...self.acked].some((a) => a.startsWith(`${table}\u0000${e.key}\u0000`)));
        const want = new Set(keys);
        for (const e of pendingOf(table)) if (want.has(e.key) && !self.acked.has(`${table}\u0000${e.key}\u0000${e.maxId}`)) r.push({ key: e.key, lastCapturedMs: e.lastCapturedMs, columnChangedMs: e.columnChangedMs });
        return r;
      },
      dueErrors: (type, limit) => real.dueErrors(type, limit),
      pendingWebhookEvents: (limit) => real.pendingWebhookEvents(limit),
      webhookStats: () => real.webhookStats(),
      // Observe leaves the inbox as it is: events stay pending for the Sync that follows.
      storeWebhookEvents: async () => 0,
      async ackWebhookEvents() {},
      async forgetWebhookEvents() {},
      pruneWebhookEvents: async () => 0,
      pendingChanges: (table) => real.pendingChanges(table),
      syncLagSeconds: () => real.syncLagSeconds(),
      errorGroups: () => real.errorGroups(),
      listErrors: (limit) => real.listErrors(limit),
      listAudit: (q) => real.listAudit(q),
      getPlan: () => real.getPlan(),
      async upsertLinks(type, links) {
        const m = self.linkMap(type);
        for (const l of links) m.set(l.hubspotId, l);
      },
      async deleteLinks(type, ids) {
        const m = self.linkMap(type);
        for (const id of ids) m.set(id, null);
      },
      async setCursor(type, phase, c) {
        self.cursors.set(`${type}\u0000${phase}`, c);
      },
      async deleteCursor(type, phase) {
        self.cursors.set(`${type}\u0000${phase}`, null);
      },
      async ackOutbox(table, entries) {
        for (const e of entries) self.acked.add(`${table}\u0000${e.key}\u0000${e.maxId}`);
      },
      async enqueue(table: string, keys: string[], op: OutboxOp) {
        let m = self.enqueued.get(table);
        if (!m) self.enqueued.set(table, (m = new Map()));
        const now = Date.now();
        for (const key of keys) m.set(key, { key, maxId: `observe-${++self.seq}`, op, firstCapturedMs: now, lastCapturedMs: now, columnChangedMs: {} });
      },
      async recordErrors(errors) {
        self.errors.push(...errors);
      },
      async clearErrors() {},
      // Observe schedules no retries (it writes nothing).
      async retryErrorsNow() {},
      async audit(entries) {
        self.audits.push(...entries);
      },
    };
  }

  /** Row writes recorded (with the current values as "before"), reads of committed data. */
  private rows(real: RowReader): RowReader & RowWriter {
    const self = this;
    const typeOf = (t: TableRef) => self.typeOfTable.get(t.table) ?? t.table;
    return {
      selectRows: (t, keys, cols) => real.selectRows(t, keys, cols),
      selectByMatch: (t, c, how, v, cols) => real.selectByMatch(t, c, how, v, cols),
      selectKeysAfter: (t, a, l) => real.selectKeysAfter(t, a, l),
      countRows: (t) => real.countRows(t),
      async insertRows(t, rows) {
        const keys = rows.map((r) => {
          const key = r[t.primaryKey] !== undefined && r[t.primaryKey] !== null ? String(r[t.primaryKey]) : String(-++self.seq);
          self.addChange({ objectType: typeOf(t), direction: 'toTarget', operation: 'create', targetKey: key, fields: diff(undefined, r) });
          return key;
        });
        return { keys, failures: [] };
      },
      async updateRows(t, updates) {
        const cols = [...new Set(updates.flatMap((u) => Object.keys(u.values)))];
        const current = cols.length ? await real.selectRows(t, updates.map((u) => u.key), cols) : new Map<string, Row>();
        for (const u of updates) {
          if (!Object.keys(u.values).length) continue;
          self.addChange({ objectType: typeOf(t), direction: 'toTarget', operation: 'update', targetKey: u.key, fields: diff(current.get(u.key) ?? {}, u.values) });
        }
        return [];
      },
      async deleteRows(t, keys) {
        for (const k of keys) self.addChange({ objectType: typeOf(t), direction: 'toTarget', operation: 'delete', targetKey: k, fields: {} });
        return [];
      },
    };
  }

  /** The real connector with its writes diverted into this dry run. */
  connector(real: Connector): Connector {
    const state = this.state(real.state);
    const tx: TargetTx = { rows: this.rows(real.rows), state };
    const noop = async () => {};
    const overrides: Partial<Record<keyof Connector, unknown>> = {
      state,
      transaction: async <T>(fn: (tx: TargetTx) => Promise<T>) => fn(tx),
      ensureTable: noop,
      installCapture: noop,
      removeCapture: noop,
      analyze: noop,
      pruneAudit: async () => 0,
      savePlan: noop,
      cleanup: noop,
      watchChanges: async () => noop,
      close: noop,
    };
    return new Proxy(real, {
      get(target, prop, receiver) {
        if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof Connector];
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** The HubSpot client with every write answered locally and recorded. */
  hubspot(real: HubSpotClient): HubSpotClient {
    const self = this;
    const now = () => new Date().toISOString();
    const made = (properties: Record<string, string>, id?: string, isNew?: boolean): HubSpotObject => ({
      id: id ?? `observe-${++self.seq}`,
      properties,
      createdAt: now(),
      updatedAt: now(),
      ...(isNew === undefined ? {} : { new: isNew }),
    });
    const overrides: Partial<Record<keyof HubSpotClient, unknown>> = {
      async createProperty(_type: string, def: { name: string }) {
        self.hubspotWrites++;
        return def;
      },
      async batchCreate(type: string, inputs: { properties: Record<string, string> }[]) {
        self.hubspotWrites++;
        const results = inputs.map((i) => made(i.properties));
        for (const r of results) self.addChange({ objectType: type, direction: 'toHubSpot', operation: 'create', hubspotId: r.id, fields: diff(undefined, r.properties) });
        return { results, errors: [], inputIndexes: inputs.map((_, i) => i) };
      },
      async batchUpsert(type: string, inputs: { id: string; idProperty: string; properties: Record<string, string> }[]) {
        self.hubspotWrites++;
        const results = inputs.map((i) => made({ ...i.properties, [i.idProperty]: i.id }, undefined, true));
        for (const r of results) self.addChange({ objectType: type, direction: 'toHubSpot', operation: 'create', hubspotId: r.id, fields: diff(undefined, r.properties) });
        return { results, errors: [], inputIndexes: inputs.map((_, i) => i) };
      },
      async batchUpdate(type: string, inputs: { id: string; properties: Record<string, string> }[]) {
        self.hubspotWrites++;
        for (const i of inputs) self.addChange({ objectType: type, direction: 'toHubSpot', operation: 'update', hubspotId: i.id, fields: diff(undefined, i.properties) });
        return { results: inputs.map((i) => made(i.properties, i.id)), errors: [], inputIndexes: inputs.map((_, i) => i) };
      },
      async batchArchive(type: string, ids: string[]) {
        self.hubspotWrites++;
        for (const id of ids) self.addChange({ objectType: type, direction: 'toHubSpot', operation: 'delete', hubspotId: id, fields: {} });
        return { results: [], errors: [] };
      },
      async createAssociations() {
        self.hubspotWrites++;
        return { errors: [] };
      },
      async archiveAssociations() {
        self.hubspotWrites++;
        return { errors: [] };
      },
    };
    return new Proxy(real, {
      get(target, prop, receiver) {
        if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof HubSpotClient];
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** The plan's counts per object type: the ledger's counters, its links, duplicates and failures. */
  summary(types: string[], counters: Map<string, ObjectCounters>): ObjectPlanSummary[] {
    return types.map((type) => {
      const c = counters.get(type);
      const zero = { create: 0, update: 0, delete: 0 };
      const ops = (o?: { created: number; updated: number; deleted: number }) => (o ? { create: o.created, update: o.updated, delete: o.deleted } : zero);
      const audits = this.audits.filter((a) => a.objectType === type && a.outcome === 'ok');
      const duplicates = new Set(this.errors.filter((e) => e.objectType === type && e.category === 'Duplicate').map((e) => `${e.hubspotId ?? ''}/${e.targetKey ?? ''}`)).size;
      return {
        type,
        toTarget: ops(c?.toTarget),
        toHubSpot: ops(c?.toHubSpot),
        link: audits.filter((a) => a.operation === 'link' || a.operation === 'link+update').length,
        duplicates,
        wouldFail: c?.failed ?? 0,
      };
    });
  }
}

function diff(before: Before | undefined, after: Row | Record<string, string>): Record<string, { before?: string | null; after: string | null }> {
  const out: Record<string, { before?: string | null; after: string | null }> = {};
  for (const [k, v] of Object.entries(after)) {
    if (k === KEY_FIELD) continue;
    out[k] = before === undefined ? { after: str(v) } : { before: str(before[k]), after: str(v) };
  }
  return out;
}
