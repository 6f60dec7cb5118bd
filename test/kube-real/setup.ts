/**
 * `npm run setup:kube-real`: builds the real kube-apiserver and etcd (and celcost, the
 * apiserver's CEL cost estimator run over crds/) from their Go modules into a cache outside
 * the repository, or reuses them when that cache already has them; then prints the CEL cost
 * of every rule in crds/ as kube-apiserver computes it, and how close each is to the budget.
 *
 * Needs Go (>= the version in go.mod) and the Go module proxy; nothing else is downloaded.
 * A cold build takes long (kube-apiserver is a large program): see docs/real-kube-apiserver.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BINARIES, MODULE_DIR, binDir, findBinaries, ldflags, pinnedVersions } from './binaries.js';

const REPO_ROOT = resolve(MODULE_DIR, '..', '..');

function go(args: string[]): void {
  const r = spawnSync('go', args, {
    cwd: MODULE_DIR,
    stdio: 'inherit',
    // GOTOOLCHAIN=local: build with the Go that is installed, never download a toolchain.
    env: { ...process.env, GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local' },
  });
  if (r.error) throw new Error(`cannot run go (${r.error.message}): install Go (https://go.dev/doc/install) to build the real kube-apiserver`);
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed with exit code ${r.status}`);
}

const { kubernetes, etcd } = pinnedVersions();
const dir = binDir();
let found = findBinaries();
if (found) {
  console.log(`kube-real: reusing kube-apiserver ${kubernetes} and etcd ${etcd} in ${dir}`);
} else {
  console.log(`kube-real: building kube-apiserver ${kubernetes}, etcd ${etcd} and celcost into ${dir} (a cold build takes a while)`);
  const started = Date.now();
  mkdirSync(join(dir, '..'), { recursive: true });
  const tmp = mkdtempSync(`${dir}.building-`);
  try {
    go(['mod', 'download', 'k8s.io/kubernetes']); // the module's .info gives the build date stamp
    go(['build', '-trimpath', `-ldflags=${ldflags()}`, '-o', tmp + '/', ...BINARIES.map((b) => `./cmd/${b}`)]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  found = findBinaries();
  if (!found) throw new Error(`the build finished but ${dir} lacks ${BINARIES.join(', ')}: ${readdirSync(dir).join(', ')}`);
  console.log(`kube-real: built in ${Math.round((Date.now() - started) / 1000)} s`);
  // Earlier builds (another version or module hash) are dead weight: ~130 MB each.
  for (const old of readdirSync(join(dir, '..'))) {
    const p = join(dir, '..', old);
    if (p !== dir && /^k8s-v/.test(old)) rmSync(p, { recursive: true, force: true });
  }
}
console.log(`kube-real: KUBE_REAL_BIN_DIR=${found.dir}`);

// The CEL cost of every rule, from kube-apiserver's own estimator (exit 1 if a CRD is refused).
const crds = readdirSync(join(REPO_ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).map((f) => join('crds', f));
console.log('kube-real: CEL cost of each x-kubernetes-validations rule, as kube-apiserver estimates it:');
const r = spawnSync(found.celcost, crds, { cwd: REPO_ROOT, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
