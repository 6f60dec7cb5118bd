/**
 * `plan NAME`: what a sync would do, from status.plan (written by spec.mode: Observe), per object
 * type. Exit codes like `flux diff`: 0 when the plan changes nothing, 1 when it would create,
 * update, delete or link records or decide conflicts; 2 when there is no plan to show or it cannot be read.
 */
import type { CliIo } from './io.js';
import { CliError } from './io.js';
import { connectKube, getIntegration } from './kube.js';
import { DATABASE_FLAG, DATABASE_FLAG_HELP, KUBE_FLAGS, KUBE_FLAGS_HELP, OUTPUT_FLAG, OUTPUT_FLAG_HELP, kubeOptions, nameArg, outputOption, parseCommand } from './options.js';
import { renderCsv, renderJson, renderTable } from './output.js';
import { stateReaderFor } from './state-access.js';
import type { StoredPlan } from './state-reader.js';

export const PLAN_HELP = (prog: string) => `Usage: ${prog} plan NAME [flags]

What a sync of the integration would do, as computed by spec.mode: Observe (status.plan): per
object type the records it would create, update and delete on each side, link, and the
duplicates, conflicts (records with a field changed on both sides since the last sync, which
the field's conflict rule decides) and records that would fail. --details names each conflicting
field and the side that wins.

Exit status (like flux diff): 0 the plan changes nothing, 1 it has differences (conflicts
included), 2 no plan or an error.

Flags:
  --details                    also show the stored plan with field-level diffs (reads the state schema)
${OUTPUT_FLAG_HELP}${DATABASE_FLAG_HELP}${KUBE_FLAGS_HELP}`;

type Cud = { create?: number; update?: number; delete?: number };

export interface PlanEntry {
  type: string;
  toTarget: Required<Cud>;
  toHubSpot: Required<Cud>;
  link: number;
  duplicates: number;
  conflicts: number;
  wouldFail: number;
}

const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const cud = (c: unknown): Required<Cud> => {
  const x = (c ?? {}) as Cud;
  return { create: n(x.create), update: n(x.update), delete: n(x.delete) };
};

/** status.plan as a list of per-object entries: accepts a list, or an object with `objects`. */
export function planEntries(plan: unknown): PlanEntry[] | undefined {
  if (plan === undefined || plan === null) return undefined;
  const list = Array.isArray(plan) ? plan : Array.isArray((plan as { objects?: unknown }).objects) ? (plan as { objects: unknown[] }).objects : undefined;
  if (!list) return undefined;
  return list.map((e) => {
    const o = e as Record<string, unknown>;
    const link = typeof o.link === 'object' && o.link !== null ? Object.values(o.link as Record<string, unknown>).reduce<number>((s, v) => s + n(v), 0) : n(o.link);
    return { type: String(o.type ?? ''), toTarget: cud(o.toTarget), toHubSpot: cud(o.toHubSpot), link, duplicates: n(o.duplicates), conflicts: n(o.conflicts), wouldFail: n(o.wouldFail) };
  });
}

/**
 * Whether carrying out the plan would change anything (a write on either side, or a new link).
 * A conflict is a difference too: the losing side's value is overwritten (that write is also
 * counted as an update, so a plan with conflicts always has one).
 */
export function hasDifferences(entries: PlanEntry[]): boolean {
  return entries.some((e) => e.toTarget.create + e.toTarget.update + e.toTarget.delete + e.toHubSpot.create + e.toHubSpot.update + e.toHubSpot.delete + e.link + e.conflicts > 0);
}

export async function planCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('plan', args, { ...KUBE_FLAGS, ...OUTPUT_FLAG, ...DATABASE_FLAG, details: { type: 'boolean' } });
  if (values.help) {
    io.out(PLAN_HELP(io.prog));
    return 0;
  }
  const name = nameArg('plan', positionals)!;
  const output = outputOption(values);
  const kube = connectKube(kubeOptions(values));
  try {
    const integration = await getIntegration(kube, name);
    const mode = (integration.spec as { mode?: string }).mode ?? 'Sync';
    const raw = integration.status?.plan;
    const entries = planEntries(raw);
    if (!entries) {
      throw new CliError(
        mode === 'Observe'
          ? `${kube.namespace}/${name} has no plan yet: the first Observe pass has not completed (see "${io.prog} status ${name}")`
          : `${kube.namespace}/${name} has no plan: status.plan is computed in spec.mode: Observe (the integration is in mode ${mode})`,
        2,
      );
    }
    let stored: StoredPlan | undefined;
    if (values.details) {
      const reader = await stateReaderFor(kube, integration, values['database-url']);
      try {
        stored = await reader.plan();
      } finally {
        await reader.close();
      }
    }
    const differs = hasDifferences(entries);
    if (output === 'json') {
      io.out(renderJson({ namespace: kube.namespace, name, mode, differences: differs, plan: raw, objects: entries, ...(values.details ? { stored: stored ?? null } : {}) }));
    } else if (output === 'csv') {
      io.out(
        renderCsv({
          columns: ['type', 'toTargetCreate', 'toTargetUpdate', 'toTargetDelete', 'toHubSpotCreate', 'toHubSpotUpdate', 'toHubSpotDelete', 'link', 'duplicates', 'conflicts', 'wouldFail'],
          rows: entries.map((e) => [e.type, e.toTarget.create, e.toTarget.update, e.toTarget.delete, e.toHubSpot.create, e.toHubSpot.update, e.toHubSpot.delete, e.link, e.duplicates, e.conflicts, e.wouldFail]),
        }),
      );
    } else {
      io.out(
        renderTable({
          columns: ['type', 'to target', 'to hubspot', 'link', 'duplicates', 'conflicts', 'would fail'],
          rows: entries.map((e) => [e.type, `+${e.toTarget.create} ~${e.toTarget.update} -${e.toTarget.delete}`, `+${e.toHubSpot.create} ~${e.toHubSpot.update} -${e.toHubSpot.delete}`, e.link, e.duplicates, e.conflicts, e.wouldFail]),
        }),
      );
      io.out(differs ? `A sync would change records (+ create, ~ update, - delete). Mode: ${mode}.\n` : `A sync would change nothing. Mode: ${mode}.\n`);
      if (values.details) io.out(stored ? renderJson(stored) : 'No stored plan with field-level diffs in the state schema.\n');
    }
    return differs ? 1 : 0;
  } catch (err) {
    // Failures of `plan` exit 2, so that 1 always means "differences".
    if (err instanceof CliError && err.exitCode === 1) throw new CliError(err.message, 2);
    throw err;
  } finally {
    await kube.close();
  }
}
