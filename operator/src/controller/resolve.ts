/**
 * Builds what the sync engine runs from (ResolvedIntegration) out of the informer caches: the
 * integration's spec with defaults, its FieldMappings and SyncFilters, and the credentials read
 * from the referenced Secrets. Problems the controller can see without the engine are returned
 * as issues naming the offending field: a missing Secret or key, two FieldMappings for one
 * object type, a mapping or filter for an object type the integration does not sync.
 * Every credential read is registered with the secret scrubber so it can never be printed.
 */
import { specWithDefaults } from '../api/defaults.js';
import type { FieldMappingSpec, FieldMappingStatus, HubSpotIntegrationSpec, HubSpotIntegrationStatus, SyncFilterSpec, SyncFilterStatus } from '../api/types.js';
import type { HubSpotAuth } from '../hubspot/types.js';
import { secretScrubber } from '../observability/redact.js';
import type { ResolvedIntegration } from '../sync/types.js';
import type { KubeObject } from '../kube/client.js';

export interface IntegrationObject extends KubeObject {
  spec: HubSpotIntegrationSpec;
  status?: HubSpotIntegrationStatus;
}
export interface FieldMappingObject extends KubeObject {
  spec: FieldMappingSpec;
  status?: FieldMappingStatus;
}
export interface SyncFilterObject extends KubeObject {
  spec: SyncFilterSpec;
  status?: SyncFilterStatus;
}
export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Read access to the caches (informers). */
export interface CacheView {
  integration(namespace: string, name: string): IntegrationObject | undefined;
  fieldMappings(namespace: string): FieldMappingObject[];
  syncFilters(namespace: string): SyncFilterObject[];
  secret(namespace: string, name: string): SecretObject | undefined;
}

/** Issues about one child resource (FieldMapping or SyncFilter), by name. */
export type ChildIssues = Map<string, string[]>;

export interface Resolution {
  resolved?: ResolvedIntegration;
  /** Issues on the integration itself (Ready=False/InvalidSpec). */
  issues: string[];
  fieldMappingIssues: ChildIssues;
  syncFilterIssues: ChildIssues;
  /** Names of the children that belong to this integration. */
  fieldMappings: FieldMappingObject[];
  syncFilters: SyncFilterObject[];
  /** Secret names the integration references (to re-enqueue it when they change). */
  secretNames: string[];
  /** The configuration for engine.cleanup(): set whenever the credentials resolve, even with other issues. */
  forCleanup?: ResolvedIntegration;
}

function push(map: ChildIssues, name: string, issue: string): void {
  const list = map.get(name) ?? [];
  list.push(issue);
  map.set(name, list);
}

function secretValue(secret: SecretObject, key: string): string | undefined {
  const raw = secret.data?.[key];
  if (raw !== undefined) return Buffer.from(raw, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function byAge<T extends KubeObject>(a: T, b: T): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta < tb ? -1 : ta > tb ? 1 : a.metadata.name.localeCompare(b.metadata.name);
}

export function referencedSecretNames(spec: HubSpotIntegrationSpec): string[] {
  const names = new Set<string>();
  const auth = spec.hubspot?.auth;
  if (auth?.privateAppToken?.secretRef?.name) names.add(auth.privateAppToken.secretRef.name);
  if (auth?.oauth?.secretRef?.name) names.add(auth.oauth.secretRef.name);
  if (spec.target?.postgres?.connectionSecretRef?.name) names.add(spec.target.postgres.connectionSecretRef.name);
  if (spec.target?.mysql?.connectionSecretRef?.name) names.add(spec.target.mysql.connectionSecretRef.name);
  // The webhook receiver verifies deliveries with this secret, on every replica.
  if (spec.hubspot?.webhooks?.clientSecretRef?.name) names.add(spec.hubspot.webhooks.clientSecretRef.name);
  return [...names];
}

export function resolveIntegration(cache: CacheView, obj: IntegrationObject): Resolution {
  const namespace = obj.metadata.namespace!;
  const name = obj.metadata.name;
  const issues: string[] = [];
  const fieldMappingIssues: ChildIssues = new Map();
  const syncFilterIssues: ChildIssues = new Map();
  const spec = specWithDefaults('HubSpotIntegration', obj.spec);
  const objectTypes = (spec.objects ?? []).map((o) => o.type);

  // Children: FieldMappings and SyncFilters naming this integration.
  const fieldMappings = cache.fieldMappings(namespace).filter((fm) => fm.spec?.integrationRef?.name === name && !fm.metadata.deletionTimestamp).sort(byAge);
  const syncFilters = cache.syncFilters(namespace).filter((sf) => sf.spec?.integrationRef?.name === name && !sf.metadata.deletionTimestamp).sort(byAge);
  const usableMappings: { name: string; spec: FieldMappingSpec }[] = [];
  const byType = new Map<string, FieldMappingObject[]>();
  for (const fm of fieldMappings) {
    if (!objectTypes.includes(fm.spec.objectType)) {
      push(fieldMappingIssues, fm.metadata.name, `spec.objectType: "${fm.spec.objectType}" is not synced by HubSpotIntegration ${name} (spec.objects: ${objectTypes.join(', ')})`);
      continue;
    }
    byType.set(fm.spec.objectType, [...(byType.get(fm.spec.objectType) ?? []), fm]);
  }
  for (const [type, list] of byType) {
    if (list.length > 1) {
      const names = list.map((f) => f.metadata.name);
      const msg = `spec.objectType: FieldMappings ${names.join(', ')} all map ${type} of HubSpotIntegration ${name}; keep exactly one per object type`;
      for (const fm of list) push(fieldMappingIssues, fm.metadata.name, msg);
      issues.push(`FieldMappings ${names.join(', ')} all map ${type}: keep exactly one per object type`);
      continue;
    }
    usableMappings.push({ name: list[0]!.metadata.name, spec: specWithDefaults('FieldMapping', list[0]!.spec) });
  }
  const usableFilters: { name: string; spec: SyncFilterSpec }[] = [];
  for (const sf of syncFilters) {
    if (!objectTypes.includes(sf.spec.objectType)) {
      push(syncFilterIssues, sf.metadata.name, `spec.objectType: "${sf.spec.objectType}" is not synced by HubSpotIntegration ${name} (spec.objects: ${objectTypes.join(', ')})`);
      continue;
    }
    usableFilters.push({ name: sf.metadata.name, spec: specWithDefaults('SyncFilter', sf.spec) });
  }

  // Credentials.
  const readKey = (field: string, secretName: string, key: string): string | undefined => {
    const secret = cache.secret(namespace, secretName);
    if (!secret) {
      issues.push(`${field}: Secret "${secretName}" not found in namespace ${namespace}`);
      return undefined;
    }
    const value = secretValue(secret, key);
    if (value === undefined || value === '') {
      issues.push(`${field}: Secret "${secretName}" has no key "${key}"`);
      return undefined;
    }
    secretScrubber.register(value);
    return value;
  };
  let hubspot: HubSpotAuth | undefined;
  const auth = spec.hubspot.auth;
  if (auth.privateAppToken && auth.oauth) {
    issues.push('spec.hubspot.auth: set exactly one of privateAppToken or oauth, not both');
  } else if (auth.privateAppToken) {
    const key = auth.privateAppToken.secretRef.key ?? 'token';
    const token = readKey('spec.hubspot.auth.privateAppToken.secretRef', auth.privateAppToken.secretRef.name, key);
    if (token !== undefined) hubspot = { kind: 'privateAppToken', token: token.trim() };
  } else if (auth.oauth) {
    const ref = auth.oauth.secretRef.name;
    const clientId = readKey('spec.hubspot.auth.oauth.secretRef', ref, 'clientId');
    const clientSecret = readKey('spec.hubspot.auth.oauth.secretRef', ref, 'clientSecret');
    const refreshToken = readKey('spec.hubspot.auth.oauth.secretRef', ref, 'refreshToken');
    if (clientId && clientSecret && refreshToken) hubspot = { kind: 'oauth', clientId: clientId.trim(), clientSecret: clientSecret.trim(), refreshToken: refreshToken.trim() };
  } else {
    issues.push('spec.hubspot.auth: set one of privateAppToken or oauth');
  }
  // Exactly one of postgres | mysql (the CRD's CEL rule); the connection URL comes from its Secret.
  const dbKind = spec.target.mysql ? 'mysql' : 'postgres';
  const dbRef = spec.target.mysql?.connectionSecretRef ?? spec.target.postgres?.connectionSecretRef;
  if (!dbRef || (spec.target.mysql && spec.target.postgres)) issues.push('spec.target: set exactly one of postgres or mysql');
  const databaseUrl = dbRef ? readKey(`spec.target.${dbKind}.connectionSecretRef`, dbRef.name, dbRef.key ?? 'url')?.trim() : undefined;

  const base = {
    issues,
    fieldMappingIssues,
    syncFilterIssues,
    fieldMappings,
    syncFilters,
    secretNames: referencedSecretNames(spec),
  };
  if (!hubspot || databaseUrl === undefined) return base;
  const resolved: ResolvedIntegration = {
    uid: obj.metadata.uid ?? `${namespace}/${name}`,
    namespace,
    name,
    generation: obj.metadata.generation ?? 1,
    spec,
    fieldMappings: usableMappings,
    filters: usableFilters,
    credentials: { hubspot, databaseUrl },
  };
  return { ...base, forCleanup: resolved, resolved: issues.length === 0 ? resolved : undefined };
}
