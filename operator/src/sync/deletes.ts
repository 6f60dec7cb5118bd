/**
 * HubSpot deletes found by the full reconciliation (archived records): `deletes.fromHubSpot`
 * Propagate deletes the linked target row (an operator write, not captured); Ignore keeps the
 * row and turns the link into a tombstone, so the row is no longer synced and the record is
 * never re-created on either side. Outcomes go through the batch ledger like every pass: a
 * delete the target refuses is a record error, an audit entry and a sync_errors_total count.
 */
import type { HubSpotObject } from '../hubspot/types.js';
import type { LinkRow, TableRef, TargetTx } from '../target/connector.js';
import type { SyncContext } from './context.js';
import { BatchLedger } from './ledger.js';
import type { ObjectPlan } from './mapping.js';

export async function applyHubSpotDeletes(
  ctx: SyncContext,
  plan: ObjectPlan,
  archived: HubSpotObject[],
  opts: { table: TableRef; commitCursor(tx: TargetTx): Promise<void> },
): Promise<void> {
  const links = await ctx.state.linksByHubSpotIds(plan.type, archived.map((o) => o.id));
  await applyDeletesOfLinks(ctx, plan, [...links.values()].filter((l) => !l.deletedSide), opts);
}

/**
 * The same for records known by their (live) links: the rows they link are deleted, or the links
 * become tombstones. Also used for a create whose link commit was lost and whose record was
 * deleted in HubSpot before the operator came back (push-intent.ts): its link exists
 * only in memory, as if the commit had happened.
 */
export async function applyDeletesOfLinks(
  ctx: SyncContext,
  plan: ObjectPlan,
  live: LinkRow[],
  opts: { table: TableRef; commitCursor(tx: TargetTx): Promise<void> },
): Promise<void> {
  const t = opts.table;
  // The record is gone from HubSpot: a synced delete clears its errors of both directions.
  const ledger = new BatchLedger(ctx, plan, 'toTarget', { commitCursor: opts.commitCursor, clears: 'both' });
  await ctx.target.transaction(
    async (tx) => {
      const tombstones: LinkRow[] = [];
      const removed: string[] = [];
      if (plan.deleteFromHubSpot === 'Propagate' && plan.toTarget) {
        const failures = await tx.rows.deleteRows(t, live.map((l) => l.targetKey));
        const failed = new Map(failures.map((f) => [f.index, f.message]));
        live.forEach((l, i) => {
          const ref = { hubspotId: l.hubspotId, targetKey: l.targetKey };
          const err = failed.get(i);
          if (err !== undefined) {
            const message = `${plan.schema}.${plan.table} key ${l.targetKey}: delete (HubSpot ${plan.type} ${l.hubspotId} was deleted) failed: ${err}`;
            ledger.fail(ref, 'Target', message, { operation: 'delete' });
            return;
          }
          removed.push(l.hubspotId);
          ledger.ok({ hubspotId: l.hubspotId }, undefined, { count: 'deleted' });
          ledger.note(ref, 'delete');
        });
      } else {
        for (const l of live) {
          tombstones.push({ ...l, deletedSide: 'hubspot' });
          ledger.ok({ hubspotId: l.hubspotId });
          ledger.note({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'unlink', 'deleted in HubSpot; deletes.fromHubSpot is Ignore');
        }
      }
      await tx.state.deleteLinks(plan.type, removed);
      await tx.state.upsertLinks(plan.type, tombstones);
      await ledger.commit(tx);
    },
    { writer: true },
  );
  ledger.committed();
}
