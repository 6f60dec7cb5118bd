/**
 * `sync NAME` / `resync NAME`: set the Flux-style request annotation to now (an incremental cycle
 * or a full reconciliation), and with --wait follow status.lastHandled…Request until the operator
 * has acted on it.
 */
import { ANNOTATIONS } from '../api/constants.js';
import { parseDuration } from '../api/duration.js';
import { UsageError } from '../cli-args.js';
import { CliError, type CliIo } from './io.js';
import { connectKube, getIntegration, patchIntegration, type Integration } from './kube.js';
import { KUBE_FLAGS, KUBE_FLAGS_HELP, OUTPUT_FLAG, OUTPUT_FLAG_HELP, kubeOptions, nameArg, outputOption, parseCommand } from './options.js';
import { renderCsv, renderJson } from './output.js';

const KINDS = {
  sync: { annotation: ANNOTATIONS.syncRequestedAt, handled: 'lastHandledSyncRequest', what: 'an incremental sync cycle' },
  resync: { annotation: ANNOTATIONS.resyncRequestedAt, handled: 'lastHandledResyncRequest', what: 'a full reconciliation' },
} as const;

export const REQUEST_HELP = (prog: string, command: 'sync' | 'resync') => `Usage: ${prog} ${command} NAME [flags]

Requests ${KINDS[command].what} now: sets the annotation ${KINDS[command].annotation}
to the current time. With --wait, waits until the operator has carried it out
(status.${KINDS[command].handled} equals it).

Flags:
  --wait                       wait until the operator has acted on the request
  --timeout <duration>         how long --wait waits, e.g. 30s, 5m; default 5m (exit 1 when it expires)
${OUTPUT_FLAG_HELP}${KUBE_FLAGS_HELP}`;

const POLL_MS = 500;

export async function requestCommand(command: 'sync' | 'resync', args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(command, args, { ...KUBE_FLAGS, ...OUTPUT_FLAG, wait: { type: 'boolean' }, timeout: { type: 'string' } });
  if (values.help) {
    io.out(REQUEST_HELP(io.prog, command));
    return 0;
  }
  const name = nameArg(command, positionals)!;
  const output = outputOption(values);
  let timeoutMs = 5 * 60_000;
  if (values.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(values.timeout);
    } catch (err) {
      throw new UsageError(`--timeout: ${(err as Error).message}`);
    }
  }
  const k = KINDS[command];
  const kube = connectKube(kubeOptions(values));
  try {
    await getIntegration(kube, name); // a clear "not found" before patching
    const stamp = new Date().toISOString();
    await patchIntegration(kube, name, { metadata: { annotations: { [k.annotation]: stamp } } });
    let handled: Integration | undefined;
    if (values.wait) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await getIntegration(kube, name);
        if ((current.status as Record<string, unknown> | undefined)?.[k.handled] === stamp) {
          handled = current;
          break;
        }
        if (Date.now() > deadline) {
          throw new CliError(`${command} of ${kube.namespace}/${name} requested at ${stamp} but not carried out within ${values.timeout ?? '5m'} (status.${k.handled} is ${JSON.stringify((current.status as Record<string, unknown> | undefined)?.[k.handled] ?? null)}; is the operator running and the integration not suspended?)`);
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    }
    const ready = handled?.status?.conditions?.find((c) => c.type === 'Ready');
    const result = {
      namespace: kube.namespace,
      name,
      annotation: k.annotation,
      requestedAt: stamp,
      handled: handled ? true : values.wait ? false : null,
      lastSyncTime: handled?.status?.lastSyncTime ?? null,
      ready: ready ? { status: ready.status, reason: ready.reason, message: ready.message } : null,
      errorCount: handled ? (handled.status?.errorCount ?? 0) : null,
    };
    if (output === 'json') io.out(renderJson(result));
    else if (output === 'csv') io.out(renderCsv({ columns: ['namespace', 'name', 'annotation', 'requestedAt', 'handled', 'lastSyncTime', 'errorCount', 'ready', 'reason'], rows: [[result.namespace, result.name, result.annotation, result.requestedAt, result.handled, result.lastSyncTime, result.errorCount, ready?.status, ready?.reason]] }));
    else {
      io.out(`${command} requested for ${kube.namespace}/${name} at ${stamp}\n`);
      if (handled) io.out(`carried out: last sync ${result.lastSyncTime ?? '-'}, Ready=${ready?.status ?? 'Unknown'} (${ready?.reason ?? '-'}), ${result.errorCount} record${result.errorCount === 1 ? '' : 's'} failing\n`);
    }
    return 0;
  } finally {
    await kube.close();
  }
}
