/**
 * Runs `hubspot-operator run` as a separate process (from source, through tsx) and collects its
 * JSON log lines, so tests can find the metrics URL and the calls that failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { REPO_ROOT } from './tools.js';

export interface OperatorProcess {
  child: ChildProcess;
  /** Every line written to stdout/stderr so far. */
  lines: string[];
  /** Parsed JSON log records (pino). */
  records(): Record<string, unknown>[];
  /** The /metrics URL the operator logged at start. */
  metricsUrl(): Promise<string>;
  stop(): Promise<void>;
}

export function startOperatorProcess(args: string[], env: NodeJS.ProcessEnv = {}): OperatorProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'operator', 'src', 'cli.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const records = () =>
    lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

  return {
    child,
    lines,
    records,
    metricsUrl: () =>
      waitFor(
        () => {
          if (exited) throw new Error(`the operator exited: ${lines.slice(-5).join('\n')}`);
          const started = records().find((r) => r.msg === 'operator started' && typeof r.metrics === 'string');
          return started ? (started.metrics as string) : undefined;
        },
        { timeoutMs: 30_000, what: 'the operator to log "operator started"' },
      ),
    stop: async () => {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
