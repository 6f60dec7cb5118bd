import { parse } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { checkRules, listRules } from '../../../operator/src/api/cel.js';
import { applyDefaults } from '../../../operator/src/api/defaults.js';
import { schemaFor } from '../../../operator/src/api/schemas.js';
import type { ResourceKind } from '../../../operator/src/api/types.js';
import { CASES } from './cel-cases.js';
import { fieldMapping } from './fixtures.js';

/** Rule violations of an object after defaulting, as the apiserver evaluates them. */
function violations(kind: ResourceKind, obj: unknown): { path: string; message: string }[] {
  const schema = schemaFor(kind);
  return checkRules(schema, applyDefaults(schema, obj)).map(({ path, message }) => ({ path, message }));
}

describe('CEL rules in crds/ (x-kubernetes-validations)', () => {
  const kinds: ResourceKind[] = ['HubSpotIntegration', 'FieldMapping', 'SyncFilter'];
  const allRules = kinds.flatMap((kind) => listRules(schemaFor(kind)).map((r) => ({ kind, ...r })));

  it('compile with @marcbachmann/cel-js (the library the Kubernetes API sandbox uses)', () => {
    expect(allRules.length).toBeGreaterThanOrEqual(11);
    for (const { rule } of allRules) {
      expect(() => parse(rule.rule), rule.rule).not.toThrow();
      if (rule.messageExpression) expect(() => parse(rule.messageExpression!), rule.messageExpression).not.toThrow();
      expect(rule.message, `rule ${rule.rule} needs a message`).toBeTruthy();
    }
  });

  it('every rule has a case below that it rejects', () => {
    for (const { kind, path, rule } of allRules) {
      const rejectedBy = CASES.filter((c) => c.kind === kind && c.at === path).flatMap((c) =>
        checkRules(schemaFor(kind), applyDefaults(schemaFor(kind), c.bad)).map((v) => v.rule),
      );
      expect(rejectedBy, `${kind} ${path}: ${rule.rule}`).toContain(rule.rule);
    }
  });

  for (const c of CASES) {
    it(`${c.kind} ${c.at}: accepts the good object and rejects the bad one with "${c.message.source}"`, () => {
      expect(violations(c.kind, c.good)).toEqual([]);
      const bad = violations(c.kind, c.bad);
      expect(bad).toHaveLength(1);
      expect(bad[0]!.path).toBe(c.badPath);
      expect(bad[0]!.message).toMatch(c.message);
    });
  }

  it('rules see defaulted values, like the apiserver (mode defaults to Overwrite, so order alone is refused)', () => {
    const obj = fieldMapping([{ property: 'lifecyclestage', column: 'stage', order: ['lead', 'customer'] }]);
    expect(violations('FieldMapping', obj).map((v) => v.message)).toEqual(['order is only used with mode ForwardOnly']);
  });
});
