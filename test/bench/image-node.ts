/**
 * How the benchmarks start the operator as the image does, and how they read its memory.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * How the operator's image starts node (Dockerfile): the flags of its exec-form ENTRYPOINT
 * (between "node" and the script), its `ENV NODE_OPTIONS=…`, and the other ENV settings of the
 * final stage that tune the runtime's memory (`MALLOC_*`, `UV_THREADPOOL_SIZE`; the last of
 * each). The benchmarks start the operator the same way, so what they measure is what the
 * image runs.
 */
export function imageNode(dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8')): { flags: string[]; nodeOptions: string; env: Record<string, string> } {
  const entrypoint = [...dockerfile.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)].pop()?.[1];
  if (!entrypoint) throw new Error('Dockerfile: no exec-form ENTRYPOINT ["node", …] to take the operator\'s node flags from');
  const argv = JSON.parse(entrypoint) as string[];
  if (argv[0] !== 'node') throw new Error(`Dockerfile: ENTRYPOINT starts with ${JSON.stringify(argv[0])}, expected "node"`);
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const m of finalStage.matchAll(/^ENV\s+([A-Z_][A-Z0-9_]*)=("([^"]*)"|(\S*))\s*$/gm)) {
    if (m[1] === 'NODE_OPTIONS' || m[1]!.startsWith('MALLOC_') || m[1] === 'UV_THREADPOOL_SIZE') env[m[1]!] = m[3] ?? m[4] ?? '';
  }
  return { flags: argv.slice(1).filter((a) => a.startsWith('-')), nodeOptions: env.NODE_OPTIONS ?? '', env: { NODE_OPTIONS: '', ...env } };
}

/** Resident memory of a process from /proc: total, anonymous (heap, malloc) and file-backed (mapped code: the node binary, libraries). */
export interface ProcMemory {
  rssKiB: number;
  peakRssKiB: number;
  anonKiB: number;
  fileKiB: number;
}

export function procMemory(pid: number | 'self' = 'self'): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), peakRssKiB: kib('VmHWM'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile') };
}
