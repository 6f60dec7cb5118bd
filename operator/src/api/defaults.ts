/**
 * Schema defaulting as kube-apiserver does it for CRDs: a missing (or null, non-nullable)
 * property with a `default` gets a copy of it, and defaulting continues inside the value, so
 * `create: {}` becomes `{inHubSpot: true, inTarget: true}`. Also inside list items and map
 * values. The input is never mutated.
 */
import { parseDuration } from './duration.js';
import { isPlainObject, schemaFor } from './schemas.js';
import type { OpenAPISchema } from './schema-types.js';
import type { FieldMappingSpec, HubSpotIntegrationSpec, ResourceKind, SyncFilterSpec } from './types.js';

/** A deep copy of `value` with the defaults of `schema` applied. */
export function applyDefaults<T>(schema: OpenAPISchema, value: T): T {
  if (Array.isArray(value)) {
    return value.map((item) => (schema.items ? applyDefaults(schema.items, item) : structuredClone(item))) as T;
  }
  if (!isPlainObject(value)) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    out[key] = sub ? applyDefaults(sub, child) : structuredClone(child);
  }
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const missing = out[key] === undefined || (out[key] === null && !sub.nullable);
    if (missing && sub.default !== undefined) out[key] = applyDefaults(sub, structuredClone(sub.default));
  }
  return out as T;
}

/** A copy of a whole resource (apiVersion, kind, metadata, spec, status) with defaults applied. */
export function withDefaults<T>(kind: ResourceKind, obj: T): T {
  return applyDefaults(schemaFor(kind), obj);
}

type SpecOf<K extends ResourceKind> = K extends 'HubSpotIntegration'
  ? HubSpotIntegrationSpec
  : K extends 'FieldMapping'
    ? FieldMappingSpec
    : SyncFilterSpec;

/** A copy of a spec with defaults applied (e.g. for the sync engine's ResolvedIntegration). */
export function specWithDefaults<K extends ResourceKind>(kind: K, spec: SpecOf<K>): SpecOf<K> {
  const specSchema = schemaFor(kind).properties?.spec;
  if (!specSchema) throw new Error(`${kind} schema has no spec`);
  return applyDefaults(specSchema, spec);
}

/** The schedule of an integration in milliseconds, from its spec with the CRD's defaults. */
export interface Schedule {
  intervalMs: number;
  fullResyncIntervalMs: number;
}

/**
 * Parses spec.schedule after applying the CRD's defaults (interval 5m, fullResyncInterval 24h
 * live in crds/ only). Throws an Error naming the field when a value is not a duration.
 */
export function scheduleOf(spec: HubSpotIntegrationSpec): Schedule {
  const schedule = specWithDefaults('HubSpotIntegration', spec).schedule ?? {};
  const parse = (field: 'interval' | 'fullResyncInterval') => {
    const value = schedule[field];
    if (value === undefined) throw new Error(`spec.schedule.${field}: missing and the schema has no default`);
    try {
      return parseDuration(value);
    } catch (err) {
      throw new Error(`spec.schedule.${field}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return { intervalMs: parse('interval'), fullResyncIntervalMs: parse('fullResyncInterval') };
}
