/**
 * Access to the generated openAPIV3Schema constants by kind, and a walker shared by the
 * defaulting, list-key and CEL checks (all follow the same structural-schema rules).
 */
import { schemasByKind } from './generated/schemas.js';
import type { OpenAPISchema } from './schema-types.js';
import type { ResourceKind } from './types.js';

export function schemaFor(kind: ResourceKind): OpenAPISchema {
  const schema = schemasByKind[kind];
  if (!schema) throw new Error(`unknown kind ${String(kind)}; expected one of ${Object.keys(schemasByKind).join(', ')}`);
  return schema;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field path in the form users read in kubectl output: spec.objects[0].match.column. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const safe = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key);
  if (!safe) return `${parent}[${JSON.stringify(key)}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * Calls `visit` for every value in `value` that has a schema, depth first, parents before
 * children. Values without a schema (unknown fields) are not visited.
 */
export function walkSchema(
  schema: OpenAPISchema,
  value: unknown,
  path: string,
  visit: (schema: OpenAPISchema, value: unknown, path: string) => void,
): void {
  visit(schema, value, path);
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => walkSchema(schema.items!, item, childPath(path, i), visit));
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const sub = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (sub) walkSchema(sub, child, childPath(path, key), visit);
    }
  }
}
