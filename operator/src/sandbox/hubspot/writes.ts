/**
 * Record writes shared by the single and batch endpoints: property validation (unknown,
 * read-only, invalid values → VALIDATION_ERROR), unique-value conflicts (409 CONFLICT with
 * "Existing ID"), required properties of custom objects, and change events for webhooks.
 */
import { HubSpotHttpError, propertyValuesError, type PropertyValueError } from './errors.js';
import { validateValue, type PropertyDef } from './properties.js';
import type { ObjectStore, Rec, RecordView } from './store.js';
import type { ObjectTypes } from './object-types.js';

export type Changes = Map<PropertyDef, string | undefined>;

export interface ChangeEvent {
  store: ObjectStore;
  kind: 'creation' | 'propertyChange' | 'deletion' | 'restore' | 'merge' | 'privacyDeletion';
  id: number;
  at: number;
  /** For creation and propertyChange: the properties written and their new values. */
  changes?: { name: string; value: string | undefined }[];
  /** For merge: `id` is the new merged record; the primary and the other record it replaced. */
  primaryId?: number;
  mergedIds?: number[];
  /** For merge: how many property values the merged-away record gave the primary. */
  propertiesMoved?: number;
}

export type ChangeListener = (e: ChangeEvent) => void;

/** Validates a `properties` object of a write; throws one VALIDATION_ERROR listing every problem. */
export function prepareChanges(store: ObjectStore, properties: unknown, mode: 'create' | 'update'): Changes {
  if (properties === undefined || properties === null) {
    if (mode === 'create') return new Map();
    throw propertyValuesError([{ propertyName: 'properties', code: 'REQUIRED', message: 'properties is required' }]);
  }
  if (typeof properties !== 'object' || Array.isArray(properties)) {
    throw propertyValuesError([{ propertyName: 'properties', code: 'INVALID_PROPERTY_VALUE', message: 'properties must be an object of property name to value' }]);
  }
  const changes: Changes = new Map();
  const problems: PropertyValueError[] = [];
  for (const [name, raw] of Object.entries(properties as Record<string, unknown>)) {
    const def = store.props.get(name);
    if (!def) {
      problems.push({ propertyName: name, code: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      continue;
    }
    if (def.readOnlyValue) {
      problems.push({ propertyName: name, code: 'READ_ONLY_VALUE', message: `"${name}" is a read only property; its value cannot be set.` });
      continue;
    }
    const r = validateValue(def, raw);
    if (!r.ok) problems.push(r.error);
    else changes.set(def, r.value);
  }
  if (problems.length > 0) throw propertyValuesError(problems);
  return changes;
}

/** Throws 409 CONFLICT when a unique value is held by another live record. */
export function checkUnique(store: ObjectStore, changes: Changes, self?: Rec, claimed?: Map<string, number>): void {
  for (const [def, value] of changes) {
    if (def.name === 'email' && value !== undefined && store.blockedEmails.has(value.toLowerCase())) {
      throw new HubSpotHttpError(400, {
        message: `The email ${value} was permanently deleted (GDPR) and is blocked from being used again.`,
        category: 'VALIDATION_ERROR',
        errors: [{ message: 'email is blocklisted after a GDPR delete', code: 'BLOCKED_EMAIL', context: { propertyName: ['email'] } }],
        context: { propertyName: ['email'] },
      });
    }
    if (value === undefined || !store.isUnique(def.name)) continue;
    const existing = store.findUnique(def.name, value);
    const key = `${def.name}\u0000${def.name === 'email' ? value.toLowerCase() : value}`;
    const claimedBy = claimed?.get(key);
    const holder = existing && existing !== self ? existing.id : claimedBy !== undefined && claimedBy !== self?.id ? claimedBy : undefined;
    if (holder === -1) {
      throw new HubSpotHttpError(409, {
        message: `Two inputs of the batch have the same ${def.name} value ${value}; unique values must differ.`,
        category: 'CONFLICT',
        context: { propertyName: [def.name] },
      });
    }
    if (holder !== undefined) {
      throw new HubSpotHttpError(409, {
        message: `${store.info.label} already exists. Existing ID: ${holder}`,
        category: 'CONFLICT',
        context: { existingId: [String(holder)], propertyName: [def.name] },
      });
    }
    claimed?.set(key, self?.id ?? -1);
  }
}

/** Custom objects: required properties must be set on create. */
export function checkRequired(types: ObjectTypes, store: ObjectStore, changes: Changes): void {
  if (store.info.kind !== 'custom') return;
  const schema = types.getSchema(store.info.objectTypeId);
  const missing = (schema?.requiredProperties ?? []).filter((n) => {
    const def = store.props.get(n);
    return !def || changes.get(def) === undefined;
  });
  if (missing.length > 0) {
    throw propertyValuesError(missing.map((n) => ({ propertyName: n, code: 'REQUIRED_PROPERTY', message: `Required property "${n}" is missing` })));
  }
}

export function createRecord(types: ObjectTypes, store: ObjectStore, changes: Changes, now: number, emit: ChangeListener): Rec {
  const values: (string | undefined)[] = [];
  let createdAt: number | undefined;
  for (const [def, value] of changes) {
    if (def.column >= 0) values[def.column] = value;
    else if (def.name === store.createdProp && value !== undefined) createdAt = Date.parse(value);
  }
  const rec = store.insert(types.allocateId(), values, now, createdAt);
  emit({ store, kind: 'creation', id: rec.id, at: now, changes: [...changes].map(([d, v]) => ({ name: d.name, value: v })) });
  return rec;
}

export function updateRecord(store: ObjectStore, rec: Rec, changes: Changes, now: number, emit: ChangeListener, source = 'API'): string[] {
  const changed = store.update(rec, changes, now, source);
  if (changed.length === 0) return changed;
  emit({
    store,
    kind: 'propertyChange',
    id: rec.id,
    at: now,
    changes: changed.map((name) => ({ name, value: store.value(rec, store.props.get(name)!) })),
  });
  return changed;
}

export function archiveRecord(store: ObjectStore, rec: Rec, now: number, emit: ChangeListener): void {
  if (rec.a !== 0) return;
  store.archive(rec, now);
  emit({ store, kind: 'deletion', id: rec.id, at: now });
}

/** Properties a response shows: asked ones that exist (unknown names are ignored, like HubSpot) plus the always-returned ones. */
export function selectProperties(store: ObjectStore, asked: string[] | undefined, fallback: string[]): PropertyDef[] {
  const names = new Set<string>([...(asked ?? fallback), ...store.alwaysReturned()]);
  const defs: PropertyDef[] = [];
  for (const n of names) {
    const def = store.props.get(n);
    if (def) defs.push(def);
  }
  return defs;
}

/** Properties returned when none are asked for (HubSpot's defaults per object). */
export function defaultProperties(store: ObjectStore): string[] {
  switch (store.info.kind) {
    case 'contacts':
      return ['firstname', 'lastname', 'email'];
    case 'companies':
      return ['name', 'domain'];
    case 'deals':
      return ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate'];
    default:
      return [];
  }
}

export interface VersionJson {
  value: string;
  timestamp: string;
  sourceType: string;
  sourceId?: string;
}

export interface ObjectJson {
  id: string;
  properties: Record<string, string | null>;
  propertiesWithHistory?: Record<string, VersionJson[]>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
  new?: boolean;
  objectWriteTraceId?: string;
}

export function objectJson(store: ObjectStore, view: RecordView, defs: PropertyDef[]): ObjectJson {
  const properties: Record<string, string | null> = {};
  for (const def of defs) properties[def.name] = store.value(view, def) ?? null;
  const out: ObjectJson = {
    id: String(view.id),
    properties,
    createdAt: new Date(view.c).toISOString(),
    updatedAt: new Date(view.u).toISOString(),
    archived: view.a !== 0,
  };
  if (view.a !== 0) out.archivedAt = new Date(view.a).toISOString();
  return out;
}

/**
 * Adds `propertiesWithHistory` for the asked properties that exist (unknown names are ignored,
 * like in `properties`): every version, newest first, a cleared value as "" as HubSpot shows it.
 */
export function attachHistory(store: ObjectStore, rec: Rec, json: ObjectJson, names: string[] | undefined): ObjectJson {
  if (!names || names.length === 0) return json;
  const out: Record<string, VersionJson[]> = {};
  for (const name of names) {
    const def = store.props.get(name);
    if (!def) continue;
    out[name] = store.history(rec, def).map((v) => ({ value: v.value ?? '', timestamp: new Date(v.at).toISOString(), sourceType: v.source }));
  }
  json.propertiesWithHistory = out;
  return json;
}

/** Parses the comma-separated `properties` query parameter (repeatable, like HubSpot's). */
export function propertiesParam(query: URLSearchParams, name = 'properties'): string[] | undefined {
  const all = query.getAll(name);
  if (all.length === 0) return undefined;
  return all.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}
