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
import { matchKey, type LinkRow, type Row, type TableRef, type TargetTx } from '../target/connector.js';
import { missingRequired, reconcile, type Baseline } from './conflict.js';
import { baselineHashes, countersOf, errorMessage, externalIdOf, hsModifiedOf, targetValueAsHubSpot, tgHashOf, tgValuesOf, type SyncContext } from './context.js';
import { evaluateFilters } from './filter.js';
import { hubspotIdInRow, hubspotIdPatch, ifUnchangedSince, rowColumns } from './hubspot-id.js';
import { BatchLedger } from './ledger.js';
import type { ObjectPlan } from './mapping.js';
import { clearPushIntent, recordPushIntent } from './push-intent.js';
import { canonHubSpot, canonTarget, hubSpotToTarget, isConversionError, parseTime } from './values.js';

export interface PushEntry {
  key: string;
  /** I, U, D (captured), R (re-check queued by the pull pass), S (scan of unlinked rows). */
  op: string;
  maxId?: string;
  /** When the table last changed the key (captured rows only; R rows never count). */
  capturedMs?: number;
  /** Per column, when the table last changed it (`*`: every column). */
  columnChangedMs?: Record<string, number>;
}

export interface PushOptions {
  table: TableRef;
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
  const linkOf = new Map<string, { link: LinkRow; row: Row }>();
  for (const e of entries) {
    const row = rows.get(e.key);
    const link = links.get(e.key);
    if (!row || !link || link.deletedSide) continue;
    if (e.op !== 'R' && link.tgHash === tgHashOf(plan, tgValuesOf(plan.fields, row))) unchanged.add(e.key);
    else {
      ids.push(link.hubspotId);
      linkOf.set(link.hubspotId, { link, row });
    }
  }
  const current = new Map<string, HubSpotObject>();
  if (ids.length === 0 || !plan.toHubSpot || !pushDependsOnHubSpot(plan)) return { unchanged, current };
  // Records HubSpot no longer has come back as errors: they keep their last known values here,
  // and the update reports them (or the pull pass applies the delete).
  const res = await ctx.hubspot.batchRead(plan.type, { ids, properties: plan.properties });
  for (const o of res.results) current.set(o.id, o);
  // NewestWins fields changed on BOTH sides since the last sync are in conflict: only for those
  // records and properties, read again with propertiesWithHistory (each property's own change
  // time). No conflict, no extra request.
  const newest = plan.fields.filter((f) => f.conflict === 'NewestWins' && f.mode === 'Overwrite' && f.toTarget && f.toHubSpot);
  const history = new Set<string>();
  const conflicted: string[] = [];
  for (const [id, o] of current) {
    const lr = linkOf.get(id);
    if (!lr) continue;
    const props = newest.filter((f) => {
      const hasBase = f.property in lr.link.hsValues && f.column in lr.link.tgValues;
      const h = canonHubSpot(f, o.properties[f.property]);
      const t = canonTarget(f, lr.row[f.column]);
      if (!hasBase || lr.link.hsValues[f.property] === h || lr.link.tgValues[f.column] === t) return false;
      try {
        return canonTarget(f, hubSpotToTarget(f, o.properties[f.property])) !== t;
      } catch {
        return false; // a conversion failure: the record's Mapping error, reported by reconcile
      }
    });
    if (props.length === 0) continue;
    conflicted.push(id);
    for (const f of props) history.add(f.property);
  }
  if (conflicted.length === 0) return { unchanged, current };
  const hist = await ctx.hubspot.batchRead(plan.type, { ids: conflicted, properties: plan.properties, propertiesWithHistory: [...history] });
  for (const o of hist.results) current.set(o.id, o);
  return { unchanged, current };
}

/** What one batch will do, step by step: HubSpot writes first, then the target state. */
interface PushWork {
  updates: Update[];
  creates: Create[];
  archives: { e: PushEntry; link: LinkRow }[];
  /** Links to write (new baselines, tombstones) and to drop (HubSpot ID). */
  linkUpserts: LinkRow[];
  linkDeletes: string[];
  /** Target-side corrections (FillEmpty, ForwardOnly, HubSpot-won fields, the HubSpot ID column). */
  targetUpdates: { key: string; values: Row; hubspotId: string }[];
  /** Unlinked rows holding a HubSpot ID in hubspotIdColumn: linked to that record, never created. */
  claims: { e: PushEntry; row: Row; hubspotId: string }[];
  /** Rows gone from the target without a link: HubSpot may hold the operator's own create of them (lost link commit). */
  unlinkedGone: PushEntry[];
  /** Whether a push intent was committed for this batch's HubSpot writes (its commit clears it). */
  intent?: boolean;
}

/** What the batch read: target rows and links by key, and HubSpot's current values of linked records. */
interface BatchRead {
  rows: Map<string, Row>;
  links: Map<string, LinkRow>;
  unchanged: Set<string>;
  current: Map<string, HubSpotObject>;
}

export async function pushBatch(ctx: SyncContext, plan: ObjectPlan, entries: PushEntry[], opts: PushOptions): Promise<void> {
  if (entries.length === 0) {
    if (opts.commitCursor) await ctx.target.transaction((tx) => opts.commitCursor!(tx));
    return;
  }
  ctx.touched?.('target', plan.type, entries.map((e) => e.key));
  const ledger = new BatchLedger(ctx, plan, 'toHubSpot', { commitCursor: opts.commitCursor });
  const t = opts.table;
  const read = await readBatch(ctx, plan, t, entries);
  const work = planBatch(ctx, plan, entries, read, opts, ledger);
  await linkClaimedHubSpotIds(ctx, plan, work, ledger);
  await rejectDuplicateCreates(ctx, plan, work, ledger);
  if (!opts.uniqueMatch) await linkExistingHubSpotRecords(ctx, plan, work, read.rows, ledger);
  // Committed before HubSpot is written, cleared by this batch's commit: a crash in between
  // leaves it for the next cycle to resolve (push-intent.ts).
  work.intent = await recordPushIntent(ctx, plan, {
    creates: work.creates.map((c) => ({ key: c.e.key, baseline: c.baseline, capturedMs: c.e.capturedMs })),
    updates: work.updates.map((u) => ({ hubspotId: u.link.hubspotId, key: u.e.key, properties: Object.keys(u.patch), baseline: u.baseline })),
  });
  await writeCreates(ctx, plan, work, opts, ledger);
  await writeUpdates(ctx, plan, work, ledger);
  await findOwnCreatesOfGoneRows(ctx, plan, work, opts, ledger);
  await writeArchives(ctx, plan, work, ledger);
  await commitBatch(ctx, plan, t, entries, work, read, opts, ledger);
}

async function readBatch(ctx: SyncContext, plan: ObjectPlan, t: TableRef, entries: PushEntry[]): Promise<BatchRead> {
  const keys = entries.map((e) => e.key);
  // With a version token: the batch's corrections of a row are conditional on it (commitBatch).
  const rows = await ctx.target.rows.selectRows(t, keys, rowColumns(plan), { version: true });
  const links = await ctx.state.linksByTargetKeys(plan.type, keys);
  const { unchanged, current } = await readCurrentHubSpot(ctx, plan, entries, rows, links);
  return { rows, links, unchanged, current };
}

/** Decide every entry: deleted rows, filtered rows, updates of linked records, creates of new ones. */
function planBatch(ctx: SyncContext, plan: ObjectPlan, entries: PushEntry[], read: BatchRead, opts: PushOptions, ledger: BatchLedger): PushWork {
  const counters = countersOf(ctx, plan.type);
  const typeOf = (p: string) => plan.propertyTypes.get(p);
  const work: PushWork = { updates: [], creates: [], archives: [], linkUpserts: [], linkDeletes: [], targetUpdates: [], claims: [], unlinkedGone: [] };
  for (const e of entries) {
    const row = read.rows.get(e.key);
    let link = read.links.get(e.key);
    if (!row) {
      if (!link && plan.createInHubSpot && plan.toHubSpot) work.unlinkedGone.push(e);
      if (!link || link.deletedSide) continue;
      if (plan.deleteFromTarget === 'Propagate' && plan.toHubSpot) work.archives.push({ e, link });
      else {
        work.linkUpserts.push({ ...link, deletedSide: 'target' });
        ledger.note({ hubspotId: link.hubspotId, targetKey: e.key }, 'unlink', 'deleted in the target; deletes.fromTarget is Ignore');
      }
      continue;
    }
    if (link?.deletedSide === 'hubspot') continue;
    let reusedKey = false;
    if (link?.deletedSide === 'target') {
      // A new row reuses the key of a deleted one: it is a new record.
      work.linkDeletes.push(link.hubspotId);
      link = undefined;
      reusedKey = true;
    }
    const r = evaluateFilters(plan.filters, 'toHubSpot', typeOf, targetValueAsHubSpot(plan, row));
    for (const n of r.matched) counters.filterMatches[n] = (counters.filterMatches[n] ?? 0) + 1;
    if (!r.pass) continue;
    const missing = missingRequired(plan.fields, 'tg', row);
    if (missing.length) {
      ledger.fail({ hubspotId: link?.hubspotId, targetKey: e.key }, 'Validation', `${plan.table} key ${e.key}: required ${missing.map((m) => `"${m}"`).join(', ')} is empty`);
      continue;
    }
    try {
      if (link) {
        const idFix = hubspotIdPatch(plan, row, link.hubspotId);
        if (Object.keys(idFix).length) work.targetUpdates.push({ key: e.key, values: idFix, hubspotId: link.hubspotId });
        if (read.unchanged.has(e.key)) continue; // unchanged since the last sync
        planUpdate(plan, e, row, link, read.current.get(link.hubspotId), work, ledger);
      } else if (hubspotIdInRow(plan, row) !== undefined) {
        work.claims.push({ e, row, hubspotId: hubspotIdInRow(plan, row)! });
      } else if (plan.createInHubSpot && plan.toHubSpot) {
        work.creates.push(planCreate(ctx, plan, e, row, opts, reusedKey));
      }
    } catch (err) {
      if (!isConversionError(err)) throw err;
      ledger.fail({ hubspotId: link?.hubspotId, targetKey: e.key }, 'Mapping', `${plan.table} key ${e.key}: ${errorMessage(err)}`);
    }
  }
  return work;
}

/** A linked row: reconcile against HubSpot's current values (or the last synced ones). */
function planUpdate(plan: ObjectPlan, e: PushEntry, row: Row, link: LinkRow, now: HubSpotObject | undefined, work: PushWork, ledger: BatchLedger): void {
  const res = reconcile(plan.fields, {
    hs: now ? now.properties : link.hsValues,
    tg: row,
    baseline: { hs: link.hsValues, tg: link.tgValues },
    hsModified: now ? hsModifiedOf(plan, now) : link.hsModified,
    tgModified: e.capturedMs ?? link.tgModified,
    hsFieldModified: now?.propertyChangedAt,
    tgFieldModified: e.columnChangedMs,
    hubspotWritesDeferred: false,
  });
  ledger.conflict({ hubspotId: link.hubspotId, targetKey: e.key }, res.conflicts);
  if (Object.keys(res.hubspotPatch).length) {
    work.updates.push({ e, link, patch: res.hubspotPatch, targetPatch: res.targetPatch, baseline: res.baseline });
    return;
  }
  if (Object.keys(res.targetPatch).length) work.targetUpdates.push({ key: e.key, values: res.targetPatch, hubspotId: link.hubspotId });
  work.linkUpserts.push({
    ...link,
    hsValues: res.baseline.hs,
    tgValues: res.baseline.tg,
    ...baselineHashes(plan, res.baseline),
    // The baseline now reflects the HubSpot version just read: older search results are stale.
    hsModified: (now && hsModifiedOf(plan, now)) ?? link.hsModified,
    tgModified: e.capturedMs ?? link.tgModified,
  });
  ledger.ok({ targetKey: e.key });
}

/** A new row: an idempotent upsert keyed by the unique match property, else by the operator's external ID. */
function planCreate(ctx: SyncContext, plan: ObjectPlan, e: PushEntry, row: Row, opts: PushOptions, reusedKey: boolean): Create {
  const res = reconcile(plan.fields, { tg: row, hubspotWritesDeferred: false });
  const matchValue = plan.match ? res.hubspotPatch[plan.match.property] : undefined;
  const useMatch = opts.uniqueMatch && matchValue !== undefined && matchValue !== '';
  // Every create carries the external ID (uid:key), also when upserting by the match property:
  // a create whose link commit is lost is then recognised as the operator's own (pull.ts) and
  // found again when its row is deleted (findOwnCreatesOfGoneRows). Except a key reused after
  // its row was deleted with deletes.fromTarget Ignore: the kept HubSpot record still holds that
  // (unique) value, so an upsert by the match property goes without it.
  const externalId = externalIdOf(ctx.uid, e.key);
  const props: Record<string, string> = { ...res.hubspotPatch };
  if (!(useMatch && reusedKey)) props[ctx.externalIdProperty] = externalId;
  const idProperty = useMatch ? plan.match!.property : ctx.externalIdProperty;
  const idValue = useMatch ? matchValue : externalId;
  return { e, props, baseline: res.baseline, idProperty, idValue };
}

/**
 * Two target rows with one match key cannot both become (or link to) one HubSpot record: rows
 * of this batch sharing a key, or a key already linked to another row (links.match_key,
 * indexed — no scan of the target table).
 */
async function rejectDuplicateCreates(ctx: SyncContext, plan: ObjectPlan, work: PushWork, ledger: BatchLedger): Promise<void> {
  const match = plan.match;
  if (!match || work.creates.length === 0) return;
  const keyOf = (c: Create) => matchKey(c.props[match.property], match.how);
  const holders = new Map<string, string[]>();
  for (const c of work.creates) {
    const k = keyOf(c);
    if (k !== null) holders.set(k, [...(holders.get(k) ?? []), c.e.key]);
  }
  for (const l of await ctx.state.linksByMatchKeys(plan.type, [...holders.keys()])) {
    const list = holders.get(l.matchKey!);
    if (list && !list.includes(l.targetKey)) list.unshift(l.targetKey);
  }
  work.creates = work.creates.filter((c) => {
    const k = keyOf(c);
    const rowsWithKey = k === null ? [] : (holders.get(k) ?? []);
    if (rowsWithKey.length <= 1) return true;
    ledger.fail({ targetKey: c.e.key }, 'Duplicate', `${plan.table} key ${c.e.key}: ${rowsWithKey.length} target rows (keys ${rowsWithKey.join(', ')}) have ${match.column} = ${JSON.stringify(k)}; remove the duplicate`);
    return false;
  });
}

/**
 * A non-unique match property (e.g. companies.domain) cannot be an upsert key: look the values
 * up first so an existing HubSpot record is linked, not duplicated.
 */
async function linkExistingHubSpotRecords(ctx: SyncContext, plan: ObjectPlan, work: PushWork, rows: Map<string, Row>, ledger: BatchLedger): Promise<void> {
  const match = plan.match;
  if (!match || work.creates.length === 0) return;
  const keyOf = (v: string | null | undefined) => matchKey(v, match.how);
  const wanted = [...new Set(work.creates.map((c) => keyOf(c.props[match.property])).filter((k): k is string => k !== null))];
  if (wanted.length === 0) return;
  const found = await ctx.hubspot.searchObjects(plan.type, {
    filterGroups: [{ filters: [{ propertyName: match.property, operator: 'IN', values: wanted }] }],
    properties: plan.properties,
    limit: 200,
  });
  const byKey = new Map<string, HubSpotObject[]>();
  for (const o of found.results) {
    const k = keyOf(o.properties[match.property]);
    if (k !== null) byKey.set(k, [...(byKey.get(k) ?? []), o]);
  }
  const alreadyLinked = await ctx.state.linksByHubSpotIds(plan.type, found.results.map((o) => o.id));
  work.creates = work.creates.filter((c) => {
    const k = keyOf(c.props[match.property]);
    const hits = k === null ? [] : (byKey.get(k) ?? []);
    if (hits.length === 0) return true;
    if (hits.length > 1 || alreadyLinked.has(hits[0]!.id)) {
      const who = hits.length > 1 ? `${hits.length} HubSpot ${plan.type} have` : `HubSpot ${plan.type} ${hits[0]!.id} (already linked to another row) has`;
      ledger.fail({ targetKey: c.e.key }, 'Duplicate', `${plan.table} key ${c.e.key}: ${who} ${match.property} = ${JSON.stringify(k)}`);
      return false;
    }
    linkToExisting(plan, work, ledger, c.e, rows.get(c.e.key)!, hits[0]!);
    return false;
  });
}

/**
 * Rows that hold a HubSpot ID (hubspotIdColumn) but no link: link each to that record (through
 * the conflict rules, like a match). An ID HubSpot does not know is a NotFound record error; an
 * ID already linked to another row, or held by two rows, a Duplicate. Never a create.
 */
async function linkClaimedHubSpotIds(ctx: SyncContext, plan: ObjectPlan, work: PushWork, ledger: BatchLedger): Promise<void> {
  if (work.claims.length === 0) return;
  const col = plan.hubspotIdColumn!;
  const holders = new Map<string, string[]>();
  for (const c of work.claims) holders.set(c.hubspotId, [...(holders.get(c.hubspotId) ?? []), c.e.key]);
  const valid = [...holders.keys()].filter((id) => /^[0-9]+$/.test(id));
  const found = new Map<string, HubSpotObject>();
  if (valid.length) {
    const res = await ctx.hubspot.batchRead(plan.type, { ids: valid, properties: plan.properties });
    for (const o of res.results) found.set(o.id, o);
  }
  const linked = await ctx.state.linksByHubSpotIds(plan.type, [...found.keys()]);
  for (const c of work.claims) {
    const ref = { targetKey: c.e.key, hubspotId: c.hubspotId };
    const o = found.get(c.hubspotId);
    if (!o) {
      ledger.fail(ref, 'NotFound', `${plan.table} key ${c.e.key}: ${col} = ${JSON.stringify(c.hubspotId)} is not a HubSpot ${plan.type} ID HubSpot knows; correct or clear the column (the operator does not create a record for it)`);
      continue;
    }
    const others = holders.get(c.hubspotId)!.filter((k) => k !== c.e.key);
    const linkedTo = linked.get(c.hubspotId)?.targetKey;
    if (others.length || (linkedTo !== undefined && linkedTo !== c.e.key)) {
      const who = others.length ? `rows ${[c.e.key, ...others].join(', ')} all hold it` : `it is already linked to row ${linkedTo}`;
      ledger.fail(ref, 'Duplicate', `${plan.table} key ${c.e.key}: ${col} = ${c.hubspotId}: ${who}`);
      continue;
    }
    linkToExisting(plan, work, ledger, c.e, c.row, o);
  }
}

/** Link a row to an existing HubSpot record, reconciling both sides through the conflict rules. */
function linkToExisting(plan: ObjectPlan, work: PushWork, ledger: BatchLedger, e: PushEntry, row: Row, o: HubSpotObject): void {
  const res = reconcile(plan.fields, { hs: o.properties, tg: row, hsModified: parseTime(o.updatedAt), tgModified: e.capturedMs, hubspotWritesDeferred: false });
  const link: LinkRow = { hubspotId: o.id, targetKey: e.key, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null };
  const idFix = hubspotIdPatch(plan, row, o.id);
  if (Object.keys(res.hubspotPatch).length) {
    work.updates.push({ e, link, patch: res.hubspotPatch, targetPatch: { ...res.targetPatch, ...idFix }, baseline: res.baseline });
  } else {
    const values = { ...res.targetPatch, ...idFix };
    if (Object.keys(values).length) work.targetUpdates.push({ key: e.key, values, hubspotId: o.id });
    work.linkUpserts.push({ ...link, hsValues: res.baseline.hs, tgValues: res.baseline.tg, ...baselineHashes(plan, res.baseline), hsModified: parseTime(o.updatedAt) });
    ledger.ok({ hubspotId: o.id, targetKey: e.key });
  }
}

/** HubSpot first: creates as batch upserts, grouped by their upsert key. */
async function writeCreates(ctx: SyncContext, plan: ObjectPlan, work: PushWork, opts: PushOptions, ledger: BatchLedger): Promise<void> {
  if (work.creates.length === 0) return;
  await opts.ensureExternalIdProperty();
  const byIdProp = new Map<string, Create[]>();
  for (const c of work.creates) byIdProp.set(c.idProperty, [...(byIdProp.get(c.idProperty) ?? []), c]);
  for (const [idProperty, group] of byIdProp) {
    const res: BatchResult = await ctx.hubspot.batchUpsert(
      plan.type,
      group.map((c) => ({ id: c.idValue, idProperty, properties: c.props })),
    );
    // HubSpot returns the upsert key as it stores it (an email lower-cased, a phone reformatted): compare by the value rule.
    const how = idProperty === plan.match?.property ? plan.match.how : 'lowerTrim';
    const norm = (v: string | null | undefined) => matchKey(v, how) ?? '';
    const byValue = new Map(res.results.map((o) => [norm(o.properties[idProperty]), o]));
    const failed = new Map(res.errors.map((x) => [x.index, x]));
    group.forEach((c, i) => {
      const err = failed.get(i);
      const o = byValue.get(norm(c.idValue)) ?? (group.length === 1 ? res.results[0] : undefined);
      if (err || !o) {
        ledger.fail({ targetKey: c.e.key }, err?.category ?? 'Transient', `${plan.table} key ${c.e.key}: create in HubSpot failed: ${err?.message ?? 'no result returned'}`, { correlationId: err?.correlationId });
        return;
      }
      refineBaseline(plan, c.baseline, o, c.props);
      if (plan.hubspotIdColumn) work.targetUpdates.push({ key: c.e.key, values: { [plan.hubspotIdColumn]: o.id }, hubspotId: o.id });
      work.linkUpserts.push({ hubspotId: o.id, targetKey: c.e.key, hsValues: c.baseline.hs, tgValues: c.baseline.tg, ...baselineHashes(plan, c.baseline), hsModified: parseTime(o.updatedAt), tgModified: c.e.capturedMs });
      ledger.ok({ hubspotId: o.id, targetKey: c.e.key }, o.new === false ? 'link+update' : 'create', { count: 'created', changes: { after: c.props } });
    });
  }
}

async function writeUpdates(ctx: SyncContext, plan: ObjectPlan, work: PushWork, ledger: BatchLedger): Promise<void> {
  if (work.updates.length === 0) return;
  const res = await ctx.hubspot.batchUpdate(
    plan.type,
    work.updates.map((u) => ({ id: u.link.hubspotId, properties: u.patch })),
  );
  const byId = new Map(res.results.map((o) => [o.id, o]));
  const failed = new Map(res.errors.map((x) => [x.index, x]));
  work.updates.forEach((u, i) => {
    const ref = { hubspotId: u.link.hubspotId, targetKey: u.e.key };
    const err = failed.get(i);
    if (err) {
      ledger.fail(ref, err.category, `${plan.type} ${u.link.hubspotId} (${plan.table} key ${u.e.key}): update failed: ${err.message}`, { correlationId: err.correlationId });
      return;
    }
    const o = byId.get(u.link.hubspotId);
    refineBaseline(plan, u.baseline, o, u.patch);
    if (Object.keys(u.targetPatch).length) work.targetUpdates.push({ key: u.e.key, values: u.targetPatch, hubspotId: u.link.hubspotId });
    work.linkUpserts.push({
      ...u.link,
      hsValues: u.baseline.hs,
      tgValues: u.baseline.tg,
      ...baselineHashes(plan, u.baseline),
      hsModified: parseTime(o?.updatedAt) ?? u.link.hsModified,
      tgModified: u.e.capturedMs ?? u.link.tgModified,
    });
    ledger.ok(ref, 'update', { count: 'updated', message: `properties ${Object.keys(u.patch).join(', ')}`, changes: { after: u.patch, before: u.link.hsValues } });
  });
}

/**
 * Rows deleted from the target that have no link: when the operator created them in HubSpot
 * and lost the link commit (killed between HubSpot's answer and the commit), HubSpot holds a
 * record with their external ID. Found by a batch read by that unique property (consistent,
 * unlike search), it is archived (deletes.fromTarget Propagate) or kept as a tombstone (Ignore),
 * so no later pull links or creates it again: a deleted row is never resurrected.
 */
async function findOwnCreatesOfGoneRows(ctx: SyncContext, plan: ObjectPlan, work: PushWork, opts: PushOptions, ledger: BatchLedger): Promise<void> {
  if (work.unlinkedGone.length === 0) return;
  await opts.ensureExternalIdProperty();
  const byExternalId = new Map(work.unlinkedGone.map((e) => [externalIdOf(ctx.uid, e.key), e]));
  const res = await ctx.hubspot.batchRead(plan.type, { ids: [...byExternalId.keys()], idProperty: ctx.externalIdProperty, properties: [ctx.externalIdProperty] });
  for (const o of res.results) {
    const e = byExternalId.get(o.properties[ctx.externalIdProperty] ?? '');
    if (!e) continue;
    const link: LinkRow = { hubspotId: o.id, targetKey: e.key, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null };
    if (plan.deleteFromTarget === 'Propagate') work.archives.push({ e, link });
    else {
      work.linkUpserts.push({ ...link, deletedSide: 'target' });
      ledger.note({ hubspotId: o.id, targetKey: e.key }, 'unlink', 'deleted in the target; deletes.fromTarget is Ignore');
    }
  }
}

/** deletes.fromTarget Propagate: archive in HubSpot (already gone counts as done). */
async function writeArchives(ctx: SyncContext, plan: ObjectPlan, work: PushWork, ledger: BatchLedger): Promise<void> {
  if (work.archives.length === 0) return;
  const res = await ctx.hubspot.batchArchive(plan.type, work.archives.map((a) => a.link.hubspotId));
  const failed = new Map(res.errors.map((x) => [x.index, x]));
  work.archives.forEach((a, i) => {
    const ref = { hubspotId: a.link.hubspotId, targetKey: a.e.key };
    const err = failed.get(i);
    if (err && err.category !== 'NotFound') {
      ledger.fail(ref, err.category, `${plan.type} ${a.link.hubspotId}: archive failed: ${err.message}`, { correlationId: err.correlationId });
      return;
    }
    work.linkDeletes.push(a.link.hubspotId);
    ledger.ok(ref, 'delete', { count: 'deleted' });
  });
}

/**
 * A row whose correction was not written (it changed since it was read) keeps the link's old
 * baseline for the corrected fields, so HubSpot's value still counts as HubSpot's change when the
 * row's newer edit is reconciled; a new link (the row matched an existing record) is not made yet.
 */
function withoutUnwrittenCorrections(plan: ObjectPlan, upserts: LinkRow[], changed: Map<string, Row>, links: Map<string, LinkRow>): LinkRow[] {
  if (changed.size === 0) return upserts;
  const out: LinkRow[] = [];
  for (const l of upserts) {
    const unwritten = changed.get(l.targetKey);
    const old = links.get(l.targetKey);
    if (!unwritten) out.push(l);
    else if (old && old.hubspotId === l.hubspotId) {
      const hs = { ...l.hsValues };
      const tg = { ...l.tgValues };
      for (const f of plan.fields) {
        if (!(f.column in unwritten)) continue;
        if (f.property in old.hsValues) hs[f.property] = old.hsValues[f.property]!;
        else delete hs[f.property];
        if (f.column in old.tgValues) tg[f.column] = old.tgValues[f.column]!;
        else delete tg[f.column];
      }
      out.push({ ...l, hsValues: hs, tgValues: tg, ...baselineHashes(plan, { hs, tg }) });
    }
  }
  return out;
}

/** Then the target state, in one operator-marked transaction; the covered outbox rows go last. */
async function commitBatch(ctx: SyncContext, plan: ObjectPlan, t: TableRef, entries: PushEntry[], work: PushWork, read: BatchRead, opts: PushOptions, ledger: BatchLedger): Promise<void> {
  await ctx.target.transaction(
    async (tx) => {
      // Each correction of a row is conditional on the row still holding what was read: a
      // table edit committed since (while HubSpot was being written) must not be overwritten
      // with HubSpot's older value (chaos seed 5003: `c80.s5003` lastname). Its captured entry
      // is newer than this batch's, so the next batch reconciles it with HubSpot's change.
      const failures = await tx.rows.updateRows(
        t,
        work.targetUpdates.map((u) => ({ key: u.key, values: u.values, ...ifUnchangedSince(plan, read.rows.get(u.key)) })),
      );
      const changed = new Map<string, Row>();
      for (const f of failures) {
        const u = work.targetUpdates[f.index]!;
        if (f.changed) changed.set(u.key, u.values);
        else ledger.fail({ hubspotId: u.hubspotId, targetKey: u.key }, 'Target', `${plan.table} key ${u.key}: update failed: ${f.message}`);
      }
      await tx.state.deleteLinks(plan.type, work.linkDeletes);
      await tx.state.upsertLinks(plan.type, withoutUnwrittenCorrections(plan, work.linkUpserts, changed, read.links));
      // A key that failed keeps its outbox rows (the change is never forgotten): it is retried
      // with backoff (record_errors.next_attempt_at) until it syncs or leaves scope.
      const failed = ledger.failedTargetKeys;
      if (opts.fromOutbox) await tx.state.ackOutbox(plan.table, entries.filter((e) => e.maxId && !failed.has(e.key)).map((e) => ({ key: e.key, maxId: e.maxId! })));
      if (work.intent) await clearPushIntent(tx, plan);
      await ledger.commit(tx);
    },
    { writer: true },
  );
  ledger.committed();
}
