/**
 * The PATCH formats kube-apiserver accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
 * and strategic merge patch. Strategic merge needs Go struct tags kube-apiserver compiles in;
 * the sandbox knows the merge keys of the lists kubectl actually patches (containers, env,
 * ports, volumes, conditions, ...) and the `$patch`, `$setElementOrder`, `$retainKeys` and
 * `$deleteFromPrimitiveList` directives, and replaces every other list like a merge patch.
 */
import { badRequest, ApiError } from './errors.js';

type J = unknown;
const isObject = (v: J): v is Record<string, J> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mergePatch(target: J, patch: J): J {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, J> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// --- JSON patch -----------------------------------------------------------------------------

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: J;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`json patch: path "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function invalidPatch(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function parentOf(doc: J, tokens: string[], pointer: string): { parent: J; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw invalidPatch(`the server rejected our request due to an error in our request: doc is missing path: "${pointer}"`);
  }
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function getAt(doc: J, pointer: string): J {
  let cur = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw invalidPatch(`the server rejected our request due to an error in our request: doc is missing path: "${pointer}"`);
  }
  return cur;
}

function arrayIndex(arr: J[], key: string, allowEnd: boolean, pointer: string): number {
  if (key === '-' && allowEnd) return arr.length;
  if (!/^\d+$/.test(key)) throw invalidPatch(`json patch: invalid array index "${key}" in "${pointer}"`);
  const i = Number(key);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw invalidPatch(`json patch: index ${i} out of bounds in "${pointer}"`);
  return i;
}

function add(doc: J, pointer: string, value: J): J {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, structuredClone(value));
  else if (isObject(parent)) parent[key] = structuredClone(value);
  else throw invalidPatch(`json patch: cannot add at "${pointer}": parent is not an object or array`);
  return doc;
}

function remove(doc: J, pointer: string): J {
  const tokens = parsePointer(pointer);
  const { parent, key } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else throw invalidPatch(`the server rejected our request due to an error in our request: Unable to remove nonexistent key: ${key}: missing value`);
  return doc;
}

export function jsonPatch(target: J, ops: J): J {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operations');
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('json patch: every operation needs "op" and "path" strings');
    }
    const op = raw as unknown as Operation;
    switch (op.op) {
      case 'add':
        doc = add(doc, op.path, op.value);
        break;
      case 'remove':
        doc = remove(doc, op.path);
        break;
      case 'replace':
        getAt(doc, op.path);
        doc = remove(doc, op.path);
        doc = add(doc, op.path, op.value);
        break;
      case 'move': {
        const v = getAt(doc, op.from ?? '');
        doc = remove(doc, op.from ?? '');
        doc = add(doc, op.path, v);
        break;
      }
      case 'copy':
        doc = add(doc, op.path, getAt(doc, op.from ?? ''));
        break;
      case 'test': {
        const v = getAt(doc, op.path);
        if (JSON.stringify(v) !== JSON.stringify(op.value)) {
          throw invalidPatch(`the server rejected our request due to an error in our request: testing value ${op.path} failed: test failed`);
        }
        break;
      }
      default:
        throw badRequest(`json patch: unknown operation "${op.op}"`);
    }
  }
  return doc;
}

// --- strategic merge patch --------------------------------------------------------------------

/** Merge keys of lists that strategic merge patch merges instead of replacing (from the Go types). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};
/** Primitive lists with patchStrategy=merge. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

function portKey(items: J[]): string | undefined {
  const first = items.find(isObject);
  if (!first) return undefined;
  if ('containerPort' in first) return 'containerPort';
  if ('port' in first) return 'port';
  return undefined;
}

function mergeKeyFor(field: string, items: J[]): string | undefined {
  if (field === 'ports') return portKey(items);
  return MERGE_KEYS[field];
}

function strategicList(field: string, current: J, patchList: J[], order: J[] | undefined): J[] {
  const base = Array.isArray(current) ? current : [];
  if (MERGED_PRIMITIVE_LISTS.has(field)) {
    const out = [...base];
    for (const v of patchList) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
    return order ? sortByOrder(out, order, (x) => JSON.stringify(x), (x) => JSON.stringify(x)) : out;
  }
  const key = mergeKeyFor(field, [...patchList, ...base]);
  if (!key) {
    // `$patch: replace` markers are meaningless for replaced lists; drop them.
    return patchList.filter((x) => !(isObject(x) && x.$patch === 'replace')).map((x) => stripDirectives(x));
  }
  if (patchList.some((x) => isObject(x) && x.$patch === 'replace')) {
    return patchList.filter((x) => !(isObject(x) && x.$patch === 'replace')).map((x) => stripDirectives(x));
  }
  const out = base.map((x) => structuredClone(x));
  for (const p of patchList) {
    if (!isObject(p)) continue;
    const idx = out.findIndex((x) => isObject(x) && x[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMergePatch(out[idx], p);
    else out.push(stripDirectives(p));
  }
  if (order) return sortByOrder(out, order, (x) => (isObject(x) ? JSON.stringify(x[key]) : ''), (o) => (isObject(o) ? JSON.stringify(o[key]) : ''));
  return out;
}

function sortByOrder(items: J[], order: J[], keyOfItem: (x: J) => string, keyOfOrder: (x: J) => string): J[] {
  const rank = new Map(order.map((o, i) => [keyOfOrder(o), i]));
  return [...items].sort((a, b) => (rank.get(keyOfItem(a)) ?? Infinity) - (rank.get(keyOfItem(b)) ?? Infinity));
}

function stripDirectives(v: J): J {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, J> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

export function strategicMergePatch(target: J, patch: J): J {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  let result: Record<string, J> = isObject(target) ? { ...target } : {};
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const remove = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      const cur = result[field];
      if (Array.isArray(cur)) result[field] = cur.filter((x) => !remove.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete result[k];
    } else if (Array.isArray(v)) {
      const order = patch[`$setElementOrder/${k}`];
      result[k] = strategicList(k, result[k], v, Array.isArray(order) ? order : undefined);
    } else if (isObject(v)) {
      const merged = strategicMergePatch(result[k], v);
      if (merged === undefined) delete result[k];
      else result[k] = merged;
    } else {
      result[k] = v;
    }
  }
  // A `$setElementOrder` without a patch list for the same field only reorders.
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = k.slice('$setElementOrder/'.length);
    if (field in patch || !Array.isArray(result[field])) continue;
    const items = result[field] as J[];
    const key = mergeKeyFor(field, items);
    result[field] = key
      ? sortByOrder(items, order, (x) => (isObject(x) ? JSON.stringify(x[key]) : ''), (o) => (isObject(o) ? JSON.stringify(o[key]) : ''))
      : sortByOrder(items, order, (x) => JSON.stringify(x), (x) => JSON.stringify(x));
  }
  return result;
}
