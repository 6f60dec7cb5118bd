/** Error categories (DESIGN §2.5): stable names used in status, Events, logs and metrics. */
export const ERROR_CATEGORIES = [
  'Validation',
  'Duplicate',
  'Mapping',
  'Authentication',
  'Permission',
  'NotFound',
  'RateLimit',
  'Target',
  'Transient',
] as const;

export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** Categories that stop a whole cycle and set Ready=False (the rest are per record). */
export const SYSTEMIC_CATEGORIES: ReadonlySet<ErrorCategory> = new Set(['Authentication', 'Permission', 'RateLimit']);
