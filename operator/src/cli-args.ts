/**
 * Argument helpers shared by the CLI commands (cli.ts, sandbox/command.ts): parsing with
 * node:util parseArgs, typed values with precise errors, and waiting for a stop signal.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOrThrow<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: false, allowNegative: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/^TypeError \[[A-Z_]+\]: /, '') : String(err));
  }
}

/** A TCP port from a flag or environment value. */
export function parsePort(value: string | undefined, what: string, fallback: number | undefined): number | undefined {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${what}: "${value}" is not a port; expected an integer from 0 to 65535`);
  return n;
}

export function parsePositiveInt(value: string | undefined, what: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what}: "${value}" is not a positive integer; expected a whole number of at least 1`);
  return n;
}

export function parseBool(value: string | undefined, what: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new UsageError(`${what}: "${value}" is not a boolean; expected true or false`);
}

/** Resolves after SIGTERM/SIGINT and `onStop`; a second signal exits at once. */
export function untilSignal(onStop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`received ${signal} again; exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      void onStop().then(resolve, (err) => {
        process.stderr.write(`error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        resolve();
      });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

