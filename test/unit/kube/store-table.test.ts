import { describe, expect, it } from 'vitest';
import { evaluateJsonPath, parseJsonPath } from '../../../operator/src/sandbox/kube/jsonpath.js';
import { ObjectStore, TooOldResourceVersion, type StoreEvent } from '../../../operator/src/sandbox/kube/store.js';
import { humanDuration } from '../../../operator/src/sandbox/kube/table.js';
import type { KubeObject } from '../../../operator/src/sandbox/kube/types.js';

function put(store: ObjectStore, name: string, old?: KubeObject): KubeObject {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: String(store.nextResourceVersion()) } };
  store.put('configmaps', obj, old);
  return obj;
}

describe('object store', () => {
  it('replays events after a resourceVersion in order, then streams', () => {
    const store = new ObjectStore();
    const a = put(store, 'a');
    const from = store.resourceVersion;
    const a2 = put(store, 'a', a);
    put(store, 'b');
    store.remove('configmaps', a2);
    const seen: Array<[string, string, number]> = [];
    const stop = store.watch('configmaps', from, (e: StoreEvent) => seen.push([e.type, e.object.metadata.name as string, e.rv]));
    put(store, 'c');
    stop();
    put(store, 'd');
    expect(seen).toEqual([
      ['MODIFIED', 'a', 2],
      ['ADDED', 'b', 3],
      ['DELETED', 'a', 4],
      ['ADDED', 'c', 5],
    ]);
    expect(store.list('configmaps').map((o) => o.metadata.name)).toEqual(['b', 'c', 'd']);
  });

  it('compaction makes older versions 410, and bounded history compacts by itself', () => {
    const store = new ObjectStore(10);
    put(store, 'a');
    store.compact();
    expect(() => store.watch('configmaps', 0, () => undefined)).toThrow(TooOldResourceVersion);
    expect(() => store.watch('configmaps', store.resourceVersion, () => undefined)).not.toThrow();
    for (let i = 0; i < 30; i++) put(store, `x${i}`);
    expect(store.oldestWatchableRv).toBeGreaterThan(1);
    expect(() => store.watch('configmaps', 2, () => undefined)).toThrow(/too old resource version: 2/);
  });
});

describe('printer columns', () => {
  const obj = { status: { conditions: [{ type: 'Stalled', status: 'True' }, { type: 'Ready', status: 'False', message: 'm' }] }, metadata: { labels: { 'a.b/c': 'x' } } };
  it('evaluates the JSONPath subset printer columns use', () => {
    expect(evaluateJsonPath(parseJsonPath('.status.conditions[?(@.type=="Ready")].status'), obj)).toEqual(['False']);
    expect(evaluateJsonPath(parseJsonPath(".metadata.labels['a.b/c']"), obj)).toEqual(['x']);
    expect(evaluateJsonPath(parseJsonPath('.status.conditions[*].type'), obj)).toEqual(['Stalled', 'Ready']);
    expect(evaluateJsonPath(parseJsonPath('.status.conditions[-1].message'), obj)).toEqual(['m']);
    expect(evaluateJsonPath(parseJsonPath('.spec.missing'), obj)).toEqual([]);
    expect(() => parseJsonPath('.a[?(@.x > 1)]')).toThrow(/unsupported JSONPath filter/);
  });

  it('formats ages like kubectl', () => {
    const s = 1000;
    expect(humanDuration(5 * s)).toBe('5s');
    expect(humanDuration(150 * s)).toBe('2m30s');
    expect(humanDuration(600 * s)).toBe('10m');
    expect(humanDuration(3 * 3600 * s + 5 * 60 * s)).toBe('3h5m');
    expect(humanDuration(30 * 3600 * s)).toBe('30h');
    expect(humanDuration(3 * 86400 * s + 2 * 3600 * s)).toBe('3d2h');
    expect(humanDuration(400 * 86400 * s)).toBe('400d');
  });
});
