/**
 * Starts the real etcd and kube-apiserver (built by `npm run setup:kube-real`) on free loopback
 * ports, as envtest does for controller-runtime operators: a temporary data dir, a CA and a
 * serving certificate made with openssl, a service-account signing key, a static token file
 * with an admin user (group system:masters), `--authorization-mode=RBAC`, and a kubeconfig.
 * There is no kube-controller-manager: no default ServiceAccount per namespace, no garbage
 * collector, no namespace finalisation — exactly like envtest.
 *
 *   const kube = await startRealKube(findBinaries()!);
 *   await kube.writeKubeconfig('/tmp/kubeconfig');
 *   await kube.close();
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import type { RealBinaries } from './binaries.js';

const run = promisify(execFile);

export interface RealKube {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Bearer token of the admin user (kube-real-admin, group system:masters). */
  token: string;
  /** PEM of the CA that signed the serving certificate. */
  caCert: string;
  /** Admin kubeconfig (YAML). */
  kubeconfig: string;
  kubeconfigFor(token: string, namespace?: string): string;
  writeKubeconfig(path: string, token?: string): Promise<void>;
  /** A real ServiceAccount token from the TokenRequest API (the ServiceAccount must exist). */
  issueToken(namespace: string, serviceAccount: string): Promise<string>;
  /** An HTTPS request as the admin user (or with the given token). */
  request(path: string, init?: { method?: string; body?: string; headers?: Record<string, string>; token?: string }): Promise<Response>;
  /** Open WATCH requests, from the apiserver's own apiserver_longrunning_requests gauge. */
  openWatches(): Promise<number>;
  /** The apiserver's log file (for diagnosing a failure). */
  logFile: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed (openssl is needed to make the test certificates): ${(err as Error).message}`);
  }
}

async function makeCertificates(dir: string): Promise<void> {
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=kube-real-ca');
  await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver');
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  await openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext');
  // The key that signs (and verifies) ServiceAccount tokens.
  await openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key');
  await openssl(dir, 'pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

function renderKubeconfig(url: string, caCert: string, token: string, namespace = 'default', user = 'kube-real-admin'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kube-real',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caCert).toString('base64')}`,
    'contexts:',
    '- name: kube-real',
    '  context:',
    '    cluster: kube-real',
    `    user: ${user}`,
    `    namespace: ${namespace}`,
    'current-context: kube-real',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'preferences: {}',
    '',
  ].join('\n');
}

/** Processes to kill if the test process exits without close() (a crashed worker). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function startProcess(bin: string, args: string[], logFile: string): { child: ChildProcess; exited: Promise<number | null> } {
  const log = createWriteStream(logFile);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  live.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      log.end();
      resolve(code);
    }),
  );
  return { child, exited };
}

async function stopProcess(p: { child: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitUntil(what: string, timeoutMs: number, exited: () => boolean, logFile: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (exited()) throw new Error(`${what}: the process exited during start-up; last log lines:\n${tail(logFile)}`);
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${last}); last log lines:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRealKube(bins: RealBinaries): Promise<RealKube> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-real-'));
  const started: { child: ChildProcess; exited: Promise<number | null> }[] = [];
  let agent: Agent | undefined;
  try {
    await makeCertificates(dir);
    const token = `admin-${randomBytes(16).toString('hex')}`;
    // token,user,uid,"group1,group2"
    writeFileSync(join(dir, 'tokens.csv'), `${token},kube-real-admin,kube-real-admin,"system:masters"\n`, { mode: 0o600 });

    const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdLog = join(dir, 'etcd.log');
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const etcd = startProcess(
      bins.etcd,
      [
        '--name=kube-real',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=kube-real=http://127.0.0.1:${peerPort}`,
        // Test data: no fsync (as envtest's etcd), little logging.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      etcdLog,
    );
    started.push(etcd);
    await waitUntil('etcd /health', 30_000, () => etcd.child.exitCode !== null, etcdLog, async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok && /"health":\s*"true"/.test(await res.text());
    });

    const apiLog = join(dir, 'kube-apiserver.log');
    const apiserver = startProcess(
      bins.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--etcd-prefix=/registry`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'certs')}`,
        `--tls-cert-file=${join(dir, 'server.crt')}`,
        `--tls-private-key-file=${join(dir, 'server.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ],
      apiLog,
    );
    started.push(apiserver);
    const caCert = readFileSync(join(dir, 'ca.crt'), 'utf8');
    agent = new Agent({ connect: { ca: caCert } });
    const url = `https://127.0.0.1:${apiPort}`;
    const request: RealKube['request'] = async (path, init = {}) =>
      (await undiciFetch(url + path, {
        method: init.method ?? 'GET',
        body: init.body,
        headers: { authorization: `Bearer ${init.token ?? token}`, accept: 'application/json', ...init.headers },
        dispatcher: agent,
      } as UndiciRequestInit)) as unknown as Response;
    // /readyz covers etcd, the RBAC bootstrap roles and the other post-start hooks; the
    // "default" namespace comes from the bootstrap controller a moment later.
    await waitUntil('kube-apiserver /readyz', 90_000, () => apiserver.child.exitCode !== null, apiLog, async () => (await request('/readyz')).ok);
    await waitUntil('the default namespace', 30_000, () => apiserver.child.exitCode !== null, apiLog, async () => (await request('/api/v1/namespaces/default')).ok);

    const kubeconfig = renderKubeconfig(url, caCert, token);
    const kubeconfigFor = (tok: string, namespace?: string) => renderKubeconfig(url, caCert, tok, namespace ?? 'default', 'kube-real-user');
    return {
      url,
      token,
      caCert,
      kubeconfig,
      kubeconfigFor,
      logFile: apiLog,
      async writeKubeconfig(path, tok) {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, tok ? kubeconfigFor(tok) : kubeconfig, { mode: 0o600 });
      },
      async issueToken(namespace, serviceAccount) {
        const res = await request(`/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } }),
        });
        const body = (await res.json()) as { status?: { token?: string }; message?: string };
        if (!res.ok || !body.status?.token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount}: ${res.status} ${body.message ?? ''}`);
        return body.status.token;
      },
      request,
      async openWatches() {
        const text = await (await request('/metrics', { headers: { accept: 'text/plain' } })).text();
        let n = 0;
        for (const m of text.matchAll(/^apiserver_longrunning_requests\{([^}]*)\} (\d+)/gm)) if (/verb="WATCH"/.test(m[1]!)) n += Number(m[2]);
        return n;
      },
      async close() {
        await stopProcess(apiserver);
        await stopProcess(etcd);
        await agent?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const p of started.reverse()) await stopProcess(p);
    await agent?.close();
    if (!process.env.KUBE_REAL_KEEP) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
