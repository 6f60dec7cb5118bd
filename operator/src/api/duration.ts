/**
 * Durations as the CRDs write them (schedule.interval, schedule.fullResyncInterval): a sequence
 * of number+unit with units ms, s, m, h, e.g. 30s, 5m, 1h30m.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^([0-9]+(ms|s|m|h))+$/;
const PART = /([0-9]+)(ms|s|m|h)/g;

/** Milliseconds of a duration such as "5m" or "1h30m"; throws a descriptive error otherwise. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) throw new Error(`invalid duration "${text}": expected a duration such as 30s, 5m, 24h or 1h30m`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}
