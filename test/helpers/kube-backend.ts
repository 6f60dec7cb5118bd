/**
 * The two Kubernetes API backends the Kubernetes-facing tests run against:
 *   - `sandbox`: the project's own API sandbox (operator/src/sandbox/kube), always;
 *   - `real`: the real kube-apiserver + etcd (test/kube-real), when `npm run setup:kube-real`
 *     has built them (test/kube-real/global-setup.ts decides once per run and says so).
 *
 *   describe.each(kubeBackends())('kubectl against the %s', (backend) => {
 *     let kube: KubeBackend;
 *     beforeAll(async () => { kube = await startKubeBackend(backend); });
 *     afterAll(() => kube?.close());
 *   });
 *
 * Everything a test needs goes through this interface (HTTP, kubeconfigs, tokens, the watch
 * count), so a test that passes on both backends shows the sandbox answers as the real server.
 */
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { inject } from 'vitest';
import { startKubeSandbox, type KubeSandbox, type KubeSandboxOptions } from '../../operator/src/sandbox/kube/index.js';
import { findBinaries, type RealBinaries } from '../kube-real/binaries.js';
import { startRealKube } from '../kube-real/server.js';

export type KubeBackendName = 'sandbox' | 'real';

export interface KubeBackend {
  name: KubeBackendName;
  url: string;
  /** Admin bearer token (system:masters). */
  token: string;
  /** PEM of the serving CA (https backends). */
  caCert?: string;
  kubeconfig: string;
  writeKubeconfig(path: string, token?: string): Promise<void>;
  kubeconfigFor(token: string, namespace?: string): string;
  /** A bearer token that authenticates as system:serviceaccount:<namespace>:<name>. */
  issueToken(namespace: string, serviceAccount: string): Promise<string>;
  /** An HTTP request to the API as the admin user (or with `token`). */
  request(path: string, init?: { method?: string; body?: string; headers?: Record<string, string>; token?: string }): Promise<Response>;
  /** Reads one object by API path (e.g. /apis/apps/v1/namespaces/x/deployments/y); undefined on 404. */
  get<T = Record<string, unknown>>(path: string): Promise<T | undefined>;
  /** Number of open watch requests. */
  openWatches(): Promise<number>;
  /** The sandbox itself (sandbox backend only), for sandbox-only controls. */
  sandbox?: KubeSandbox;
  close(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Directory of the built real kube-apiserver/etcd, or '' when they are not built. */
    kubeRealBinDir: string;
  }
}

function realBinaries(): RealBinaries | undefined {
  let dir = '';
  try {
    dir = inject('kubeRealBinDir');
  } catch {
    // Outside vitest's injection (a script): look for the binaries directly.
    return findBinaries();
  }
  return dir ? findBinaries() : undefined;
}

/** The backends to run on: always the sandbox; the real server when it is built. */
export function kubeBackends(): KubeBackendName[] {
  return realBinaries() ? ['sandbox', 'real'] : ['sandbox'];
}

export async function startKubeBackend(name: KubeBackendName, opts: Pick<KubeSandboxOptions, 'authorization' | 'bookmarkIntervalMs'> = {}): Promise<KubeBackend> {
  const withGet = (b: Omit<KubeBackend, 'get'>): KubeBackend => ({
    ...b,
    async get<T>(path: string) {
      const res = await b.request(path);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  });
  if (name === 'sandbox') {
    const kube = await startKubeSandbox({ port: 0, ...opts });
    const agent = kube.caCert ? new Agent({ connect: { ca: kube.caCert } }) : undefined;
    return withGet({
      name,
      url: kube.url,
      token: kube.token,
      caCert: kube.caCert,
      kubeconfig: kube.kubeconfig,
      writeKubeconfig: kube.writeKubeconfig,
      kubeconfigFor: kube.kubeconfigFor,
      issueToken: async (ns, sa) => kube.issueToken(ns, sa),
      request: async (path, init = {}) =>
        (await undiciFetch(kube.url + path, {
          method: init.method ?? 'GET',
          body: init.body,
          headers: { authorization: `Bearer ${init.token ?? kube.token}`, accept: 'application/json', ...init.headers },
          dispatcher: agent,
        } as UndiciRequestInit)) as unknown as Response,
      openWatches: async () => kube.openWatches,
      sandbox: kube,
      close: async () => {
        await kube.close();
        await agent?.close();
      },
    });
  }
  const bins = realBinaries();
  if (!bins) throw new Error('the real kube-apiserver is not built: run `npm run setup:kube-real`');
  const kube = await startRealKube(bins);
  return withGet({
    name,
    url: kube.url,
    token: kube.token,
    caCert: kube.caCert,
    kubeconfig: kube.kubeconfig,
    writeKubeconfig: kube.writeKubeconfig,
    kubeconfigFor: kube.kubeconfigFor,
    issueToken: kube.issueToken,
    request: kube.request,
    openWatches: kube.openWatches,
    close: kube.close,
  });
}
