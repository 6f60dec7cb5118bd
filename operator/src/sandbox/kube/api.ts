/**
 * The REST semantics of kube-apiserver over the in-memory store, independent of HTTP:
 * create / get / list / update / patch / delete for any served resource, with admission
 * (CRD schemas, CEL, built-in normalisation), status-subresource isolation, generation,
 * optimistic concurrency, finalizers, dry runs, namespaces and CRD registration.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiError,
  alreadyExists,
  applyNeedsFieldManager,
  badRequest,
  conflict,
  fieldErrors,
  gone,
  invalid,
  notFound,
  STALE_OBJECT,
  type FieldError,
} from './errors.js';
import { generateName, now, validateMeta, type NameRule } from './meta.js';
import { applyConfig, recordUpdate, type Walk, type WriteSlot } from './managed-fields.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { prepareCrd, typesFromCrd } from './crd.js';
import { Registry } from './registry.js';
import { validateCel } from './schema/cel.js';
import { applyDefaults, prune, validate } from './schema/structural.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { checkBuiltinFields } from './builtin-schemas.js';
import { checkShape } from './shape.js';
import { ObjectStore } from './store.js';
import { INITIAL_NAMESPACES } from './builtins.js';
import { aggregatedUpdates, defaultClusterRoles } from './rbac-defaults.js';
import { groupVersion, type KubeObject, type ResourceType } from './types.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Who makes the write, for metadata.managedFields (kube: the fieldManager parameter or the user agent). */
  fieldManager?: string;
  /** Server-side apply: take over fields other managers own instead of failing with 409. */
  force?: boolean;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  /** HTTP status kube-apiserver answers with: 201 for creates, 202 for a pending delete, else 200. */
  code: number;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface Target {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

/** Objects whose managedFields were computed by server-side apply (kept as is by create/commitUpdate). */
const presetManagedFields = new WeakSet<KubeObject>();

const NAMESPACES = 'namespaces';
const CRDS = 'customresourcedefinitions.apiextensions.k8s.io';
const CLUSTER_ROLES = 'clusterroles.rbac.authorization.k8s.io';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON with sorted keys, to compare objects regardless of key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The value at a field-error path such as `spec.objects[0].direction` or `spec.valueMap[US]`. */
function valueAtPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const m of path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    const key = m[1] ?? m[2];
    if (Array.isArray(cur) && /^\d+$/.test(key)) cur = cur[Number(key)];
    else if (isObject(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

function withoutKeys(obj: KubeObject, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

function nameRule(rt: ResourceType): NameRule {
  if (rt.plural === NAMESPACES) return 'label';
  if (rt.group === 'rbac.authorization.k8s.io') return 'path-segment';
  return 'subdomain';
}

interface ContinueToken {
  rv: number;
  start: string;
}

export class KubeApi {
  readonly store: ObjectStore;
  readonly registry = new Registry();
  /** UIDs of objects deleted with propagationPolicy Orphan, whose dependents keep existing. */
  private readonly orphaned = new Set<string>();
  /** Called when a resource stops being served (its CRD was deleted), so open watches on it can end. */
  onResourceRemoved: (storeKey: string) => void = () => undefined;

  /** `historyLimit`: watch events kept for watches and continue tokens (older versions get 410 Gone). */
  constructor(historyLimit?: number) {
    this.store = new ObjectStore(historyLimit);
    const nsType = this.registry.lookup('', 'v1', NAMESPACES) as ResourceType;
    for (const name of INITIAL_NAMESPACES) {
      this.create({ rt: nsType }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldManager: 'kube-apiserver' });
    }
    const crType = this.registry.lookup('rbac.authorization.k8s.io', 'v1', 'clusterroles') as ResourceType;
    for (const role of defaultClusterRoles()) this.create({ rt: crType }, role, { fieldManager: 'kube-apiserver' });
  }

  /** The object as served at this resource type's version (CRD versions share one stored object). */
  present(rt: ResourceType, obj: KubeObject): KubeObject {
    if (rt.conversion) return rt.conversion.fromStorage(obj);
    const apiVersion = groupVersion(rt);
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }

  private key(t: Target): [string, string] {
    return [t.rt.namespaced ? (t.namespace ?? '') : '', t.name ?? ''];
  }

  get(t: Target): KubeObject {
    const [ns, name] = this.key(t);
    const obj = this.store.get(t.rt.storeKey, ns, name);
    if (!obj) throw notFound(t.rt.plural, t.rt.group, name);
    return this.present(t.rt, obj);
  }

  private requireNamespace(t: Target): void {
    if (!t.rt.namespaced) return;
    if (!this.store.get(NAMESPACES, '', t.namespace ?? '')) throw notFound('namespaces', '', t.namespace ?? '');
  }

  // --- list ---------------------------------------------------------------------------------

  list(t: Target, query: URLSearchParams): ListResult {
    const labelSel = query.get('labelSelector') ? parseLabelSelector(query.get('labelSelector') as string) : undefined;
    const fieldSel = query.get('fieldSelector') ? parseFieldSelector(query.get('fieldSelector') as string) : undefined;
    const limitRaw = query.get('limit');
    const limit = limitRaw ? Number(limitRaw) : 0;
    if (limitRaw && (!Number.isInteger(limit) || limit < 0)) throw badRequest(`invalid limit "${limitRaw}": must be a non-negative integer`);
    let token: ContinueToken | undefined;
    const cont = query.get('continue');
    if (cont) token = this.decodeContinue(cont);

    const ns = t.rt.namespaced && t.namespace ? t.namespace : undefined;
    let all = this.store.list(t.rt.storeKey, ns);
    if (token) all = all.filter((o) => this.sortKey(o) > (token as ContinueToken).start);
    const matches = (o: KubeObject): boolean =>
      (!labelSel || matchesLabels(labelSel, o.metadata.labels)) && (!fieldSel || matchesFields(fieldSel, t.rt.conversion ? t.rt.conversion.fromStorage(o) : o));
    const rv = token ? token.rv : this.store.resourceVersion;
    const items: KubeObject[] = [];
    let i = 0;
    for (; i < all.length; i++) {
      if (!matches(all[i])) continue;
      if (limit > 0 && items.length === limit) break;
      items.push(this.present(t.rt, all[i]));
    }
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (limit > 0 && i < all.length && items.length === limit) {
      const rest = all.slice(i).filter(matches).length;
      if (rest > 0) {
        result.continue = Buffer.from(JSON.stringify({ rv, start: this.sortKey(items[items.length - 1]) })).toString('base64url');
        if (!labelSel && !fieldSel) result.remainingItemCount = rest;
      }
    }
    return result;
  }

  private sortKey(o: KubeObject): string {
    return `${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;
  }

  private decodeContinue(cont: string): ContinueToken {
    let token: ContinueToken;
    try {
      token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as ContinueToken;
      if (typeof token.rv !== 'number' || typeof token.start !== 'string') throw new Error('shape');
    } catch {
      throw badRequest('continue key is not valid: the continue token was not produced by this server');
    }
    if (token.rv < this.store.oldestWatchableRv) {
      throw gone(
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
      );
    }
    return token;
  }

  // --- admission ----------------------------------------------------------------------------

  /** Prunes, defaults and validates an object of `rt`; returns fieldValidation warnings. */
  private admit(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined, opts: WriteOptions): string[] {
    const warnings: string[] = [];
    const name = obj.metadata.name ?? '';
    const errors: FieldError[] = validateMeta(obj.metadata, nameRule(rt));
    const unknownFields = (removed: string[]): void => {
      if (!removed.length) return;
      const fv = opts.fieldValidation ?? 'Ignore';
      if (fv === 'Strict') {
        throw badRequest(
          `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: strict decoding error: ${removed.map((p) => `unknown field "${p}"`).join(', ')}`,
        );
      }
      if (fv === 'Warn') for (const p of removed) warnings.push(`unknown field "${p}"`);
    };
    if (!rt.schema && !rt.conversion) {
      const issues = checkBuiltinFields(rt.kind, obj);
      if (issues?.typeErrors.length) {
        // Like Go's decoder, only the first wrongly typed value is reported.
        throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${issues.typeErrors[0]}`);
      }
      unknownFields(issues?.unknown ?? []);
    }
    if (rt.schema) {
      unknownFields(prune(obj, rt.schema));
      applyDefaults(obj, rt.schema);
      const schemaErrors: FieldError[] = [];
      validate(withoutKeys(obj, ['metadata', 'apiVersion', 'kind']), { ...rt.schema, required: (rt.schema.required ?? []).filter((r) => r !== 'metadata' && r !== 'apiVersion' && r !== 'kind') }, '', schemaErrors);
      errors.push(...schemaErrors);
      validateCel(obj, old, rt.schema, '', errors);
    }
    // Validation ratcheting (kube 1.30+): on update, errors in values that did not change are let through,
    // so an object that a tightened CRD now rejects can still get status and other edits.
    const remaining = old ? errors.filter((e) => !e.field || canonical(valueAtPath(obj, e.field)) !== canonical(valueAtPath(old, e.field))) : errors;
    if (remaining.length) throw invalid(rt.kind, rt.group, name, remaining);
    if (rt.storeKey === CRDS) prepareCrd(obj, old);
    rt.normalize?.(obj, old);
    return warnings;
  }

  // --- field managers -----------------------------------------------------------------------

  private walk(rt: ResourceType): Walk {
    return { schema: rt.schema, crd: Boolean(rt.crdName) };
  }

  private slot(t: Target, opts: WriteOptions): WriteSlot {
    const part = t.subresource === 'status' ? 'status' : t.rt.statusSubresource ? 'main' : 'all';
    return { manager: opts.fieldManager || 'unknown', apiVersion: groupVersion(t.rt), subresource: t.subresource, part };
  }

  // --- create -------------------------------------------------------------------------------

  create(t: Target, body: unknown, opts: WriteOptions): WriteResult {
    const rt = t.rt;
    const obj = this.decode(rt, body);
    if (presetManagedFields.has(body as KubeObject)) presetManagedFields.add(obj);
    if (t.subresource) throw new ApiError(405, 'MethodNotAllowed', `create is not supported on ${rt.plural}/${t.subresource}`);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    if (!meta.name) throw invalid(rt.kind, rt.group, '', [fieldErrors.required('metadata.name', 'name or generateName is required')]);
    if (rt.namespaced) {
      if (meta.namespace && t.namespace && meta.namespace !== t.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = t.namespace ?? meta.namespace;
      if (!meta.namespace) throw badRequest('the server could not find the requested resource: a namespace is required');
      this.requireNamespace({ ...t, namespace: meta.namespace });
    } else {
      delete meta.namespace;
    }
    if (rt.verbs.length === 1 && rt.verbs[0] === 'create') throw badRequest(`${rt.kind} objects are answered, not stored`);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink']) delete meta[k];
    if (!presetManagedFields.has(obj)) delete meta.managedFields;
    if (rt.statusSubresource && rt.crdName) delete obj.status;
    const existing = this.store.get(rt.storeKey, meta.namespace ?? '', meta.name);
    if (existing) throw alreadyExists(rt.plural, rt.group, meta.name);
    if (rt.namespaced && this.isTerminating(meta.namespace as string)) {
      throw new ApiError(403, 'Forbidden', `${rt.plural} "${meta.name}" is forbidden: unable to create new content in namespace ${meta.namespace} because it is being terminated`);
    }
    const preset = meta.managedFields;
    const warnings = this.admit(rt, obj, undefined, opts);
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    if (rt.hasGeneration) meta.generation = 1;
    // A create through server-side apply arrives with its Apply entry; any other create owns what it set.
    meta.managedFields = presetManagedFields.has(obj) ? preset : recordUpdate(undefined, obj, this.walk(rt), this.slot(t, opts));
    presetManagedFields.delete(obj);
    if (opts.dryRun) return { object: this.present(rt, obj), warnings, code: 201 };
    meta.resourceVersion = String(this.store.nextResourceVersion());
    this.store.put(rt.storeKey, obj, undefined);
    if (rt.storeKey === CRDS) this.registry.setCrd(meta.name, typesFromCrd(obj));
    if (rt.storeKey === CLUSTER_ROLES) this.aggregateClusterRoles();
    if (rt.plural === NAMESPACES) this.createDefaultServiceAccount(meta.name);
    return { object: this.present(rt, obj), warnings, code: 201 };
  }

  /** Parses a request body into an object of `rt`, checking kind and apiVersion. */
  private decode(rt: ResourceType, body: unknown, owned = false): KubeObject {
    if (!isObject(body)) throw badRequest(`the body of the request must be a JSON object (a ${rt.kind})`);
    // Admission mutates the object; copy it unless the caller built it for this write.
    const obj = (owned ? body : structuredClone(body)) as unknown as KubeObject;
    checkShape(rt, obj);
    obj.apiVersion ??= groupVersion(rt);
    obj.kind ??= rt.kind;
    if (obj.kind !== rt.kind) {
      throw badRequest(`the kind of the provided object (${obj.kind}) does not match the resource (${rt.kind}, ${rt.plural})`);
    }
    const [g] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [''];
    if (g !== rt.group) throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${groupVersion(rt)})`);
    obj.apiVersion = groupVersion(rt);
    obj.metadata ??= {};
    // kube-apiserver decodes a built-in into its Go struct before anything else (a stale
    // resourceVersion, say): a wrongly typed value is a 400 first.
    if (!rt.schema && !rt.conversion) {
      const typeErrors = checkBuiltinFields(rt.kind, structuredClone(obj))?.typeErrors ?? [];
      if (typeErrors.length) throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${typeErrors[0]}`);
    }
    return rt.conversion ? rt.conversion.toStorage(obj) : obj;
  }

  // --- update -------------------------------------------------------------------------------

  update(t: Target, body: unknown, opts: WriteOptions): WriteResult {
    const rt = t.rt;
    const [ns, name] = this.key(t);
    const obj = this.decode(rt, body);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (rt.namespaced && obj.metadata.namespace && obj.metadata.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const old = this.store.get(rt.storeKey, ns, name);
    if (!old) throw notFound(rt.plural, rt.group, name);
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      if (rt.crdName) {
        throw invalid(rt.kind, rt.group, name, [fieldErrors.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update')]);
      }
    } else if (rv !== old.metadata.resourceVersion) {
      throw conflict(rt.plural, rt.group, name, STALE_OBJECT);
    }
    return this.commitUpdate(t, old, obj, opts);
  }

  /** Applies subresource isolation, admission and generation, then stores (unless nothing changed). */
  private commitUpdate(t: Target, old: KubeObject, incoming: KubeObject, opts: WriteOptions): WriteResult {
    const rt = t.rt;
    let obj: KubeObject;
    if (t.subresource === 'status') {
      if (!rt.statusSubresource) throw notFound(`${rt.plural}/status`, rt.group, old.metadata.name ?? '');
      obj = structuredClone(old);
      if (incoming.status === undefined) delete obj.status;
      else obj.status = incoming.status;
    } else if (t.subresource) {
      throw notFound(`${rt.plural}/${t.subresource}`, rt.group, old.metadata.name ?? '');
    } else {
      obj = incoming;
      if (rt.statusSubresource) {
        if (old.status === undefined) delete obj.status;
        else obj.status = structuredClone(old.status);
      }
    }
    const meta = obj.metadata;
    const oldMeta = old.metadata;
    meta.name = oldMeta.name;
    if (rt.namespaced) meta.namespace = oldMeta.namespace;
    else delete meta.namespace;
    meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    if (oldMeta.deletionTimestamp) {
      meta.deletionTimestamp = oldMeta.deletionTimestamp;
      meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
      const added = (meta.finalizers ?? []).filter((f) => !(oldMeta.finalizers ?? []).includes(f));
      if (added.length) {
        throw invalid(rt.kind, rt.group, meta.name ?? '', [fieldErrors.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`)]);
      }
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (meta.finalizers && meta.finalizers.length === 0) delete meta.finalizers;
    if (rt.hasGeneration) meta.generation = oldMeta.generation;
    else delete meta.generation;
    meta.resourceVersion = oldMeta.resourceVersion;
    const applied = presetManagedFields.has(incoming) ? incoming.metadata.managedFields : undefined;
    presetManagedFields.delete(incoming);
    meta.managedFields = oldMeta.managedFields;
    if (meta.managedFields === undefined) delete meta.managedFields;

    const warnings = this.admit(rt, obj, old, opts);

    const specKeys = rt.statusSubresource ? ['metadata', 'status', 'apiVersion', 'kind'] : ['metadata', 'apiVersion', 'kind'];
    if (rt.hasGeneration && canonical(withoutKeys(obj, specKeys)) !== canonical(withoutKeys(old, specKeys))) {
      meta.generation = (oldMeta.generation ?? 0) + 1;
    }
    const unchanged = canonical({ ...obj, apiVersion: '' }) === canonical({ ...old, apiVersion: '' });
    if (!unchanged) {
      meta.managedFields = (applied ?? recordUpdate(old, obj, this.walk(rt), this.slot(t, opts))) as unknown[];
      if (!meta.managedFields.length) delete meta.managedFields;
    }
    if (opts.dryRun || unchanged) {
      // kube-apiserver skips no-op writes: same resourceVersion, no watch event.
      return { object: this.present(rt, unchanged ? old : obj), warnings, code: 200 };
    }
    meta.resourceVersion = String(this.store.nextResourceVersion());
    this.store.put(rt.storeKey, obj, old);
    if (rt.storeKey === CRDS) this.registry.setCrd(meta.name as string, typesFromCrd(obj));
    if (rt.storeKey === CLUSTER_ROLES) this.aggregateClusterRoles();
    if (meta.deletionTimestamp && !(meta.finalizers ?? []).length) {
      return { object: this.present(rt, this.finalize(rt, obj)), warnings, code: 200 };
    }
    return { object: this.present(rt, obj), warnings, code: 200 };
  }

  // --- patch --------------------------------------------------------------------------------

  patch(t: Target, type: PatchType, patch: unknown, opts: WriteOptions): WriteResult {
    const rt = t.rt;
    const [ns, name] = this.key(t);
    const old = this.store.get(rt.storeKey, ns, name);
    if (type === 'apply') return this.apply(t, old, patch, opts);
    if (!old) throw notFound(rt.plural, rt.group, name);
    const current = structuredClone(this.present(rt, old)) as unknown;
    let patched: unknown;
    switch (type) {
      case 'merge':
        if (!isObject(patch)) throw badRequest('a merge patch must be a JSON object');
        patched = mergePatch(current, patch);
        break;
      case 'strategic':
        if (!isObject(patch)) throw badRequest('a strategic merge patch must be a JSON object');
        patched = rt.crdName ? mergePatch(current, patch) : strategicMergePatch(current, patch);
        break;
      case 'json':
        patched = jsonPatch(current, patch);
        break;
    }
    if (!isObject(patched)) throw badRequest('the patch did not produce an object');
    const obj = this.decode(rt, patched, true);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    // A resourceVersion in the patch is a precondition; otherwise the patch applies to the latest object.
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) throw conflict(rt.plural, rt.group, name, STALE_OBJECT);
    obj.metadata.resourceVersion = old.metadata.resourceVersion;
    return this.commitUpdate(t, old, obj, opts);
  }

  /** Server-side apply (`application/apply-patch+yaml`): creates or merges with field ownership. */
  private apply(t: Target, old: KubeObject | undefined, patch: unknown, opts: WriteOptions): WriteResult {
    const rt = t.rt;
    const name = t.name ?? '';
    if (!opts.fieldManager) throw applyNeedsFieldManager();
    if (!isObject(patch) || typeof patch.apiVersion !== 'string' || typeof patch.kind !== 'string') {
      throw badRequest('an apply configuration must be an object with apiVersion and kind');
    }
    const config = this.decode(rt, patch);
    if (config.metadata.name !== undefined && config.metadata.name !== name) {
      throw badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
    }
    config.metadata.name = name;
    if (!old && t.subresource) throw notFound(rt.plural, rt.group, name);
    // Compare in storage form: `config` was decoded (and, for converted kinds, converted) like any write.
    const current = old ? ({ ...old, apiVersion: config.apiVersion } as KubeObject) : undefined;
    const obj = applyConfig(current, config, this.walk(rt), this.slot(t, opts), Boolean(opts.force), rt.kind);
    presetManagedFields.add(obj);
    if (!old) return this.create({ ...t, name: undefined }, obj, opts);
    obj.metadata.resourceVersion = (old as KubeObject).metadata.resourceVersion;
    return this.commitUpdate(t, old as KubeObject, obj, opts);
  }

  // --- delete -------------------------------------------------------------------------------

  delete(t: Target, options: Record<string, unknown>, opts: WriteOptions): WriteResult {
    const rt = t.rt;
    const [ns, name] = this.key(t);
    if (t.subresource) throw new ApiError(405, 'MethodNotAllowed', `delete is not supported on ${rt.plural}/${t.subresource}`);
    const old = this.store.get(rt.storeKey, ns, name);
    if (!old) throw notFound(rt.plural, rt.group, name);
    const pre = isObject(options.preconditions) ? options.preconditions : {};
    if (pre.uid !== undefined && pre.uid !== old.metadata.uid) {
      throw conflict(rt.plural, rt.group, name, `Precondition failed: UID in precondition: ${String(pre.uid)}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(rt.plural, rt.group, name, `Precondition failed: ResourceVersion in precondition: ${String(pre.resourceVersion)}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    if (opts.dryRun) return { object: this.present(rt, old), warnings: [], code: 200 };
    const policy = options.propagationPolicy ?? (options.orphanDependents === true ? 'Orphan' : undefined);
    if (policy === 'Orphan') this.orphaned.add(old.metadata.uid as string);
    const pending = (old.metadata.finalizers ?? []).length > 0 || rt.plural === NAMESPACES;
    if (pending) {
      if (old.metadata.deletionTimestamp) return { object: this.present(rt, old), warnings: [], code: 202 };
      const obj = structuredClone(old);
      obj.metadata.deletionTimestamp = now();
      obj.metadata.deletionGracePeriodSeconds = 0;
      if (rt.hasGeneration) obj.metadata.generation = (obj.metadata.generation ?? 0) + 1;
      if (rt.plural === NAMESPACES) (obj as { status?: object }).status = { phase: 'Terminating' };
      obj.metadata.resourceVersion = String(this.store.nextResourceVersion());
      this.store.put(rt.storeKey, obj, old);
      if (rt.plural === NAMESPACES) {
        this.emptyNamespace(name);
        const after = this.store.get(rt.storeKey, '', name);
        return { object: this.present(rt, after ?? obj), warnings: [], code: after ? 202 : 200 };
      }
      return { object: this.present(rt, obj), warnings: [], code: 202 };
    }
    return { object: this.present(rt, this.finalize(rt, old)), warnings: [], code: 200 };
  }

  deleteCollection(t: Target, query: URLSearchParams, options: Record<string, unknown>, opts: WriteOptions): ListResult {
    const { items, resourceVersion } = this.list(t, new URLSearchParams({
      ...(query.get('labelSelector') ? { labelSelector: query.get('labelSelector') as string } : {}),
      ...(query.get('fieldSelector') ? { fieldSelector: query.get('fieldSelector') as string } : {}),
    }));
    const deleted: KubeObject[] = [];
    for (const o of items) {
      try {
        deleted.push(this.delete({ ...t, namespace: o.metadata.namespace, name: o.metadata.name }, options, opts).object);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    return { items: deleted, resourceVersion };
  }

  /** Removes an object for good, with the side effects kube-apiserver's controllers would have. */
  private finalize(rt: ResourceType, obj: KubeObject): KubeObject {
    const gone = this.store.remove(rt.storeKey, obj);
    if (rt.storeKey === CRDS) this.removeCrdObjects(obj);
    if (rt.storeKey === CLUSTER_ROLES) this.aggregateClusterRoles();
    this.collectDependents(obj);
    const ns = obj.metadata.namespace;
    if (ns && this.isTerminating(ns)) this.maybeRemoveNamespace(ns);
    return gone;
  }

  /**
   * The garbage collector's part: objects whose ownerReferences name a deleted object are deleted
   * once none of their owners exist (propagationPolicy Background or Foreground), or lose that
   * ownerReference (Orphan).
   */
  private collectDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid as string;
    const orphan = this.orphaned.delete(uid);
    if (this.store.ownedObjects === 0) return;
    const seen = new Set<string>();
    let uids: Set<string> | undefined;
    for (const rt of this.registry.all()) {
      if (seen.has(rt.storeKey)) continue;
      seen.add(rt.storeKey);
      // A namespaced owner can only own objects in its namespace.
      const candidates = owner.metadata.namespace && rt.namespaced ? this.store.list(rt.storeKey, owner.metadata.namespace) : this.store.list(rt.storeKey);
      for (const dep of candidates) {
        const refs = (dep.metadata.ownerReferences ?? []) as Array<{ uid?: string }>;
        if (!refs.some((r) => r.uid === uid)) continue;
        if (orphan) {
          const updated = structuredClone(dep);
          updated.metadata.ownerReferences = refs.filter((r) => r.uid !== uid) as typeof dep.metadata.ownerReferences;
          if (!updated.metadata.ownerReferences?.length) delete updated.metadata.ownerReferences;
          updated.metadata.resourceVersion = String(this.store.nextResourceVersion());
          this.store.put(rt.storeKey, updated, dep);
          continue;
        }
        uids ??= this.allUids();
        if (refs.some((r) => r.uid !== uid && r.uid !== undefined && uids?.has(r.uid))) continue; // another owner still exists
        try {
          this.delete({ rt, namespace: dep.metadata.namespace, name: dep.metadata.name }, { propagationPolicy: 'Background' }, {});
        } catch {
          // already gone
        }
      }
    }
  }

  private allUids(): Set<string> {
    const out = new Set<string>();
    const seen = new Set<string>();
    for (const rt of this.registry.all()) {
      if (seen.has(rt.storeKey)) continue;
      seen.add(rt.storeKey);
      for (const o of this.store.list(rt.storeKey)) if (o.metadata.uid) out.add(o.metadata.uid);
    }
    return out;
  }

  private isTerminating(ns: string): boolean {
    return Boolean(this.store.get(NAMESPACES, '', ns)?.metadata.deletionTimestamp);
  }

  /** Namespace deletion: delete everything in it; it disappears once the last object is gone. */
  private emptyNamespace(ns: string): void {
    const seen = new Set<string>();
    for (const rt of this.registry.all()) {
      if (!rt.namespaced || seen.has(rt.storeKey)) continue;
      seen.add(rt.storeKey);
      for (const o of this.store.list(rt.storeKey, ns)) {
        try {
          this.delete({ rt, namespace: ns, name: o.metadata.name }, {}, {});
        } catch {
          // already gone
        }
      }
    }
    this.maybeRemoveNamespace(ns);
  }

  private maybeRemoveNamespace(ns: string): void {
    const nsObj = this.store.get(NAMESPACES, '', ns);
    if (!nsObj?.metadata.deletionTimestamp) return;
    const seen = new Set<string>();
    for (const rt of this.registry.all()) {
      if (!rt.namespaced || seen.has(rt.storeKey)) continue;
      seen.add(rt.storeKey);
      if (this.store.list(rt.storeKey, ns).length) return;
    }
    this.store.remove(NAMESPACES, nsObj);
  }

  /** The ServiceAccount controller's part: every namespace has a `default` ServiceAccount. */
  private createDefaultServiceAccount(namespace: string): void {
    const rt = this.registry.lookup('', 'v1', 'serviceaccounts') as ResourceType;
    if (this.store.get(rt.storeKey, namespace, 'default')) return;
    this.create({ rt, namespace }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }, { fieldManager: 'kube-controller-manager' });
  }

  /** The ClusterRole aggregation controller, run after every ClusterRole change until nothing moves. */
  private aggregateClusterRoles(): void {
    for (let pass = 0; pass < 10; pass++) {
      const updates = aggregatedUpdates(this.store.list(CLUSTER_ROLES));
      if (updates.length === 0) return;
      for (const role of updates) {
        const old = this.store.get(CLUSTER_ROLES, '', role.metadata.name as string) as KubeObject;
        role.metadata = { ...role.metadata, resourceVersion: String(this.store.nextResourceVersion()) };
        this.store.put(CLUSTER_ROLES, role, old);
      }
    }
  }

  /** Deleting a CRD deletes all its objects and stops serving its resource. */
  private removeCrdObjects(crd: KubeObject): void {
    const name = crd.metadata.name as string;
    const types = this.registry.crdTypes(name);
    if (types.length) for (const o of this.store.list(types[0].storeKey)) this.store.remove(types[0].storeKey, o);
    this.registry.setCrd(name, []);
    if (types.length) this.onResourceRemoved(types[0].storeKey);
  }
}

export { ApiError };
