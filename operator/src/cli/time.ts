/** Times as the CLI shows them: kubectl-style ages ("45s", "12m", "3h", "5d") and --since values. */
import { parseDuration } from '../api/duration.js';
import { UsageError } from '../cli-args.js';

/** kubectl's short age of a timestamp relative to `now` (2 significant units below a day). */
export function age(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return shortDuration(Math.max(0, now - t));
}

export function shortDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 && h < 8 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d`;
}

/** `--since`: a duration back from now (30s, 15m, 1h, 7d, 1h30m) or an RFC 3339 time. */
export function parseSince(value: string, now = Date.now()): Date {
  const days = /^([0-9]+)d$/.exec(value);
  if (days) return new Date(now - Number(days[1]) * 86_400_000);
  if (/^([0-9]+(ms|s|m|h))+$/.test(value)) return new Date(now - parseDuration(value));
  if (/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new UsageError(`--since: "${value}" is neither a duration (30s, 15m, 1h, 7d) nor a time (2026-11-23T10:00:00Z)`);
}
