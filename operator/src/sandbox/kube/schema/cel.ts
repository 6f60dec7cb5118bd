/**
 * CEL validation rules (`x-kubernetes-validations`) as kube-apiserver evaluates them: at every
 * schema node that carries rules, `self` is the node's value (integers as CEL int, date-time
 * strings as timestamps), and for transition rules `oldSelf` is the previous value of the same
 * node, correlated through object properties, map keys and list-map keys. A failed rule becomes
 * a field error at the node (plus the rule's `fieldPath`) with the rule's message.
 */
import { Environment } from '@marcbachmann/cel-js';
import { FieldErrorType, formatValue, type FieldError } from '../errors.js';
import type { Schema, ValidationRule } from '../types.js';
import { childPath, indexPath, keyPath } from './structural.js';

type J = unknown;
const isObject = (v: J): v is Record<string, J> => v !== null && typeof v === 'object' && !Array.isArray(v);

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, enableOptionalTypes: true });

type Program = (ctx: Record<string, unknown>) => unknown;
const programs = new Map<string, Program | Error>();

export function compileRule(expr: string): Program {
  let p = programs.get(expr);
  if (!p) {
    try {
      p = env.parse(expr) as unknown as Program;
    } catch (err) {
      p = err instanceof Error ? err : new Error(String(err));
    }
    programs.set(expr, p);
  }
  if (p instanceof Error) throw p;
  return p;
}

/** First line of a cel-js error (the rest is a source excerpt with a caret). */
function shortError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

/** Checks every rule of a schema compiles; returns `[path, message]` pairs for those that do not. */
export function checkRulesCompile(schema: Schema, path: string, out: Array<[string, string]>): void {
  (schema['x-kubernetes-validations'] ?? []).forEach((r, i) => {
    const p = `${path}.x-kubernetes-validations[${i}]`;
    for (const [field, expr] of [['rule', r.rule], ['messageExpression', r.messageExpression]] as const) {
      if (expr === undefined) continue;
      try {
        compileRule(expr);
      } catch (err) {
        out.push([`${p}.${field}`, `compilation failed: ${shortError(err)}`]);
      }
    }
  });
  for (const [k, s] of Object.entries(schema.properties ?? {})) checkRulesCompile(s, `${path}.properties[${k}]`, out);
  if (schema.items) checkRulesCompile(schema.items, `${path}.items`, out);
  if (isObject(schema.additionalProperties)) checkRulesCompile(schema.additionalProperties as Schema, `${path}.additionalProperties`, out);
}

/** Converts a JSON value to the CEL value kube-apiserver would bind for this schema. */
export function toCel(value: J, schema: Schema | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') {
    if (schema?.type === 'number') return value;
    return Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === 'string') {
    if (schema?.format === 'date-time' || schema?.format === 'datetime') {
      const t = Date.parse(value);
      return Number.isNaN(t) ? value : new Date(t);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    const add = isObject(schema?.additionalProperties) ? (schema?.additionalProperties as Schema) : undefined;
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v, schema?.properties?.[k] ?? add);
    return out;
  }
  return value;
}

const typeName = (schema: Schema, value: J): string =>
  schema.type ?? (Array.isArray(value) ? 'array' : isObject(value) ? 'object' : typeof value);

function ruleError(rule: ValidationRule, path: string, value: string, message: string): FieldError {
  const field = rule.fieldPath ? `${path}${rule.fieldPath.startsWith('[') ? '' : '.'}${rule.fieldPath.replace(/^\./, '')}` : path;
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return { type: FieldErrorType.Forbidden, field, body: `Forbidden: ${message}` };
    case 'FieldValueRequired':
      return { type: FieldErrorType.Required, field, body: `Required value: ${message}` };
    case 'FieldValueDuplicate':
      return { type: FieldErrorType.Duplicate, field, body: `Duplicate value: ${formatValue(value)}` };
    default:
      return { type: FieldErrorType.Invalid, field, body: `Invalid value: ${formatValue(value)}: ${message}` };
  }
}

const USES_OLD_SELF = /\boldSelf\b/;

function evaluateRules(rules: ValidationRule[], value: J, old: J, schema: Schema, path: string, errors: FieldError[]): void {
  const self = toCel(value, schema);
  const oldSelf = old === undefined ? undefined : toCel(old, schema);
  for (const rule of rules) {
    const transition = USES_OLD_SELF.test(rule.rule);
    if (transition && old === undefined && !rule.optionalOldSelf) continue;
    const ctx: Record<string, unknown> = { self };
    if (transition) ctx.oldSelf = oldSelf;
    let ok: unknown;
    try {
      ok = compileRule(rule.rule)(ctx);
    } catch (err) {
      errors.push(ruleError(rule, path, typeName(schema, value), `${shortError(err)} evaluating rule: ${rule.rule}`));
      continue;
    }
    if (ok === true) continue;
    let message = rule.message || `failed rule: ${rule.rule}`;
    if (rule.messageExpression) {
      try {
        const m = compileRule(rule.messageExpression)(ctx);
        if (typeof m === 'string' && m.trim()) message = m;
      } catch {
        // kube-apiserver falls back to `message` when messageExpression fails
      }
    }
    errors.push(ruleError(rule, path, typeName(schema, value), message));
  }
}

function matchesType(schema: Schema, value: J): boolean {
  switch (schema.type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string' || Boolean(schema['x-kubernetes-int-or-string']);
    case 'integer':
    case 'number':
      return typeof value === 'number' || Boolean(schema['x-kubernetes-int-or-string']);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

/** Evaluates every rule in the schema against `value` (and `old` for transition rules). */
export function validateCel(value: J, old: J, schema: Schema, path: string, errors: FieldError[]): void {
  if (value === undefined || value === null || !matchesType(schema, value)) return;
  const rules = schema['x-kubernetes-validations'];
  if (rules && rules.length) evaluateRules(rules, value, old, schema, path, errors);
  if (isObject(value)) {
    const oldObj = isObject(old) ? old : undefined;
    for (const [k, s] of Object.entries(schema.properties ?? {})) {
      if (value[k] !== undefined) validateCel(value[k], oldObj?.[k], s, path === '' ? k : childPath(path, k), errors);
    }
    if (isObject(schema.additionalProperties)) {
      const add = schema.additionalProperties as Schema;
      for (const [k, v] of Object.entries(value)) {
        if (!schema.properties?.[k]) validateCel(v, oldObj?.[k], add, keyPath(path, k), errors);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    const items = schema.items;
    const mapKeys = schema['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
    const oldList = Array.isArray(old) ? old : [];
    value.forEach((item, i) => {
      let oldItem: J = undefined;
      if (mapKeys && isObject(item)) {
        oldItem = oldList.find((o) => isObject(o) && mapKeys.every((k) => JSON.stringify(o[k]) === JSON.stringify(item[k])));
      }
      validateCel(item, oldItem, items, indexPath(path, i), errors);
    });
  }
}
