/**
 * Reads the CRD manifests in crds/ (the single source of the API schema). Used by the type
 * generator and the drift test; the operator itself uses the generated constants instead
 * (operator/src/api/generated/schemas.ts), so api/ stays free of I/O.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { OpenAPISchema } from '../src/api/schema-types.js';

export interface CrdSource {
  /** File name inside crds/, e.g. hubspotintegrations.yaml */
  file: string;
  kind: string;
  plural: string;
  group: string;
  version: string;
  schema: OpenAPISchema;
}

interface CrdManifest {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string; plural?: string };
    versions?: { name: string; storage?: boolean; schema?: { openAPIV3Schema?: OpenAPISchema } }[];
  };
}

/** Every CustomResourceDefinition in `dir`, sorted by file name so output is deterministic. */
export function readCrds(dir: string): CrdSource[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return files.map((file) => {
    const doc = parse(readFileSync(join(dir, file), 'utf8')) as CrdManifest;
    const spec = doc.spec;
    const version = spec?.versions?.find((v) => v.storage) ?? spec?.versions?.[0];
    const schema = version?.schema?.openAPIV3Schema;
    if (doc.kind !== 'CustomResourceDefinition' || !spec?.names?.kind || !spec.names.plural || !spec.group || !version || !schema) {
      throw new Error(`${join(dir, file)}: not a CustomResourceDefinition with names, group and an openAPIV3Schema`);
    }
    return { file, kind: spec.names.kind, plural: spec.names.plural, group: spec.group, version: version.name, schema };
  });
}
