// What the Dockerfile's final stage holds, assembled without Docker: production dependencies
// only (`npm ci --omit=dev --ignore-scripts`, as the deps stage runs it), the compiled operator
// (`tsc -p tsconfig.build.json`, as the build stage runs it), crds/ and examples/. The image's
// ENTRYPOINT then runs the operator against the Kubernetes API sandbox: if anything it loads at
// run time were a dev dependency, it would fail here.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { waitFor } from '../../helpers/wait.js';
import { REPO_ROOT, run, tools } from './tools.js';

const app = mkdtempSync(join(tmpdir(), 'hubspot-operator-image-'));
let kube: KubeSandbox;
const kubeconfig = join(app, 'kubeconfig');

/** ENTRYPOINT + CMD of the final stage, with the image's /app mapped to the assembled directory. */
function entrypoint(): string[] {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const last = (op: string) => [...text.matchAll(new RegExp(`^${op}\\s+(\\[.*\\])\\s*$`, 'gm'))].pop()?.[1];
  const cmd = [...JSON.parse(last('ENTRYPOINT') ?? '[]'), ...JSON.parse(last('CMD') ?? '[]')] as string[];
  return cmd.map((a) => a.replace(/^\/app\//, `${app}/`));
}

beforeAll(async () => {
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(REPO_ROOT, f), join(app, f));
  for (const d of ['crds', 'examples']) cpSync(join(REPO_ROOT, d), join(app, d), { recursive: true });
  const [deps, build] = await Promise.all([
    run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env: { ...process.env, npm_config_loglevel: 'error' }, timeoutMs: 120_000 }),
    run(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'operator', 'dist')], { timeoutMs: 120_000 }),
  ]).catch((err) => {
    throw new Error(`assembling the image contents failed: ${err}`);
  });
  expect(build.code, `tsc: ${build.stdout}${build.stderr}`).toBe(0);
  expect(deps.code, `npm ci --omit=dev: ${deps.stderr}`).toBe(0);
  kube = await startKubeSandbox({ port: 0 });
  await kube.writeKubeconfig(kubeconfig);
  const crds = await run(tools().kubectl, ['--kubeconfig', kubeconfig, 'apply', '-f', join(app, 'crds')]);
  expect(crds.code, crds.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await kube?.close();
  rmSync(app, { recursive: true, force: true });
});

describe('the image contents (production dependencies only)', () => {
  it('contain no dev dependency', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    // The project's lock file marks every package only dev dependencies need with dev: true.
    const projectLock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = new Set(Object.entries(projectLock.packages).filter(([, p]) => p.dev).map(([path]) => path));
    const installed = Object.keys((JSON.parse(readFileSync(join(app, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> }).packages);
    expect(installed.length).toBeGreaterThan(20);
    expect(installed.filter((p) => devOnly.has(p))).toEqual([]);
    for (const dev of Object.keys(pkg.devDependencies)) if (devOnly.has(`node_modules/${dev}`)) expect(installed).not.toContain(`node_modules/${dev}`);
  });

  it('run the operator with the image ENTRYPOINT: it starts, serves /readyz and /metrics, and stops on SIGTERM', async () => {
    const [cmd, ...args] = entrypoint();
    expect(cmd).toBe('node');
    expect(args.slice(-1)).toEqual(['run']);
    const child = spawn(process.execPath, [...args, '--kubeconfig', kubeconfig, '--metrics-port', '0', '--bind-address', '127.0.0.1', '--no-leader-elect'], {
      cwd: app,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HOME: app },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const metricsUrl = await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`the operator exited (${child.exitCode}): ${output}`);
          return /"metrics":"(http:[^"]+)"/.exec(output)?.[1];
        },
        { timeoutMs: 30_000, what: 'the operator to start' },
      );
      const base = metricsUrl.replace(/\/metrics$/, '');
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: `/readyz to answer 200; output:\n${output}` });
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toContain('# TYPE controller_runtime_reconcile_total counter');
      writeFileSync(join(app, 'operator.log'), output);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
