/**
 * Batch results tied back to their inputs, and isolation of bad inputs when HubSpot rejects a
 * whole batch, so that one bad record never blocks the other 99.
 *
 * HubSpot ties a batch error to inputs through `context` (and `errors[].context`): `ids` (record
 * IDs or idProperty values), `objectWriteTraceId` (batch create; we send the input index), or a
 * property name whose values are listed. Results are tied back by objectWriteTraceId, id, or the
 * idProperty value. HubSpot does not promise result order, so order is used only as a last
 * resort for errors nothing else identifies.
 */
import type { ErrorCategory } from '../api/categories.js';
import { classify, HubSpotRequestError, isMissingProperty, isUnknownObjectType, type HubSpotErrorBody } from './errors.js';
import type { BatchInputError, BatchResult, HubSpotObject } from './types.js';

/** What identifies one batch input. */
export interface BatchInput {
  /** Record ID, or the idProperty value when idProperty is set (read/upsert). */
  id?: string;
  idProperty?: string;
  /** Sent as objectWriteTraceId (create). */
  traceId?: string;
  properties?: Record<string, string>;
}

export type RawResult = HubSpotObject & { objectWriteTraceId?: string };

export interface RawBatchResponse {
  status?: string;
  results?: RawResult[];
  errors?: HubSpotErrorBody[];
}

const norm = (v: string): string => v.trim().toLowerCase();

/** Index of the input a result belongs to, or -1. `positions` limits the search to a sub-batch. */
function resultIndex(r: RawResult, inputs: readonly BatchInput[], positions: readonly number[]): number {
  if (r.objectWriteTraceId !== undefined) {
    for (const i of positions) if (inputs[i]!.traceId === r.objectWriteTraceId) return i;
  }
  for (const i of positions) {
    const inp = inputs[i]!;
    if (inp.id === undefined) continue;
    if (!inp.idProperty || inp.idProperty === 'hs_object_id') {
      if (r.id === inp.id) return i;
    } else {
      const v = r.properties?.[inp.idProperty];
      if (v != null && norm(v) === norm(inp.id)) return i;
    }
  }
  return -1;
}

/** Inputs an error's context names (authoritative), as absolute indices. */
export function contextIndexes(err: HubSpotErrorBody, inputs: readonly BatchInput[], positions: readonly number[]): Set<number> {
  const found = new Set<number>();
  const contexts: Record<string, unknown>[] = [];
  if (err.context && typeof err.context === 'object') contexts.push(err.context);
  for (const d of err.errors ?? []) if (d?.context && typeof d.context === 'object') contexts.push(d.context);
  for (const ctx of contexts) {
    for (const [key, raw] of Object.entries(ctx)) {
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String);
      if (values.length === 0) continue;
      if (key === 'inputIndex') {
        // Position within the request (the sandbox names inputs this way).
        for (const v of values) {
          const i = positions[Number(v)];
          if (Number.isInteger(Number(v)) && i !== undefined) found.add(i);
        }
        continue;
      }
      const wanted = new Set(values.map(norm));
      for (const i of positions) {
        const inp = inputs[i]!;
        let candidate: string | undefined;
        if (key === 'objectWriteTraceId') candidate = inp.traceId;
        else if (key === 'ids' || key === 'id') candidate = inp.id;
        else if (inp.idProperty === key) candidate = inp.id;
        else candidate = inp.properties?.[key];
        if (candidate !== undefined && wanted.has(norm(candidate))) found.add(i);
      }
    }
  }
  return found;
}

function inputError(index: number, body: HubSpotErrorBody, status: number): BatchInputError {
  const c = classify(status, body);
  return { index, category: c.category, message: c.message, correlationId: c.correlationId, code: c.code };
}

/** Status HubSpot would have used for one batch error entry (207 bodies carry only a category). */
export function entryStatus(e: HubSpotErrorBody): number {
  const cat = typeof e.category === 'string' ? e.category.toUpperCase() : '';
  if (cat === 'OBJECT_NOT_FOUND') return 404;
  if (cat === 'CONFLICT') return 409;
  if (cat === 'MISSING_SCOPES') return 403;
  if (cat === 'RATE_LIMITS') return 429;
  if (typeof e.status === 'string' && /^\d{3}$/.test(e.status)) return Number(e.status);
  return 400;
}

/**
 * Tie a 200/201/207 response of a sub-batch to its inputs.
 * `positions` are the absolute input indices sent, in request order.
 */
export function mapBatchResponse(raw: RawBatchResponse | undefined, inputs: readonly BatchInput[], positions: readonly number[]): Required<BatchResult> {
  const results = raw?.results ?? [];
  const inputIndexes = results.map((r) => resultIndex(r, inputs, positions));
  if (results.length === positions.length && (raw?.errors ?? []).length === 0 && inputIndexes.every((i) => i < 0)) {
    // Nothing ties results to inputs (e.g. an upsert whose properties omit the idProperty):
    // a complete answer lists them in input order.
    positions.forEach((p, k) => (inputIndexes[k] = p));
  }
  const errors: BatchInputError[] = [];
  const accounted = new Set<number>(inputIndexes.filter((i) => i >= 0));
  const errored = new Set<number>();
  const unmapped: HubSpotErrorBody[] = [];
  for (const e of raw?.errors ?? []) {
    const idx = contextIndexes(e, inputs, positions);
    if (idx.size === 0) {
      unmapped.push(e);
      continue;
    }
    for (const i of idx) {
      if (errored.has(i)) continue; // two entries naming one input: keep the first
      errored.add(i);
      accounted.add(i);
      errors.push(inputError(i, e, entryStatus(e)));
    }
  }
  if (unmapped.length > 0) {
    const allResultsMapped = inputIndexes.every((i) => i >= 0);
    const missing = allResultsMapped ? positions.filter((i) => !accounted.has(i)) : [];
    if (missing.length === unmapped.length) {
      // Nothing names the inputs: HubSpot lists errors in input order, so pair them in order.
      missing.forEach((i, k) => errors.push(inputError(i, unmapped[k]!, entryStatus(unmapped[k]!))));
    } else if (missing.length > 0) {
      for (const i of missing) errors.push(inputError(i, unmapped[0]!, entryStatus(unmapped[0]!)));
    } else {
      // HubSpot reported an error we cannot tie to any input: keep it visible, index -1.
      for (const e of unmapped) errors.push(inputError(-1, e, entryStatus(e)));
    }
  }
  return { results, errors, inputIndexes };
}

/** Categories that belong to some records of a batch, not to the whole call. */
const RECORD_LEVEL: ReadonlySet<ErrorCategory> = new Set(['Validation', 'Duplicate', 'NotFound']);

/**
 * Inputs the error message seems to be about: HubSpot's validation messages quote the bad
 * value (and often the property `name`). A guess, so suspects are always re-sent on their own.
 */
export function suspectIndexes(err: HubSpotErrorBody, inputs: readonly BatchInput[], positions: readonly number[]): Set<number> {
  const texts: string[] = [];
  if (typeof err.message === 'string') texts.push(err.message);
  for (const d of err.errors ?? []) if (typeof d?.message === 'string') texts.push(d.message);
  const text = texts.join('\n').toLowerCase();
  const names = new Set<string>();
  for (const m of text.matchAll(/"name"\s*:\s*"([^"]+)"/g)) names.add(m[1]!);
  for (const d of err.errors ?? []) {
    if (typeof d?.in === 'string') names.add(d.in.toLowerCase());
    const pn = d?.context?.propertyName;
    if (Array.isArray(pn)) for (const p of pn) if (typeof p === 'string') names.add(p.toLowerCase());
  }
  const found = new Set<number>();
  for (const i of positions) {
    const props = inputs[i]!.properties ?? {};
    for (const [k, v] of Object.entries(props)) {
      if (names.size > 0 && !names.has(k.toLowerCase())) continue;
      if (typeof v === 'string' && v.trim().length >= 3 && text.includes(v.trim().toLowerCase())) {
        found.add(i);
        break;
      }
    }
  }
  return found;
}

/**
 * Send `inputs` (already at most one HubSpot batch) and, when HubSpot rejects the whole batch
 * for record-level reasons, find the bad inputs and still apply the rest:
 * 1. inputs named by the error's context fail; the others are re-sent;
 * 2. else inputs whose values the message quotes are suspects: the others are re-sent, the
 *    suspects are re-sent on their own (so a wrong guess never blames a good record);
 * 3. else the batch is split in halves, recursively.
 * Errors that concern the whole call (auth, permission, rate limit, transient, unknown object
 * type) are thrown.
 */
export async function sendIsolating(
  inputs: readonly BatchInput[],
  send: (positions: number[]) => Promise<RawBatchResponse | undefined>,
): Promise<Required<BatchResult>> {
  const out: Required<BatchResult> = { results: [], errors: [], inputIndexes: [] };
  const run = async (positions: number[]): Promise<void> => {
    if (positions.length === 0) return;
    let raw: RawBatchResponse | undefined;
    try {
      raw = await send(positions);
    } catch (err) {
      if (!(err instanceof HubSpotRequestError) || !RECORD_LEVEL.has(err.category) || isUnknownObjectType(err.body)) throw err;
      const fail = (i: number): void => {
        out.errors.push({ index: i, category: err.category, message: err.message, correlationId: err.correlationId, code: err.code });
      };
      if (positions.length === 1 || isMissingProperty(err.body)) {
        positions.forEach(fail);
        return;
      }
      const named = contextIndexes(err.body, inputs, positions);
      if (named.size > 0 && named.size < positions.length) {
        named.forEach(fail);
        await run(positions.filter((i) => !named.has(i)));
        return;
      }
      const suspects = suspectIndexes(err.body, inputs, positions);
      // A guess naming more than half the batch (a value many records share) is worse than halving.
      if (suspects.size > 0 && suspects.size <= positions.length / 2) {
        await run(positions.filter((i) => !suspects.has(i)));
        await run(positions.filter((i) => suspects.has(i)));
        return;
      }
      const half = Math.ceil(positions.length / 2);
      await run(positions.slice(0, half));
      await run(positions.slice(half));
      return;
    }
    const mapped = mapBatchResponse(raw, inputs, positions);
    out.results.push(...mapped.results);
    out.inputIndexes.push(...mapped.inputIndexes);
    out.errors.push(...mapped.errors);
  };
  await run(inputs.map((_, i) => i));
  out.errors.sort((a, b) => a.index - b.index);
  return out;
}
