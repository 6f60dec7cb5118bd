/**
 * `audit NAME [--since 1h] [--record KEY]`: what the sync did, record by record, from the audit
 * log in the state schema (oldest first; the newest --limit entries).
 */
import { UsageError } from '../cli-args.js';
import type { CliIo } from './io.js';
import { connectKube, getIntegration } from './kube.js';
import { DATABASE_FLAG, DATABASE_FLAG_HELP, KUBE_FLAGS, KUBE_FLAGS_HELP, OUTPUT_FLAG, OUTPUT_FLAG_HELP, kubeOptions, nameArg, outputOption, parseCommand } from './options.js';
import { renderCsv, renderJson, renderTable } from './output.js';
import { stateReaderFor } from './state-access.js';
import { parseSince } from './time.js';

export const AUDIT_HELP = (prog: string) => `Usage: ${prog} audit NAME [flags]

The audit log of the integration: every create, update, delete and link the sync carried out
(or failed to), with the record's IDs, direction and outcome. Oldest first. Read from the
operator's state schema with the integration's connection Secret (fetched with your Kubernetes
credentials) or --database-url.

Flags:
  --since <when>               entries newer than a duration (30s, 15m, 1h, 7d) or a time
                               (2026-11-23T10:00:00Z); default 24h
  --record <key>               one record: a HubSpot ID or target key (hubspot:ID / target:KEY to say which)
  --object <type>              only this object type (e.g. contacts)
  --limit <n>                  the newest n entries; default 1000
${OUTPUT_FLAG_HELP}${DATABASE_FLAG_HELP}${KUBE_FLAGS_HELP}`;

export async function auditCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('audit', args, {
    ...KUBE_FLAGS, ...OUTPUT_FLAG, ...DATABASE_FLAG,
    since: { type: 'string' }, record: { type: 'string' }, object: { type: 'string' }, limit: { type: 'string' },
  });
  if (values.help) {
    io.out(AUDIT_HELP(io.prog));
    return 0;
  }
  const name = nameArg('audit', positionals)!;
  const output = outputOption(values);
  const since = parseSince(values.since ?? '24h');
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${values.limit}" is not a positive integer`);
  if (values.record === '') throw new UsageError('--record: expected a HubSpot ID or a target key');
  const kube = connectKube(kubeOptions(values));
  try {
    const integration = await getIntegration(kube, name);
    const reader = await stateReaderFor(kube, integration, values['database-url']);
    try {
      const entries = await reader.audit({ since, record: values.record, objectType: values.object, limit });
      const items = entries.map((e) => ({
        at: e.at,
        objectType: e.objectType,
        direction: e.direction,
        operation: e.operation,
        hubspotId: e.hubspotId ?? null,
        targetKey: e.targetKey ?? null,
        outcome: e.outcome,
        category: e.category ?? null,
        message: e.message ?? null,
        // spec.audit: the changed fields, and their before/after values unless spec.audit.values is false.
        fields: e.fields ?? null,
        ...(e.values ? { values: e.values } : {}),
      }));
      if (output === 'json') {
        io.out(renderJson({ namespace: kube.namespace, name, since: since.toISOString(), count: items.length, items }));
      } else if (output === 'csv') {
        io.out(renderCsv({ columns: ['at', 'objectType', 'direction', 'operation', 'hubspotId', 'targetKey', 'outcome', 'category', 'message', 'fields'], rows: items.map((i) => [i.at, i.objectType, i.direction, i.operation, i.hubspotId, i.targetKey, i.outcome, i.category, i.message, i.fields?.join(' ') ?? null]) }));
      } else if (items.length === 0) {
        io.err(`No audit entries for ${kube.namespace}/${name} since ${since.toISOString()}${values.record ? ` for record ${values.record}` : ''}.\n`);
      } else {
        io.out(renderTable({ columns: ['time', 'object', 'direction', 'operation', 'hubspot id', 'target key', 'outcome', 'category', 'fields', 'message'], rows: items.map((i) => [i.at, i.objectType, i.direction, i.operation, i.hubspotId, i.targetKey, i.outcome, i.category, i.fields?.join(' ') ?? null, i.message]) }));
      }
      return 0;
    } finally {
      await reader.close();
    }
  } finally {
    await kube.close();
  }
}
