/**
 * Property definitions per object type (HubSpot's Properties API model), the standard
 * properties each object starts with, and value validation/normalisation by property type.
 */
import type { PropertyValueError } from './errors.js';

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder?: number;
  hidden?: boolean;
}

export interface PropertyDef {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  hasUniqueValue: boolean;
  hubspotDefined: boolean;
  readOnlyValue: boolean;
  calculated: boolean;
  formField: boolean;
  displayOrder: number;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** Where the value lives in a record's value array; -1 for values derived from the record itself. */
  column: number;
}

const FIELD_TYPES: Record<PropertyType, string[]> = {
  string: ['text', 'textarea', 'html', 'file', 'phonenumber'],
  number: ['number', 'calculation_equation'],
  date: ['date'],
  datetime: ['date'],
  enumeration: ['select', 'radio', 'checkbox', 'booleancheckbox'],
  bool: ['booleancheckbox'],
  phone_number: ['phonenumber', 'text'],
};

const DEFAULT_FIELD_TYPE: Record<PropertyType, string> = {
  string: 'text',
  number: 'number',
  date: 'date',
  datetime: 'date',
  enumeration: 'select',
  bool: 'booleancheckbox',
  phone_number: 'phonenumber',
};

export const PROPERTY_TYPES = Object.keys(FIELD_TYPES) as PropertyType[];

export function fieldTypesFor(type: PropertyType): string[] {
  return FIELD_TYPES[type];
}

type Seed = [name: string, label: string, type: PropertyType, extra?: Partial<PropertyDef> & { opts?: string[] }];

const LIFECYCLE = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'];
const LEAD_STATUS = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'];
const INDUSTRIES = [
  'ACCOUNTING', 'AIRLINES_AVIATION', 'APPAREL_FASHION', 'AUTOMOTIVE', 'BANKING', 'BIOTECHNOLOGY', 'COMPUTER_SOFTWARE',
  'CONSTRUCTION', 'CONSUMER_GOODS', 'EDUCATION_MANAGEMENT', 'FINANCIAL_SERVICES', 'FOOD_BEVERAGES', 'HOSPITAL_HEALTH_CARE',
  'INFORMATION_TECHNOLOGY_AND_SERVICES', 'INSURANCE', 'INTERNET', 'LOGISTICS_AND_SUPPLY_CHAIN', 'MARKETING_AND_ADVERTISING',
  'MEDIA_PRODUCTION', 'RETAIL', 'TELECOMMUNICATIONS', 'TRANSPORTATION_TRUCKING_RAILROAD',
];
const DEAL_STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'decisionmakerboughtin', 'contractsent', 'closedwon', 'closedlost'];

/** Standard (HubSpot-defined) properties of the built-in objects; enough for a realistic sync. */
const STANDARD: Record<string, Seed[]> = {
  contacts: [
    ['email', 'Email', 'string', { fieldType: 'text' }],
    ['firstname', 'First Name', 'string'],
    ['lastname', 'Last Name', 'string'],
    ['phone', 'Phone Number', 'string', { fieldType: 'phonenumber' }],
    ['mobilephone', 'Mobile Phone Number', 'string', { fieldType: 'phonenumber' }],
    ['company', 'Company Name', 'string'],
    ['jobtitle', 'Job Title', 'string'],
    ['website', 'Website URL', 'string'],
    ['address', 'Street Address', 'string'],
    ['city', 'City', 'string'],
    ['state', 'State/Region', 'string'],
    ['zip', 'Postal Code', 'string'],
    ['country', 'Country/Region', 'string'],
    ['lifecyclestage', 'Lifecycle Stage', 'enumeration', { fieldType: 'radio', opts: LIFECYCLE }],
    ['hs_lead_status', 'Lead Status', 'enumeration', { fieldType: 'radio', opts: LEAD_STATUS }],
    ['date_of_birth', 'Date of birth', 'string'],
    ['createdate', 'Create Date', 'datetime'],
    ['lastmodifieddate', 'Last Modified Date', 'datetime', { readOnlyValue: true }],
    ['hs_object_id', 'Record ID', 'number', { readOnlyValue: true }],
    ['hs_merged_object_ids', 'Merged record IDs', 'string', { readOnlyValue: true }],
  ],
  companies: [
    ['name', 'Company name', 'string'],
    ['domain', 'Company Domain Name', 'string'],
    ['phone', 'Phone Number', 'string', { fieldType: 'phonenumber' }],
    ['website', 'Website URL', 'string'],
    ['address', 'Street Address', 'string'],
    ['city', 'City', 'string'],
    ['state', 'State/Region', 'string'],
    ['zip', 'Postal Code', 'string'],
    ['country', 'Country/Region', 'string'],
    ['industry', 'Industry', 'enumeration', { fieldType: 'select', opts: INDUSTRIES }],
    ['numberofemployees', 'Number of Employees', 'number'],
    ['annualrevenue', 'Annual Revenue', 'number'],
    ['description', 'Description', 'string', { fieldType: 'textarea' }],
    ['lifecyclestage', 'Lifecycle Stage', 'enumeration', { fieldType: 'radio', opts: LIFECYCLE }],
    ['createdate', 'Create Date', 'datetime'],
    ['hs_lastmodifieddate', 'Last Modified Date', 'datetime', { readOnlyValue: true }],
    ['hs_object_id', 'Record ID', 'number', { readOnlyValue: true }],
    ['hs_merged_object_ids', 'Merged record IDs', 'string', { readOnlyValue: true }],
  ],
  deals: [
    ['dealname', 'Deal Name', 'string'],
    ['amount', 'Amount', 'number'],
    ['dealstage', 'Deal Stage', 'enumeration', { fieldType: 'radio', opts: DEAL_STAGES }],
    ['pipeline', 'Pipeline', 'enumeration', { fieldType: 'select', opts: ['default'] }],
    ['closedate', 'Close Date', 'datetime'],
    ['dealtype', 'Deal Type', 'enumeration', { fieldType: 'radio', opts: ['newbusiness', 'existingbusiness'] }],
    ['description', 'Deal Description', 'string', { fieldType: 'textarea' }],
    ['createdate', 'Create Date', 'datetime'],
    ['hs_lastmodifieddate', 'Last Modified Date', 'datetime', { readOnlyValue: true }],
    ['hs_object_id', 'Record ID', 'number', { readOnlyValue: true }],
    ['hs_merged_object_ids', 'Merged record IDs', 'string', { readOnlyValue: true }],
  ],
  custom: [
    ['hs_createdate', 'Object create date/time', 'datetime', { readOnlyValue: true }],
    ['hs_lastmodifieddate', 'Object last modified date/time', 'datetime', { readOnlyValue: true }],
    ['hs_object_id', 'Record ID', 'number', { readOnlyValue: true }],
    ['hs_merged_object_ids', 'Merged record IDs', 'string', { readOnlyValue: true }],
  ],
};

const GROUP: Record<string, string> = { contacts: 'contactinformation', companies: 'companyinformation', deals: 'dealinformation', custom: 'custom_object_information' };

export interface NewPropertyInput {
  name: string;
  label: string;
  type: PropertyType;
  fieldType?: string;
  groupName?: string;
  description?: string;
  options?: PropertyOption[];
  hasUniqueValue?: boolean;
  displayOrder?: number;
  formField?: boolean;
}

/** The properties of one object type, with a stable column number for each stored value. */
export class PropertyRegistry {
  private readonly byName = new Map<string, PropertyDef>();
  private nextColumn = 0;
  readonly defaultGroup: string;

  constructor(kind: 'contacts' | 'companies' | 'deals' | 'custom', now = new Date().toISOString()) {
    this.defaultGroup = GROUP[kind]!;
    let order = 0;
    for (const [name, label, type, extra] of STANDARD[kind]!) {
      const derived = name === 'hs_object_id' || name === 'createdate' || name === 'hs_createdate' || name.endsWith('lastmodifieddate');
      this.byName.set(name, {
        name,
        label,
        type,
        fieldType: extra?.fieldType ?? DEFAULT_FIELD_TYPE[type],
        groupName: this.defaultGroup,
        description: '',
        options: (extra?.opts ?? []).map((v, i) => ({ label: labelOf(v), value: v, displayOrder: i, hidden: false })),
        hasUniqueValue: false,
        hubspotDefined: true,
        readOnlyValue: extra?.readOnlyValue ?? false,
        calculated: false,
        formField: !derived,
        displayOrder: order++,
        createdAt: now,
        updatedAt: now,
        archived: false,
        column: derived ? -1 : this.nextColumn++,
      });
    }
  }

  get(name: string): PropertyDef | undefined {
    return this.byName.get(name);
  }

  list(): PropertyDef[] {
    return [...this.byName.values()];
  }

  get columns(): number {
    return this.nextColumn;
  }

  /** Adds a property; the caller has validated the input. */
  add(input: NewPropertyInput, hubspotDefined = false): PropertyDef {
    const now = new Date().toISOString();
    const def: PropertyDef = {
      name: input.name,
      label: input.label,
      type: input.type,
      fieldType: input.fieldType ?? DEFAULT_FIELD_TYPE[input.type],
      groupName: input.groupName ?? this.defaultGroup,
      description: input.description ?? '',
      options: (input.options ?? []).map((o, i) => ({ label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: o.hidden ?? false })),
      hasUniqueValue: input.hasUniqueValue ?? false,
      hubspotDefined,
      readOnlyValue: false,
      calculated: false,
      formField: input.formField ?? true,
      displayOrder: input.displayOrder ?? this.byName.size,
      createdAt: now,
      updatedAt: now,
      archived: false,
      column: this.nextColumn++,
    };
    this.byName.set(def.name, def);
    return def;
  }

  update(name: string, patch: Partial<NewPropertyInput>): PropertyDef {
    const def = this.byName.get(name)!;
    if (patch.label !== undefined) def.label = patch.label;
    if (patch.description !== undefined) def.description = patch.description;
    if (patch.groupName !== undefined) def.groupName = patch.groupName;
    if (patch.fieldType !== undefined) def.fieldType = patch.fieldType;
    if (patch.options !== undefined) def.options = patch.options.map((o, i) => ({ label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: o.hidden ?? false }));
    if (patch.displayOrder !== undefined) def.displayOrder = patch.displayOrder;
    def.updatedAt = new Date().toISOString();
    return def;
  }
}

function labelOf(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1).toLowerCase().replaceAll('_', ' ');
}

/** The public JSON of a property (the Properties API's `Property` model). */
export function propertyJson(def: PropertyDef): Record<string, unknown> {
  return {
    name: def.name,
    label: def.label,
    type: def.type,
    fieldType: def.fieldType,
    description: def.description,
    groupName: def.groupName,
    options: def.options,
    displayOrder: def.displayOrder,
    calculated: def.calculated,
    externalOptions: false,
    hasUniqueValue: def.hasUniqueValue,
    hidden: false,
    hubspotDefined: def.hubspotDefined,
    modificationMetadata: { archivable: !def.hubspotDefined, readOnlyDefinition: def.hubspotDefined, readOnlyValue: def.readOnlyValue },
    formField: def.formField,
    createdAt: def.createdAt,
    updatedAt: def.updatedAt,
    archived: def.archived,
  };
}

// Deliberately simple, close to what HubSpot accepts: one @, a dot in the domain, no spaces.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export type ValueResult = { ok: true; value: string | undefined } | { ok: false; error: PropertyValueError };

/**
 * Validates one written value and returns what HubSpot would store. `undefined` means "clear".
 * Normalisation (documented in the README part): emails trimmed and lower-cased; numbers
 * trimmed; bools lower-cased; dates stored as YYYY-MM-DD; datetimes as ISO-8601 UTC with ms.
 */
export function validateValue(def: PropertyDef, raw: unknown): ValueResult {
  const fail = (code: string, message: string): ValueResult => ({ ok: false, error: { propertyName: def.name, code, message } });
  if (raw === null || raw === undefined) return { ok: true, value: undefined };
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    return fail('INVALID_PROPERTY_VALUE', `Property "${def.name}" must be a string, number or boolean, got ${Array.isArray(raw) ? 'array' : typeof raw}`);
  }
  const text = String(raw);
  if (text === '') return { ok: true, value: undefined };
  if (text.length > 65536) return fail('INVALID_STRING_LENGTH', `Property "${def.name}" is longer than 65536 characters`);
  switch (def.type) {
    case 'string':
    case 'phone_number': {
      if (def.name === 'email' || def.fieldType === 'email') {
        const email = text.trim().toLowerCase();
        if (!EMAIL.test(email)) return fail('INVALID_EMAIL', `Email address ${text} is invalid`);
        return { ok: true, value: email };
      }
      return { ok: true, value: text };
    }
    case 'number': {
      const t = text.trim();
      if (!NUMBER.test(t) || !Number.isFinite(Number(t))) return fail('INVALID_INTEGER', `${text} was not a valid number.`);
      return { ok: true, value: t };
    }
    case 'bool': {
      const t = text.trim().toLowerCase();
      if (t !== 'true' && t !== 'false') return fail('INVALID_BOOLEAN', `${text} was not a valid boolean (expected true or false).`);
      return { ok: true, value: t };
    }
    case 'date': {
      const ms = parseTimestamp(text);
      if (ms === undefined) return fail('INVALID_DATE', `${text} is not a valid date; use YYYY-MM-DD or epoch milliseconds at midnight UTC.`);
      if (ms % 86_400_000 !== 0) return fail('INVALID_DATE', `${text} is not at midnight UTC; date properties hold whole days.`);
      return { ok: true, value: new Date(ms).toISOString().slice(0, 10) };
    }
    case 'datetime': {
      const ms = parseTimestamp(text);
      if (ms === undefined) return fail('INVALID_DATETIME', `${text} is not a valid datetime; use ISO-8601 or epoch milliseconds.`);
      return { ok: true, value: new Date(ms).toISOString() };
    }
    case 'enumeration': {
      const allowed = def.options.map((o) => o.value);
      const parts = def.fieldType === 'checkbox' ? text.split(';') : [text];
      for (const p of parts) {
        if (!allowed.includes(p)) {
          return fail('INVALID_OPTION', `${p} was not one of the allowed options: [${allowed.join(', ')}]`);
        }
      }
      // Single values share the option's string: a million "customer"s cost one string.
      return { ok: true, value: parts.length === 1 ? def.options.find((o) => o.value === text)!.value : text };
    }
  }
}

/** Epoch ms from "1700000000000", "2024-01-02" or an ISO datetime; undefined when neither. */
export function parseTimestamp(text: string): number | undefined {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (ISO_DATE.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (ISO_DATETIME.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const NAME = /^[a-z][a-z0-9_]*$/;

/** Validates a Properties API create body; returns the problems (empty when fine). */
export function checkNewProperty(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof body.name !== 'string' || !NAME.test(body.name)) problems.push('name must be lower-case letters, digits and underscores, starting with a letter');
  if (typeof body.label !== 'string' || body.label === '') problems.push('label is required');
  if (typeof body.type !== 'string' || !PROPERTY_TYPES.includes(body.type as PropertyType)) problems.push(`type must be one of ${PROPERTY_TYPES.join(', ')}`);
  else if (body.fieldType !== undefined && !FIELD_TYPES[body.type as PropertyType].includes(String(body.fieldType))) {
    problems.push(`fieldType ${String(body.fieldType)} is not valid for type ${body.type}; expected one of ${FIELD_TYPES[body.type as PropertyType].join(', ')}`);
  }
  if (body.type === 'enumeration' && body.fieldType !== 'booleancheckbox') {
    if (!Array.isArray(body.options) || body.options.length === 0) problems.push('enumeration properties need options [{label, value}]');
  }
  if (body.options !== undefined) {
    if (!Array.isArray(body.options)) problems.push('options must be an array');
    else body.options.forEach((o: unknown, i) => {
      const opt = o as Record<string, unknown> | null;
      if (!opt || typeof opt.label !== 'string' || typeof opt.value !== 'string') problems.push(`options[${i}] needs string label and value`);
    });
  }
  if (body.hasUniqueValue !== undefined && typeof body.hasUniqueValue !== 'boolean') problems.push('hasUniqueValue must be a boolean');
  return problems;
}
