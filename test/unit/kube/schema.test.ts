import { describe, expect, it } from 'vitest';
import type { FieldError } from '../../../operator/src/sandbox/kube/errors.js';
import { validateCel } from '../../../operator/src/sandbox/kube/schema/cel.js';
import { applyDefaults, prune, validate } from '../../../operator/src/sandbox/kube/schema/structural.js';
import type { Schema } from '../../../operator/src/sandbox/kube/types.js';

const schema: Schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['mode'],
      'x-kubernetes-validations': [{ rule: 'self.mode != "B" || has(self.order)', message: 'mode B needs order' }],
      properties: {
        mode: { type: 'string', enum: ['A', 'B'] },
        order: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
        count: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
        name: { type: 'string', pattern: '^[a-z]+$', maxLength: 5 },
        when: { type: 'string', format: 'date-time' },
        replicas: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'may not shrink' }] },
        items: {
          type: 'array',
          maxItems: 2,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['key'],
          items: { type: 'object', properties: { key: { type: 'string' }, on: { type: 'boolean', default: true } } },
        },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
};

function check(obj: Record<string, unknown>, old?: Record<string, unknown>): string[] {
  const errors: FieldError[] = [];
  validate(obj, schema, '', errors);
  validateCel(obj, old, schema, '', errors);
  return errors.map((e) => `${e.field}: ${e.body}`);
}

describe('structural schema', () => {
  it('prunes unknown fields but keeps preserved and metadata ones, and reports the paths', () => {
    const obj = { apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n', bogus: 1 }, spec: { mode: 'A', extra: 1, free: { any: { thing: 1 } }, items: [{ key: 'a', junk: 2 }] }, top: 1 };
    expect(prune(obj, schema).sort()).toEqual(['metadata.bogus', 'spec.extra', 'spec.items[0].junk', 'top']);
    expect(obj).toEqual({ apiVersion: 'x/v1', kind: 'K', metadata: { name: 'n' }, spec: { mode: 'A', free: { any: { thing: 1 } }, items: [{ key: 'a' }] } });
  });

  it('applies defaults, also inside list items', () => {
    const obj = { spec: { mode: 'A', items: [{ key: 'a' }, { key: 'b', on: false }] } };
    applyDefaults(obj, schema);
    expect(obj.spec).toEqual({ mode: 'A', count: 3, items: [{ key: 'a', on: true }, { key: 'b', on: false }] });
  });

  it('reports each violation with kube-apiserver wording', () => {
    const errs = check({
      spec: { mode: 'C', count: 11, name: 'ABCDEFG', when: 'yesterday', order: ['x', 'x'], items: [{ key: 'a' }, { key: 'a' }, { key: 'b' }], labels: { a: 1 } },
    });
    expect(errs).toEqual(
      expect.arrayContaining([
        'spec.mode: Unsupported value: "C": supported values: "A", "B"',
        'spec.count: Invalid value: 11: spec.count in body should be less than or equal to 10',
        'spec.name: Too long: may not be more than 5 bytes',
        "spec.name: Invalid value: \"ABCDEFG\": spec.name in body should match '^[a-z]+$'",
        'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
        'spec.order[1]: Duplicate value: "x"',
        'spec.items: Too many: 3: must have at most 2 items',
        'spec.items[1]: Duplicate value: {"key":"a"}',
        'spec.labels[a]: Invalid value: "integer": spec.labels[a] in body must be of type string: "integer"',
      ]),
    );
    expect(check({ spec: {} })).toContain('spec.mode: Required value');
  });

  it('evaluates CEL rules with their message, and transition rules only on update', () => {
    expect(check({ spec: { mode: 'B' } })).toEqual(['spec: Invalid value: "object": mode B needs order']);
    expect(check({ spec: { mode: 'B', order: ['a'] } })).toEqual([]);
    expect(check({ spec: { mode: 'A', replicas: 1 } })).toEqual([]);
    expect(check({ spec: { mode: 'A', replicas: 1 } }, { spec: { mode: 'A', replicas: 2 } })).toEqual(['spec.replicas: Invalid value: "integer": may not shrink']);
    expect(check({ spec: { mode: 'A', replicas: 3 } }, { spec: { mode: 'A', replicas: 2 } })).toEqual([]);
  });
});
