/**
 * The passes of a cycle for one object type, each resumable from committed cursors:
 * - import: list all HubSpot records, 100 per page (cursor = list position);
 * - incremental: search by last-modified ascending (ties by hs_object_id), 200 per page, from the
 *   watermark minus a lookback; past 10,000 results a new search window starts after the last
 *   seen (timestamp, id), so thousands of records sharing one timestamp neither loop nor skip;
 * - full: list all again (catches missed changes) and list archived records (HubSpot deletes);
 * - scan: target rows without a link (existing rows at first sync, or rows missed by capture);
 * - drain: the outbox of captured target changes, 100 keys per batch.
 * Every page commits its writes together with its cursor.
 */
import type { HubSpotObject, SearchFilter, SearchRequest } from '../hubspot/types.js';
import type { Queryable } from '../target/postgres/db.js';
import { selectKeysAfter } from '../target/postgres/rows.js';
import { checkAbort, hsModifiedOf, type SyncContext } from './context.js';
import { applyHubSpotDeletes } from './deletes.js';
import { pushDownFilters } from './filter.js';
import type { ObjectPlan } from './mapping.js';
import { applyHubSpotPage, tableRef } from './pull.js';
import { pushBatch, type PushOptions } from './push.js';

export const LIST_PAGE = 100;
export const SEARCH_PAGE = 200;
export const PUSH_BATCH = 100;
/** Keys read per step of the scan for unlinked target rows. */
export const SCAN_WINDOW = 500;
/** HubSpot search returns at most 10,000 results per query. */
export const SEARCH_CAP = 10_000;

export interface ObjectRuntime {
  plan: ObjectPlan;
  pkDataType?: string;
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
    await ctx.db.transaction((tx) => ctx.state.setCursor(tx, plan.type, 'import', cur));
  }
  // Decided when the import started (a resumed import keeps the decision), or on pending captures.
  matchLookup = matchLookup || cur.data.matchLookup !== false;
  const list = (after: string | undefined) => prefetch(ctx.hubspot.listObjects(plan.type, { limit: LIST_PAGE, after, properties: plan.properties }));
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
      pkDataType: rt.pkDataType,
      commitCursor: async (tx, matchedNow) => {
        next.data.matched = Number(cur.data.matched ?? 0) + matchedNow;
        await ctx.state.setCursor(tx, plan.type, 'import', next);
        if (next.completed) {
          // Changes made while the import ran are picked up by the first incremental search.
          const inc = await ctx.state.getCursor(plan.type, 'incremental', tx);
          if (!inc) await ctx.state.setCursor(tx, plan.type, 'incremental', { watermarkMs: Number(cur.data.startedAtMs), completed: false, data: {} });
          await saveCount(ctx, tx, plan.type, Number(next.data.matched));
        }
      },
    });
    cur = next;
    progress(ctx, plan.type, 'import', Number(cur.data.seen));
    if (!page.after) return;
  }
}

async function saveCount(ctx: SyncContext, tx: Queryable, type: string, hubspotRecords: number): Promise<void> {
  const meta = (await ctx.state.getCursor(type, 'meta', tx)) ?? { completed: true, data: {} };
  await ctx.state.setCursor(tx, type, 'meta', { ...meta, data: { ...meta.data, hubspotRecords } });
}

function windowGroups(plan: ObjectPlan, pushed: SearchFilter[], t: number, id: string | undefined): SearchRequest['filterGroups'] {
  const lm = plan.lastModifiedProperty;
  if (id === undefined) return [{ filters: [{ propertyName: lm, operator: 'GTE', value: String(t) }, ...pushed] }];
  return [
    { filters: [{ propertyName: lm, operator: 'GT', value: String(t) }, ...pushed] },
    {
      filters: [
        { propertyName: lm, operator: 'EQ', value: String(t) },
        { propertyName: 'hs_object_id', operator: 'GT', value: id },
        ...pushed,
      ],
    },
  ];
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
  // from the committed watermark minus the lookback.
  const passStartedAt = Date.now();
  const from = cur.completed && typeof cur.data.nextFromMs === 'number' ? cur.data.nextFromMs : watermark - ctx.lookbackMs;
  let windowT = Math.max(0, from);
  let windowId: string | undefined;
  let after: string | undefined;
  let inWindow = 0;
  let done = 0;
  const search = () =>
    prefetch(
      ctx.hubspot.searchObjects(plan.type, {
        filterGroups: windowGroups(plan, pushed, windowT, windowId),
        sorts: [
          { propertyName: plan.lastModifiedProperty, direction: 'ASCENDING' },
          { propertyName: 'hs_object_id', direction: 'ASCENDING' },
        ],
        properties: plan.properties,
        limit: SEARCH_PAGE,
        after,
      }),
    );
  checkAbort(ctx.signal);
  let pending = search();
  for (;;) {
    const page = await pending;
    checkAbort(ctx.signal);
    const last: HubSpotObject | undefined = page.results[page.results.length - 1];
    const lastT = last ? hsModifiedOf(plan, last) : undefined;
    const finished = !page.after || page.results.length === 0;
    if (!finished) {
      inWindow += page.results.length;
      const offset = Number(page.after);
      const nextEnd = (Number.isFinite(offset) ? offset : inWindow) + SEARCH_PAGE;
      if (nextEnd > SEARCH_CAP && last && lastT !== undefined) {
        // New window after the last seen (timestamp, id): exact, whatever the number of ties.
        windowT = lastT;
        windowId = last.id;
        after = undefined;
        inWindow = 0;
      } else {
        after = page.after;
      }
      pending = search();
    }
    const nextWatermark = lastT !== undefined ? Math.max(watermark, lastT) : watermark;
    await applyHubSpotPage(ctx, plan, page.results, {
      matchLookup: true,
      pkDataType: rt.pkDataType,
      // The watermark advances only together with the page it covers.
      commitCursor: (tx) => {
        return ctx.state.setCursor(tx, plan.type, 'incremental', {
          watermarkMs: nextWatermark,
          lastId: last?.id ?? cur.lastId,
          completed: finished,
          data: finished ? { nextFromMs: Math.max(from, passStartedAt - ctx.lookbackMs) } : {},
        });
      },
    });
    watermark = nextWatermark;
    done += page.results.length;
    progress(ctx, plan.type, 'incremental', done);
    if (finished) return;
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
    const list = (after: string | undefined) => prefetch(ctx.hubspot.listObjects(plan.type, { limit: LIST_PAGE, after, properties: plan.properties, archived }));
    checkAbort(ctx.signal);
    let pending = list(cur.position);
    for (;;) {
      const page = await pending;
      checkAbort(ctx.signal);
      if (page.after) pending = list(page.after);
      const next = { completed: !page.after, position: page.after, data: { matched } };
      if (archived) {
        await applyHubSpotDeletes(ctx, plan, page.results, {
          pkDataType: rt.pkDataType,
          commitCursor: (tx) => ctx.state.setCursor(tx, plan.type, phase, next),
        });
      } else {
        const res = await applyHubSpotPage(ctx, plan, page.results, {
          matchLookup: true,
          pkDataType: rt.pkDataType,
          commitCursor: async (tx, pageMatched) => {
            next.data.matched = matched + pageMatched;
            await ctx.state.setCursor(tx, plan.type, phase, next);
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

function pushOptions(rt: ObjectRuntime, fromOutbox: boolean, commitCursor?: (tx: Queryable) => Promise<void>): PushOptions {
  return { pkDataType: rt.pkDataType, uniqueMatch: rt.uniqueMatch, ensureExternalIdProperty: rt.ensureExternalIdProperty, fromOutbox, commitCursor };
}

/** Target rows without a link, in key order (resumable by the last key scanned). */
export async function runTargetScan(ctx: SyncContext, rt: ObjectRuntime, phase: 'seed' | 'full_seed'): Promise<void> {
  const { plan } = rt;
  const cur = (await ctx.state.getCursor(plan.type, phase)) ?? { completed: false, data: {} };
  if (cur.completed) return;
  let afterKey = cur.position;
  let done = 0;
  const t = tableRef(plan, rt.pkDataType);
  for (;;) {
    checkAbort(ctx.signal);
    // Up to PUSH_BATCH unlinked keys, scanning at most SCAN_WINDOW keys per batch.
    const unlinked: string[] = [];
    let exhausted = false;
    let lastScanned = afterKey;
    while (unlinked.length < PUSH_BATCH && !exhausted) {
      const keys = await selectKeysAfter(ctx.db, t, lastScanned, SCAN_WINDOW);
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
      pushOptions(rt, false, (tx) => ctx.state.setCursor(tx, plan.type, phase, next)),
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
    const batch = await ctx.state.nextOutboxBatch(plan.table, PUSH_BATCH);
    if (batch.length === 0) return;
    await pushBatch(
      ctx,
      plan,
      batch.map((b) => ({ key: b.key, op: b.op, maxId: b.maxId, capturedMs: b.lastCapturedMs })),
      pushOptions(rt, true),
    );
    done += batch.length;
    progress(ctx, plan.type, 'push', done);
  }
}
