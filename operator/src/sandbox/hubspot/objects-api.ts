/**
 * CRM objects v3: list, get, create, update, archive, the batch endpoints and search.
 *
 * Batch semantics (the sync engine must handle both shapes, as with real HubSpot):
 * - batch/read: per-input — missing ids are reported in a 207 body (HubSpot groups them into
 *   one OBJECT_NOT_FOUND error with context.ids), found records are returned.
 * - batch/create: whole batch — real HubSpot rejects the entire batch with 400
 *   VALIDATION_ERROR when any input is invalid (or 409 CONFLICT on a duplicate unique value),
 *   and nothing is created. Mirrored here.
 * - batch/update, batch/upsert: per-input 207 here (a missing id, an invalid value or a unique
 *   conflict fails only that input). Real HubSpot answers invalid values in these with a
 *   whole-batch 400 in many cases and per-input 207 in others; a client must handle both.
 * - batch/archive: 204 when every id existed (already archived counts as success — archive is
 *   idempotent); 207 naming ids that never existed. Real HubSpot answers 204 even for unknown
 *   ids. Note that @hubspot/api-client's archive() throws on any status but 204.
 * Duplicate ids inside one update/upsert batch → whole-batch 400, as HubSpot does.
 */
import { badRequest, batchErrorFrom, HubSpotHttpError, notFound, type BatchError } from './errors.js';
import type { Reply, RequestContext, Route } from './http.js';
import { executeSearch, parseSearchRequest } from './search.js';
import { MAX_BATCH_INPUTS, type SandboxState } from './state.js';
import type { ObjectStore, Rec } from './store.js';
import {
  archiveRecord, attachHistory, checkRequired, checkUnique, createRecord, defaultProperties, objectJson, prepareChanges, propertiesParam,
  selectProperties, updateRecord, type Changes, type ObjectJson,
} from './writes.js';

const BASE = '/crm/v3/objects/{objectType}';

function scopeKind(state: SandboxState, ctx: RequestContext): string | undefined {
  const store = state.types.resolve(ctx.params.objectType!);
  return store ? (store.info.kind === 'custom' ? 'custom' : store.info.kind) : undefined;
}

function objectScopes(state: SandboxState, access: 'read' | 'write') {
  return (ctx: RequestContext): string[] => {
    const kind = scopeKind(state, ctx);
    return kind ? [`crm.objects.${kind}.${access}`] : [];
  };
}

function parseId(raw: unknown): number | undefined {
  const s = typeof raw === 'number' ? String(raw) : raw;
  if (typeof s !== 'string' || !/^\d{1,15}$/.test(s)) return undefined;
  return Number(s);
}

function notFoundObject(store: ObjectStore, id: string): HubSpotHttpError {
  return notFound(`Object not found.  objectId are usually numeric.`, { id: [id], objectType: [store.info.name] });
}

/** Reads the `inputs` array of a batch body, enforcing HubSpot's 100-input limit. */
function batchInputs(ctx: RequestContext): Record<string, unknown>[] {
  const body = ctx.jsonObject();
  const inputs = body.inputs;
  if (!Array.isArray(inputs)) throw badRequest('inputs is required: an array of batch inputs');
  if (inputs.length > MAX_BATCH_INPUTS) {
    throw badRequest(`Batch input is limited to ${MAX_BATCH_INPUTS} inputs; ${inputs.length} were given.`, [
      { message: `size must be between 0 and ${MAX_BATCH_INPUTS}`, in: 'inputs', code: 'INVALID_BATCH_SIZE' },
    ]);
  }
  inputs.forEach((input, i) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw badRequest(`inputs[${i}] must be an object`);
  });
  return inputs as Record<string, unknown>[];
}

function batchReply(status: number, results: ObjectJson[], errors: BatchError[], startedAt: string): Reply {
  const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
  if (errors.length > 0) {
    body.errors = errors;
    body.numErrors = errors.length;
    return { status: 207, body };
  }
  return { status, body };
}

/** HubSpot's limit on inputs of a batch read asking for property history. */
export const MAX_HISTORY_BATCH_INPUTS = 50;

/**
 * Finds a record by id or by a unique property; undefined when absent. The id of a record merged
 * into another finds the surviving record, as HubSpot does (`followMerges`).
 */
function findBy(store: ObjectStore, id: string, idProperty: string | undefined, archived = false, followMerges = true): Rec | undefined {
  if (!idProperty || idProperty === 'hs_object_id') {
    let n = parseId(id);
    if (n !== undefined && followMerges) n = resolveMerged(store, n);
    const rec = n === undefined ? undefined : store.get(n);
    return rec && (rec.a !== 0) === archived && rec.a >= 0 ? rec : undefined;
  }
  if (archived) return undefined;
  return store.findUnique(idProperty, id);
}

/** The id a merged-away record's id now stands for (the end of the merge chain). */
export function resolveMerged(store: ObjectStore, id: number): number {
  let n = id;
  for (let i = 0; i < 100 && store.mergedInto.has(n); i++) n = store.mergedInto.get(n)!;
  return n;
}

function checkIdProperty(store: ObjectStore, idProperty: unknown): string | undefined {
  if (idProperty === undefined || idProperty === null || idProperty === '') return undefined;
  if (typeof idProperty !== 'string') throw badRequest('idProperty must be a property name');
  if (idProperty !== 'hs_object_id' && !store.isUnique(idProperty)) {
    const exists = store.props.get(idProperty) !== undefined;
    throw badRequest(
      exists
        ? `Property ${idProperty} is not a unique identifier property of ${store.info.name}; use hs_object_id, ${store.uniqueProperties().join(', ') || 'a property with hasUniqueValue'}.`
        : `Property ${idProperty} does not exist on ${store.info.name}`,
      undefined,
      { propertyName: [idProperty] },
    );
  }
  return idProperty;
}

export function objectRoutes(state: SandboxState): Route[] {
  const read = objectScopes(state, 'read');
  const write = objectScopes(state, 'write');
  const store = (ctx: RequestContext) => state.types.require(ctx.params.objectType!);

  const list: Route = {
    method: 'GET', path: BASE, access: 'api', rate: 'standard', scopes: read,
    handle: (ctx) => {
      const s = store(ctx);
      const limit = ctx.query.has('limit') ? Number(ctx.query.get('limit')) : 10;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest(`limit must be an integer from 1 to 100, got ${ctx.query.get('limit')}`);
      const afterRaw = ctx.query.get('after');
      const after = afterRaw === null || afterRaw === '' ? 0 : parseId(afterRaw);
      if (after === undefined) throw badRequest(`after must be the cursor of a previous page (paging.next.after), got ${afterRaw}`);
      const archived = ctx.query.get('archived') === 'true';
      const defs = selectProperties(s, propertiesParam(ctx.query), defaultProperties(s));
      const history = propertiesParam(ctx.query, 'propertiesWithHistory');
      // Asking for history lowers the page size to 50, as in HubSpot.
      const pageSize = history && history.length > 0 ? Math.min(limit, MAX_HISTORY_BATCH_INPUTS) : limit;
      const results: ObjectJson[] = [];
      let next: number | undefined;
      for (const rec of s.scanById(after, archived)) {
        if (results.length === pageSize) {
          next = rec.id;
          break;
        }
        results.push(attachHistory(s, rec, objectJson(s, rec, defs), history));
      }
      const assoc = propertiesParam(ctx.query, 'associations');
      if (assoc) for (const r of results) attachAssociations(state, s, r, assoc);
      const body: Record<string, unknown> = { results };
      if (next !== undefined) {
        body.paging = { next: { after: String(next), link: `${BASE.replace('{objectType}', s.info.name)}?after=${next}` } };
      }
      return { status: 200, body };
    },
  };

  const get: Route = {
    method: 'GET', path: `${BASE}/{objectId}`, access: 'api', rate: 'standard', scopes: read,
    handle: (ctx) => {
      const s = store(ctx);
      const idProperty = checkIdProperty(s, ctx.query.get('idProperty') ?? undefined);
      const archived = ctx.query.get('archived') === 'true';
      const rec = findBy(s, ctx.params.objectId!, idProperty, archived);
      if (!rec) throw notFoundObject(s, ctx.params.objectId!);
      const json = attachHistory(s, rec, objectJson(s, rec, selectProperties(s, propertiesParam(ctx.query), defaultProperties(s))), propertiesParam(ctx.query, 'propertiesWithHistory'));
      const assoc = propertiesParam(ctx.query, 'associations');
      if (assoc) attachAssociations(state, s, json, assoc);
      return { status: 200, body: json };
    },
  };

  const create: Route = {
    method: 'POST', path: BASE, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const body = ctx.jsonObject();
      const changes = prepareChanges(s, body.properties, 'create');
      checkRequired(state.types, s, changes);
      checkUnique(s, changes);
      const assocInputs = state.associations.parseCreateAssociations(s, body.associations, 'associations');
      const rec = createRecord(state.types, s, changes, Date.now(), state.emit);
      state.associations.applyCreateAssociations(s, rec.id, assocInputs);
      return { status: 201, body: objectJson(s, rec, writtenDefs(s, changes)) };
    },
  };

  const update: Route = {
    method: 'PATCH', path: `${BASE}/{objectId}`, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const idProperty = checkIdProperty(s, ctx.query.get('idProperty') ?? undefined);
      const rec = findBy(s, ctx.params.objectId!, idProperty);
      if (!rec) throw notFoundObject(s, ctx.params.objectId!);
      const changes = prepareChanges(s, ctx.jsonObject().properties, 'update');
      checkUnique(s, changes, rec);
      updateRecord(s, rec, changes, Date.now(), state.emit);
      return { status: 200, body: objectJson(s, rec, writtenDefs(s, changes)) };
    },
  };

  const archive: Route = {
    method: 'DELETE', path: `${BASE}/{objectId}`, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const rec = findBy(s, ctx.params.objectId!, undefined, false, false);
      if (rec) archiveRecord(s, rec, Date.now(), state.emit);
      return { status: 204 }; // HubSpot answers 204 for unknown and already archived ids too
    },
  };

  const batchRead: Route = {
    method: 'POST', path: `${BASE}/batch/read`, access: 'api', rate: 'standard', scopes: read,
    handle: (ctx) => {
      const s = store(ctx);
      const startedAt = new Date().toISOString();
      const inputs = batchInputs(ctx);
      const body = ctx.jsonObject();
      const idProperty = checkIdProperty(s, body.idProperty);
      const archived = ctx.query.get('archived') === 'true';
      const asked = Array.isArray(body.properties) ? body.properties.filter((p): p is string => typeof p === 'string') : undefined;
      const defs = selectProperties(s, asked && asked.length > 0 ? asked : undefined, defaultProperties(s));
      const history = Array.isArray(body.propertiesWithHistory) ? body.propertiesWithHistory.filter((p): p is string => typeof p === 'string') : undefined;
      if (history && history.length > 0 && inputs.length > MAX_HISTORY_BATCH_INPUTS) {
        throw badRequest(`The maximum number of inputs supported in a batch request for property histories is ${MAX_HISTORY_BATCH_INPUTS}. Please reduce the number of items and try again.`, [
          { message: `size must be between 0 and ${MAX_HISTORY_BATCH_INPUTS} when propertiesWithHistory is set`, in: 'inputs', code: 'INVALID_BATCH_SIZE' },
        ]);
      }
      const results: ObjectJson[] = [];
      const missing: string[] = [];
      const seen = new Set<number>();
      for (const input of inputs) {
        const id = input.id === undefined || input.id === null ? '' : String(input.id);
        const rec = findBy(s, id, idProperty, archived);
        if (!rec) missing.push(id);
        else if (!seen.has(rec.id)) {
          seen.add(rec.id);
          results.push(attachHistory(s, rec, objectJson(s, rec, defs), history));
        }
      }
      const errors: BatchError[] = missing.length === 0 ? [] : [{
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message: `Could not get some ${s.info.singular} objects, they may be deleted or not exist. Check that ids are valid.`,
        context: { ids: missing },
        correlationId: crypto.randomUUID(),
      }];
      return batchReply(200, results, errors, startedAt);
    },
  };

  const batchCreate: Route = {
    method: 'POST', path: `${BASE}/batch/create`, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const startedAt = new Date().toISOString();
      const inputs = batchInputs(ctx);
      // Validate everything first: a bad input fails the whole batch and nothing is written.
      const claimed = new Map<string, number>();
      const prepared = inputs.map((input, i) => {
        try {
          const changes = prepareChanges(s, input.properties, 'create');
          checkRequired(state.types, s, changes);
          checkUnique(s, changes, undefined, claimed);
          const assoc = state.associations.parseCreateAssociations(s, input.associations, `inputs[${i}].associations`);
          return { changes, assoc };
        } catch (err) {
          if (err instanceof HubSpotHttpError) {
            err.body.context = { ...(err.body.context ?? {}), inputIndex: [String(i)], ...traceContext(input) };
          }
          throw err;
        }
      });
      const now = Date.now();
      const results = prepared.map(({ changes, assoc }, i) => {
        const rec = createRecord(state.types, s, changes, now, state.emit);
        state.associations.applyCreateAssociations(s, rec.id, assoc);
        return withTrace(objectJson(s, rec, writtenDefs(s, changes)), inputs[i]!);
      });
      return batchReply(201, results, [], startedAt);
    },
  };

  /** Update of an existing record by a batch input (batch update, and upsert of a known id). */
  const updateExisting = (s: ObjectStore, rec: Rec, changes: Changes, now: number, input: Record<string, unknown>): ObjectJson => {
    checkUnique(s, changes, rec);
    updateRecord(s, rec, changes, now, state.emit);
    return withTrace(objectJson(s, rec, writtenDefs(s, changes)), input);
  };

  const batchUpdate: Route = {
    method: 'POST', path: `${BASE}/batch/update`, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const startedAt = new Date().toISOString();
      const inputs = batchInputs(ctx);
      rejectDuplicateIds(inputs);
      const now = Date.now();
      const { results, errors } = perInput(inputs, (input, id) => {
        const rec = findBy(s, id, checkIdProperty(s, input.idProperty));
        if (!rec) throw notFoundObject(s, id);
        return updateExisting(s, rec, prepareChanges(s, input.properties, 'update'), now, input);
      });
      return batchReply(200, results, errors, startedAt);
    },
  };

  const batchUpsert: Route = {
    method: 'POST', path: `${BASE}/batch/upsert`, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const startedAt = new Date().toISOString();
      const inputs = batchInputs(ctx);
      rejectDuplicateIds(inputs, s);
      const now = Date.now();
      const { results, errors } = perInput(inputs, (input, id) => {
        const idProperty = checkIdProperty(s, input.idProperty);
        if (id === '') throw badRequest('id is required: the value of idProperty that identifies the record');
        const existing = findBy(s, id, idProperty);
        const changes = prepareChanges(s, input.properties, existing ? 'update' : 'create');
        if (existing) return { ...updateExisting(s, existing, changes, now, input), new: false };
        if (!idProperty || idProperty === 'hs_object_id') throw notFoundObject(s, id);
        // The id becomes the value of the unique property, validated like any value.
        const withId = prepareChanges(s, { ...(input.properties as object), [idProperty]: id }, 'create');
        checkRequired(state.types, s, withId);
        checkUnique(s, withId);
        const rec = createRecord(state.types, s, withId, now, state.emit);
        return { ...withTrace(objectJson(s, rec, writtenDefs(s, withId)), input), new: true };
      });
      return batchReply(200, results, errors, startedAt);
    },
  };

  const batchArchive: Route = {
    method: 'POST', path: `${BASE}/batch/archive`, access: 'api', rate: 'standard', scopes: write,
    handle: (ctx) => {
      const s = store(ctx);
      const startedAt = new Date().toISOString();
      const inputs = batchInputs(ctx);
      const now = Date.now();
      const missing: string[] = [];
      for (const input of inputs) {
        const id = input.id === undefined || input.id === null ? '' : String(input.id);
        const n = parseId(id);
        const rec = n === undefined ? undefined : s.get(n);
        if (!rec) missing.push(id);
        else archiveRecord(s, rec, now, state.emit);
      }
      if (missing.length === 0) return { status: 204 };
      return batchReply(200, [], [{
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message: `Could not archive some ${s.info.singular} objects, they do not exist. Check that ids are valid.`,
        context: { ids: missing },
        correlationId: crypto.randomUUID(),
      }], startedAt);
    },
  };

  const search: Route = {
    method: 'POST', path: `${BASE}/search`, access: 'api', rate: 'search', scopes: read,
    handle: (ctx) => {
      const s = store(ctx);
      const req = parseSearchRequest(s, ctx.jsonObject());
      const outcome = executeSearch(s, { ...req, strictSorts: state.settings.strictSorts });
      const defs = selectProperties(s, req.properties && req.properties.length > 0 ? req.properties : undefined, defaultProperties(s));
      const body: Record<string, unknown> = { total: outcome.total, results: outcome.views.map((v) => objectJson(s, v, defs)) };
      if (outcome.nextAfter !== undefined) body.paging = { next: { after: String(outcome.nextAfter) } };
      return { status: 200, body, headers: { 'X-Sandbox-Search-Plan': outcome.plan } };
    },
  };

  // Literal routes (batch/*, search) outrank {objectId} in the router.
  return [list, create, batchRead, batchCreate, batchUpdate, batchUpsert, batchArchive, search, get, update, archive];
}

/** HubSpot echoes an input's `objectWriteTraceId` in its result and in errors about it. */
/**
 * Applies a batch input by input, as HubSpot's per-input batch endpoints do: a HubSpot error of
 * one input becomes its entry in `errors` (answered as 207) and the other inputs still apply.
 */
function perInput(
  inputs: Record<string, unknown>[],
  apply: (input: Record<string, unknown>, id: string) => ObjectJson,
): { results: ObjectJson[]; errors: BatchError[] } {
  const results: ObjectJson[] = [];
  const errors: BatchError[] = [];
  for (const input of inputs) {
    const id = input.id === undefined || input.id === null ? '' : String(input.id);
    try {
      results.push(apply(input, id));
    } catch (err) {
      if (!(err instanceof HubSpotHttpError)) throw err;
      errors.push(batchErrorFrom(err, { ids: [id], ...traceContext(input) }));
    }
  }
  return { results, errors };
}

function traceContext(input: Record<string, unknown>): Record<string, string[]> {
  return typeof input.objectWriteTraceId === 'string' ? { objectWriteTraceId: [input.objectWriteTraceId] } : {};
}

function withTrace(json: ObjectJson, input: Record<string, unknown>): ObjectJson {
  return typeof input.objectWriteTraceId === 'string' ? { ...json, objectWriteTraceId: input.objectWriteTraceId } : json;
}

function writtenDefs(store: ObjectStore, changes: Changes) {
  return selectProperties(store, [...changes.keys()].map((d) => d.name), []);
}

function rejectDuplicateIds(inputs: Record<string, unknown>[], store?: ObjectStore): void {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const input of inputs) {
    let id = input.id === undefined || input.id === null ? '' : String(input.id);
    if (store && input.idProperty === 'email') id = id.toLowerCase();
    if (id === '') continue;
    if (seen.has(id)) dups.add(id);
    seen.add(id);
  }
  if (dups.size > 0) throw badRequest(`Duplicate IDs found in batch input: [${[...dups].join(', ')}]. IDs must be unique.`, undefined, { ids: [...dups] });
}

/**
 * The v3 `associations` of a record, named like HubSpot's v3 API: `contact_to_company` for the
 * primary type, `contact_to_company_unlabeled` for the plain one where a primary exists, the
 * plain `deal_to_contact` otherwise, and the label (snake_cased) for labelled types.
 */
function attachAssociations(state: SandboxState, store: ObjectStore, json: ObjectJson, toTypes: string[]): void {
  const out: Record<string, { results: { id: string; type: string }[] }> = {};
  for (const t of toTypes) {
    const to = state.types.resolve(t);
    if (!to) continue;
    const base = `${store.info.singular.toLowerCase()}_to_${to.info.singular.toLowerCase()}`.replace(/\W+/g, '_');
    const hasPrimary = state.associations.typesFor(store, to).some((d) => d.label === 'Primary');
    const name = (label: string | null) => (label === 'Primary' ? base : label === null ? (hasPrimary ? `${base}_unlabeled` : base) : label.toLowerCase().replace(/\W+/g, '_'));
    out[to.info.name] = { results: state.associations.listFor(store, Number(json.id), to).flatMap((a) => a.types.map((ty) => ({ id: String(a.toId), type: name(ty.label) }))) };
  }
  (json as unknown as Record<string, unknown>).associations = out;
}
