/**
 * The Kubernetes API sandbox: an in-process HTTP server that behaves like kube-apiserver for
 * what the operator, kubectl and @kubernetes/client-node use. It knows nothing of the operator;
 * it learns the operator's kinds when their CRDs are applied, like a real cluster.
 *
 *   const kube = await startKubeSandbox();
 *   await kube.writeKubeconfig('/tmp/kubeconfig');   // kubectl --kubeconfig /tmp/kubeconfig get ns
 *   ...
 *   await kube.close();
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { KubeServer, MAX_BODY_BYTES } from './server.js';
import type { KubeApi } from './api.js';
import { SANDBOX_CA_CERT, SANDBOX_SERVER_CERT, SANDBOX_SERVER_KEY } from './tls.js';
import type { KubeObject } from './types.js';

export interface KubeSandboxOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Also write the kubeconfig to this path once listening. */
  kubeconfigPath?: string;
  /** The admin bearer token (member of system:masters); random when not given. */
  token?: string;
  /** 'AlwaysAllow' (default) or 'RBAC' (Roles, ClusterRoles and bindings are enforced). */
  authorization?: 'AlwaysAllow' | 'RBAC';
  /**
   * Serve HTTPS with the sandbox's fixed self-signed certificate (the kubeconfig carries its CA).
   * kubectl sends credentials only over TLS, so this defaults to true with RBAC, false otherwise.
   */
  tls?: boolean;
  /** How often watches that asked for bookmarks get one (default 10 s). */
  bookmarkIntervalMs?: number;
  /** Watch events kept for watches from older resourceVersions (default 10,000; older ones get 410 Gone). */
  historyLimit?: number;
  /** Request bodies above this size get 413 (default 3 MiB, like kube-apiserver). */
  maxBodyBytes?: number;
  /** Unexpected internal errors (answered as 500 InternalError); default: written to stderr. */
  onInternalError?: (err: unknown) => void;
}

export interface KubeSandbox {
  /** Base URL, e.g. http://127.0.0.1:40123 (https:// with tls). */
  url: string;
  /** The admin token the kubeconfig carries. */
  token: string;
  /** PEM of the CA that signed the serving certificate (tls only), for clients other than kubeconfig users. */
  caCert?: string;
  /** A kubeconfig (YAML) for the admin user. */
  kubeconfig: string;
  /** Writes `kubeconfig` (or one for `token`) to a file, creating directories. */
  writeKubeconfig(path: string, token?: string): Promise<void>;
  /** A kubeconfig for another bearer token, e.g. one from issueToken(). */
  kubeconfigFor(token: string, namespace?: string): string;
  /** Mints a bearer token that authenticates as `system:serviceaccount:<namespace>:<name>`. */
  issueToken(namespace: string, serviceAccount: string): string;
  /** Drops the watch-event history: watches and continue tokens from older resourceVersions get 410 Gone. */
  compact(): void;
  /** Closes every open watch connection (clients must re-watch, as after an apiserver restart). */
  dropWatches(): void;
  /** Number of open watch connections. */
  readonly openWatches: number;
  /** Direct access to the stored objects, for tests (bypasses HTTP, auth and admission). */
  api: KubeApi;
  /** Reads one stored object by resource key (`secrets`, `hubspotintegrations.hubspot-operator.dev`). */
  getObject(storeKey: string, namespace: string, name: string): KubeObject | undefined;
  close(): Promise<void>;
}

export function renderKubeconfig(url: string, token: string, namespace = 'default', user = 'sandbox-admin'): string {
  const trust = url.startsWith('https:')
    ? `    certificate-authority-data: ${Buffer.from(SANDBOX_CA_CERT).toString('base64')}`
    : // Plain HTTP: nothing to verify, but @kubernetes/client-node 1.x/2.x refuses http:// servers unless this is set.
      '    insecure-skip-tls-verify: true';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hubspot-operator-sandbox',
    '  cluster:',
    `    server: ${url}`,
    trust,
    'contexts:',
    '- name: hubspot-operator-sandbox',
    '  context:',
    '    cluster: hubspot-operator-sandbox',
    `    user: ${user}`,
    `    namespace: ${namespace}`,
    'current-context: hubspot-operator-sandbox',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'preferences: {}',
    '',
  ].join('\n');
}

export async function startKubeSandbox(opts: KubeSandboxOptions = {}): Promise<KubeSandbox> {
  const token = opts.token ?? `admin-${randomBytes(16).toString('hex')}`;
  const kube = new KubeServer({
    authorization: opts.authorization ?? 'AlwaysAllow',
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 10_000,
    maxBodyBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    historyLimit: opts.historyLimit,
    onInternalError: opts.onInternalError ?? ((err) => console.error('kube sandbox internal error:', err)),
  });
  kube.authn.addToken(token, { username: 'sandbox-admin', groups: ['system:masters'] });
  const tls = opts.tls ?? opts.authorization === 'RBAC';
  const server: Server = tls
    ? createTlsServer({ keepAliveTimeout: 5_000, cert: SANDBOX_SERVER_CERT, key: SANDBOX_SERVER_KEY }, kube.handle)
    : createServer({ keepAliveTimeout: 5_000 }, kube.handle);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`;
  kube.serverAddress = `${hostForUrl}:${addr.port}`;
  const kubeconfig = renderKubeconfig(url, token);
  const writeKubeconfig = async (path: string, tok?: string): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, tok ? renderKubeconfig(url, tok, 'default', 'sandbox-user') : kubeconfig, { mode: 0o600 });
  };
  if (opts.kubeconfigPath) await writeKubeconfig(opts.kubeconfigPath);

  return {
    url,
    token,
    caCert: tls ? SANDBOX_CA_CERT : undefined,
    kubeconfig,
    writeKubeconfig,
    kubeconfigFor: (tok, namespace) => renderKubeconfig(url, tok, namespace ?? 'default', 'sandbox-user'),
    issueToken: (namespace, sa) => kube.authn.issueServiceAccountToken(namespace, sa),
    compact: () => kube.api.store.compact(),
    dropWatches: () => kube.dropWatches(),
    get openWatches() {
      return kube.openWatches;
    },
    api: kube.api,
    getObject: (storeKey, namespace, name) => kube.api.store.get(storeKey, namespace, name),
    close: async () => {
      kube.dropWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export type { KubeObject } from './types.js';
