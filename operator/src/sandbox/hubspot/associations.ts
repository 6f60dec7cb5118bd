/**
 * Associations v4: typed links between records, stored in both directions (HubSpot keeps a
 * paired type id per direction, e.g. contact→company 279 and company→contact 280), with the
 * standard HUBSPOT_DEFINED type ids and generated ones for pairs involving custom objects.
 */
import { badRequest, batchErrorFrom, HubSpotHttpError, type BatchError } from './errors.js';
import type { RequestContext, Route } from './http.js';
import { MAX_BATCH_INPUTS, type SandboxState } from './state.js';
import type { ObjectStore } from './store.js';

export interface AssociationType {
  category: 'HUBSPOT_DEFINED' | 'USER_DEFINED';
  typeId: number;
  label: string | null;
}

interface TypeDef extends AssociationType {
  from: string; // objectTypeId
  to: string;
  inverse: number;
  unlabeled: boolean; // the default association of the pair
}

/** HubSpot's standard association types between the built-in objects. */
const STANDARD: [from: string, to: string, typeId: number, inverse: number, label: string | null][] = [
  ['0-1', '0-2', 279, 280, null],
  ['0-1', '0-2', 1, 2, 'Primary'],
  ['0-3', '0-1', 3, 4, null],
  ['0-3', '0-2', 341, 342, null],
  ['0-3', '0-2', 5, 6, 'Primary'],
];

export class Associations {
  private types: TypeDef[] = [];
  private nextGenerated = 1000;
  /** `${fromTypeId}:${fromId}` → `${toTypeId}` → toId → type ids. */
  private links = new Map<string, Map<string, Map<number, Set<number>>>>();

  constructor() {
    this.reset();
  }

  reset(): void {
    this.types = [];
    this.nextGenerated = 1000;
    this.links.clear();
    for (const [from, to, typeId, inverse, label] of STANDARD) {
      this.types.push({ from, to, typeId, inverse, label, category: 'HUBSPOT_DEFINED', unlabeled: label === null });
      this.types.push({ from: to, to: from, typeId: inverse, inverse: typeId, label, category: 'HUBSPOT_DEFINED', unlabeled: label === null });
    }
  }

  /** The association types from one object type to another (creating the default pair on first use). */
  typesFor(from: ObjectStore, to: ObjectStore): TypeDef[] {
    const f = from.info.objectTypeId;
    const t = to.info.objectTypeId;
    let defs = this.types.filter((d) => d.from === f && d.to === t);
    if (defs.length === 0) {
      const id = this.nextGenerated;
      this.nextGenerated += 2;
      const category = f.startsWith('0-') && t.startsWith('0-') ? 'HUBSPOT_DEFINED' : 'USER_DEFINED';
      this.types.push({ from: f, to: t, typeId: id, inverse: f === t ? id : id + 1, label: null, category, unlabeled: true });
      if (f !== t) this.types.push({ from: t, to: f, typeId: id + 1, inverse: id, label: null, category, unlabeled: true });
      defs = this.types.filter((d) => d.from === f && d.to === t);
    }
    return defs;
  }

  private key(store: ObjectStore, id: number): string {
    return `${store.info.objectTypeId}:${id}`;
  }

  private addOne(fromType: string, fromId: number, toType: string, toId: number, typeId: number): void {
    const k = `${fromType}:${fromId}`;
    let byType = this.links.get(k);
    if (!byType) this.links.set(k, (byType = new Map()));
    let byId = byType.get(toType);
    if (!byId) byType.set(toType, (byId = new Map()));
    let set = byId.get(toId);
    if (!set) byId.set(toId, (set = new Set()));
    set.add(typeId);
  }

  private removeOne(fromType: string, fromId: number, toType: string, toId: number): void {
    this.links.get(`${fromType}:${fromId}`)?.get(toType)?.delete(toId);
  }

  associate(from: ObjectStore, fromId: number, to: ObjectStore, toId: number, typeIds: number[]): void {
    const defs = this.typesFor(from, to);
    for (const typeId of typeIds) {
      const def = defs.find((d) => d.typeId === typeId);
      if (!def) {
        throw badRequest(`associationTypeId ${typeId} is not valid from ${from.info.name} to ${to.info.name}; valid ids: ${defs.map((d) => d.typeId).join(', ')}`);
      }
      this.addOne(from.info.objectTypeId, fromId, to.info.objectTypeId, toId, def.typeId);
      this.addOne(to.info.objectTypeId, toId, from.info.objectTypeId, fromId, def.inverse);
      // A labelled association implies the unlabelled one, as in HubSpot.
      const plain = defs.find((d) => d.unlabeled);
      if (plain && plain.typeId !== def.typeId) {
        this.addOne(from.info.objectTypeId, fromId, to.info.objectTypeId, toId, plain.typeId);
        this.addOne(to.info.objectTypeId, toId, from.info.objectTypeId, fromId, plain.inverse);
      }
    }
  }

  defaultTypeId(from: ObjectStore, to: ObjectStore): number {
    return this.typesFor(from, to).find((d) => d.unlabeled)!.typeId;
  }

  disassociate(from: ObjectStore, fromId: number, to: ObjectStore, toId: number): void {
    this.removeOne(from.info.objectTypeId, fromId, to.info.objectTypeId, toId);
    this.removeOne(to.info.objectTypeId, toId, from.info.objectTypeId, fromId);
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
        types: [...set].map((typeId) => {
          const d = defs.find((x) => x.typeId === typeId)!;
          return { category: d.category, typeId, label: d.label };
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

  applyCreateAssociations(store: ObjectStore, id: number, inputs: { to: ObjectStore; toId: number; typeId: number }[]): void {
    for (const a of inputs) this.associate(store, id, a.to, a.toId, [a.typeId]);
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
  if (inputs.length > MAX_BATCH_INPUTS * 10) throw badRequest(`Batch input is limited to ${MAX_BATCH_INPUTS * 10} inputs; ${inputs.length} were given.`);
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

  return [
    {
      method: 'POST', path: `${B}/batch/create`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'write'),
      handle: (ctx) => {
        const startedAt = new Date().toISOString();
        const { from, to } = pair(ctx);
        const results: unknown[] = [];
        const errors: BatchError[] = [];
        inputsOf(ctx).forEach((input, i) => {
          const fromId = idOf(input.from, `inputs[${i}].from`);
          const toId = idOf(input.to, `inputs[${i}].to`);
          const types = Array.isArray(input.types) ? input.types : [];
          if (types.length === 0) throw badRequest(`inputs[${i}].types must name at least one {associationCategory, associationTypeId}`);
          if (!exists(from, fromId) || !exists(to, toId)) return void errors.push(missingError(from, to, fromId, toId));
          a.associate(from, fromId, to, toId, types.map((t) => Number((t as { associationTypeId?: unknown }).associationTypeId)));
          results.push(linkJson(from, fromId, to, toId));
        });
        return batch(201, results, errors, startedAt);
      },
    },
    {
      method: 'POST', path: `${B}/batch/associate/default`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'write'),
      handle: (ctx) => {
        const startedAt = new Date().toISOString();
        const { from, to } = pair(ctx);
        const results: unknown[] = [];
        const errors: BatchError[] = [];
        inputsOf(ctx).forEach((input, i) => {
          const fromId = idOf(input.from, `inputs[${i}].from`);
          const toId = idOf(input.to, `inputs[${i}].to`);
          if (!exists(from, fromId) || !exists(to, toId)) return void errors.push(missingError(from, to, fromId, toId));
          a.associate(from, fromId, to, toId, [a.defaultTypeId(from, to)]);
          results.push({ from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: a.defaultTypeId(from, to) } });
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
        const { from, to } = pair(ctx);
        inputsOf(ctx).forEach((input, i) => {
          const fromId = idOf(input.from, `inputs[${i}].from`);
          const tos = Array.isArray(input.to) ? input.to : [];
          tos.forEach((t, j) => a.disassociate(from, fromId, to, idOf(t, `inputs[${i}].to[${j}]`)));
        });
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: `${B}/labels`, access: 'api', rate: 'standard', scopes: scopes(state, 'fromObjectType', 'read'),
      handle: (ctx) => {
        const { from, to } = pair(ctx);
        return { status: 200, body: { results: a.typesFor(from, to).map((d) => ({ category: d.category, typeId: d.typeId, label: d.label })) } };
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
        a.associate(from, fromId, to, toId, [a.defaultTypeId(from, to)]);
        return { status: 200, body: { status: 'COMPLETE', results: [{ from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: a.defaultTypeId(from, to) } }], startedAt: new Date().toISOString(), completedAt: new Date().toISOString() } };
      },
    },
    {
      method: 'PUT', path: `${O}/{toObjectType}/{toObjectId}`, access: 'api', rate: 'standard', scopes: scopes(state, 'objectType', 'write'),
      handle: (ctx) => {
        const from = state.types.require(ctx.params.objectType!);
        const to = state.types.require(ctx.params.toObjectType!);
        const fromId = idOf({ id: ctx.params.objectId }, 'objectId');
        const toId = idOf({ id: ctx.params.toObjectId }, 'toObjectId');
        const body = ctx.json();
        if (!Array.isArray(body) || body.length === 0) throw badRequest('body must be a non-empty array of {associationCategory, associationTypeId}');
        if (!exists(from, fromId) || !exists(to, toId)) throw new HubSpotHttpError(404, { message: missingError(from, to, fromId, toId).message, category: 'OBJECT_NOT_FOUND' });
        a.associate(from, fromId, to, toId, body.map((t) => Number((t as { associationTypeId?: unknown })?.associationTypeId)));
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
