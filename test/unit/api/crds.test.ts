import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../../operator/scripts/generate.js';
import { readCrds } from '../../../operator/scripts/crd-source.js';
import { API_VERSION, CATEGORY, GROUP, KINDS, VERSION } from '../../../operator/src/api/constants.js';
import type { OpenAPISchema } from '../../../operator/src/api/schema-types.js';

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames: string[]; categories: string[]; listKind: string };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
    }[];
  };
}

const crdsDir = join(REPO_ROOT, 'crds');
const crds = readCrds(crdsDir).map((source) => ({ source, manifest: parse(readFileSync(join(crdsDir, source.file), 'utf8')) as Crd }));

/** Every schema node with its path, for the structural checks. */
function nodes(schema: OpenAPISchema, path = ''): { path: string; node: OpenAPISchema }[] {
  const out = [{ path, node: schema }];
  for (const [k, v] of Object.entries(schema.properties ?? {})) out.push(...nodes(v, path ? `${path}.${k}` : k));
  if (schema.items) out.push(...nodes(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object') out.push(...nodes(schema.additionalProperties, `${path}{}`));
  return out;
}

describe('crds/', () => {
  it('holds exactly the three kinds, matching the constants', () => {
    expect(crds.map((c) => c.source.kind).sort()).toEqual(['FieldMapping', 'HubSpotIntegration', 'SyncFilter']);
    for (const { manifest } of crds) {
      const info = KINDS[manifest.spec.names.kind as keyof typeof KINDS];
      expect(manifest.spec.group).toBe(GROUP);
      expect(manifest.spec.scope).toBe('Namespaced');
      expect(manifest.spec.names).toMatchObject({ plural: info.plural, singular: info.singular, listKind: info.listKind, shortNames: [info.shortName], categories: [CATEGORY] });
      expect(manifest.spec.versions).toHaveLength(1);
      expect(manifest.spec.versions[0]).toMatchObject({ name: VERSION, served: true, storage: true, subresources: { status: {} } });
    }
    expect(API_VERSION).toBe('hubspot-operator.dev/v1alpha1');
  });

  it('HubSpotIntegration has the printer columns of DESIGN §2.1', () => {
    const hsi = crds.find((c) => c.source.kind === 'HubSpotIntegration')!.manifest;
    const columns = hsi.spec.versions[0]!.additionalPrinterColumns!.map((c) => [c.name.toUpperCase(), c.type, c.jsonPath, c.priority ?? 0]);
    expect(columns).toEqual([
      ['READY', 'string', '.status.conditions[?(@.type=="Ready")].status', 0],
      ['SUSPENDED', 'boolean', '.spec.suspend', 0],
      ['ERRORS', 'integer', '.status.errorCount', 0],
      ['LAST SYNC', 'date', '.status.lastSyncTime', 0],
      ['STATUS', 'string', '.status.conditions[?(@.type=="Ready")].message', 1],
      ['AGE', 'date', '.metadata.creationTimestamp', 0],
    ]);
  });

  it('FieldMapping and SyncFilter show their integration, object type and readiness', () => {
    for (const kind of ['FieldMapping', 'SyncFilter']) {
      const crd = crds.find((c) => c.source.kind === kind)!.manifest;
      const names = crd.spec.versions[0]!.additionalPrinterColumns!.map((c) => c.name.toUpperCase());
      expect(names).toEqual(expect.arrayContaining(['INTEGRATION', 'OBJECT', 'READY', 'AGE']));
    }
  });

  for (const { source } of crds) {
    describe(source.kind, () => {
      const all = nodes(source.schema);

      it('is structural: every node has a type, nothing preserves unknown fields', () => {
        for (const { path, node } of all) {
          expect(node.type, `${path} has no type`).toBeDefined();
          expect(node['x-kubernetes-preserve-unknown-fields'], path).toBeUndefined();
        }
      });

      it('describes every field below the root (kubectl explain teaches the API)', () => {
        for (const { path, node } of all) {
          if (path === '' || path === 'metadata' || path.endsWith('[]') || path.endsWith('{}')) continue;
          expect(node.description, `${path} has no description`).toBeTruthy();
        }
      });

      it('keys map lists by required fields, and status conditions by type', () => {
        for (const { path, node } of all) {
          if (node['x-kubernetes-list-type'] !== 'map') continue;
          const keys = node['x-kubernetes-list-map-keys'] ?? [];
          expect(keys.length, path).toBeGreaterThan(0);
          for (const key of keys) expect(node.items?.required, `${path} key ${key}`).toContain(key);
        }
        const conditions = all.find((n) => n.path === 'status.conditions')!.node;
        expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
        expect(conditions.items?.required).toEqual(['type', 'status', 'reason', 'message', 'lastTransitionTime']);
      });

      it('bounds every list and string that a CEL rule iterates (kube-apiserver rejects unbounded rule cost)', () => {
        for (const { path, node } of all) {
          if (!node['x-kubernetes-validations']) continue;
          if (node.type === 'array') expect(node.maxItems, path).toBeDefined();
          if (node.type === 'object' && node.additionalProperties) expect(node.maxProperties, path).toBeDefined();
        }
      });

      it('says every scalar default in the description (kubectl explain shows descriptions)', () => {
        for (const { path, node } of all) {
          if (node.default === undefined || typeof node.default === 'object') continue;
          expect(node.description, path).toMatch(/default/i);
          expect(node.description, path).toContain(String(node.default));
        }
      });

      it('gives every default a value its own schema accepts', () => {
        for (const { path, node } of all) {
          if (node.default === undefined) continue;
          if (node.enum) expect(node.enum, path).toContain(node.default);
          if (node.pattern) expect(String(node.default), path).toMatch(new RegExp(node.pattern));
          if (node.type === 'integer') expect(Number.isInteger(node.default), path).toBe(true);
        }
      });
    });
  }
});
