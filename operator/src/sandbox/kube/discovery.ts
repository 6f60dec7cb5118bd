/**
 * API discovery: the aggregated form (apidiscovery.k8s.io/v2 at `/api` and `/apis`, one request
 * for everything, what kubectl 1.30+ and client-go ask for first) and the legacy form (`/api`,
 * `/api/v1`, `/apis`, `/apis/<group>/<version>`). Resources carry short names, categories and
 * subresources, so `kubectl get hsi` and `kubectl get hubspot` resolve.
 */
import { createHash } from 'node:crypto';
import type { Registry } from './registry.js';
import type { Json, ResourceType } from './types.js';

export function apiVersions(serverAddress: string): Json {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupJson(name: string, versions: string[]): Json {
  const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: list, preferredVersion: list[0] };
}

export function apiGroupList(registry: Registry): Json {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().map((g) => groupJson(g.name, g.versions)),
  };
}

export function apiGroup(registry: Registry, group: string): Json | undefined {
  const g = registry.groups().find((x) => x.name === group);
  if (!g) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...(groupJson(g.name, g.versions) as object) };
}

function storageVersionHash(rt: ResourceType): string {
  return createHash('sha256').update(`${rt.group}/${rt.version}/${rt.kind}`).digest('base64').slice(0, 11);
}

export function apiResourceList(registry: Registry, group: string, version: string): Json {
  const resources: Json[] = [];
  for (const rt of registry.resources(group, version).sort((a, b) => a.plural.localeCompare(b.plural))) {
    const r: { [k: string]: Json } = {
      name: rt.plural,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: rt.verbs,
      storageVersionHash: storageVersionHash(rt),
    };
    if (rt.shortNames.length) r.shortNames = rt.shortNames;
    if (rt.categories.length) r.categories = rt.categories;
    resources.push(r);
    if (rt.statusSubresource) {
      resources.push({ name: `${rt.plural}/status`, singularName: '', namespaced: rt.namespaced, kind: rt.kind, verbs: ['get', 'patch', 'update'] });
    }
    for (const sub of rt.extraSubresources ?? []) {
      resources.push({ name: `${rt.plural}/${sub.name}`, singularName: '', namespaced: rt.namespaced, group: sub.group, version: sub.version, kind: sub.kind, verbs: sub.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

// --- aggregated discovery (apidiscovery.k8s.io/v2) -------------------------------------------

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** True when the Accept header asks for aggregated discovery v2 (clients list it before plain JSON). */
export function wantsAggregated(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((e) => {
    const params = e.split(';').map((p) => p.trim());
    return params[0] === 'application/json' && params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList');
  });
}

function aggregatedResource(rt: ResourceType): Json {
  const kind = { group: rt.group, version: rt.version, kind: rt.kind };
  const r: { [k: string]: Json } = {
    resource: rt.plural,
    responseKind: kind,
    scope: rt.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: rt.singular,
    verbs: rt.verbs,
  };
  if (rt.shortNames.length) r.shortNames = rt.shortNames;
  if (rt.categories.length) r.categories = rt.categories;
  const subresources: Json[] = [];
  if (rt.statusSubresource) subresources.push({ subresource: 'status', responseKind: kind, verbs: ['get', 'patch', 'update'] });
  for (const sub of rt.extraSubresources ?? []) {
    subresources.push({ subresource: sub.name, responseKind: { group: sub.group, version: sub.version, kind: sub.kind }, verbs: sub.verbs });
  }
  if (subresources.length) r.subresources = subresources;
  return r;
}

function aggregatedGroup(registry: Registry, group: string, versions: string[]): Json {
  return {
    metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
    versions: versions.map((version) => ({
      version,
      resources: registry.resources(group, version).sort((a, b) => a.plural.localeCompare(b.plural)).map(aggregatedResource),
      freshness: 'Current',
    })),
  };
}

/** `/api` (core group) or `/apis` (named groups) as one APIGroupDiscoveryList. */
export function aggregatedDiscovery(registry: Registry, core: boolean): Json {
  const items = core ? [aggregatedGroup(registry, '', ['v1'])] : registry.groups().map((g) => aggregatedGroup(registry, g.name, g.versions));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
