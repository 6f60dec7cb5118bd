/**
 * pino JSON logs, one line per event. Fields: namespace, integration, objectType where they
 * apply (child loggers carry them). Secrets never reach the output: known secret-bearing fields
 * are redacted by path, and every serialized line is scrubbed of registered secret values.
 */
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { secretScrubber, type SecretScrubber } from './redact.js';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Field names that may hold credentials, wherever they appear (two levels deep). */
const REDACT_PATHS = [
  'token', 'accessToken', 'refreshToken', 'clientSecret', 'password', 'authorization', 'Authorization',
  'databaseUrl', 'connectionString', 'credentials', 'secret', 'data', 'stringData',
  'headers.authorization', 'headers.Authorization', 'req.headers.authorization',
  '*.token', '*.accessToken', '*.refreshToken', '*.clientSecret', '*.password', '*.authorization',
  '*.Authorization', '*.databaseUrl', '*.connectionString', '*.credentials', '*.secret', '*.stringData',
  '*.headers.authorization', '*.headers.Authorization',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
  scrubber?: SecretScrubber;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!LOG_LEVELS.includes(level as LevelWithSilent)) {
    throw new Error(`invalid log level "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const scrubber = opts.scrubber ?? secretScrubber;
  return pino(
    {
      level,
      base: { component: 'hubspot-operator', ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: { streamWrite: (line: string) => scrubber.scrub(line) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Error details for a log line: the message and category, never a stack with request objects. */
export function errorFields(err: unknown): { err: string; category?: string } {
  if (err instanceof Error) {
    const category = (err as { category?: string }).category;
    return category ? { err: err.message, category } : { err: err.message };
  }
  return { err: String(err) };
}
