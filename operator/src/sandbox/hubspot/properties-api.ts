/**
 * Properties API (`/crm/v3/properties/{objectType}`) and custom object schemas
 * (`/crm-object-schemas/v3/schemas`).
 */
import { badRequest, HubSpotHttpError } from './errors.js';
import type { RequestContext, Route } from './http.js';
import { toPropertyInput } from './object-types.js';
import { checkNewProperty, fieldTypesFor, propertyJson, type PropertyType } from './properties.js';
import type { SandboxState } from './state.js';

function schemaScopes(state: SandboxState, access: 'read' | 'write') {
  return (ctx: RequestContext): string[] => {
    const s = state.types.resolve(ctx.params.objectType!);
    if (!s) return [];
    const kind = s.info.kind === 'custom' ? 'custom' : s.info.kind;
    // Reading property definitions is also allowed with the object read scope, as in HubSpot.
    return access === 'read' ? [`crm.schemas.${kind}.read`, `crm.objects.${kind}.read`] : [`crm.schemas.${kind}.write`];
  };
}

export function propertyRoutes(state: SandboxState): Route[] {
  const P = '/crm/v3/properties/{objectType}';
  return [
    {
      method: 'GET', path: P, access: 'api', rate: 'standard', scopes: schemaScopes(state, 'read'),
      handle: (ctx) => {
        const s = state.types.require(ctx.params.objectType!);
        return { status: 200, body: { results: s.props.list().map(propertyJson) } };
      },
    },
    {
      method: 'GET', path: `${P}/{propertyName}`, access: 'api', rate: 'standard', scopes: schemaScopes(state, 'read'),
      handle: (ctx) => {
        const s = state.types.require(ctx.params.objectType!);
        const def = s.props.get(ctx.params.propertyName!);
        if (!def) {
          throw new HubSpotHttpError(404, { message: `Unable to find property ${ctx.params.propertyName} for ${s.info.name}`, category: 'OBJECT_NOT_FOUND', context: { propertyName: [ctx.params.propertyName!] } });
        }
        return { status: 200, body: propertyJson(def) };
      },
    },
    {
      method: 'POST', path: P, access: 'api', rate: 'standard', scopes: schemaScopes(state, 'write'),
      handle: (ctx) => {
        const s = state.types.require(ctx.params.objectType!);
        const body = ctx.jsonObject();
        const problems = checkNewProperty(body);
        if (typeof body.name === 'string' && body.name.startsWith('hs_') && !s.props.get(body.name)) problems.push('names starting with hs_ are reserved for HubSpot');
        if (problems.length > 0) throw badRequest(`Invalid property definition: ${problems.join('; ')}`, problems.map((message) => ({ message, code: 'INVALID_PROPERTY' })));
        if (s.props.get(body.name as string)) {
          throw new HubSpotHttpError(409, { message: `A property named '${body.name}' already exists.`, category: 'CONFLICT', context: { name: [body.name as string] } });
        }
        const input = toPropertyInput(body);
        if (input.hasUniqueValue && s.uniqueProperties().length >= 10 + (s.info.kind === 'contacts' ? 1 : 0)) {
          throw badRequest('At most 10 unique-value properties are allowed per object.');
        }
        const def = s.props.add(input);
        if (def.hasUniqueValue) s.addUniqueIndex(def.name);
        return { status: 201, body: propertyJson(def) };
      },
    },
    {
      method: 'PATCH', path: `${P}/{propertyName}`, access: 'api', rate: 'standard', scopes: schemaScopes(state, 'write'),
      handle: (ctx) => {
        const s = state.types.require(ctx.params.objectType!);
        const def = s.props.get(ctx.params.propertyName!);
        if (!def) throw new HubSpotHttpError(404, { message: `Unable to find property ${ctx.params.propertyName} for ${s.info.name}`, category: 'OBJECT_NOT_FOUND' });
        if (def.hubspotDefined && def.readOnlyValue) throw badRequest(`Property ${def.name} is read-only and cannot be changed`);
        const body = ctx.jsonObject();
        if (body.type !== undefined && body.type !== def.type) throw badRequest(`Changing the type of ${def.name} is not supported by the sandbox`);
        if (body.fieldType !== undefined && !fieldTypesFor(def.type as PropertyType).includes(String(body.fieldType))) {
          throw badRequest(`fieldType ${String(body.fieldType)} is not valid for type ${def.type}`);
        }
        const input = toPropertyInput({ ...body, name: def.name, label: body.label ?? def.label, type: def.type });
        return { status: 200, body: propertyJson(s.props.update(def.name, input)) };
      },
    },
  ];
}

export function schemaRoutes(state: SandboxState): Route[] {
  const S = '/crm-object-schemas/v3/schemas';
  const read = () => ['crm.schemas.custom.read'];
  const write = () => ['crm.schemas.custom.write'];
  return [
    {
      method: 'GET', path: S, access: 'api', rate: 'standard', scopes: read,
      handle: () => ({ status: 200, body: { results: state.types.listSchemas().map((s) => state.types.schemaJson(s)) } }),
    },
    {
      method: 'GET', path: `${S}/{objectType}`, access: 'api', rate: 'standard', scopes: read,
      handle: (ctx) => {
        const schema = state.types.getSchema(ctx.params.objectType!);
        if (!schema) throw new HubSpotHttpError(404, { message: `Unable to find object schema ${ctx.params.objectType}`, category: 'OBJECT_NOT_FOUND' });
        return { status: 200, body: state.types.schemaJson(schema) };
      },
    },
    {
      method: 'POST', path: S, access: 'api', rate: 'standard', scopes: write,
      handle: (ctx) => {
        const schema = state.types.createSchema(ctx.jsonObject());
        for (const other of schema.associatedObjects) {
          const to = state.types.resolve(other);
          const from = state.types.resolve(schema.objectTypeId);
          if (to && from) state.associations.typesFor(from, to);
        }
        return { status: 201, body: state.types.schemaJson(schema) };
      },
    },
  ];
}
