// What the Dockerfile's final stage holds, assembled without Docker: production dependencies
// only (`npm ci --omit=dev --ignore-scripts`, as the deps stage runs it), the compiled operator
// (`tsc -p tsconfig.build.json`, as the build stage runs it), crds/ and examples/. The image's
// ENTRYPOINT then runs the operator against the Kubernetes API sandbox: if anything it loads at
// run time were a dev dependency, it would fail here.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../../operator/src/sandbox/kube/index.js';
import { waitFor } from '../../helpers/wait.js';
import { REPO_ROOT, run, tools } from './tools.js';

const app = mkdtempSync(join(tmpdir(), 'hubspot-operator-image-'));
let kube: KubeSandbox;
let hubspot: HubSpotSandbox;
let operatorChild: ChildProcess | undefined;
const kubeconfig = join(app, 'kubeconfig');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const schema = `ops_image_${randomBytes(4).toString('hex')}`;
const kubectl = async (...args: string[]) => {
  const r = await run(tools().kubectl, ['--kubeconfig', kubeconfig, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

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
  await kubectl('apply', '-f', join(app, 'crds'));
  // One integration, so the sync engine and its drivers (HubSpot client, pg) load from the
  // production dependencies too.
  hubspot = await startHubSpotSandbox({ port: 0, seed: { contacts: 5, companies: 0 } });
  const manifests = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'crm' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hs', namespace: 'crm' }, stringData: { token: hubspot.token } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'crm' }, stringData: { url: DATABASE_URL } },
    {
      apiVersion: 'hubspot-operator.dev/v1alpha1',
      kind: 'HubSpotIntegration',
      metadata: { name: 'acme', namespace: 'crm' },
      spec: {
        hubspot: { baseURL: hubspot.url, auth: { privateAppToken: { secretRef: { name: 'hs', key: 'token' } } } },
        target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema, stateSchema: `${schema}_state`, createTables: true } },
        objects: [{ type: 'contacts', table: 'contacts', direction: 'HubSpotToTarget', match: { property: 'email', column: 'email' } }],
      },
    },
  ];
  writeFileSync(join(app, 'integration.yaml'), manifests.map((m) => stringify(m)).join('---\n'));
  await kubectl('apply', '-f', join(app, 'integration.yaml'));
}, 180_000);

afterAll(async () => {
  // A failed test must not leave the operator running.
  if (operatorChild && operatorChild.exitCode === null && operatorChild.signalCode === null) operatorChild.kill('SIGKILL');
  await kube?.close();
  await hubspot?.close();
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect().then(
    async () => {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.query(`DROP SCHEMA IF EXISTS ${schema}_state CASCADE`);
      await db.end();
    },
    () => undefined,
  );
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

  it('run the operator with the image ENTRYPOINT: it starts, syncs an integration to Ready, serves /readyz and /metrics, and stops on SIGTERM', { timeout: 150_000 }, async () => {
    const [cmd, ...args] = entrypoint();
    expect(cmd).toBe('node');
    expect(args.slice(-1)).toEqual(['run']);
    const child = spawn(process.execPath, [...args, '--kubeconfig', kubeconfig, '--metrics-port', '0', '--webhook-port', '0', '--bind-address', '127.0.0.1', '--no-leader-elect'], {
      cwd: app,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HOME: app },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operatorChild = child;
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
      await waitFor(
        async () => {
          const i = JSON.parse(await kubectl('get', 'hubspotintegration', 'acme', '-n', 'crm', '-o', 'json'));
          const ready = i.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
          if (ready?.status === 'False' && ready.reason !== 'Progressing') throw new Error(`Ready=False ${ready.reason}: ${ready.message}\n${output}`);
          return ready?.status === 'True';
        },
        { timeoutMs: 60_000, what: 'HubSpotIntegration crm/acme to become Ready' },
      );
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toContain('# TYPE controller_runtime_reconcile_total counter');
      expect(metrics).toMatch(/^hubspot_operator_integration_ready\{namespace="crm",integration="acme"\} 1$/m);
      writeFileSync(join(app, 'operator.log'), output);
    } finally {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, `exit code after SIGTERM (null: it had to be killed)\n${output.slice(-2000)}`).toBe(0);
  });
});
