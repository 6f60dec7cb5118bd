/**
 * Checks that a CRD's openAPIV3Schema is well-formed before it is served: every keyword has the
 * JSON type the apiextensions API declares, types are known, patterns compile, list-map keys
 * are strings, validation rules are objects with a `rule`. kube-apiserver rejects such CRDs
 * at admission too; without this check a malformed schema would break every later write.
 */
import { fieldErrors, type FieldError } from '../errors.js';

const TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'multipleOf', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];
const BOOL_KEYWORDS = ['nullable', 'exclusiveMinimum', 'exclusiveMaximum', 'uniqueItems', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string'];
const STRING_KEYWORDS = ['type', 'format', 'description', 'pattern', 'x-kubernetes-list-type', 'x-kubernetes-map-type', 'title'];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function checkSchema(schema: unknown, path: string, errors: FieldError[]): void {
  if (!isObj(schema)) {
    errors.push(fieldErrors.invalid(path, schema, 'must be a schema object'));
    return;
  }
  for (const k of STRING_KEYWORDS) if (schema[k] !== undefined && typeof schema[k] !== 'string') errors.push(fieldErrors.invalid(`${path}.${k}`, schema[k], 'must be a string'));
  for (const k of NUMBER_KEYWORDS) if (schema[k] !== undefined && typeof schema[k] !== 'number') errors.push(fieldErrors.invalid(`${path}.${k}`, schema[k], 'must be a number'));
  for (const k of BOOL_KEYWORDS) if (schema[k] !== undefined && typeof schema[k] !== 'boolean') errors.push(fieldErrors.invalid(`${path}.${k}`, schema[k], 'must be a boolean'));
  if (typeof schema.type === 'string' && !TYPES.includes(schema.type)) errors.push(fieldErrors.notSupported(`${path}.type`, schema.type, TYPES));
  if (typeof schema.pattern === 'string') {
    try {
      new RegExp(schema.pattern.replace(/^\(\?i\)/, ''));
    } catch {
      errors.push(fieldErrors.invalid(`${path}.pattern`, schema.pattern, 'must be a valid regular expression'));
    }
  }
  const strings = (k: string): void => {
    const v = schema[k];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) errors.push(fieldErrors.invalid(`${path}.${k}`, v, 'must be a list of strings'));
  };
  strings('required');
  strings('x-kubernetes-list-map-keys');
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) errors.push(fieldErrors.invalid(`${path}.enum`, schema.enum, 'must be a list'));
  const rules = schema['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) errors.push(fieldErrors.invalid(`${path}.x-kubernetes-validations`, rules, 'must be a list of rules'));
    else
      rules.forEach((r, i) => {
        const p = `${path}.x-kubernetes-validations[${i}]`;
        if (!isObj(r)) errors.push(fieldErrors.invalid(p, r, 'must be an object with a rule'));
        else {
          if (typeof r.rule !== 'string' || !r.rule) errors.push(fieldErrors.required(`${p}.rule`));
          for (const k of ['message', 'messageExpression', 'reason', 'fieldPath']) {
            if (r[k] !== undefined && typeof r[k] !== 'string') errors.push(fieldErrors.invalid(`${p}.${k}`, r[k], 'must be a string'));
          }
        }
      });
  }
  if (schema.properties !== undefined) {
    if (!isObj(schema.properties)) errors.push(fieldErrors.invalid(`${path}.properties`, schema.properties, 'must be a map of schemas'));
    else for (const [k, s] of Object.entries(schema.properties)) checkSchema(s, `${path}.properties[${k}]`, errors);
  }
  if (schema.items !== undefined) checkSchema(schema.items, `${path}.items`, errors);
  if (schema.additionalProperties !== undefined && typeof schema.additionalProperties !== 'boolean') {
    checkSchema(schema.additionalProperties, `${path}.additionalProperties`, errors);
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[k];
    if (list === undefined) continue;
    if (!Array.isArray(list)) errors.push(fieldErrors.invalid(`${path}.${k}`, list, 'must be a list of schemas'));
    else list.forEach((s, i) => checkSchema(s, `${path}.${k}[${i}]`, errors));
  }
  if (schema.not !== undefined) checkSchema(schema.not, `${path}.not`, errors);
}
