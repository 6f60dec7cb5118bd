/**
 * The Kubernetes side of the CLI: the kubeconfig's identity (--kubeconfig, --context, the
 * context's namespace), the HubSpotIntegration and its Secrets read with the user's own
 * credentials (so RBAC decides), and every API failure turned into one line that names the
 * object and, for a 403, the permission that is missing.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '../kube/config.js';
import { KubeApiError, KubeClient, type KubeObject, type ResourceType } from '../kube/client.js';
import { KINDS, GROUP, VERSION } from '../api/constants.js';
import type { HubSpotIntegration } from '../api/types.js';
import { CliError } from './io.js';
import type { KubeOptions } from './options.js';

export const INTEGRATION: ResourceType = { group: GROUP, version: VERSION, plural: KINDS.HubSpotIntegration.plural, kind: 'HubSpotIntegration' };
const SECRET: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };

export type Integration = HubSpotIntegration & KubeObject & { status?: HubSpotIntegration['status'] & { plan?: unknown } };

export interface Kube {
  client: KubeClient;
  /** The namespace to use: -n, else the context's namespace, else "default". */
  namespace: string;
  /** The API server URL (for messages). */
  server: string;
  close(): Promise<void>;
}

export function connectKube(o: KubeOptions): Kube {
  const kc = new KubeConfig();
  try {
    if (o.kubeconfig) {
      if (!existsSync(o.kubeconfig)) throw new CliError(`kubeconfig "${o.kubeconfig}" does not exist`);
      kc.loadFromFile(o.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot load the kubeconfig: ${oneLine(err)}`);
  }
  if (o.context) {
    if (!kc.contexts.some((c) => c.name === o.context)) {
      throw new CliError(`--context: the kubeconfig has no context "${o.context}"; it has ${kc.contexts.map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.currentContext = o.context;
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CliError('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or set a current-context in ~/.kube/config');
  const namespace = o.namespace || kc.getCurrentContext()?.namespace || 'default';
  const client = new KubeClient(kc);
  return { client, namespace, server: cluster.server, close: () => client.close() };
}

function oneLine(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  let msg = e?.message ?? String(err);
  // undici: "fetch failed" with the real reason in `cause`.
  if (e?.cause && (e.cause.code || e.cause.message)) msg = e.cause.message ?? e.cause.code ?? msg;
  return msg.split('\n')[0]!.trim();
}

/** Turns a failed API call into a CliError naming what was asked and what is missing. */
export function kubeFailure(err: unknown, kube: Kube, verb: string, resource: string, namespace: string | undefined, name?: string): CliError {
  const what = name ? `${resource.replace(/s$/, '')} ${namespace ? `${namespace}/` : ''}${name}` : `${resource}${namespace ? ` in namespace ${namespace}` : ' in all namespaces'}`;
  if (err instanceof CliError) return err;
  if (err instanceof KubeApiError) {
    const scope = namespace ? `in namespace ${namespace}` : 'at the cluster scope';
    switch (err.status) {
      case 401:
        return new CliError(`the Kubernetes API at ${kube.server} rejected your credentials (401 Unauthorized): check the kubeconfig's user`);
      case 403:
        return new CliError(`cannot ${verb} ${what}: forbidden (needs ${verb} on ${resource} ${scope})`);
      case 404:
        return new CliError(`${what} not found`);
      default:
        return new CliError(`cannot ${verb} ${what}: ${err.message.replace(/^[A-Z]+ \S+: /, '')}`);
    }
  }
  return new CliError(`cannot reach the Kubernetes API at ${kube.server}: ${oneLine(err)}`);
}

const INTEGRATIONS = 'hubspotintegrations.hubspot-operator.dev';

export async function getIntegration(kube: Kube, name: string): Promise<Integration> {
  try {
    return await kube.client.get<Integration>(INTEGRATION, kube.namespace, name);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) {
      const hint = await otherNamespaces(kube, name);
      throw new CliError(`HubSpotIntegration "${name}" not found in namespace "${kube.namespace}"${hint}`);
    }
    if (err instanceof KubeApiError && err.status === 403) {
      throw new CliError(`cannot get HubSpotIntegration ${kube.namespace}/${name}: forbidden (needs get on ${INTEGRATIONS} in namespace ${kube.namespace})`);
    }
    throw kubeFailure(err, kube, 'get', INTEGRATIONS, kube.namespace, name);
  }
}

/** " (it exists in namespace X; use -n X)" when the user may list across namespaces and it is elsewhere. */
async function otherNamespaces(kube: Kube, name: string): Promise<string> {
  try {
    const all = await kube.client.list<Integration>(INTEGRATION, {});
    const found = [...new Set(all.items.filter((i) => i.metadata.name === name).map((i) => i.metadata.namespace!))];
    if (found.length === 1) return `; it exists in namespace "${found[0]}" (use -n ${found[0]})`;
    if (found.length > 1) return `; it exists in namespaces ${found.join(', ')} (use -n)`;
    return '';
  } catch {
    return '';
  }
}

export async function listIntegrations(kube: Kube, allNamespaces: boolean): Promise<Integration[]> {
  const namespace = allNamespaces ? undefined : kube.namespace;
  try {
    const list = await kube.client.list<Integration>(INTEGRATION, { namespace });
    return list.items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404 && /could not find the requested resource|not found/i.test(err.message) && !namespace) {
      throw new CliError(`the cluster at ${kube.server} does not serve ${INTEGRATIONS}: are the hubspot-operator CRDs installed?`);
    }
    if (err instanceof KubeApiError && err.status === 403) {
      throw new CliError(`cannot list HubSpotIntegrations ${namespace ? `in namespace ${namespace}` : 'in all namespaces'}: forbidden (needs list on ${INTEGRATIONS} ${namespace ? `in namespace ${namespace}` : 'at the cluster scope'})`);
    }
    throw kubeFailure(err, kube, 'list', INTEGRATIONS, namespace);
  }
}

/** One key of a Secret, read with the user's credentials. */
export async function readSecretKey(kube: Kube, namespace: string, ref: { name: string; key?: string }, defaultKey: string, field: string): Promise<string> {
  const key = ref.key ?? defaultKey;
  let secret: KubeObject & { data?: Record<string, string>; stringData?: Record<string, string> };
  try {
    secret = await kube.client.get(SECRET, namespace, ref.name);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      throw new CliError(`cannot read Secret ${namespace}/${ref.name}: forbidden (needs get on secrets in namespace ${namespace}; or pass --database-url)`);
    }
    if (err instanceof KubeApiError && err.status === 404) {
      throw new CliError(`Secret ${namespace}/${ref.name} not found (named by ${field})`);
    }
    throw kubeFailure(err, kube, 'get', 'secrets', namespace, ref.name);
  }
  const b64 = secret.data?.[key];
  const value = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : secret.stringData?.[key];
  if (value === undefined || value === '') throw new CliError(`Secret ${namespace}/${ref.name} has no key "${key}" (named by ${field})`);
  return value.trim();
}

/** Merge-patch an integration (annotations or spec), with the same error translation. */
export async function patchIntegration(kube: Kube, name: string, patch: unknown): Promise<Integration> {
  try {
    return await kube.client.patch<Integration>(INTEGRATION, kube.namespace, name, patch, 'merge');
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) throw new CliError(`HubSpotIntegration "${name}" not found in namespace "${kube.namespace}"`);
    if (err instanceof KubeApiError && err.status === 403) {
      throw new CliError(`cannot patch HubSpotIntegration ${kube.namespace}/${name}: forbidden (needs patch on ${INTEGRATIONS} in namespace ${kube.namespace})`);
    }
    throw kubeFailure(err, kube, 'patch', INTEGRATIONS, kube.namespace, name);
  }
}
