/**
 * Associations v4 through the client's transport: batch read (with HubSpot's per-input paging),
 * batch create (typed/labelled, or HubSpot's default unlabeled type), batch archive (whole, or
 * only some types), association labels (cached per account) and the standard type IDs.
 *
 * Per-input failures come back as BatchInputError (index = position in the caller's array), as
 * with the object batch calls: 207 bodies are tied to inputs by their context (fromId/toId), and
 * a whole-batch rejection for record-level reasons (Validation, NotFound, Duplicate) is narrowed
 * down by halving, so one bad pair never blocks the others.
 */
import type { ErrorCategory } from '../api/categories.js';
import { entryStatus } from './batch.js';
import { classify, HubSpotRequestError, isUnknownObjectType, type HubSpotErrorBody } from './errors.js';
import type { LimiterRegistry } from './ratelimit.js';
import type { CallSpec } from './transport.js';
import type {
  AssociatedRecord,
  AssociationCategory,
  AssociationInput,
  AssociationReadResult,
  AssociationType,
  AssociationWriteResult,
  BatchInputError,
} from './types.js';
import { chunks } from '../api/chunks.js';

/** HubSpot's limit on inputs of the v4 association batch endpoints (documented for batch read; assumed for create/archive). */
export const ASSOCIATION_BATCH_SIZE = 1000;

/** How long association labels are reused before they are read again. */
export const LABELS_TTL_MS = 5 * 60_000;

/** HubSpot-defined association type IDs between the standard objects (v4). */
export const ASSOCIATION_TYPE_IDS = {
  contacts: { companies: { unlabeled: 279, primary: 1 }, deals: { unlabeled: 4 } },
  companies: { contacts: { unlabeled: 280, primary: 2 }, deals: { unlabeled: 342, primary: 6 } },
  deals: { companies: { unlabeled: 341, primary: 5 }, contacts: { unlabeled: 3 } },
} as const;

const STANDARD_NAMES: Record<string, 'contacts' | 'companies' | 'deals'> = {
  contact: 'contacts', contacts: 'contacts', '0-1': 'contacts',
  company: 'companies', companies: 'companies', '0-2': 'companies',
  deal: 'deals', deals: 'deals', '0-3': 'deals',
};

function standardPair(fromType: string, toType: string): { unlabeled: number; primary?: number } | undefined {
  const f = STANDARD_NAMES[fromType.toLowerCase()];
  const t = STANDARD_NAMES[toType.toLowerCase()];
  if (!f || !t) return undefined;
  return (ASSOCIATION_TYPE_IDS[f] as Record<string, { unlabeled: number; primary?: number }>)[t];
}

/**
 * The Primary association type of a pair (contact→company 1, company→contact 2, deal→company 5,
 * company→deal 6), or undefined when the pair has none. Accepts names, singular names and type IDs.
 */
export function primaryAssociationTypeId(fromType: string, toType: string): number | undefined {
  return standardPair(fromType, toType)?.primary;
}

/** HubSpot's unlabeled association type of a standard pair (contact→company 279, deal→company 341, deal→contact 3, …). */
export function unlabeledAssociationTypeId(fromType: string, toType: string): number | undefined {
  return standardPair(fromType, toType)?.unlabeled;
}

/** What the association functions need from the client. */
export interface AssociationContext {
  call<T>(spec: CallSpec): Promise<{ status: number; body: T }>;
  /** Throws a clear error for an invalid object type; returns it as a path segment. */
  checkType(objectType: string): string;
  /** Key of the account (portal once known) for the label cache. */
  accountKey(): Promise<string>;
  registry: LimiterRegistry;
  now?: () => number;
}

const ID = /^\d{1,20}$/;

function invalid(index: number, message: string): BatchInputError {
  return { index, category: 'Validation', message };
}

function inputError(index: number, e: HubSpotErrorBody): BatchInputError {
  const c = classify(entryStatus(e), e);
  return { index, category: c.category, message: c.message, correlationId: c.correlationId, code: c.code };
}

/** Every context of an error entry (its own and its details'). */
function contexts(e: HubSpotErrorBody): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (e.context && typeof e.context === 'object') out.push(e.context);
  for (const d of e.errors ?? []) if (d?.context && typeof d.context === 'object') out.push(d.context);
  return out;
}

function values(raw: unknown): string[] {
  return (Array.isArray(raw) ? raw : [raw]).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String);
}

const FROM_KEYS = ['fromId', 'fromObjectId', 'from', 'ids', 'id'];
const TO_KEYS = ['toId', 'toObjectId', 'to'];

/** Inputs (absolute positions) an error entry names: by input index, or by from/to IDs (both when both are given). */
function namedPairs(e: HubSpotErrorBody, inputs: readonly { fromId: string; toId?: string }[], positions: readonly number[]): number[] {
  const found = new Set<number>();
  for (const ctx of contexts(e)) {
    for (const v of values(ctx.inputIndex)) {
      const p = positions[Number(v)];
      if (p !== undefined) found.add(p);
    }
    const from = new Set(FROM_KEYS.flatMap((k) => values(ctx[k])));
    const to = new Set(TO_KEYS.flatMap((k) => values(ctx[k])));
    if (from.size === 0 && to.size === 0) continue;
    for (const p of positions) {
      const inp = inputs[p]!;
      if ((from.size === 0 || from.has(inp.fromId)) && (to.size === 0 || inp.toId === undefined || to.has(inp.toId))) found.add(p);
    }
  }
  return [...found];
}

function isNoAssociations(e: HubSpotErrorBody): boolean {
  const codes = [e.subCategory, e.category, ...(e.errors ?? []).flatMap((d) => [d?.code, d?.subCategory])];
  return codes.some((c) => typeof c === 'string' && c.toUpperCase().includes('NO_ASSOCIATIONS_FOUND'));
}

interface RawAssociationRead {
  results?: {
    from?: { id?: string | number };
    to?: { toObjectId?: string | number; associationTypes?: { category?: string; typeId?: number; label?: string | null }[] }[];
    paging?: { next?: { after?: string } };
  }[];
  errors?: HubSpotErrorBody[];
}

export async function readAssociations(ctx: AssociationContext, fromType: string, toType: string, ids: readonly string[]): Promise<AssociationReadResult> {
  const base = `/crm/v4/associations/${ctx.checkType(fromType)}/${ctx.checkType(toType)}`;
  const results = new Map<string, AssociatedRecord[]>();
  const errors: BatchInputError[] = [];
  const first = new Map<string, number>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || !ID.test(id)) errors.push(invalid(i, `invalid HubSpot record ID ${JSON.stringify(id)} for an association read: expected digits`));
    else if (!first.has(id)) first.set(id, i);
  });
  const failed = new Set<string>();
  let pending: { id: string; after?: string }[] = [...first.keys()].map((id) => ({ id }));
  while (pending.length > 0) {
    const next: { id: string; after?: string }[] = [];
    for (const part of chunks(pending, ASSOCIATION_BATCH_SIZE)) {
      const { body } = await ctx.call<RawAssociationRead | undefined>({
        method: 'POST',
        path: `${base}/batch/read`,
        body: { inputs: part.map((p) => (p.after ? { id: p.id, after: p.after } : { id: p.id })) },
        kind: 'associations_read',
        what: `association read of ${fromType} to ${toType}`,
        idempotent: true,
      });
      for (const r of body?.results ?? []) {
        const fromId = String(r?.from?.id ?? '');
        if (!first.has(fromId)) continue;
        const list = results.get(fromId) ?? [];
        results.set(fromId, list);
        for (const t of r.to ?? []) {
          if (t?.toObjectId === undefined) continue;
          list.push({
            toId: String(t.toObjectId),
            types: (t.associationTypes ?? []).map((x) => ({ category: (x.category ?? 'HUBSPOT_DEFINED') as AssociationCategory, typeId: Number(x.typeId), label: x.label ?? null })),
          });
        }
        const after = r.paging?.next?.after;
        if (after) next.push({ id: fromId, after });
      }
      const sent = part.map((p) => ({ fromId: p.id }));
      for (const e of body?.errors ?? []) {
        const named = namedPairs(e, sent, sent.map((_, k) => k)).map((k) => sent[k]!.fromId);
        if (named.length === 0) {
          errors.push(inputError(-1, e));
          continue;
        }
        for (const id of named) {
          if (isNoAssociations(e)) {
            if (!results.has(id)) results.set(id, []);
          } else if (!failed.has(id)) {
            failed.add(id);
            errors.push(inputError(first.get(id)!, e));
          }
        }
      }
    }
    pending = next;
  }
  for (const id of failed) results.delete(id);
  // HubSpot said nothing about an ID: it has no association.
  for (const id of first.keys()) if (!failed.has(id) && !results.has(id)) results.set(id, []);
  errors.sort((a, b) => a.index - b.index);
  return { results, errors };
}

/** Record-level categories: a whole-batch rejection with one of these is narrowed down to the bad inputs. */
const RECORD_LEVEL: ReadonlySet<ErrorCategory> = new Set(['Validation', 'Duplicate', 'NotFound']);

/**
 * Send `positions` of `inputs` (at most one batch) and tie failures to inputs: 207 entries by
 * their context; a whole-batch record-level rejection by halving down to single inputs.
 */
async function sendPairs(
  inputs: readonly { fromId: string; toId: string }[],
  positions: number[],
  send: (positions: number[]) => Promise<{ errors?: HubSpotErrorBody[] } | undefined>,
  errors: BatchInputError[],
): Promise<void> {
  if (positions.length === 0) return;
  let body: { errors?: HubSpotErrorBody[] } | undefined;
  try {
    body = await send(positions);
  } catch (err) {
    if (!(err instanceof HubSpotRequestError) || !RECORD_LEVEL.has(err.category) || isUnknownObjectType(err.body)) throw err;
    if (positions.length === 1) {
      errors.push({ index: positions[0]!, category: err.category, message: err.message, correlationId: err.correlationId, code: err.code });
      return;
    }
    const named = namedPairs(err.body, inputs, positions);
    if (named.length > 0 && named.length < positions.length) {
      for (const p of named) errors.push({ index: p, category: err.category, message: err.message, correlationId: err.correlationId, code: err.code });
      await sendPairs(inputs, positions.filter((p) => !named.includes(p)), send, errors);
      return;
    }
    const half = Math.ceil(positions.length / 2);
    await sendPairs(inputs, positions.slice(0, half), send, errors);
    await sendPairs(inputs, positions.slice(half), send, errors);
    return;
  }
  const seen = new Set<number>();
  for (const e of body?.errors ?? []) {
    const named = namedPairs(e, inputs, positions);
    if (named.length === 0) errors.push(inputError(-1, e));
    for (const p of named) {
      if (seen.has(p)) continue;
      seen.add(p);
      errors.push(inputError(p, e));
    }
  }
}

interface Resolved {
  index: number;
  fromId: string;
  toId: string;
  types: { category: AssociationCategory; typeId: number }[];
}

/** Checks IDs and resolves labels to type IDs; bad inputs become errors. */
async function resolveInputs(
  ctx: AssociationContext,
  fromType: string,
  toType: string,
  inputs: readonly AssociationInput[],
  errors: BatchInputError[],
): Promise<Resolved[]> {
  const out: Resolved[] = [];
  let labels: AssociationType[] | undefined;
  let refreshed = false;
  for (const [index, inp] of inputs.entries()) {
    if (!inp || typeof inp.fromId !== 'string' || !ID.test(inp.fromId)) {
      errors.push(invalid(index, `invalid association input: fromId must be a HubSpot record ID (digits), got ${JSON.stringify(inp?.fromId)}`));
      continue;
    }
    if (typeof inp.toId !== 'string' || !ID.test(inp.toId)) {
      errors.push(invalid(index, `invalid association input: toId must be a HubSpot record ID (digits), got ${JSON.stringify(inp.toId)}`));
      continue;
    }
    const types = [...(inp.types ?? [])];
    const badType = types.find((t) => !t || !Number.isInteger(t.typeId) || typeof t.category !== 'string');
    if (badType !== undefined) {
      errors.push(invalid(index, `invalid association input: types[] must be {category, typeId}, got ${JSON.stringify(badType)}`));
      continue;
    }
    if (inp.label !== undefined) {
      labels ??= await associationLabels(ctx, fromType, toType);
      let found = findLabel(labels, inp.label);
      if (!found && !refreshed) {
        // A label created since the labels were cached.
        refreshed = true;
        labels = await associationLabels(ctx, fromType, toType, { refresh: true });
        found = findLabel(labels, inp.label);
      }
      if (!found) {
        const known = labels.filter((l) => l.label !== null).map((l) => JSON.stringify(l.label));
        errors.push(invalid(index, `association label ${JSON.stringify(inp.label)} does not exist from ${fromType} to ${toType}; labels of the pair: ${known.join(', ') || 'none'}`));
        continue;
      }
      if (!types.some((t) => t.typeId === found.typeId)) types.push({ category: found.category, typeId: found.typeId });
    }
    out.push({ index, fromId: inp.fromId, toId: inp.toId, types });
  }
  return out;
}

/** The type of a label name: exact first, then ignoring case. */
export function findLabel(types: readonly AssociationType[], name: string): AssociationType | undefined {
  return types.find((t) => t.label === name) ?? types.find((t) => t.label !== null && t.label.toLowerCase() === name.toLowerCase());
}

function typesJson(types: Resolved['types']): { associationCategory: AssociationCategory; associationTypeId: number }[] {
  return types.map((t) => ({ associationCategory: t.category, associationTypeId: t.typeId }));
}

export async function createAssociations(ctx: AssociationContext, fromType: string, toType: string, inputs: readonly AssociationInput[]): Promise<AssociationWriteResult> {
  const base = `/crm/v4/associations/${ctx.checkType(fromType)}/${ctx.checkType(toType)}`;
  const errors: BatchInputError[] = [];
  const resolved = await resolveInputs(ctx, fromType, toType, inputs, errors);
  const byIndex = new Map(resolved.map((r) => [r.index, r]));
  const pairs = inputs.map((inp) => ({ fromId: String(inp?.fromId), toId: String(inp?.toId) }));
  const typed = resolved.filter((r) => r.types.length > 0).map((r) => r.index);
  const plain = resolved.filter((r) => r.types.length === 0).map((r) => r.index);
  for (const part of chunks(typed, ASSOCIATION_BATCH_SIZE)) {
    await sendPairs(pairs, part, async (positions) =>
      (await ctx.call<{ errors?: HubSpotErrorBody[] } | undefined>({
        method: 'POST',
        path: `${base}/batch/create`,
        body: { inputs: positions.map((p) => { const r = byIndex.get(p)!; return { from: { id: r.fromId }, to: { id: r.toId }, types: typesJson(r.types) }; }) },
        kind: 'associations_create',
        what: `association create of ${fromType} to ${toType}`,
        // Creating an association that exists changes nothing.
        idempotent: true,
      })).body, errors);
  }
  for (const part of chunks(plain, ASSOCIATION_BATCH_SIZE)) {
    await sendPairs(pairs, part, async (positions) =>
      (await ctx.call<{ errors?: HubSpotErrorBody[] } | undefined>({
        method: 'POST',
        path: `${base}/batch/associate/default`,
        body: { inputs: positions.map((p) => ({ from: { id: pairs[p]!.fromId }, to: { id: pairs[p]!.toId } })) },
        kind: 'associations_create',
        what: `default association create of ${fromType} to ${toType}`,
        idempotent: true,
      })).body, errors);
  }
  errors.sort((a, b) => a.index - b.index);
  return { errors };
}

export async function archiveAssociations(ctx: AssociationContext, fromType: string, toType: string, inputs: readonly AssociationInput[]): Promise<AssociationWriteResult> {
  const base = `/crm/v4/associations/${ctx.checkType(fromType)}/${ctx.checkType(toType)}`;
  const errors: BatchInputError[] = [];
  const resolved = await resolveInputs(ctx, fromType, toType, inputs, errors);
  const byIndex = new Map(resolved.map((r) => [r.index, r]));
  const pairs = inputs.map((inp) => ({ fromId: String(inp?.fromId), toId: String(inp?.toId) }));
  const typed = resolved.filter((r) => r.types.length > 0).map((r) => r.index);
  const whole = resolved.filter((r) => r.types.length === 0).map((r) => r.index);
  for (const part of chunks(whole, ASSOCIATION_BATCH_SIZE)) {
    await sendPairs(pairs, part, async (positions) => {
      // HubSpot's archive input is one from-record with the list of its to-records.
      const grouped = new Map<string, { id: string }[]>();
      for (const p of positions) {
        const list = grouped.get(pairs[p]!.fromId) ?? [];
        list.push({ id: pairs[p]!.toId });
        grouped.set(pairs[p]!.fromId, list);
      }
      return (await ctx.call<{ errors?: HubSpotErrorBody[] } | undefined>({
        method: 'POST',
        path: `${base}/batch/archive`,
        body: { inputs: [...grouped].map(([from, to]) => ({ from: { id: from }, to })) },
        kind: 'associations_archive',
        what: `association archive of ${fromType} to ${toType}`,
        idempotent: true,
      })).body;
    }, errors);
  }
  for (const part of chunks(typed, ASSOCIATION_BATCH_SIZE)) {
    await sendPairs(pairs, part, async (positions) =>
      (await ctx.call<{ errors?: HubSpotErrorBody[] } | undefined>({
        method: 'POST',
        path: `${base}/batch/labels/archive`,
        body: { inputs: positions.map((p) => { const r = byIndex.get(p)!; return { from: { id: r.fromId }, to: { id: r.toId }, types: typesJson(r.types) }; }) },
        kind: 'associations_archive',
        what: `association label archive of ${fromType} to ${toType}`,
        idempotent: true,
      })).body, errors);
  }
  errors.sort((a, b) => a.index - b.index);
  return { errors };
}

/** Label caches per limiter registry (so per process by default, per test when a test brings its own). */
const labelCaches = new WeakMap<LimiterRegistry, Map<string, { at: number; types: AssociationType[] }>>();

export async function associationLabels(ctx: AssociationContext, fromType: string, toType: string, opts: { refresh?: boolean } = {}): Promise<AssociationType[]> {
  const path = `/crm/v4/associations/${ctx.checkType(fromType)}/${ctx.checkType(toType)}/labels`;
  const now = ctx.now ?? Date.now;
  let cache = labelCaches.get(ctx.registry);
  if (!cache) {
    cache = new Map();
    labelCaches.set(ctx.registry, cache);
  }
  const key = `${await ctx.accountKey()}\n${fromType}\n${toType}`;
  const hit = cache.get(key);
  if (hit && !opts.refresh && now() - hit.at < LABELS_TTL_MS) return hit.types.map((t) => ({ ...t }));
  const { body } = await ctx.call<{ results?: { category?: string; typeId?: number; label?: string | null }[] } | undefined>({
    method: 'GET',
    path,
    kind: 'association_labels',
    what: `association labels of ${fromType} to ${toType}`,
    idempotent: true,
  });
  const types: AssociationType[] = (body?.results ?? [])
    .filter((t) => Number.isInteger(t?.typeId))
    .map((t) => ({ category: (t.category ?? 'HUBSPOT_DEFINED') as AssociationCategory, typeId: Number(t.typeId), label: t.label ?? null }));
  cache.set(key, { at: now(), types });
  return types.map((t) => ({ ...t }));
}
