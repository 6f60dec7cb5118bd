/**
 * Status computation (DESIGN §2.4), pure: from the observed resource, the problems found in its
 * configuration and the sync worker's state, the status the resource should have. Ready is
 * always present; Reconciling, Stalled and Degraded only while True; lastTransitionTime moves
 * only when a condition's status changes (api/conditions.ts); equal inputs give an equal status,
 * so the writer can skip writes that would change nothing.
 */
import { CONDITION_TYPES, READY_REASONS, RECONCILING_REASONS } from '../api/constants.js';
import { readyReasonFor, readyReasonPolicy } from '../api/reasons.js';
import { removeCondition, setCondition, type ConditionInput } from '../api/conditions.js';
import type { Condition, ErrorCategoryStatus, FieldMappingStatus, HubSpotIntegrationStatus, ObjectSyncStatus, SyncFilterStatus } from '../api/types.js';
import type { CycleReport, SpecIssue } from '../sync/types.js';
import { planDifferences, type WorkerState } from './worker.js';

const READY = CONDITION_TYPES.Ready;

export interface IntegrationStatusInput {
  current?: HubSpotIntegrationStatus;
  generation: number;
  suspended: boolean;
  /** Set while the resource is being deleted (finalizer running). */
  deleting?: { policy: string; cleanupError?: string };
  /** Problems the controller found without the engine: missing Secret, duplicate FieldMapping... */
  staticIssues: string[];
  worker?: Readonly<WorkerState>;
  now: Date;
  /**
   * How HubSpot changes arrive (DESIGN §2.8): webhooks configured (spec.hubspot.webhooks) or
   * polling only; `status` is status.webhooks from the receiver (left as it is when absent).
   */
  realTime?: { webhooks: boolean; interval: string; status?: { lastEventTime?: string; eventsLast24h: number; rejectedLast24h: number } };
}

export { readyReasonFor };

export function describeIssue(i: SpecIssue): string {
  return `${i.kind} ${i.name}: ${i.field}: ${i.message}`;
}

function objectSummary(objects: ObjectSyncStatus[] | undefined): string {
  if (!objects?.length) return '';
  return objects.map((o) => `${o.type} ${o.linkedRecords ?? 0} linked`).join(', ');
}

export function computeIntegrationStatus(input: IntegrationStatusInput): HubSpotIntegrationStatus {
  const { current, generation, worker, now } = input;
  const status: HubSpotIntegrationStatus = {
    ...(current ?? {}),
    observedGeneration: generation,
  };
  if (worker) {
    assign(status, 'portalId', worker.portalId ?? current?.portalId);
    assign(status, 'lastSyncTime', worker.lastSyncTime ?? current?.lastSyncTime);
    assign(status, 'lastSuccessfulSyncTime', worker.lastSuccessfulSyncTime ?? current?.lastSuccessfulSyncTime);
    assign(status, 'lastFullResyncTime', worker.lastFullResyncTime ?? current?.lastFullResyncTime);
    assign(status, 'lastHandledSyncRequest', worker.handledSyncRequest ?? current?.lastHandledSyncRequest);
    assign(status, 'lastHandledResyncRequest', worker.handledResyncRequest ?? current?.lastHandledResyncRequest);
    if (worker.lastReport) applyReport(status, worker.lastReport);
  }
  if (input.realTime?.webhooks && input.realTime.status) status.webhooks = { ...input.realTime.status };
  else if (input.realTime && !input.realTime.webhooks) delete status.webhooks;

  let conditions: Condition[] = (current?.conditions ?? []).map((c) => ({ ...c }));
  const set = (c: Omit<ConditionInput, 'observedGeneration'>) => {
    conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now);
  };
  const clear = (type: string) => {
    conditions = removeCondition(conditions, type);
  };

  const specIssues = worker?.specIssues.map(describeIssue) ?? [];
  const invalid = [...input.staticIssues, ...specIssues];
  const failure = worker?.failure;
  const completedOnce = Boolean(status.lastSuccessfulSyncTime);

  // Ready: the first matching rule wins.
  let ready: Omit<ConditionInput, 'observedGeneration'>;
  if (input.deleting) {
    const why = input.deleting.cleanupError ? `; cleanup failed, retrying: ${input.deleting.cleanupError}` : '';
    ready = { type: READY, status: 'False', reason: READY_REASONS.Deleting, message: `Deleting: removing sync artifacts (deletionPolicy ${input.deleting.policy})${why}` };
  } else if (invalid.length > 0) {
    ready = { type: READY, status: 'False', reason: READY_REASONS.InvalidSpec, message: invalid.join('; ') };
  } else if (input.suspended) {
    ready = { type: READY, status: 'False', reason: READY_REASONS.Suspended, message: 'Suspended: no reads or writes on either side until spec.suspend is false; changes in the database keep being captured' };
  } else if (failure) {
    const reason = readyReasonFor(failure.category, failure.reason);
    ready = { type: READY, status: 'False', reason, message: failure.category ? `${failure.category}: ${failure.message}` : failure.message };
  } else if (worker?.lastReport?.plan) {
    ready = { type: READY, status: 'True', reason: READY_REASONS.Observed, message: `Observed (spec.mode Observe, nothing written): ${planSummary(worker.lastReport.plan)}` };
  } else if (!completedOnce) {
    ready = { type: READY, status: 'Unknown', reason: READY_REASONS.Progressing, message: 'Initial import in progress' };
  } else {
    const how = input.realTime ? (input.realTime.webhooks ? '; webhooks on' : `; polling every ${input.realTime.interval}`) : '';
    ready = { type: READY, status: 'True', reason: READY_REASONS.Synced, message: `Synced: ${objectSummary(status.objects)}${how}` };
  }
  set(ready);

  // Reconciling: the initial import, a full resync, or a new configuration not yet applied by a cycle.
  const blocked = Boolean(input.deleting) || invalid.length > 0 || input.suspended;
  let reconciling: Omit<ConditionInput, 'observedGeneration'> | undefined;
  if (!blocked && worker) {
    if (worker.lastReport?.plan) {
      // Observe mode: nothing is being imported.
    } else if (!worker.initialDone && !failure) {
      reconciling = { type: CONDITION_TYPES.Reconciling, status: 'True', reason: RECONCILING_REASONS.InitialSync, message: 'Importing and linking existing records' };
    } else if (worker.running === 'full') {
      reconciling = { type: CONDITION_TYPES.Reconciling, status: 'True', reason: RECONCILING_REASONS.Resyncing, message: 'Full reconciliation in progress' };
    } else if (!failure && (worker.completedGeneration ?? -1) < generation && worker.initialDone && worker.completedGeneration !== undefined) {
      reconciling = { type: CONDITION_TYPES.Reconciling, status: 'True', reason: RECONCILING_REASONS.Syncing, message: `Applying generation ${generation}` };
    }
  }
  if (reconciling) set(reconciling);
  else clear(CONDITION_TYPES.Reconciling);

  // Stalled: only a change by the user helps.
  if (readyReasonPolicy(ready.reason)?.stalled) {
    set({ type: CONDITION_TYPES.Stalled, status: 'True', reason: ready.reason, message: ready.message });
  } else {
    clear(CONDITION_TYPES.Stalled);
  }

  // Degraded: working, but records are failing.
  const errors = status.errors ?? [];
  if (ready.status === 'True' && errors.length > 0) {
    const largest = [...errors].sort((a, b) => b.records - a.records || a.category.localeCompare(b.category))[0]!;
    set({ type: CONDITION_TYPES.Degraded, status: 'True', reason: largest.category, message: degradedMessage(errors) });
  } else {
    clear(CONDITION_TYPES.Degraded);
  }

  // Ready first, then the others in a stable order, for readable `kubectl get -o yaml`.
  const order: string[] = [READY, CONDITION_TYPES.Reconciling, CONDITION_TYPES.Stalled, CONDITION_TYPES.Degraded];
  status.conditions = conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  return status;
}

export function degradedMessage(errors: ErrorCategoryStatus[]): string {
  const total = errors.reduce((n, e) => n + e.records, 0);
  const parts = [...errors].sort((a, b) => b.records - a.records).map((e) => `${e.category} ${e.records}`);
  const first = [...errors].sort((a, b) => b.records - a.records)[0];
  return `${total} record(s) failing (${parts.join(', ')})${first?.message ? `: ${first.message}` : ''}`;
}

function applyReport(status: HubSpotIntegrationStatus, report: CycleReport): void {
  if (report.objects.length > 0) {
    status.objects = report.objects.map((o) => ({
      type: o.type,
      hubspotRecords: o.hubspotRecords,
      targetRecords: o.targetRecords,
      linkedRecords: o.linkedRecords,
      pendingChanges: o.pendingChanges,
      ...(o.associations ? { associations: { ...o.associations } } : {}),
      lastCycle: {
        toTarget: { ...o.lastCycle.toTarget },
        toHubSpot: { ...o.lastCycle.toHubSpot },
        failed: o.lastCycle.failed,
      },
    }));
  }
  const errors = report.errors
    .filter((e) => e.records > 0)
    .map((e) => ({ category: e.category, records: e.records, message: e.message, lastSeenTime: e.lastSeenTime }))
    .sort((a, b) => a.category.localeCompare(b.category));
  status.errors = errors;
  status.errorCount = errors.reduce((n, e) => n + e.records, 0);
  status.apiUsage = { ...report.apiUsage };
  if (report.plan) {
    status.plan = {
      observedTime: report.finishedAt,
      differences: planDifferences(report.plan),
      objects: report.plan.objects.map((o) => ({ type: o.type, toTarget: { ...o.toTarget }, toHubSpot: { ...o.toHubSpot }, link: o.link, duplicates: o.duplicates, wouldFail: o.wouldFail })),
    };
  } else {
    delete status.plan;
  }
}

/** One line per object type of what a sync would do, e.g. "contacts: table +2 ~1, HubSpot +1, 1 to link, 2 would fail". */
export function planSummary(plan: NonNullable<CycleReport['plan']>): string {
  const ops = (o: { create: number; update: number; delete: number }) =>
    [o.create ? `+${o.create}` : '', o.update ? `~${o.update}` : '', o.delete ? `-${o.delete}` : ''].filter(Boolean).join(' ');
  const parts = plan.objects.map((o) => {
    const bits = [
      ops(o.toTarget) && `table ${ops(o.toTarget)}`,
      ops(o.toHubSpot) && `HubSpot ${ops(o.toHubSpot)}`,
      o.link ? `${o.link} to link` : '',
      o.duplicates ? `${o.duplicates} duplicate(s)` : '',
      o.wouldFail ? `${o.wouldFail} would fail` : '',
    ].filter(Boolean);
    return `${o.type}: ${bits.length ? bits.join(', ') : 'no differences'}`;
  });
  return parts.join('; ');
}

function assign<K extends keyof HubSpotIntegrationStatus>(s: HubSpotIntegrationStatus, key: K, value: HubSpotIntegrationStatus[K] | undefined): void {
  if (value === undefined) delete s[key];
  else s[key] = value;
}

/** Status of a FieldMapping or SyncFilter: Ready, or InvalidSpec naming every offending field. */
export function computeChildStatus<S extends FieldMappingStatus | SyncFilterStatus>(
  current: S | undefined,
  generation: number,
  issues: string[],
  extra: Partial<S>,
  now: Date,
  readyMessage: string,
): S {
  const status = { ...(current ?? {}), ...extra, observedGeneration: generation } as S;
  const ready: ConditionInput =
    issues.length > 0
      ? { type: READY, status: 'False', reason: READY_REASONS.InvalidSpec, message: issues.join('; '), observedGeneration: generation }
      : { type: READY, status: 'True', reason: 'Valid', message: readyMessage, observedGeneration: generation };
  status.conditions = setCondition(current?.conditions, ready, now);
  for (const k of Object.keys(status) as (keyof S)[]) if (status[k] === undefined) delete status[k];
  return status;
}

/** Deep equality of two JSON values (for "write status only when it changed"). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

