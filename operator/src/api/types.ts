/**
 * The resource types of the public API (DESIGN §2), generated from crds/ by `npm run generate`.
 * Import them from here, not from ./generated/, so that the generated file can change shape
 * without touching every importer. Aliases below name the pieces other modules pass around.
 */
export type {
  Condition,
  HubSpotIntegration,
  HubSpotIntegrationSpec,
  HubSpotIntegrationStatus,
  HubSpotConnection,
  HubSpotAuthSpec,
  RateLimitSpec,
  TargetSpec,
  PostgresTargetSpec,
  SyncedObjectSpec,
  ScheduleSpec,
  ObjectSyncStatus,
  CycleCounts,
  ErrorCategoryStatus,
  ApiUsageStatus,
  FieldMapping,
  FieldMappingSpec,
  FieldMappingStatus,
  FieldSpec,
  FieldTransform,
  SyncFilter,
  SyncFilterSpec,
  SyncFilterStatus,
  FilterRule,
} from './generated/types.js';

import type { FieldSpec, FilterRule, HubSpotIntegration, FieldMapping, SyncFilter, SyncedObjectSpec, SyncFilterSpec } from './generated/types.js';

/** Any of the three kinds. */
export type HubSpotResource = HubSpotIntegration | FieldMapping | SyncFilter;
export type ResourceKind = HubSpotResource['kind'];

export type Direction = NonNullable<SyncedObjectSpec['direction']>;
export type ConflictResolution = NonNullable<SyncedObjectSpec['conflictResolution']>;
export type DeletePolicy = NonNullable<NonNullable<SyncedObjectSpec['deletes']>['fromHubSpot']>;
export type FieldMode = NonNullable<FieldSpec['mode']>;
export type CountryCodeForm = NonNullable<NonNullable<FieldSpec['transform']>['countryCode']>;
export type FilterOperator = FilterRule['operator'];
export type FilterAction = NonNullable<SyncFilterSpec['action']>;
export type FilterAppliesTo = NonNullable<SyncFilterSpec['appliesTo']>;
export type DeletionPolicy = NonNullable<HubSpotIntegration['spec']['deletionPolicy']>;
