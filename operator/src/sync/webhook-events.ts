/**
 * HubSpot → target in real time (DESIGN §2.8): applies the webhook events the receiver stored
 * in the integration's inbox (`webhook_inbox`, in the state store). Events only NAME records;
 * their values are read from HubSpot (one batch read per 100 records) and applied by the pull's
 * page step (`applyHubSpotPage`): the same mapping, filters, conflict rules, links, errors and
 * audit as a cycle. Polling stays the safety net (a change without an event is found by the
 * next incremental search; a lost deletion by the full reconciliation).
 *
 * Per object type, in occurredAt order, the last lifecycle event of a record wins:
 * - creation / propertyChange / restore → the record is read and applied (an out-of-order
 *   propertyChange before its creation simply reads the current record);
 * - deletion → `deletes.fromHubSpot` (Propagate: the row is deleted; Ignore: tombstone);
 * - restore → a tombstone of the record is revived (link kept, re-reconciled) before the apply;
 *   under Propagate the row was deleted and is re-created (create.inTarget);
 * - merge → the surviving record keeps or takes the link (the merged-away record's row, or the
 *   primary's first), every other merged-away row follows `deletes.fromHubSpot` (Propagate:
 *   deleted; Ignore: tombstone — unlinked and kept); audited as `merge`. A batch read that
 *   answers with a merged record (`mergedFrom`) is handled the same way, so a merge seen
 *   without its event never leaves two rows for one HubSpot record;
 * - privacyDeletion → the row is deleted unless `deletes.privacyFromHubSpot: Ignore` (then a
 *   tombstone without its stored values); the record's errors and inbox rows are removed; the
 *   audit entry names the IDs only;
 * - associationChange → both ends of the pair (fromObjectId / toObjectId; the other end's type
 *   from `associationType` such as CONTACT_TO_COMPANY, or `toObjectTypeId` of the generic form)
 *   go to `onAssociationChange`, which marks them touched on the HubSpot side so the association
 *   pass of the same cycle re-reads their associations (adds and removals alike); those events
 *   are acknowledged only by the caller, after that pass (`deferredAcks`). Without the hook (no
 *   associations in the spec) they are counted as ignored.
 * Events of object types the integration does not sync (or not toward the table) are
 * acknowledged and counted as ignored. Events are acknowledged after they were applied: a
 * crash in between applies them again, which changes nothing (hashes, links).
 */
import type { HubSpotObject } from '../hubspot/types.js';
import type { LinkRow, StoredWebhookEvent, TargetTx } from '../target/connector.js';
import type { SyncContext } from './context.js';
import { applyHubSpotDeletes } from './deletes.js';
import { BatchLedger } from './ledger.js';
import type { ObjectRuntime } from './passes.js';
import { applyHubSpotPage } from './pull.js';

/** Events read from the inbox per round. */
export const INBOX_BATCH = 500;
/** Applied events are kept this long (status.webhooks.eventsLast24h counts them), then pruned. */
export const INBOX_RETENTION_MS = 24 * 60 * 60 * 1000;
const READ_BATCH = 100;

export interface WebhookConsumeOptions {
  /**
   * The association pass's hook: the records named by associationChange events (both ends),
   * per spec object type, whose associations the pass must re-read this cycle. With it those
   * events are not acknowledged here but listed in `deferredAcks` for the caller to acknowledge
   * after the association pass; without it they are counted and ignored.
   */
  onAssociationChange?(ends: AssociationEnds): void | Promise<void>;
  /** Rounds of INBOX_BATCH events at most per call (default 20); the rest waits for the next call. */
  maxRounds?: number;
}

export interface WebhookConsumeResult {
  /** Events acknowledged. */
  events: number;
  /** Records read from HubSpot and applied. */
  records: number;
  merges: number;
  privacyDeletions: number;
  deletions: number;
  /** Events of object types not synced toward the table, and associationChange without a hook. */
  ignored: number;
  /** associationChange events handed to the hook: acknowledge them after the association pass. */
  deferredAcks: string[];
}

/** spec object type → HubSpot record IDs. */
export type AssociationEnds = Map<string, Set<string>>;

const STANDARD_TYPE_IDS: Record<string, string> = { '0-1': 'contacts', '0-2': 'companies', '0-3': 'deals' };
const SINGULARS: Record<string, string> = { CONTACT: 'contacts', COMPANY: 'companies', DEAL: 'deals' };

/**
 * The spec object type of the other end of an associationChange event: `toObjectTypeId` of the
 * generic form, else the part after `_TO_` of `associationType` (CONTACT_TO_COMPANY → companies).
 * Undefined when it names no type of the integration.
 */
export function associationOtherType(e: StoredWebhookEvent, types: ReadonlySet<string>): string | undefined {
  const typeId = e.payload.toObjectTypeId;
  let t: string | undefined;
  if (typeof typeId === 'string') t = STANDARD_TYPE_IDS[typeId] ?? typeId;
  else if (typeof e.payload.associationType === 'string') {
    const to = e.payload.associationType.split('_TO_')[1];
    t = to === undefined ? undefined : SINGULARS[to.toUpperCase()];
  }
  return t !== undefined && types.has(t) ? t : undefined;
}

function idOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return v;
  return undefined;
}

function ids(v: unknown): string[] {
  return Array.isArray(v) ? v.map(idOf).filter((x): x is string => x !== undefined) : [];
}

/** What the events of one object type ask for. */
interface TypeWork {
  /** Records to read and apply. */
  live: Set<string>;
  /** Records whose last lifecycle event is a deletion. */
  deleted: Set<string>;
  restored: Set<string>;
  privacy: Set<string>;
  /** survivor → merged-away records (from merge events). */
  merges: Map<string, Set<string>>;
}

function plan(events: StoredWebhookEvent[]): TypeWork {
  const w: TypeWork = { live: new Set(), deleted: new Set(), restored: new Set(), privacy: new Set(), merges: new Map() };
  for (const e of events) {
    const id = e.objectId ?? undefined;
    switch (e.kind) {
      case 'creation':
      case 'propertyChange':
        if (id) {
          w.live.add(id);
          w.deleted.delete(id);
        }
        break;
      case 'restore':
        if (id) {
          w.live.add(id);
          w.restored.add(id);
          w.deleted.delete(id);
        }
        break;
      case 'deletion':
        if (id) {
          w.deleted.add(id);
          w.live.delete(id);
          w.restored.delete(id);
        }
        break;
      case 'privacyDeletion':
        if (id) w.privacy.add(id);
        break;
      case 'merge': {
        const survivor = idOf(e.payload.newObjectId) ?? idOf(e.payload.primaryObjectId) ?? id;
        if (!survivor) break;
        const away = new Set([...ids([e.payload.primaryObjectId]), ...ids(e.payload.mergedObjectIds)].filter((x) => x !== survivor));
        w.merges.set(survivor, new Set([...(w.merges.get(survivor) ?? []), ...away]));
        w.live.add(survivor);
        w.deleted.delete(survivor);
        for (const a of away) {
          w.live.delete(a);
          w.deleted.delete(a);
        }
        break;
      }
      case 'associationChange':
        // Both ends are collected by consumeWebhookEvents for the association pass.
        break;
    }
  }
  // A privacy deletion is final: nothing else of the record is applied.
  for (const id of w.privacy) {
    w.live.delete(id);
    w.deleted.delete(id);
    w.restored.delete(id);
  }
  return w;
}

/** Apply the pending inbox events of the integration; returns what was done. */
export async function consumeWebhookEvents(ctx: SyncContext, runtimes: ObjectRuntime[], opts: WebhookConsumeOptions = {}): Promise<WebhookConsumeResult> {
  const result: WebhookConsumeResult = { events: 0, records: 0, merges: 0, privacyDeletions: 0, deletions: 0, ignored: 0, deferredAcks: [] };
  const byType = new Map(runtimes.map((rt) => [rt.plan.type, rt]));
  const maxRounds = opts.maxRounds ?? 20;
  const deferred = new Set<string>();
  const ends: AssociationEnds = new Map();
  for (let round = 0; round < maxRounds; round++) {
    if (ctx.signal.aborted) break;
    const read = await ctx.state.pendingWebhookEvents(INBOX_BATCH);
    // Deferred associationChange events stay pending until the caller acknowledges them.
    const pending = read.filter((e) => !deferred.has(e.id));
    if (pending.length === 0) break;
    const groups = new Map<string, StoredWebhookEvent[]>();
    for (const e of pending) groups.set(e.objectType, [...(groups.get(e.objectType) ?? []), e]);
    for (const [type, events] of groups) {
      const rt = byType.get(type);
      let ack = events;
      if (!rt || !rt.plan.toTarget) {
        result.ignored += events.length;
      } else {
        await consumeType(ctx, rt, events, opts, result);
        if (opts.onAssociationChange) {
          const assoc = events.filter((e) => e.kind === 'associationChange');
          for (const e of assoc) {
            deferred.add(e.id);
            result.deferredAcks.push(e.id);
            const add = (t: string, id: string | undefined) => {
              if (id === undefined) return;
              let s = ends.get(t);
              if (!s) ends.set(t, (s = new Set()));
              s.add(id);
            };
            add(type, idOf(e.payload.fromObjectId) ?? e.objectId ?? undefined);
            const other = associationOtherType(e, new Set(byType.keys()));
            if (other !== undefined) add(other, idOf(e.payload.toObjectId));
          }
          ack = events.filter((e) => e.kind !== 'associationChange');
        }
      }
      if (ack.length) await ctx.target.transaction((tx) => tx.state.ackWebhookEvents(ack.map((e) => e.id)));
      result.events += events.length;
    }
    if (read.length < INBOX_BATCH) break;
  }
  // The association pass compares linked records only: unknown or privacy-deleted ends are left out there.
  if (opts.onAssociationChange && ends.size) await opts.onAssociationChange(ends);
  if (result.events > 0) {
    await ctx.target.transaction((tx) => tx.state.pruneWebhookEvents(INBOX_RETENTION_MS)).catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'pruning applied webhook events failed'));
    ctx.logger.debug({ ...result }, 'webhook events applied');
  }
  return result;
}

async function consumeType(ctx: SyncContext, rt: ObjectRuntime, events: StoredWebhookEvent[], opts: WebhookConsumeOptions, result: WebhookConsumeResult): Promise<void> {
  const w = plan(events);
  if (w.privacy.size) {
    await applyPrivacyDeletions(ctx, rt, [...w.privacy]);
    result.privacyDeletions += w.privacy.size;
  }
  if (w.deleted.size) {
    const archived: HubSpotObject[] = [...w.deleted].map((id) => ({ id, properties: {}, createdAt: '', updatedAt: '', archived: true }));
    await applyHubSpotDeletes(ctx, rt.plan, archived, { table: rt.table, commitCursor: async () => undefined });
    result.deletions += w.deleted.size;
  }
  if (w.restored.size) await reviveTombstones(ctx, rt, [...w.restored]);

  // Read the named records; merged-away IDs resolve to their merged record (mergedFrom).
  const live = [...w.live];
  const records = new Map<string, HubSpotObject>();
  for (let i = 0; i < live.length; i += READ_BATCH) {
    const res = await ctx.hubspot.batchRead(rt.plan.type, { ids: live.slice(i, i + READ_BATCH), properties: rt.plan.properties });
    for (const o of res.results) if (!o.archived) records.set(o.id, o);
  }
  for (const [survivor, away] of w.merges) {
    const merged = new Set([...away, ...(records.get(survivor)?.mergedFrom ?? [])]);
    merged.delete(survivor);
    if (await applyMerge(ctx, rt, survivor, [...merged], idOf(events.find((e) => e.kind === 'merge' && idOf(e.payload.newObjectId) === survivor)?.payload.primaryObjectId))) result.merges++;
  }
  for (const o of records.values()) {
    if (w.merges.has(o.id) || !o.mergedFrom?.length) continue;
    // A merge seen without its event (not subscribed, or not delivered yet).
    if (await applyMerge(ctx, rt, o.id, o.mergedFrom.filter((x) => x !== o.id))) result.merges++;
  }
  if (records.size) {
    await applyHubSpotPage(ctx, rt.plan, [...records.values()], { matchLookup: true, table: rt.table, commitCursor: async () => undefined });
    result.records += records.size;
  }

  if (!opts.onAssociationChange) result.ignored += events.filter((e) => e.kind === 'associationChange').length;
}

/**
 * The merged record keeps its link, or takes one of the merged-away records' (the primary's
 * first); the other merged-away rows follow deletes.fromHubSpot. Returns whether any link changed.
 */
async function applyMerge(ctx: SyncContext, rt: ObjectRuntime, survivor: string, away: string[], primary?: string): Promise<boolean> {
  if (away.length === 0) return false;
  const { plan, table } = rt;
  const ledger = new BatchLedger(ctx, plan, 'toTarget', { clears: 'both' });
  let changed = false;
  await ctx.target.transaction(
    async (tx: TargetTx) => {
      const links = await tx.state.linksByHubSpotIds(plan.type, [survivor, ...away]);
      const awayLinks = away.map((id) => links.get(id)).filter((l): l is LinkRow => !!l && !l.deletedSide);
      if (awayLinks.length === 0) return;
      changed = true;
      const kept = links.get(survivor);
      let rest = awayLinks;
      if (!kept || kept.deletedSide) {
        const take = awayLinks.find((l) => l.hubspotId === primary) ?? awayLinks[0]!;
        rest = awayLinks.filter((l) => l !== take);
        // The survivor takes the row; a null hash makes the apply reconcile it with the merged record.
        await tx.state.deleteLinks(plan.type, [take.hubspotId, ...(kept ? [survivor] : [])]);
        await tx.state.upsertLinks(plan.type, [{ ...take, hubspotId: survivor, hsHash: null, deletedSide: null }]);
        ledger.ok({ hubspotId: take.hubspotId });
        ledger.note({ hubspotId: survivor, targetKey: take.targetKey }, 'merge', `HubSpot merged ${[...away].join(', ')} into ${survivor}; the row of ${take.hubspotId} now follows ${survivor}`);
      }
      if (rest.length === 0) return;
      if (plan.deleteFromHubSpot === 'Propagate') {
        const failures = await tx.rows.deleteRows(table, rest.map((l) => l.targetKey));
        const failed = new Map(failures.map((f) => [f.index, f.message]));
        const removed: string[] = [];
        rest.forEach((l, i) => {
          const err = failed.get(i);
          if (err !== undefined) {
            ledger.fail({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'Target', `${plan.schema}.${plan.table} key ${l.targetKey}: delete (HubSpot ${plan.type} ${l.hubspotId} was merged into ${survivor}) failed: ${err}`, { operation: 'merge' });
            return;
          }
          removed.push(l.hubspotId);
          ledger.ok({ hubspotId: l.hubspotId }, undefined, { count: 'deleted' });
          ledger.note({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'merge', `merged into ${survivor}; row deleted (deletes.fromHubSpot: Propagate)`);
        });
        await tx.state.deleteLinks(plan.type, removed);
      } else {
        await tx.state.upsertLinks(plan.type, rest.map((l) => ({ ...l, deletedSide: 'hubspot' as const })));
        for (const l of rest) {
          ledger.ok({ hubspotId: l.hubspotId });
          ledger.note({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'merge', `merged into ${survivor}; row kept and unlinked (deletes.fromHubSpot: Ignore)`);
        }
      }
      await ledger.commit(tx);
    },
    { writer: true, lock: `pull.${plan.type}` },
  );
  if (changed) ledger.committed();
  return changed;
}

/** GDPR: delete the rows (or tombstone them without values), the records' errors and inbox rows; audit by ID only. */
async function applyPrivacyDeletions(ctx: SyncContext, rt: ObjectRuntime, hubspotIds: string[]): Promise<void> {
  const { plan, table } = rt;
  const ledger = new BatchLedger(ctx, plan, 'toTarget', { clears: 'both' });
  await ctx.target.transaction(
    async (tx) => {
      const links = [...(await tx.state.linksByHubSpotIds(plan.type, hubspotIds)).values()];
      const live = links.filter((l) => !l.deletedSide);
      const removed: string[] = links.filter((l) => l.deletedSide).map((l) => l.hubspotId);
      const tombstones: LinkRow[] = [];
      if (plan.privacyFromHubSpot === 'Propagate') {
        const failures = await tx.rows.deleteRows(table, live.map((l) => l.targetKey));
        const failed = new Map(failures.map((f) => [f.index, f.message]));
        live.forEach((l, i) => {
          const err = failed.get(i);
          if (err !== undefined) {
            // The database's message may quote the row: never stored for a privacy deletion.
            ledger.fail({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'Target', `${plan.schema}.${plan.table} key ${l.targetKey}: delete for a HubSpot privacy deletion failed; see the database log`, { operation: 'privacyDeletion' });
            return;
          }
          removed.push(l.hubspotId);
          ledger.ok({ hubspotId: l.hubspotId }, undefined, { count: 'deleted' });
          ledger.note({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'privacyDeletion', 'row deleted');
        });
      } else {
        for (const l of live) {
          tombstones.push({ ...l, hsValues: {}, tgValues: {}, hsHash: null, tgHash: null, matchKey: null, deletedSide: 'hubspot' });
          ledger.ok({ hubspotId: l.hubspotId });
          ledger.note({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'privacyDeletion', 'row kept and unlinked (deletes.privacyFromHubSpot: Ignore)');
        }
      }
      for (const id of hubspotIds) if (!links.some((l) => l.hubspotId === id)) ledger.ok({ hubspotId: id });
      await tx.state.deleteLinks(plan.type, removed);
      await tx.state.upsertLinks(plan.type, tombstones);
      await tx.state.forgetWebhookEvents(plan.type, hubspotIds);
      await ledger.commit(tx);
    },
    { writer: true, lock: `pull.${plan.type}` },
  );
  ledger.committed();
}

/** A restored record: its tombstone (deletes.fromHubSpot Ignore) becomes a live link again, reconciled by the apply. */
async function reviveTombstones(ctx: SyncContext, rt: ObjectRuntime, hubspotIds: string[]): Promise<void> {
  const { plan } = rt;
  const ledger = new BatchLedger(ctx, plan, 'toTarget');
  await ctx.target.transaction(
    async (tx) => {
      const links = [...(await tx.state.linksByHubSpotIds(plan.type, hubspotIds)).values()].filter((l) => l.deletedSide === 'hubspot');
      if (links.length === 0) return;
      await tx.state.upsertLinks(plan.type, links.map((l) => ({ ...l, deletedSide: null, hsHash: null })));
      for (const l of links) ledger.note({ hubspotId: l.hubspotId, targetKey: l.targetKey }, 'restore', 'restored in HubSpot; link re-created');
      await ledger.commit(tx);
    },
    { writer: true, lock: `pull.${plan.type}` },
  );
  ledger.committed();
}
