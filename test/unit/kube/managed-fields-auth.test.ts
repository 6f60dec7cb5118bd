import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../../operator/src/sandbox/kube/auth.js';
import { ApiError } from '../../../operator/src/sandbox/kube/errors.js';
import { applyConfig, fieldSetOf, recordUpdate, type Walk } from '../../../operator/src/sandbox/kube/managed-fields.js';
import type { KubeObject, Schema } from '../../../operator/src/sandbox/kube/types.js';

const schema: Schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        items: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, v: { type: 'integer' } } } },
        tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
        atomic: { type: 'array', items: { type: 'string' } },
        x: { type: 'integer' },
      },
    },
  },
};
const w: Walk = { schema, crd: true };
const slot = (manager: string) => ({ manager, apiVersion: 'g/v1', part: 'all' as const });
const obj = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'g/v1', kind: 'K', metadata: { name: 'n', ...extra }, spec });

describe('field sets', () => {
  it('name list-map items by key, set members by value, and atomic lists as one field', () => {
    const set = [...fieldSetOf(obj({ items: [{ name: 'a', v: 1 }], tags: ['t'], atomic: ['x', 'y'] }, { labels: { l: '1' } }), w, 'all')].map((p) => JSON.parse(p).join(' '));
    expect(set.sort()).toEqual([
      'f:metadata f:labels f:l',
      'f:spec f:atomic',
      'f:spec f:items k:{"name":"a"} .',
      'f:spec f:items k:{"name":"a"} f:name',
      'f:spec f:items k:{"name":"a"} f:v',
      'f:spec f:tags v:"t"',
    ]);
  });

  it('an update owns only what it changed', () => {
    const before = { ...obj({ x: 1, tags: ['a'] }), metadata: { name: 'n', managedFields: recordUpdate(undefined, obj({ x: 1, tags: ['a'] }), w, slot('first')) } } as KubeObject;
    const entries = recordUpdate(before, obj({ x: 2, tags: ['a'] }), w, slot('second'));
    expect(entries.map((e) => [e.manager, e.fieldsV1])).toEqual([
      // The create added spec and tags, so 'first' owns those nodes ('.') too, as on kube-apiserver.
      ['first', { 'f:spec': { '.': {}, 'f:tags': { '.': {}, 'v:"a"': {} } } }],
      ['second', { 'f:spec': { 'f:x': {} } }],
    ]);
  });
});

describe('apply', () => {
  it('merges map lists by key, unions sets, replaces atomic lists, and drops what the manager stopped applying', () => {
    let cur = applyConfig(undefined, obj({ items: [{ name: 'a', v: 1 }], tags: ['t1'], atomic: ['x'], x: 1 }), w, slot('m1'), false, 'K');
    // m2 takes the atomic list over (force); the other fields merge without conflict.
    cur = applyConfig(cur, obj({ items: [{ name: 'b', v: 2 }], tags: ['t2'], atomic: ['y'] }), w, slot('m2'), true, 'K');
    expect(cur.spec).toEqual({ items: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }], tags: ['t1', 't2'], atomic: ['y'], x: 1 });
    cur = applyConfig(cur, obj({ items: [{ name: 'a', v: 1 }] }), w, slot('m1'), false, 'K');
    // m1 no longer applies x or t1; atomic was taken over by m2, so it stays.
    expect(cur.spec).toEqual({ items: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }], tags: ['t2'], atomic: ['y'] });
  });

  it('conflicts on a different value owned by another manager, not on the same value', () => {
    const cur = applyConfig(undefined, obj({ x: 1 }), w, slot('owner'), false, 'K');
    expect(() => applyConfig(cur, obj({ x: 1 }), w, slot('other'), false, 'K')).not.toThrow();
    try {
      applyConfig(cur, obj({ x: 2 }), w, slot('other'), false, 'K');
      throw new Error('expected a conflict');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(409);
      // An Apply owner is named alone (kube-apiserver's printManager); an Update owner with the version it wrote.
      expect((err as ApiError).message).toBe('Apply failed with 1 conflict: conflict with "owner": .spec.x');
    }
  });
});

describe('tokens', () => {
  it('expire', () => {
    const a = new Authenticator();
    const live = a.issueServiceAccountToken('ns', 'sa', Date.now() + 60_000);
    const dead = a.issueServiceAccountToken('ns', 'sa', Date.now() - 1);
    expect(a.authenticate(`Bearer ${live}`)?.username).toBe('system:serviceaccount:ns:sa');
    expect(a.authenticate(`Bearer ${dead}`)).toBeUndefined();
    expect(a.authenticate('Basic abc')).toBeUndefined();
    expect(a.authenticate(undefined)?.username).toBe('system:anonymous');
  });
});
