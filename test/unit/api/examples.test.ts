import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../../operator/scripts/generate.js';
import { checkRules } from '../../../operator/src/api/cel.js';
import { API_VERSION } from '../../../operator/src/api/constants.js';
import { withDefaults } from '../../../operator/src/api/defaults.js';
import { schemaFor } from '../../../operator/src/api/schemas.js';
import type { FieldMapping, HubSpotIntegration, ResourceKind, SyncFilter } from '../../../operator/src/api/types.js';
import { formatValidationErrors, validateResource } from '../../../operator/src/api/validate.js';

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
  stringData?: Record<string, string>;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) return yamlFiles(full);
      return /\.ya?ml$/.test(name) ? [full] : [];
    });
}

function loadDocs(dir: string): Doc[] {
  return yamlFiles(dir).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
      expect(d.errors, file).toEqual([]);
      return { ...(d.toJSON() as Omit<Doc, 'file'>), file: relative(REPO_ROOT, file) };
    }),
  );
}

const examplesDir = join(REPO_ROOT, 'examples');
const docs = loadDocs(examplesDir);
const ours = docs.filter((d) => d.apiVersion === API_VERSION);

/** The documents of one example set (a directory), which kubectl applies together. */
function setOf(doc: Doc): Doc[] {
  const dir = doc.file.split('/').slice(0, -1).join('/');
  return docs.filter((d) => d.file.startsWith(`${dir}/`));
}

describe('examples/', () => {
  it('has a real-cluster example, an OAuth variant, a MySQL variant and the sandbox set', () => {
    const dirs = new Set(docs.map((d) => d.file.split('/')[1]));
    expect([...dirs].sort()).toEqual(['acme', 'acme-mysql', 'acme-oauth', 'sandbox']);
    const kinds = (dir: string) => new Set(docs.filter((d) => d.file.startsWith(`examples/${dir}/`)).map((d) => d.kind));
    expect(kinds('acme')).toEqual(new Set(['Secret', 'HubSpotIntegration', 'FieldMapping', 'SyncFilter']));
    expect(kinds('sandbox')).toEqual(new Set(['Namespace', 'Secret', 'HubSpotIntegration', 'FieldMapping', 'SyncFilter']));
    expect(kinds('acme-mysql')).toEqual(new Set(['Secret', 'HubSpotIntegration']));
  });

  for (const doc of ours) {
    it(`${doc.file}: ${doc.kind} ${doc.metadata.name} passes the schema and the CEL rules`, () => {
      const { file: _file, ...manifest } = doc;
      const result = validateResource(doc.kind as ResourceKind, manifest);
      expect(result.errors, formatValidationErrors(result.errors)).toEqual([]);
      const schema = schemaFor(doc.kind as ResourceKind);
      expect(checkRules(schema, withDefaults(doc.kind as ResourceKind, manifest))).toEqual([]);
    });
  }

  it('every referenced Secret key exists in the same example set and namespace', () => {
    for (const doc of ours.filter((d): d is Doc & HubSpotIntegration => d.kind === 'HubSpotIntegration')) {
      const spec = withDefaults('HubSpotIntegration', doc).spec;
      const secrets = setOf(doc).filter((d) => d.kind === 'Secret' && d.metadata.namespace === doc.metadata.namespace);
      const has = (name: string, key: string) => secrets.some((s) => s.metadata.name === name && s.stringData?.[key] !== undefined);
      const db = (spec.target.postgres ?? spec.target.mysql)!.connectionSecretRef;
      expect(has(db.name, db.key!), `${doc.file}: Secret ${db.name} key ${db.key}`).toBe(true);
      const token = spec.hubspot.auth.privateAppToken?.secretRef;
      if (token) expect(has(token.name, token.key!), `${doc.file}: Secret ${token.name} key ${token.key}`).toBe(true);
      const oauth = spec.hubspot.auth.oauth?.secretRef;
      if (oauth) for (const key of ['clientId', 'clientSecret', 'refreshToken']) expect(has(oauth.name, key), `${doc.file}: ${key}`).toBe(true);
    }
  });

  it('every FieldMapping and SyncFilter names an integration of its set and one of its object types', () => {
    for (const doc of ours.filter((d) => d.kind !== 'HubSpotIntegration') as (Doc & (FieldMapping | SyncFilter))[]) {
      const integration = setOf(doc).find(
        (d) => d.kind === 'HubSpotIntegration' && d.metadata.name === doc.spec.integrationRef.name && d.metadata.namespace === doc.metadata.namespace,
      ) as (Doc & HubSpotIntegration) | undefined;
      expect(integration, `${doc.file}: ${doc.metadata.name}`).toBeDefined();
      expect(integration!.spec.objects.map((o) => o.type), doc.file).toContain(doc.spec.objectType);
    }
  });

  it('the acme FieldMapping shows every mode and every transform', () => {
    const fields = ours.filter((d) => d.file.startsWith('examples/acme/') && d.kind === 'FieldMapping').flatMap((d) => (d as Doc & FieldMapping).spec.fields);
    expect(new Set(fields.map((f) => f.mode ?? 'Overwrite'))).toEqual(new Set(['Overwrite', 'FillEmpty', 'ForwardOnly']));
    const transforms = new Set(fields.flatMap((f) => Object.keys(f.transform ?? {})));
    expect(transforms).toEqual(new Set(['valueMap', 'lowercase', 'uppercase', 'trim', 'countryCode']));
    expect(fields.some((f) => f.required)).toBe(true);
  });

  it('the sandbox set is what `npm start` expects (DESIGN §5)', () => {
    const sandbox = docs.filter((d) => d.file.startsWith('examples/sandbox/'));
    expect(sandbox.find((d) => d.kind === 'Namespace')?.metadata.name).toBe('demo');
    expect(sandbox.filter((d) => d.kind !== 'Namespace').every((d) => d.metadata.namespace === 'demo')).toBe(true);
    const secret = (name: string) => sandbox.find((d) => d.kind === 'Secret' && d.metadata.name === name)?.stringData;
    expect(secret('demo-hubspot')).toEqual({ token: 'sandbox-token' });
    expect(secret('demo-db')).toEqual({ url: 'postgres://sandbox' });
    const demo = sandbox.find((d) => d.kind === 'HubSpotIntegration') as Doc & HubSpotIntegration;
    expect(demo.metadata.name).toBe('demo');
    expect(demo.spec.objects.map((o) => [o.type, o.direction])).toEqual([['contacts', 'TwoWay'], ['companies', 'TwoWay']]);
    expect(demo.spec.target.postgres?.createTables).toBe(true);
    expect(demo.spec.schedule?.interval).toBe('30s');
    // The Namespace sorts first so that `kubectl apply -f examples/sandbox/` creates it before its contents.
    expect(sandbox[0]!.kind).toBe('Namespace');
  });
});
