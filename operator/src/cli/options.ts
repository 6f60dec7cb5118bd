/**
 * The flags the CLI commands share (kubectl's names and meanings) and their parsing: positionals
 * allowed, unknown flags rejected with a usage error naming them.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../cli-args.js';
import { parseOutputFormat, type OutputFormat } from './output.js';

export const KUBE_FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const OUTPUT_FLAG = { output: { type: 'string', short: 'o' } } as const satisfies NonNullable<ParseArgsConfig['options']>;
export const DATABASE_FLAG = { 'database-url': { type: 'string' } } as const satisfies NonNullable<ParseArgsConfig['options']>;

export const KUBE_FLAGS_HELP = `  --kubeconfig <path>          kubeconfig file; default $KUBECONFIG, else ~/.kube/config
  --context <name>             kubeconfig context to use; default its current-context
  -n, --namespace <ns>         namespace of the integration; default the context's namespace, else "default"
  -h, --help                   this help
`;
export const OUTPUT_FLAG_HELP = `  -o, --output table|json|csv  output format; default table (csv is RFC 4180)
`;
export const DATABASE_FLAG_HELP = `  --database-url <url>         read the state from this PostgreSQL URL instead of the integration's
                               connection Secret (which is read with your Kubernetes credentials)
`;

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, allowNegative: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/^TypeError \[[A-Z_]+\]: /, '') : String(err);
    throw new UsageError(`${command}: ${message}`);
  }
}

export function kubeOptions(values: { kubeconfig?: string; context?: string; namespace?: string }): KubeOptions {
  return { kubeconfig: values.kubeconfig, context: values.context, namespace: values.namespace };
}

export function outputOption(values: { output?: string }): OutputFormat {
  return parseOutputFormat(values.output);
}

/** Exactly one positional NAME (or at most one when `optional`). */
export function nameArg(command: string, positionals: string[], optional = false): string | undefined {
  if (positionals.length > 1) throw new UsageError(`${command}: expected one integration NAME, got ${positionals.length} (${positionals.join(' ')})`);
  const name = positionals[0];
  if (!name && !optional) throw new UsageError(`${command}: missing the integration NAME (see "${command} --help")`);
  if (name && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new UsageError(`${command}: "${name}" is not a valid resource name; expected lowercase letters, digits, "-" and "."`);
  return name;
}
