/**
 * Status of FieldMappings and SyncFilters. Each is validated against its integration: static
 * checks by the controller (unknown integrationRef, object type not synced, a second mapping for
 * one object type) and the engine's check against the real HubSpot properties and target columns
 * (engine.validate(), run by the integration's worker). Ready=False/InvalidSpec names the field.
 */
import { GROUP, KINDS, VERSION } from '../api/constants.js';
import type { Condition, FieldMappingStatus, SyncFilterStatus } from '../api/types.js';
import type { KubeObject, ResourceType } from '../kube/client.js';
import { splitKey, type IntegrationContext } from './integration-reconciler.js';
import { resolveIntegration, type FieldMappingObject, type SyncFilterObject } from './resolve.js';
import { computeChildStatus } from './status.js';

export const FIELD_MAPPING: ResourceType = { group: GROUP, version: VERSION, plural: KINDS.FieldMapping.plural, kind: KINDS.FieldMapping.kind };
export const SYNC_FILTER: ResourceType = { group: GROUP, version: VERSION, plural: KINDS.SyncFilter.plural, kind: KINDS.SyncFilter.kind };

export interface ChildContext extends IntegrationContext {
  /** Set when this operator handles only some integrations (--shard): unknown refs may belong to another shard. */
  sharded: boolean;
  fieldMapping(namespace: string, name: string): FieldMappingObject | undefined;
  syncFilter(namespace: string, name: string): SyncFilterObject | undefined;
}

function issuesFor(ctx: ChildContext, kind: 'FieldMapping' | 'SyncFilter', namespace: string, name: string, integrationName: string): string[] | undefined {
  const integration = ctx.cache.integration(namespace, integrationName);
  if (!integration) {
    if (ctx.sharded) return undefined; // another operator shard owns it
    return [`spec.integrationRef.name: HubSpotIntegration "${integrationName}" not found in namespace ${namespace}`];
  }
  const res = resolveIntegration(ctx.cache, integration);
  const own = (kind === 'FieldMapping' ? res.fieldMappingIssues : res.syncFilterIssues).get(name) ?? [];
  const worker = ctx.workers.get(`${namespace}/${integrationName}`);
  const engine = (worker?.state.specIssues ?? []).filter((i) => i.kind === kind && i.name === name).map((i) => `${i.field}: ${i.message}`);
  return [...own, ...engine];
}

export async function reconcileFieldMapping(ctx: ChildContext, key: string): Promise<void> {
  const [namespace, name] = splitKey(key);
  const obj = ctx.fieldMapping(namespace, name);
  if (!obj || obj.metadata.deletionTimestamp) return;
  const issues = issuesFor(ctx, 'FieldMapping', namespace, name, obj.spec.integrationRef.name);
  if (!issues) return;
  const fieldCount = obj.spec.fields?.length ?? 0;
  const res = await ctx.statusWriter.write(FIELD_MAPPING, obj, (current) =>
    computeChildStatus<FieldMappingStatus>(current.status, current.metadata.generation ?? 1, issues, { fieldCount }, new Date(ctx.clock.now()),
      `${fieldCount} field(s) mapped for ${obj.spec.objectType} of ${obj.spec.integrationRef.name}`),
  );
  if (res?.wrote) invalidSpecEvent(ctx, res.obj, res.previous?.conditions, res.obj.status?.conditions);
}

export async function reconcileSyncFilter(ctx: ChildContext, key: string): Promise<void> {
  const [namespace, name] = splitKey(key);
  const obj = ctx.syncFilter(namespace, name);
  if (!obj || obj.metadata.deletionTimestamp) return;
  const integrationName = obj.spec.integrationRef.name;
  const issues = issuesFor(ctx, 'SyncFilter', namespace, name, integrationName);
  if (!issues) return;
  const report = ctx.workers.get(`${namespace}/${integrationName}`)?.state.lastReport;
  const matched = report?.objects.find((o) => o.type === obj.spec.objectType)?.filterMatches?.[name];
  const extra: Partial<SyncFilterStatus> = matched !== undefined ? { matchedRecords: matched } : {};
  const rules = obj.spec.rules?.length ?? 0;
  const res = await ctx.statusWriter.write(SYNC_FILTER, obj, (current) =>
    computeChildStatus<SyncFilterStatus>(current.status, current.metadata.generation ?? 1, issues, extra, new Date(ctx.clock.now()),
      `${rules} rule(s) on ${obj.spec.objectType} of ${integrationName}`),
  );
  if (res?.wrote) invalidSpecEvent(ctx, res.obj, res.previous?.conditions, res.obj.status?.conditions);
}

/** A Warning Event when a child becomes invalid or its problem changes. */
function invalidSpecEvent(ctx: ChildContext, obj: KubeObject, before: Condition[] | undefined, after: Condition[] | undefined): void {
  const was = before?.find((c) => c.type === 'Ready');
  const now = after?.find((c) => c.type === 'Ready');
  if (now?.reason === 'InvalidSpec' && (was?.reason !== 'InvalidSpec' || was.message !== now.message)) {
    ctx.events.record(obj, 'Warning', 'InvalidSpec', now.message);
  }
}
