import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../operator/src/sandbox/kube/errors.js';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../../operator/src/sandbox/kube/patch.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../../operator/src/sandbox/kube/selectors.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'example.com/team': 'crm' };
  const cases: Array<[string, boolean]> = [
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['tier in (front, back)', true],
    ['tier notin (front)', false],
    ['tier notin (back),app', true],
    ['example.com/team=crm', true],
    ['!missing', true],
    ['!app', false],
    ['missing', false],
    ['', true],
  ];
  for (const [sel, want] of cases) it(`${JSON.stringify(sel)} → ${want}`, () => expect(matchesLabels(parseLabelSelector(sel), labels)).toBe(want));

  it('rejects malformed selectors with 400 naming the problem', () => {
    for (const bad of ['a in (b', 'a b c', '=x', 'bad key!=x']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(ApiError);
    }
  });
});

describe('field selectors', () => {
  const ev = { metadata: { name: 'a,b', namespace: 'crm' }, involvedObject: { kind: 'HubSpotIntegration', uid: 'u1' } };
  it('matches dotted paths, != and escaped commas', () => {
    expect(matchesFields(parseFieldSelector('metadata.namespace=crm,involvedObject.kind=HubSpotIntegration'), ev)).toBe(true);
    expect(matchesFields(parseFieldSelector('involvedObject.uid!=u1'), ev)).toBe(false);
    expect(matchesFields(parseFieldSelector('metadata.name=a\\,b'), ev)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.missing='), ev)).toBe(true);
  });
  it('rejects a term without an operator', () => expect(() => parseFieldSelector('metadata.name')).toThrow(/invalid field selector/));
});

describe('patches', () => {
  it('merge patch: null deletes, objects merge, lists replace', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 5 }, l: [3] })).toEqual({ b: { c: 5, d: 3 }, l: [3] });
  });

  it('json patch: add, replace, remove, move, copy, test', () => {
    const doc = { metadata: { finalizers: ['a', 'b'] }, spec: { x: 1 } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/finalizers/-', value: 'c' },
      { op: 'remove', path: '/metadata/finalizers/0' },
      { op: 'replace', path: '/spec/x', value: 2 },
      { op: 'copy', from: '/spec/x', path: '/spec/y' },
      { op: 'move', from: '/spec/y', path: '/spec/z' },
      { op: 'test', path: '/spec/z', value: 2 },
      { op: 'add', path: '/metadata/labels', value: { 'a~b/c': 'x' } },
    ]);
    expect(out).toEqual({ metadata: { finalizers: ['b', 'c'], labels: { 'a~b/c': 'x' } }, spec: { x: 2, z: 2 } });
    expect(doc.metadata.finalizers).toEqual(['a', 'b']); // input untouched
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/spec/x', value: 9 }])).toThrow(/test failed/);
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow(ApiError);
  });

  it('strategic merge patch merges containers by name, honours $setElementOrder and $patch: delete', () => {
    const current = { spec: { template: { spec: { containers: [{ name: 'op', image: 'v1', env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 's' }] } } } };
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'op' }],
            containers: [{ name: 'op', image: 'v2', env: [{ name: 'B', value: '2' }] }],
          },
        },
      },
    };
    const out = strategicMergePatch(current, patch) as typeof current;
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['side', 'op']);
    expect(out.spec.template.spec.containers[1]).toEqual({ name: 'op', image: 'v2', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] });
    const del = strategicMergePatch(current, { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } }) as typeof current;
    expect(del.spec.template.spec.containers.map((c) => c.name)).toEqual(['op']);
    const fin = strategicMergePatch({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] } });
    expect(fin).toEqual({ metadata: { finalizers: ['b'] } });
  });
});
