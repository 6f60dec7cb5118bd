/**
 * Defaults of the process-wide settings of `hubspot-operator run` (flags, chart values), in one
 * place for the CLI and the controller. No imports: the CLI loads it before anything else.
 */

/** Reconciles in parallel per kind (--concurrency): they wait on the API server, not the CPU; 8 keeps 20 simultaneous spec changes of 500 integrations within 1 s (bench:scale). */
export const DEFAULT_CONCURRENCY = 8;
/** Sync cycles (and engine validations) at once across all integrations (--max-concurrent-syncs). */
export const DEFAULT_MAX_CONCURRENT_SYNCS = 8;
/** Connections per database pool (--db-pool-size). */
export const DEFAULT_DB_POOL_SIZE = 10;
