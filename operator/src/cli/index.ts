/**
 * The user-facing CLI (DESIGN §2.9): status, errors, audit, plan, sync, resync, suspend, resume —
 * one module per command. Installed as `hubspot-operator` and as the kubectl plugin
 * `kubectl-hubspot` (so `kubectl hubspot status` works). Exit codes: 0 success, 1 a failure
 * (one line on stderr), 2 bad usage; `plan` exits 1 when the plan has differences and 2 on failure.
 */
import { UsageError } from '../cli-args.js';
import { CliError, type CliIo } from './io.js';

export const CLI_COMMANDS = ['status', 'errors', 'audit', 'plan', 'sync', 'resync', 'suspend', 'resume'] as const;
export type CliCommand = (typeof CLI_COMMANDS)[number];

export function isCliCommand(command: string | undefined): command is CliCommand {
  return (CLI_COMMANDS as readonly string[]).includes(command ?? '');
}

export const COMMANDS_HELP = `  status [NAME]      Sync Health: conditions, counts, errors by category, API usage, lag (-A: all namespaces)
  errors NAME        every failing record: IDs, category, message, correlationId, first/last seen
  audit NAME         the audit log: what the sync did to which record (--since 1h, --record KEY)
  plan NAME          what a sync would do (spec.mode: Observe); exit 1 when it would change something
  sync NAME          run an incremental sync cycle now (--wait to wait until it ran)
  resync NAME        run a full reconciliation now (--wait)
  suspend NAME       pause the integration (spec.suspend: true)
  resume NAME        resume it
`;

export const PLUGIN_HELP = `kubectl hubspot — health, failing records, audit log and plan of HubSpotIntegrations

Usage:
  kubectl hubspot <command> [NAME] [flags]

Commands:
${COMMANDS_HELP}
Common flags: -n/--namespace, --context, --kubeconfig, -o table|json|csv.
"kubectl hubspot <command> --help" for the flags of a command.
`;

/** Runs one CLI command; returns the exit code. Expected failures become one line on stderr. */
export async function runCli(command: CliCommand, args: string[], io: CliIo): Promise<number> {
  try {
    switch (command) {
      case 'status':
        return await (await import('./status.js')).statusCommand(args, io);
      case 'errors':
        return await (await import('./errors.js')).errorsCommand(args, io);
      case 'audit':
        return await (await import('./audit.js')).auditCommand(args, io);
      case 'plan':
        return await (await import('./plan.js')).planCommand(args, io);
      case 'sync':
      case 'resync':
        return await (await import('./request.js')).requestCommand(command, args, io);
      case 'suspend':
      case 'resume':
        return await (await import('./suspend.js')).suspendCommand(command, args, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${io.prog}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.err(`${io.prog}: ${err.message}\n`);
      return err.exitCode;
    }
    // Unexpected: still one line, never a stack trace (DEBUG=hubspot-operator shows it).
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    io.err(`${io.prog}: ${command} failed: ${message}\n`);
    if (process.env.DEBUG?.includes('hubspot-operator') && err instanceof Error) io.err(`${err.stack}\n`);
    return command === 'plan' ? 2 : 1;
  }
}
