/**
 * OpenAPI v3 per group/version (`/openapi/v3` and `/openapi/v3/apis/<group>/<version>`), the
 * documents `kubectl explain` reads field descriptions from and kubectl apply consults to learn
 * that the server validates fields itself (the `fieldValidation` query parameter on PATCH).
 * CRD schemas are published as given, plus apiVersion/kind/metadata as kube-apiserver adds them.
 */
import { createHash } from 'node:crypto';
import type { Registry } from './registry.js';
import { groupVersion, type Json, type ResourceType, type Schema } from './types.js';

/** Reverse-DNS model name, e.g. `dev.hubspot-operator.v1alpha1.HubSpotIntegration`. */
function modelName(rt: ResourceType): string {
  const g = rt.group ? rt.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${g}.${rt.version}.${rt.kind}`;
}

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

const objectMetaSchema: Json = {
  description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Name must be unique within a namespace.' },
    namespace: { type: 'string', description: 'Namespace defines the space within which each name must be unique.' },
    labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Map of string keys and values that can be used to organize and categorize objects.' },
    annotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'Annotations is an unstructured key value map stored with a resource.' },
    finalizers: { type: 'array', items: { type: 'string' }, description: 'Must be empty before the object is deleted from the registry.' },
    generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state.' },
    resourceVersion: { type: 'string', description: 'An opaque value that represents the internal version of this object.' },
    uid: { type: 'string', description: 'UID is the unique in time and space value for this object.' },
    creationTimestamp: { type: 'string', format: 'date-time', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' },
    deletionTimestamp: { type: 'string', format: 'date-time', description: 'DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.' },
  },
};

/** The published model: the CRD schema (or an open object for built-ins) plus apiVersion, kind and metadata. */
function rootSchema(rt: ResourceType): Json {
  const base: Schema = rt.schema ? structuredClone(rt.schema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  // The CRD's own apiVersion/kind descriptions win; metadata is always ObjectMeta, as kube-apiserver publishes it.
  base.properties = {
    apiVersion: {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
    },
    kind: {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to.',
    },
    ...(base.properties ?? {}),
    metadata: { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], description: "Standard object's metadata." } as Schema,
  };
  return { ...base, 'x-kubernetes-group-version-kind': [{ group: rt.group, version: rt.version, kind: rt.kind }] } as unknown as Json;
}

function resourcePath(rt: ResourceType): string {
  const prefix = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  return rt.namespaced ? `${prefix}/namespaces/{namespace}/${rt.plural}/{name}` : `${prefix}/${rt.plural}/{name}`;
}

export function openApiDocument(registry: Registry, group: string, version: string): Json {
  const paths: { [k: string]: Json } = {};
  const schemas: { [k: string]: Json } = { [OBJECT_META]: objectMetaSchema };
  for (const rt of registry.resources(group, version)) {
    const ref = { $ref: `#/components/schemas/${modelName(rt)}` };
    const gvk = { group: rt.group, version: rt.version, kind: rt.kind };
    const patchContent: { [k: string]: Json } = {
      'application/json-patch+json': { schema: { type: 'object' } },
      'application/merge-patch+json': { schema: { type: 'object' } },
    };
    paths[resourcePath(rt)] = {
      get: { operationId: `read${rt.kind}`, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk, responses: { '200': { content: { 'application/json': { schema: ref } } } } },
      put: {
        operationId: `replace${rt.kind}`,
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        requestBody: { content: { 'application/json': { schema: ref } } },
        responses: { '200': { content: { 'application/json': { schema: ref } } } },
      },
      patch: {
        operationId: `patch${rt.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        ],
        requestBody: { content: patchContent },
        responses: { '200': { content: { 'application/json': { schema: ref } } } },
      },
    };
    schemas[modelName(rt)] = rootSchema(rt);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

/** The `/openapi/v3` index: one entry per group/version, with a content hash like kube-apiserver. */
export function openApiIndex(registry: Registry): Json {
  const paths: { [k: string]: Json } = {};
  const seen = new Set<string>();
  for (const rt of registry.all()) {
    const gv = groupVersion(rt);
    if (seen.has(gv)) continue;
    seen.add(gv);
    const key = rt.group ? `apis/${gv}` : `api/${gv}`;
    const hash = createHash('sha512').update(JSON.stringify(openApiDocument(registry, rt.group, rt.version))).digest('hex').slice(0, 64).toUpperCase();
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}
