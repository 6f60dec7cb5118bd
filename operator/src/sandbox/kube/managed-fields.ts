/**
 * Server-side apply and field ownership (`metadata.managedFields`), as kube-apiserver tracks it:
 * every write records which fields its field manager set (operation Update, or Apply for
 * `application/apply-patch+yaml`). An apply merges the configuration into the object (list
 * items merged by their keys, sets unioned, atomic lists replaced), removes the fields the
 * manager applied before but no longer does (unless another manager owns them), and refuses to
 * change a field another manager owns (409 Conflict naming the manager and field) unless forced.
 * Field sets are stored in kube's FieldsV1 format (`f:spec`, `k:{"type":"contacts"}`, `v:"x"`).
 */
import { ApiError } from './errors.js';
import type { KubeObject, Schema } from './types.js';

type J = unknown;
const isObject = (v: J): v is Record<string, J> => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, J>;
  subresource?: string;
}

/** A set of field paths; each path is a list of FieldsV1 segments, keyed by its JSON. */
type FieldSet = Set<string>;

/** Merge keys of built-in lists (no schema to tell); everything else is atomic unless a CRD says otherwise. */
const BUILTIN_LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  volumeMounts: ['mountPath'],
  imagePullSecrets: ['name'],
  ownerReferences: ['uid'],
  conditions: ['type'],
};
const BUILTIN_SETS = new Set(['finalizers']);

/** Top-level and metadata fields the server owns; never tracked. */
const UNTRACKED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']);

type ListKind = { type: 'map'; keys: string[] } | { type: 'set' } | { type: 'atomic' };

function listKind(schema: Schema | undefined, field: string | undefined, crd: boolean): ListKind {
  if (schema?.['x-kubernetes-list-type'] === 'map' && schema['x-kubernetes-list-map-keys']?.length) {
    return { type: 'map', keys: schema['x-kubernetes-list-map-keys'] };
  }
  if (schema?.['x-kubernetes-list-type'] === 'set') return { type: 'set' };
  if (!crd && field) {
    if (BUILTIN_LIST_KEYS[field]) return { type: 'map', keys: BUILTIN_LIST_KEYS[field] };
    if (BUILTIN_SETS.has(field)) return { type: 'set' };
  }
  if (field === 'finalizers') return { type: 'set' };
  if (field === 'ownerReferences') return { type: 'map', keys: ['uid'] };
  return { type: 'atomic' };
}

function child(schema: Schema | undefined, key: string): Schema | undefined {
  if (!schema) return undefined;
  return schema.properties?.[key] ?? (isObject(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined);
}

function keyOf(item: J, keys: string[]): Record<string, J> {
  const out: Record<string, J> = {};
  for (const k of keys) out[k] = isObject(item) ? item[k] : undefined;
  return out;
}

const sameKey = (a: J, b: J, keys: string[]): boolean => JSON.stringify(keyOf(a, keys)) === JSON.stringify(keyOf(b, keys));

/** Context for walking one object: its schema and whether lists default to CRD (atomic) rules. */
export interface Walk {
  schema: Schema | undefined;
  crd: boolean;
}

/** Leaf paths of a value: scalars, atomic lists, empty objects, set members and list items. */
function collect(value: J, schema: Schema | undefined, field: string | undefined, w: Walk, prefix: string[], out: FieldSet): void {
  if (Array.isArray(value)) {
    const kind = listKind(schema, field, w.crd);
    if (kind.type === 'atomic') {
      out.add(JSON.stringify(prefix));
      return;
    }
    for (const item of value) {
      if (kind.type === 'set') out.add(JSON.stringify([...prefix, `v:${JSON.stringify(item)}`]));
      else {
        const p = [...prefix, `k:${JSON.stringify(keyOf(item, kind.keys))}`];
        out.add(JSON.stringify([...p, '.']));
        collect(item, schema?.items, undefined, w, p, out);
      }
    }
    return;
  }
  if (isObject(value) && Object.keys(value).length > 0 && !(schema?.['x-kubernetes-map-type'] === 'atomic')) {
    for (const [k, v] of Object.entries(value)) collect(v, child(schema, k), k, w, [...prefix, `f:${k}`], out);
    return;
  }
  out.add(JSON.stringify(prefix));
}

/** The tracked fields an object sets; `part` picks the main resource (no status) or only status. */
export function fieldSetOf(obj: J, w: Walk, part: 'all' | 'main' | 'status'): FieldSet {
  const out: FieldSet = new Set();
  if (!isObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (part === 'main' && k === 'status') continue;
    if (part === 'status' && k !== 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (!UNTRACKED_META.has(mk)) collect(mv, undefined, mk, w, ['f:metadata', `f:${mk}`], out);
      }
      continue;
    }
    collect(v, child(w.schema, k), k, w, [`f:${k}`], out);
  }
  return out;
}

/** Follows a path of FieldsV1 segments; `.` denotes the list item itself. */
function valueAt(obj: J, path: string[]): J {
  let cur = obj;
  for (const seg of path) {
    if (seg === '.') return cur;
    if (seg.startsWith('f:')) cur = isObject(cur) ? cur[seg.slice(2)] : undefined;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as Record<string, J>;
      cur = Array.isArray(cur) ? cur.find((i) => sameKey(i, key, Object.keys(key))) : undefined;
    } else if (seg.startsWith('v:')) {
      const v = seg.slice(2);
      cur = Array.isArray(cur) ? cur.find((i) => JSON.stringify(i) === v) : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

function removeAt(obj: J, path: string[]): void {
  const last = path[path.length - 1] === '.' ? path.length - 2 : path.length - 1;
  const parent = valueAt(obj, path.slice(0, last));
  const seg = path[last];
  if (seg.startsWith('f:') && isObject(parent)) delete parent[seg.slice(2)];
  else if (Array.isArray(parent)) {
    const idx = seg.startsWith('k:')
      ? parent.findIndex((i) => {
          const key = JSON.parse(seg.slice(2)) as Record<string, J>;
          return sameKey(i, key, Object.keys(key));
        })
      : parent.findIndex((i) => JSON.stringify(i) === seg.slice(2));
    if (idx >= 0) parent.splice(idx, 1);
  }
}

/** Merges an applied configuration into an object (in place semantics returned as a new value). */
function mergeApplied(cur: J, cfg: J, schema: Schema | undefined, field: string | undefined, w: Walk): J {
  if (cfg === null) return undefined;
  if (isObject(cfg)) {
    const out: Record<string, J> = isObject(cur) ? { ...cur } : {};
    for (const [k, v] of Object.entries(cfg)) {
      const merged = mergeApplied(out[k], v, k === 'metadata' && field === undefined ? undefined : child(schema, k), k, w);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    return out;
  }
  if (Array.isArray(cfg)) {
    const kind = listKind(schema, field, w.crd);
    if (kind.type === 'atomic' || !Array.isArray(cur)) return structuredClone(cfg);
    const out = cur.map((x) => structuredClone(x));
    for (const item of cfg) {
      if (kind.type === 'set') {
        if (!out.some((x) => JSON.stringify(x) === JSON.stringify(item))) out.push(structuredClone(item));
        continue;
      }
      const i = out.findIndex((x) => sameKey(x, item, kind.keys));
      if (i >= 0) out[i] = mergeApplied(out[i], item, schema?.items, undefined, w);
      else out.push(structuredClone(item));
    }
    return out;
  }
  return cfg;
}

// --- FieldsV1 encoding ------------------------------------------------------------------------

function toFieldsV1(set: FieldSet): Record<string, J> {
  const root: Record<string, J> = {};
  for (const key of [...set].sort()) {
    let node = root;
    for (const seg of JSON.parse(key) as string[]) node = (node[seg] ??= {}) as Record<string, J>;
  }
  return root;
}

function fromFieldsV1(tree: J, prefix: string[] = [], out: FieldSet = new Set()): FieldSet {
  if (!isObject(tree) || Object.keys(tree).length === 0) {
    if (prefix.length) out.add(JSON.stringify(prefix));
    return out;
  }
  for (const [seg, sub] of Object.entries(tree)) fromFieldsV1(sub, [...prefix, seg], out);
  return out;
}

function entriesOf(obj: KubeObject): ManagedFieldsEntry[] {
  const mf = obj.metadata.managedFields;
  return Array.isArray(mf) ? (mf as unknown as ManagedFieldsEntry[]) : [];
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const sameSlot = (e: ManagedFieldsEntry, manager: string, operation: string, subresource: string | undefined): boolean =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

/** Writes `owned` as the entry of (manager, operation, subresource) and strips `taken` from every other entry. */
function reassign(
  entries: ManagedFieldsEntry[],
  slot: { manager: string; operation: 'Apply' | 'Update'; subresource?: string; apiVersion: string },
  owned: FieldSet,
  taken: FieldSet,
): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (sameSlot(e, slot.manager, slot.operation, slot.subresource)) continue;
    const fields = fromFieldsV1(e.fieldsV1);
    let changed = false;
    for (const p of taken) if (fields.delete(p)) changed = true;
    if (fields.size === 0) continue;
    out.push(changed ? { ...e, fieldsV1: toFieldsV1(fields) } : e);
  }
  if (owned.size) {
    const entry: ManagedFieldsEntry = { manager: slot.manager, operation: slot.operation, apiVersion: slot.apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(owned) };
    if (slot.subresource) entry.subresource = slot.subresource;
    out.push(entry);
  }
  return out;
}

export interface WriteSlot {
  manager: string;
  apiVersion: string;
  subresource?: string;
  /** Which fields the write may set: with a status subresource, 'main' (all but status) or 'status'. */
  part: 'all' | 'main' | 'status';
}

/**
 * What kube-apiserver compares a created built-in with: its Go zero value, in which the
 * non-pointer structs already exist (so they are not "added" by the create). Approximated for
 * the kinds the project writes; a CR's zero value is `{}`.
 */
const BUILTIN_ZERO: J = { metadata: {}, spec: { template: { metadata: {}, spec: {} }, strategy: {} }, status: {} };

/**
 * structured-merge-diff's Compare: a map or list that the old object did not have is itself
 * "added" — an Update owner then owns the node too (`.` in FieldsV1), e.g. `f:data: {.: {}, f:x: {}}`
 * for a ConfigMap created with data. Leaves (atomic, empty) and metadata itself (stripped by
 * kube-apiserver) are not nodes.
 */
function addedNodes(old: J, obj: J, w: Walk, part: 'all' | 'main' | 'status'): FieldSet {
  const out: FieldSet = new Set();
  const visit = (value: J, schema: Schema | undefined, field: string | undefined, prefix: string[], isNew: boolean): void => {
    if (Array.isArray(value)) {
      const kind = listKind(schema, field, w.crd);
      if (kind.type === 'atomic' || value.length === 0) return;
      if (isNew) out.add(JSON.stringify([...prefix, '.']));
      if (kind.type !== 'map') return;
      for (const item of value) {
        const p = [...prefix, `k:${JSON.stringify(keyOf(item, kind.keys))}`];
        visit(item, schema?.items, undefined, p, isNew || valueAt(old, p) === undefined);
      }
      return;
    }
    if (!isObject(value) || Object.keys(value).length === 0 || schema?.['x-kubernetes-map-type'] === 'atomic') return;
    if (isNew && prefix.length && !(prefix.length === 1 && prefix[0] === 'f:metadata')) out.add(JSON.stringify([...prefix, '.']));
    for (const [k, v] of Object.entries(value)) {
      if (prefix.length === 0 && (k === 'apiVersion' || k === 'kind' || (part === 'main' && k === 'status') || (part === 'status' && k !== 'status'))) continue;
      if (prefix.length === 1 && prefix[0] === 'f:metadata' && UNTRACKED_META.has(k)) continue;
      const p = [...prefix, `f:${k}`];
      const sub = prefix.length === 0 && k === 'metadata' ? undefined : child(schema, k);
      visit(v, sub, k, p, isNew || valueAt(old, p) === undefined);
    }
  };
  visit(obj, w.schema, undefined, [], false);
  // A list item's own marker is already tracked by collect(); only the new nodes are added here.
  return out;
}

/**
 * Records a non-apply write: the manager now owns every field it changed (or, on create, set);
 * other managers lose those fields. Returns the new managedFields.
 */
export function recordUpdate(old: KubeObject | undefined, obj: KubeObject, w: Walk, slot: WriteSlot): ManagedFieldsEntry[] {
  const after = fieldSetOf(obj, w, slot.part);
  const changed: FieldSet = new Set();
  for (const p of after) {
    const path = JSON.parse(p) as string[];
    if (!old || JSON.stringify(valueAt(old, path)) !== JSON.stringify(valueAt(obj, path))) changed.add(p);
  }
  const entries = old ? entriesOf(old) : [];
  if (changed.size === 0) return entries;
  for (const p of addedNodes(old ?? (w.crd ? {} : BUILTIN_ZERO), obj, w, slot.part)) changed.add(p);
  const mine = entries.find((e) => sameSlot(e, slot.manager, 'Update', slot.subresource));
  const owned = new Set([...(mine ? fromFieldsV1(mine.fieldsV1) : []), ...changed]);
  // Fields that no longer exist are owned by no one.
  for (const p of owned) if (valueAt(obj, JSON.parse(p) as string[]) === undefined) owned.delete(p);
  return reassign(entries, { ...slot, operation: 'Update' }, owned, changed);
}

/**
 * How kube-apiserver names the owner of a conflicting field (apiserver's fieldmanager
 * printManager): an Apply owner by its name, an Update owner with the version it wrote.
 */
function printManager(e: ManagedFieldsEntry): string {
  let who = JSON.stringify(e.manager);
  if (e.subresource) who += ` with subresource ${JSON.stringify(e.subresource)}`;
  // The conflict names the owner by its managedFields key, which carries no time.
  return e.operation === 'Update' ? `${who} using ${e.apiVersion}` : who;
}

/** The 409 message (apiserver's getConflictMessage): one conflict inline, several grouped by owner. */
function conflictMessage(conflicts: Array<{ manager: string; who: string; field: string }>): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${conflicts[0]!.who}: ${conflicts[0]!.field}`;
  const byManager = new Map<string, { who: string; fields: string[] }>();
  for (const c of conflicts) {
    const m = byManager.get(c.manager) ?? { who: c.who, fields: [] };
    m.fields.push(c.field);
    byManager.set(c.manager, m);
  }
  const lines = [...byManager.keys()].sort().flatMap((k) => [`conflicts with ${byManager.get(k)!.who}:`, ...byManager.get(k)!.fields.map((f) => `- ${f}`)]);
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/**
 * Server-side apply of `config` by `slot.manager` onto `current` (undefined: the object is being
 * created). Returns the object to store, with its managedFields set. Throws 409 on conflicts
 * unless `force`.
 */
export function applyConfig(current: KubeObject | undefined, config: KubeObject, w: Walk, slot: WriteSlot, force: boolean, kind: string): KubeObject {
  const applied = fieldSetOf(config, w, slot.part);
  const entries = current ? entriesOf(current) : [];
  const previous = entries.find((e) => sameSlot(e, slot.manager, 'Apply', slot.subresource));
  const before = previous ? fromFieldsV1(previous.fieldsV1) : new Set<string>();

  const conflicts: Array<{ manager: string; who: string; field: string }> = [];
  const taken: FieldSet = new Set();
  for (const e of entries) {
    if (e.manager === slot.manager) continue;
    const theirs = fromFieldsV1(e.fieldsV1);
    for (const p of applied) {
      if (!theirs.has(p)) continue;
      const path = JSON.parse(p) as string[];
      if (path[path.length - 1] === '.') continue; // a list item's existence marker: shared, never a value conflict
      // Setting a field to the value it already has makes the owners share it; a different value conflicts.
      if (current && JSON.stringify(valueAt(current, path)) !== JSON.stringify(valueAt(config, path))) {
        conflicts.push({ manager: e.manager, who: printManager(e), field: displayPath(path) });
        taken.add(p);
      }
    }
  }
  if (conflicts.length && !force) {
    throw new ApiError(409, 'Conflict', conflictMessage(conflicts), {
      name: config.metadata.name,
      kind,
      causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.who}`, field: c.field })),
    });
  }

  let obj = (current ? structuredClone(current) : { apiVersion: config.apiVersion, kind: config.kind, metadata: {} }) as KubeObject;
  // Fields this manager applied before and no longer does go away, unless someone else owns them.
  const ownedByOthers = new Set(entries.filter((e) => e.manager !== slot.manager).flatMap((e) => [...fromFieldsV1(e.fieldsV1)]));
  for (const p of before) {
    if (applied.has(p) || ownedByOthers.has(p)) continue;
    removeAt(obj, JSON.parse(p) as string[]);
  }
  obj = mergeApplied(obj, config, w.schema, undefined, w) as KubeObject;
  obj.metadata.managedFields = reassign(entries, { ...slot, operation: 'Apply' }, applied, taken) as unknown as KubeObject['metadata']['managedFields'];
  return obj;
}

/** `.spec.objects[type="contacts"].direction`-style path for conflict messages. */
function displayPath(path: string[]): string {
  let out = '';
  for (const seg of path) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as Record<string, J>;
      out += `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    } else out += `[${seg.slice(2)}]`;
  }
  return out;
}
