/**
 * Values on both sides and the conversions between them.
 *
 * HubSpot sends every property value as a string (or null); target columns have SQL types.
 * Each field converts HubSpot → target (transform, then type conversion) and back (type
 * conversion, then inverse transform). For comparisons and hashing both sides are reduced to a
 * canonical string: emails lower-cased and trimmed, phone numbers to digits, numbers to their
 * shortest form, dates to YYYY-MM-DD, date-times to epoch milliseconds, booleans to true/false,
 * empty to null. Values HubSpot reformats therefore never look like changes (no churn).
 */
import type { PropertyDefinition } from '../hubspot/types.js';
import type { ColumnKind, MatchNormalisation } from '../target/connector.js';
import type { CompiledTransform } from './transform.js';
import { TransformError } from './transform.js';

export type PropertyType = PropertyDefinition['type'];
export type { ColumnKind };
export type Canon = string | null;

/** The HubSpot property type createMissingProperties gives a property for a column kind. */
export function propertyTypeFor(kind: ColumnKind): { type: PropertyType; fieldType: string } {
  switch (kind) {
    case 'integer':
    case 'decimal':
      return { type: 'number', fieldType: 'number' };
    case 'boolean':
      return { type: 'bool', fieldType: 'booleancheckbox' };
    case 'date':
      return { type: 'date', fieldType: 'date' };
    case 'datetime':
      return { type: 'datetime', fieldType: 'date' };
    default:
      return { type: 'string', fieldType: 'text' };
  }
}

/** The column kind createTables gives a column for a HubSpot property type. */
export function columnKindFor(type: PropertyType | undefined): ColumnKind {
  switch (type) {
    case 'number':
      return 'decimal';
    case 'bool':
      return 'boolean';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    default:
      return 'text';
  }
}

export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

/** What a field needs to know to convert and compare values. */
export interface FieldValueSpec {
  property: string;
  column: string;
  propertyType: PropertyType;
  columnKind: ColumnKind;
  transform?: CompiledTransform;
}

const EMAIL_NAME = /e-?mail/i;
const PHONE_NAME = /phone|mobile|fax/i;

/**
 * THE rule for values HubSpot reformats (DESIGN §3), used wherever values are hashed, matched
 * or compared: a phone number (property type phone_number, or a phone/mobile/fax property)
 * compares by its digits; an email (property or column named e-mail) case- and
 * space-insensitively; anything else as it is.
 */
export type ValueNormalisation = 'phone' | 'email' | 'none';

export function normalisationOf(f: Pick<FieldValueSpec, 'property' | 'column' | 'propertyType'>): ValueNormalisation {
  if (f.propertyType === 'phone_number' || PHONE_NAME.test(f.property)) return 'phone';
  if (EMAIL_NAME.test(f.property) || EMAIL_NAME.test(f.column)) return 'email';
  return 'none';
}

/** How a match field's values are compared when linking (the same rule: phone numbers by digits). */
export function matchNormalisationOf(f: Pick<FieldValueSpec, 'property' | 'column' | 'propertyType'>): MatchNormalisation {
  return normalisationOf(f) === 'phone' ? 'digits' : 'lowerTrim';
}

function normalised(f: FieldValueSpec, s: string): Canon {
  switch (normalisationOf(f)) {
    case 'phone':
      return s.replace(/\D+/g, '') || null;
    case 'email':
      return s.trim().toLowerCase() || null;
    default:
      return s;
  }
}

function canonNumber(s: string): string {
  const n = Number(s.trim());
  return Number.isFinite(n) ? String(n) : s.trim();
}

const DAY_MS = 86_400_000;

/** Parse a HubSpot or SQL date-time (epoch ms, ISO 8601, SQL text, Date) to epoch ms. */
export function parseTime(v: unknown): number | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime();
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^-?\d{1,15}$/.test(s)) return Number(s);
  // SQL text "2024-01-02 03:04:05+00" → ISO; a date alone is midnight UTC.
  let iso = s.replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  else if (/[+-]\d{2}$/.test(iso)) iso += ':00';
  else if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += 'Z';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** YYYY-MM-DD of a date value (Date objects from drivers are taken at their UTC date unless local midnight). */
export function toDateString(v: unknown): string | undefined {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return undefined;
    // Drivers build a `date` column either at local midnight or at UTC midnight.
    const local = v.getHours() === 0 && v.getMinutes() === 0 && v.getSeconds() === 0 && v.getMilliseconds() === 0;
    if (local && v.getTimezoneOffset() !== 0) {
      const y = v.getFullYear(), m = v.getMonth() + 1, d = v.getDate();
      return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    }
    return v.toISOString().slice(0, 10);
  }
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())) return v.trim();
  const t = parseTime(v);
  if (t === undefined) return undefined;
  return new Date(Math.floor(t / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (['true', 't', '1', 'yes', 'y', 'on'].includes(s)) return true;
  if (['false', 'f', '0', 'no', 'n', 'off'].includes(s)) return false;
  return undefined;
}

/** Canonical form of a HubSpot value (for comparison and hashing only). */
export function canonHubSpot(f: FieldValueSpec, raw: string | null | undefined): Canon {
  if (raw === null || raw === undefined || raw === '') return null;
  switch (f.propertyType) {
    case 'number':
      return canonNumber(raw);
    case 'date':
      return toDateString(raw) ?? raw;
    case 'datetime': {
      const t = parseTime(raw);
      return t === undefined ? raw : String(t);
    }
    case 'bool': {
      const b = parseBool(raw);
      return b === undefined ? raw : String(b);
    }
    default:
      return normalised(f, raw);
  }
}

/** Canonical form of a target column value (for comparison and hashing only). */
export function canonTarget(f: FieldValueSpec, v: unknown): Canon {
  if (v === null || v === undefined || v === '') return null;
  switch (f.columnKind) {
    case 'integer':
    case 'decimal':
      return canonNumber(String(v));
    case 'boolean': {
      const b = parseBool(v);
      return b === undefined ? String(v) : String(b);
    }
    case 'date':
      return toDateString(v) ?? String(v);
    case 'datetime': {
      const t = parseTime(v);
      return t === undefined ? String(v) : String(t);
    }
    case 'json':
      return typeof v === 'string' ? v : JSON.stringify(v);
    default: {
      return normalised(f, v instanceof Date ? v.toISOString() : String(v));
    }
  }
}

function describe(f: FieldValueSpec): string {
  return `property "${f.property}" → column "${f.column}"`;
}

/** HubSpot value → the bind parameter written to the target column. Throws ConversionError. */
export function hubSpotToTarget(f: FieldValueSpec, raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined || raw === '') return null;
  let v = raw;
  if (f.transform) {
    try {
      v = f.transform.forward(v);
    } catch (err) {
      throw new ConversionError(`${describe(f)}: ${(err as Error).message}`);
    }
  }
  switch (f.columnKind) {
    case 'integer': {
      const n = Number(v.trim());
      if (!Number.isFinite(n) || !Number.isInteger(n)) throw new ConversionError(`${describe(f)}: ${JSON.stringify(v)} is not an integer`);
      return String(n);
    }
    case 'decimal': {
      const n = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(n)) throw new ConversionError(`${describe(f)}: ${JSON.stringify(v)} is not a number`);
      return v.trim();
    }
    case 'boolean': {
      const b = parseBool(v);
      if (b === undefined) throw new ConversionError(`${describe(f)}: ${JSON.stringify(v)} is not a boolean (expected true or false)`);
      return b;
    }
    case 'date': {
      const d = toDateString(v);
      if (!d) throw new ConversionError(`${describe(f)}: ${JSON.stringify(v)} is not a date (expected YYYY-MM-DD or epoch milliseconds)`);
      return d;
    }
    case 'datetime': {
      const t = parseTime(v);
      if (t === undefined) throw new ConversionError(`${describe(f)}: ${JSON.stringify(v)} is not a date-time (expected ISO 8601 or epoch milliseconds)`);
      return new Date(t).toISOString();
    }
    case 'json':
      return JSON.stringify(v);
    default:
      return v;
  }
}

/** Target column value → the HubSpot property string ("" clears a property). Throws ConversionError. */
export function targetToHubSpot(f: FieldValueSpec, v: unknown): string {
  if (v === null || v === undefined || v === '') return '';
  let s: string;
  switch (f.propertyType) {
    case 'number': {
      const n = Number(typeof v === 'string' ? v.trim() : v);
      if (!Number.isFinite(n)) throw new ConversionError(`column "${f.column}" → property "${f.property}": ${JSON.stringify(v)} is not a number`);
      s = typeof v === 'string' ? v.trim() : String(n);
      break;
    }
    case 'bool': {
      const b = parseBool(v);
      if (b === undefined) throw new ConversionError(`column "${f.column}" → property "${f.property}": ${JSON.stringify(v)} is not a boolean`);
      s = String(b);
      break;
    }
    case 'date': {
      const d = toDateString(v);
      if (!d) throw new ConversionError(`column "${f.column}" → property "${f.property}": ${JSON.stringify(v)} is not a date`);
      s = d;
      break;
    }
    case 'datetime': {
      const t = parseTime(v);
      if (t === undefined) throw new ConversionError(`column "${f.column}" → property "${f.property}": ${JSON.stringify(v)} is not a date-time`);
      s = new Date(t).toISOString();
      break;
    }
    default:
      s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return f.transform ? f.transform.inverse(s) : s;
}

/** True when the error came from a value conversion or transform (a `Mapping` error). */
export function isConversionError(err: unknown): boolean {
  return err instanceof ConversionError || err instanceof TransformError;
}
