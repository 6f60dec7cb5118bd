/**
 * The object types of the portal: contacts, companies, deals, and custom objects defined through
 * the schemas API. Resolves every name HubSpot accepts in a URL: plural name, singular name,
 * objectTypeId (0-1, 2-123), fully qualified name (p1234567_car) and the p_car short form.
 */
import { badRequest, HubSpotHttpError } from './errors.js';
import { checkNewProperty, propertyJson, type NewPropertyInput, type PropertyType } from './properties.js';
import { ObjectStore, type ObjectTypeInfo } from './store.js';

export interface CustomSchema {
  id: string;
  objectTypeId: string;
  name: string;
  fullyQualifiedName: string;
  labels: { singular: string; plural: string };
  primaryDisplayProperty?: string;
  requiredProperties: string[];
  searchableProperties: string[];
  secondaryDisplayProperties: string[];
  associatedObjects: string[];
  createdAt: string;
  updatedAt: string;
}

const BUILT_IN: ObjectTypeInfo[] = [
  { name: 'contacts', objectTypeId: '0-1', singular: 'CONTACT', label: 'Contact', kind: 'contacts', fullyQualifiedName: 'contact' },
  { name: 'companies', objectTypeId: '0-2', singular: 'COMPANY', label: 'Company', kind: 'companies', fullyQualifiedName: 'company' },
  { name: 'deals', objectTypeId: '0-3', singular: 'DEAL', label: 'Deal', kind: 'deals', fullyQualifiedName: 'deal' },
];

export class ObjectTypes {
  private readonly stores = new Map<string, ObjectStore>(); // by objectTypeId
  private readonly aliases = new Map<string, string>(); // any accepted name → objectTypeId
  private readonly schemas = new Map<string, CustomSchema>(); // by objectTypeId
  private nextCustom = 1;
  private nextId = 1;
  readonly portalId: number;
  private indexingDelayMs: number;

  constructor(portalId: number, indexingDelayMs: number) {
    this.portalId = portalId;
    this.indexingDelayMs = indexingDelayMs;
    this.reset();
  }

  /** Back to the initial state: only the built-in objects, empty, with their standard properties. */
  reset(): void {
    this.stores.clear();
    this.aliases.clear();
    this.schemas.clear();
    this.nextCustom = 1;
    this.nextId = 1;
    for (const info of BUILT_IN) this.register(info, [info.name, info.objectTypeId, info.fullyQualifiedName]);
  }

  setIndexingDelay(ms: number): void {
    this.indexingDelayMs = ms;
    for (const s of this.stores.values()) s.setIndexingDelay(ms);
  }

  /** Record ids are unique across the portal and only grow. */
  allocateId(): number {
    return this.nextId++;
  }

  private register(info: ObjectTypeInfo, names: string[]): ObjectStore {
    const store = new ObjectStore(info, this.indexingDelayMs);
    this.stores.set(info.objectTypeId, store);
    for (const n of names) this.aliases.set(n.toLowerCase(), info.objectTypeId);
    return store;
  }

  resolve(name: string): ObjectStore | undefined {
    const id = this.aliases.get(decodeURIComponent(name).toLowerCase());
    return id ? this.stores.get(id) : undefined;
  }

  /** Like resolve, but throws HubSpot's error for an unknown object type. */
  require(name: string): ObjectStore {
    const store = this.resolve(name);
    if (!store) {
      throw new HubSpotHttpError(400, {
        message: `Unable to infer object type from: ${name}`,
        category: 'VALIDATION_ERROR',
        context: { objectType: [name] },
      });
    }
    return store;
  }

  all(): ObjectStore[] {
    return [...this.stores.values()];
  }

  listSchemas(): CustomSchema[] {
    return [...this.schemas.values()];
  }

  getSchema(name: string): CustomSchema | undefined {
    const store = this.resolve(name);
    return store ? this.schemas.get(store.info.objectTypeId) : undefined;
  }

  /** Creates a custom object type from a `/crm-object-schemas/v3/schemas` body. */
  createSchema(body: Record<string, unknown>): CustomSchema {
    const problems: string[] = [];
    const name = body.name;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/i.test(name)) problems.push('name must be letters, digits and underscores, starting with a letter');
    const labels = body.labels as { singular?: unknown; plural?: unknown } | undefined;
    if (!labels || typeof labels.singular !== 'string' || typeof labels.plural !== 'string') problems.push('labels {singular, plural} are required');
    const props = body.properties;
    if (!Array.isArray(props) || props.length === 0) problems.push('properties must be a non-empty array of property definitions');
    else props.forEach((p: unknown, i) => {
      for (const msg of checkNewProperty((p ?? {}) as Record<string, unknown>)) problems.push(`properties[${i}]: ${msg}`);
    });
    const propNames = Array.isArray(props) ? props.map((p) => (p as { name?: unknown })?.name) : [];
    propNames.forEach((n, i) => {
      if (typeof n === 'string' && n.startsWith('hs_')) problems.push(`properties[${i}]: names starting with hs_ are reserved for HubSpot`);
      if (typeof n === 'string' && propNames.indexOf(n) !== i) problems.push(`properties[${i}]: ${n} is defined twice`);
    });
    const listOf = (key: string): string[] => {
      const v = body[key];
      if (v === undefined) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        problems.push(`${key} must be an array of property names`);
        return [];
      }
      for (const n of v) if (!propNames.includes(n)) problems.push(`${key} names ${n}, which is not among the schema's properties`);
      return v as string[];
    };
    const requiredProperties = listOf('requiredProperties');
    const searchableProperties = listOf('searchableProperties');
    const secondaryDisplayProperties = listOf('secondaryDisplayProperties');
    const primary = body.primaryDisplayProperty;
    if (primary !== undefined && (typeof primary !== 'string' || !propNames.includes(primary))) problems.push('primaryDisplayProperty must name one of the schema\'s properties');
    if (problems.length > 0) throw badRequest(`Invalid object schema: ${problems.join('; ')}`, problems.map((message) => ({ message, code: 'INVALID_SCHEMA' })));
    const objectName = (name as string).toLowerCase();
    if (this.resolve(objectName) || this.resolve(`p_${objectName}`)) {
      throw new HubSpotHttpError(409, { message: `Object type with name ${objectName} already exists`, category: 'CONFLICT' });
    }
    const n = this.nextCustom++;
    const objectTypeId = `2-${1000 + n}`;
    const fullyQualifiedName = `p${this.portalId}_${objectName}`;
    const info: ObjectTypeInfo = {
      name: `p_${objectName}`,
      objectTypeId,
      singular: (labels!.singular as string).toUpperCase(),
      label: labels!.singular as string,
      kind: 'custom',
      fullyQualifiedName,
    };
    const store = this.register(info, [info.name, objectTypeId, fullyQualifiedName, objectName]);
    for (const p of props as Record<string, unknown>[]) {
      store.props.add(toPropertyInput(p));
      if (p.hasUniqueValue === true) store.addUniqueIndex(p.name as string);
    }
    const now = new Date().toISOString();
    const schema: CustomSchema = {
      id: String(1000 + n),
      objectTypeId,
      name: objectName,
      fullyQualifiedName,
      labels: { singular: labels!.singular as string, plural: labels!.plural as string },
      ...(typeof primary === 'string' ? { primaryDisplayProperty: primary } : {}),
      requiredProperties,
      searchableProperties,
      secondaryDisplayProperties,
      associatedObjects: Array.isArray(body.associatedObjects) ? (body.associatedObjects as string[]) : [],
      createdAt: now,
      updatedAt: now,
    };
    this.schemas.set(objectTypeId, schema);
    return schema;
  }

  schemaJson(schema: CustomSchema): Record<string, unknown> {
    const store = this.stores.get(schema.objectTypeId)!;
    return {
      ...schema,
      metaType: 'PORTAL_SPECIFIC',
      archived: false,
      properties: store.props.list().map(propertyJson),
      associations: schema.associatedObjects.map((o) => ({ fromObjectTypeId: schema.objectTypeId, toObjectTypeId: this.resolve(o)?.info.objectTypeId ?? o, name: `${schema.name}_to_${o.toLowerCase()}` })),
    };
  }
}

export function toPropertyInput(p: Record<string, unknown>): NewPropertyInput {
  return {
    name: p.name as string,
    label: p.label as string,
    type: p.type as PropertyType,
    ...(typeof p.fieldType === 'string' ? { fieldType: p.fieldType } : {}),
    ...(typeof p.groupName === 'string' ? { groupName: p.groupName } : {}),
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
    ...(Array.isArray(p.options) ? { options: p.options as NewPropertyInput['options'] } : {}),
    ...(typeof p.hasUniqueValue === 'boolean' ? { hasUniqueValue: p.hasUniqueValue } : {}),
    ...(typeof p.displayOrder === 'number' ? { displayOrder: p.displayOrder } : {}),
    ...(typeof p.formField === 'boolean' ? { formField: p.formField } : {}),
  };
}

