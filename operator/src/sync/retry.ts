/**
 * Retries of failing records (DESIGN §3 "Convergence"; issue 10). A record whose write failed
 * keeps an error row with its attempts and next attempt time (1 minute doubling to 1 hour,
 * `retryDelayMs`); the change that failed is kept:
 * - target → HubSpot: its outbox rows are not acknowledged (push.ts) and the drain skips the key
 *   until the retry is due; a due key with no outbox row left (e.g. a failed create found by the
 *   scan) gets a recheck row (R, which never counts as a change time);
 * - HubSpot → target: the record is read again from HubSpot (batch read: current, not search)
 *   and applied like a page of the pull pass (its link hash was not advanced by the failure, so
 *   it is not skipped as unchanged).
 * A due record that neither syncs nor fails again left the scope (filtered out, deleted, no
 * longer synced in that direction): its error is forgotten.
 */
import type { TargetTx } from '../target/connector.js';
import { checkAbort, type SyncContext } from './context.js';
import type { ObjectRuntime } from './passes.js';
import { applyHubSpotPage } from './pull.js';

/** Due errors handled per object type and cycle. */
const RETRY_LIMIT = 500;
const READ_BATCH = 100;

/** Re-read the due HubSpot → target failures from HubSpot and apply them. */
export async function retryHubSpotSide(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  const due = (await ctx.state.dueErrors(plan.type, RETRY_LIMIT)).filter((e) => e.direction === 'toTarget' && e.hubspotId !== undefined);
  if (due.length === 0) return;
  const ids = [...new Set(due.map((e) => e.hubspotId!))];
  if (plan.toTarget) {
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      checkAbort(ctx.signal);
      const res = await ctx.hubspot.batchRead(plan.type, { ids: ids.slice(i, i + READ_BATCH), properties: plan.properties });
      await applyHubSpotPage(ctx, plan, res.results, { matchLookup: true, table: rt.table, commitCursor: async (_tx: TargetTx) => {} });
    }
  }
  await forgetOutOfScope(ctx, rt, 'toTarget', ids);
}

/** Due target → HubSpot failures without pending outbox rows get a recheck row. Returns the due keys. */
export async function queueTargetSideRetries(ctx: SyncContext, rt: ObjectRuntime): Promise<string[]> {
  const { plan } = rt;
  const keys = [...new Set((await ctx.state.dueErrors(plan.type, RETRY_LIMIT)).filter((e) => e.direction === 'toHubSpot' && e.targetKey !== undefined).map((e) => e.targetKey!))];
  if (keys.length === 0) return keys;
  const pending = new Set((await ctx.state.outboxFor(plan.table, keys)).map((p) => p.key));
  const missing = keys.filter((k) => !pending.has(k));
  if (missing.length) await ctx.target.transaction((tx) => tx.state.enqueue(plan.table, missing, 'R'), { writer: true });
  return keys;
}

/** Errors still due after their retry ran were neither synced nor failed again: the record left the scope. */
export async function forgetOutOfScope(ctx: SyncContext, rt: ObjectRuntime, direction: 'toTarget' | 'toHubSpot', refs: string[]): Promise<void> {
  if (refs.length === 0 || ctx.signal.aborted) return;
  const wanted = new Set(refs);
  const still = (await ctx.state.dueErrors(rt.plan.type, RETRY_LIMIT)).filter(
    (e) => e.direction === direction && wanted.has((direction === 'toTarget' ? e.hubspotId : e.targetKey) ?? ''),
  );
  if (still.length === 0) return;
  const hs = direction === 'toTarget' ? still.map((e) => e.hubspotId!) : [];
  const tg = direction === 'toHubSpot' ? still.map((e) => e.targetKey!) : [];
  await ctx.target.transaction((tx) => tx.state.clearErrors(rt.plan.type, hs, tg, direction), { writer: true });
}
