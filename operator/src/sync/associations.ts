/**
 * The association pass (DESIGN §2.7): after every object's record passes, keep each
 * spec.objects[].associations[] entry in step on both sides — a foreign-key column of the
 * from-table (many-to-one; HubSpot's Primary association where the pair has one) or a link
 * table (many-to-many, one row per pair).
 *
 * Which from-records are compared in a cycle (never by last-modified dates: HubSpot does not
 * move them when only associations change):
 *   - every record the HubSpot → target pass pulled (its associations are batch-read, v4,
 *     1,000 records per request);
 *   - every row the target → HubSpot pass pushed (a FK column update is captured with its row);
 *   - every from-key captured on the link table (its own capture trigger, keyed by fromColumn);
 *   - every pending association (its other end was not linked yet);
 *   - at full reconciliation: all of them (which repairs drift).
 *
 * Per from-record a three-way merge of sets of HubSpot IDs: H (HubSpot now), G (the target
 * now, translated through the links), B (the pairs last synced on both sides, kept in the
 * state store). An association added on either side is added on the other; removed on either
 * side, removed on the other; for a FK changed differently on both sides HubSpot wins. With a
 * one-way object, the source side's set is copied. An end that is not linked yet is pending
 * (kept in the state store, applied as soon as it links); one excluded by a SyncFilter is
 * skipped and audited as such. Removing an association is never a record delete.
 */
import { createHash } from 'node:crypto';
import { primaryAssociationTypeId } from '../hubspot/associations.js';
import type { AssociatedRecord, AssociationInput, BatchInputError } from '../hubspot/types.js';
import type { AuditEntry, LinkTableRef, RecordError, SyncDirectionName, TableRef } from '../target/connector.js';
import { checkAbort, countersOf, type SyncContext } from './context.js';
import { evaluateFilters } from './filter.js';
import type { ObjectRuntime } from './passes.js';
import type { SyncedObjectSpec } from '../api/types.js';
import type { Connector, ColumnKind } from '../target/connector.js';
import type { SpecIssue } from './types.js';
import { chunks } from '../api/chunks.js';

/** HubSpot's v4 batch read limit: one association read per this many records. */
const READ_BATCH = 1000;

/**
 * Association sweep of incremental cycles: HubSpot does not move last-modified dates when only
 * associations change, so every incremental cycle also re-reads the associations of up to this
 * many from-rows per association entry (ASSOCIATION_SWEEP_BOUND / 1,000 = 10 v4 batch reads at
 * most). A from-table of at most this many rows is swept whole every cycle; a larger one in
 * rotating slices of this many rows (its cursor is kept in the state store), so an
 * association-only change made in HubSpot arrives within ceil(rows / bound) incremental cycles.
 */
export const ASSOCIATION_SWEEP_BOUND = 10_000;

export interface AssociationRuntime {
  /** Stable name of the entry in the state store. */
  name: string;
  /** spec path, for messages. */
  field: string;
  from: ObjectRuntime;
  to: ObjectRuntime;
  column?: string;
  link?: LinkTableRef;
  label?: string;
}

/**
 * What the record passes of a cycle touched (filled through SyncContext.touched), kept only for
 * the object types the association pass reads it for (the from-types of spec associations): an
 * import of a million records of a type without associations must not hold a million IDs.
 */
export class TouchedRecords {
  readonly hubspot = new Map<string, Set<string>>();
  readonly target = new Map<string, Set<string>>();
  private readonly types: ReadonlySet<string>;
  constructor(types: Iterable<string>) {
    this.types = new Set(types);
  }
  /** Whether any type is tracked (else the passes need not report what they touched). */
  get tracking(): boolean {
    return this.types.size > 0;
  }
  add(side: 'hubspot' | 'target', type: string, ids: readonly string[]): void {
    if (!this.types.has(type)) return;
    const m = side === 'hubspot' ? this.hubspot : this.target;
    let s = m.get(type);
    if (!s) m.set(type, (s = new Set()));
    for (const id of ids) s.add(id);
  }
}

/** The link table as a capture target: its trigger enqueues the from-key of a changed pair. */
export function linkCaptureRef(link: LinkTableRef): TableRef {
  return { schema: link.schema, table: link.table, primaryKey: link.fromColumn };
}

/** The singular of an object type, for default link columns: contacts → contact, companies → company, p_car → car. */
export function singularOf(type: string): string {
  const t = type.replace(/^p_/, '').replace(/^2-/, 'object_');
  if (t.endsWith('ies')) return `${t.slice(0, -3)}y`;
  if (t.endsWith('s')) return t.slice(0, -1);
  return t;
}

interface FromRecord {
  hsId: string;
  key: string;
}

function same(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** The set the merge settles on for one from-record. */
function merge(single: boolean, toTarget: boolean, toHubSpot: boolean, H: string[], G: string[], B: string[]): string[] {
  if (toTarget && !toHubSpot) return H;
  if (toHubSpot && !toTarget) return G;
  if (single) {
    if (!same(H, B)) return H; // changed in HubSpot (or on both sides: HubSpot wins)
    return G;
  }
  const inB = new Set(B);
  const inH = new Set(H);
  const inG = new Set(G);
  const out: string[] = [];
  for (const id of new Set([...H, ...G, ...B])) {
    const keep = inB.has(id) ? inH.has(id) && inG.has(id) : inH.has(id) || inG.has(id);
    if (keep) out.push(id);
  }
  return out;
}

/** Run every association of the spec; `full` compares all records (and turns stale pending ends into errors). */
export async function runAssociations(ctx: SyncContext, assocs: AssociationRuntime[], touched: TouchedRecords, full: boolean, cycleStartMs: number): Promise<void> {
  for (const a of assocs) {
    checkAbort(ctx.signal);
    await runAssociation(ctx, a, touched, full, cycleStartMs);
  }
}

async function runAssociation(ctx: SyncContext, a: AssociationRuntime, touched: TouchedRecords, full: boolean, cycleStartMs: number): Promise<void> {
  const store = ctx.target.associations;
  if (!store) return;
  const F = a.from.plan;
  const hsIds = new Set(touched.hubspot.get(F.type) ?? []);
  const keys = new Set(touched.target.get(F.type) ?? []);
  // Pairs captured on the link table (their from-keys), acknowledged once applied.
  const captured: { key: string; maxId: string }[] = [];
  if (a.link && F.toHubSpot) {
    for (;;) {
      const batch = await ctx.state.nextOutboxBatch(a.link.table, 10_000);
      const fresh = batch.filter((b) => !captured.some((c) => c.key === b.key && c.maxId === b.maxId));
      if (fresh.length === 0) break;
      for (const b of fresh) {
        keys.add(b.key);
        captured.push({ key: b.key, maxId: b.maxId });
      }
      if (batch.length < 10_000) break;
    }
  }
  const pendingBefore = await store.pending(a.name);
  for (const p of pendingBefore) (p.side === 'hubspot' ? hsIds : keys).add(p.fromKey);
  if (!full) {
    // The sweep (see ASSOCIATION_SWEEP_BOUND): this cycle's slice of the from-table.
    // The cursors' phase column holds 32 characters (MySQL): the entry's name is hashed.
    const phase = `asweep.${createHash('sha1').update(a.name).digest('hex').slice(0, 24)}`;
    const cur = await ctx.state.getCursor(F.type, phase);
    const after = cur?.position;
    const page = await ctx.target.rows.selectKeysAfter(a.from.table, after, ASSOCIATION_SWEEP_BOUND + 1);
    const slice = page.slice(0, ASSOCIATION_SWEEP_BOUND);
    for (const k of slice) keys.add(k);
    // More rows after this slice: the next cycle goes on from it; otherwise it starts over.
    const next = page.length > ASSOCIATION_SWEEP_BOUND ? slice[slice.length - 1] : undefined;
    if (next !== after) {
      await ctx.target.transaction((tx) => (next === undefined ? tx.state.deleteCursor(F.type, phase) : tx.state.setCursor(F.type, phase, { position: next, completed: false, data: {} })), { writer: true });
    }
  }
  if (full) {
    let after: string | undefined;
    for (;;) {
      const page = await ctx.target.rows.selectKeysAfter(a.from.table, after, 5000);
      for (const k of page) keys.add(k);
      if (page.length < 5000) break;
      after = page[page.length - 1];
    }
    after = undefined;
    for (;;) {
      const page = await store.syncedFromIdsAfter(a.name, after, 5000);
      for (const id of page) hsIds.add(id);
      if (page.length < 5000) break;
      after = page[page.length - 1];
    }
  }
  // From-records linked on both sides (an unlinked one has nothing to associate yet).
  const byHs = new Map<string, FromRecord>();
  for (const part of chunks([...hsIds], 5000)) {
    for (const [id, l] of await ctx.state.linksByHubSpotIds(F.type, part)) if (!l.deletedSide) byHs.set(id, { hsId: id, key: l.targetKey });
  }
  const byKey = new Set([...byHs.values()].map((r) => r.key));
  for (const part of chunks([...keys].filter((k) => !byKey.has(k)), 5000)) {
    for (const [, l] of await ctx.state.linksByTargetKeys(F.type, part)) if (!l.deletedSide) byHs.set(l.hubspotId, { hsId: l.hubspotId, key: l.targetKey });
  }
  const records = [...byHs.values()];
  for (const part of chunks(records, READ_BATCH)) {
    checkAbort(ctx.signal);
    await applyChunk(ctx, a, part, full, cycleStartMs, pendingBefore.length > 0);
  }
  if (captured.length) await ctx.target.transaction((tx) => tx.state.ackOutbox(a.link!.table, captured), { writer: true });
}

async function applyChunk(ctx: SyncContext, a: AssociationRuntime, recs: FromRecord[], full: boolean, cycleStartMs: number, hadPending: boolean): Promise<void> {
  const store = ctx.target.associations!;
  const F = a.from.plan;
  const T = a.to.plan;
  const single = a.column !== undefined;
  // A labelled FK keeps the association with that label; otherwise the pair's Primary one, where it has one.
  const primary = single && a.label === undefined ? primaryAssociationTypeId(F.type, T.type) : undefined;
  const errors: RecordError[] = [];
  const audit: AuditEntry[] = [];
  const direction = (d: SyncDirectionName) => d;

  // HubSpot now.
  const read = await ctx.hubspot.readAssociations(F.type, T.type, recs.map((r) => r.hsId));
  const failedRead = new Set<string>();
  for (const e of read.errors) {
    const r = e.index >= 0 ? recs[e.index] : undefined;
    if (!r) continue;
    failedRead.add(r.hsId);
    errors.push({ objectType: F.type, hubspotId: r.hsId, targetKey: r.key, direction: 'toTarget', category: e.category, message: `${a.field}: reading the associations of ${F.type} ${r.hsId} failed: ${e.message}`, correlationId: e.correlationId });
  }
  const wanted = (x: AssociatedRecord) =>
    (a.label === undefined || x.types.some((t) => t.label !== null && t.label.toLowerCase() === a.label!.toLowerCase())) &&
    (primary === undefined || x.types.some((t) => t.typeId === primary));
  const hsNow = new Map<string, string[]>();
  for (const r of recs) {
    if (failedRead.has(r.hsId)) continue;
    let list = (read.results.get(r.hsId) ?? []).filter(wanted).map((x) => x.toId);
    if (single) list = list.slice(0, 1);
    hsNow.set(r.hsId, list);
  }

  // The target now (target keys of the other table).
  const tgNow = new Map<string, string[]>();
  if (a.column) {
    const rows = await ctx.target.rows.selectRows(a.from.table, recs.map((r) => r.key), [a.column]);
    for (const r of recs) {
      const v = rows.get(r.key)?.[a.column];
      tgNow.set(r.key, v === null || v === undefined ? [] : [v instanceof Date ? v.toISOString() : String(v)]);
    }
  } else {
    const rows = await store.linkRows(a.link!, recs.map((r) => r.key));
    for (const r of recs) tgNow.set(r.key, rows.get(r.key) ?? []);
  }

  // Translate through the other type's links.
  const hsToKey = new Map<string, string>();
  const keyToHs = new Map<string, string>();
  const allHs = [...new Set([...hsNow.values()].flat())];
  const allKeys = [...new Set([...tgNow.values()].flat())];
  const base = await store.syncedPairs(a.name, recs.map((r) => r.hsId));
  const baseIds = [...new Set([...base.values()].flat())];
  for (const [id, l] of await ctx.state.linksByHubSpotIds(T.type, [...new Set([...allHs, ...baseIds])])) if (!l.deletedSide) hsToKey.set(id, l.targetKey);
  for (const [k, l] of await ctx.state.linksByTargetKeys(T.type, allKeys)) if (!l.deletedSide) keyToHs.set(k, l.hubspotId);
  // Both ways: an end known only from the target side translates back to its row.
  for (const [k, id] of keyToHs) if (!hsToKey.has(id)) hsToKey.set(id, k);

  // HubSpot ends not linked: excluded by a SyncFilter of the other type (skipped), else pending.
  const unlinkedHs = allHs.filter((id) => !hsToKey.has(id));
  const filteredOut = new Set<string>();
  if (unlinkedHs.length && T.filters.length) {
    const props = [...new Set(T.filters.flatMap((f) => f.rules.map((r) => r.property)))];
    for (const part of chunks(unlinkedHs, 100)) {
      const res = await ctx.hubspot.batchRead(T.type, { ids: part, properties: props });
      for (const o of res.results) {
        const r = evaluateFilters(T.filters, 'toTarget', (p) => T.propertyTypes.get(p), (p) => o.properties[p]);
        if (!r.pass) filteredOut.add(o.id);
      }
    }
  }

  const creates: { rec: FromRecord; toId: string }[] = [];
  const archives: { rec: FromRecord; toId: string }[] = [];
  const fkUpdates: { rec: FromRecord; value: string | null }[] = [];
  const linkInserts: { rec: FromRecord; toKey: string }[] = [];
  const linkDeletes: { rec: FromRecord; toKey: string }[] = [];
  const settled = new Map<string, string[]>();
  const pendingHs: { fromKey: string; toKey: string }[] = [];
  const pendingTg: { fromKey: string; toKey: string }[] = [];
  let skipped = 0;

  for (const rec of recs) {
    const hAll = hsNow.get(rec.hsId);
    if (!hAll) continue; // read failed: retried next cycle
    const H: string[] = [];
    const hPending: string[] = [];
    for (const id of hAll) {
      if (hsToKey.has(id)) H.push(id);
      else if (filteredOut.has(id)) {
        skipped++;
        audit.push({ objectType: F.type, direction: 'toTarget', operation: 'associate', hubspotId: rec.hsId, targetKey: rec.key, outcome: 'skipped', message: `${a.field}: ${T.type} ${id} is excluded by a SyncFilter` });
      } else hPending.push(id);
    }
    const G: string[] = [];
    const gPending: string[] = [];
    for (const k of tgNow.get(rec.key) ?? []) {
      const id = keyToHs.get(k);
      if (id) G.push(id);
      else gPending.push(k);
    }
    for (const id of hPending) pendingHs.push({ fromKey: rec.hsId, toKey: id });
    for (const k of gPending) pendingTg.push({ fromKey: rec.key, toKey: k });
    const B = (base.get(rec.hsId) ?? []).filter((id) => hsToKey.has(id));
    // A FK with an end not linked yet waits as a whole (never a dangling key, never a guess).
    if (single && (hPending.length || gPending.length)) continue;
    const D = merge(single, F.toTarget, F.toHubSpot, H, G, B);
    const dSet = new Set(D);
    if (F.toHubSpot) {
      const hSet = new Set([...H, ...hPending]);
      for (const id of D) if (!hSet.has(id)) creates.push({ rec, toId: id });
      for (const id of H) if (!dSet.has(id)) archives.push({ rec, toId: id });
    }
    if (F.toTarget) {
      if (single) {
        const want = D[0] !== undefined ? hsToKey.get(D[0])! : null;
        const cur = (tgNow.get(rec.key) ?? [])[0] ?? null;
        if (want !== cur) fkUpdates.push({ rec, value: want });
      } else {
        const gSet = new Set(G);
        for (const id of D) if (!gSet.has(id)) linkInserts.push({ rec, toKey: hsToKey.get(id)! });
        for (const id of G) if (!dSet.has(id)) linkDeletes.push({ rec, toKey: hsToKey.get(id)! });
      }
    }
    settled.set(rec.hsId, D);
  }

  // HubSpot writes (v4 batches); a failed pair keeps its record out of the settled state (retried).
  const typesFor = (): Partial<AssociationInput> =>
    a.label !== undefined ? { label: a.label } : primary !== undefined ? { types: [{ category: 'HUBSPOT_DEFINED', typeId: primary }] } : {};
  const unsettle = (list: { rec: FromRecord; toId: string }[], errs: BatchInputError[], op: 'associate' | 'dissociate') => {
    const bad = new Set<number>();
    for (const e of errs) {
      const item = list[e.index];
      if (!item) continue;
      bad.add(e.index);
      settled.delete(item.rec.hsId);
      errors.push({ objectType: F.type, hubspotId: item.rec.hsId, targetKey: item.rec.key, direction: 'toHubSpot', category: e.category, message: `${a.field}: ${op === 'associate' ? 'creating' : 'archiving'} the association of ${F.type} ${item.rec.hsId} with ${T.type} ${item.toId} failed: ${e.message}`, correlationId: e.correlationId });
      audit.push({ objectType: F.type, direction: 'toHubSpot', operation: op, hubspotId: item.rec.hsId, targetKey: item.rec.key, outcome: 'failed', category: e.category, message: e.message });
    }
    let ok = 0;
    list.forEach((item, i) => {
      if (bad.has(i)) return;
      ok++;
      audit.push({ objectType: F.type, direction: 'toHubSpot', operation: op, hubspotId: item.rec.hsId, targetKey: item.rec.key, outcome: 'ok', message: `${T.type} ${item.toId}` });
    });
    if (ok) ctx.observer?.recordsSynced?.(F.type, 'toHubSpot', op, ok);
  };
  if (archives.length) {
    // A FK removal archives the association whole; a labelled entry only its label.
    const res = await ctx.hubspot.archiveAssociations(F.type, T.type, archives.map((x) => ({ fromId: x.rec.hsId, toId: x.toId, ...(a.label !== undefined ? { label: a.label } : {}) })));
    unsettle(archives, res.errors, 'dissociate');
  }
  if (creates.length) {
    const res = await ctx.hubspot.createAssociations(F.type, T.type, creates.map((x) => ({ fromId: x.rec.hsId, toId: x.toId, ...typesFor() })));
    unsettle(creates, res.errors, 'associate');
  }

  // Stale pending ends after a full reconciliation: a record error naming the row.
  if (full) {
    const old = (await store.pending(a.name)).filter((p) => p.sinceMs < cycleStartMs);
    const stillHs = new Set(pendingHs.map((p) => `${p.fromKey}\n${p.toKey}`));
    const stillTg = new Set(pendingTg.map((p) => `${p.fromKey}\n${p.toKey}`));
    for (const p of old) {
      if (p.side === 'target' && stillTg.has(`${p.fromKey}\n${p.toKey}`)) {
        errors.push({ objectType: F.type, targetKey: p.fromKey, direction: 'toHubSpot', category: 'NotFound', message: `${a.field}: ${F.table} row ${p.fromKey} points at ${T.table} row ${p.toKey}, which is not linked to a HubSpot ${T.type} record` });
      } else if (p.side === 'hubspot' && stillHs.has(`${p.fromKey}\n${p.toKey}`)) {
        errors.push({ objectType: F.type, hubspotId: p.fromKey, direction: 'toTarget', category: 'NotFound', message: `${a.field}: ${F.type} ${p.fromKey} is associated with ${T.type} ${p.toKey}, which has no row in ${T.table}` });
      }
    }
  }

  // Errors this association recorded earlier for records now settled (a pending end that linked).
  const stale: RecordError[] = [];
  if (hadPending && settled.size) {
    const ids = new Set(settled.keys());
    const keys = new Set(recs.filter((r) => settled.has(r.hsId)).map((r) => r.key));
    for (const e of await ctx.state.listErrors(10_000)) {
      if (e.objectType !== F.type || !e.message.startsWith(`${a.field}:`)) continue;
      if ((e.hubspotId && ids.has(e.hubspotId)) || (e.targetKey && keys.has(e.targetKey))) stale.push(e);
    }
  }

  await ctx.target.transaction(
    async (tx) => {
      const as = tx.associations!;
      if (fkUpdates.length) {
        const failures = await tx.rows.updateRows(a.from.table, fkUpdates.map((u) => ({ key: u.rec.key, values: { [a.column!]: u.value } })));
        const bad = new Set(failures.map((f) => f.index));
        for (const f of failures) {
          const u = fkUpdates[f.index]!;
          settled.delete(u.rec.hsId);
          errors.push({ objectType: F.type, hubspotId: u.rec.hsId, targetKey: u.rec.key, direction: 'toTarget', category: 'Target', message: `${a.field}: ${F.table} row ${u.rec.key}: setting ${a.column} failed: ${f.message}` });
        }
        fkUpdates.forEach((u, i) => {
          if (bad.has(i)) return;
          audit.push({ objectType: F.type, direction: direction('toTarget'), operation: u.value === null ? 'dissociate' : 'associate', hubspotId: u.rec.hsId, targetKey: u.rec.key, outcome: 'ok', message: `${a.column} = ${u.value ?? 'NULL'}` });
        });
        const assoc = fkUpdates.filter((u, i) => !bad.has(i) && u.value !== null).length;
        ctx.observer?.recordsSynced?.(F.type, 'toTarget', 'associate', assoc);
        ctx.observer?.recordsSynced?.(F.type, 'toTarget', 'dissociate', fkUpdates.length - bad.size - assoc);
      }
      if (linkDeletes.length) {
        await as.deleteLinkRows(a.link!, linkDeletes.map((x) => ({ fromKey: x.rec.key, toKey: x.toKey })));
        for (const x of linkDeletes) audit.push({ objectType: F.type, direction: 'toTarget', operation: 'dissociate', hubspotId: x.rec.hsId, targetKey: x.rec.key, outcome: 'ok', message: `${a.link!.table} ${T.table} row ${x.toKey}` });
        ctx.observer?.recordsSynced?.(F.type, 'toTarget', 'dissociate', linkDeletes.length);
      }
      if (linkInserts.length) {
        await as.insertLinkRows(a.link!, linkInserts.map((x) => ({ fromKey: x.rec.key, toKey: x.toKey })));
        for (const x of linkInserts) audit.push({ objectType: F.type, direction: 'toTarget', operation: 'associate', hubspotId: x.rec.hsId, targetKey: x.rec.key, outcome: 'ok', message: `${a.link!.table} ${T.table} row ${x.toKey}` });
        ctx.observer?.recordsSynced?.(F.type, 'toTarget', 'associate', linkInserts.length);
      }
      const done = [...settled.keys()];
      await as.setSyncedPairs(a.name, done, done.flatMap((id) => settled.get(id)!.map((toId) => ({ fromId: id, toId }))));
      await as.setPending(a.name, 'hubspot', recs.map((r) => r.hsId), pendingHs);
      await as.setPending(a.name, 'target', recs.map((r) => r.key), pendingTg);
      if (stale.length) for (const e of stale) await tx.state.clearErrors(F.type, e.hubspotId ? [e.hubspotId] : [], e.targetKey ? [e.targetKey] : [], e.direction);
      if (errors.length) await tx.state.recordErrors(errors);
      if (audit.length) await tx.state.audit(audit);
    },
    { writer: true, lock: `assoc.${a.name}` },
  );
  if (errors.length) {
    countersOf(ctx, F.type).failed += errors.length;
    for (const [cat, n] of countBy(errors.map((e) => e.category))) ctx.observer?.syncErrors?.(F.type, cat as never, n);
  }
  if (skipped) ctx.logger.info({ objectType: F.type, association: a.field, skipped }, 'associations to records excluded by a SyncFilter skipped');
}

function countBy(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

// ---- planning: spec checks, createTables, runtimes ------------------------------------------------


interface AssocEntry {
  objIndex: number;
  index: number;
  field: string;
  from: SyncedObjectSpec;
  to?: SyncedObjectSpec;
  column?: string;
  link?: LinkTableRef;
  label?: string;
  name: string;
}

function entries(objects: readonly SyncedObjectSpec[], schema: string): AssocEntry[] {
  const out: AssocEntry[] = [];
  objects.forEach((o, i) => {
    (o.associations ?? []).forEach((a, j) => {
      const to = objects.find((x) => x.type === a.to);
      const link = a.table !== undefined ? { schema, table: a.table, fromColumn: a.fromColumn ?? `${singularOf(o.type)}_id`, toColumn: a.toColumn ?? `${singularOf(a.to)}_id` } : undefined;
      out.push({
        objIndex: i,
        index: j,
        field: `spec.objects[${i}].associations[${j}]`,
        from: o,
        to,
        column: a.column,
        link,
        label: a.label,
        name: `${o.type}>${a.to}>${a.column !== undefined ? `column:${a.column}` : `table:${a.table}`}${a.label !== undefined ? `>${a.label}` : ''}`,
      });
    });
  });
  return out;
}

/**
 * Spec problems of the associations that only the target and the plans can show: `to` not in
 * spec.objects, a column or link table that does not exist (without createTables) or whose type
 * is not the other table's key type, a target without association support.
 */
export async function associationIssues(
  target: Connector,
  objects: readonly SyncedObjectSpec[],
  schema: string,
  createTables: boolean,
  pkKinds: Map<string, ColumnKind>,
  integration: string,
): Promise<SpecIssue[]> {
  const issues: SpecIssue[] = [];
  const issue = (field: string, message: string) => issues.push({ kind: 'HubSpotIntegration', name: integration, field, message });
  for (const e of entries(objects, schema)) {
    if (!target.associations) {
      issue(e.field, `associations are not supported by the ${target.kind} target yet`);
      continue;
    }
    if (!e.to) {
      issue(`${e.field}.to`, `object type "${e.from.associations![e.index]!.to}" is not synced by this integration; expected another type in spec.objects`);
      continue;
    }
    const fromKind = pkKinds.get(e.from.type);
    const toKind = pkKinds.get(e.to.type);
    if (e.column !== undefined) {
      const d = await target.describeTable(schema, e.from.table);
      const col = d?.columns.get(e.column);
      if (!col) {
        if (!createTables) issue(`${e.field}.column`, `column "${e.column}" does not exist in table ${e.from.table} (create it with the type of ${e.to.table}.${e.to.primaryKey ?? 'id'}, or set createTables)`);
      } else if (toKind && col.kind !== toKind) {
        issue(`${e.field}.column`, `column ${e.from.table}.${e.column} is ${col.dataType}, but it must hold keys of ${e.to.table} (${e.to.primaryKey ?? 'id'}, ${toKind})`);
      }
    } else if (e.link) {
      const d = await target.describeTable(schema, e.link.table);
      if (!d) {
        if (!createTables) issue(`${e.field}.table`, `link table "${e.link.table}" does not exist (create it with columns ${e.link.fromColumn} and ${e.link.toColumn}, or set createTables)`);
        continue;
      }
      for (const [which, colName, kind, other] of [['fromColumn', e.link.fromColumn, fromKind, e.from], ['toColumn', e.link.toColumn, toKind, e.to]] as const) {
        const col = d.columns.get(colName);
        if (!col) issue(`${e.field}.${which}`, `column "${colName}" does not exist in link table ${e.link.table}`);
        else if (kind && col.kind !== kind) issue(`${e.field}.${which}`, `column ${e.link.table}.${colName} is ${col.dataType}, but it must hold keys of ${other.table} (${kind})`);
      }
    }
  }
  return issues;
}

/** createTables: add FK columns and link tables; install capture on link tables; the runtimes of the pass. */
export async function prepareAssociations(
  target: Connector,
  objects: readonly SyncedObjectSpec[],
  schema: string,
  createTables: boolean,
  runtimes: ObjectRuntime[],
  capture: (t: TableRef) => Promise<void>,
): Promise<AssociationRuntime[]> {
  const out: AssociationRuntime[] = [];
  for (const e of entries(objects, schema)) {
    const from = runtimes.find((r) => r.plan.type === e.from.type);
    const to = runtimes.find((r) => r.plan.type === e.to?.type);
    if (!from || !to) continue;
    if (createTables && e.column !== undefined) {
      const d = await target.describeTable(schema, e.from.table);
      if (!d?.columns.has(e.column)) await target.ensureTable(from.table, [{ column: e.column, kind: to.plan.pkKind }]);
    }
    if (e.link) {
      if (createTables && target.ensureLinkTable && !(await target.describeTable(schema, e.link.table))) {
        const keyType = async (r: ObjectRuntime) => r.table.keyDataType ?? (await target.describeTable(r.table.schema, r.table.table))?.columns.get(r.table.primaryKey)?.dataType ?? 'text';
        await target.ensureLinkTable(e.link, { ...from.table, keyDataType: await keyType(from) }, { ...to.table, keyDataType: await keyType(to) });
      }
      if (from.plan.toHubSpot) await capture(linkCaptureRef(e.link));
    }
    out.push({ name: e.name, field: e.field, from, to, column: e.column, link: e.link, label: e.label });
  }
  return out;
}

/** Linked and pending associations per from-type, for the status. */
export async function associationCounts(target: Connector, objects: readonly SyncedObjectSpec[], schema: string): Promise<Map<string, { linked: number; pending: number }>> {
  const out = new Map<string, { linked: number; pending: number }>();
  if (!target.associations) return out;
  for (const e of entries(objects, schema)) {
    const c = await target.associations.counts(e.name);
    const cur = out.get(e.from.type) ?? { linked: 0, pending: 0 };
    out.set(e.from.type, { linked: cur.linked + c.linked, pending: cur.pending + c.pending });
  }
  return out;
}

/** The link tables of the spec as capture targets (for cleanup). */
export function associationCaptureRefs(objects: readonly SyncedObjectSpec[], schema: string): TableRef[] {
  return entries(objects, schema)
    .filter((e) => e.link && [e.link.table, e.link.fromColumn].every((x) => /^[a-z_][a-z0-9_]{0,62}$/.test(x)))
    .map((e) => linkCaptureRef(e.link!));
}
