/**
 * `errors NAME [--category C] [--object T]`: every record currently failing — its IDs on both
 * sides, category, message, HubSpot correlationId, first and last seen — from the state schema.
 */
import { ERROR_CATEGORIES } from '../api/categories.js';
import { UsageError } from '../cli-args.js';
import type { CliIo } from './io.js';
import { connectKube, getIntegration } from './kube.js';
import { DATABASE_FLAG, DATABASE_FLAG_HELP, KUBE_FLAGS, KUBE_FLAGS_HELP, OUTPUT_FLAG, OUTPUT_FLAG_HELP, kubeOptions, nameArg, outputOption, parseCommand } from './options.js';
import { renderCsv, renderJson, renderTable } from './output.js';
import { stateReaderFor } from './state-access.js';
import { age } from './time.js';

export const ERRORS_HELP = (prog: string) => `Usage: ${prog} errors NAME [flags]

Every record of the integration that is currently failing: its HubSpot ID and target key, the
error category and message, HubSpot's correlationId, and when it first and last failed. Read from
the operator's state schema with the integration's connection Secret (fetched with your
Kubernetes credentials) or --database-url.

Flags:
  --category <C>               only this category (${ERROR_CATEGORIES.join(', ')})
  --object <type>              only this object type (e.g. contacts)
  --limit <n>                  at most n records; default all
${OUTPUT_FLAG_HELP}${DATABASE_FLAG_HELP}${KUBE_FLAGS_HELP}`;

export async function errorsCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('errors', args, {
    ...KUBE_FLAGS, ...OUTPUT_FLAG, ...DATABASE_FLAG,
    category: { type: 'string' }, object: { type: 'string' }, limit: { type: 'string' },
  });
  if (values.help) {
    io.out(ERRORS_HELP(io.prog));
    return 0;
  }
  const name = nameArg('errors', positionals)!;
  const output = outputOption(values);
  let category = values.category;
  if (category !== undefined) {
    const known = ERROR_CATEGORIES.find((c) => c.toLowerCase() === category!.toLowerCase());
    if (!known) throw new UsageError(`--category: "${category}" is not an error category; expected one of ${ERROR_CATEGORIES.join(', ')}`);
    category = known;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit: "${values.limit}" is not a positive integer`);
  const kube = connectKube(kubeOptions(values));
  try {
    const integration = await getIntegration(kube, name);
    const objectTypes = (integration.spec?.objects ?? []).map((o) => o.type);
    if (values.object !== undefined && !objectTypes.includes(values.object)) {
      throw new UsageError(`--object: ${kube.namespace}/${name} does not sync "${values.object}"; it syncs ${objectTypes.join(', ') || 'no object types'}`);
    }
    const reader = await stateReaderFor(kube, integration, values['database-url']);
    try {
      const records = await reader.errors({ category, objectType: values.object, limit });
      const items = records.map((r) => ({
        objectType: r.objectType,
        hubspotId: r.hubspotId ?? null,
        targetKey: r.targetKey ?? null,
        direction: r.direction,
        category: r.category,
        message: r.message,
        correlationId: r.correlationId ?? null,
        firstSeen: r.firstSeen,
        lastSeen: r.lastSeen,
      }));
      if (output === 'json') {
        io.out(renderJson({ namespace: kube.namespace, name, count: items.length, items }));
      } else if (output === 'csv') {
        io.out(renderCsv({ columns: ['objectType', 'hubspotId', 'targetKey', 'direction', 'category', 'message', 'correlationId', 'firstSeen', 'lastSeen'], rows: items.map((i) => [i.objectType, i.hubspotId, i.targetKey, i.direction, i.category, i.message, i.correlationId, i.firstSeen, i.lastSeen]) }));
      } else if (items.length === 0) {
        io.err(`No failing records for ${kube.namespace}/${name}${category ? ` in category ${category}` : ''}${values.object ? ` of ${values.object}` : ''}.\n`);
      } else {
        const now = Date.now();
        io.out(
          renderTable({
            columns: ['object', 'hubspot id', 'target key', 'direction', 'category', 'first seen', 'last seen', 'correlation id', 'message'],
            rows: items.map((i) => [i.objectType, i.hubspotId, i.targetKey, i.direction, i.category, `${age(i.firstSeen, now)} ago`, `${age(i.lastSeen, now)} ago`, i.correlationId, i.message]),
          }),
        );
      }
      return 0;
    } finally {
      await reader.close();
    }
  } finally {
    await kube.close();
  }
}
