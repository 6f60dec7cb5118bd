/**
 * Record-level views read the operator's state schema (DESIGN §2.9) through this narrow,
 * read-only interface: failing records, the audit log and the stored plan. It goes through the
 * connector factory (target/index.ts), like the engine, so every target kind works (PostgreSQL,
 * MySQL / MariaDB) and cli/ holds no SQL and no driver. The CLI only ever calls the connector's
 * read methods (never register/migrate, transactions or capture), with connect and statement
 * timeouts so it never hangs on an unreachable database.
 */
import { openConnector, targetSettings, TargetSpecError, type Connector } from '../target/index.js';
import { CliError } from './io.js';

export interface FailingRecord {
  objectType: string;
  hubspotId?: string;
  targetKey?: string;
  direction: 'toTarget' | 'toHubSpot';
  category: string;
  message: string;
  correlationId?: string;
  firstSeen: string;
  lastSeen: string;
}

export interface ErrorFilter {
  category?: string;
  objectType?: string;
  limit?: number;
}

export interface AuditRecord {
  at: string;
  objectType: string;
  direction: string;
  operation: string;
  hubspotId?: string;
  targetKey?: string;
  outcome: string;
  category?: string;
  message?: string;
  /** Changed fields (spec.audit), with before/after values unless spec.audit.values is false. */
  fields?: string[];
  values?: Record<string, { before?: string | null; after: string | null }>;
}

export interface AuditFilter {
  since?: Date;
  /** A HubSpot ID or target key (either matches), or `hubspot:ID` / `target:KEY`. */
  record?: string;
  objectType?: string;
  limit?: number;
}

/** The full plan kept in the state schema by Observe mode (field-level diffs, bounded per object type). */
export interface StoredPlan {
  computedAt?: string;
  /** Per object type counts (exact). */
  objects?: unknown[];
  /** Planned writes with their field-level diffs. */
  items: unknown[];
}

export interface StateReader {
  errors(filter: ErrorFilter): Promise<FailingRecord[]>;
  audit(filter: AuditFilter): Promise<AuditRecord[]>;
  /** undefined when no stored plan exists (Observe mode has not run, or is not available yet). */
  plan(): Promise<StoredPlan | undefined>;
  close(): Promise<void>;
}

export interface StateLocation {
  databaseUrl: string;
  /** spec.target of the integration (its kind and state schema/database). */
  target: unknown;
  namespace: string;
  name: string;
  integrationUid: string;
}

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 60_000;

/** A URL with its password replaced by *** (for messages). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

export function describeDbError(err: unknown, url: string): string {
  const e = err as { code?: string; message?: string; errors?: { message?: string }[] };
  const msg = (e?.message || e?.errors?.map((x) => x.message).join('; ') || e?.code || String(err)).split('\n')[0];
  return `cannot reach the database at ${redactUrl(url)}: ${msg}`;
}

export async function openStateReader(loc: StateLocation): Promise<StateReader> {
  const url = loc.databaseUrl;
  if (url.startsWith('pglite://')) {
    throw new CliError(
      `the integration's database is ${url}, the sandbox's in-process PGlite, which only the sandbox process can open; ` +
        `pass --database-url with the URL the sandbox serves it on (e.g. postgresql://postgres@127.0.0.1:5433/postgres?sslmode=disable)`,
    );
  }
  const settings = targetSettings(loc.target);
  const field = settings.fields.stateSchema;
  let conn: Connector;
  try {
    conn = await openConnector(url, {
      uid: loc.integrationUid,
      namespace: loc.namespace,
      name: loc.name,
      settings,
      poolSize: 1,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      statementTimeoutMs: STATEMENT_TIMEOUT_MS,
    });
  } catch (err) {
    if (err instanceof TargetSpecError) throw new CliError(`unsupported database URL ${redactUrl(url)} for spec.target.${settings.kind}: ${err.message}`);
    throw new CliError(describeDbError(err, url));
  }
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CliError) throw err;
      const c = conn.classifyError(err);
      const message = err instanceof Error ? err.message : String(err);
      if (c.kind !== 'unreachable') {
        if (/does not exist|doesn't exist|unknown database/i.test(message)) {
          throw new CliError(`the database at ${redactUrl(url)} has no ${what} in state schema "${settings.stateSchema}": has the operator synced this integration into it yet? (${field})`);
        }
        if (/permission denied|command denied|access denied/i.test(message)) {
          throw new CliError(`the database user may not read ${what} in state schema "${settings.stateSchema}": ${message.split('\n')[0]}`);
        }
      }
      throw new CliError(describeDbError(err, url));
    }
  };
  return {
    errors: (f) =>
      guard('record_errors table', async () => {
        // Newest first (listErrors' order), so --limit keeps the most recent; then grouped for reading.
        const all = await conn.state.listErrors(1_000_000);
        const wanted = all.filter((e) => (!f.category || e.category.toLowerCase() === f.category.toLowerCase()) && (!f.objectType || e.objectType === f.objectType));
        const kept = f.limit ? wanted.slice(0, f.limit) : wanted;
        return kept.sort((a, b) => a.objectType.localeCompare(b.objectType) || a.category.localeCompare(b.category) || b.lastSeen.localeCompare(a.lastSeen));
      }),
    audit: (f) =>
      guard('audit_log table', async () => {
        let record = f.record;
        let side: 'hubspot' | 'target' | undefined;
        const m = record ? /^(hubspot|target):(.*)$/.exec(record) : null;
        if (m) {
          side = m[1] as 'hubspot' | 'target';
          record = m[2]!;
        }
        const rows = await conn.state.listAudit({ since: f.since, record, side, objectType: f.objectType, limit: f.limit ?? 1000 });
        return rows.map((r) => ({ ...r, direction: String(r.direction), outcome: String(r.outcome) }));
      }),
    plan: () =>
      guard('plans table', async () => {
        let p;
        try {
          p = await conn.state.getPlan();
        } catch (err) {
          // A state schema from before Observe mode (or none yet) has no stored plan: nothing to show.
          if (conn.classifyError(err).kind !== 'unreachable' && /does not exist|doesn't exist|unknown database/i.test(String((err as Error)?.message))) return undefined;
          throw err;
        }
        return p ? { computedAt: p.observedAt, objects: p.objects, items: p.changes } : undefined;
      }),
    close: () => conn.close(),
  };
}
