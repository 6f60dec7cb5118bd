/**
 * Where the real kube-apiserver and etcd binaries live: a cache directory OUTSIDE the
 * repository, keyed by the versions and a hash of the Go module that builds them
 * (test/kube-real/go.mod, go.sum and cmd/), so a change to any of them builds afresh and an
 * unchanged module reuses what is there.
 *
 *   $KUBE_REAL_BIN_DIR                    (if set: use exactly this directory)
 *   ${XDG_CACHE_HOME:-~/.cache}/hubspot-operator/kube-real/k8s-v1.33.13-etcd-v3.5.21-<hash>/
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODULE_DIR = dirname(fileURLToPath(import.meta.url));
export const BINARIES = ['kube-apiserver', 'etcd', 'celcost'] as const;

/** The k8s.io/kubernetes and etcd server versions the module pins, read from go.mod. */
export function pinnedVersions(): { kubernetes: string; etcd: string } {
  const mod = readFileSync(join(MODULE_DIR, 'go.mod'), 'utf8');
  const kubernetes = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(mod)?.[1];
  const etcd = /^\s*go\.etcd\.io\/etcd\/server\/v3 (v\S+)/m.exec(mod)?.[1];
  if (!kubernetes || !etcd) throw new Error(`${join(MODULE_DIR, 'go.mod')} must require k8s.io/kubernetes and go.etcd.io/etcd/server/v3`);
  return { kubernetes, etcd };
}

function moduleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return moduleFiles(p);
    return /\.(go|mod|sum)$/.test(e.name) ? [p] : [];
  });
}

/**
 * The linker flags: stripped, and the version stamps Kubernetes' own build (hack/lib/version.sh)
 * sets — without them the server reports v0.0.0-master and Helm refuses charts with a
 * kubeVersion constraint. buildDate is the module's publication time, so the build is repeatable.
 */
export function ldflags(): string {
  const { kubernetes } = pinnedVersions();
  const m = /^v(\d+)\.(\d+)\./.exec(kubernetes);
  if (!m) throw new Error(`cannot read major/minor from ${kubernetes}`);
  let buildDate = '1970-01-01T00:00:00Z';
  try {
    const info = JSON.parse(readFileSync(join(process.env.GOMODCACHE || join(homedir(), 'go', 'pkg', 'mod'), 'cache', 'download', 'k8s.io', 'kubernetes', '@v', `${kubernetes}.info`), 'utf8')) as { Time?: string };
    if (info.Time) buildDate = info.Time.replace(/\.\d+Z$/, 'Z');
  } catch {
    // not downloaded yet (a first build): the epoch, as Kubernetes' default
  }
  const stamps: Record<string, string> = { gitVersion: kubernetes, gitMajor: m[1]!, gitMinor: m[2]!, gitTreeState: 'clean', buildDate };
  const x = Object.entries(stamps).flatMap(([k, v]) => [`-X k8s.io/component-base/version.${k}=${v}`, `-X k8s.io/client-go/pkg/version.${k}=${v}`]);
  return ['-s', ...x].join(' ');
}

/** A hash of everything that goes into the build. */
export function moduleHash(): string {
  const h = createHash('sha256');
  h.update(ldflags().replace(/buildDate=\S+/g, '')).update('\0');
  for (const f of moduleFiles(MODULE_DIR).sort()) {
    h.update(relative(MODULE_DIR, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'hubspot-operator', 'kube-real');
}

export function binDir(): string {
  if (process.env.KUBE_REAL_BIN_DIR) return resolve(process.env.KUBE_REAL_BIN_DIR);
  const { kubernetes, etcd } = pinnedVersions();
  return join(cacheRoot(), `k8s-${kubernetes}-etcd-${etcd}-${moduleHash()}`);
}

export interface RealBinaries {
  dir: string;
  kubeApiserver: string;
  etcd: string;
  celcost: string;
}

/** The built binaries, or undefined when any is missing (not built yet). */
export function findBinaries(): RealBinaries | undefined {
  const dir = binDir();
  const paths = BINARIES.map((b) => join(dir, b));
  if (!paths.every((p) => existsSync(p) && statSync(p).isFile())) return undefined;
  return { dir, kubeApiserver: paths[0]!, etcd: paths[1]!, celcost: paths[2]! };
}
