/**
 * Runtime validation of the three kinds against the CRD schemas (the generated constants, so
 * the same source as admission): ajv for the OpenAPI schema, plus the two things ajv does not
 * know: list keys (`x-kubernetes-list-type: map|set`) and the CEL rules. Defaults are applied
 * first, as the apiserver does. Errors name the field the way kubectl does
 * (`spec.objects[0].direction`) and say what is expected.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { checkRules } from './cel.js';
import { applyDefaults } from './defaults.js';
import { childPath, isPlainObject, schemaFor, walkSchema } from './schemas.js';
import type { OpenAPISchema } from './schema-types.js';
import type { FieldMapping, HubSpotIntegration, ResourceKind, SyncFilter } from './types.js';

export interface ValidationIssue {
  /** Field path, e.g. spec.objects[0].direction ('' for the object itself). */
  path: string;
  /** What is wrong and what is expected, e.g. "must be one of HubSpotToTarget, TargetToHubSpot, TwoWay". */
  message: string;
  /** The offending value, when there is one (never a Secret's content: resources only reference Secrets). */
  value?: unknown;
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationIssue[];
}

/** Readable meanings of the patterns used in crds/ (a test checks every pattern has one). */
export const PATTERN_MESSAGES: Record<string, string> = {
  '^([0-9]+(ms|s|m|h))+$': 'must be a duration such as 30s, 5m, 24h or 1h30m',
  '^([0-9]+(ms|s|m|h|d))+$': 'must be a duration such as 30d, 7d, 12h or 1d12h',
  '^[a-z_][a-z0-9_]{0,62}$':
    'must be a PostgreSQL identifier: lower-case letters, digits and _, not starting with a digit, at most 63 characters',
  '^(contacts|companies|deals|p_[a-z][a-z0-9_]*|2-[0-9]+)$':
    'must be contacts, companies, deals, or a custom object as p_name or 2-123',
  '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$':
    'must be a Kubernetes object name: lower-case letters, digits, - and ., starting and ending with a letter or digit',
  '^[-._a-zA-Z0-9]+$': 'must be a Secret key: letters, digits, -, _ and .',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must be a HubSpot property name: letters, digits and _, not starting with a digit',
  '^https?://[^\\s]+$': 'must be an http:// or https:// URL',
  '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$': 'must be a CamelCase reason such as InvalidSpec',
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$':
    'must be a condition type such as Ready',
};

const KUBERNETES_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
];

/**
 * The schema as ajv should see it: objects with declared properties reject unknown fields
 * (the apiserver would prune them silently, which hides typos; kubectl's strict field
 * validation reports them too), and `metadata` is left to the apiserver.
 */
function strictCopy(schema: OpenAPISchema, isRoot = true): OpenAPISchema {
  const out: OpenAPISchema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, isRoot && k === 'metadata' ? v : strictCopy(v, false)]),
    );
    // The CRDs leave metadata out of their schema (the apiserver validates ObjectMeta itself).
    if (isRoot) out.properties.metadata ??= { type: 'object' };
    if (schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
      out.additionalProperties = false;
    }
  }
  if (schema.items) out.items = strictCopy(schema.items, false);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = strictCopy(schema.additionalProperties, false);
  return out;
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false });
  ajv.addVocabulary(KUBERNETES_KEYWORDS);
  addFormats(ajv);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
  return ajv;
}

const ajv = createAjv();
const validators = new Map<ResourceKind, ValidateFunction>();

function validatorFor(kind: ResourceKind): ValidateFunction {
  let fn = validators.get(kind);
  if (!fn) {
    fn = ajv.compile(strictCopy(schemaFor(kind)));
    validators.set(kind, fn);
  }
  return fn;
}

/** "/spec/objects/0/direction" -> "spec.objects[0].direction" */
function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((path, part) => childPath(path, /^[0-9]+$/.test(part) ? Number(part) : part), '');
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'a list',
};

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return TYPE_NAMES[typeof value] ?? typeof value;
}

function knownFields(schema: unknown): string {
  const props = isPlainObject(schema) && isPlainObject(schema.properties) ? Object.keys(schema.properties) : [];
  return props.length ? ` (known fields: ${props.join(', ')})` : '';
}

function issueFromAjv(error: ErrorObject): ValidationIssue {
  const path = pointerToPath(error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: childPath(path, String(p.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { path: childPath(path, String(p.additionalProperty)), message: `unknown field${knownFields(error.parentSchema)}` };
    case 'enum':
      return { path, message: `must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`, value: error.data };
    case 'type':
      return { path, message: `must be ${TYPE_NAMES[String(p.type)] ?? String(p.type)}, not ${describeType(error.data)}`, value: error.data };
    case 'pattern':
      return { path, message: PATTERN_MESSAGES[String(p.pattern)] ?? `must match ${String(p.pattern)}`, value: error.data };
    case 'format':
      return {
        path,
        message: p.format === 'date-time' ? 'must be an RFC 3339 time such as 2026-11-23T10:00:00Z' : `must be a valid ${String(p.format)}`,
        value: error.data,
      };
    case 'minimum':
      return { path, message: `must be at least ${String(p.limit)}`, value: error.data };
    case 'maximum':
      return { path, message: `must be at most ${String(p.limit)}`, value: error.data };
    case 'minLength':
      return { path, message: p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`, value: error.data };
    case 'maxLength':
      return { path, message: `must be at most ${String(p.limit)} characters long` };
    case 'minItems':
      return { path, message: `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path, message: `must have at most ${String(p.limit)} items` };
    case 'minProperties':
      return { path, message: `must have at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}` };
    case 'maxProperties':
      return { path, message: `must have at most ${String(p.limit)} entries` };
    default:
      return { path, message: error.message ?? `failed ${error.keyword}`, value: error.data };
  }
}

/** Duplicate keys in `x-kubernetes-list-type: map` lists and duplicate values in `set` lists. */
function checkListKeys(schema: OpenAPISchema, value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  walkSchema(schema, value, '', (node, list, path) => {
    if (!Array.isArray(list)) return;
    const listType = node['x-kubernetes-list-type'];
    if (listType !== 'map' && listType !== 'set') return;
    const keys = node['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    list.forEach((item, i) => {
      // An item without its key is already reported as missing a required field.
      if (listType === 'map' && (!isPlainObject(item) || keys.some((k) => item[k] === undefined))) return;
      const key =
        listType === 'map' && isPlainObject(item) ? JSON.stringify(keys.map((k) => item[k])) : JSON.stringify(item);
      if (seen.has(key)) {
        const what =
          listType === 'map' && isPlainObject(item) ? keys.map((k) => `${k} ${JSON.stringify(item[k])}`).join(', ') : JSON.stringify(item);
        issues.push({ path: childPath(path, i), message: `duplicate entry: ${what} appears more than once` });
      }
      seen.add(key);
    });
  });
  return issues;
}

/**
 * Validates a whole resource of `kind` (after applying defaults, as admission does).
 * CEL rules that cannot be evaluated because of schema errors are not reported twice.
 */
export function validateResource(kind: ResourceKind, obj: unknown): ValidationResult {
  if (!isPlainObject(obj)) return { valid: false, errors: [{ path: '', message: `must be a ${kind} object, not ${describeType(obj)}` }] };
  const schema = schemaFor(kind);
  const defaulted = applyDefaults(schema, obj);
  const validate = validatorFor(kind);
  const errors: ValidationIssue[] = [];
  if (!validate(defaulted)) errors.push(...(validate.errors ?? []).map(issueFromAjv));
  errors.push(...checkListKeys(schema, defaulted));
  const schemaValid = errors.length === 0;
  for (const violation of checkRules(schema, defaulted)) {
    if (!schemaValid && violation.message.startsWith('rule could not be evaluated')) continue;
    errors.push({ path: violation.path, message: violation.message });
  }
  return { valid: errors.length === 0, errors: dedupe(errors) };
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\n${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function validateHubSpotIntegration(obj: unknown): ValidationResult {
  return validateResource('HubSpotIntegration', obj);
}
export function validateFieldMapping(obj: unknown): ValidationResult {
  return validateResource('FieldMapping', obj);
}
export function validateSyncFilter(obj: unknown): ValidationResult {
  return validateResource('SyncFilter', obj);
}

/** One line for a condition message or an error: "spec.x: must be ...; spec.y: is required". */
export function formatValidationErrors(errors: readonly ValidationIssue[]): string {
  return errors
    .map((e) => {
      const got = e.value !== undefined && typeof e.value !== 'object' ? ` (got ${JSON.stringify(e.value)})` : '';
      return `${e.path || '<root>'}: ${e.message}${got}`;
    })
    .join('; ');
}
