/**
 * Contract between the controller (operator/src/controller) and the sync engine
 * (operator/src/sync). The controller owns scheduling, annotations, suspend and status; the
 * engine owns everything that touches HubSpot and the target database. Extend compatibly.
 */
import type { ErrorCategory } from '../api/categories.js';
import type { HubSpotAuth } from '../hubspot/types.js';
import type { HubSpotIntegrationSpec, FieldMappingSpec, SyncFilterSpec } from '../api/types.js';

export interface ResolvedIntegration {
  uid: string;
  namespace: string;
  name: string;
  generation: number;
  /** Spec with CRD defaults applied. */
  spec: HubSpotIntegrationSpec;
  /** FieldMappings of this integration (name + spec), at most one per object type. */
  fieldMappings: { name: string; spec: FieldMappingSpec }[];
  filters: { name: string; spec: SyncFilterSpec }[];
  credentials: { hubspot: HubSpotAuth; databaseUrl: string };
}

export type CycleKind = 'initial' | 'incremental' | 'full';
export type SyncDirection = 'toTarget' | 'toHubSpot';
export type SyncOperation = 'created' | 'updated' | 'deleted' | 'associate' | 'dissociate';

export interface OperationCounts {
  created: number;
  updated: number;
  deleted: number;
}

export interface ObjectReport {
  type: string;
  hubspotRecords: number;
  targetRecords: number;
  linkedRecords: number;
  pendingChanges: number;
  lastCycle: { toTarget: OperationCounts; toHubSpot: OperationCounts; failed: number };
  /** Filter name -> records matched in this cycle (SyncFilter status.matchedRecords). */
  filterMatches?: Record<string, number>;
  /** Associations of the type's spec.objects[].associations (all entries together). */
  associations?: { linked: number; pending: number };
}

export interface ErrorSummary {
  category: ErrorCategory;
  records: number;
  /** One representative message naming a failing record. */
  message: string;
  lastSeenTime: string;
}

export interface CycleReport {
  kind: CycleKind;
  startedAt: string;
  finishedAt: string;
  /** False when the cycle stopped early (systemic error or abort). */
  completed: boolean;
  portalId?: number;
  objects: ObjectReport[];
  /** Current failing records grouped by category (not only this cycle's). */
  errors: ErrorSummary[];
  /** Set when a systemic failure stopped the cycle (Authentication, Permission, RateLimit, Target unreachable...). */
  systemic?: { category: ErrorCategory; reason: string; message: string };
  apiUsage: { requestsLast24h: number; rateLimitedLast24h: number; dailyBudget: number };
  /** Age in seconds of the oldest captured but unapplied target change (0 when none). */
  syncLagSeconds: number;
  /** Set in Observe mode (spec.mode: Observe): the plan a sync would carry out; nothing was written. */
  plan?: ObservedPlan;
}

/** A problem found in the configuration against the real HubSpot properties and target columns. */
export interface SpecIssue {
  kind: 'HubSpotIntegration' | 'FieldMapping' | 'SyncFilter';
  name: string;
  /** JSON path of the offending field, e.g. spec.fields[2].property */
  field: string;
  message: string;
}

/** Hooks the controller wires to Prometheus; the engine never imports the metrics registry. */
export interface SyncObserver {
  recordsSynced?(objectType: string, direction: SyncDirection, operation: SyncOperation, count: number): void;
  syncErrors?(objectType: string, category: ErrorCategory, count: number): void;
  apiRequest?(kind: string, code: number, rateLimited: boolean): void;
  /** Initial import progress, for the sandbox's progress line. */
  progress?(objectType: string, phase: string, done: number, total?: number): void;
}

export interface SyncEngine {
  /** Check mappings/filters against HubSpot properties and target columns; empty = valid. */
  validate(signal?: AbortSignal): Promise<SpecIssue[]>;
  /** Run one cycle. Aborting the signal stops at the next batch boundary (the batch in flight completes and is recorded). */
  /**
   * `retryNow`: every failing record is retried in this cycle, whatever its backoff (a sync or
   * resync request). A full cycle and the first cycle of an engine (a new config) retry all too.
   */
  runCycle(kind: CycleKind, signal: AbortSignal, opts?: { retryNow?: boolean }): Promise<CycleReport>;
  /** Resolves when the target captured a change (NOTIFY) or the signal aborts. */
  waitForTargetChange(signal: AbortSignal): Promise<void>;
  /** Remove triggers, outbox and state rows of this integration (Delete) or keep them (Orphan). Never business data. */
  cleanup(policy: 'Delete' | 'Orphan'): Promise<void>;
  close(): Promise<void>;
}

/** Observe mode (DESIGN §2.9): what a sync would do to one object type. */
export interface PlanOps {
  create: number;
  update: number;
  delete: number;
}

export interface ObjectPlanSummary {
  type: string;
  toTarget: PlanOps;
  toHubSpot: PlanOps;
  /** Existing records on both sides a sync would link (by match key). */
  link: number;
  /** Records a sync would refuse as duplicates (category Duplicate). */
  duplicates: number;
  /** Records a sync would fail (every category, duplicates included). */
  wouldFail: number;
}

/** One planned write with its field-level diff (before: current value, absent when unknown). */
export interface PlanChange {
  objectType: string;
  direction: SyncDirection;
  operation: 'create' | 'update' | 'delete';
  hubspotId?: string;
  targetKey?: string;
  fields: Record<string, { before?: string | null; after: string | null }>;
}

export interface ObservedPlan {
  objects: ObjectPlanSummary[];
  /** Field-level changes, at most PLAN_DETAIL_LIMIT per object type and direction. */
  changes: PlanChange[];
  /** HubSpot write requests the sync would send (none was sent). */
  hubspotWriteRequests: number;
}
