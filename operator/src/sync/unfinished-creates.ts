/**
 * Creates whose outcome the operator does not know: it was killed (or lost its database
 * connection, or HubSpot's answer) after sending a batch of creates to HubSpot and before the
 * links were committed.
 *
 * The push replays such a create as the same idempotent upsert (push.ts), which links the record
 * HubSpot made. But if the user deleted that record in HubSpot before the operator came back, the
 * upsert finds nothing and creates the row AGAIN: a record the user deleted is resurrected and
 * the delete never reaches the table (found by the 30-minute chaos run, seed 1000: `c728.s1000`).
 *
 * So before a create batch is sent, its keys are committed as the object type's create intent
 * (one small cursor row; the batch's own commit clears it). A cycle that finds an intent left
 * over resolves it before pushing anything: keys whose record HubSpot still has (a batch read by
 * external ID) are left to the replay; for the others, HubSpot's archived records are listed, and
 * an archived record carrying the key's external ID and created after the intent is the lost
 * create, deleted in HubSpot — applied as a HubSpot delete of the row (`deletes.fromHubSpot`).
 * The listing costs one request per 100 archived records of the type, only after such a crash.
 */
import { chunks } from '../api/chunks.js';
import type { HubSpotObject } from '../hubspot/types.js';
import type { LinkRow, TargetTx } from '../target/connector.js';
import { checkAbort, externalIdOf, type SyncContext } from './context.js';
import { applyDeletesOfLinks } from './deletes.js';
import type { ObjectPlan } from './mapping.js';
import type { ObjectRuntime } from './passes.js';

const INTENT = 'create_intent';
/** HubSpot's clock and ours may differ: an archived record created this long before the intent still counts. */
const CLOCK_SKEW_MS = 60_000;
const LIST_PAGE = 100;
const READ_BATCH = 100;

interface Intent {
  keys: string[];
  atMs: number;
}

/** Commit the keys of a create batch before it is sent to HubSpot. */
export async function recordCreateIntent(ctx: SyncContext, plan: ObjectPlan, keys: string[]): Promise<void> {
  const intent: Intent = { keys, atMs: Date.now() };
  await ctx.target.transaction((tx) => tx.state.setCursor(plan.type, INTENT, { completed: false, data: { ...intent } }));
}

/** In the create batch's own commit: its outcome is now recorded. */
export function clearCreateIntent(tx: TargetTx, plan: ObjectPlan): Promise<void> {
  return tx.state.deleteCursor(plan.type, INTENT);
}

async function readIntent(ctx: SyncContext, plan: ObjectPlan): Promise<Intent | undefined> {
  const c = await ctx.state.getCursor(plan.type, INTENT);
  const keys = c?.data.keys;
  const atMs = c?.data.atMs;
  if (!Array.isArray(keys) || typeof atMs !== 'number') return undefined;
  return { keys: keys.map(String), atMs };
}

/** The intent's keys that HubSpot holds no live record for (and no link either). */
async function keysWithoutLiveRecord(ctx: SyncContext, plan: ObjectPlan, intent: Intent): Promise<Set<string>> {
  const links = await ctx.state.linksByTargetKeys(plan.type, intent.keys);
  const open = intent.keys.filter((k) => !links.has(k));
  const live = new Set<string>();
  for (const part of chunks(open, READ_BATCH)) {
    const ids = part.map((k) => externalIdOf(ctx.uid, k));
    const res = await ctx.hubspot.batchRead(plan.type, { ids, idProperty: ctx.externalIdProperty, properties: [ctx.externalIdProperty] });
    for (const o of res.results) live.add(o.properties[ctx.externalIdProperty] ?? '');
  }
  return new Set(open.filter((k) => !live.has(externalIdOf(ctx.uid, k))));
}

/** Archived records that are the lost creates of these keys: their external ID, created after the intent. */
async function archivedLostCreates(ctx: SyncContext, plan: ObjectPlan, keys: Set<string>, atMs: number): Promise<Map<string, HubSpotObject>> {
  const byExternalId = new Map([...keys].map((k) => [externalIdOf(ctx.uid, k), k]));
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

/** Resolve a create intent a crash left behind (see the file comment); a no-op when there is none. */
export async function resolveUnfinishedCreates(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  const intent = await readIntent(ctx, plan);
  if (!intent) return;
  if (!plan.toTarget) {
    // One way to HubSpot: HubSpot's deletes are never read, so the replay simply creates again.
    await ctx.target.transaction((tx) => clearCreateIntent(tx, plan));
    return;
  }
  await rt.ensureExternalIdProperty();
  const missing = await keysWithoutLiveRecord(ctx, plan, intent);
  const deleted = missing.size ? await archivedLostCreates(ctx, plan, missing, intent.atMs) : new Map<string, HubSpotObject>();
  const rows = await ctx.target.rows.selectRows(rt.table, [...deleted.keys()], []);
  const links: LinkRow[] = [...deleted]
    .filter(([key]) => rows.has(key))
    .map(([key, o]) => ({ hubspotId: o.id, targetKey: key, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null }));
  if (links.length) ctx.logger.info({ objectType: plan.type, records: links.length }, 'records created before a crash were deleted in HubSpot meanwhile: applying their deletes');
  await applyDeletesOfLinks(ctx, plan, links, { table: rt.table, commitCursor: (tx) => clearCreateIntent(tx, plan) });
}
