/**
 * Record lifecycle beyond create/update/archive, as HubSpot does it:
 * - `POST /crm/v3/objects/{objectType}/merge {primaryObjectId, objectIdToMerge}`: a new record
 *   with a new id (HubSpot's behaviour for every object type since 2024) holds the primary's
 *   values and the other's where the primary has none, and the history of both; the two old
 *   records are gone and their ids read as the new record from then on; associations move to it
 *   (the primary's primary company wins); `hs_merged_object_ids` lists the merged ids; a `merge`
 *   webhook event names primaryObjectId, mergedObjectIds and newObjectId.
 * - `POST /crm/v3/objects/contacts/gdpr-delete {objectId, idProperty?}`: 204; the contact, its
 *   values, history and associations are gone for good (not restorable); by email, an unknown
 *   email is blocklisted instead; a `contact.privacyDeletion` webhook event.
 * - restore of an archived record (HubSpot does this from its UI within 90 days of the delete;
 *   no public API) through the admin API, with a `restore` webhook event.
 */
import { badRequest, HubSpotHttpError, notFound } from './errors.js';
import type { Route } from './http.js';
import { resolveMerged } from './objects-api.js';
import type { SandboxState } from './state.js';
import type { ObjectStore, Rec } from './store.js';
import { checkUnique, defaultProperties, objectJson, selectProperties, type Changes, type ObjectJson } from './writes.js';

/** How long an archived record can be restored (HubSpot: 90 days). */
export const RESTORE_WINDOW_MS = 90 * 24 * 3600 * 1000;

function idField(body: Record<string, unknown>, field: string): number {
  const raw = body[field];
  const s = typeof raw === 'number' ? String(raw) : raw;
  if (typeof s !== 'string' || !/^\d{1,15}$/.test(s)) throw badRequest(`${field} is required: the id of a record (a string of digits), got ${JSON.stringify(raw)}`, undefined, { [field]: [String(raw)] });
  return Number(s);
}

function liveRecord(store: ObjectStore, id: number, field: string): Rec {
  const rec = store.get(id);
  if (!rec || rec.a !== 0) throw notFound(`Object not found.  objectId are usually numeric.`, { id: [String(id)], objectType: [store.info.name], field: [field] });
  return rec;
}

/**
 * Merges two records as HubSpot does since its 2024 change for contacts and companies (and
 * always for other objects): a new record with a new id takes the primary's values, and the
 * other's where the primary has none; both old ids resolve to it from then on; the history of
 * both is kept; associations move to it, the primary's first.
 */
export function mergeRecords(state: SandboxState, store: ObjectStore, primaryId: number, otherId: number, now: number): Rec {
  if (primaryId === otherId) throw badRequest(`primaryObjectId and objectIdToMerge are both ${primaryId}; a record cannot be merged with itself.`);
  const primary = liveRecord(store, primaryId, 'primaryObjectId');
  const other = liveRecord(store, otherId, 'objectIdToMerge');
  const values: (string | undefined)[] = [];
  let moved = 0;
  for (const def of store.props.list()) {
    if (def.column < 0) continue;
    const mine = primary.v[def.column];
    const theirs = other.v[def.column];
    if (mine !== undefined) values[def.column] = mine;
    else if (theirs !== undefined) {
      values[def.column] = theirs;
      moved++;
    }
  }
  const mergedDef = store.props.get('hs_merged_object_ids');
  if (mergedDef) {
    const ids = [primary.v[mergedDef.column], other.v[mergedDef.column], String(primaryId), String(otherId)].filter((x): x is string => !!x).join(';').split(';');
    values[mergedDef.column] = [...new Set(ids)].sort((a, b) => Number(a) - Number(b)).join(';');
  }
  // The old records go first: they release their unique values (email) for the new one.
  const history = store.collectHistory([primary, other]);
  const createdAt = Math.min(primary.c, other.c);
  store.purge(primary, now);
  store.purge(other, now);
  const merged = store.insert(state.types.allocateId(), values, now, createdAt);
  store.adoptHistory(merged, history, now, 'MERGE');
  store.mergedInto.set(primaryId, merged.id);
  store.mergedInto.set(otherId, merged.id);
  state.associations.moveAll(store, primaryId, merged.id, now);
  state.associations.moveAll(store, otherId, merged.id, now);
  state.emit({ store, kind: 'merge', id: merged.id, at: now, primaryId, mergedIds: [otherId], propertiesMoved: moved });
  return merged;
}

export function gdprDelete(state: SandboxState, store: ObjectStore, objectId: string, idProperty: string | undefined, now: number): void {
  let rec: Rec | undefined;
  if (!idProperty || idProperty === 'hs_object_id') {
    if (!/^\d{1,15}$/.test(objectId)) throw badRequest(`objectId must be a contact id (digits) unless idProperty names a unique property, got ${JSON.stringify(objectId)}`);
    rec = store.get(resolveMerged(store, Number(objectId)));
  } else {
    if (!store.isUnique(idProperty)) throw badRequest(`Property ${idProperty} is not a unique identifier property of ${store.info.name}; use hs_object_id or email.`, undefined, { propertyName: [idProperty] });
    rec = store.findUnique(idProperty, objectId);
  }
  if (!rec || rec.a < 0) {
    if (idProperty === 'email') {
      store.blockedEmails.add(objectId.trim().toLowerCase());
      return;
    }
    throw notFound(`Object not found.  objectId are usually numeric.`, { id: [objectId], objectType: [store.info.name] });
  }
  const id = rec.id;
  state.associations.forget(store, id);
  store.purge(rec, now);
  state.emit({ store, kind: 'privacyDeletion', id, at: now });
}

/** Restores an archived record (HubSpot: from the UI, within 90 days); 409 if a unique value is taken meanwhile. */
export function restoreRecord(state: SandboxState, store: ObjectStore, id: number, now: number): ObjectJson {
  const rec = store.get(id);
  if (!rec || rec.a < 0) throw notFound(`No ${store.info.name} record ${id} can be restored: it never existed, was merged or was permanently deleted (GDPR).`, { id: [String(id)] });
  if (rec.a === 0) throw badRequest(`${store.info.label} ${id} is not archived.`, undefined, { id: [String(id)] });
  if (now - rec.a > RESTORE_WINDOW_MS) throw badRequest(`${store.info.label} ${id} was archived more than 90 days ago and can no longer be restored.`, undefined, { id: [String(id)] });
  const uniques: Changes = new Map();
  for (const name of store.uniqueProperties()) {
    const def = store.props.get(name);
    if (def && def.column >= 0 && rec.v[def.column] !== undefined) uniques.set(def, rec.v[def.column]);
  }
  checkUnique(store, uniques, rec);
  store.restore(rec, now);
  state.emit({ store, kind: 'restore', id, at: now });
  return objectJson(store, rec, selectProperties(store, undefined, defaultProperties(store)));
}

export function lifecycleRoutes(state: SandboxState): Route[] {
  const write = (ctx: { params: Record<string, string> }): string[] => {
    const s = state.types.resolve(ctx.params.objectType!);
    return s ? [`crm.objects.${s.info.kind === 'custom' ? 'custom' : s.info.kind}.write`] : [];
  };
  return [
    {
      method: 'POST', path: '/crm/v3/objects/{objectType}/merge', access: 'api', rate: 'standard', scopes: write,
      handle: (ctx) => {
        const store = state.types.require(ctx.params.objectType!);
        const body = ctx.jsonObject();
        const problems: string[] = [];
        let primaryId = 0;
        let otherId = 0;
        try { primaryId = idField(body, 'primaryObjectId'); } catch (e) { problems.push((e as Error).message); }
        try { otherId = idField(body, 'objectIdToMerge'); } catch (e) { problems.push((e as Error).message); }
        if (problems.length) throw badRequest(problems.join('; '));
        const rec = mergeRecords(state, store, primaryId, otherId, Date.now());
        return { status: 200, body: objectJson(store, rec, selectProperties(store, undefined, defaultProperties(store))) };
      },
    },
    {
      method: 'POST', path: '/crm/v3/objects/{objectType}/gdpr-delete', access: 'api', rate: 'standard', scopes: write,
      handle: (ctx) => {
        const store = state.types.require(ctx.params.objectType!);
        if (store.info.kind !== 'contacts') throw badRequest(`GDPR delete is available for contacts only, not ${store.info.name}.`);
        const body = ctx.jsonObject();
        const raw = body.objectId;
        if ((typeof raw !== 'string' || raw.trim() === '') && typeof raw !== 'number') throw badRequest('objectId is required: the contact id, or its email with idProperty "email"', undefined, { objectId: [String(raw)] });
        const idProperty = body.idProperty;
        if (idProperty !== undefined && idProperty !== null && typeof idProperty !== 'string') throw badRequest('idProperty must be a property name such as "email"');
        gdprDelete(state, store, String(raw).trim(), (idProperty as string | undefined) || undefined, Date.now());
        return { status: 204 };
      },
    },
  ];
}
