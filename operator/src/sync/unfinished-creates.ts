/**
 * Creates whose outcome the operator does not know: it was killed (or lost its database
 * connection, or HubSpot's answer) after sending a batch of creates to HubSpot and before the
 * links were committed.
 *
 * Replaying such a create as the same idempotent upsert (push.ts) is not enough:
 * - the replay has no baseline, so it writes every field of the row over the record, losing the
 *   user's HubSpot edits made since the create (chaos run seed 2005, TargetWins: `c42.s2005`);
 * - if the user deleted the record before the operator came back, the upsert finds nothing
 *   (HubSpot releases an archived record's unique values) and creates the row AGAIN: the delete is
 *   lost and the record resurrected (30-minute chaos run, seed 1000: `c728.s1000`).
 *
 * So before a create batch is sent, its keys and the baseline each create establishes (the
 * values sent, the row's values) are committed as the object type's create intent (one cursor
 * row); the batch's own commit clears it. A cycle that finds an intent left over resolves it
 * before anything else, as the lost commit would have:
 * - a key whose record HubSpot has (a batch read by external ID) is linked with the create's
 *   baseline, so what either side changed since then syncs through the conflict rules;
 * - for the other keys, HubSpot's archived records are listed: one carrying the key's external
 *   ID and created after the intent is the lost create, deleted in HubSpot — applied as a HubSpot
 *   delete of the row (`deletes.fromHubSpot`);
 * - a key with neither was never created: the push creates it as usual.
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
import { parseTime } from './values.js';

const INTENT = 'create_intent';
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

interface Intent {
  creates: IntendedCreate[];
  atMs: number;
}

/** Commit the creates of a batch before it is sent to HubSpot. */
export async function recordCreateIntent(ctx: SyncContext, plan: ObjectPlan, creates: IntendedCreate[]): Promise<void> {
  const data = { creates, atMs: Date.now() } satisfies Intent;
  await ctx.target.transaction((tx) => tx.state.setCursor(plan.type, INTENT, { completed: false, data: { ...data } }));
}

/** In the create batch's own commit: its outcome is now recorded. */
export function clearCreateIntent(tx: TargetTx, plan: ObjectPlan): Promise<void> {
  return tx.state.deleteCursor(plan.type, INTENT);
}

async function readIntent(ctx: SyncContext, plan: ObjectPlan): Promise<Intent | undefined> {
  const c = await ctx.state.getCursor(plan.type, INTENT);
  const creates = c?.data.creates;
  const atMs = c?.data.atMs;
  if (!Array.isArray(creates) || typeof atMs !== 'number') return undefined;
  return { creates: creates as IntendedCreate[], atMs };
}

/** The intent's creates not linked yet, with the live HubSpot record each has (by external ID), if any. */
async function liveRecordsOf(ctx: SyncContext, plan: ObjectPlan, intent: Intent): Promise<{ open: IntendedCreate[]; live: Map<string, HubSpotObject> }> {
  const links = await ctx.state.linksByTargetKeys(plan.type, intent.creates.map((c) => c.key));
  const open = intent.creates.filter((c) => !links.has(c.key));
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

function bareLink(hubspotId: string, targetKey: string): LinkRow {
  return { hubspotId, targetKey, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null };
}

/** Resolve a create intent a crash left behind (see the file comment); a no-op when there is none. */
export async function resolveUnfinishedCreates(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  const intent = await readIntent(ctx, plan);
  if (!intent) return;
  await rt.ensureExternalIdProperty();
  const { open, live } = await liveRecordsOf(ctx, plan, intent);
  // The links the lost commit would have written: the create's baseline, HubSpot's creation time.
  const relinks: LinkRow[] = [];
  const gone: string[] = [];
  for (const c of open) {
    const o = live.get(externalIdOf(ctx.uid, c.key));
    if (!o) gone.push(c.key);
    else relinks.push({ ...bareLink(o.id, c.key), hsValues: c.baseline.hs, tgValues: c.baseline.tg, ...baselineHashes(plan, c.baseline), hsModified: parseTime(o.createdAt), tgModified: c.capturedMs });
  }
  // One way to HubSpot: HubSpot's deletes are never read there, so a deleted record is simply created again.
  const deleted = gone.length && plan.toTarget ? await archivedLostCreates(ctx, plan, gone, intent.atMs) : new Map<string, HubSpotObject>();
  const rows = await ctx.target.rows.selectRows(rt.table, [...deleted.keys()], []);
  const deletes = [...deleted].filter(([key]) => rows.has(key)).map(([key, o]) => bareLink(o.id, key));
  if (relinks.length || deletes.length) {
    ctx.logger.info({ objectType: plan.type, relinked: relinks.length, deletedInHubSpot: deletes.length }, 'resolved creates a crash left without their links');
  }
  const idColumn = plan.hubspotIdColumn;
  await applyDeletesOfLinks(ctx, plan, deletes, {
    table: rt.table,
    commitCursor: async (tx) => {
      await tx.state.upsertLinks(plan.type, relinks);
      if (idColumn) await tx.rows.updateRows(rt.table, relinks.map((l) => ({ key: l.targetKey, values: { [idColumn]: l.hubspotId } })));
      await clearCreateIntent(tx, plan);
    },
  });
}
