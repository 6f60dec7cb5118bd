/**
 * Which resources the sandbox serves: the built-ins from start, and those of every established
 * CustomResourceDefinition, added and removed as CRDs are written — which is how discovery,
 * routing, OpenAPI and printing learn about new kinds.
 */
import { builtinResourceTypes } from './builtins.js';
import { groupVersion, type ResourceType } from './types.js';

/** kube's version priority: GA before beta before alpha, higher numbers first, others last by name. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | null => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return null;
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    if (pa[0] !== pb[0]) return pb[0] - pa[0];
    if (pa[1] !== pb[1]) return pb[1] - pa[1];
    return pb[2] - pa[2];
  }
  if (pa) return -1;
  if (pb) return 1;
  return a.localeCompare(b);
}

export interface GroupInfo {
  name: string;
  versions: string[]; // preferred first
}

export class Registry {
  /** "group/version" → plural → type. */
  private readonly byGv = new Map<string, Map<string, ResourceType>>();
  private readonly byCrd = new Map<string, ResourceType[]>();
  /** Groups in the order they were first registered (built-ins first, like kube-apiserver). */
  private readonly groupOrder: string[] = [];

  constructor() {
    for (const rt of builtinResourceTypes()) this.add(rt);
  }

  private add(rt: ResourceType): void {
    const gv = groupVersion(rt);
    let m = this.byGv.get(gv);
    if (!m) this.byGv.set(gv, (m = new Map()));
    m.set(rt.plural, rt);
    if (!this.groupOrder.includes(rt.group)) this.groupOrder.push(rt.group);
  }

  private removeType(rt: ResourceType): void {
    const gv = groupVersion(rt);
    const m = this.byGv.get(gv);
    m?.delete(rt.plural);
    if (m && m.size === 0) this.byGv.delete(gv);
    if (![...this.byGv.keys()].some((k) => groupOf(k) === rt.group)) {
      const i = this.groupOrder.indexOf(rt.group);
      if (i >= 0) this.groupOrder.splice(i, 1);
    }
  }

  /** Replaces the types served for one CRD (an empty list unregisters it). */
  setCrd(crdName: string, types: ResourceType[]): void {
    for (const old of this.byCrd.get(crdName) ?? []) this.removeType(old);
    if (types.length) this.byCrd.set(crdName, types);
    else this.byCrd.delete(crdName);
    for (const rt of types) this.add(rt);
  }

  crdTypes(crdName: string): ResourceType[] {
    return this.byCrd.get(crdName) ?? [];
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byGv.get(group ? `${group}/${version}` : version)?.get(plural);
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.byGv.has(group ? `${group}/${version}` : version);
  }

  resources(group: string, version: string): ResourceType[] {
    return [...(this.byGv.get(group ? `${group}/${version}` : version)?.values() ?? [])];
  }

  all(): ResourceType[] {
    return [...this.byGv.values()].flatMap((m) => [...m.values()]);
  }

  /** Named API groups (not the core group) with their versions, preferred version first. */
  groups(): GroupInfo[] {
    const out: GroupInfo[] = [];
    for (const g of this.groupOrder) {
      if (!g) continue;
      const versions = [...this.byGv.keys()].filter((k) => groupOf(k) === g).map((k) => k.split('/')[1]);
      out.push({ name: g, versions: versions.sort(compareVersions) });
    }
    return out;
  }

  /** The resource type for an object's apiVersion and kind (used for RBAC bindings and CRDs' own kind). */
  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const m = this.byGv.get(apiVersion);
    for (const rt of m?.values() ?? []) if (rt.kind === kind) return rt;
    return undefined;
  }
}

function groupOf(gv: string): string {
  return gv.includes('/') ? gv.split('/')[0] : '';
}
