/**
 * The passes of a cycle for one object type, each resumable from committed cursors:
 * - import: list all HubSpot records, 100 per page (cursor = list position);
 * - incremental: search by last-modified ascending (one sort: HubSpot honours no second one),
 *   200 per page, from the watermark minus a lookback; each page's search starts after the
 *   previous page's last time (never near the 10,000-result cap), and a page that is all one
 *   time switches to reading that tie group by hs_object_id, so ties neither loop nor skip;
 * - full: list all again (catches missed changes) and list archived records (HubSpot deletes);
 * - scan: target rows without a link (existing rows at first sync, or rows missed by capture);
 * - drain: the outbox of captured target changes, 100 keys per batch.
 * Every page commits its writes together with its cursor.
 */
import type { HubSpotObject, SearchFilter, SearchRequest } from '../hubspot/types.js';
import type { TableRef, TargetTx } from '../target/connector.js';
import { checkAbort, hsModifiedOf, type SyncContext } from './context.js';
import { applyHubSpotDeletes } from './deletes.js';
import { pushDownFilters } from './filter.js';
import type { ObjectPlan } from './mapping.js';
import { applyHubSpotPage } from './pull.js';
import { pushBatch, type PushOptions } from './push.js';

export const LIST_PAGE = 100;
export const SEARCH_PAGE = 200;
export const PUSH_BATCH = 100;
/** Keys read per step of the scan for unlinked target rows. */
export const SCAN_WINDOW = 500;

export interface ObjectRuntime {
  plan: ObjectPlan;
  /** The synced table (with its key's type, for key lookups). */
  table: TableRef;
  uniqueMatch: boolean;
  ensureExternalIdProperty(): Promise<void>;
}

/**
 * Start a request now and keep its failure until it is awaited: the next page is fetched while
 * the current one is written (the rate limit, not the database, bounds throughput). A page
 * prefetched when a cycle stops is simply not used; cursors only move with written pages.
 */
function prefetch<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

function progress(ctx: SyncContext, type: string, phase: string, done: number, total?: number): void {
  ctx.observer?.progress?.(type, phase, done, total);
}

/** Initial import (resumable); counts the records that passed the filters. */
export async function runImport(ctx: SyncContext, rt: ObjectRuntime, matchLookup: boolean): Promise<void> {
  // matchLookup: whether unlinked HubSpot records are looked up in the target by match key.
  const { plan } = rt;
  let cur = (await ctx.state.getCursor(plan.type, 'import')) ?? { completed: false, data: {} };
  if (cur.completed) return;
  if (cur.data.startedAtMs === undefined) {
    cur = { ...cur, data: { ...cur.data, startedAtMs: Date.now(), matched: 0, seen: 0, matchLookup } };
    await ctx.target.transaction((tx) => tx.state.setCursor(plan.type, 'import', cur));
  }
  // Decided when the import started (a resumed import keeps the decision), or on pending captures.
  matchLookup = matchLookup || cur.data.matchLookup !== false;
  const list = (after: string | undefined) => prefetch(ctx.hubspot.listObjects(plan.type, { limit: LIST_PAGE, after, properties: pullProperties(ctx, plan) }));
  checkAbort(ctx.signal);
  let pending = list(cur.position);
  for (;;) {
    const page = await pending;
    checkAbort(ctx.signal);
    if (page.after) pending = list(page.after);
    const next: typeof cur = {
      ...cur,
      position: page.after,
      completed: !page.after,
      data: { ...cur.data, seen: Number(cur.data.seen ?? 0) + page.results.length },
    };
    await applyHubSpotPage(ctx, plan, page.results, {
      matchLookup,
      table: rt.table,
      commitCursor: async (tx, matchedNow) => {
        next.data.matched = Number(cur.data.matched ?? 0) + matchedNow;
        await tx.state.setCursor(plan.type, 'import', next);
        if (next.completed) {
          // Changes made while the import ran are picked up by the first incremental search.
          const inc = await tx.state.getCursor(plan.type, 'incremental');
          if (!inc) await tx.state.setCursor(plan.type, 'incremental', { watermarkMs: Number(cur.data.startedAtMs), completed: false, data: {} });
          await saveCount(ctx, tx, plan.type, Number(next.data.matched));
        }
      },
    });
    cur = next;
    progress(ctx, plan.type, 'import', Number(cur.data.seen));
    if (!page.after) return;
  }
}

async function saveCount(ctx: SyncContext, tx: TargetTx, type: string, hubspotRecords: number): Promise<void> {
  const meta = (await tx.state.getCursor(type, 'meta')) ?? { completed: true, data: {} };
  await tx.state.setCursor(type, 'meta', { ...meta, data: { ...meta.data, hubspotRecords } });
}

/**
 * Where the incremental read stands. HubSpot honours one sort per search and returns records
 * sharing a sort value in no defined order, so the read never relies on a second sort:
 * - range: records modified at or after (inclusive) / after t, by last-modified ascending. Each
 *   search starts at offset 0 (keyset paging), so the 10,000-result cap is never reached and a
 *   record modified mid-read cannot shift the pages under it;
 * - ties: the records modified exactly at t, by hs_object_id ascending, after id. Used when a
 *   whole page shares one time, so a tie group of any size is read exactly once, without looping.
 */
type ReadPos = { phase: 'range'; t: number; inclusive: boolean } | { phase: 'ties'; t: number; id?: string };

function searchAt(plan: ObjectPlan, pushed: SearchFilter[], pos: ReadPos): SearchRequest {
  const lm = plan.lastModifiedProperty;
  const base = { properties: plan.properties, limit: SEARCH_PAGE };
  if (pos.phase === 'range') {
    const from: SearchFilter = { propertyName: lm, operator: pos.inclusive ? 'GTE' : 'GT', value: String(pos.t) };
    return { ...base, filterGroups: [{ filters: [from, ...pushed] }], sorts: [{ propertyName: lm, direction: 'ASCENDING' }] };
  }
  const filters: SearchFilter[] = [{ propertyName: lm, operator: 'EQ', value: String(pos.t) }];
  if (pos.id !== undefined) filters.push({ propertyName: 'hs_object_id', operator: 'GT', value: pos.id });
  return { ...base, filterGroups: [{ filters: [...filters, ...pushed] }], sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }] };
}

function maxId(records: HubSpotObject[]): string | undefined {
  let best: string | undefined;
  for (const r of records) if (best === undefined || Number(r.id) > Number(best)) best = r.id;
  return best;
}

/**
 * The position after a page read at pos, or undefined when the pass has read everything.
 * resumeTie: the tie group an interrupted pass was draining, continued where it stopped.
 */
function nextPos(plan: ObjectPlan, pos: ReadPos, page: { results: HubSpotObject[]; after?: string }, resumeTie: { t: number; id: string } | undefined): ReadPos | undefined {
  const { results } = page;
  const lastOfQuery = !page.after || results.length === 0;
  if (pos.phase === 'ties') {
    // The tie group is read: continue strictly after its time.
    if (lastOfQuery) return { phase: 'range', t: pos.t, inclusive: false };
    return { phase: 'ties', t: pos.t, id: maxId(results) ?? pos.id };
  }
  if (lastOfQuery) return undefined;
  const firstT = hsModifiedOf(plan, results[0]!);
  const lastT = hsModifiedOf(plan, results[results.length - 1]!);
  if (firstT === undefined || lastT === undefined) {
    throw new Error(`HubSpot ${plan.type} ${results[0]!.id}: search result without ${plan.lastModifiedProperty}; the incremental read cannot advance`);
  }
  if (firstT === lastT) {
    // A whole page shares one time: read that tie group by id (re-reading this page is harmless).
    return { phase: 'ties', t: lastT, id: resumeTie?.t === lastT ? resumeTie.id : undefined };
  }
  // Everything before lastT was in this page; its records at lastT may continue on the next.
  return { phase: 'range', t: lastT, inclusive: true };
}

/** What the pull passes read: the mapped properties and the operator's external ID (its own creates, see pull.ts). */
function pullProperties(ctx: SyncContext, plan: ObjectPlan): string[] {
  return [...plan.properties, ctx.externalIdProperty];
}

/** Incremental pass: records modified since the watermark (minus the lookback). */
export async function runIncremental(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  const cur = (await ctx.state.getCursor(plan.type, 'incremental')) ?? { completed: false, data: {} };
  let watermark = cur.watermarkMs ?? 0;
  const pushed = pushDownFilters(plan.filters, (p) => plan.propertyTypes.get(p));
  // Where to start: after a completed pass, everything modified before (its start − lookback)
  // was visible to it and has been read, so only the lookback window before that start is
  // read again (an idle cycle is then one request). After an interrupted pass (or the import),
  // from the committed watermark minus the lookback; a tie group it was draining continues
  // from the last id it committed, so repeated interruptions still make progress.
  const passStartedAt = Date.now();
  const from = cur.completed && typeof cur.data.nextFromMs === 'number' ? cur.data.nextFromMs : watermark - ctx.lookbackMs;
  const saved = cur.data.ties as { t?: unknown; id?: unknown } | undefined;
  const resumeTie = !cur.completed && typeof saved?.t === 'number' && typeof saved.id === 'string' ? { t: saved.t, id: saved.id } : undefined;
  let pos: ReadPos = { phase: 'range', t: Math.max(0, from), inclusive: true };
  let done = 0;
  const search = (at: ReadPos) => prefetch(ctx.hubspot.searchObjects(plan.type, { ...searchAt(plan, pushed, at), properties: pullProperties(ctx, plan) }));
  checkAbort(ctx.signal);
  let pending = search(pos);
  for (;;) {
    const page = await pending;
    checkAbort(ctx.signal);
    const next = nextPos(plan, pos, page, resumeTie);
    if (next) pending = search(next);
    const finished = next === undefined;
    const last: HubSpotObject | undefined = page.results[page.results.length - 1];
    const lastT = pos.phase === 'ties' ? (last ? pos.t : undefined) : last ? hsModifiedOf(plan, last) : undefined;
    const nextWatermark = lastT !== undefined ? Math.max(watermark, lastT) : watermark;
    const data: Record<string, unknown> = finished
      ? { nextFromMs: Math.max(from, passStartedAt - ctx.lookbackMs) }
      : next.phase === 'ties' && next.id !== undefined
        ? { ties: { t: next.t, id: next.id } }
        : {};
    await applyHubSpotPage(ctx, plan, page.results, {
      matchLookup: true,
      fromSearch: true,
      table: rt.table,
      // The watermark (and the tie position) advance only together with the page they cover.
      commitCursor: (tx) => {
        return tx.state.setCursor(plan.type, 'incremental', {
          watermarkMs: nextWatermark,
          lastId: last?.id ?? cur.lastId,
          completed: finished,
          data,
        });
      },
    });
    watermark = nextWatermark;
    done += page.results.length;
    progress(ctx, plan.type, 'incremental', done);
    if (finished) return;
    pos = next;
  }
}

/** Full reconciliation, HubSpot side: every live record, then the archived ones (deletes). */
export async function runFullPull(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  for (const archived of [false, true]) {
    const phase = archived ? 'full_archived' : 'full';
    const cur = (await ctx.state.getCursor(plan.type, phase)) ?? { completed: false, data: { matched: 0 } };
    if (cur.completed) continue;
    let matched = Number(cur.data.matched ?? 0);
    const list = (after: string | undefined) => prefetch(ctx.hubspot.listObjects(plan.type, { limit: LIST_PAGE, after, properties: pullProperties(ctx, plan), archived }));
    checkAbort(ctx.signal);
    let pending = list(cur.position);
    for (;;) {
      const page = await pending;
      checkAbort(ctx.signal);
      if (page.after) pending = list(page.after);
      const next = { completed: !page.after, position: page.after, data: { matched } };
      if (archived) {
        await applyHubSpotDeletes(ctx, plan, page.results, {
          table: rt.table,
          commitCursor: (tx) => tx.state.setCursor(plan.type, phase, next),
        });
      } else {
        const res = await applyHubSpotPage(ctx, plan, page.results, {
          matchLookup: true,
          table: rt.table,
          commitCursor: async (tx, pageMatched) => {
            next.data.matched = matched + pageMatched;
            await tx.state.setCursor(plan.type, phase, next);
            if (next.completed) await saveCount(ctx, tx, plan.type, next.data.matched);
          },
        });
        matched += res.matched;
      }
      progress(ctx, plan.type, phase, matched);
      if (!page.after) break;
    }
  }
}

function pushOptions(rt: ObjectRuntime, fromOutbox: boolean, commitCursor?: (tx: TargetTx) => Promise<void>): PushOptions {
  return { table: rt.table, uniqueMatch: rt.uniqueMatch, ensureExternalIdProperty: rt.ensureExternalIdProperty, fromOutbox, commitCursor };
}

/** Target rows without a link, in key order (resumable by the last key scanned). */
export async function runTargetScan(ctx: SyncContext, rt: ObjectRuntime, phase: 'seed' | 'full_seed'): Promise<void> {
  const { plan } = rt;
  const cur = (await ctx.state.getCursor(plan.type, phase)) ?? { completed: false, data: {} };
  if (cur.completed) return;
  let afterKey = cur.position;
  let done = 0;
  const t = rt.table;
  for (;;) {
    checkAbort(ctx.signal);
    // Up to PUSH_BATCH unlinked keys, scanning at most SCAN_WINDOW keys per batch.
    const unlinked: string[] = [];
    let exhausted = false;
    let lastScanned = afterKey;
    while (unlinked.length < PUSH_BATCH && !exhausted) {
      const keys = await ctx.target.rows.selectKeysAfter(t, lastScanned, SCAN_WINDOW);
      exhausted = keys.length < SCAN_WINDOW;
      if (keys.length === 0) break;
      const linked = await ctx.state.linksByTargetKeys(plan.type, keys);
      for (const k of keys) {
        lastScanned = k;
        if (!linked.has(k)) unlinked.push(k);
        if (unlinked.length >= PUSH_BATCH) {
          exhausted = exhausted && k === keys[keys.length - 1];
          break;
        }
      }
    }
    const next = { completed: exhausted && unlinked.length < PUSH_BATCH, position: lastScanned, data: {} };
    await pushBatch(
      ctx,
      plan,
      unlinked.map((k) => ({ key: k, op: 'S' })),
      pushOptions(rt, false, (tx) => tx.state.setCursor(plan.type, phase, next)),
    );
    done += unlinked.length;
    progress(ctx, plan.type, phase, done);
    if (next.completed || (exhausted && unlinked.length === 0)) return;
    afterKey = lastScanned;
  }
}

/** Drain the outbox of captured target changes. */
export async function runDrain(ctx: SyncContext, rt: ObjectRuntime): Promise<void> {
  const { plan } = rt;
  let done = 0;
  for (;;) {
    checkAbort(ctx.signal);
    const batch = await ctx.state.nextOutboxBatch(plan.table, PUSH_BATCH, plan.type);
    if (batch.length === 0) return;
    await pushBatch(
      ctx,
      plan,
      batch.map((b) => ({ key: b.key, op: b.op, maxId: b.maxId, capturedMs: b.lastChangedMs, columnChangedMs: b.columnChangedMs })),
      pushOptions(rt, true),
    );
    done += batch.length;
    progress(ctx, plan.type, 'push', done);
  }
}
