/**
 * What every CLI command writes to and how it fails: output goes through `CliIo` (the process's
 * stdout/stderr, or buffers in tests), and an expected failure is a `CliError` — one line on
 * stderr and a non-zero exit code, never a stack trace.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The program name used in messages and help: "hubspot-operator" or "kubectl hubspot". */
  prog: string;
}

/** An expected failure: `message` is the one line the user sees; `exitCode` defaults to 1. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function processIo(prog: string): CliIo {
  return {
    prog,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
}
