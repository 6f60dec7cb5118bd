/**
 * Associations v4: typed links between records, stored in both directions (HubSpot keeps a
 * paired type id per direction, e.g. contact→company 279 and company→contact 280), with the
 * standard HUBSPOT_DEFINED type ids and generated ones for pairs involving custom objects.
 */
import { badRequest, batchErrorFrom, HubSpotHttpError, type BatchError } from './errors.js';
import type { RequestContext, Route } from './http.js';
import type { SandboxState } from './state.js';
import type { ObjectStore } from './store.js';

export interface AssociationType {
  category: 'HUBSPOT_DEFINED' | 'USER_DEFINED';
  typeId: number;
  label: string | null;
}

export interface TypeDef extends AssociationType {
  from: string; // objectTypeId
  to: string;
  inverse: number;
  unlabeled: boolean; // the default association of the pair
  /** Internal name of a USER_DEFINED label (HubSpot's `name`). */
  name?: string;
  /**
   * The primary company of a contact or deal: at most one per contact/deal. `from` when this
   * side is the contact/deal (contact→company 1, deal→company 5), `to` for the inverse types.
   */
  primary?: 'from' | 'to';
}

/** An association added or removed, seen from one side (webhooks send one event per side). */
export interface AssociationChange {
  from: ObjectStore;
  fromId: number;
  to: ObjectStore;
  toId: number;
  type: TypeDef;
  removed: boolean;
  at: number;
}

/** HubSpot's standard association types between the built-in objects. */
const STANDARD: [from: string, to: string, typeId: number, inverse: number, label: string | null, primary?: boolean][] = [
  ['0-1', '0-2', 279, 280, null],
  ['0-1', '0-2', 1, 2, 'Primary', true],
  ['0-3', '0-1', 3, 4, null],
  ['0-3', '0-2', 341, 342, null],
  ['0-3', '0-2', 5, 6, 'Primary', true],
];

export class Associations {
  private types: TypeDef[] = [];
  private nextGenerated = 1000;
  /** `${fromTypeId}:${fromId}` → `${toTypeId}` → toId → type ids. */
  private links = new Map<string, Map<string, Map<number, Set<number>>>>();
  /** Called for every association added or removed, once per side. */
  onChange?: (e: AssociationChange) => void;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.types = [];
    this.nextGenerated = 1000;
    this.links.clear();
    for (const [from, to, typeId, inverse, label, primary] of STANDARD) {
      const base = { label, category: 'HUBSPOT_DEFINED' as const, unlabeled: label === null };
      this.types.push({ ...base, from, to, typeId, inverse, ...(primary ? { primary: 'from' as const } : {}) });
      this.types.push({ ...base, from: to, to: from, typeId: inverse, inverse: typeId, ...(primary ? { primary: 'to' as const } : {}) });
    }
  }

  /** The association types from one object type to another (creating the default pair on first use). */
  typesFor(from: ObjectStore, to: ObjectStore): TypeDef[] {
    const f = from.info.objectTypeId;
    const t = to.info.objectTypeId;
    let defs = this.types.filter((d) => d.from === f && d.to === t);
    if (!defs.some((d) => d.unlabeled)) {
      const id = this.allocateTypeIds(2);
      const category = f.startsWith('0-') && t.startsWith('0-') ? 'HUBSPOT_DEFINED' : 'USER_DEFINED';
      this.types.push({ from: f, to: t, typeId: id, inverse: f === t ? id : id + 1, label: null, category, unlabeled: true });
      if (f !== t) this.types.push({ from: t, to: f, typeId: id + 1, inverse: id, label: null, category, unlabeled: true });
      defs = this.types.filter((d) => d.from === f && d.to === t);
    }
    return defs;
  }

  private allocateTypeIds(n: number): number {
    const id = this.nextGenerated;
    this.nextGenerated += n;
    return id;
  }

  private def(fromType: string, toType: string, typeId: number): TypeDef | undefined {
    return this.types.find((d) => d.from === fromType && d.to === toType && d.typeId === typeId);
  }

  /**
   * Creates a USER_DEFINED label for the pair (and its inverse, named `inverseLabel` when given):
   * HubSpot's `POST /crm/v4/associations/{from}/{to}/labels`. Returns both directions' types.
   */
  createLabel(from: ObjectStore, to: ObjectStore, input: { label: string; name: string; inverseLabel?: string }): TypeDef[] {
    const existing = this.typesFor(from, to);
    if (existing.some((d) => d.name === input.name)) {
      throw badRequest(`An association label named ${input.name} already exists from ${from.info.name} to ${to.info.name}.`, undefined, { name: [input.name] });
    }
    const f = from.info.objectTypeId;
    const t = to.info.objectTypeId;
    const paired = f !== t || input.inverseLabel !== undefined;
    const id = this.allocateTypeIds(paired ? 2 : 1);
    const inverseId = paired ? id + 1 : id;
    const mine: TypeDef = { from: f, to: t, typeId: id, inverse: inverseId, label: input.label, name: input.name, category: 'USER_DEFINED', unlabeled: false };
    this.types.push(mine);
    const out = [mine];
    if (paired) {
      const theirs: TypeDef = { from: t, to: f, typeId: inverseId, inverse: id, label: input.inverseLabel ?? input.label, name: input.name, category: 'USER_DEFINED', unlabeled: false };
      this.types.push(theirs);
      out.push(theirs);
    }
    return out;
  }

  /** Renames a USER_DEFINED label (and its inverse's label when given). */
  updateLabel(from: ObjectStore, to: ObjectStore, typeId: number, label: string, inverseLabel?: string): void {
    const def = this.userLabel(from, to, typeId);
    def.label = label;
    const inv = this.def(def.to, def.from, def.inverse);
    if (inv && inv !== def) inv.label = inverseLabel ?? (inv.label === null ? label : inv.label);
  }

  /** Deletes a USER_DEFINED label; its associations go with it (the unlabeled ones stay). */
  deleteLabel(from: ObjectStore, to: ObjectStore, typeId: number, now: number): void {
    const def = this.userLabel(from, to, typeId);
    for (const [k, byType] of this.links) {
      const [fromType, fromId] = k.split(':');
      if (fromType !== def.from) continue;
      for (const [toId, set] of byType.get(def.to) ?? []) if (set.has(def.typeId)) this.unlink(from, Number(fromId), to, toId, def, now);
    }
    this.types = this.types.filter((d) => !((d.from === def.from && d.to === def.to && d.typeId === def.typeId) || (d.from === def.to && d.to === def.from && d.typeId === def.inverse)));
  }

  private userLabel(from: ObjectStore, to: ObjectStore, typeId: number): TypeDef {
    const def = this.typesFor(from, to).find((d) => d.typeId === typeId);
    if (!def) throw new HubSpotHttpError(404, { message: `No association type ${typeId} from ${from.info.name} to ${to.info.name}.`, category: 'OBJECT_NOT_FOUND' });
    if (def.category !== 'USER_DEFINED' || def.unlabeled) throw badRequest(`Association type ${typeId} is defined by HubSpot; only USER_DEFINED labels can be changed.`);
    return def;
  }

  private typeSet(fromType: string, fromId: number, toType: string, toId: number, create: boolean): Set<number> | undefined {
    const k = `${fromType}:${fromId}`;
    let byType = this.links.get(k);
    if (!byType) {
      if (!create) return undefined;
      this.links.set(k, (byType = new Map()));
    }
    let byId = byType.get(toType);
    if (!byId) {
      if (!create) return undefined;
      byType.set(toType, (byId = new Map()));
    }
    let set = byId.get(toId);
    if (!set) {
      if (!create) return undefined;
      byId.set(toId, (set = new Set()));
    }
    return set;
  }

  /** Adds one typed association (both sides); reports it when it is new. */
  private link(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, def: TypeDef, now: number): void {
    const mine = this.typeSet(def.from, fromId, def.to, toId, true)!;
    if (mine.has(def.typeId)) return;
    mine.add(def.typeId);
    this.typeSet(def.to, toId, def.from, fromId, true)!.add(def.inverse);
    const inv = this.def(def.to, def.from, def.inverse) ?? def;
    this.onChange?.({ from, fromId, to, toId, type: def, removed: false, at: now });
    this.onChange?.({ from: to, fromId: toId, to: from, toId: fromId, type: inv, removed: false, at: now });
  }

  private unlink(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, def: TypeDef, now: number): void {
    const mine = this.typeSet(def.from, fromId, def.to, toId, false);
    if (!mine?.has(def.typeId)) return;
    mine.delete(def.typeId);
    this.typeSet(def.to, toId, def.from, fromId, false)?.delete(def.inverse);
    const inv = this.def(def.to, def.from, def.inverse) ?? def;
    this.onChange?.({ from, fromId, to, toId, type: def, removed: true, at: now });
    this.onChange?.({ from: to, fromId: toId, to: from, toId: fromId, type: inv, removed: true, at: now });
  }

  /** Type ids linking two records, seen from `from`. */
  private typeIdsBetween(from: ObjectStore, fromId: number, to: ObjectStore, toId: number): number[] {
    return [...(this.typeSet(from.info.objectTypeId, fromId, to.info.objectTypeId, toId, false) ?? [])];
  }

  /**
   * Associates two records with the given types. A labelled type implies the unlabeled one, as
   * in HubSpot; a primary type moves the contact's/deal's primary company here (one at most).
   */
  associate(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, typeIds: number[], now = Date.now(), categories?: (string | undefined)[]): void {
    const defs = this.typesFor(from, to);
    const resolved = typeIds.map((typeId, i) => {
      const def = defs.find((d) => d.typeId === typeId);
      if (!def) {
        throw badRequest(`associationTypeId ${typeId} is not valid from ${from.info.name} to ${to.info.name}; valid ids: ${defs.map((d) => d.typeId).join(', ')}`);
      }
      const category = categories?.[i];
      if (category !== undefined && category !== def.category) {
        throw badRequest(`associationTypeId ${typeId} from ${from.info.name} to ${to.info.name} is ${def.category}, not ${category}`);
      }
      return def;
    });
    const plain = defs.find((d) => d.unlabeled)!;
    for (const def of resolved) {
      if (def.primary) this.clearPrimary(from, fromId, to, toId, def, now);
      if (!def.unlabeled) this.link(from, fromId, to, toId, plain, now);
      this.link(from, fromId, to, toId, def, now);
    }
  }

  /** Before a primary association is set: the contact/deal's current primary company loses it. */
  private clearPrimary(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, def: TypeDef, now: number): void {
    // Normalise to the contact/deal side holding the single primary.
    const [single, singleId, company, companyId, primaryDef] =
      def.primary === 'from' ? [from, fromId, to, toId, def] as const : [to, toId, from, fromId, this.def(def.to, def.from, def.inverse)!] as const;
    const byId = this.links.get(`${single.info.objectTypeId}:${singleId}`)?.get(company.info.objectTypeId);
    for (const [otherId, set] of byId ?? []) {
      if (otherId !== companyId && set.has(primaryDef.typeId)) this.unlink(single, singleId, company, otherId, primaryDef, now);
    }
  }

  defaultTypeId(from: ObjectStore, to: ObjectStore): number {
    return this.typesFor(from, to).find((d) => d.unlabeled)!.typeId;
  }

  /** Removes every association between two records. */
  disassociate(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, now = Date.now()): void {
    const defs = this.typesFor(from, to);
    // Labels first, the unlabeled type last (as the UI shows it: the link goes away last).
    const ids = this.typeIdsBetween(from, fromId, to, toId).sort((a, b) => Number(defs.find((d) => d.typeId === a)?.unlabeled ?? false) - Number(defs.find((d) => d.typeId === b)?.unlabeled ?? false));
    for (const typeId of ids) {
      const def = defs.find((d) => d.typeId === typeId);
      if (def) this.unlink(from, fromId, to, toId, def, now);
    }
  }

  /** Removes some types of an association; removing the unlabeled type removes them all. */
  removeTypes(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, typeIds: number[], now = Date.now()): void {
    const defs = this.typesFor(from, to);
    for (const typeId of typeIds) {
      const def = defs.find((d) => d.typeId === typeId);
      if (!def) throw badRequest(`associationTypeId ${typeId} is not valid from ${from.info.name} to ${to.info.name}; valid ids: ${defs.map((d) => d.typeId).join(', ')}`);
      if (def.unlabeled) this.disassociate(from, fromId, to, toId, now);
      else this.unlink(from, fromId, to, toId, def, now);
    }
  }

  /** Every association of a record, by the other record's store (for merges and GDPR deletes). */
  allFor(from: ObjectStore, fromId: number): { to: ObjectStore; toId: number; typeIds: number[] }[] {
    const out: { to: ObjectStore; toId: number; typeIds: number[] }[] = [];
    for (const [toType, byId] of this.links.get(this.key(from, fromId)) ?? []) {
      const to = this.storeLookup?.(toType);
      if (!to) continue;
      for (const [toId, set] of byId) if (set.size > 0) out.push({ to, toId, typeIds: [...set] });
    }
    return out;
  }

  /** Drops every association of a record without events (GDPR delete: gone for good). */
  forget(from: ObjectStore, fromId: number): void {
    for (const { to, toId } of this.allFor(from, fromId)) {
      this.links.get(`${to.info.objectTypeId}:${toId}`)?.get(from.info.objectTypeId)?.delete(fromId);
    }
    this.links.delete(this.key(from, fromId));
  }

  /**
   * Moves the associations of a merged-away record to the merged record. A primary company the
   * merged record already has stays (HubSpot prioritises the primary record's associations,
   * which move first); another record's primary then comes over without its primary label.
   */
  moveAll(store: ObjectStore, fromId: number, intoId: number, now: number): void {
    for (const { to, toId, typeIds } of this.allFor(store, fromId)) {
      if (to === store && (toId === intoId || toId === fromId)) {
        this.disassociate(store, fromId, to, toId, now); // no association of a record with itself
        continue;
      }
      const defs = this.typesFor(store, to);
      const keep = typeIds.filter((typeId) => {
        const def = defs.find((d) => d.typeId === typeId);
        if (!def) return false;
        if (!def.primary) return true;
        // Keep the survivor's primary company if it has one.
        return !this.hasPrimary(store, intoId, to, def);
      });
      this.disassociate(store, fromId, to, toId, now);
      if (keep.length > 0) this.associate(store, intoId, to, toId, keep, now);
    }
  }

  private hasPrimary(store: ObjectStore, id: number, to: ObjectStore, def: TypeDef): boolean {
    const byId = this.links.get(this.key(store, id))?.get(to.info.objectTypeId);
    if (def.primary === 'from') return [...(byId?.values() ?? [])].some((set) => set.has(def.typeId));
    return false; // the company side: a company may be the primary of many contacts
  }

  private key(store: ObjectStore, id: number): string {
    return `${store.info.objectTypeId}:${id}`;
  }

  /** Live associated records of `to` type, in id order. */
  listFor(from: ObjectStore, fromId: number, to: ObjectStore): { toId: number; types: AssociationType[] }[] {
    const byId = this.links.get(this.key(from, fromId))?.get(to.info.objectTypeId);
    if (!byId) return [];
    const defs = this.typesFor(from, to);
    return [...byId.entries()]
      .filter(([toId, set]) => set.size > 0 && (to.get(toId)?.a ?? 1) === 0)
      .sort((a, b) => a[0] - b[0])
      .map(([toId, set]) => ({
        toId,
        types: [...set].flatMap((typeId) => {
          const d = defs.find((x) => x.typeId === typeId);
          return d ? [{ category: d.category, typeId, label: d.label }] : [];
        }),
      }));
  }

  /** Validates the `associations` of an object create input: [{to: {id}, types: [{associationCategory, associationTypeId}]}]. */
  parseCreateAssociations(store: ObjectStore, raw: unknown, where: string): { to: ObjectStore; toId: number; typeId: number }[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw badRequest(`${where} must be an array of {to: {id}, types: [...]}`);
    const out: { to: ObjectStore; toId: number; typeId: number }[] = [];
    raw.forEach((a: unknown, i) => {
      const item = a as { to?: { id?: unknown }; types?: { associationTypeId?: unknown }[] } | null;
      const toId = Number(item?.to?.id);
      if (!item || !Number.isInteger(toId)) throw badRequest(`${where}[${i}].to.id must be a record id`);
      if (!Array.isArray(item.types) || item.types.length === 0) throw badRequest(`${where}[${i}].types must name at least one association type`);
      for (const t of item.types) {
        const typeId = Number(t?.associationTypeId);
        const def = this.types.find((d) => d.from === store.info.objectTypeId && d.typeId === typeId);
        if (!def) throw badRequest(`${where}[${i}]: associationTypeId ${String(t?.associationTypeId)} is not a type from ${store.info.name}`);
        out.push({ to: this.storeLookup!(def.to), toId, typeId });
      }
    });
    for (const o of out) {
      if (!o.to.get(o.toId) || o.to.get(o.toId)!.a !== 0) {
        throw new HubSpotHttpError(400, { message: `${where}: ${o.to.info.singular} ${o.toId} does not exist`, category: 'VALIDATION_ERROR', context: { id: [String(o.toId)] } });
      }
    }
    return out;
  }

  applyCreateAssociations(store: ObjectStore, id: number, inputs: { to: ObjectStore; toId: number; typeId: number }[], now = Date.now()): void {
    for (const a of inputs) this.associate(store, id, a.to, a.toId, [a.typeId], now);
  }

  /** Set by the sandbox: resolves an objectTypeId to its store. */
  storeLookup?: (objectTypeId: string) => ObjectStore;
}

function scopes(state: SandboxState, param: string, access: 'read' | 'write') {
  return (ctx: RequestContext): string[] => {
    const s = state.types.resolve(ctx.params[param]!);
    if (!s) return [];
    return [`crm.objects.${s.info.kind === 'custom' ? 'custom' : s.info.kind}.${access}`];
  };
}

function inputsOf(ctx: RequestContext): Record<string, unknown>[] {
  const inputs = ctx.jsonObject().inputs;
  if (!Array.isArray(inputs)) throw badRequest('inputs is required: an array of batch inputs');
  if (inputs.length > MAX_ASSOCIATION_BATCH_INPUTS) {
    throw badRequest(`Batch input is limited to ${MAX_ASSOCIATION_BATCH_INPUTS} inputs; ${inputs.length} were given.`, [
      { message: `size must be between 0 and ${MAX_ASSOCIATION_BATCH_INPUTS}`, in: 'inputs', code: 'INVALID_BATCH_SIZE' },
    ]);
  }
  return inputs.map((x, i) => {
    if (!x || typeof x !== 'object') throw badRequest(`inputs[${i}] must be an object`);
    return x as Record<string, unknown>;
  });
}

function idOf(raw: unknown, where: string): number {
  const id = Number((raw as { id?: unknown } | undefined)?.id);
  if (!Number.isInteger(id) || id <= 0) throw badRequest(`${where}.id must be a record id`);
  return id;
}

/** HubSpot's limit on inputs of the v4 association batch endpoints (batch read since Feb 2025). */
export const MAX_ASSOCIATION_BATCH_INPUTS = 1000;

function typesOf(raw: unknown, where: string): { typeIds: number[]; categories: (string | undefined)[] } {
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest(`${where} must name at least one {associationCategory, associationTypeId}`);
  const typeIds: number[] = [];
  const categories: (string | undefined)[] = [];
  raw.forEach((t, j) => {
    const typeId = Number((t as { associationTypeId?: unknown } | null)?.associationTypeId);
    if (!Number.isInteger(typeId)) throw badRequest(`${where}[${j}].associationTypeId must be an association type id`);
    const category = (t as { associationCategory?: unknown }).associationCategory;
    if (category !== undefined && category !== 'HUBSPOT_DEFINED' && category !== 'USER_DEFINED' && category !== 'INTEGRATOR_DEFINED') {
      throw badRequest(`${where}[${j}].associationCategory must be HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED`);
    }
    typeIds.push(typeId);
    categories.push(category as string | undefined);
  });
  return { typeIds, categories };
}

export function associationRoutes(state: SandboxState): Route[] {
  const a = state.associations;
  const pair = (ctx: RequestContext) => ({ from: state.types.require(ctx.params.fromObjectType!), to: state.types.require(ctx.params.toObjectType!) });
  const exists = (s: ObjectStore, id: number) => (s.get(id)?.a ?? 1) === 0;
  const B = '/crm/v4/associations/{fromObjectType}/{toObjectType}';
  const O = '/crm/v4/objects/{objectType}/{objectId}/associations';
  const linkJson = (from: ObjectStore, fromId: number, to: ObjectStore, toId: number) => ({
    fromObjectTypeId: from.info.objectTypeId,
    fromObjectId: fromId,
    toObjectTypeId: to.info.objectTypeId,
    toObjectId: toId,
    labels: a.listFor(from, fromId, to).find((x) => x.toId === toId)?.types.map((t) => t.label).filter((l): l is string => l !== null) ?? [],
  });
  const missingError = (from: ObjectStore, to: ObjectStore, fromId: number, toId: number): BatchError =>
    batchErrorFrom(new HubSpotHttpError(404, { message: `${exists(from, fromId) ? to.info.singular : from.info.singular} ${exists(from, fromId) ? toId : fromId} does not exist`, category: 'OBJECT_NOT_FOUND' }), { fromId: [String(fromId)], toId: [String(toId)] });
  const batch = (status: number, results: unknown[], errors: BatchError[], startedAt: string) => ({
    status: errors.length ? 207 : status,
    body: { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString(), ...(errors.length ? { errors, numErrors: errors.length } : {}) },
  });
  const labelJson = (d: TypeDef) => ({ category: d.category, typeId: d.typeId, label: d.label });
  const labelInput = (b: Record<string, unknown>, needName: boolean): { label: string; name: string; inverseLabel?: string } => {
    const problems: string[] = [];
    if (typeof b.label !== 'string' || b.label.trim() === '') problems.push('label is required: the label shown for the association');
    if (needName && (typeof b.name !== 'string' || !/^[A-Za-z0-9_]+$/.test(b.name))) problems.push('name is required: an internal name of letters, digits and underscores');
    if (b.inverseLabel !== undefined && (typeof b.inverseLabel !== 'string' || b.inverseLabel.trim() === '')) problems.push('inverseLabel must be a non-empty string');
    if (problems.length) throw badRequest(`Invalid association label: ${problems.join('; ')}`);
    return { label: b.label as string, name: (b.name as string) ?? '', ...(b.inverseLabel !== undefined ? { inverseLabel: b.inverseLabel as string } : {}) };
  };

  return [
    {
      method: 'POST', path: `${B}/batch/create`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'write'),
      handle: (ctx) => {
        const startedAt = new Date().toISOString();
        const now = Date.now();
        const { from, to } = pair(ctx);
        const results: unknown[] = [];
        const errors: BatchError[] = [];
        inputsOf(ctx).forEach((input, i) => {
          const fromId = idOf(input.from, `inputs[${i}].from`);
          const toId = idOf(input.to, `inputs[${i}].to`);
          const { typeIds, categories } = typesOf(input.types, `inputs[${i}].types`);
          if (!exists(from, fromId) || !exists(to, toId)) return void errors.push(missingError(from, to, fromId, toId));
          a.associate(from, fromId, to, toId, typeIds, now, categories);
          results.push(linkJson(from, fromId, to, toId));
        });
        return batch(201, results, errors, startedAt);
      },
    },
    {
      method: 'POST', path: `${B}/batch/associate/default`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'write'),
      handle: (ctx) => {
        const startedAt = new Date().toISOString();
        const now = Date.now();
        const { from, to } = pair(ctx);
        const results: unknown[] = [];
        const errors: BatchError[] = [];
        const typeId = a.defaultTypeId(from, to);
        const category = a.typesFor(from, to).find((d) => d.typeId === typeId)!.category;
        inputsOf(ctx).forEach((input, i) => {
          const fromId = idOf(input.from, `inputs[${i}].from`);
          const toId = idOf(input.to, `inputs[${i}].to`);
          if (!exists(from, fromId) || !exists(to, toId)) return void errors.push(missingError(from, to, fromId, toId));
          a.associate(from, fromId, to, toId, [typeId], now);
          results.push({ from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: { associationCategory: category, associationTypeId: typeId } });
        });
        return batch(200, results, errors, startedAt);
      },
    },
    {
      method: 'POST', path: `${B}/batch/read`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'read'),
      handle: (ctx) => {
        const startedAt = new Date().toISOString();
        const { from, to } = pair(ctx);
        const results: unknown[] = [];
        const errors: BatchError[] = [];
        inputsOf(ctx).forEach((input, i) => {
          const fromId = idOf(input, `inputs[${i}]`);
          const linked = exists(from, fromId) ? a.listFor(from, fromId, to) : [];
          if (linked.length === 0) {
            const err = new HubSpotHttpError(404, { message: `No ${to.info.singular} is associated with ${from.info.singular} ${fromId}.`, category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND' });
            errors.push({ ...batchErrorFrom(err, { fromId: [String(fromId)] }), subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND' });
            return;
          }
          results.push({ from: { id: String(fromId) }, to: linked.map((l) => ({ toObjectId: l.toId, associationTypes: l.types })) });
        });
        return batch(200, results, errors, startedAt);
      },
    },
    {
      method: 'POST', path: `${B}/batch/archive`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'write'),
      handle: (ctx) => {
        const now = Date.now();
        const { from, to } = pair(ctx);
        const inputs = inputsOf(ctx).map((input, i) => {
          const fromId = idOf(input.from, `inputs[${i}].from`);
          if (!Array.isArray(input.to)) throw badRequest(`inputs[${i}].to must be an array of {id}`);
          return { fromId, toIds: input.to.map((t, j) => idOf(t, `inputs[${i}].to[${j}]`)) };
        });
        for (const { fromId, toIds } of inputs) for (const toId of toIds) a.disassociate(from, fromId, to, toId, now);
        return { status: 204 };
      },
    },
    {
      method: 'POST', path: `${B}/batch/labels/archive`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'write'),
      handle: (ctx) => {
        const now = Date.now();
        const { from, to } = pair(ctx);
        const inputs = inputsOf(ctx).map((input, i) => ({ fromId: idOf(input.from, `inputs[${i}].from`), toId: idOf(input.to, `inputs[${i}].to`), ...typesOf(input.types, `inputs[${i}].types`) }));
        // Validate every type id before removing anything.
        const valid = new Set(a.typesFor(from, to).map((d) => d.typeId));
        inputs.forEach((input, i) => input.typeIds.forEach((t, j) => {
          if (!valid.has(t)) throw badRequest(`inputs[${i}].types[${j}]: associationTypeId ${t} is not valid from ${from.info.name} to ${to.info.name}`);
        }));
        for (const input of inputs) a.removeTypes(from, input.fromId, to, input.toId, input.typeIds, now);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: `${B}/labels`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'read'),
      handle: (ctx) => {
        const { from, to } = pair(ctx);
        return { status: 200, body: { results: a.typesFor(from, to).map(labelJson) } };
      },
    },
    {
      method: 'POST', path: `${B}/labels`, access: 'api', rate: 'standard', scopes: schemaScopes(state),
      handle: (ctx) => {
        const { from, to } = pair(ctx);
        const created = a.createLabel(from, to, labelInput(ctx.jsonObject(), true));
        return { status: 200, body: { results: created.map(labelJson) } };
      },
    },
    {
      method: 'PUT', path: `${B}/labels`, access: 'api', rate: 'standard', scopes: schemaScopes(state),
      handle: (ctx) => {
        const { from, to } = pair(ctx);
        const b = ctx.jsonObject();
        const typeId = Number(b.associationTypeId);
        if (!Number.isInteger(typeId)) throw badRequest('associationTypeId is required: the label\'s type id');
        const input = labelInput(b, false);
        a.updateLabel(from, to, typeId, input.label, input.inverseLabel);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE', path: `${B}/labels/{associationTypeId}`, access: 'api', rate: 'standard', scopes: schemaScopes(state),
      handle: (ctx) => {
        const { from, to } = pair(ctx);
        const typeId = Number(ctx.params.associationTypeId);
        if (!Number.isInteger(typeId)) throw badRequest('associationTypeId must be a number');
        a.deleteLabel(from, to, typeId, Date.now());
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: `${O}/{toObjectType}`, access: 'api', rate: 'standard', scopes: scopes(state, 'objectType', 'read'),
      handle: (ctx) => {
        const from = state.types.require(ctx.params.objectType!);
        const to = state.types.require(ctx.params.toObjectType!);
        const fromId = idOf({ id: ctx.params.objectId }, 'objectId');
        const limit = Math.min(500, Number(ctx.query.get('limit') ?? 500) || 500);
        const after = Number(ctx.query.get('after') ?? 0) || 0;
        const all = a.listFor(from, fromId, to).filter((l) => l.toId >= after);
        const page = all.slice(0, limit);
        const body: Record<string, unknown> = { results: page.map((l) => ({ toObjectId: l.toId, associationTypes: l.types })) };
        if (all.length > limit) body.paging = { next: { after: String(all[limit]!.toId) } };
        return { status: 200, body };
      },
    },
    {
      method: 'PUT', path: `${O}/default/{toObjectType}/{toObjectId}`, access: 'api', rate: 'standard', scopes: scopes(state, 'objectType', 'write'),
      handle: (ctx) => {
        const from = state.types.require(ctx.params.objectType!);
        const to = state.types.require(ctx.params.toObjectType!);
        const fromId = idOf({ id: ctx.params.objectId }, 'objectId');
        const toId = idOf({ id: ctx.params.toObjectId }, 'toObjectId');
        if (!exists(from, fromId) || !exists(to, toId)) throw new HubSpotHttpError(404, { message: missingError(from, to, fromId, toId).message, category: 'OBJECT_NOT_FOUND' });
        const typeId = a.defaultTypeId(from, to);
        a.associate(from, fromId, to, toId, [typeId]);
        const category = a.typesFor(from, to).find((d) => d.typeId === typeId)!.category;
        return { status: 200, body: { status: 'COMPLETE', results: [{ from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: { associationCategory: category, associationTypeId: typeId } }], startedAt: new Date().toISOString(), completedAt: new Date().toISOString() } };
      },
    },
    {
      method: 'PUT', path: `${O}/{toObjectType}/{toObjectId}`, access: 'api', rate: 'standard', scopes: scopes(state, 'objectType', 'write'),
      handle: (ctx) => {
        const from = state.types.require(ctx.params.objectType!);
        const to = state.types.require(ctx.params.toObjectType!);
        const fromId = idOf({ id: ctx.params.objectId }, 'objectId');
        const toId = idOf({ id: ctx.params.toObjectId }, 'toObjectId');
        const { typeIds, categories } = typesOf(ctx.json(), 'body');
        if (!exists(from, fromId) || !exists(to, toId)) throw new HubSpotHttpError(404, { message: missingError(from, to, fromId, toId).message, category: 'OBJECT_NOT_FOUND' });
        a.associate(from, fromId, to, toId, typeIds, Date.now(), categories);
        return { status: 201, body: linkJson(from, fromId, to, toId) };
      },
    },
    {
      method: 'DELETE', path: `${O}/{toObjectType}/{toObjectId}`, access: 'api', rate: 'standard', scopes: scopes(state, 'objectType', 'write'),
      handle: (ctx) => {
        const from = state.types.require(ctx.params.objectType!);
        const to = state.types.require(ctx.params.toObjectType!);
        a.disassociate(from, idOf({ id: ctx.params.objectId }, 'objectId'), to, idOf({ id: ctx.params.toObjectId }, 'toObjectId'));
        return { status: 204 };
      },
    },
  ];
}

/** Association labels: the schemas or objects write scope of the from object (or custom). */
function schemaScopes(state: SandboxState) {
  return (ctx: RequestContext): string[] => {
    const s = state.types.resolve(ctx.params.fromObjectType!);
    if (!s) return [];
    const kind = s.info.kind === 'custom' ? 'custom' : s.info.kind;
    return [`crm.schemas.${kind}.write`, `crm.objects.${kind}.write`];
  };
}
