import { describe, expect, it } from 'vitest';
import { computeIntegrationStatus, computeChildStatus, jsonEqual } from '../../../operator/src/controller/status.js';
import { transitionEvents } from '../../../operator/src/controller/integration-reconciler.js';
import type { WorkerState } from '../../../operator/src/controller/worker.js';
import type { FieldMappingStatus } from '../../../operator/src/api/types.js';
import type { CycleReport } from '../../../operator/src/sync/types.js';

const T0 = new Date('2026-11-23T10:00:00Z');
const T1 = new Date('2026-11-23T10:05:00Z');

function report(over: Partial<CycleReport> = {}): CycleReport {
  return {
    kind: 'incremental',
    startedAt: '2026-11-23T09:59:00Z',
    finishedAt: '2026-11-23T10:00:00Z',
    completed: true,
    portalId: 1234567,
    objects: [{ type: 'contacts', hubspotRecords: 10, targetRecords: 9, linkedRecords: 9, pendingChanges: 1, lastCycle: { toTarget: { created: 1, updated: 2, deleted: 0 }, toHubSpot: { created: 0, updated: 1, deleted: 0 }, failed: 0 } }],
    errors: [],
    apiUsage: { requestsLast24h: 12, rateLimitedLast24h: 0, dailyBudget: 250000 },
    syncLagSeconds: 0,
    ...over,
  };
}

function worker(over: Partial<WorkerState> = {}): WorkerState {
  return { suspended: false, generation: 1, initialDone: true, specIssues: [], completedGeneration: 1, lastReport: report(), lastSyncTime: '2026-11-23T10:00:00Z', lastSuccessfulSyncTime: '2026-11-23T10:00:00Z', portalId: 1234567, ...over };
}

const cond = (s: { conditions?: { type: string; message?: string }[] }, type: string) => s.conditions?.find((c) => c.type === type);

describe('computeIntegrationStatus', () => {
  it('before the first cycle: Ready Unknown/Progressing and Reconciling InitialSync', () => {
    const s = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker({ initialDone: false, completedGeneration: undefined, lastReport: undefined, lastSyncTime: undefined, lastSuccessfulSyncTime: undefined, running: 'initial' }), now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Progressing', observedGeneration: 1 });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'InitialSync' });
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(s.observedGeneration).toBe(1);
  });

  it('after a completed cycle: Ready True/Synced with counts, usage and times; only-while-True conditions absent', () => {
    const s = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker(), now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(s.conditions!.map((c) => c.type)).toEqual(['Ready']);
    expect(s.objects![0]).toMatchObject({ type: 'contacts', hubspotRecords: 10, linkedRecords: 9, lastCycle: { toTarget: { created: 1 } } });
    expect(s).toMatchObject({ portalId: 1234567, errorCount: 0, errors: [], apiUsage: { requestsLast24h: 12 }, lastSuccessfulSyncTime: '2026-11-23T10:00:00Z' });
  });

  it('says in the Ready message whether real time is on, and writes status.webhooks from the receiver', () => {
    const on = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker(), now: T0, realTime: { webhooks: true, interval: '5m', status: { lastEventTime: '2026-11-23T09:58:00.000Z', eventsLast24h: 7, rejectedLast24h: 1 } } });
    expect(cond(on, 'Ready')!.message).toBe('Synced: contacts 9 linked; webhooks on');
    expect(on.webhooks).toEqual({ lastEventTime: '2026-11-23T09:58:00.000Z', eventsLast24h: 7, rejectedLast24h: 1 });
    const polling = computeIntegrationStatus({ current: on, generation: 1, suspended: false, staticIssues: [], worker: worker(), now: T0, realTime: { webhooks: false, interval: '5m' } });
    expect(cond(polling, 'Ready')!.message).toBe('Synced: contacts 9 linked; polling every 5m');
    expect(polling.webhooks).toBeUndefined();
    // The receiver could not answer (database down): the last counts stay.
    const kept = computeIntegrationStatus({ current: on, generation: 1, suspended: false, staticIssues: [], worker: worker(), now: T0, realTime: { webhooks: true, interval: '5m' } });
    expect(kept.webhooks).toEqual(on.webhooks);
  });

  it('keeps lastTransitionTime while the status stays, moves it when the status changes', () => {
    const first = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker(), now: T0 });
    const same = computeIntegrationStatus({ current: first, generation: 2, suspended: false, staticIssues: [], worker: worker({ generation: 2 }), now: T1 });
    expect(cond(same, 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-11-23T10:00:00Z', observedGeneration: 2 });
    const suspended = computeIntegrationStatus({ current: same, generation: 3, suspended: true, staticIssues: [], worker: worker(), now: T1 });
    expect(cond(suspended, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended', lastTransitionTime: '2026-11-23T10:05:00Z' });
    expect(jsonEqual(computeIntegrationStatus({ current: suspended, generation: 3, suspended: true, staticIssues: [], worker: worker(), now: T1 }), suspended)).toBe(true);
  });

  it('a new generation not yet applied by a cycle shows Reconciling/Syncing', () => {
    const s = computeIntegrationStatus({ generation: 2, suspended: false, staticIssues: [], worker: worker({ generation: 2, completedGeneration: 1 }), now: T0 });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Syncing' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True' });
  });

  it('authentication failure: Ready False/AuthenticationFailed and Stalled', () => {
    const s = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker({ failure: { category: 'Authentication', message: 'token rejected (401)' } }), now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'AuthenticationFailed', message: 'Authentication: token rejected (401)' });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
  });

  it('rate limit and target failures are not Stalled', () => {
    const rl = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker({ failure: { category: 'RateLimit', message: 'daily budget spent' } }), now: T0 });
    expect(cond(rl, 'Ready')).toMatchObject({ reason: 'RateLimited' });
    expect(cond(rl, 'Stalled')).toBeUndefined();
    const db = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker({ failure: { category: 'Target', message: 'connection refused' } }), now: T0 });
    expect(cond(db, 'Ready')).toMatchObject({ reason: 'TargetUnavailable' });
  });

  it('invalid spec names the field and stalls; it wins over suspend', () => {
    const s = computeIntegrationStatus({
      generation: 1, suspended: true, staticIssues: ['spec.target.postgres.connectionSecretRef: Secret "db" not found in namespace crm'],
      worker: worker({ specIssues: [{ kind: 'FieldMapping', name: 'fm', field: 'spec.fields[1].property', message: 'unknown HubSpot property "nope"' }] }), now: T0,
    });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(cond(s, 'Ready')!.message).toContain('spec.fields[1].property');
    expect(cond(s, 'Ready')!.message).toContain('Secret "db" not found');
    expect(cond(s, 'Stalled')).toMatchObject({ reason: 'InvalidSpec' });
  });

  it('record failures: Degraded with the largest category while Ready stays True', () => {
    const s = computeIntegrationStatus({
      generation: 1, suspended: false, staticIssues: [],
      worker: worker({ lastReport: report({ errors: [
        { category: 'Duplicate', records: 1, message: 'ambiguous match (contact 7)', lastSeenTime: '2026-11-23T10:00:00Z' },
        { category: 'Validation', records: 3, message: 'Property "email" is not valid (contact 501)', lastSeenTime: '2026-11-23T10:00:00Z' },
      ] }) }), now: T0,
    });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True' });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'Validation' });
    expect(s.errorCount).toBe(4);
    expect(s.errors!.map((e) => e.category)).toEqual(['Duplicate', 'Validation']);
  });

  it('deleting overrides everything', () => {
    const s = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], deleting: { policy: 'Orphan' }, now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting' });
  });
});

describe('transitionEvents', () => {
  it('emits on transitions only', () => {
    const progressing = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker({ initialDone: false, lastSuccessfulSyncTime: undefined, lastReport: undefined }), now: T0 });
    const ready = computeIntegrationStatus({ current: progressing, generation: 1, suspended: false, staticIssues: [], worker: worker(), now: T0 });
    expect(transitionEvents(progressing, ready).map((e) => e.reason).sort()).toEqual(['InitialSyncCompleted', 'Ready']);
    expect(transitionEvents(ready, ready)).toEqual([]);
    const suspended = computeIntegrationStatus({ current: ready, generation: 2, suspended: true, staticIssues: [], worker: worker(), now: T1 });
    expect(transitionEvents(ready, suspended).map((e) => e.reason)).toEqual(['Suspended']);
    const resumed = computeIntegrationStatus({ current: suspended, generation: 3, suspended: false, staticIssues: [], worker: worker(), now: T1 });
    expect(transitionEvents(suspended, resumed).map((e) => e.reason).sort()).toEqual(['Ready', 'Resumed']);
    const failed = computeIntegrationStatus({ current: resumed, generation: 3, suspended: false, staticIssues: [], worker: worker({ failure: { category: 'Authentication', message: '401' } }), now: T1 });
    expect(transitionEvents(resumed, failed)).toEqual([{ type: 'Warning', reason: 'SyncFailed', message: 'Authentication: 401' }]);
  });
});

describe('computeChildStatus', () => {
  it('Ready True when valid, InvalidSpec naming the field otherwise', () => {
    const ok = computeChildStatus<FieldMappingStatus>(undefined, 1, [], { fieldCount: 3 }, T0, '3 fields');
    expect(ok).toMatchObject({ fieldCount: 3, observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    const bad = computeChildStatus<FieldMappingStatus>(ok, 2, ['spec.fields[0].property: unknown property "nope"'], {}, T1, '');
    expect(bad).toMatchObject({ observedGeneration: 2, conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'spec.fields[0].property: unknown property "nope"', lastTransitionTime: '2026-11-23T10:05:00Z' }] });
  });
});

describe('Observe mode (spec.mode Observe)', () => {
  const plan = (create: number): NonNullable<CycleReport['plan']> => ({
    objects: [{ type: 'contacts', toTarget: { create, update: 1, delete: 0 }, toHubSpot: { create: 1, update: 0, delete: 0 }, link: 1, duplicates: 2, wouldFail: 2 }],
    changes: [],
    hubspotWriteRequests: 2,
  });
  const observing = (create: number) =>
    worker({ initialDone: false, lastSuccessfulSyncTime: undefined, lastReport: report({ kind: 'initial', plan: plan(create), objects: [{ type: 'contacts', hubspotRecords: 3, targetRecords: 4, linkedRecords: 0, pendingChanges: 0, lastCycle: { toTarget: { created: 0, updated: 0, deleted: 0 }, toHubSpot: { created: 0, updated: 0, deleted: 0 }, failed: 0 } }] }) });

  it('Ready True/Observed with status.plan, no Reconciling; an Event only when the plan changes', () => {
    const s = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: observing(2), now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Observed' });
    expect(cond(s, 'Ready')!.message).toContain('contacts: table +2 ~1, HubSpot +1, 1 to link, 2 duplicate(s), 2 would fail');
    expect(cond(s, 'Reconciling')).toBeUndefined();
    expect(s.plan).toEqual({ observedTime: '2026-11-23T10:00:00Z', differences: 5, objects: plan(2).objects });
    expect(transitionEvents(undefined, s).map((e) => e.reason).sort()).toEqual(['PlanChanged', 'Ready']);
    const same = computeIntegrationStatus({ current: s, generation: 1, suspended: false, staticIssues: [], worker: observing(2), now: T1 });
    expect(transitionEvents(s, same)).toEqual([]);
    const changed = computeIntegrationStatus({ current: s, generation: 1, suspended: false, staticIssues: [], worker: observing(3), now: T1 });
    expect(transitionEvents(s, changed).map((e) => e.reason)).toEqual(['PlanChanged']);
    // Back to Sync: the plan disappears with the first sync cycle.
    const synced = computeIntegrationStatus({ current: changed, generation: 2, suspended: false, staticIssues: [], worker: worker({ generation: 2, completedGeneration: 2 }), now: T1 });
    expect(synced.plan).toBeUndefined();
    expect(cond(synced, 'Ready')).toMatchObject({ reason: 'Synced' });
  });
});
