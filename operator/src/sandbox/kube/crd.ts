/**
 * CustomResourceDefinition admission: the checks kube-apiserver makes before it serves a new
 * kind (names, scope, one storage version, schemas present, CEL rules and printer-column
 * JSONPaths that compile), the fields it defaults, the status it reports (NamesAccepted,
 * Established) and the resource types the CRD makes the sandbox serve.
 */
import { ALL_VERBS } from './builtins.js';
import { fieldErrors, invalid, type FieldError } from './errors.js';
import { parseJsonPath } from './jsonpath.js';
import { checkRulesCompile } from './schema/cel.js';
import { checkSchema } from './schema/meta-schema.js';
import type { KubeObject, PrinterColumn, ResourceType, Schema } from './types.js';

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: Schema };
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: PrinterColumn[];
  deprecated?: boolean;
}

interface CrdNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface Crd extends KubeObject {
  spec: { group: string; names: CrdNames; scope: string; versions: CrdVersion[]; conversion?: object; preserveUnknownFields?: boolean };
  status?: Record<string, unknown>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Validates a CRD and fills the fields kube-apiserver defaults; throws 422 Invalid. */
export function prepareCrd(obj: KubeObject, old: KubeObject | undefined): void {
  const crd = obj as Crd;
  const name = crd.metadata.name ?? '';
  const errors: FieldError[] = [];
  const spec = crd.spec as Crd['spec'] | undefined;
  if (!spec || typeof spec !== 'object') {
    throw invalid('CustomResourceDefinition', 'apiextensions.k8s.io', name, [fieldErrors.required('spec')]);
  }
  const isObj = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isStrings = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (typeof spec.group !== 'string' || !spec.group) errors.push(fieldErrors.required('spec.group'));
  if (spec.names !== undefined && !isObj(spec.names)) errors.push(fieldErrors.invalid('spec.names', spec.names, 'must be an object'));
  if (spec.versions !== undefined && !(Array.isArray(spec.versions) && spec.versions.every(isObj))) {
    errors.push(fieldErrors.invalid('spec.versions', spec.versions, 'must be a list of objects'));
  }
  if (errors.length) throw invalid('CustomResourceDefinition', 'apiextensions.k8s.io', name, errors);
  const names = spec.names as CrdNames | undefined;
  if (!isStrings(names?.shortNames)) errors.push(fieldErrors.invalid('spec.names.shortNames', names?.shortNames, 'must be a list of strings'));
  if (!isStrings(names?.categories)) errors.push(fieldErrors.invalid('spec.names.categories', names?.categories, 'must be a list of strings'));
  if (!names?.plural) errors.push(fieldErrors.required('spec.names.plural'));
  else if (!DNS_LABEL.test(names.plural)) errors.push(fieldErrors.invalid('spec.names.plural', names.plural, 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''));
  if (!names?.kind) errors.push(fieldErrors.required('spec.names.kind'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') errors.push(fieldErrors.notSupported('spec.scope', spec.scope ?? '', ['Cluster', 'Namespaced']));
  if (names?.plural && spec.group && name !== `${names.plural}.${spec.group}`) {
    errors.push(fieldErrors.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) errors.push(fieldErrors.invalid('spec.versions', [], 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage).length !== 1) {
    errors.push(fieldErrors.invalid('spec.versions', versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
  }
  versions.forEach((v, i) => {
    const p = `spec.versions[${i}]`;
    if (!v.name) errors.push(fieldErrors.required(`${p}.name`));
    const schema = v.schema?.openAPIV3Schema;
    if (v.additionalPrinterColumns !== undefined && !(Array.isArray(v.additionalPrinterColumns) && v.additionalPrinterColumns.every(isObj))) {
      errors.push(fieldErrors.invalid(`${p}.additionalPrinterColumns`, v.additionalPrinterColumns, 'must be a list of objects'));
      v.additionalPrinterColumns = [];
    }
    if (schema !== undefined && !isObj(schema)) {
      errors.push(fieldErrors.invalid(`${p}.schema.openAPIV3Schema`, schema, 'must be an object'));
    } else if (!schema) {
      errors.push(fieldErrors.required(`${p}.schema.openAPIV3Schema`, 'schemas are required'));
    } else {
      if (schema.type !== 'object') errors.push(fieldErrors.invalid(`${p}.schema.openAPIV3Schema.type`, schema.type ?? '', 'must be object at the root'));
      const shapeErrors: FieldError[] = [];
      checkSchema(schema, `${p}.schema.openAPIV3Schema`, shapeErrors);
      errors.push(...shapeErrors);
      if (shapeErrors.length === 0) {
        const ruleErrors: Array<[string, string]> = [];
        checkRulesCompile(schema, `${p}.schema.openAPIV3Schema`, ruleErrors);
        for (const [field, msg] of ruleErrors) errors.push(fieldErrors.invalid(field, '', msg));
      }
    }
    (v.additionalPrinterColumns ?? []).forEach((c, j) => {
      try {
        parseJsonPath(c.jsonPath ?? '');
      } catch (err) {
        errors.push(fieldErrors.invalid(`${p}.additionalPrinterColumns[${j}].jsonPath`, c.jsonPath, (err as Error).message));
      }
      if (!['integer', 'number', 'string', 'boolean', 'date'].includes(c.type)) {
        errors.push(fieldErrors.notSupported(`${p}.additionalPrinterColumns[${j}].type`, c.type, ['boolean', 'date', 'integer', 'number', 'string']));
      }
    });
  });
  if (errors.length || !names) throw invalid('CustomResourceDefinition', 'apiextensions.k8s.io', name, errors);

  names.singular ??= names.kind.toLowerCase();
  names.listKind ??= `${names.kind}List`;
  spec.conversion ??= { strategy: 'None' };
  for (const v of versions) {
    v.served ??= true;
  }

  const storage = versions.find((v) => v.storage)?.name as string;
  const oldStatus = (old as Crd | undefined)?.status as { storedVersions?: string[]; conditions?: Array<{ type: string; lastTransitionTime?: string }> } | undefined;
  const stored = new Set([...(oldStatus?.storedVersions ?? []), storage]);
  const since = (type: string): string => oldStatus?.conditions?.find((c) => c.type === type)?.lastTransitionTime ?? nowTimestamp();
  crd.status = {
    conditions: [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: since('NamesAccepted') },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: since('Established') },
    ],
    acceptedNames: { ...names },
    storedVersions: [...stored],
  };
}

/** The resource types an (admitted) CRD serves: one per served version. */
export function typesFromCrd(obj: KubeObject): ResourceType[] {
  const crd = obj as Crd;
  const { group, names, scope, versions } = crd.spec;
  return versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group,
      version: v.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: ALL_VERBS,
      statusSubresource: Boolean(v.subresources?.status),
      hasGeneration: true,
      storeKey: `${names.plural}.${group}`,
      schema: v.schema?.openAPIV3Schema,
      printerColumns: v.additionalPrinterColumns,
      crdName: crd.metadata.name,
    }));
}
