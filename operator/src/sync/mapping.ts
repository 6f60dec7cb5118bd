/**
 * Resolve one synced object type into a plan: which fields map where, in which direction, with
 * which mode, conflict rule and transform — from its FieldMapping, or the default mappings of
 * DESIGN §2.2 — checked against the real HubSpot properties and target columns. Pure: the
 * engine passes in what it read from both sides.
 */
import { createHash } from 'node:crypto';
import type { FieldMappingSpec, FieldSpec, SyncFilterSpec, SyncedObjectSpec } from '../api/types.js';
import { DEFAULT_CONFLICT_RESOLUTION, DEFAULT_DIRECTION, DEFAULT_FIELD_MODE, LIST_OPERATORS, VALUELESS_OPERATORS } from '../api/constants.js';
import { objectTypeDescriptor } from '../api/object-types.js';
import type { PropertyDefinition } from '../hubspot/types.js';
import { isValidIdentifier, type ColumnInfo, type ColumnKind, type MatchNormalisation, type TableRef } from '../target/connector.js';
import type { FieldPlan } from './conflict.js';
import { compileFilters, type CompiledFilter } from './filter.js';
import { compileTransform, transformIssues } from './transform.js';
import type { SpecIssue } from './types.js';
import { matchNormalisationOf, type PropertyType } from './values.js';

export type { ColumnInfo };

export type Direction = 'HubSpotToTarget' | 'TargetToHubSpot' | 'TwoWay';

export interface ObjectPlan {
  /** Index in spec.objects (for messages). */
  index: number;
  type: string;
  schema: string;
  table: string;
  primaryKey: string;
  direction: Direction;
  toTarget: boolean;
  toHubSpot: boolean;
  /** The match field, and how its values compare (the value-normalisation rule of ./values.ts). */
  match?: { property: string; column: string; how: MatchNormalisation };
  conflict: 'HubSpotWins' | 'TargetWins' | 'NewestWins';
  createInHubSpot: boolean;
  createInTarget: boolean;
  deleteFromHubSpot: 'Ignore' | 'Propagate';
  /** deletes.privacyFromHubSpot: a GDPR deletion in HubSpot deletes the row (Propagate, the default) or tombstones it. */
  privacyFromHubSpot: 'Ignore' | 'Propagate';
  deleteFromTarget: 'Ignore' | 'Propagate';
  fields: FieldPlan[];
  filters: CompiledFilter[];
  lastModifiedProperty: string;
  /** Properties read from HubSpot: mapped, filtered on, and the last-modified property. */
  properties: string[];
  /** Fields whose property or column does not exist yet and will be created. */
  missingProperties: FieldPlan[];
  missingColumns: FieldPlan[];
  tableMissing: boolean;
  pkKind: ColumnKind;
  pkHasDefault: boolean;
  /** Changes when the fields or filters change: a new fingerprint backfills (re-reads) the object. */
  fingerprint: string;
  propertyTypes: Map<string, PropertyType>;
}

export interface PlanInput {
  index: number;
  object: SyncedObjectSpec;
  schema: string;
  createTables: boolean;
  fieldMapping?: { name: string; spec: FieldMappingSpec };
  filters: { name: string; spec: SyncFilterSpec }[];
  properties: Map<string, PropertyDefinition>;
  /** Columns of the table, or undefined when the table does not exist. */
  columns: Map<string, ColumnInfo> | undefined;
  /** The table's primary key columns (when known): a table without one cannot be synced. */
  tablePrimaryKey?: string[];
  /** Spec paths of the target settings (default: spec.target.postgres.*). */
  targetFields?: { schema: string; createTables: string };
}

/**
 * FieldMappings and SyncFilters against the integration's object types: each names a synced
 * type, and at most one FieldMapping maps a type. Returns the FieldMapping of each type.
 */
export function checkReferences(cfg: {
  name: string;
  spec: { objects: { type: string }[] };
  fieldMappings: { name: string; spec: FieldMappingSpec }[];
  filters: { name: string; spec: SyncFilterSpec }[];
}): { fieldMappingOf(type: string): { name: string; spec: FieldMappingSpec } | undefined; issues: SpecIssue[] } {
  const issues: SpecIssue[] = [];
  const types = new Set(cfg.spec.objects.map((o) => o.type));
  const byType = new Map<string, { name: string; spec: FieldMappingSpec }>();
  for (const fm of cfg.fieldMappings) {
    const type = fm.spec.objectType;
    if (!types.has(type)) {
      issues.push({ kind: 'FieldMapping', name: fm.name, field: 'spec.objectType', message: `object type "${type}" is not synced by HubSpotIntegration ${cfg.name} (spec.objects)` });
    } else if (byType.has(type)) {
      issues.push({ kind: 'FieldMapping', name: fm.name, field: 'spec.objectType', message: `FieldMapping ${byType.get(type)!.name} already maps ${type}; at most one FieldMapping per object type` });
    } else byType.set(type, fm);
  }
  for (const f of cfg.filters) {
    if (!types.has(f.spec.objectType)) issues.push({ kind: 'SyncFilter', name: f.name, field: 'spec.objectType', message: `object type "${f.spec.objectType}" is not synced by HubSpotIntegration ${cfg.name}` });
  }
  return { fieldMappingOf: (type) => byType.get(type), issues };
}

/** The plan's table as the connector addresses it (keyDataType: the key column's type, when known). */
export function tableRef(plan: ObjectPlan, keyDataType?: string): TableRef {
  return { schema: plan.schema, table: plan.table, primaryKey: plan.primaryKey, keyDataType };
}

export function allows(objectDir: Direction, fieldDir: Direction): boolean {
  return objectDir === 'TwoWay' || objectDir === fieldDir;
}

/** Fields and filters: a change of either re-reads the object (new fields backfill, newly included records arrive). */
function fingerprintOf(fields: FieldPlan[], filters: CompiledFilter[]): string {
  const h = createHash('sha1');
  for (const f of fields) {
    h.update(JSON.stringify([f.property, f.column, f.toTarget, f.toHubSpot, f.mode, f.order ?? null, f.transform?.name ?? null]));
  }
  for (const f of filters) h.update(JSON.stringify([f.action, f.appliesTo, f.rules]));
  return h.digest('base64url');
}

function matchHow(fields: FieldPlan[], match: { property: string; column: string }): MatchNormalisation {
  const f = fields.find((x) => x.isMatch);
  return matchNormalisationOf(f ?? { ...match, propertyType: 'string' });
}

/** Build the plan and collect every problem found; the plan is only usable when issues is empty. */
export function buildObjectPlan(input: PlanInput): { plan: ObjectPlan; issues: SpecIssue[] } {
  const { object: o, index } = input;
  const issues: SpecIssue[] = [];
  const integrationIssue = (field: string, message: string) => issues.push({ kind: 'HubSpotIntegration', name: '', field, message });
  const fmName = input.fieldMapping?.name ?? '';
  const fmIssue = (field: string, message: string) => issues.push({ kind: 'FieldMapping', name: fmName, field, message });

  const tf = input.targetFields ?? { schema: 'spec.target.postgres.schema', createTables: 'spec.target.postgres.createTables' };
  const direction: Direction = o.direction ?? DEFAULT_DIRECTION;
  const primaryKey = o.primaryKey ?? 'id';
  for (const [field, value] of [
    [`spec.objects[${index}].table`, o.table],
    [`spec.objects[${index}].primaryKey`, primaryKey],
    [tf.schema, input.schema],
  ] as const) {
    if (!isValidIdentifier(value)) integrationIssue(field, `${JSON.stringify(value)} is not a valid SQL identifier (lower-case letters, digits, _; at most 63)`);
  }
  if (o.match && !isValidIdentifier(o.match.column)) {
    integrationIssue(`spec.objects[${index}].match.column`, `${JSON.stringify(o.match.column)} is not a valid SQL identifier`);
  }

  const columns = input.columns;
  const tableMissing = columns === undefined;
  if (tableMissing && !input.createTables) {
    integrationIssue(`spec.objects[${index}].table`, `table "${input.schema}.${o.table}" does not exist (set ${tf.createTables} to create it)`);
  }
  if (columns && input.tablePrimaryKey && input.tablePrimaryKey.length === 0) {
    integrationIssue(
      `spec.objects[${index}].table`,
      `table "${input.schema}.${o.table}" has no primary key; add a primary key on its key column "${primaryKey}" (spec.objects[${index}].primaryKey): the operator identifies and captures rows by it`,
    );
  }
  const pkInfo = columns?.get(primaryKey);
  if (columns && !pkInfo) integrationIssue(`spec.objects[${index}].primaryKey`, `column "${primaryKey}" does not exist in table "${input.schema}.${o.table}"`);

  // The field specs: the FieldMapping's, or the defaults that exist on both sides.
  let specs: { spec: FieldSpec; path: string | undefined }[];
  if (input.fieldMapping) {
    specs = input.fieldMapping.spec.fields.map((spec, i) => ({ spec, path: `spec.fields[${i}]` }));
  } else {
    const defaults = objectTypeDescriptor(o.type).defaultMappedProperties;
    specs = defaults
      .filter((p) => input.properties.has(p) && (tableMissing ? input.createTables : columns!.has(p)))
      .map((p) => ({ spec: { property: p, column: p }, path: undefined }));
  }
  if (o.match && !specs.some((s) => s.spec.property === o.match!.property && s.spec.column === o.match!.column)) {
    specs.push({ spec: { property: o.match.property, column: o.match.column }, path: undefined });
  }

  const createProps = input.fieldMapping?.spec.createMissingProperties ?? false;
  const fields: FieldPlan[] = [];
  const missingProperties: FieldPlan[] = [];
  const missingColumns: FieldPlan[] = [];
  const seenProps = new Map<string, string>();
  const seenCols = new Map<string, string>();
  for (const { spec, path } of specs) {
    const where = path ?? `spec.objects[${index}].match`;
    const report = path ? fmIssue : integrationIssue;
    const fdir: Direction = spec.direction ?? direction;
    if (!allows(direction, fdir)) report(`${where}.direction`, `direction ${fdir} is wider than the object's direction ${direction}`);
    if (!isValidIdentifier(spec.column)) {
      report(`${where}.column`, `${JSON.stringify(spec.column)} is not a valid SQL identifier (lower-case letters, digits, _; at most 63)`);
      continue;
    }
    const prevP = seenProps.get(spec.property);
    if (prevP !== undefined) report(`${where}.property`, `property "${spec.property}" is mapped twice (also at ${prevP})`);
    const prevC = seenCols.get(spec.column);
    if (prevC !== undefined) report(`${where}.column`, `column "${spec.column}" is mapped twice (also at ${prevC})`);
    seenProps.set(spec.property, where);
    seenCols.set(spec.column, where);
    const mode = spec.mode ?? DEFAULT_FIELD_MODE;
    if (mode === 'ForwardOnly' && !(spec.order && spec.order.length > 0)) report(`${where}.order`, 'mode ForwardOnly needs a non-empty order');
    const tIssues = transformIssues(spec.transform);
    for (const m of tIssues) report(`${where}.transform`, m);
    const prop = input.properties.get(spec.property);
    const col = columns?.get(spec.column);
    const field: FieldPlan = {
      property: spec.property,
      column: spec.column,
      propertyType: prop?.type ?? 'string',
      columnKind: col?.kind ?? 'text',
      transform: tIssues.length ? undefined : compileTransform(spec.transform),
      toTarget: fdir !== 'TargetToHubSpot',
      toHubSpot: fdir !== 'HubSpotToTarget',
      mode,
      order: spec.order,
      conflict: spec.conflictResolution ?? o.conflictResolution ?? DEFAULT_CONFLICT_RESOLUTION,
      required: spec.required ?? false,
      isMatch: !!o.match && o.match.property === spec.property,
    };
    if (!prop) {
      if (createProps) missingProperties.push(field);
      else report(`${where}.property`, `HubSpot ${o.type} have no property "${spec.property}" (set createMissingProperties to create it)`);
    } else if (field.toTarget === false && prop.modificationMetadata?.readOnlyValue) {
      report(`${where}.property`, `property "${spec.property}" is read-only in HubSpot; it cannot be written (use direction HubSpotToTarget)`);
    }
    if (columns && !col) {
      if (input.createTables) missingColumns.push(field);
      else report(`${where}.column`, `table "${input.schema}.${o.table}" has no column "${spec.column}" (set ${tf.createTables} to create it)`);
    }
    fields.push(field);
  }
  if (tableMissing && input.createTables) missingColumns.push(...fields);
  // A read-only HubSpot property can still be mapped one-way into the target.
  for (const f of fields) {
    const p = input.properties.get(f.property);
    if (p?.modificationMetadata?.readOnlyValue && f.toHubSpot) f.toHubSpot = false;
  }

  const propertyTypes = new Map<string, PropertyType>();
  for (const [name, p] of input.properties) propertyTypes.set(name, p.type);
  for (const f of missingProperties) propertyTypes.set(f.property, f.propertyType);

  const mapped = new Set(fields.map((f) => f.property));
  input.filters.forEach((flt) => {
    (flt.spec.rules ?? []).forEach((r, j) => {
      if (!mapped.has(r.property)) {
        issues.push({
          kind: 'SyncFilter',
          name: flt.name,
          field: `spec.rules[${j}].property`,
          message: `property "${r.property}" is not mapped for ${o.type}; filters may only name mapped properties`,
        });
      }
      const needsList = LIST_OPERATORS.includes(r.operator);
      const needsNone = VALUELESS_OPERATORS.includes(r.operator);
      if (needsList && !(r.values && r.values.length)) issues.push({ kind: 'SyncFilter', name: flt.name, field: `spec.rules[${j}].values`, message: `operator ${r.operator} needs a non-empty values list` });
      if (!needsList && !needsNone && (r.value === undefined || r.value === null)) issues.push({ kind: 'SyncFilter', name: flt.name, field: `spec.rules[${j}].value`, message: `operator ${r.operator} needs a value` });
    });
  });

  const lastMod = objectTypeDescriptor(o.type).lastModifiedProperty;
  const properties = [...new Set([...fields.map((f) => f.property), lastMod])];

  const plan: ObjectPlan = {
    index,
    type: o.type,
    schema: input.schema,
    table: o.table,
    primaryKey,
    direction,
    toTarget: direction !== 'TargetToHubSpot',
    toHubSpot: direction !== 'HubSpotToTarget',
    match: o.match ? { property: o.match.property, column: o.match.column, how: matchHow(fields, o.match) } : undefined,
    conflict: o.conflictResolution ?? DEFAULT_CONFLICT_RESOLUTION,
    createInHubSpot: o.create?.inHubSpot ?? true,
    createInTarget: o.create?.inTarget ?? true,
    deleteFromHubSpot: o.deletes?.fromHubSpot ?? 'Ignore',
    privacyFromHubSpot: o.deletes?.privacyFromHubSpot ?? 'Propagate',
    deleteFromTarget: o.deletes?.fromTarget ?? 'Ignore',
    fields,
    filters: compileFilters(input.filters),
    lastModifiedProperty: lastMod,
    properties,
    missingProperties,
    missingColumns,
    tableMissing,
    pkKind: pkInfo?.kind ?? 'integer',
    pkHasDefault: tableMissing ? true : (pkInfo?.hasDefault ?? false),
    fingerprint: fingerprintOf(fields, compileFilters(input.filters)),
    propertyTypes,
  };
  return { plan, issues };
}
