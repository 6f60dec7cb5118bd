#!/usr/bin/env node
/**
 * hubspot-operator: `run` (against a cluster), `sandbox` (everything embedded), and the
 * user-facing commands of cli/ (status, errors, audit, plan, sync, resync, suspend, resume).
 * Installed a second time as `kubectl-hubspot`: invoked under that name (kubectl's plugin
 * mechanism runs it for `kubectl hubspot …`) it speaks as `kubectl hubspot`.
 * Flags override environment variables, which override defaults. Bad input exits with code 2
 * and a message naming the flag, what is wrong and what is expected.
 */
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseOrThrow, parsePort, parsePositiveInt, parseBool, untilSignal, UsageError } from './cli-args.js';
import { DEFAULT_CONCURRENCY, DEFAULT_DB_POOL_SIZE, DEFAULT_MAX_CONCURRENT_SYNCS } from './controller/defaults.js';

const HELP = (commands: string) => `hubspot-operator — keeps HubSpot CRM and PostgreSQL or MySQL in sync, configured as Kubernetes resources

Usage:
  hubspot-operator run [flags]        run the operator against a cluster (in-cluster config or KUBECONFIG)
  hubspot-operator sandbox [flags]    everything embedded: Kubernetes API, HubSpot API and PostgreSQL (PGlite)
  hubspot-operator <command> [NAME]   inspect and steer a HubSpotIntegration with your kubeconfig's identity:
${commands}  hubspot-operator --help             this help; "hubspot-operator <command> --help" for the flags of a command

Also installed as the kubectl plugin kubectl-hubspot: "kubectl hubspot status" works like "hubspot-operator status".
`;

/** The name this process was started as: `kubectl-hubspot` (the plugin) or `hubspot-operator`. */
export function invokedAsPlugin(argv1: string | undefined = process.argv[1]): boolean {
  return Boolean(argv1) && /^kubectl-hubspot(\.(c?js|mjs|ts))?$/.test(basename(argv1!));
}

export const RUN_HELP = `Usage: hubspot-operator run [flags]

Runs the operator against a Kubernetes cluster: in-cluster service-account config when running
in a pod, else --kubeconfig, else $KUBECONFIG, else ~/.kube/config.

Flags (environment variable in brackets):
  --kubeconfig <path>          kubeconfig file [KUBECONFIG]
  --namespaces <a,b>           namespaces to watch; default all [WATCH_NAMESPACES]
  --metrics-port <port>        port of /metrics (and of the probes unless --health-port); default 8080 [METRICS_PORT]
  --health-port <port>         port of /healthz and /readyz; default: the metrics port [HEALTH_PORT]
  --bind-address <host>        address the endpoints listen on; default 0.0.0.0 [BIND_ADDRESS]
  --webhook-port <port>        port of POST /webhooks/hubspot (HubSpot deliveries); default 9443 [WEBHOOK_PORT]
  --webhook-public-url <url>   the exact webhook URL configured in the HubSpot app, when a proxy rewrites the
                               path; default: rebuilt from X-Forwarded-Proto/-Host or Host [WEBHOOK_PUBLIC_URL]
  --leader-elect / --no-leader-elect
                               elect a leader on a Lease so only one replica syncs; default on [LEADER_ELECT=true|false]
  --lease-namespace <ns>       namespace of the Lease; default $POD_NAMESPACE or "default" [LEASE_NAMESPACE]
  --lease-name <name>          name of the Lease; default hubspot-operator-leader [LEASE_NAME]
  --lease-duration <duration>  how long a lease is valid, e.g. 15s; a standby takes over after it [LEASE_DURATION]
  --shard <label selector>     handle only HubSpotIntegrations matching this selector, e.g. shard=a [SHARD]
  --concurrency <n>            reconciles in parallel per kind; default 8 [CONCURRENCY]
  --max-concurrent-syncs <n>   sync cycles running at once across all integrations; the others wait
                               their turn in order; default 8 [MAX_CONCURRENT_SYNCS]
  --db-pool-size <n>           connections per database pool, shared by the integrations of one
                               database; default 10 [DB_POOL_SIZE]
  --log-level <level>          fatal, error, warn, info, debug, trace or silent; default info [LOG_LEVEL]
  -h, --help                   this help
`;

async function runCommand(args: string[]): Promise<void> {
  const { values } = parseOrThrow(args, {
    kubeconfig: { type: 'string' },
    namespaces: { type: 'string' },
    'metrics-port': { type: 'string' },
    'health-port': { type: 'string' },
    'bind-address': { type: 'string' },
    'webhook-port': { type: 'string' },
    'webhook-public-url': { type: 'string' },
    'leader-elect': { type: 'boolean' },
    'lease-namespace': { type: 'string' },
    'lease-name': { type: 'string' },
    'lease-duration': { type: 'string' },
    shard: { type: 'string' },
    concurrency: { type: 'string' },
    'max-concurrent-syncs': { type: 'string' },
    'db-pool-size': { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return;
  }
  const env = process.env;
  const { parseDuration } = await import('./api/duration.js');
  const leaseDuration = values['lease-duration'] ?? env.LEASE_DURATION;
  let leaseDurationMs: number | undefined;
  if (leaseDuration) {
    try {
      leaseDurationMs = parseDuration(leaseDuration);
    } catch (err) {
      throw new UsageError(`--lease-duration: ${(err as Error).message}`);
    }
    if (leaseDurationMs < 1000) throw new UsageError(`--lease-duration: "${leaseDuration}" is too short; expected at least 1s`);
  }
  const logLevel = values['log-level'] ?? env.LOG_LEVEL ?? 'info';
  const namespaces = (values.namespaces ?? env.WATCH_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const metricsPort = parsePort(values['metrics-port'] ?? env.METRICS_PORT, '--metrics-port', 8080)!;
  const healthPort = parsePort(values['health-port'] ?? env.HEALTH_PORT, '--health-port', undefined);
  const webhookPort = parsePort(values['webhook-port'] ?? env.WEBHOOK_PORT, '--webhook-port', 9443)!;
  const webhookPublicUrl = values['webhook-public-url'] ?? env.WEBHOOK_PUBLIC_URL;
  if (webhookPublicUrl !== undefined && webhookPublicUrl !== '' && !/^https?:\/\/[^\s/]+\/\S*$/.test(webhookPublicUrl)) {
    throw new UsageError(`--webhook-public-url: "${webhookPublicUrl}" is not a URL; expected the full target URL of the HubSpot app, e.g. https://hooks.example.com/webhooks/hubspot`);
  }
  const concurrency = parsePositiveInt(values.concurrency ?? env.CONCURRENCY, '--concurrency', DEFAULT_CONCURRENCY);
  const maxConcurrentSyncs = parsePositiveInt(values['max-concurrent-syncs'] ?? env.MAX_CONCURRENT_SYNCS, '--max-concurrent-syncs', DEFAULT_MAX_CONCURRENT_SYNCS);
  const dbPoolSize = parsePositiveInt(values['db-pool-size'] ?? env.DB_POOL_SIZE, '--db-pool-size', DEFAULT_DB_POOL_SIZE);
  const leaderElect = values['leader-elect'] ?? parseBool(env.LEADER_ELECT, 'LEADER_ELECT') ?? true;

  const { createLogger } = await import('./observability/logger.js');
  let logger;
  try {
    logger = createLogger({ level: logLevel });
  } catch (err) {
    throw new UsageError(`--log-level: ${(err as Error).message}`);
  }
  const { loadKubeConfig } = await import('./kube/config.js');
  const kubeConfig = loadKubeConfig(values.kubeconfig ?? env.KUBECONFIG);
  const { createMetrics } = await import('./observability/metrics.js');
  const { runOperator } = await import('./controller/run.js');
  const running = await runOperator({
    kubeConfig,
    logger,
    metrics: createMetrics(),
    metricsPort,
    healthPort,
    host: values['bind-address'] ?? env.BIND_ADDRESS,
    webhooks: { port: webhookPort, ...(webhookPublicUrl ? { publicUrl: webhookPublicUrl } : {}) },
    namespaces,
    shard: values.shard ?? env.SHARD,
    concurrency,
    maxConcurrentSyncs,
    dbPoolSize,
    leaderElection: {
      enabled: leaderElect,
      namespace: values['lease-namespace'] ?? env.LEASE_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
      name: values['lease-name'] ?? env.LEASE_NAME ?? 'hubspot-operator-leader',
      leaseDurationMs,
      renewDeadlineMs: leaseDurationMs ? Math.round(leaseDurationMs * 2 / 3) : undefined,
      retryPeriodMs: leaseDurationMs ? Math.max(200, Math.round(leaseDurationMs / 7.5)) : undefined,
    },
  });
  await untilSignal(async () => running.stop());
}

export async function main(argv: string[], opts: { plugin?: boolean } = {}): Promise<number> {
  const [command, ...rest] = argv;
  const plugin = opts.plugin ?? invokedAsPlugin();
  const prog = plugin ? 'kubectl hubspot' : 'hubspot-operator';
  const cli = await import('./cli/index.js');
  if (cli.isCliCommand(command)) {
    const { processIo } = await import('./cli/io.js');
    return cli.runCli(command, rest, processIo(prog));
  }
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(plugin ? cli.PLUGIN_HELP : HELP(cli.COMMANDS_HELP.replace(/^  /gm, '    ')));
        return command === undefined ? 2 : 0;
      case 'run':
        await runCommand(rest);
        return 0;
      case 'sandbox': {
        const { sandboxCommand } = await import('./sandbox/command.js');
        await sandboxCommand(rest);
        return 0;
      }
      default:
        throw new UsageError(
          plugin
            ? `unknown command "${command}": expected one of ${cli.CLI_COMMANDS.join(', ')} (see "kubectl hubspot --help")`
            : `unknown command "${command}": expected run, sandbox or one of ${cli.CLI_COMMANDS.join(', ')} (see --help)`,
        );
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${prog}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`${prog}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

const isEntry = Boolean(process.argv[1]) && import.meta.url === pathToFileURL(realpathSync(process.argv[1]!)).href;
if (isEntry) {
  const code = await main(process.argv.slice(2));
  // Let pending stdout drain, then exit (handles and sockets of a stopped operator must not keep us alive).
  process.exitCode = code;
  setTimeout(() => process.exit(code), 100).unref();
}
