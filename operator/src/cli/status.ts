/**
 * `status [NAME]`: the Sync Health page of one integration (conditions, per-object counts,
 * errors by category, API usage against the budget, lag, last sync), or one line per
 * integration of a namespace (-A: of all namespaces). Everything comes from the resource's
 * status, so it needs only get/list on hubspotintegrations.
 */
import type { Condition, ObjectSyncStatus } from '../api/types.js';
import { ANNOTATIONS } from '../api/constants.js';
import type { CliIo } from './io.js';
import { connectKube, getIntegration, listIntegrations, type Integration } from './kube.js';
import { DATABASE_FLAG, DATABASE_FLAG_HELP, KUBE_FLAGS, KUBE_FLAGS_HELP, OUTPUT_FLAG, OUTPUT_FLAG_HELP, kubeOptions, nameArg, outputOption, parseCommand } from './options.js';
import { stateReaderFor } from './state-access.js';
import type { FailingRecord } from './state-reader.js';
import { UsageError } from '../cli-args.js';
import { renderCsv, renderJson, renderTable, type Grid } from './output.js';
import { age } from './time.js';

export const STATUS_HELP = (prog: string) => `Usage: ${prog} status [NAME] [flags]

The Sync Health page of a HubSpotIntegration: conditions, per-object counts, errors by
category, API usage against the daily budget, lag and last sync. Without NAME, one line per
integration of the namespace (or of all namespaces with -A).

Flags:
  -A, --all-namespaces         list the integrations of every namespace (without NAME)
  --records                    with NAME: also name the impacted records of each error category
                               (reads the state schema, like "errors")
${OUTPUT_FLAG_HELP}${DATABASE_FLAG_HELP}${KUBE_FLAGS_HELP}`;

/** How many impacted records --records names per category. */
const IMPACTED_SHOWN = 5;

/** "contacts hubspot 501/key 401"-style names of failing records, for the error cards. */
function recordName(r: { objectType: string; hubspotId?: string | null; targetKey?: string | null }): string {
  const ids = [r.hubspotId ? `hubspot ${r.hubspotId}` : '', r.targetKey ? `key ${r.targetKey}` : ''].filter(Boolean).join('/');
  return `${r.objectType} ${ids}`;
}

type Counts = { created?: number; updated?: number; deleted?: number };

const cud = (c?: Counts) => `+${c?.created ?? 0} ~${c?.updated ?? 0} -${c?.deleted ?? 0}`;

/** The JSON view of one integration's health. */
export function healthOf(i: Integration, now = Date.now(), failing?: FailingRecord[]) {
  const st = i.status ?? {};
  const conditions = (st.conditions ?? []) as Condition[];
  const ready = conditions.find((c) => c.type === 'Ready');
  const spec = (i.spec ?? {}) as Integration['spec'] & { mode?: string };
  const objects = (st.objects ?? []) as ObjectSyncStatus[];
  const pending = objects.reduce((n, o) => n + (o.pendingChanges ?? 0), 0);
  const lastOk = st.lastSuccessfulSyncTime;
  return {
    namespace: i.metadata.namespace,
    name: i.metadata.name,
    mode: spec.mode ?? 'Sync',
    suspended: spec.suspend === true,
    ready: ready ? { status: ready.status, reason: ready.reason, message: ready.message } : undefined,
    observedGeneration: st.observedGeneration,
    generation: i.metadata.generation,
    conditions: conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime })),
    portalId: st.portalId,
    lastSyncTime: st.lastSyncTime,
    lastSuccessfulSyncTime: lastOk,
    lastFullResyncTime: st.lastFullResyncTime,
    lag: {
      /** Seconds since the end of the last successful cycle: how stale the synced data may be. */
      sinceLastSuccessfulSyncSeconds: lastOk ? Math.max(0, Math.round((now - Date.parse(lastOk)) / 1000)) : null,
      pendingChanges: pending,
    },
    syncRequest: {
      requested: i.metadata.annotations?.[ANNOTATIONS.syncRequestedAt],
      handled: st.lastHandledSyncRequest,
    },
    resyncRequest: {
      requested: i.metadata.annotations?.[ANNOTATIONS.resyncRequestedAt],
      handled: st.lastHandledResyncRequest,
    },
    objects: objects.map((o) => ({
      type: o.type,
      hubspotRecords: o.hubspotRecords ?? 0,
      targetRecords: o.targetRecords ?? 0,
      linkedRecords: o.linkedRecords ?? 0,
      pendingChanges: o.pendingChanges ?? 0,
      lastCycle: o.lastCycle ?? {},
    })),
    errors: (st.errors ?? []).map((e) => ({
      category: e.category,
      records: e.records,
      message: e.message,
      lastSeenTime: e.lastSeenTime,
      ...(failing ? { impacted: failing.filter((f) => f.category === e.category).map((f) => ({ objectType: f.objectType, hubspotId: f.hubspotId ?? null, targetKey: f.targetKey ?? null, direction: f.direction })) } : {}),
    })),
    errorCount: st.errorCount ?? 0,
    apiUsage: {
      requestsLast24h: st.apiUsage?.requestsLast24h ?? 0,
      rateLimitedLast24h: st.apiUsage?.rateLimitedLast24h ?? 0,
      dailyBudget: st.apiUsage?.dailyBudget ?? spec.hubspot?.rateLimit?.dailyRequests ?? 250000,
    },
    plan: st.plan,
  };
}

type Health = ReturnType<typeof healthOf>;

function percent(used: number, budget: number): string {
  if (!budget) return '-';
  const p = (100 * used) / budget;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

function indent(text: string, by = '  '): string {
  return text.split('\n').map((l) => (l ? by + l : l)).join('\n');
}

/** The page `status NAME` prints (kubectl-describe style sections). */
export function renderHealthPage(h: Health, now = Date.now()): string {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(16)}${value}`);
  field('Name', h.name);
  field('Namespace', h.namespace ?? '');
  field('Mode', h.mode);
  field('Suspended', h.suspended ? 'true' : 'false');
  field('Ready', h.ready ? `${h.ready.status} (${h.ready.reason}) ${h.ready.message ?? ''}`.trim() : 'Unknown (no status yet: is the operator running?)');
  if (h.portalId !== undefined) field('HubSpot portal', String(h.portalId));
  field('Last sync', h.lastSyncTime ? `${h.lastSyncTime} (${age(h.lastSyncTime, now)} ago)` : 'never');
  if (h.lastSuccessfulSyncTime !== h.lastSyncTime) field('Last success', h.lastSuccessfulSyncTime ? `${h.lastSuccessfulSyncTime} (${age(h.lastSuccessfulSyncTime, now)} ago)` : 'never');
  field('Last full sync', h.lastFullResyncTime ? `${h.lastFullResyncTime} (${age(h.lastFullResyncTime, now)} ago)` : 'never');
  field(
    'Lag',
    `${h.lag.sinceLastSuccessfulSyncSeconds === null ? 'no successful sync yet' : `${age(h.lastSuccessfulSyncTime, now)} since the last successful sync`}, ${h.lag.pendingChanges} change${h.lag.pendingChanges === 1 ? '' : 's'} captured and not yet applied`,
  );
  const u = h.apiUsage;
  field('API usage', `${u.requestsLast24h} of ${u.dailyBudget} requests in the last 24h (${percent(u.requestsLast24h, u.dailyBudget)} of the daily budget), ${u.rateLimitedLast24h} rate-limited`);
  if (h.generation !== undefined && h.observedGeneration !== undefined && h.observedGeneration < h.generation) {
    field('Spec', `generation ${h.generation} not yet observed (status describes generation ${h.observedGeneration})`);
  }

  lines.push('', 'Conditions:');
  lines.push(
    h.conditions.length
      ? indent(renderTable({ columns: ['type', 'status', 'reason', 'age', 'message'], rows: h.conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]) })).trimEnd()
      : '  (none yet)',
  );

  lines.push('', 'Objects:');
  lines.push(
    h.objects.length
      ? indent(
          renderTable({
            columns: ['type', 'hubspot', 'target', 'linked', 'pending', 'last cycle to target', 'to hubspot', 'failed'],
            rows: h.objects.map((o) => [o.type, o.hubspotRecords, o.targetRecords, o.linkedRecords, o.pendingChanges, cud(o.lastCycle.toTarget), cud(o.lastCycle.toHubSpot), o.lastCycle.failed ?? 0]),
          }),
        ).trimEnd()
      : '  (no cycle has completed yet)',
  );

  lines.push('', `Errors: ${h.errorCount} record${h.errorCount === 1 ? '' : 's'} failing`);
  if (h.errors.length) {
    lines.push(
      indent(
        renderTable({
          columns: ['category', 'records', 'last seen', 'example'],
          rows: h.errors.map((e) => [e.category, e.records, e.lastSeenTime ? `${age(e.lastSeenTime, now)} ago` : '', e.message]),
        }),
      ).trimEnd(),
    );
    for (const e of h.errors) {
      if (!e.impacted) continue;
      const shown = e.impacted.slice(0, IMPACTED_SHOWN).map(recordName);
      const more = e.impacted.length - shown.length;
      lines.push(`  ${e.category} records: ${shown.join(', ') || '(none in the state: they synced since)'}${more > 0 ? `, and ${more} more` : ''}`);
    }
    lines.push(`  Every failing record: ${'errors'} ${h.name} -n ${h.namespace}`);
  }
  return lines.join('\n') + '\n';
}

function listGrid(items: Health[], now: number): Grid {
  return {
    columns: ['namespace', 'name', 'mode', 'ready', 'reason', 'suspended', 'objects', 'linked', 'pending', 'errors', 'last sync', 'api 24h'],
    rows: items.map((h) => [
      h.namespace,
      h.name,
      h.mode,
      h.ready?.status ?? 'Unknown',
      h.ready?.reason,
      h.suspended,
      h.objects.map((o) => o.type).join(','),
      h.objects.reduce((n, o) => n + o.linkedRecords, 0),
      h.lag.pendingChanges,
      h.errorCount,
      h.lastSyncTime ? `${age(h.lastSyncTime, now)} ago` : 'never',
      `${h.apiUsage.requestsLast24h}/${h.apiUsage.dailyBudget}`,
    ]),
  };
}

/** CSV of one integration: one record per object type, with the integration-level figures repeated. */
function objectsCsvGrid(h: Health): Grid {
  return {
    columns: [
      'namespace', 'name', 'ready', 'reason', 'suspended', 'lastSyncTime', 'lastSuccessfulSyncTime', 'errorCount', 'requestsLast24h', 'rateLimitedLast24h', 'dailyBudget',
      'type', 'hubspotRecords', 'targetRecords', 'linkedRecords', 'pendingChanges',
      'toTargetCreated', 'toTargetUpdated', 'toTargetDeleted', 'toHubSpotCreated', 'toHubSpotUpdated', 'toHubSpotDeleted', 'failed',
    ],
    rows: (h.objects.length ? h.objects : [undefined]).map((o) => [
      h.namespace, h.name, h.ready?.status ?? 'Unknown', h.ready?.reason, h.suspended, h.lastSyncTime, h.lastSuccessfulSyncTime, h.errorCount,
      h.apiUsage.requestsLast24h, h.apiUsage.rateLimitedLast24h, h.apiUsage.dailyBudget,
      o?.type, o?.hubspotRecords, o?.targetRecords, o?.linkedRecords, o?.pendingChanges,
      o?.lastCycle.toTarget?.created, o?.lastCycle.toTarget?.updated, o?.lastCycle.toTarget?.deleted,
      o?.lastCycle.toHubSpot?.created, o?.lastCycle.toHubSpot?.updated, o?.lastCycle.toHubSpot?.deleted, o?.lastCycle.failed,
    ]),
  };
}

function listCsvGrid(items: Health[]): Grid {
  return {
    columns: ['namespace', 'name', 'mode', 'ready', 'reason', 'suspended', 'objects', 'linkedRecords', 'pendingChanges', 'errorCount', 'lastSyncTime', 'requestsLast24h', 'dailyBudget'],
    rows: items.map((h) => [
      h.namespace, h.name, h.mode, h.ready?.status ?? 'Unknown', h.ready?.reason, h.suspended, h.objects.map((o) => o.type).join(' '),
      h.objects.reduce((n, o) => n + o.linkedRecords, 0), h.lag.pendingChanges, h.errorCount, h.lastSyncTime, h.apiUsage.requestsLast24h, h.apiUsage.dailyBudget,
    ]),
  };
}

export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('status', args, { ...KUBE_FLAGS, ...OUTPUT_FLAG, ...DATABASE_FLAG, 'all-namespaces': { type: 'boolean', short: 'A' }, records: { type: 'boolean' } });
  if (values.help) {
    io.out(STATUS_HELP(io.prog));
    return 0;
  }
  const name = nameArg('status', positionals, true);
  const output = outputOption(values);
  const all = values['all-namespaces'] === true;
  if (name && all) throw new UsageError('status: NAME and -A/--all-namespaces exclude each other (a name is looked up in one namespace)');
  if (values.records && !name) throw new UsageError('status: --records needs an integration NAME');
  const kube = connectKube(kubeOptions(values));
  try {
    const now = Date.now();
    if (name) {
      const integration = await getIntegration(kube, name);
      let failing: FailingRecord[] | undefined;
      if (values.records) {
        const reader = await stateReaderFor(kube, integration, values['database-url']);
        try {
          failing = await reader.errors({});
        } finally {
          await reader.close();
        }
      }
      const h = healthOf(integration, now, failing);
      if (output === 'json') io.out(renderJson(h));
      else if (output === 'csv') io.out(renderCsv(objectsCsvGrid(h)));
      else io.out(renderHealthPage(h, now).replace(`errors ${h.name} -n`, `${io.prog} errors ${h.name} -n`));
      return 0;
    }
    const items = (await listIntegrations(kube, all)).map((i) => healthOf(i, now));
    if (output === 'json') io.out(renderJson({ items }));
    else if (output === 'csv') io.out(renderCsv(listCsvGrid(items)));
    else if (items.length === 0) io.err(all ? 'No HubSpotIntegrations found.\n' : `No HubSpotIntegrations found in namespace ${kube.namespace}.\n`);
    else io.out(renderTable(listGrid(items, now)));
    return 0;
  } finally {
    await kube.close();
  }
}
