/**
 * HubSpot → target: apply one page of HubSpot records to the target table. The page's row
 * writes, links, queued HubSpot corrections, errors, audit entries and the caller's cursor
 * advance commit in ONE transaction marked as the operator's own write (so the capture trigger
 * ignores it): a crash before the commit replays the page, after it resumes with the next one.
 *
 * Per record: filtered out → skipped (not deleted); unchanged since the last sync (hash) →
 * skipped; linked → reconciled field by field; unlinked → linked by the normalised match key
 * (two target rows with one key → `Duplicate`), else created when create.inTarget allows.
 */
import type { HubSpotObject } from '../hubspot/types.js';
import { KEY_FIELD, matchKey, type LinkRow, type PendingChange, type Row, type TableRef, type TargetTx } from '../target/connector.js';
import { missingRequired, reconcile, type Baseline } from './conflict.js';
import { baselineHashes, countersOf, errorMessage, externalIdOf, hsHashOf, hsModifiedOf, hsValuesOf, tgHashOf, tgValuesOf, type SyncContext } from './context.js';
import { evaluateFilters } from './filter.js';
import { hubspotIdInRow, hubspotIdPatch, ifUnchangedSince, rowColumns } from './hubspot-id.js';
import { BatchLedger } from './ledger.js';
import type { ObjectPlan } from './mapping.js';
import { isConversionError, type Canon } from './values.js';

/** A HubSpot record of the page that may need a write, with what is known about its target side. */
interface Planned {
  o: HubSpotObject;
  hsModified?: number;
  link?: LinkRow;
  row?: Row;
  /** Why the record cannot be linked (a `Duplicate` error). */
  duplicate?: string;
  /** Unchanged since the last sync by its hash: only read to verify the pair (full reconciliation). */
  verifyOnly?: boolean;
}

interface Insert {
  p: Planned;
  values: Row;
  baseline: Baseline;
}
interface Update {
  p: Planned;
  key: string;
  values: Row;
  baseline: Baseline;
  /** HubSpot needs a correction too (queued for the push pass). */
  hsPatch: boolean;
  /** Nothing to write in the target: only the link (and its baseline) changes. */
  linkOnly: boolean;
}

export interface PullPageOptions {
  /** Look unlinked records up by match key (skipped when the target had no rows to link). */
  matchLookup: boolean;
  /**
   * The page comes from search, which is eventually consistent: a record older than the time
   * its link already reflects is a stale view and is skipped. Lists (full pass, import) are
   * current and always reconciled, so real drift is still repaired.
   */
  fromSearch?: boolean;
  table: TableRef;
  /**
   * Full reconciliation: verify every linked pair field by field (not only the HubSpot hash)
   * and repair differences through the conflict rules; `drifted` counts the pairs that
   * differed while HubSpot had not changed since the last sync.
   */
  verify?: boolean;
  /** Advance the cursor inside the page transaction; `matched` = records of the page that passed the filters, `drifted` = pairs found drifted. */
  commitCursor(tx: TargetTx, matched: number, drifted: number): Promise<void>;
}

export interface PullPageResult {
  matched: number;
  drifted: number;
}

export async function applyHubSpotPage(ctx: SyncContext, plan: ObjectPlan, records: HubSpotObject[], opts: PullPageOptions): Promise<PullPageResult> {
  const passing = filterPage(ctx, plan, records);
  const matched = passing.length;
  ctx.touched?.('hubspot', plan.type, passing.map((o) => o.id));
  const drift = { records: 0 };
  const ledger = new BatchLedger(ctx, plan, 'toTarget', { commitCursor: (tx) => opts.commitCursor(tx, matched, drift.records) });
  const t = opts.table;

  const todo = await planChanged(ctx, plan, passing, ledger, opts.fromSearch === true, opts.verify === true);
  if (todo.length === 0 && !ledger.hasEntries) {
    await ctx.target.transaction((tx) => opts.commitCursor(tx, matched, 0), { writer: true });
    return { matched, drifted: 0 };
  }
  const pendingTargetKeys = await readTargetSide(ctx, plan, t, todo);
  if (opts.matchLookup && plan.hubspotIdColumn) await linkByHubSpotIdColumn(ctx, plan, t, todo);
  if (opts.matchLookup) await matchUnlinked(ctx, plan, t, todo);
  const { inserts, updates } = decide(plan, todo, pendingTargetKeys, ledger, opts.verify === true ? drift : undefined);
  if (opts.verify && drift.records) ctx.logger.info({ objectType: plan.type, records: drift.records }, 'verification: linked records differed on the two sides; repairing');
  await writePage(ctx, plan, t, inserts, updates, ledger);
  return { matched, drifted: drift.records };
}

/** The live records of the page that pass the SyncFilters (counted per filter). */
function filterPage(ctx: SyncContext, plan: ObjectPlan, records: HubSpotObject[]): HubSpotObject[] {
  const counters = countersOf(ctx, plan.type);
  const typeOf = (p: string) => plan.propertyTypes.get(p);
  const passing: HubSpotObject[] = [];
  for (const o of records) {
    if (o.archived) continue;
    const r = evaluateFilters(plan.filters, 'toTarget', typeOf, (p) => o.properties[p]);
    for (const n of r.matched) counters.filterMatches[n] = (counters.filterMatches[n] ?? 0) + 1;
    if (r.pass) passing.push(o);
  }
  return passing;
}

/** Records that changed since the last sync and can sync (a missing required value is a `Validation` error). */
async function planChanged(ctx: SyncContext, plan: ObjectPlan, passing: HubSpotObject[], ledger: BatchLedger, fromSearch: boolean, verify: boolean): Promise<Planned[]> {
  const links = await ctx.state.linksByHubSpotIds(plan.type, passing.map((o) => o.id));
  const todo: Planned[] = [];
  for (const o of passing) {
    const link = links.get(o.id);
    if (link?.deletedSide) continue; // tombstone: a delete was not propagated; never resurrect
    const unchanged = !!link && link.hsHash === hsHashOf(plan, hsValuesOf(plan.fields, o.properties));
    if (unchanged && !verify) continue;
    const hsModified = hsModifiedOf(plan, o);
    // A search view older than what the link reflects (search lags writes; the lookback re-reads
    // old versions): applying it would write HubSpot's previous values over the table. An equal
    // time with other values is applied (a real change HubSpot stamped in the same millisecond
    // must not be lost; reconciling against the baseline makes a replay harmless).
    if (fromSearch && link?.hsModified != null && hsModified !== undefined && hsModified < link.hsModified) continue;
    const missing = missingRequired(plan.fields, 'hs', o.properties);
    if (missing.length) {
      ledger.fail({ hubspotId: o.id, targetKey: link?.targetKey }, 'Validation', `${plan.type} ${o.id}: required ${missing.map((m) => `"${m}"`).join(', ')} is empty`);
      continue;
    }
    todo.push({ o, link, hsModified, verifyOnly: unchanged });
  }
  return withoutOwnPendingCreates(ctx, plan, todo);
}

/**
 * The operator's own creates whose link commit was lost (killed, or its connection dropped,
 * between HubSpot's answer and the commit): every create carries the external ID `uid:key`.
 * While that key has captured changes pending, the push pass owns the record — its upsert
 * replays the create idempotently with the row's CURRENT values and links it, or archives the
 * record when the row was deleted — so the pull never links it as a first sight and lets the
 * row's old values (the ones the operator created) beat its later changes.
 */
async function withoutOwnPendingCreates(ctx: SyncContext, plan: ObjectPlan, todo: Planned[]): Promise<Planned[]> {
  const prefix = externalIdOf(ctx.uid, '');
  const own = new Map<Planned, string>();
  for (const p of todo) {
    const v = p.link ? undefined : p.o.properties[ctx.externalIdProperty];
    if (typeof v === 'string' && v.startsWith(prefix) && v.length > prefix.length) own.set(p, v.slice(prefix.length));
  }
  if (own.size === 0) return todo;
  const pending = new Set((await ctx.state.outboxFor(plan.table, [...new Set(own.values())])).map((e) => e.key));
  return todo.filter((p) => {
    const key = own.get(p);
    return key === undefined || !pending.has(key);
  });
}

/**
 * The target rows of linked records, and the linked keys with target changes not pushed yet:
 * their capture time is the target's modification time (NewestWins).
 */
async function readTargetSide(ctx: SyncContext, plan: ObjectPlan, t: TableRef, todo: Planned[]): Promise<Map<string, PendingChange>> {
  const linkedKeys = todo.filter((p) => p.link).map((p) => p.link!.targetKey);
  // With a version token: the page's update of a row is conditional on it (see writePage).
  const rows = await ctx.target.rows.selectRows(t, linkedKeys, rowColumns(plan), { version: true });
  const pending = new Map<string, PendingChange>();
  if (linkedKeys.length) {
    for (const e of await ctx.state.outboxFor(plan.table, linkedKeys)) pending.set(e.key, e);
  }
  for (const p of todo) if (p.link) p.row = rows.get(p.link.targetKey);
  return pending;
}

/**
 * hubspotIdColumn: link unlinked records to the row holding their HubSpot ID, before any match
 * key. Two rows holding one ID, or a row already linked to another record, make a `Duplicate`.
 */
async function linkByHubSpotIdColumn(ctx: SyncContext, plan: ObjectPlan, t: TableRef, todo: Planned[]): Promise<void> {
  const col = plan.hubspotIdColumn!;
  const unlinked = todo.filter((p) => !p.link && !p.row);
  if (unlinked.length === 0) return;
  const found = await ctx.target.rows.selectByMatch(t, col, 'digits', unlinked.map((p) => p.o.id), rowColumns(plan));
  const byId = new Map<string, Row[]>();
  for (const r of found) {
    const id = hubspotIdInRow(plan, r);
    if (id !== undefined) byId.set(id, [...(byId.get(id) ?? []), r]);
  }
  const links = await ctx.state.linksByTargetKeys(plan.type, found.map((r) => String(r[KEY_FIELD])));
  for (const p of unlinked) {
    const rows = byId.get(p.o.id) ?? [];
    if (rows.length > 1) {
      p.duplicate = `${plan.type} ${p.o.id}: ${rows.length} target rows have ${col} = ${p.o.id} (keys ${rows.map((r) => r[KEY_FIELD]).join(', ')}); remove the duplicate`;
      continue;
    }
    const row = rows[0];
    if (!row) continue;
    const other = links.get(String(row[KEY_FIELD]))?.hubspotId;
    if (other && other !== p.o.id) {
      p.duplicate = `${plan.type} ${p.o.id}: target row ${row[KEY_FIELD]} with ${col} = ${p.o.id} is already linked to HubSpot record ${other}`;
      continue;
    }
    p.row = row;
  }
}

/**
 * Link unlinked records to target rows by the normalised match key. Two rows with one key, or a
 * row already linked to another record (before or in this page), make the record a `Duplicate`.
 */
async function matchUnlinked(ctx: SyncContext, plan: ObjectPlan, t: TableRef, todo: Planned[]): Promise<void> {
  const unlinked = todo.filter((p) => !p.link && !p.row && !p.duplicate);
  const match = plan.match;
  if (unlinked.length === 0 || !match) return;
  const keyOf = (p: Planned) => matchKey(p.o.properties[match.property], match.how);
  const wanted = [...new Set(unlinked.map(keyOf).filter((k): k is string => k !== null))];
  const candidates = await ctx.target.rows.selectByMatch(t, match.column, match.how, wanted, rowColumns(plan));
  const byKey = new Map<string, Row[]>();
  for (const r of candidates) {
    const k = matchKey(r[match.column], match.how);
    if (k !== null) byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const candidateLinks = await ctx.state.linksByTargetKeys(plan.type, candidates.map((r) => String(r[KEY_FIELD])));
  const claimed = new Map<string, string>(); // target key → HubSpot ID linking to it in this page
  for (const p of unlinked) {
    const k = keyOf(p);
    const found = k === null ? [] : (byKey.get(k) ?? []);
    if (found.length > 1) {
      p.duplicate = `${plan.type} ${p.o.id}: ${found.length} target rows have ${match.column} = ${JSON.stringify(k)} (keys ${found.map((r) => r[KEY_FIELD]).join(', ')}); link one by hand or remove the duplicate`;
      continue;
    }
    const row = found[0];
    if (!row) continue;
    const key = String(row[KEY_FIELD]);
    const other = candidateLinks.get(key)?.hubspotId ?? claimed.get(key);
    if (other && other !== p.o.id) {
      p.duplicate = `${plan.type} ${p.o.id}: target row ${key} with ${match.column} = ${JSON.stringify(k)} is already linked to HubSpot record ${other}`;
      continue;
    }
    const claims = hubspotIdInRow(plan, row);
    if (claims !== undefined && claims !== p.o.id) {
      p.duplicate = `${plan.type} ${p.o.id}: target row ${key} with ${match.column} = ${JSON.stringify(k)} holds another HubSpot ID (${plan.hubspotIdColumn} = ${claims})`;
      continue;
    }
    claimed.set(key, p.o.id);
    p.row = row;
  }
}

/** Reconcile every record field by field into the writes of the page; duplicates and conversion failures are rejected. */
function decide(
  plan: ObjectPlan,
  todo: Planned[],
  pendingTargetKeys: Map<string, PendingChange>,
  ledger: BatchLedger,
  drift?: { records: number },
): { inserts: Insert[]; updates: Update[] } {
  const inserts: Insert[] = [];
  const updates: Update[] = [];
  for (const p of todo) {
    if (p.duplicate) {
      ledger.fail({ hubspotId: p.o.id }, 'Duplicate', p.duplicate);
      continue;
    }
    const key = p.link?.targetKey ?? (p.row ? String(p.row[KEY_FIELD]) : undefined);
    if (p.link && !p.row && pendingTargetKeys.has(p.link.targetKey)) continue; // deleted in the target; the push pass handles it
    // Verification of a pair whose target row is gone or has captured changes pending: the push pass decides it.
    if (p.verifyOnly && (!p.row || pendingTargetKeys.has(p.link!.targetKey))) continue;
    try {
      if (p.row && key !== undefined) {
        const r = reconcile(plan.fields, {
          hs: p.o.properties,
          tg: p.row,
          baseline: p.link ? { hs: p.link.hsValues, tg: p.link.tgValues } : undefined,
          hsModified: p.hsModified,
          // The table's change times come from captured rows only: the operator's own recheck
          // rows (R) never make the table look newer.
          tgModified: (p.link && pendingTargetKeys.get(p.link.targetKey)?.lastChangedMs) ?? p.link?.tgModified,
          tgFieldModified: p.link && pendingTargetKeys.get(p.link.targetKey)?.columnChangedMs,
          hubspotWritesDeferred: true,
        });
        ledger.conflict({ hubspotId: p.o.id, targetKey: key }, r.conflicts);
        const values = { ...r.targetPatch, ...hubspotIdPatch(plan, p.row, p.o.id) };
        const linkOnly = Object.keys(values).length === 0;
        const hsPatch = Object.keys(r.hubspotPatch).length > 0 || !!r.deferred;
        if (drift && p.link && !pendingTargetKeys.has(p.link.targetKey)) {
          const drifted = isDrift(plan, p.link, p.o, p.row, !linkOnly || hsPatch);
          if (drifted) drift.records++;
          else if (p.verifyOnly) continue; // verified: in sync
        }
        updates.push({ p, key, values, baseline: r.baseline, hsPatch, linkOnly });
      } else if (plan.createInTarget && plan.toTarget) {
        const r = reconcile(plan.fields, { hs: p.o.properties, hubspotWritesDeferred: true });
        const values: Row = { ...r.targetPatch };
        if (!plan.pkHasDefault) values[plan.primaryKey] = p.o.id;
        if (plan.hubspotIdColumn) values[plan.hubspotIdColumn] = p.o.id;
        inserts.push({ p, values, baseline: r.baseline });
      }
    } catch (err) {
      if (!isConversionError(err)) throw err;
      ledger.fail({ hubspotId: p.o.id, targetKey: key }, 'Mapping', `${plan.type} ${p.o.id}: ${errorMessage(err)}`);
    }
  }
  return { inserts, updates };
}

function sameValues(keys: string[], a: Record<string, Canon>, b: Record<string, Canon>): boolean {
  return keys.every((k) => (a[k] ?? null) === (b[k] ?? null));
}

/**
 * Verification of a linked pair: drift is a difference HubSpot did not cause since the last sync
 * (its values equal the link's): a target value changed behind the operator's back (not
 * captured), a link whose hashes do not match its values, or mapped values that differ.
 * A record HubSpot changed since the last sync is ordinary work, not drift.
 */
function isDrift(plan: ObjectPlan, link: LinkRow, o: HubSpotObject, row: Row, valuesDiffer: boolean): boolean {
  const hsNow = hsValuesOf(plan.fields, o.properties);
  if (!sameValues(plan.fields.map((f) => f.property), hsNow, link.hsValues)) return false;
  if (valuesDiffer) return true;
  if (!sameValues(plan.fields.map((f) => f.column), tgValuesOf(plan.fields, row), link.tgValues)) return true;
  return link.hsHash !== hsHashOf(plan, link.hsValues) || link.tgHash !== tgHashOf(plan, link.tgValues);
}

/**
 * One operator-marked transaction: target rows, links, queued HubSpot corrections, the ledger
 * (errors, audit) and the cursor. Page commits of an object type are serialised by a lock — a
 * safety net for two workers on one integration (a leader hand-over) — and a record another
 * worker linked meanwhile is not created again.
 */
async function writePage(ctx: SyncContext, plan: ObjectPlan, t: TableRef, inserts: Insert[], updates: Update[], ledger: BatchLedger): Promise<void> {
  await ctx.target.transaction(
    async (tx) => {
      const newLinks: LinkRow[] = [];
      const recheck: string[] = [];
      if (inserts.length) {
        const linkedNow = await tx.state.linksByHubSpotIds(plan.type, inserts.map((i) => i.p.o.id));
        if (linkedNow.size) inserts = inserts.filter((i) => !linkedNow.has(i.p.o.id));
      }
      const ins = await tx.rows.insertRows(t, inserts.map((i) => i.values));
      const failedIns = new Map(ins.failures.map((f) => [f.index, f.message]));
      inserts.forEach((i, idx) => {
        const err = failedIns.get(idx);
        const key = ins.keys[idx];
        const id = i.p.o.id;
        if (err !== undefined || key === undefined) {
          ledger.fail({ hubspotId: id }, 'Target', `${plan.type} ${id}: insert into ${plan.schema}.${plan.table} failed: ${err ?? 'no key returned'}`);
          return;
        }
        newLinks.push({ hubspotId: id, targetKey: key, hsValues: i.baseline.hs, tgValues: i.baseline.tg, ...baselineHashes(plan, i.baseline), hsModified: i.p.hsModified });
        ledger.ok({ hubspotId: id, targetKey: key }, 'create', { count: 'created', changes: { after: i.values } });
      });

      // Each row update is conditional on the row still holding what was read (its version
      // token): the rows were read before this transaction, and a table edit committed since
      // must not be overwritten (a lost update). Such a row keeps its old link; its captured
      // edit and this HubSpot change meet in the push pass, through the conflict rules.
      const upd = await tx.rows.updateRows(
        t,
        updates.map((u) => ({ key: u.key, values: u.values, ...ifUnchangedSince(plan, u.p.row) })),
      );
      const failedUpd = new Map(upd.filter((f) => !f.changed).map((f) => [f.index, f.message]));
      const changedUpd = new Set(upd.filter((f) => f.changed).map((f) => f.index));
      updates.forEach((u, idx) => {
        const err = failedUpd.get(idx);
        const ref = { hubspotId: u.p.o.id, targetKey: u.key };
        if (changedUpd.has(idx)) {
          recheck.push(u.key);
          return;
        }
        if (err !== undefined) {
          ledger.fail(ref, 'Target', `${plan.type} ${u.p.o.id}: update of ${plan.schema}.${plan.table} key ${u.key} failed: ${err}`);
          return;
        }
        newLinks.push({
          hubspotId: u.p.o.id,
          targetKey: u.key,
          hsValues: u.baseline.hs,
          tgValues: u.baseline.tg,
          ...baselineHashes(plan, u.baseline),
          hsModified: u.p.hsModified,
          tgModified: u.p.link?.tgModified,
        });
        if (u.hsPatch) recheck.push(u.key);
        if (!u.linkOnly) ledger.ok(ref, u.p.link ? 'update' : 'link+update', { count: 'updated', changes: { after: u.values, before: u.p.row ?? {} } });
        else ledger.ok(ref, u.p.link ? undefined : 'link');
      });

      await tx.state.upsertLinks(plan.type, newLinks);
      // HubSpot corrections (ForwardOnly, FillEmpty, target-won conflicts) go through the push pass.
      await tx.state.enqueue(plan.table, recheck, 'R');
      await ledger.commit(tx);
    },
    { writer: true, lock: `pull.${plan.type}` },
  );
  ledger.committed();
}
