import { describe, expect, it } from 'vitest';
import {
  conditionsEqual,
  findCondition,
  formatTime,
  isConditionTrue,
  removeCondition,
  setCondition,
} from '../../../operator/src/api/conditions.js';
import type { Condition } from '../../../operator/src/api/types.js';

const T1 = new Date('2026-11-23T10:00:00.123Z');
const T2 = new Date('2026-11-23T11:30:00Z');

describe('setCondition', () => {
  it('adds a condition with lastTransitionTime = now, in second precision', () => {
    const list = setCondition([], { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'starting', observedGeneration: 1 }, T1);
    expect(list).toEqual([
      { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'starting', observedGeneration: 1, lastTransitionTime: '2026-11-23T10:00:00Z' },
    ]);
  });

  it('keeps lastTransitionTime when the status is unchanged, even if reason and message change', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'SyncFailed', message: 'x' }, T1);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'RateLimited', message: 'daily budget spent', observedGeneration: 2 }, T2);
    expect(b[0]).toMatchObject({ reason: 'RateLimited', message: 'daily budget spent', observedGeneration: 2, lastTransitionTime: '2026-11-23T10:00:00Z' });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'SyncFailed', message: 'x' }, T1);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Synced', message: 'ok' }, T2);
    expect(b[0]!.lastTransitionTime).toBe('2026-11-23T11:30:00Z');
  });

  it('keeps other conditions and their order, and never mutates the input', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Synced', message: '' }, T1);
    const b = setCondition(a, { type: 'Reconciling', status: 'True', reason: 'Syncing', message: '' }, T1);
    const frozen = structuredClone(b);
    const c = setCondition(b, { type: 'Ready', status: 'False', reason: 'Suspended', message: 'paused' }, T2);
    expect(b).toEqual(frozen);
    expect(c.map((x) => `${x.type}=${x.status}`)).toEqual(['Ready=False', 'Reconciling=True']);
  });

  it('accepts an ISO string for now, and refuses an invalid time', () => {
    expect(setCondition([], { type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'm' }, '2026-01-02T03:04:05Z')[0]!.lastTransitionTime).toBe(
      '2026-01-02T03:04:05Z',
    );
    expect(() => formatTime('not a time')).toThrow(/invalid time/);
  });
});

describe('removeCondition, findCondition, isConditionTrue', () => {
  it('removes only the named type', () => {
    const list = setCondition(setCondition([], { type: 'Ready', status: 'True', reason: 'Synced', message: '' }, T1), { type: 'Degraded', status: 'True', reason: 'Validation', message: '2 records' }, T1);
    expect(removeCondition(list, 'Degraded').map((c) => c.type)).toEqual(['Ready']);
    expect(removeCondition(undefined, 'Degraded')).toEqual([]);
    expect(isConditionTrue(list, 'Degraded')).toBe(true);
    expect(isConditionTrue(list, 'Stalled')).toBe(false);
    expect(findCondition(list, 'Ready')?.reason).toBe('Synced');
  });
});

describe('conditionsEqual', () => {
  const ready: Condition = { type: 'Ready', status: 'True', reason: 'Synced', message: 'ok', observedGeneration: 3, lastTransitionTime: '2026-11-23T10:00:00Z' };
  const degraded: Condition = { type: 'Degraded', status: 'True', reason: 'Validation', message: '2', lastTransitionTime: '2026-11-23T10:00:00Z' };

  it('is order-insensitive and treats undefined as empty', () => {
    expect(conditionsEqual([ready, degraded], [degraded, ready])).toBe(true);
    expect(conditionsEqual(undefined, [])).toBe(true);
  });

  it('sees a change in any field a user would see', () => {
    for (const change of [{ status: 'False' }, { reason: 'Other' }, { message: 'changed' }, { observedGeneration: 4 }, { lastTransitionTime: '2026-11-23T10:00:01Z' }] as Partial<Condition>[]) {
      expect(conditionsEqual([ready], [{ ...ready, ...change }]), JSON.stringify(change)).toBe(false);
    }
    expect(conditionsEqual([ready], [ready, degraded])).toBe(false);
  });

  it('lets a status writer skip a no-op write: re-setting the same condition changes nothing', () => {
    const again = setCondition([ready], { type: 'Ready', status: 'True', reason: 'Synced', message: 'ok', observedGeneration: 3 }, T2);
    expect(conditionsEqual([ready], again)).toBe(true);
  });
});
