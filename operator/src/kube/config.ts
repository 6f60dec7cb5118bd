/**
 * Which cluster to talk to and how to authenticate, without @kubernetes/client-node (which
 * loads its whole generated API, ~80 MiB of RSS, for the few fields used here):
 * - a kubeconfig file (YAML): the current context's cluster (server, certificate-authority[-data],
 *   insecure-skip-tls-verify, tls-server-name) and user (token, tokenFile, client-certificate[-data]
 *   and client-key[-data], username/password, or an exec credential plugin such as
 *   `aws eks get-token` or `gke-gcloud-auth-plugin`); relative paths are relative to the file;
 * - in a pod, the service account: the API server from KUBERNETES_SERVICE_HOST/PORT, the mounted
 *   CA and the mounted token, re-read every minute (projected tokens rotate).
 * An explicit kubeconfig path wins; inside a pod the in-cluster config; otherwise $KUBECONFIG
 * (a list separated by ":"; the first file that defines a value wins) or ~/.kube/config.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, dirname, isAbsolute, join } from 'node:path';

/**
 * The YAML parser, loaded when a kubeconfig is first read: in a pod the operator uses the
 * service account and never needs it, and the `yaml` package costs 2-3 MiB of resident memory
 * once loaded (DESIGN §7: ≤ 100 MiB idle).
 */
function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text);
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const FILE_TOKEN_TTL_MS = 60_000;

export interface Cluster {
  name: string;
  server: string;
  /** PEM of the CA bundle that signs the server's certificate; absent: the system's roots. */
  ca?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

export interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
  installHint?: string;
}

export interface User {
  name: string;
  token?: string;
  tokenFile?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
}

export interface Context {
  name: string;
  cluster: string;
  user?: string;
  namespace?: string;
}

/** What a request needs: the Authorization header (if any) and the TLS client identity. */
export interface Credentials {
  authorization?: string;
  cert?: string;
  key?: string;
}

type Raw = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export class KubeConfig {
  clusters: Cluster[] = [];
  users: User[] = [];
  contexts: Context[] = [];
  currentContext?: string;
  private cached?: { creds: Credentials; until: number };
  private pending?: Promise<Credentials>;

  /** Loads a kubeconfig document; `baseDir` resolves relative file references. */
  loadFromString(text: string, baseDir = process.cwd()): void {
    let doc: Raw;
    try {
      doc = (parseYaml(text) ?? {}) as Raw;
    } catch (err) {
      throw new Error(`kubeconfig is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('kubeconfig is not a YAML mapping');
    const file = (p: unknown) => {
      const s = str(p);
      return s === undefined ? undefined : readFileSync(isAbsolute(s) ? s : join(baseDir, s), 'utf8');
    };
    const b64 = (v: unknown) => (str(v) === undefined ? undefined : Buffer.from(v as string, 'base64').toString('utf8'));
    const named = (list: unknown, field: string) =>
      (Array.isArray(list) ? list : []).filter((e): e is Raw => typeof e === 'object' && e !== null && typeof (e as Raw).name === 'string').map((e) => ({ name: e.name as string, body: ((e as Raw)[field] ?? {}) as Raw }));
    for (const { name, body } of named(doc.clusters, 'cluster')) {
      if (this.clusters.some((c) => c.name === name)) continue;
      this.clusters.push({
        name,
        server: str(body.server) ?? '',
        ca: b64(body['certificate-authority-data']) ?? file(body['certificate-authority']),
        skipTLSVerify: body['insecure-skip-tls-verify'] === true,
        tlsServerName: str(body['tls-server-name']),
      });
    }
    for (const { name, body } of named(doc.users, 'user')) {
      if (this.users.some((u) => u.name === name)) continue;
      const tokenFile = str(body.tokenFile);
      const exec = body.exec as Raw | undefined;
      if (body['auth-provider']) throw new Error(`kubeconfig user "${name}": auth-provider is not supported; use an exec credential plugin (e.g. gke-gcloud-auth-plugin, kubelogin)`);
      this.users.push({
        name,
        token: str(body.token),
        tokenFile: tokenFile && !isAbsolute(tokenFile) ? join(baseDir, tokenFile) : tokenFile,
        cert: b64(body['client-certificate-data']) ?? file(body['client-certificate']),
        key: b64(body['client-key-data']) ?? file(body['client-key']),
        username: str(body.username),
        password: str(body.password),
        exec: exec && str(exec.command)
          ? {
              command: exec.command as string,
              args: Array.isArray(exec.args) ? exec.args.map(String) : undefined,
              env: Array.isArray(exec.env) ? (exec.env as { name: string; value: string }[]) : undefined,
              apiVersion: str(exec.apiVersion),
              installHint: str(exec.installHint),
            }
          : undefined,
      });
    }
    for (const { name, body } of named(doc.contexts, 'context')) {
      if (this.contexts.some((c) => c.name === name)) continue;
      this.contexts.push({ name, cluster: str(body.cluster) ?? '', user: str(body.user), namespace: str(body.namespace) });
    }
    this.currentContext ??= str(doc['current-context']);
  }

  loadFromFile(path: string): void {
    this.loadFromString(readFileSync(path, 'utf8'), dirname(path));
  }

  /** The service account of the pod this process runs in. */
  loadFromCluster(dir = SERVICE_ACCOUNT_DIR): void {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) throw new Error('not running in a pod: KUBERNETES_SERVICE_HOST is not set');
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const caPath = join(dir, 'ca.crt');
    this.clusters = [{ name: 'in-cluster', server, ca: existsSync(caPath) ? readFileSync(caPath, 'utf8') : undefined, skipTLSVerify: false }];
    this.users = [{ name: 'in-cluster', tokenFile: join(dir, 'token') }];
    const nsPath = join(dir, 'namespace');
    this.contexts = [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster', namespace: existsSync(nsPath) ? readFileSync(nsPath, 'utf8').trim() : undefined }];
    this.currentContext = 'in-cluster';
  }

  /** $KUBECONFIG (a list), else ~/.kube/config, else the in-cluster config. */
  loadFromDefault(): void {
    const list = (process.env.KUBECONFIG ?? '').split(delimiter).filter((p) => p && existsSync(p));
    if (list.length) {
      for (const p of list) this.loadFromFile(p);
      return;
    }
    const home = join(homedir(), '.kube', 'config');
    if (existsSync(home)) return this.loadFromFile(home);
    if (process.env.KUBERNETES_SERVICE_HOST) this.loadFromCluster();
  }

  getCurrentContext(): Context | undefined {
    return this.contexts.find((c) => c.name === this.currentContext);
  }

  getCurrentCluster(): Cluster | undefined {
    const ctx = this.getCurrentContext();
    return ctx ? this.clusters.find((c) => c.name === ctx.cluster) : undefined;
  }

  getCurrentUser(): User | undefined {
    const ctx = this.getCurrentContext();
    return ctx?.user ? this.users.find((u) => u.name === ctx.user) : undefined;
  }

  /**
   * The credentials for the next request. Static ones are returned as they are; a token file is
   * re-read once a minute; an exec plugin runs again when its credential expires.
   */
  async credentials(now = Date.now()): Promise<Credentials> {
    if (this.cached && now < this.cached.until) return this.cached.creds;
    this.pending ??= this.resolve(now).finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async resolve(now: number): Promise<Credentials> {
    const user = this.getCurrentUser();
    let creds: Credentials = {};
    let until = Number.POSITIVE_INFINITY;
    if (user?.exec) {
      const r = await runExec(user.exec, user.name);
      creds = { authorization: r.token ? `Bearer ${r.token}` : undefined, cert: r.cert ?? user.cert, key: r.key ?? user.key };
      // Renew a little early; without an expiry, the credential is valid until a 401 (we re-run hourly).
      until = r.expires !== undefined ? r.expires - 30_000 : now + 3_600_000;
    } else if (user) {
      let token = user.token;
      if (!token && user.tokenFile) {
        token = readFileSync(user.tokenFile, 'utf8').trim();
        until = now + FILE_TOKEN_TTL_MS;
      }
      creds = {
        authorization: token ? `Bearer ${token}` : user.username !== undefined ? `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}` : undefined,
        cert: user.cert,
        key: user.key,
      };
    }
    this.cached = { creds, until };
    return creds;
  }
}

/** Runs a client-go exec credential plugin and reads its ExecCredential. */
function runExec(exec: ExecConfig, user: string): Promise<{ token?: string; cert?: string; key?: string; expires?: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: exec.apiVersion ?? 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } }) };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  return new Promise((resolve, reject) => {
    execFile(exec.command, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const hint = exec.installHint && (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (${exec.installHint.trim()})` : '';
        return reject(new Error(`kubeconfig user "${user}": exec plugin "${exec.command}" failed: ${String(stderr).trim() || err.message}${hint}`));
      }
      try {
        const status = (JSON.parse(stdout) as { status?: { token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string } }).status ?? {};
        const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : undefined;
        resolve({ token: status.token, cert: status.clientCertificateData, key: status.clientKeyData, expires: Number.isNaN(expires) ? undefined : expires });
      } catch {
        reject(new Error(`kubeconfig user "${user}": exec plugin "${exec.command}" did not print an ExecCredential`));
      }
    });
  });
}

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) {
    if (!existsSync(path)) throw new Error(`kubeconfig "${path}" does not exist`);
    kc.loadFromFile(path);
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(join(SERVICE_ACCOUNT_DIR, 'token'))) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
  if (!cluster.server) throw new Error(`kubeconfig cluster "${cluster.name}" has no server`);
  return kc;
}
