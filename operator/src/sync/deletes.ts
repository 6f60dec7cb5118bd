/**
 * HubSpot deletes found by the full reconciliation (archived records): `deletes.fromHubSpot`
 * Propagate deletes the linked target row (an operator write, not captured); Ignore keeps the
 * row and turns the link into a tombstone, so the row is no longer synced and the record is
 * never re-created on either side.
 */
import type { HubSpotObject } from '../hubspot/types.js';
import type { AuditEntry, LinkRow, RecordError, TargetTx } from '../target/connector.js';
import { countersOf, type SyncContext } from './context.js';
import type { ObjectPlan } from './mapping.js';
import { tableRef } from './pull.js';

export async function applyHubSpotDeletes(
  ctx: SyncContext,
  plan: ObjectPlan,
  archived: HubSpotObject[],
  opts: { pkDataType?: string; commitCursor(tx: TargetTx): Promise<void> },
): Promise<void> {
  const counters = countersOf(ctx, plan.type);
  const links = await ctx.state.linksByHubSpotIds(plan.type, archived.map((o) => o.id));
  const live = [...links.values()].filter((l) => !l.deletedSide);
  const t = tableRef(plan, opts.pkDataType);
  let deleted = 0;
  await ctx.target.transaction(
    async (tx) => {
      const audit: AuditEntry[] = [];
      const errors: RecordError[] = [];
      const tombstones: LinkRow[] = [];
      const removed: string[] = [];
      if (plan.deleteFromHubSpot === 'Propagate' && plan.toTarget) {
        const failures = await tx.rows.deleteRows(t, live.map((l) => l.targetKey));
        const failed = new Map(failures.map((f) => [f.index, f.message]));
        live.forEach((l, i) => {
          const err = failed.get(i);
          if (err !== undefined) {
            const message = `${plan.schema}.${plan.table} key ${l.targetKey}: delete (HubSpot ${plan.type} ${l.hubspotId} was deleted) failed: ${err}`;
            errors.push({ objectType: plan.type, hubspotId: l.hubspotId, targetKey: l.targetKey, direction: 'toTarget', category: 'Target', message });
            audit.push({ objectType: plan.type, direction: 'toTarget', operation: 'delete', hubspotId: l.hubspotId, targetKey: l.targetKey, outcome: 'failed', category: 'Target', message });
            counters.failed++;
            return;
          }
          removed.push(l.hubspotId);
          deleted++;
          audit.push({ objectType: plan.type, direction: 'toTarget', operation: 'delete', hubspotId: l.hubspotId, targetKey: l.targetKey, outcome: 'ok' });
        });
      } else {
        for (const l of live) {
          tombstones.push({ ...l, deletedSide: 'hubspot' });
          audit.push({ objectType: plan.type, direction: 'toTarget', operation: 'unlink', hubspotId: l.hubspotId, targetKey: l.targetKey, outcome: 'ok', message: 'deleted in HubSpot; deletes.fromHubSpot is Ignore' });
        }
      }
      await tx.state.deleteLinks(plan.type, removed);
      await tx.state.upsertLinks(plan.type, tombstones);
      await tx.state.clearErrors(plan.type, [...removed, ...tombstones.map((l) => l.hubspotId)], []);
      await tx.state.recordErrors(errors);
      await tx.state.audit(audit);
      await opts.commitCursor(tx);
    },
    { writer: true },
  );
  counters.toTarget.deleted += deleted;
  if (deleted) ctx.observer?.recordsSynced?.(plan.type, 'toTarget', 'deleted', deleted);
}
