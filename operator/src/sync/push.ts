/**
 * Target → HubSpot: apply one batch (≤ 100 keys) of captured target changes.
 *
 * HubSpot is written first (batch update / idempotent upsert / archive); only then, in one
 * operator-marked transaction, are the links, any target-side corrections, errors, audit
 * entries and the removal of the covered outbox rows committed. A crash in between replays the
 * batch: updates are idempotent and creates are upserts keyed by the match property (when it is
 * a unique HubSpot property) or by the operator's external-ID property, so nothing duplicates.
 */
import type { BatchResult, HubSpotObject } from '../hubspot/types.js';
import { matchKey, type AuditEntry, type LinkRow, type RecordError, type Row, type TargetTx } from '../target/connector.js';
import { missingRequired, reconcile, type Baseline } from './conflict.js';
import {
  baselineHashes,
  countersOf,
  errorMessage,
  hsModifiedOf,
  targetValueAsHubSpot,
  tgHashOf,
  tgValuesOf,
  type SyncContext,
} from './context.js';
import { evaluateFilters } from './filter.js';
import type { ObjectPlan } from './mapping.js';
import { matchNormalisation, tableRef } from './pull.js';
import { canonHubSpot, isConversionError, parseTime } from './values.js';

export interface PushEntry {
  key: string;
  /** I, U, D (captured), R (re-check queued by the pull pass), S (scan of unlinked rows). */
  op: string;
  maxId?: string;
  capturedMs?: number;
}

export interface PushOptions {
  pkDataType?: string;
  /** Whether the match property is unique in HubSpot (usable as an upsert idProperty). */
  uniqueMatch: boolean;
  /** Make sure the external-ID property exists (created once, on first need). */
  ensureExternalIdProperty(): Promise<void>;
  /** Remove these entries from the outbox in the commit (false for the scan of unlinked rows). */
  fromOutbox: boolean;
  commitCursor?(tx: TargetTx): Promise<void>;
}

interface Update {
  e: PushEntry;
  link: LinkRow;
  patch: Record<string, string>;
  targetPatch: Row;
  baseline: Baseline;
}
interface Create {
  e: PushEntry;
  props: Record<string, string>;
  baseline: Baseline;
  /** Upsert key: the match property or the external-ID property. */
  idProperty: string;
  idValue: string;
}

export function externalIdOf(uid: string, key: string): string {
  return `${uid}:${key}`;
}

function refineBaseline(plan: ObjectPlan, b: Baseline, result: HubSpotObject | undefined, patch: Record<string, string>): void {
  if (!result) return;
  for (const f of plan.fields) {
    if (f.property in patch && f.property in result.properties) b.hs[f.property] = canonHubSpot(f, result.properties[f.property]);
  }
}

/**
 * Whether an unseen HubSpot value could change what the push writes: FillEmpty and ForwardOnly
 * fields compare against HubSpot's value, and a two-way Overwrite field lets HubSpot win unless
 * its rule is TargetWins. One-way (TargetToHubSpot) and TargetWins fields need no read.
 */
function pushDependsOnHubSpot(plan: ObjectPlan): boolean {
  return plan.fields.some((f) => f.toHubSpot && (f.mode !== 'Overwrite' || (f.toTarget && f.conflict !== 'TargetWins')));
}

/**
 * The current HubSpot values of the linked records this batch will update, read right before
 * writing. The pull pass saw HubSpot earlier in the cycle and through search, which lags
 * (HubSpot indexes changes with a delay); batch read does not. Without this read, a HubSpot
 * edit made in that gap to a field the target also changed would simply be overwritten,
 * whatever the conflict rule says: a lost update. With it, both-sided changes go through the
 * per-field conflict rules like any other. Costs one batch read per push batch that updates
 * linked records (none for creates, deletes or unchanged rows).
 */
async function readCurrentHubSpot(
  ctx: SyncContext,
  plan: ObjectPlan,
  entries: PushEntry[],
  rows: Map<string, Row>,
  links: Map<string, LinkRow>,
): Promise<{ unchanged: Set<string>; current: Map<string, HubSpotObject> }> {
  const unchanged = new Set<string>();
  const ids: string[] = [];
  for (const e of entries) {
    const row = rows.get(e.key);
    const link = links.get(e.key);
    if (!row || !link || link.deletedSide) continue;
    if (e.op !== 'R' && link.tgHash === tgHashOf(plan, tgValuesOf(plan.fields, row))) unchanged.add(e.key);
    else ids.push(link.hubspotId);
  }
  const current = new Map<string, HubSpotObject>();
  if (ids.length === 0 || !plan.toHubSpot || !pushDependsOnHubSpot(plan)) return { unchanged, current };
  // Records HubSpot no longer has come back as errors: they keep their last known values here,
  // and the update reports them (or the pull pass applies the delete).
  const res = await ctx.hubspot.batchRead(plan.type, { ids, properties: plan.properties });
  for (const o of res.results) current.set(o.id, o);
  return { unchanged, current };
}

export async function pushBatch(ctx: SyncContext, plan: ObjectPlan, entries: PushEntry[], opts: PushOptions): Promise<void> {
  if (entries.length === 0) {
    if (opts.commitCursor) await ctx.target.transaction((tx) => opts.commitCursor!(tx));
    return;
  }
  const counters = countersOf(ctx, plan.type);
  const t = tableRef(plan, opts.pkDataType);
  const typeOf = (p: string) => plan.propertyTypes.get(p);
  const keys = entries.map((e) => e.key);
  const rows = await ctx.target.rows.selectRows(t, keys, plan.fields.map((f) => f.column));
  const links = await ctx.state.linksByTargetKeys(plan.type, keys);
  const { unchanged, current } = await readCurrentHubSpot(ctx, plan, entries, rows, links);
  const errors: RecordError[] = [];
  const audit: AuditEntry[] = [];
  const okHs: string[] = [];
  const okTg: string[] = [];
  const linkUpserts: LinkRow[] = [];
  const linkDeletes: string[] = [];
  const targetUpdates: { key: string; values: Row; hubspotId: string }[] = [];
  const updates: Update[] = [];
  const creates: Create[] = [];
  const archives: { e: PushEntry; link: LinkRow }[] = [];
  let nCreated = 0;
  let nUpdated = 0;
  let nDeleted = 0;

  const fail = (key: string, hubspotId: string | undefined, category: string, message: string, correlationId?: string) => {
    errors.push({ objectType: plan.type, hubspotId, targetKey: key, direction: 'toHubSpot', category, message, correlationId });
    audit.push({ objectType: plan.type, direction: 'toHubSpot', operation: 'sync', hubspotId, targetKey: key, outcome: 'failed', category, message });
    counters.failed++;
    ctx.observer?.syncErrors?.(plan.type, category as never, 1);
  };

  for (const e of entries) {
    const row = rows.get(e.key);
    let link = links.get(e.key);
    if (!row) {
      if (!link || link.deletedSide) continue;
      if (plan.deleteFromTarget === 'Propagate' && plan.toHubSpot) archives.push({ e, link });
      else {
        linkUpserts.push({ ...link, deletedSide: 'target' });
        audit.push({ objectType: plan.type, direction: 'toHubSpot', operation: 'unlink', hubspotId: link.hubspotId, targetKey: e.key, outcome: 'ok', message: 'deleted in the target; deletes.fromTarget is Ignore' });
      }
      continue;
    }
    if (link?.deletedSide === 'hubspot') continue;
    if (link?.deletedSide === 'target') {
      // A new row reuses the key of a deleted one: it is a new record.
      linkDeletes.push(link.hubspotId);
      link = undefined;
    }
    const r = evaluateFilters(plan.filters, 'toHubSpot', typeOf, targetValueAsHubSpot(plan, row));
    for (const n of r.matched) counters.filterMatches[n] = (counters.filterMatches[n] ?? 0) + 1;
    if (!r.pass) continue;
    const missing = missingRequired(plan.fields, 'tg', row);
    if (missing.length) {
      fail(e.key, link?.hubspotId, 'Validation', `${plan.table} key ${e.key}: required ${missing.map((m) => `"${m}"`).join(', ')} is empty`);
      continue;
    }
    try {
      if (link) {
        if (unchanged.has(e.key)) continue; // unchanged since the last sync
        const now = current.get(link.hubspotId);
        const res = reconcile(plan.fields, {
          hs: now ? now.properties : link.hsValues,
          tg: row,
          baseline: { hs: link.hsValues, tg: link.tgValues },
          hsModified: now ? hsModifiedOf(plan, now) : link.hsModified,
          tgModified: e.capturedMs,
          hubspotWritesDeferred: false,
        });
        if (Object.keys(res.hubspotPatch).length) {
          updates.push({ e, link, patch: res.hubspotPatch, targetPatch: res.targetPatch, baseline: res.baseline });
        } else {
          if (Object.keys(res.targetPatch).length) targetUpdates.push({ key: e.key, values: res.targetPatch, hubspotId: link.hubspotId });
          linkUpserts.push({ ...link, hsValues: res.baseline.hs, tgValues: res.baseline.tg, ...baselineHashes(plan, res.baseline), tgModified: e.capturedMs ?? link.tgModified });
          okTg.push(e.key);
        }
      } else if (plan.createInHubSpot && plan.toHubSpot) {
        const res = reconcile(plan.fields, { tg: row, hubspotWritesDeferred: false });
        const matchValue = plan.match ? res.hubspotPatch[plan.match.property] : undefined;
        const useMatch = opts.uniqueMatch && matchValue !== undefined && matchValue !== '';
        const props = { ...res.hubspotPatch };
        let idProperty = plan.match?.property ?? ctx.externalIdProperty;
        let idValue = matchValue ?? '';
        if (!useMatch) {
          idProperty = ctx.externalIdProperty;
          idValue = externalIdOf(ctx.uid, e.key);
          props[idProperty] = idValue;
        }
        creates.push({ e, props, baseline: res.baseline, idProperty, idValue });
      }
    } catch (err) {
      if (!isConversionError(err)) throw err;
      fail(e.key, link?.hubspotId, 'Mapping', `${plan.table} key ${e.key}: ${errorMessage(err)}`);
    }
  }

  // Two target rows with one match key cannot both become (or link to) one HubSpot record:
  // rows of this batch sharing a key, or a key already linked to another row (links.match_key,
  // indexed — no scan of the target table).
  if (plan.match && creates.length) {
    const how = matchNormalisation(plan);
    const field = plan.fields.find((f) => f.isMatch)!;
    const keyOf = (c: Create) => matchKey(c.props[field.property], how);
    const holders = new Map<string, string[]>();
    for (const c of creates) {
      const k = keyOf(c);
      if (k !== null) holders.set(k, [...(holders.get(k) ?? []), c.e.key]);
    }
    for (const l of await ctx.state.linksByMatchKeys(plan.type, [...holders.keys()])) {
      const list = holders.get(l.matchKey!);
      if (list && !list.includes(l.targetKey)) list.unshift(l.targetKey);
    }
    for (const c of [...creates]) {
      const k = keyOf(c);
      const rowsWithKey = k === null ? [] : (holders.get(k) ?? []);
      if (rowsWithKey.length > 1) {
        creates.splice(creates.indexOf(c), 1);
        fail(c.e.key, undefined, 'Duplicate', `${plan.table} key ${c.e.key}: ${rowsWithKey.length} target rows (keys ${rowsWithKey.join(', ')}) have ${plan.match.column} = ${JSON.stringify(k)}; remove the duplicate`);
      }
    }
  }

  // A non-unique match property (e.g. companies.domain) cannot be an upsert key: look the
  // values up first so an existing HubSpot record is linked, not duplicated.
  if (plan.match && !opts.uniqueMatch && creates.length) {
    const how = matchNormalisation(plan);
    const field = plan.fields.find((f) => f.isMatch)!;
    const wanted = [...new Set(creates.map((c) => matchKey(c.props[field.property], how)).filter((k): k is string => k !== null))];
    if (wanted.length) {
      const found = await ctx.hubspot.searchObjects(plan.type, {
        filterGroups: [{ filters: [{ propertyName: field.property, operator: 'IN', values: wanted }] }],
        properties: plan.properties,
        limit: 200,
      });
      const byKey = new Map<string, HubSpotObject[]>();
      for (const o of found.results) {
        const k = matchKey(o.properties[field.property], how);
        if (k !== null) byKey.set(k, [...(byKey.get(k) ?? []), o]);
      }
      const alreadyLinked = await ctx.state.linksByHubSpotIds(plan.type, found.results.map((o) => o.id));
      for (const c of [...creates]) {
        const k = matchKey(c.props[field.property], how);
        const hits = k === null ? [] : (byKey.get(k) ?? []);
        if (hits.length === 0) continue;
        creates.splice(creates.indexOf(c), 1);
        if (hits.length > 1 || alreadyLinked.has(hits[0]!.id)) {
          fail(c.e.key, undefined, 'Duplicate', `${plan.table} key ${c.e.key}: ${hits.length > 1 ? `${hits.length} HubSpot ${plan.type} have` : `HubSpot ${plan.type} ${hits[0]!.id} (already linked to another row) has`} ${field.property} = ${JSON.stringify(k)}`);
          continue;
        }
        const o = hits[0]!;
        const row = rows.get(c.e.key)!;
        const res = reconcile(plan.fields, { hs: o.properties, tg: row, hsModified: parseTime(o.updatedAt), tgModified: c.e.capturedMs, hubspotWritesDeferred: false });
        const link: LinkRow = { hubspotId: o.id, targetKey: c.e.key, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null };
        if (Object.keys(res.hubspotPatch).length) updates.push({ e: c.e, link, patch: res.hubspotPatch, targetPatch: res.targetPatch, baseline: res.baseline });
        else {
          if (Object.keys(res.targetPatch).length) targetUpdates.push({ key: c.e.key, values: res.targetPatch, hubspotId: o.id });
          linkUpserts.push({ ...link, hsValues: res.baseline.hs, tgValues: res.baseline.tg, ...baselineHashes(plan, res.baseline), hsModified: parseTime(o.updatedAt) });
          okHs.push(o.id);
          okTg.push(c.e.key);
        }
      }
    }
  }

  // HubSpot first.
  if (creates.length) {
    if (creates.some((c) => c.idProperty === ctx.externalIdProperty)) await opts.ensureExternalIdProperty();
    const byIdProp = new Map<string, Create[]>();
    for (const c of creates) byIdProp.set(c.idProperty, [...(byIdProp.get(c.idProperty) ?? []), c]);
    for (const [idProperty, group] of byIdProp) {
      const res: BatchResult = await ctx.hubspot.batchUpsert(
        plan.type,
        group.map((c) => ({ id: c.idValue, idProperty, properties: c.props })),
      );
      const norm = (v: string | null | undefined) => (v ?? '').trim().toLowerCase();
      const byValue = new Map(res.results.map((o) => [norm(o.properties[idProperty]), o]));
      const failed = new Map(res.errors.map((x) => [x.index, x]));
      group.forEach((c, i) => {
        const err = failed.get(i);
        const o = byValue.get(norm(c.idValue)) ?? (group.length === 1 ? res.results[0] : undefined);
        if (err || !o) {
          fail(c.e.key, undefined, err?.category ?? 'Transient', `${plan.table} key ${c.e.key}: create in HubSpot failed: ${err?.message ?? 'no result returned'}`, err?.correlationId);
          return;
        }
        refineBaseline(plan, c.baseline, o, c.props);
        linkUpserts.push({ hubspotId: o.id, targetKey: c.e.key, hsValues: c.baseline.hs, tgValues: c.baseline.tg, ...baselineHashes(plan, c.baseline), hsModified: parseTime(o.updatedAt), tgModified: c.e.capturedMs });
        okHs.push(o.id);
        okTg.push(c.e.key);
        nCreated++;
        audit.push({ objectType: plan.type, direction: 'toHubSpot', operation: o.new === false ? 'link+update' : 'create', hubspotId: o.id, targetKey: c.e.key, outcome: 'ok' });
      });
    }
  }
  if (updates.length) {
    const res = await ctx.hubspot.batchUpdate(
      plan.type,
      updates.map((u) => ({ id: u.link.hubspotId, properties: u.patch })),
    );
    const byId = new Map(res.results.map((o) => [o.id, o]));
    const failed = new Map(res.errors.map((x) => [x.index, x]));
    updates.forEach((u, i) => {
      const err = failed.get(i);
      if (err) {
        fail(u.e.key, u.link.hubspotId, err.category, `${plan.type} ${u.link.hubspotId} (${plan.table} key ${u.e.key}): update failed: ${err.message}`, err.correlationId);
        return;
      }
      const o = byId.get(u.link.hubspotId);
      refineBaseline(plan, u.baseline, o, u.patch);
      if (Object.keys(u.targetPatch).length) targetUpdates.push({ key: u.e.key, values: u.targetPatch, hubspotId: u.link.hubspotId });
      linkUpserts.push({
        ...u.link,
        hsValues: u.baseline.hs,
        tgValues: u.baseline.tg,
        ...baselineHashes(plan, u.baseline),
        hsModified: parseTime(o?.updatedAt) ?? u.link.hsModified,
        tgModified: u.e.capturedMs ?? u.link.tgModified,
      });
      okHs.push(u.link.hubspotId);
      okTg.push(u.e.key);
      nUpdated++;
      audit.push({ objectType: plan.type, direction: 'toHubSpot', operation: 'update', hubspotId: u.link.hubspotId, targetKey: u.e.key, outcome: 'ok', message: `properties ${Object.keys(u.patch).join(', ')}` });
    });
  }
  if (archives.length) {
    const res = await ctx.hubspot.batchArchive(plan.type, archives.map((a) => a.link.hubspotId));
    const failed = new Map(res.errors.map((x) => [x.index, x]));
    archives.forEach((a, i) => {
      const err = failed.get(i);
      if (err && err.category !== 'NotFound') {
        fail(a.e.key, a.link.hubspotId, err.category, `${plan.type} ${a.link.hubspotId}: archive failed: ${err.message}`, err.correlationId);
        return;
      }
      linkDeletes.push(a.link.hubspotId);
      okHs.push(a.link.hubspotId);
      okTg.push(a.e.key);
      nDeleted++;
      audit.push({ objectType: plan.type, direction: 'toHubSpot', operation: 'delete', hubspotId: a.link.hubspotId, targetKey: a.e.key, outcome: 'ok' });
    });
  }

  // Then the state, in one transaction.
  await ctx.target.transaction(
    async (tx) => {
      const failures = await tx.rows.updateRows(
        t,
        targetUpdates.map((u) => ({ key: u.key, values: u.values })),
      );
      for (const f of failures) {
        const u = targetUpdates[f.index]!;
        fail(u.key, u.hubspotId, 'Target', `${plan.table} key ${u.key}: update failed: ${f.message}`);
      }
      await tx.state.deleteLinks(plan.type, linkDeletes);
      await tx.state.upsertLinks(plan.type, linkUpserts);
      if (opts.fromOutbox) await tx.state.ackOutbox(plan.table, entries.filter((e) => e.maxId).map((e) => ({ key: e.key, maxId: e.maxId! })));
      await tx.state.clearErrors(plan.type, okHs, okTg, 'toHubSpot');
      await tx.state.recordErrors(errors);
      await tx.state.audit(audit);
      if (opts.commitCursor) await opts.commitCursor(tx);
    },
    { writer: true },
  );
  counters.toHubSpot.created += nCreated;
  counters.toHubSpot.updated += nUpdated;
  counters.toHubSpot.deleted += nDeleted;
  if (nCreated) ctx.observer?.recordsSynced?.(plan.type, 'toHubSpot', 'created', nCreated);
  if (nUpdated) ctx.observer?.recordsSynced?.(plan.type, 'toHubSpot', 'updated', nUpdated);
  if (nDeleted) ctx.observer?.recordsSynced?.(plan.type, 'toHubSpot', 'deleted', nDeleted);
}
