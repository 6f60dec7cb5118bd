/**
 * HubSpot writes whose outcome the operator does not know: it was killed (or lost its database
 * connection, or HubSpot's answer) after sending a push batch's creates or updates to HubSpot and
 * before the batch's links were committed. The writes may have landed; the state does not say so.
 *
 * Replaying the batch is not enough:
 * - a lost create replayed as the same idempotent upsert (push.ts) has no baseline, so it writes
 *   every field of the row over the record, losing the user's HubSpot edits made since (chaos
 *   seeds 2005 and 2002: `c42.s2005`, `c76.s2002`);
 * - a lost create whose record the user deleted meanwhile is created AGAIN (HubSpot releases an
 *   archived record's unique values): the delete is lost (30-minute run, seed 1000: `c728`);
 * - a lost update comes back in the next pull as a HubSpot change newer than the row's later
 *   edit, and NewestWins or HubSpotWins then puts the row's OLD value back over its newer one
 *   (seed 3010: `c46.s3010`, jobtitle).
 *
 * So before a batch writes to HubSpot, its creates and updates, with the baseline each establishes
 * (values sent, row values), are committed as the object type's push intent (one cursor row); the
 * batch's own commit clears it. A cycle that finds an intent left over resolves it before anything
 * else, doing what the lost commit would have done:
 * - a created record HubSpot has (a batch read by external ID) is linked with the create's
 *   baseline; for a key without one, HubSpot's archived records are listed, and an archived record
 *   carrying the key's external ID, created after the intent, is the lost create deleted in
 *   HubSpot: applied as a HubSpot delete of the row (`deletes.fromHubSpot`); neither: never
 *   created, the push creates it as usual;
 * - an updated record: each property HubSpot now holds as the update sent it takes the update's
 *   baseline (that write landed and nothing changed it since); every other field keeps the link's
 *   baseline, so a later edit on either side still counts as that side's change.
 * The listing costs one request per 100 archived records of the type, only after such a crash.
 */
import { chunks } from '../api/chunks.js';
import type { HubSpotObject } from '../hubspot/types.js';
import type { LinkRow, TargetTx } from '../target/connector.js';
import type { Baseline } from './conflict.js';
import { baselineHashes, checkAbort, externalIdOf, type SyncContext } from './context.js';
import { applyDeletesOfLinks } from './deletes.js';
import type { ObjectPlan } from './mapping.js';
import type { ObjectRuntime } from './passes.js';
import { canonHubSpot, parseTime } from './values.js';

const INTENT = 'push_intent';
/** HubSpot's clock and ours may differ: an archived record created this long before the intent still counts. */
const CLOCK_SKEW_MS = 60_000;
const LIST_PAGE = 100;
const READ_BATCH = 100;

/** One create of the batch: its target key, the baseline its link would carry, the row's capture time. */
export interface IntendedCreate {
  key: string;
  baseline: Baseline;
  capturedMs?: number;
}

/** One update of a linked record: the properties sent and the baseline the link would carry after it. */
export interface IntendedUpdate {
  hubspotId: string;
  key: string;
  properties: string[];
  baseline: Baseline;
}

export interface PushIntent {
  creates: IntendedCreate[];
  updates: IntendedUpdate[];
}

interface StoredIntent extends PushIntent {
  atMs: number;
}

/** Commit a batch's creates and updates before they are sent to HubSpot (nothing to write: no intent). */
export async function recordPushIntent(ctx: SyncContext, plan: ObjectPlan, intent: PushIntent): Promise<boolean> {
  if (intent.creates.length === 0 && intent.updates.length === 0) return false;
  const data = { ...intent, atMs: Date.now() } satisfies StoredIntent;
  await ctx.target.transaction((tx) => tx.state.setCursor(plan.type, INTENT, { completed: false, data: { ...data } }));
  return true;
}

/** In the batch's own commit: its outcome is now recorded. */
export function clearPushIntent(tx: TargetTx, plan: ObjectPlan): Promise<void> {
  return tx.state.deleteCursor(plan.type, INTENT);
}

async function readIntent(ctx: SyncContext, plan: ObjectPlan): Promise<StoredIntent | undefined> {
  const c = await ctx.state.getCursor(plan.type, INTENT);
  const d = c?.data;
  if (!d || typeof d.atMs !== 'number') return undefined;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
  return { creates: list<IntendedCreate>(d.creates), updates: list<IntendedUpdate>(d.updates), atMs: d.atMs };
}

function bareLink(hubspotId: string, targetKey: string): LinkRow {
  return { hubspotId, targetKey, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null };
}

/** The intent's creates not linked yet, with the live HubSpot record each has (by external ID), if any. */
async function liveCreatedRecords(ctx: SyncContext, plan: ObjectPlan, creates: IntendedCreate[]): Promise<{ open: IntendedCreate[]; live: Map<string, HubSpotObject> }> {
  const links = await ctx.state.linksByTargetKeys(plan.type, creates.map((c) => c.key));
  const open = creates.filter((c) => !links.has(c.key));
  const live = new Map<string, HubSpotObject>();
  for (const part of chunks(open, READ_BATCH)) {
    const ids = part.map((c) => externalIdOf(ctx.uid, c.key));
    const res = await ctx.hubspot.batchRead(plan.type, { ids, idProperty: ctx.externalIdProperty, properties: [ctx.externalIdProperty] });
    for (const o of res.results) live.set(o.properties[ctx.externalIdProperty] ?? '', o);
  }
  return { open, live };
}

/** Archived records that are the lost creates of these keys: their external ID, created after the intent. */
async function archivedLostCreates(ctx: SyncContext, plan: ObjectPlan, keys: string[], atMs: number): Promise<Map<string, HubSpotObject>> {
  const byExternalId = new Map(keys.map((k) => [externalIdOf(ctx.uid, k), k]));
  const found = new Map<string, HubSpotObject>();
  let after: string | undefined;
  do {
    checkAbort(ctx.signal);
    const page = await ctx.hubspot.listObjects(plan.type, { limit: LIST_PAGE, after, properties: [ctx.externalIdProperty], archived: true });
    for (const o of page.results) {
      const key = byExternalId.get(o.properties[ctx.externalIdProperty] ?? '');
      const created = Date.parse(o.createdAt);
      if (key !== undefined && !(created < atMs - CLOCK_SKEW_MS)) found.set(key, o);
    }
    after = page.after;
  } while (after);
  return found;
}

/** Creates: links for the records HubSpot has, HubSpot deletes for the ones it archived meanwhile. */
async function resolveCreates(ctx: SyncContext, rt: ObjectRuntime, intent: StoredIntent): Promise<{ relinks: LinkRow[]; deletes: LinkRow[] }> {
  const { plan } = rt;
  if (intent.creates.length === 0) return { relinks: [], deletes: [] };
  await rt.ensureExternalIdProperty();
  const { open, live } = await liveCreatedRecords(ctx, plan, intent.creates);
  const relinks: LinkRow[] = [];
  const gone: string[] = [];
  for (const c of open) {
    const o = live.get(externalIdOf(ctx.uid, c.key));
    if (!o) gone.push(c.key);
    else relinks.push({ ...bareLink(o.id, c.key), hsValues: c.baseline.hs, tgValues: c.baseline.tg, ...baselineHashes(plan, c.baseline), hsModified: parseTime(o.createdAt), tgModified: c.capturedMs });
  }
  // One way to HubSpot: HubSpot's deletes are never read there, so a deleted record is simply created again.
  const archived = gone.length && plan.toTarget ? await archivedLostCreates(ctx, plan, gone, intent.atMs) : new Map<string, HubSpotObject>();
  const rows = await ctx.target.rows.selectRows(rt.table, [...archived.keys()], []);
  const deletes = [...archived].filter(([key]) => rows.has(key)).map(([key, o]) => bareLink(o.id, key));
  return { relinks, deletes };
}

/**
 * Updates: the baseline moves, field by field, to what the update sent where HubSpot still holds
 * exactly that (the write landed); elsewhere the link's baseline stays.
 */
async function resolveUpdates(ctx: SyncContext, plan: ObjectPlan, updates: IntendedUpdate[]): Promise<LinkRow[]> {
  const links = await ctx.state.linksByHubSpotIds(plan.type, updates.map((u) => u.hubspotId));
  const pending = updates.filter((u) => links.get(u.hubspotId)?.targetKey === u.key && !links.get(u.hubspotId)?.deletedSide);
  const current = new Map<string, HubSpotObject>();
  for (const part of chunks(pending, READ_BATCH)) {
    const res = await ctx.hubspot.batchRead(plan.type, { ids: part.map((u) => u.hubspotId), properties: plan.properties });
    for (const o of res.results) current.set(o.id, o);
  }
  const moved: LinkRow[] = [];
  for (const u of pending) {
    const link = links.get(u.hubspotId)!;
    const o = current.get(u.hubspotId);
    if (!o) continue; // gone from HubSpot: the pull applies the delete
    const hs = { ...link.hsValues };
    const tg = { ...link.tgValues };
    let landed = false;
    for (const f of plan.fields) {
      if (!u.properties.includes(f.property) || !(f.property in u.baseline.hs)) continue;
      if (canonHubSpot(f, o.properties[f.property]) !== u.baseline.hs[f.property]) continue;
      hs[f.property] = u.baseline.hs[f.property]!;
      if (f.column in u.baseline.tg) tg[f.column] = u.baseline.tg[f.column]!;
      landed = true;
    }
    if (landed) moved.push({ ...link, hsValues: hs, tgValues: tg, ...baselineHashes(plan, { hs, tg }) });
  }
  return moved;
}

/** Resolve a push intent a crash left behind (see the file comment); a no-op when there is none. */
export async function resolvePushIntent(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  const intent = await readIntent(ctx, plan);
  if (!intent) return;
  const { relinks, deletes } = await resolveCreates(ctx, rt, intent);
  const moved = await resolveUpdates(ctx, plan, intent.updates);
  if (relinks.length || deletes.length || moved.length) {
    ctx.logger.info({ objectType: plan.type, relinked: relinks.length, deletedInHubSpot: deletes.length, updatesLanded: moved.length }, 'resolved HubSpot writes a crash left without their commit');
  }
  const idColumn = plan.hubspotIdColumn;
  await applyDeletesOfLinks(ctx, plan, deletes, {
    table: rt.table,
    commitCursor: async (tx) => {
      await tx.state.upsertLinks(plan.type, [...relinks, ...moved]);
      if (idColumn) await tx.rows.updateRows(rt.table, relinks.map((l) => ({ key: l.targetKey, values: { [idColumn]: l.hubspotId } })));
      await clearPushIntent(tx, plan);
    },
  });
}
