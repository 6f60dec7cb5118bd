/**
 * Helpers for the CLI tests: run a command in-process with captured output, or as a process
 * (the way a user or kubectl runs it), and parse RFC 4180 CSV to check quoting round-trips.
 */
import { execFile } from 'node:child_process';
import { runCli, type CliCommand } from '../../../operator/src/cli/index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command in this process (output captured). */
export async function cli(command: CliCommand, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(command, args, { prog: 'hubspot-operator', out: (t) => void (stdout += t), err: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** Runs a program as a child process. */
export function exec(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd(), timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `hubspot-operator …` from source, as a process. */
export function cliProcess(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return exec(process.execPath, ['--import', 'tsx', 'operator/src/cli.ts', ...args], { env });
}

/** A strict RFC 4180 parser: records end with CRLF; quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else if (c === '\n' || c === '\r' || c === '"') {
      throw new Error(`not RFC 4180: bare ${JSON.stringify(c)} at offset ${i}`);
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new Error('not RFC 4180: unterminated quoted field');
  if (field !== '' || record.length) throw new Error('not RFC 4180: the last record does not end with CRLF');
  return records;
}

/** CSV records as objects keyed by the header. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  for (const r of rows) if (r.length !== header!.length) throw new Error(`a CSV record has ${r.length} fields, the header ${header!.length}`);
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}

/** A table's rows split on the column gaps (3+ spaces). */
export function tableRows(text: string): string[][] {
  return text.trimEnd().split('\n').map((l) => l.trim().split(/ {3,}/));
}
