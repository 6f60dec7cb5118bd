/**
 * Names of the public API (DESIGN §2): group, version, kinds, annotations, finalizer, condition
 * types and reasons. (Per-object-type knowledge: ./object-types.ts.)
 */
import type { ConflictResolution, Direction, FieldMode, FilterOperator, ResourceKind } from './types.js';

export const GROUP = 'hubspot-operator.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
export const CATEGORY = 'hubspot';

export interface KindInfo {
  kind: ResourceKind;
  listKind: string;
  plural: string;
  singular: string;
  shortName: string;
}

export const KINDS = {
  HubSpotIntegration: {
    kind: 'HubSpotIntegration',
    listKind: 'HubSpotIntegrationList',
    plural: 'hubspotintegrations',
    singular: 'hubspotintegration',
    shortName: 'hsi',
  },
  FieldMapping: {
    kind: 'FieldMapping',
    listKind: 'FieldMappingList',
    plural: 'fieldmappings',
    singular: 'fieldmapping',
    shortName: 'fm',
  },
  SyncFilter: {
    kind: 'SyncFilter',
    listKind: 'SyncFilterList',
    plural: 'syncfilters',
    singular: 'syncfilter',
    shortName: 'sf',
  },
} as const satisfies Record<ResourceKind, KindInfo>;

export const RESOURCE_KINDS = Object.keys(KINDS) as ResourceKind[];

/** Annotations a user sets on a HubSpotIntegration; any new value triggers the action once. */
export const ANNOTATIONS = {
  /** Run an incremental cycle now; acknowledged in status.lastHandledSyncRequest. */
  syncRequestedAt: `${GROUP}/sync-requested-at`,
  /** Run a full reconciliation now; acknowledged in status.lastHandledResyncRequest. */
  resyncRequestedAt: `${GROUP}/resync-requested-at`,
  /** "true" releases the cleanup finalizer without cleaning up (when cleanup keeps failing). */
  skipCleanup: `${GROUP}/skip-cleanup`,
} as const;

/** Finalizer on every HubSpotIntegration: removes the sync artifacts per spec.deletionPolicy. */
export const FINALIZER = `${GROUP}/cleanup`;

/** Condition types (DESIGN §2.4). Ready is always present; the others only while True. */
export const CONDITION_TYPES = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Degraded: 'Degraded',
} as const;
export type ConditionType = (typeof CONDITION_TYPES)[keyof typeof CONDITION_TYPES];

/** Reasons of the Ready condition. */
export const READY_REASONS = {
  /** True: a cycle completed without a systemic failure. */
  Synced: 'Synced',
  /** True: spec.mode Observe; a read-only cycle completed and status.plan says what a sync would do. */
  Observed: 'Observed',
  Suspended: 'Suspended',
  InvalidSpec: 'InvalidSpec',
  AuthenticationFailed: 'AuthenticationFailed',
  PermissionDenied: 'PermissionDenied',
  TargetUnavailable: 'TargetUnavailable',
  RateLimited: 'RateLimited',
  SyncFailed: 'SyncFailed',
  Deleting: 'Deleting',
  /** Unknown before the first cycle completes; False while a requirement is being set up. */
  Progressing: 'Progressing',
} as const;
export type ReadyReason = (typeof READY_REASONS)[keyof typeof READY_REASONS];

/** Reasons of the Reconciling condition (present only while True). */
export const RECONCILING_REASONS = {
  InitialSync: 'InitialSync',
  Syncing: 'Syncing',
  Resyncing: 'Resyncing',
} as const;
export type ReconcilingReason = (typeof RECONCILING_REASONS)[keyof typeof RECONCILING_REASONS];

/** Reasons of the Stalled condition: the operator needs a change by the user to progress. */
export const STALLED_REASONS = {
  InvalidSpec: 'InvalidSpec',
  AuthenticationFailed: 'AuthenticationFailed',
  PermissionDenied: 'PermissionDenied',
} as const;
export type StalledReason = (typeof STALLED_REASONS)[keyof typeof STALLED_REASONS];
/* The Degraded reason is the largest error category (ErrorCategory from ./categories.js). */

/** Spec defaults that depend on another resource, so the CRD cannot express them. */
export const DEFAULT_DIRECTION: Direction = 'TwoWay';
export const DEFAULT_CONFLICT_RESOLUTION: ConflictResolution = 'HubSpotWins';
export const DEFAULT_FIELD_MODE: FieldMode = 'Overwrite';

/** Filter operators that take `values` (a list), `value`, or neither. */
export const LIST_OPERATORS: readonly FilterOperator[] = ['In', 'NotIn'];
export const VALUELESS_OPERATORS: readonly FilterOperator[] = ['IsEmpty', 'IsNotEmpty'];
