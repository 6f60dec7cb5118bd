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
import { KEY_FIELD, matchKey, type AuditEntry, type LinkRow, type RecordError, type Row, type TableRef, type TargetTx } from '../target/connector.js';
import { missingRequired, reconcile, type Baseline } from './conflict.js';
import {
  baselineHashes,
  countersOf,
  errorMessage,
  hsHashOf,
  hsModifiedOf,
  hsValuesOf,
  type SyncContext,
} from './context.js';
import { evaluateFilters } from './filter.js';
import type { ObjectPlan } from './mapping.js';
import { isConversionError } from './values.js';

export function tableRef(plan: ObjectPlan, keyDataType?: string): TableRef {
  return { schema: plan.schema, table: plan.table, primaryKey: plan.primaryKey, keyDataType };
}

export function matchNormalisation(plan: ObjectPlan): 'digits' | 'lowerTrim' {
  const f = plan.fields.find((x) => x.isMatch);
  return f && (f.propertyType === 'phone_number' || /phone|mobile/i.test(f.property)) ? 'digits' : 'lowerTrim';
}

interface Planned {
  o: HubSpotObject;
  hsModified?: number;
  link?: LinkRow;
  row?: Row;
  /** Why the record cannot be linked (a `Duplicate` error). */
  duplicate?: string;
}

export interface PullPageOptions {
  /** Look unlinked records up by match key (skipped when the target had no rows to link). */
  matchLookup: boolean;
  pkDataType?: string;
  /** Advance the cursor inside the page transaction; `matched` = records of the page that passed the filters. */
  commitCursor(tx: TargetTx, matched: number): Promise<void>;
}

export interface PullPageResult {
  matched: number;
}

export async function applyHubSpotPage(ctx: SyncContext, plan: ObjectPlan, records: HubSpotObject[], opts: PullPageOptions): Promise<PullPageResult> {
  const counters = countersOf(ctx, plan.type);
  const t = tableRef(plan, opts.pkDataType);
  const typeOf = (p: string) => plan.propertyTypes.get(p);
  const errors: RecordError[] = [];
  const audit: AuditEntry[] = [];
  const okHubSpotIds: string[] = [];
  const okTargetKeys: string[] = [];
  const fieldColumns = plan.fields.map((f) => f.column);
  let matched = 0;

  const fail = (o: HubSpotObject, category: string, message: string, targetKey?: string) => {
    errors.push({ objectType: plan.type, hubspotId: o.id, targetKey, direction: 'toTarget', category, message });
    audit.push({ objectType: plan.type, direction: 'toTarget', operation: 'sync', hubspotId: o.id, targetKey, outcome: 'failed', category, message });
    counters.failed++;
    ctx.observer?.syncErrors?.(plan.type, category as never, 1);
  };

  // 1. Filters, then links.
  const live = records.filter((o) => !o.archived);
  const passing: HubSpotObject[] = [];
  for (const o of live) {
    const r = evaluateFilters(plan.filters, 'toTarget', typeOf, (p) => o.properties[p]);
    for (const n of r.matched) counters.filterMatches[n] = (counters.filterMatches[n] ?? 0) + 1;
    if (r.pass) passing.push(o);
  }
  matched = passing.length;
  const links = await ctx.state.linksByHubSpotIds(plan.type, passing.map((o) => o.id));

  // 2. Skip what did not change since the last sync and what cannot sync.
  const todo: Planned[] = [];
  for (const o of passing) {
    const link = links.get(o.id);
    if (link?.deletedSide) continue; // tombstone: a delete was not propagated; never resurrect
    if (link && link.hsHash === hsHashOf(plan, hsValuesOf(plan.fields, o.properties))) continue;
    const missing = missingRequired(plan.fields, 'hs', o.properties);
    if (missing.length) {
      fail(o, 'Validation', `${plan.type} ${o.id}: required ${missing.map((m) => `"${m}"`).join(', ')} is empty`, link?.targetKey);
      continue;
    }
    todo.push({ o, link, hsModified: hsModifiedOf(plan, o) });
  }
  if (todo.length === 0 && errors.length === 0) {
    await ctx.target.transaction(async (tx) => opts.commitCursor(tx, matched), { writer: true });
    return { matched };
  }

  // 3. Target rows of linked records; match-key lookup for the others.
  const linkedKeys = todo.filter((p) => p.link).map((p) => p.link!.targetKey);
  const rows = await ctx.target.rows.selectRows(t, linkedKeys, fieldColumns);
  // Target changes not yet pushed: their capture time is the target's modification time (NewestWins).
  const pendingTargetKeys = new Map<string, number>();
  if (linkedKeys.length) {
    for (const e of await ctx.state.outboxFor(plan.table, linkedKeys)) pendingTargetKeys.set(e.key, e.lastCapturedMs);
  }
  for (const p of todo) if (p.link) p.row = rows.get(p.link.targetKey);

  const unlinked = todo.filter((p) => !p.link);
  const claimed = new Map<string, string>(); // target key → HubSpot ID linking to it in this page
  if (unlinked.length && plan.match && opts.matchLookup) {
    const how = matchNormalisation(plan);
    const wanted = [...new Set(unlinked.map((p) => matchKey(p.o.properties[plan.match!.property], how)).filter((k): k is string => k !== null))];
    const candidates = await ctx.target.rows.selectByMatch(t, plan.match.column, how, wanted, fieldColumns);
    const byKey = new Map<string, Row[]>();
    for (const r of candidates) {
      const k = matchKey(r[plan.match.column], how);
      if (k !== null) byKey.set(k, [...(byKey.get(k) ?? []), r]);
    }
    const candidateLinks = await ctx.state.linksByTargetKeys(plan.type, candidates.map((r) => String(r[KEY_FIELD])));
    for (const p of unlinked) {
      const k = matchKey(p.o.properties[plan.match.property], how);
      const found = k === null ? [] : (byKey.get(k) ?? []);
      if (found.length > 1) {
        p.row = undefined;
        p.duplicate = `${plan.type} ${p.o.id}: ${found.length} target rows have ${plan.match.column} = ${JSON.stringify(k)} (keys ${found.map((r) => r[KEY_FIELD]).join(', ')}); link one by hand or remove the duplicate`;
        continue;
      }
      const row = found[0];
      if (!row) continue;
      const key = String(row[KEY_FIELD]);
      const other = candidateLinks.get(key)?.hubspotId ?? claimed.get(key);
      if (other && other !== p.o.id) {
        p.duplicate = `${plan.type} ${p.o.id}: target row ${key} with ${plan.match.column} = ${JSON.stringify(k)} is already linked to HubSpot record ${other}`;
        continue;
      }
      claimed.set(key, p.o.id);
      p.row = row;
    }
  }

  // 4. Decide every record.
  const inserts: { p: Planned; values: Row; baseline: Baseline }[] = [];
  const updates: { p: Planned; key: string; values: Row; baseline: Baseline; hsPatch: boolean; linkOnly: boolean }[] = [];
  for (const p of todo) {
    const dup = p.duplicate;
    if (dup) {
      fail(p.o, 'Duplicate', dup);
      continue;
    }
    const key = p.link?.targetKey ?? (p.row ? String(p.row[KEY_FIELD]) : undefined);
    if (p.link && !p.row && pendingTargetKeys.has(p.link.targetKey)) continue; // deleted in the target; the push pass handles it
    try {
      if (p.row && key !== undefined) {
        const r = reconcile(plan.fields, {
          hs: p.o.properties,
          tg: p.row,
          baseline: p.link ? { hs: p.link.hsValues, tg: p.link.tgValues } : undefined,
          hsModified: p.hsModified,
          tgModified: (p.link && pendingTargetKeys.get(p.link.targetKey)) ?? p.link?.tgModified,
          hubspotWritesDeferred: true,
        });
        const linkOnly = Object.keys(r.targetPatch).length === 0;
        updates.push({ p, key, values: r.targetPatch, baseline: r.baseline, hsPatch: Object.keys(r.hubspotPatch).length > 0, linkOnly });
      } else if (plan.createInTarget && plan.toTarget) {
        const r = reconcile(plan.fields, { hs: p.o.properties, hubspotWritesDeferred: true });
        const values: Row = { ...r.targetPatch };
        if (!plan.pkHasDefault) values[plan.primaryKey] = p.o.id;
        inserts.push({ p, values, baseline: r.baseline });
      }
    } catch (err) {
      if (!isConversionError(err)) throw err;
      fail(p.o, 'Mapping', `${plan.type} ${p.o.id}: ${errorMessage(err)}`, key);
    }
  }

  // 5. One transaction: rows, links, queued corrections, errors, audit, cursor.
  let created = 0;
  let updated = 0;
  await ctx.target.transaction(
    async (tx) => {
      const newLinks: LinkRow[] = [];
      const recheck: string[] = [];
      // Safety net for two workers on one integration (a leader hand-over): page commits of an
      // object type are serialised, and a record another worker linked meanwhile is not created again.
      if (inserts.length) {
        const linkedNow = await tx.state.linksByHubSpotIds(plan.type, inserts.map((i) => i.p.o.id));
        if (linkedNow.size) inserts.splice(0, inserts.length, ...inserts.filter((i) => !linkedNow.has(i.p.o.id)));
      }
      const ins = await tx.rows.insertRows(
        t,
        inserts.map((i) => i.values),
      );
      const failedIns = new Map(ins.failures.map((f) => [f.index, f.message]));
      inserts.forEach((i, idx) => {
        const err = failedIns.get(idx);
        const key = ins.keys[idx];
        if (err !== undefined || key === undefined) {
          fail(i.p.o, 'Target', `${plan.type} ${i.p.o.id}: insert into ${plan.schema}.${plan.table} failed: ${err ?? "no key returned"}`);
          return;
        }
        newLinks.push({ hubspotId: i.p.o.id, targetKey: key, hsValues: i.baseline.hs, tgValues: i.baseline.tg, ...baselineHashes(plan, i.baseline), hsModified: i.p.hsModified });
        okHubSpotIds.push(i.p.o.id);
        okTargetKeys.push(key);
        counters.toTarget.created++;
        audit.push({ objectType: plan.type, direction: 'toTarget', operation: 'create', hubspotId: i.p.o.id, targetKey: key, outcome: 'ok' });
      });

      const upd = await tx.rows.updateRows(
        t,
        updates.map((u) => ({ key: u.key, values: u.values })),
      );
      const failedUpd = new Map(upd.map((f) => [f.index, f.message]));
      updates.forEach((u, idx) => {
        const err = failedUpd.get(idx);
        if (err !== undefined) {
          fail(u.p.o, 'Target', `${plan.type} ${u.p.o.id}: update of ${plan.schema}.${plan.table} key ${u.key} failed: ${err}`, u.key);
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
        okHubSpotIds.push(u.p.o.id);
        okTargetKeys.push(u.key);
        if (!u.linkOnly) {
          counters.toTarget.updated++;
          audit.push({ objectType: plan.type, direction: 'toTarget', operation: u.p.link ? 'update' : 'link+update', hubspotId: u.p.o.id, targetKey: u.key, outcome: 'ok' });
        } else if (!u.p.link) {
          audit.push({ objectType: plan.type, direction: 'toTarget', operation: 'link', hubspotId: u.p.o.id, targetKey: u.key, outcome: 'ok' });
        }
      });
      created = ins.keys.filter((k, i) => k !== undefined && !failedIns.has(i)).length;
      updated = updates.filter((u, i) => !u.linkOnly && !failedUpd.has(i)).length;

      await tx.state.upsertLinks(plan.type, newLinks);
      // HubSpot corrections (ForwardOnly, FillEmpty, target-won conflicts) go through the push pass.
      await tx.state.enqueue(plan.table, recheck, 'R');
      await tx.state.clearErrors(plan.type, okHubSpotIds, okTargetKeys, 'toTarget');
      await tx.state.recordErrors(errors);
      await tx.state.audit(audit);
      await opts.commitCursor(tx, matched);
    },
    { writer: true, lock: `pull.${plan.type}` },
  );
  if (created) ctx.observer?.recordsSynced?.(plan.type, 'toTarget', 'created', created);
  if (updated) ctx.observer?.recordsSynced?.(plan.type, 'toTarget', 'updated', updated);
  return { matched };
}
