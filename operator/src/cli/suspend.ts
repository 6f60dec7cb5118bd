/**
 * `suspend NAME` / `resume NAME`: patch spec.suspend (DESIGN §2.6: reads and writes stop at the
 * next batch boundary; changes captured meanwhile are applied after resume).
 */
import type { CliIo } from './io.js';
import { connectKube, getIntegration, patchIntegration } from './kube.js';
import { KUBE_FLAGS, KUBE_FLAGS_HELP, OUTPUT_FLAG, OUTPUT_FLAG_HELP, kubeOptions, nameArg, outputOption, parseCommand } from './options.js';
import { renderCsv, renderJson } from './output.js';

export const SUSPEND_HELP = (prog: string, command: 'suspend' | 'resume') => `Usage: ${prog} ${command} NAME [flags]

${command === 'suspend'
  ? 'Pauses the integration (spec.suspend: true): no reads or writes on either side from the next\nbatch boundary; changes made in the database meanwhile are kept and applied after resume.'
  : 'Resumes a suspended integration (spec.suspend: false): syncing restarts and applies the\nchanges captured while it was suspended.'}

Flags:
${OUTPUT_FLAG_HELP}${KUBE_FLAGS_HELP}`;

export async function suspendCommand(command: 'suspend' | 'resume', args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(command, args, { ...KUBE_FLAGS, ...OUTPUT_FLAG });
  if (values.help) {
    io.out(SUSPEND_HELP(io.prog, command));
    return 0;
  }
  const name = nameArg(command, positionals)!;
  const output = outputOption(values);
  const suspend = command === 'suspend';
  const kube = connectKube(kubeOptions(values));
  try {
    const before = await getIntegration(kube, name);
    const was = before.spec?.suspend === true;
    if (was !== suspend) await patchIntegration(kube, name, { spec: { suspend } });
    const result = { namespace: kube.namespace, name, suspended: suspend, changed: was !== suspend };
    if (output === 'json') io.out(renderJson(result));
    else if (output === 'csv') io.out(renderCsv({ columns: Object.keys(result), rows: [Object.values(result)] }));
    else io.out(`${kube.namespace}/${name} ${result.changed ? (suspend ? 'suspended' : 'resumed') : `was already ${suspend ? 'suspended' : 'running (not suspended)'}`}\n`);
    return 0;
  } finally {
    await kube.close();
  }
}
