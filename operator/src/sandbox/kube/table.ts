/**
 * Server-side printing: the meta.k8s.io/v1 Table kubectl asks for with
 * `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`. Columns are the CRD's
 * additionalPrinterColumns (JSONPath, typed cells, `date` as an age like kube-apiserver) or a
 * built-in's own columns; the Name column always comes first.
 */
import { evaluateJsonPath, parseJsonPath } from './jsonpath.js';
import type { Json, KubeObject, ResourceType } from './types.js';

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Age of a timestamp as kubectl shows it; `<unknown>` when absent or unparseable. */
export function age(timestamp: string | undefined | null): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(Date.now() - t);
}

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

interface Column {
  def: ColumnDefinition;
  cell: (obj: KubeObject) => Json;
}

const NAME_COLUMN: Column = {
  def: {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace. It is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.',
    priority: 0,
  },
  cell: (o) => o.metadata.name ?? '',
};

const AGE_COLUMN: Column = {
  def: {
    name: 'Age',
    type: 'date',
    format: '',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
    priority: 0,
  },
  cell: (o) => age(o.metadata.creationTimestamp),
};

/** Formats one printer-column value the way apiextensions-apiserver's table convertor does. */
function cellFor(type: string, value: unknown): Json {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? value : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? age(value) : null;
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

const columnCache = new WeakMap<ResourceType, Column[]>();

function columnsFor(rt: ResourceType): Column[] {
  const cached = columnCache.get(rt);
  if (cached) return cached;
  let columns: Column[];
  if (rt.printerColumns && rt.printerColumns.length) {
    columns = [NAME_COLUMN];
    for (const pc of rt.printerColumns) {
      let steps: ReturnType<typeof parseJsonPath> | undefined;
      try {
        steps = parseJsonPath(pc.jsonPath);
      } catch {
        steps = undefined; // validated at CRD admission; an unusable path prints empty cells
      }
      columns.push({
        def: { name: pc.name, type: pc.type, format: pc.format ?? '', description: pc.description ?? '', priority: pc.priority ?? 0 },
        cell: (o) => {
          if (!steps) return null;
          const results = evaluateJsonPath(steps, o);
          return results.length ? cellFor(pc.type, results[0]) : null;
        },
      });
    }
  } else if (rt.builtinColumns) {
    columns = [NAME_COLUMN];
    for (const bc of rt.builtinColumns) {
      columns.push({
        def: { name: bc.name, type: bc.type, format: '', description: bc.description ?? '', priority: bc.priority ?? 0 },
        cell: bc.cell,
      });
    }
  } else {
    columns = [NAME_COLUMN, AGE_COLUMN];
  }
  columnCache.set(rt, columns);
  return columns;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The `includeObject` query parameter: what each row carries besides its cells (default: metadata). */
export function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  return v === 'Object' ? 'Object' : v === 'None' ? 'None' : 'Metadata';
}

function partialMetadata(obj: KubeObject): Json {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata as unknown as Json };
}

export function toTable(
  rt: ResourceType,
  objects: KubeObject[],
  listMeta: { resourceVersion: string; continue?: string; remainingItemCount?: number } | undefined,
  include: IncludeObject,
  withHeaders = true,
): Json {
  const columns = columnsFor(rt);
  const rows = objects.map((o) => {
    const row: { [k: string]: Json } = { cells: columns.map((c) => c.cell(o)) };
    if (include === 'Object') row.object = o as unknown as Json;
    else if (include === 'Metadata') row.object = partialMetadata(o);
    return row;
  });
  const metadata: { [k: string]: Json } = {};
  if (listMeta) {
    metadata.resourceVersion = listMeta.resourceVersion;
    if (listMeta.continue) metadata.continue = listMeta.continue;
    if (listMeta.remainingItemCount !== undefined) metadata.remainingItemCount = listMeta.remainingItemCount;
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: withHeaders ? columns.map((c) => c.def as unknown as Json) : [],
    rows,
  };
}
