/**
 * Where an integration's state lives, resolved the way a user is entitled to see it: the
 * connection Secret named by the spec, read with the user's own Kubernetes credentials (so RBAC
 * decides), unless --database-url is given.
 */
import { CliError } from './io.js';
import { readSecretKey, type Integration, type Kube } from './kube.js';
import { openStateReader, type StateReader } from './state-reader.js';

export async function stateReaderFor(kube: Kube, integration: Integration, databaseUrl?: string): Promise<StateReader> {
  const ns = integration.metadata.namespace ?? kube.namespace;
  const target = (integration.spec?.target ?? {}) as unknown as Record<string, { connectionSecretRef?: { name: string; key?: string } } | undefined>;
  const kind = Object.keys(target).find((k) => target[k]);
  const conn = kind ? target[kind] : undefined;
  if ((kind !== 'postgres' && kind !== 'mysql') || !conn) {
    throw new CliError(`${ns}/${integration.metadata.name}: spec.target has ${kind ?? 'no target'}; the CLI reads the state of postgres and mysql targets`);
  }
  if (!integration.metadata.uid) throw new CliError(`${ns}/${integration.metadata.name} has no metadata.uid; the API server did not return a stored object`);
  const url =
    databaseUrl ??
    (conn.connectionSecretRef
      ? await readSecretKey(kube, ns, conn.connectionSecretRef, 'url', `spec.target.${kind}.connectionSecretRef`)
      : undefined);
  if (!url) throw new CliError(`${ns}/${integration.metadata.name}: spec.target.${kind}.connectionSecretRef is not set; pass --database-url`);
  return openStateReader({ databaseUrl: url, target: integration.spec?.target, namespace: ns, name: integration.metadata.name ?? '', integrationUid: integration.metadata.uid });
}
