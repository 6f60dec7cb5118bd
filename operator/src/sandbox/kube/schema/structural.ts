/**
 * Structural-schema semantics of CustomResourceDefinitions, as kube-apiserver applies them on
 * every write: prune unknown fields (unless `x-kubernetes-preserve-unknown-fields`), drop nulls
 * of non-nullable fields, apply defaults, then validate types, enums, required fields, bounds,
 * patterns, formats and list-map / set uniqueness, producing kube-style field errors.
 */
import { fieldErrors, type FieldError } from '../errors.js';
import type { Schema } from '../types.js';

type J = unknown;
const isObject = (v: J): v is Record<string, J> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The ObjectMeta fields kube-apiserver keeps; anything else under metadata is pruned. */
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

export const childPath = (path: string, key: string): string => (path ? `${path}.${key}` : key);
export const indexPath = (path: string, i: number): string => `${path}[${i}]`;
export const keyPath = (path: string, key: string): string => `${path}[${key}]`;

// --- pruning --------------------------------------------------------------------------------

/** Removes unknown fields in place; returns the paths it removed (for fieldValidation=Strict/Warn). */
export function prune(obj: Record<string, J>, schema: Schema): string[] {
  const removed: string[] = [];
  pruneObject(obj, schema, '', removed, true);
  return removed;
}

function pruneMetadata(meta: J, path: string, removed: string[]): void {
  if (!isObject(meta)) return;
  for (const k of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(k)) {
      delete meta[k];
      removed.push(childPath(path, k));
    }
  }
}

function pruneObject(obj: Record<string, J>, schema: Schema, path: string, removed: string[], isResourceRoot: boolean): void {
  const props = schema.properties ?? {};
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const additional = isObject(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (isResourceRoot && (key === 'apiVersion' || key === 'kind')) continue;
    if (isResourceRoot && key === 'metadata') {
      if (!props.metadata) {
        pruneMetadata(value, childPath(path, key), removed);
        continue;
      }
    }
    const propSchema = props[key] ?? additional;
    if (!propSchema) {
      if (!preserve && schema.additionalProperties !== true) {
        delete obj[key];
        removed.push(childPath(path, key));
      }
      continue;
    }
    if (value === null) {
      // Nulls of non-nullable fields are dropped before defaulting, like kube-apiserver does.
      if (!propSchema.nullable) delete obj[key];
      continue;
    }
    pruneValue(value, propSchema, props[key] ? childPath(path, key) : keyPath(path, key), removed);
  }
}

function pruneValue(value: J, schema: Schema, path: string, removed: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => v !== null && pruneValue(v, schema.items as Schema, indexPath(path, i), removed));
  } else if (isObject(value)) {
    const embedded = schema['x-kubernetes-embedded-resource'] === true;
    if (schema.properties || isObject(schema.additionalProperties) || !schema['x-kubernetes-preserve-unknown-fields'] || embedded) {
      if (schema.type === 'object' || schema.properties || embedded || isObject(schema.additionalProperties)) {
        pruneObject(value, schema, path, removed, embedded);
      }
    }
  }
}

// --- defaulting -----------------------------------------------------------------------------

export function applyDefaults(value: J, schema: Schema): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const v of value) applyDefaults(v, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && prop.default !== undefined) value[key] = structuredClone(prop.default);
    if (value[key] !== undefined && value[key] !== null) applyDefaults(value[key], prop);
  }
  if (isObject(schema.additionalProperties)) {
    const add = schema.additionalProperties as Schema;
    for (const [key, v] of Object.entries(value)) if (!(schema.properties && key in schema.properties)) applyDefaults(v, add);
  }
}

// --- validation -----------------------------------------------------------------------------

function jsonType(v: J): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(type: string, v: J): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

const regexCache = new Map<string, RegExp | null>();

/** Go RE2 patterns are mostly JS-compatible; a leading `(?i)` becomes the `i` flag. */
function compilePattern(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re !== undefined) return re;
  try {
    const ci = pattern.startsWith('(?i)');
    re = new RegExp(ci ? pattern.slice(4) : pattern, ci ? 'u' + 'i' : 'u');
  } catch {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
  }
  regexCache.set(pattern, re);
  return re;
}

const FORMATS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
  datetime: (s) => FORMATS['date-time'](s),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
  email: (s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
  uri: (s) => {
    try {
      return Boolean(new URL(s).protocol);
    } catch {
      return false;
    }
  },
  hostname: (s) => s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(s),
  ipv4: (s) => /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(s),
  ipv6: (s) => /^[0-9a-f:]+$/i.test(s) && s.includes(':'),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  byte: (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0,
  duration: (s) => /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s) || s === '0',
};

function sameValue(a: J, b: J): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function validate(value: J, schema: Schema, path: string, errors: FieldError[]): void {
  if (value === null || value === undefined) {
    if (value === null && !schema.nullable && schema.type) {
      errors.push(fieldErrors.typeInvalid(path, 'null', `${path} in body must be of type ${schema.type}: "null"`));
    }
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      errors.push(fieldErrors.typeInvalid(path, jsonType(value), `${path} in body must be of type integer or string: "${jsonType(value)}"`));
      return;
    }
  } else if (schema.type && !typeMatches(schema.type, value)) {
    errors.push(fieldErrors.typeInvalid(path, jsonType(value), `${path} in body must be of type ${schema.type}: "${jsonType(value)}"`));
    return;
  }
  if (schema.enum && !schema.enum.some((e) => sameValue(e, value))) {
    errors.push(fieldErrors.notSupported(path, value, schema.enum));
  }
  if (typeof value === 'string') validateString(value, schema, path, errors);
  else if (typeof value === 'number') validateNumber(value, schema, path, errors);
  else if (Array.isArray(value)) validateArray(value, schema, path, errors);
  else if (isObject(value)) validateObject(value, schema, path, errors);
  validateCombinators(value, schema, path, errors);
}

function validateString(value: string, schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) errors.push(fieldErrors.tooLong(path, schema.maxLength));
  if (schema.minLength !== undefined && [...value].length < schema.minLength) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body should be at least ${schema.minLength} chars long`));
  }
  if (schema.pattern) {
    const re = compilePattern(schema.pattern);
    if (re && !re.test(value)) errors.push(fieldErrors.invalid(path, value, `${path} in body should match '${schema.pattern}'`));
  }
  if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](value)) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body must be of type ${schema.format}: ${JSON.stringify(value)}`));
  }
}

function validateNumber(value: number, schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
      const rel = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
      errors.push(fieldErrors.invalid(path, value, `${path} in body should be ${rel} ${schema.maximum}`));
    }
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
      const rel = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      errors.push(fieldErrors.invalid(path, value, `${path} in body should be ${rel} ${schema.minimum}`));
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0 && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body should be a multiple of ${schema.multipleOf}`));
  }
  if (schema.format === 'int32' && (value > 2147483647 || value < -2147483648)) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body must be of type int32: "${value}"`));
  }
}

function validateArray(value: J[], schema: Schema, path: string, errors: FieldError[]): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(fieldErrors.tooMany(path, value.length, schema.maxItems));
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push(fieldErrors.invalid(path, value.length, `${path} in body should have at least ${schema.minItems} items`));
  }
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'map' && schema['x-kubernetes-list-map-keys']) {
    const keys = schema['x-kubernetes-list-map-keys'];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      if (!isObject(item)) return;
      const keyValue: Record<string, J> = {};
      for (const k of keys) {
        const itemKeySchema = schema.items?.properties?.[k];
        keyValue[k] = item[k] !== undefined ? item[k] : itemKeySchema?.default;
      }
      const sig = JSON.stringify(keyValue);
      if (seen.has(sig)) errors.push(fieldErrors.duplicate(indexPath(path, i), keyValue));
      seen.add(sig);
    });
  } else if (listType === 'set' || schema.uniqueItems) {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const sig = JSON.stringify(item);
      if (seen.has(sig)) errors.push(fieldErrors.duplicate(indexPath(path, i), item));
      seen.add(sig);
    });
  }
  if (schema.items) value.forEach((item, i) => validate(item, schema.items as Schema, indexPath(path, i), errors));
}

function validateObject(value: Record<string, J>, schema: Schema, path: string, errors: FieldError[]): void {
  for (const req of schema.required ?? []) {
    if (value[req] === undefined) errors.push(fieldErrors.required(childPath(path, req)));
  }
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) errors.push(fieldErrors.tooMany(path, count, schema.maxProperties));
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    errors.push(fieldErrors.invalid(path, count, `${path} in body should have at least ${schema.minProperties} properties`));
  }
  const props = schema.properties ?? {};
  const additional = isObject(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined;
  for (const [key, v] of Object.entries(value)) {
    if (props[key]) validate(v, props[key], childPath(path, key), errors);
    else if (additional) validate(v, additional, keyPath(path, key), errors);
  }
}

function validateCombinators(value: J, schema: Schema, path: string, errors: FieldError[]): void {
  const passes = (s: Schema): boolean => {
    const errs: FieldError[] = [];
    validate(value, s, path, errs);
    return errs.length === 0;
  };
  if (schema.allOf) for (const s of schema.allOf) validate(value, s, path, errors);
  if (schema.anyOf && !schema.anyOf.some(passes)) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body must match at least one schema in anyOf`));
  }
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body must match exactly one schema in oneOf`));
  }
  if (schema.not && passes(schema.not)) {
    errors.push(fieldErrors.invalid(path, value, `${path} in body should not match the schema in "not"`));
  }
}
