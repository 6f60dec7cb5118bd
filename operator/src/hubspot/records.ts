/**
 * What the client adds to the records HubSpot returns: `mergedFrom` (from `hs_merged_object_ids`,
 * which every read asks for), `propertyChangedAt` (from `propertiesWithHistory`), and the tie of
 * a merged record back to every input ID that was merged into it.
 */
import type { BatchInput } from './batch.js';
import type { BatchResult, HubSpotObject, PropertyVersion } from './types.js';

/** HubSpot's property listing the IDs merged into a record, `;`-separated. */
export const MERGED_IDS_PROPERTY = 'hs_merged_object_ids';

/** HubSpot's limit on inputs of a batch read asking for property history. */
export const HISTORY_BATCH_SIZE = 50;

/** `properties` plus hs_merged_object_ids (unknown properties are ignored by HubSpot's reads). */
export function withMergedIds(properties: readonly string[]): string[] {
  return properties.includes(MERGED_IDS_PROPERTY) ? [...properties] : [...properties, MERGED_IDS_PROPERTY];
}

/** The IDs of hs_merged_object_ids (`;`- or `,`-separated), in order, without blanks. */
export function parseMergedIds(value: string | null | undefined): string[] {
  if (!value) return [];
  return value.split(/[;,]/).map((s) => s.trim()).filter((s) => /^\d+$/.test(s));
}

/** Epoch ms of the newest version of each property (HubSpot lists newest first; the max is taken anyway). */
export function changedAt(history: Record<string, PropertyVersion[] | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, versions] of Object.entries(history)) {
    let newest = -Infinity;
    for (const v of versions ?? []) {
      const t = Date.parse(v?.timestamp ?? '');
      if (Number.isFinite(t) && t > newest) newest = t;
    }
    if (Number.isFinite(newest)) out[name] = newest;
  }
  return out;
}

/** Sets `mergedFrom` and, when HubSpot sent history, `propertyChangedAt` (in place). */
export function decorate<T extends HubSpotObject>(o: T): T {
  if (!o || typeof o !== 'object') return o;
  const merged = parseMergedIds(o.properties?.[MERGED_IDS_PROPERTY]);
  if (merged.length > 0) o.mergedFrom = merged;
  if (o.propertiesWithHistory && typeof o.propertiesWithHistory === 'object') o.propertyChangedAt = changedAt(o.propertiesWithHistory);
  return o;
}

/**
 * Ties results of a batch read by record ID to every input they answer: the input with the
 * record's own ID, and inputs whose ID was merged into it (HubSpot answers an old ID with the
 * merged record, once even when several inputs name it). A record answering several inputs is
 * repeated, once per input (copies), so `results` and `inputIndexes` stay parallel.
 */
export function tieMergedResults(mapped: Required<BatchResult>, inputs: readonly BatchInput[], positions: readonly number[]): Required<BatchResult> {
  const errored = new Set(mapped.errors.map((e) => e.index));
  const byId = new Map<string, number[]>();
  for (const p of positions) {
    const id = inputs[p]?.id;
    if (id === undefined || errored.has(p)) continue;
    const list = byId.get(id) ?? [];
    list.push(p);
    byId.set(id, list);
  }
  const results: HubSpotObject[] = [];
  const inputIndexes: number[] = [];
  const answered = new Set<number>();
  mapped.results.forEach((r, k) => {
    const matches: number[] = [];
    for (const id of [r.id, ...(r.mergedFrom ?? [])]) {
      for (const p of byId.get(id) ?? []) {
        if (!answered.has(p)) {
          answered.add(p);
          matches.push(p);
        }
      }
    }
    if (matches.length === 0) {
      results.push(r);
      inputIndexes.push(mapped.inputIndexes[k] ?? -1);
      return;
    }
    matches.sort((a, b) => a - b).forEach((p, n) => {
      results.push(n === 0 ? r : structuredClone(r));
      inputIndexes.push(p);
    });
  });
  return { results, errors: mapped.errors, inputIndexes };
}
