import { describe, expect, it } from 'vitest';
import { nextCycle, type ScheduleState } from '../../../operator/src/controller/scheduler.js';

const base: ScheduleState = {
  now: 100_000,
  intervalMs: 60_000,
  fullResyncIntervalMs: 3_600_000,
  initialDone: true,
  lastCycleEndedAt: 90_000,
  lastFullAt: 50_000,
  syncRequested: false,
  resyncRequested: false,
  configChanged: false,
  targetChanged: false,
  failures: 0,
};

describe('nextCycle', () => {
  it('runs the initial import first', () => {
    expect(nextCycle({ ...base, initialDone: false, lastCycleEndedAt: undefined, lastFullAt: undefined })).toMatchObject({ kind: 'initial', at: 100_000 });
  });
  it('schedules the next incremental cycle one interval after the last', () => {
    expect(nextCycle(base)).toMatchObject({ kind: 'incremental', at: 150_000 });
  });
  it('runs a full reconciliation when it falls due before the next incremental', () => {
    expect(nextCycle({ ...base, lastFullAt: 100_000 - 3_600_000 + 10_000 })).toMatchObject({ kind: 'full', at: 110_000 });
    expect(nextCycle({ ...base, lastFullAt: 0, now: 3_700_000 })).toMatchObject({ kind: 'full', at: 3_700_000 });
  });
  it('acts on annotations at once: resync beats sync', () => {
    expect(nextCycle({ ...base, syncRequested: true })).toMatchObject({ kind: 'incremental', at: 100_000 });
    expect(nextCycle({ ...base, syncRequested: true, resyncRequested: true })).toMatchObject({ kind: 'full', at: 100_000 });
    expect(nextCycle({ ...base, initialDone: false, syncRequested: true })).toMatchObject({ kind: 'initial' });
  });
  it('wakes early for captured target changes and configuration changes', () => {
    expect(nextCycle({ ...base, targetChanged: true })).toMatchObject({ kind: 'incremental', at: 100_000 });
    expect(nextCycle({ ...base, configChanged: true })).toMatchObject({ kind: 'incremental', at: 100_000 });
  });
  it('backs off exponentially after failures, capped at the interval, unless the configuration changed', () => {
    const at = (failures: number) => nextCycle({ ...base, failures, lastFailureAt: 100_000, retryBaseMs: 1000 }).at - 100_000;
    expect([1, 2, 3, 4].map(at)).toEqual([1000, 2000, 4000, 8000]);
    expect(at(20)).toBe(60_000);
    expect(nextCycle({ ...base, failures: 5, lastFailureAt: 100_000, configChanged: true })).toMatchObject({ at: 100_000 });
  });
});
