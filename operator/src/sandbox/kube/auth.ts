/**
 * Authentication (bearer tokens mapped to users and ServiceAccounts) and authorization
 * (AlwaysAllow, or RBAC over the Roles, ClusterRoles and bindings stored in the sandbox),
 * with kube-apiserver's Forbidden messages, so tests can prove a component works with exactly
 * the permissions its chart grants.
 */
import { randomBytes } from 'node:crypto';
import { forbidden, qualifiedResource, type ApiError } from './errors.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';

export interface UserInfo {
  username: string;
  groups: string[];
}

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export class Authenticator {
  private readonly tokens = new Map<string, { user: UserInfo; expiresAt?: number }>();

  addToken(token: string, user: UserInfo, expiresAt?: number): void {
    this.tokens.set(token, { user: { username: user.username, groups: [...new Set([...user.groups, 'system:authenticated'])] }, expiresAt });
  }

  /** A token for `system:serviceaccount:<namespace>:<name>`, as the TokenRequest API mints them (optionally expiring). */
  issueServiceAccountToken(namespace: string, name: string, expiresAt?: number): string {
    const token = `sa-${namespace}-${name}-${randomBytes(12).toString('hex')}`;
    this.addToken(
      token,
      { username: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`] },
      expiresAt,
    );
    return token;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** undefined: a token was sent but is not valid (401). */
  authenticate(authorization: string | undefined): UserInfo | undefined {
    if (!authorization) return ANONYMOUS;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!m) return undefined;
    const entry = this.tokens.get(m[1]);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && Date.now() >= entry.expiresAt) {
      this.tokens.delete(m[1]);
      return undefined;
    }
    return entry.user;
  }
}

export interface Attributes {
  user: UserInfo;
  verb: string;
  /** Set for resource requests. */
  resource?: { group: string; resource: string; subresource?: string; namespace?: string; name?: string };
  /** Set for non-resource requests (discovery, /healthz, ...). */
  path?: string;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

const PUBLIC_PATHS = ['/healthz', '/livez', '/readyz', '/version'];
const DISCOVERY_PREFIXES = ['/api', '/apis', '/openapi', '/version', '/healthz', '/livez', '/readyz'];

function subjectMatches(s: Subject, user: UserInfo): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.username;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${s.namespace ?? ''}:${s.name}`;
    default:
      return false;
  }
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && (r === `*/${subresource}` || r === `${resource}/*`)) return true;
  }
  return false;
}

function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  const verbs = rule.verbs ?? [];
  if (!verbs.includes('*') && !verbs.includes(a.verb)) return false;
  if (a.resource) {
    const groups = rule.apiGroups ?? [];
    if (!groups.includes('*') && !groups.includes(a.resource.group)) return false;
    if (!resourceMatches(rule, a.resource.resource, a.resource.subresource)) return false;
    const names = rule.resourceNames ?? [];
    if (names.length && !(a.resource.name && names.includes(a.resource.name))) return false;
    return true;
  }
  const path = a.path ?? '';
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

const RBAC = 'rbac.authorization.k8s.io';

export class RbacAuthorizer {
  private readonly store: ObjectStore;

  constructor(store: ObjectStore) {
    this.store = store;
  }

  private rulesOf(kind: string, name: string, namespace: string): PolicyRule[] {
    const role =
      kind === 'ClusterRole'
        ? this.store.get(`clusterroles.${RBAC}`, '', name)
        : this.store.get(`roles.${RBAC}`, namespace, name);
    return ((role as (KubeObject & { rules?: PolicyRule[] }) | undefined)?.rules ?? []) as PolicyRule[];
  }

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes('system:masters')) return { allowed: true };
    if (!a.resource && a.verb === 'get') {
      const p = a.path ?? '';
      if (PUBLIC_PATHS.includes(p)) return { allowed: true };
      if (a.user.groups.includes('system:authenticated') && DISCOVERY_PREFIXES.some((x) => p === x || p.startsWith(`${x}/`))) return { allowed: true };
    }
    if ((a.resource?.group === 'authorization.k8s.io' || a.resource?.group === 'authentication.k8s.io') && a.resource.resource.startsWith('selfsubject') && a.verb === 'create') {
      return { allowed: true };
    }
    for (const b of this.store.list(`clusterrolebindings.${RBAC}`)) {
      if (this.bindingAllows(b, a, '')) return { allowed: true };
    }
    const ns = a.resource?.namespace;
    if (ns) {
      for (const b of this.store.list(`rolebindings.${RBAC}`, ns)) {
        if (this.bindingAllows(b, a, ns)) return { allowed: true };
      }
    }
    return { allowed: false };
  }

  /** Every rule that applies to `user` in `namespace` (SelfSubjectRulesReview, `kubectl auth can-i --list`). */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    if (user.groups.includes('system:masters')) return [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }];
    const rules: PolicyRule[] = [{ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] }];
    const bound = (b: KubeObject): boolean => ((b as { subjects?: Subject[] }).subjects ?? []).some((s) => subjectMatches(s, user));
    for (const b of this.store.list(`clusterrolebindings.${RBAC}`)) {
      const ref = (b as { roleRef?: { kind: string; name: string } }).roleRef;
      if (ref && bound(b)) rules.push(...this.rulesOf(ref.kind, ref.name, ''));
    }
    if (namespace) {
      for (const b of this.store.list(`rolebindings.${RBAC}`, namespace)) {
        const ref = (b as { roleRef?: { kind: string; name: string } }).roleRef;
        if (ref && bound(b)) rules.push(...this.rulesOf(ref.kind, ref.name, namespace));
      }
    }
    return rules;
  }

  private bindingAllows(binding: KubeObject, a: Attributes, namespace: string): boolean {
    const b = binding as KubeObject & { subjects?: Subject[]; roleRef?: { kind: string; name: string } };
    if (!b.roleRef || !(b.subjects ?? []).some((s) => subjectMatches(s, a.user))) return false;
    // A RoleBinding grants only within its namespace; only ClusterRoleBindings grant cluster-scoped access.
    if (namespace === '' || a.resource) return this.rulesOf(b.roleRef.kind, b.roleRef.name, namespace).some((r) => ruleAllows(r, a));
    return false;
  }
}

/** kube-apiserver's 403 for a denied request. */
export function forbiddenError(a: Attributes): ApiError {
  const user = a.user.username;
  if (!a.resource) return forbidden(`forbidden: User "${user}" cannot ${a.verb} path "${a.path}"`, {});
  const r = a.resource;
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const scope = r.namespace ? `in the namespace "${r.namespace}"` : 'at the cluster scope';
  const why = `User "${user}" cannot ${a.verb} resource "${resource}" in API group "${r.group}" ${scope}`;
  const what = qualifiedResource(r.resource, r.group);
  const message = r.name ? `${what} "${r.name}" is forbidden: ${why}` : `${what} is forbidden: ${why}`;
  return forbidden(message, { name: r.name, group: r.group || undefined, kind: r.resource });
}
