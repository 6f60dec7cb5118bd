/**
 * One descriptor per HubSpot object type: everything the operator knows about a type in one
 * place (DESIGN §2.2, §3) — the property the incremental search orders by, the default mapping
 * when no FieldMapping exists, the group HubSpot files new properties under, and the
 * properties HubSpot keeps unique (usable to link and to upsert by). Custom objects
 * (p_<name>, 2-<id>) share one descriptor.
 */
export interface ObjectTypeDescriptor {
  /** The property the incremental search orders by (DESIGN §3). */
  lastModifiedProperty: string;
  /** Mapped properties without a FieldMapping (DESIGN §2.2): each to a same-named column, if the table has it. */
  defaultMappedProperties: readonly string[];
  /** The group of properties the operator creates (HubSpot requires one; custom objects: HubSpot's default). */
  propertyGroup?: string;
  /** Properties HubSpot keeps unique even when their definition does not say hasUniqueValue (upsert idProperty). */
  uniqueProperties: readonly string[];
}

export const STANDARD_OBJECT_TYPES = ['contacts', 'companies', 'deals'] as const;
export type StandardObjectType = (typeof STANDARD_OBJECT_TYPES)[number];

export const OBJECT_TYPES: Readonly<Record<StandardObjectType, ObjectTypeDescriptor>> = {
  contacts: {
    lastModifiedProperty: 'lastmodifieddate',
    defaultMappedProperties: ['email', 'firstname', 'lastname', 'phone', 'company', 'lifecyclestage'],
    propertyGroup: 'contactinformation',
    uniqueProperties: ['email'],
  },
  companies: {
    lastModifiedProperty: 'hs_lastmodifieddate',
    defaultMappedProperties: ['name', 'domain', 'phone', 'city', 'country', 'industry'],
    propertyGroup: 'companyinformation',
    uniqueProperties: [],
  },
  deals: {
    lastModifiedProperty: 'hs_lastmodifieddate',
    defaultMappedProperties: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate'],
    propertyGroup: 'dealinformation',
    uniqueProperties: [],
  },
};

/** Custom objects: no default mapping; HubSpot's own property group. */
export const CUSTOM_OBJECT_TYPE: ObjectTypeDescriptor = {
  lastModifiedProperty: 'hs_lastmodifieddate',
  defaultMappedProperties: [],
  uniqueProperties: [],
};

export function isStandardObjectType(objectType: string): objectType is StandardObjectType {
  return (STANDARD_OBJECT_TYPES as readonly string[]).includes(objectType);
}

export function objectTypeDescriptor(objectType: string): ObjectTypeDescriptor {
  return isStandardObjectType(objectType) ? OBJECT_TYPES[objectType] : CUSTOM_OBJECT_TYPE;
}
