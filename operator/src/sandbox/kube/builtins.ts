/**
 * The built-in resources the sandbox serves without a CRD: what the operator, kubectl and a
 * `helm template | kubectl apply --dry-run=server` of the chart need. Built-ins are stored as
 * given (no schema); the few server-side behaviours users notice are applied by `normalize`.
 */
import { randomInt } from 'node:crypto';
import { fieldErrors, invalid } from './errors.js';
import { age } from './table.js';
import type { BuiltinColumn, Json, KubeObject, ResourceType } from './types.js';

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface BuiltinSpec {
  extraSubresources?: ResourceType['extraSubresources'];
  conversion?: ResourceType['conversion'];
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  status?: boolean;
  generation?: boolean;
  columns?: BuiltinColumn[];
  normalize?: ResourceType['normalize'];
  /** Store key override, for resources served in two groups over one storage (Events). */
  storeKey?: string;
}

const get = (obj: unknown, ...path: string[]): Json | undefined => {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur as Json | undefined;
};

const AGE: BuiltinColumn = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) };

/** `immutable: true` Secrets and ConfigMaps refuse data changes, and cannot be made mutable again. */
function checkImmutable(kind: string, obj: KubeObject, old: KubeObject | undefined): void {
  if (!old || (old as { immutable?: boolean }).immutable !== true) return;
  const errors = [];
  if ((obj as { immutable?: boolean }).immutable !== true) errors.push(fieldErrors.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const field of ['data', 'binaryData']) {
    if (JSON.stringify((obj as Record<string, unknown>)[field] ?? {}) !== JSON.stringify((old as Record<string, unknown>)[field] ?? {})) {
      errors.push(fieldErrors.forbidden(field, 'field is immutable when `immutable` is set'));
    }
  }
  if (errors.length) throw invalid(kind, '', obj.metadata.name ?? '', errors);
}

function checkRoleRef(kind: string, obj: KubeObject, old: KubeObject | undefined): void {
  const roleRef = (obj as { roleRef?: { kind?: string; name?: string } }).roleRef;
  const errors = [];
  if (!roleRef?.kind || !roleRef.name) errors.push(fieldErrors.required('roleRef', 'kind and name are required'));
  else if (!['Role', 'ClusterRole'].includes(roleRef.kind)) errors.push(fieldErrors.notSupported('roleRef.kind', roleRef.kind, ['ClusterRole', 'Role']));
  if (kind === 'ClusterRoleBinding' && roleRef?.kind === 'Role') errors.push(fieldErrors.notSupported('roleRef.kind', 'Role', ['ClusterRole']));
  if (old && JSON.stringify((old as { roleRef?: unknown }).roleRef) !== JSON.stringify(roleRef)) {
    errors.push(fieldErrors.invalid('roleRef', roleRef ?? null, 'cannot change roleRef'));
  }
  if (errors.length) throw invalid(kind, 'rbac.authorization.k8s.io', obj.metadata.name ?? '', errors);
}

function normalizeSecret(obj: KubeObject, old: KubeObject | undefined): void {
  const o = obj as KubeObject & { data?: Record<string, string>; stringData?: Record<string, string>; type?: string };
  if (o.stringData && typeof o.stringData === 'object') {
    o.data = { ...(o.data ?? {}) };
    for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete o.stringData;
  if (!o.type) o.type = 'Opaque';
  const errors = [];
  for (const [k, v] of Object.entries(o.data ?? {})) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
      errors.push(fieldErrors.invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
    }
  }
  if (errors.length) throw invalid('Secret', '', obj.metadata.name ?? '', errors);
  checkImmutable('Secret', obj, old);
}

function normalizeNamespace(obj: KubeObject, old: KubeObject | undefined): void {
  const o = obj as KubeObject & { spec?: { finalizers?: string[] }; status?: { phase?: string } };
  o.spec = { finalizers: ['kubernetes'], ...(o.spec ?? {}) };
  o.status = { ...(old?.status ?? {}), ...(o.status ?? {}) } as { phase?: string };
  if (!o.status.phase) o.status.phase = 'Active';
  o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
}

function normalizeService(obj: KubeObject, old: KubeObject | undefined): void {
  const spec = ((obj as { spec?: Record<string, unknown> }).spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  const oldIp = get(old, 'spec', 'clusterIP');
  if (!spec.clusterIP) spec.clusterIP = typeof oldIp === 'string' ? oldIp : `10.96.${randomInt(0, 255)}.${randomInt(1, 254)}`;
  spec.clusterIPs ??= [spec.clusterIP];
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports as Record<string, unknown>[]) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
  }
}

/**
 * events.k8s.io/v1 Events are stored as core/v1 Events (as in kube-apiserver), so `kubectl get
 * events` and `kubectl describe` show Events whichever API wrote them. Field pairs per
 * k8s.io/kubernetes/pkg/apis/events/v1 conversion.
 */
const EVENT_FIELDS: Array<[string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function renameFields(obj: KubeObject, pairs: Array<[string, string]>, apiVersion: string): KubeObject {
  const out: Record<string, unknown> = { ...obj, apiVersion };
  for (const [from, to] of pairs) {
    delete out[from];
    if ((obj as Record<string, unknown>)[from] !== undefined) out[to] = (obj as Record<string, unknown>)[from];
  }
  return out as KubeObject;
}

const eventConversion: ResourceType['conversion'] = {
  toStorage: (o) => renameFields(o, EVENT_FIELDS, 'v1'),
  fromStorage: (o) => renameFields(o, EVENT_FIELDS.map(([a, b]) => [b, a]), 'events.k8s.io/v1'),
};

/** kube-apiserver's defaults for a pod template (SetDefaults_PodSpec / _Container), which clients dereference. */
function defaultPodSpec(spec: Record<string, unknown>): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const list of ['containers', 'initContainers']) {
    for (const c of (Array.isArray(spec[list]) ? spec[list] : []) as Record<string, unknown>[]) {
      if (c === null || typeof c !== 'object') continue;
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      const image = typeof c.image === 'string' ? c.image : '';
      const tagged = /:[^/]+$/.test(image.split('@')[0]) && !image.split('@')[0].endsWith(':latest');
      c.imagePullPolicy ??= tagged || image.includes('@') ? 'IfNotPresent' : 'Always';
      for (const port of (Array.isArray(c.ports) ? c.ports : []) as Record<string, unknown>[]) if (port && typeof port === 'object') port.protocol ??= 'TCP';
    }
  }
}

/** SetDefaults_Deployment: kubectl describe and rollout read these without nil checks. */
function normalizeDeployment(obj: KubeObject): void {
  const spec = ((obj as { spec?: Record<string, unknown> }).spec ??= {});
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  const strategy = (spec.strategy ??= {}) as Record<string, unknown>;
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') strategy.rollingUpdate ??= { maxUnavailable: '25%', maxSurge: '25%' };
  const template = spec.template as { spec?: Record<string, unknown> } | undefined;
  if (template && typeof template === 'object' && template.spec && typeof template.spec === 'object') defaultPodSpec(template.spec);
}

const ports = (o: KubeObject): string => {
  const list = get(o, 'spec', 'ports');
  if (!Array.isArray(list) || list.length === 0) return '<none>';
  return list.map((p) => `${get(p, 'port')}/${get(p, 'protocol') ?? 'TCP'}`).join(',');
};

const SPECS: BuiltinSpec[] = [
  {
    group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], status: true,
    columns: [{ name: 'Status', type: 'string', cell: (o) => get(o, 'status', 'phase') ?? null }, AGE],
    normalize: normalizeNamespace,
  },
  {
    group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true,
    columns: [
      { name: 'Type', type: 'string', cell: (o) => get(o, 'type') ?? null },
      { name: 'Data', type: 'string', cell: (o) => Object.keys((get(o, 'data') as object | undefined) ?? {}).length },
      AGE,
    ],
    normalize: normalizeSecret,
  },
  {
    group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'],
    columns: [
      {
        name: 'Data', type: 'string',
        cell: (o) => Object.keys((get(o, 'data') as object | undefined) ?? {}).length + Object.keys((get(o, 'binaryData') as object | undefined) ?? {}).length,
      },
      AGE,
    ],
    normalize: (obj, old) => checkImmutable('ConfigMap', obj, old),
  },
  {
    group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
    columns: [
      { name: 'Last Seen', type: 'string', cell: (o) => age((get(o, 'lastTimestamp') ?? get(o, 'eventTime') ?? o.metadata.creationTimestamp) as string) },
      { name: 'Type', type: 'string', cell: (o) => get(o, 'type') ?? null },
      { name: 'Reason', type: 'string', cell: (o) => get(o, 'reason') ?? null },
      { name: 'Object', type: 'string', cell: (o) => `${String(get(o, 'involvedObject', 'kind') ?? '').toLowerCase()}/${get(o, 'involvedObject', 'name') ?? ''}` },
      { name: 'Message', type: 'string', cell: (o) => get(o, 'message') ?? null },
    ],
  },
  {
    group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'],
    extraSubresources: [{ name: 'token', group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }],
    columns: [{ name: 'Secrets', type: 'string', cell: (o) => ((get(o, 'secrets') as Json[] | undefined) ?? []).length }, AGE],
  },
  {
    group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true,
    columns: [
      { name: 'Type', type: 'string', cell: (o) => get(o, 'spec', 'type') ?? null },
      { name: 'Cluster-IP', type: 'string', cell: (o) => get(o, 'spec', 'clusterIP') ?? null },
      { name: 'External-IP', type: 'string', cell: () => '<none>' },
      { name: 'Port(s)', type: 'string', cell: ports },
      AGE,
    ],
    normalize: normalizeService,
  },
  {
    group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'], status: true,
  },
  {
    group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'],
    status: true, generation: true,
    normalize: normalizeDeployment,
    columns: [
      { name: 'Ready', type: 'string', cell: (o) => `${get(o, 'status', 'readyReplicas') ?? 0}/${get(o, 'spec', 'replicas') ?? 1}` },
      { name: 'Up-to-date', type: 'integer', cell: (o) => get(o, 'status', 'updatedReplicas') ?? 0 },
      { name: 'Available', type: 'integer', cell: (o) => get(o, 'status', 'availableReplicas') ?? 0 },
      AGE,
    ],
  },
  {
    group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'],
    status: true, generation: true,
  },
  {
    group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true, shortNames: ['netpol'],
    generation: true,
  },
  {
    group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true, shortNames: ['ing'],
    status: true, generation: true,
  },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true,
    normalize: (obj, old) => checkRoleRef('RoleBinding', obj, old),
    columns: [{ name: 'Role', type: 'string', cell: (o) => `${get(o, 'roleRef', 'kind')}/${get(o, 'roleRef', 'name')}` }, AGE],
  },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false,
    normalize: (obj, old) => checkRoleRef('ClusterRoleBinding', obj, old),
    columns: [{ name: 'Role', type: 'string', cell: (o) => `${get(o, 'roleRef', 'kind')}/${get(o, 'roleRef', 'name')}` }, AGE],
  },
  {
    group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true,
    columns: [{ name: 'Holder', type: 'string', cell: (o) => get(o, 'spec', 'holderIdentity') ?? '' }, AGE],
  },
  {
    group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
    storeKey: 'events',
    conversion: eventConversion,
    columns: [
      { name: 'Type', type: 'string', cell: (o) => get(o, 'type') ?? null },
      { name: 'Reason', type: 'string', cell: (o) => get(o, 'reason') ?? null },
      { name: 'Object', type: 'string', cell: (o) => `${String(get(o, 'regarding', 'kind') ?? '').toLowerCase()}/${get(o, 'regarding', 'name') ?? ''}` },
      { name: 'Note', type: 'string', cell: (o) => get(o, 'note') ?? null },
    ],
  },
  {
    group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false,
    shortNames: ['crd', 'crds'], categories: ['api-extensions'], status: true, generation: true,
    columns: [{ name: 'Created At', type: 'date', cell: (o) => o.metadata.creationTimestamp ?? null }],
  },
  {
    group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', namespaced: false,
    verbs: ['create'],
  },
];

function toResourceType(s: BuiltinSpec): ResourceType {
  return {
    group: s.group,
    version: s.version,
    kind: s.kind,
    listKind: `${s.kind}List`,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    namespaced: s.namespaced,
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    verbs: s.verbs ?? ALL_VERBS,
    statusSubresource: s.status ?? false,
    hasGeneration: s.generation ?? false,
    storeKey: s.storeKey ?? (s.group ? `${s.plural}.${s.group}` : s.plural),
    builtinColumns: s.columns,
    normalize: s.normalize,
    extraSubresources: s.extraSubresources,
    conversion: s.conversion,
  };
}

export function builtinResourceTypes(): ResourceType[] {
  return SPECS.map(toResourceType);
}

/** Namespaces that exist from start, as in a fresh cluster. */
export const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
