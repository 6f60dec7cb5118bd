/**
 * The operator's own kubeconfig / in-cluster loading (operator/src/kube/config.ts) against real
 * servers: the Kubernetes API sandbox over HTTPS with its CA or insecure-skip-tls-verify and a
 * bearer token, a TLS server that requires a client certificate (made with openssl), the
 * service-account files of a pod (token re-read when it rotates), and exec credential plugins.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../operator/src/kube/client.js';
import { KubeConfig, loadKubeConfig } from '../../../operator/src/kube/config.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';

const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
let kube: KubeSandbox;
let dir: string;

function kubeconfig(server: string, cluster: string, user: string): string {
  return ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', `    server: ${server}`, ...cluster.split('\n').map((l) => `    ${l}`),
    'contexts:', '- name: x', '  context:', '    cluster: c', '    user: u', 'current-context: x', 'users:', '- name: u', '  user:', ...user.split('\n').map((l) => `    ${l}`), ''].join('\n');
}

function clientFor(text: string, baseDir = dir): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromString(text, baseDir);
  return new KubeClient(kc);
}

beforeAll(async () => {
  kube = await startKubeSandbox({ port: 0, tls: true });
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
});

afterAll(async () => {
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubeconfig', () => {
  it('token + certificate-authority-data: lists namespaces over HTTPS (the sandbox kubeconfig as written)', async () => {
    const client = clientFor(kube.kubeconfig);
    const list = await client.list(NAMESPACES);
    expect(list.items.map((n) => n.metadata.name)).toContain('default');
    await client.close();
  });

  it('a certificate-authority file relative to the kubeconfig; a wrong CA fails; insecure-skip-tls-verify accepts any', async () => {
    writeFileSync(join(dir, 'ca.pem'), kube.caCert!);
    const path = join(dir, 'relative.kubeconfig');
    writeFileSync(path, kubeconfig(kube.url, 'certificate-authority: ca.pem', `token: ${kube.token}`));
    const fromFile = new KubeClient(loadKubeConfig(path));
    expect((await fromFile.list(NAMESPACES)).items.length).toBeGreaterThan(0);
    await fromFile.close();

    const noCa = clientFor(kubeconfig(kube.url, 'tls-server-name: localhost', `token: ${kube.token}`));
    await expect(noCa.list(NAMESPACES)).rejects.toThrow();
    await noCa.close();
    const insecure = clientFor(kubeconfig(kube.url, 'insecure-skip-tls-verify: true', `token: ${kube.token}`));
    expect((await insecure.list(NAMESPACES)).items.length).toBeGreaterThan(0);
    await insecure.close();
  });

  it('a wrong token is the server answering 401, not a client error', async () => {
    const client = clientFor(kubeconfig(kube.url, 'insecure-skip-tls-verify: true', 'token: wrong'));
    await expect(client.list(NAMESPACES)).rejects.toMatchObject({ status: 401 });
    await client.close();
  });

  it('client-certificate and client-key files: the server sees the certificate', async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=operator/O=system:masters');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1');
    const read = (f: string) => execFileSync('cat', [join(dir, f)], { encoding: 'utf8' });
    const server: Server = createServer({ key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const cert = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kind: 'NamespaceList', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: String(cert.subject?.CN) } }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const withCert = clientFor(kubeconfig(url, 'certificate-authority: ca.crt', 'client-certificate: client.crt\nclient-key: client.key'));
      expect((await withCert.list(NAMESPACES)).items[0]!.metadata.name).toBe('operator');
      await withCert.close();
      const data = (f: string) => Buffer.from(read(f)).toString('base64');
      const inline = clientFor(kubeconfig(url, `certificate-authority-data: ${data('ca.crt')}`, `client-certificate-data: ${data('client.crt')}\nclient-key-data: ${data('client.key')}`));
      expect((await inline.list(NAMESPACES)).items[0]!.metadata.name).toBe('operator');
      await inline.close();
      const without = clientFor(kubeconfig(url, 'certificate-authority: ca.crt', 'token: t'));
      await expect(without.list(NAMESPACES)).rejects.toThrow();
      await without.close();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('an exec credential plugin: its token is used until it expires, then the plugin runs again', async () => {
    const counter = join(dir, 'exec-count');
    writeFileSync(counter, '0');
    const script = join(dir, 'plugin.mjs');
    writeFileSync(script, `import { readFileSync, writeFileSync } from 'node:fs';
const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(counter)}, String(n));
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential', status: { token: process.env.THE_TOKEN, expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } }));
`);
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig(kube.url, 'insecure-skip-tls-verify: true', `exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ${process.execPath}\n  args: [${JSON.stringify(script)}]\n  env:\n  - name: THE_TOKEN\n    value: ${kube.token}`), dir);
    const client = new KubeClient(kc);
    expect((await client.list(NAMESPACES)).items.length).toBeGreaterThan(0);
    await client.list(NAMESPACES);
    expect(execFileSync('cat', [counter], { encoding: 'utf8' })).toBe('1');
    expect(await kc.credentials(Date.now() + 2 * 3600_000)).toEqual({ authorization: `Bearer ${kube.token}`, cert: undefined, key: undefined });
    expect(execFileSync('cat', [counter], { encoding: 'utf8' })).toBe('2');
    await client.close();

    const missing = new KubeConfig();
    missing.loadFromString(kubeconfig(kube.url, 'insecure-skip-tls-verify: true', 'exec:\n  command: /nonexistent/aws\n  installHint: install the AWS CLI'), dir);
    await expect(missing.credentials()).rejects.toThrow('kubeconfig user "u": exec plugin "/nonexistent/aws" failed');
  });

  it('auth-provider is refused with what to use instead; a kubeconfig without a cluster names the fix', () => {
    const kc = new KubeConfig();
    expect(() => kc.loadFromString(kubeconfig('https://x', '', 'auth-provider:\n  name: gcp'))).toThrow('auth-provider is not supported; use an exec credential plugin');
    const empty = join(dir, 'empty.kubeconfig');
    writeFileSync(empty, 'apiVersion: v1\nkind: Config\n');
    expect(() => loadKubeConfig(empty)).toThrow('no Kubernetes cluster configured');
  });
});

describe('in-cluster config', () => {
  it('uses KUBERNETES_SERVICE_HOST/PORT, the mounted CA and namespace, and re-reads a rotated token', async () => {
    const sa = join(dir, 'serviceaccount');
    execFileSync('mkdir', ['-p', sa]);
    writeFileSync(join(sa, 'token'), kube.token);
    writeFileSync(join(sa, 'ca.crt'), kube.caCert!);
    writeFileSync(join(sa, 'namespace'), 'hubspot-system\n');
    const { hostname, port } = new URL(kube.url);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = hostname;
    process.env.KUBERNETES_SERVICE_PORT = port;
    try {
      const kc = new KubeConfig();
      kc.loadFromCluster(sa);
      expect(kc.getCurrentCluster()?.server).toBe(`https://${hostname}:${port}`);
      expect(kc.getCurrentContext()?.namespace).toBe('hubspot-system');
      const client = new KubeClient(kc);
      expect((await client.list(NAMESPACES)).items.length).toBeGreaterThan(0);
      writeFileSync(join(sa, 'token'), 'rotated-token');
      // Within a minute the token read before is used; after it, the new one.
      expect((await kc.credentials()).authorization).toBe(`Bearer ${kube.token}`);
      expect((await kc.credentials(Date.now() + 61_000)).authorization).toBe('Bearer rotated-token');
      await client.close();
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
  });
});
