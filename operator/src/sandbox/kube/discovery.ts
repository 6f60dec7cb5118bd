/**
 * Legacy API discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`), which kubectl
 * and client libraries fall back to when aggregated discovery is not offered. Resource lists
 * carry short names, categories and subresources, so `kubectl get hsi` and `kubectl get hubspot`
 * resolve.
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
