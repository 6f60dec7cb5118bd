/**
 * The default ClusterRoles of a fresh cluster (cluster-admin, admin, edit, view and the
 * system:aggregate-to-* roles they collect) and the ClusterRole aggregation controller: a
 * ClusterRole with an `aggregationRule` gets the union of the rules of every ClusterRole its
 * selectors match, so a chart's `aggregate-to-view` role extends `view` as in a real cluster.
 */
import type { KubeObject } from './types.js';

const RBAC = 'rbac.authorization.k8s.io/v1';
const LABEL = 'rbac.authorization.k8s.io/aggregate-to-';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const VIEWABLE: Rule[] = [
  { apiGroups: [''], resources: ['configmaps', 'endpoints', 'events', 'pods', 'services', 'serviceaccounts', 'namespaces'], verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: READ },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses'], verbs: READ },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: READ },
];

function clusterRole(name: string, spec: { rules?: Rule[]; labels?: Record<string, string>; aggregateFrom?: string }): KubeObject {
  const obj: KubeObject & { rules: Rule[]; aggregationRule?: object } = {
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults', ...(spec.labels ?? {}) } },
    rules: spec.rules ?? [],
  };
  if (spec.aggregateFrom) obj.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [`${LABEL}${spec.aggregateFrom}`]: 'true' } }] };
  return obj;
}

export function defaultClusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] }),
    clusterRole('admin', { aggregateFrom: 'admin' }),
    clusterRole('edit', { aggregateFrom: 'edit', labels: { [`${LABEL}admin`]: 'true' } }),
    clusterRole('view', { aggregateFrom: 'view', labels: { [`${LABEL}edit`]: 'true' } }),
    clusterRole('system:aggregate-to-view', { labels: { [`${LABEL}view`]: 'true' }, rules: VIEWABLE }),
    clusterRole('system:aggregate-to-edit', {
      labels: { [`${LABEL}edit`]: 'true' },
      rules: [
        ...VIEWABLE.map((r) => ({ ...r, verbs: WRITE })),
        { apiGroups: [''], resources: ['secrets'], verbs: [...READ, ...WRITE] },
      ],
    }),
    clusterRole('system:aggregate-to-admin', {
      labels: { [`${LABEL}admin`]: 'true' },
      rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] }],
    }),
  ];
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

function selects(sel: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * One pass of the aggregation controller: for each aggregated ClusterRole whose rules differ
 * from the union of the rules of the roles it selects, the updated role (the caller stores it).
 */
export function aggregatedUpdates(roles: KubeObject[]): KubeObject[] {
  const updates: KubeObject[] = [];
  for (const role of roles) {
    const rule = (role as { aggregationRule?: { clusterRoleSelectors?: Selector[] } }).aggregationRule;
    if (!rule) continue;
    const selectors = rule.clusterRoleSelectors ?? [];
    const rules: Rule[] = [];
    const seen = new Set<string>();
    for (const other of roles) {
      if (other === role || !selectors.some((s) => selects(s, other.metadata.labels ?? {}))) continue;
      for (const r of ((other as { rules?: Rule[] }).rules ?? [])) {
        const key = JSON.stringify(r);
        if (!seen.has(key)) {
          seen.add(key);
          rules.push(r);
        }
      }
    }
    if (JSON.stringify(rules) !== JSON.stringify((role as { rules?: Rule[] }).rules ?? [])) updates.push({ ...role, rules } as KubeObject);
  }
  return updates;
}
