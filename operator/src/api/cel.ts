/**
 * Evaluates the CRDs' `x-kubernetes-validations` CEL rules in TypeScript, the way
 * kube-apiserver does at admission: each rule runs with `self` bound to the value of the schema
 * node it is declared on, for every such value present in the object. The apiserver (or the
 * Kubernetes API sandbox) enforces these rules; this copy lets tests, examples and the
 * controller check objects without one.
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { isPlainObject, walkSchema } from './schemas.js';
import type { OpenAPISchema, ValidationRule } from './schema-types.js';

export interface RuleViolation {
  /** Path of the value the rule is declared on, e.g. spec.fields[1]. */
  path: string;
  message: string;
  rule: string;
}

// As kube-apiserver: variables are dynamically typed, list literals may mix types.
const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const programs = new Map<string, ParseResult>();

/** The CEL value kube-apiserver binds for a JSON value: integers are CEL ints (bigint here). */
export function toCelValue(value: unknown, schema?: OpenAPISchema): unknown {
  if (typeof value === 'number') return schema?.type !== 'number' && Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map((v) => toCelValue(v, schema?.items));
  if (isPlainObject(value)) {
    const extra = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCelValue(v, schema?.properties?.[k] ?? extra)]));
  }
  return value;
}

/** Parses a rule once; throws with the rule text when it is not valid CEL. */
export function compileRule(rule: string): ParseResult {
  let program = programs.get(rule);
  if (!program) {
    try {
      program = env.parse(rule);
    } catch (err) {
      throw new Error(`CEL rule does not compile: ${rule}: ${err instanceof Error ? err.message : String(err)}`);
    }
    programs.set(rule, program);
  }
  return program;
}

/** The result of one rule for one CEL value (see toCelValue): true, false, or an evaluation error. */
export function evaluateRule(rule: ValidationRule, self: unknown): { ok: true } | { ok: false; error?: string } {
  try {
    const result = compileRule(rule.rule)({ self });
    return result === true ? { ok: true } : { ok: false };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The rule's messageExpression, evaluated; undefined when absent or when it does not yield a
 * non-empty string (the apiserver then falls back to `message` as well).
 */
function expressionMessage(rule: ValidationRule, self: unknown): string | undefined {
  if (!rule.messageExpression) return undefined;
  try {
    const text: unknown = compileRule(rule.messageExpression)({ self });
    return typeof text === 'string' && text.trim() !== '' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Every CEL rule of `schema` that `value` violates (rules that fail to evaluate count as violated). */
export function checkRules(schema: OpenAPISchema, value: unknown, path = ''): RuleViolation[] {
  const violations: RuleViolation[] = [];
  walkSchema(schema, value, path, (node, self, at) => {
    const rules = node['x-kubernetes-validations'];
    if (!rules) return;
    const celSelf = toCelValue(self, node);
    for (const rule of rules) {
      const result = evaluateRule(rule, celSelf);
      if (result.ok) continue;
      const message = result.error
        ? `rule could not be evaluated (${result.error}): ${rule.rule}`
        : (expressionMessage(rule, celSelf) ?? rule.message ?? `failed rule: ${rule.rule}`);
      violations.push({ path: at, message, rule: rule.rule });
    }
  });
  return violations;
}

/** Every rule declared anywhere in `schema`, with the path of the node it is declared on. */
export function listRules(schema: OpenAPISchema, path = ''): { path: string; rule: ValidationRule }[] {
  const out: { path: string; rule: ValidationRule }[] = [];
  for (const rule of schema['x-kubernetes-validations'] ?? []) out.push({ path, rule });
  for (const [key, sub] of Object.entries(schema.properties ?? {})) out.push(...listRules(sub, path ? `${path}.${key}` : key));
  if (schema.items) out.push(...listRules(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object') out.push(...listRules(schema.additionalProperties, `${path}{}`));
  return out;
}
