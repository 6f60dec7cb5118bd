/**
 * Record-level views read the operator's state schema (DESIGN §2.9) through this narrow,
 * read-only interface: failing records, the audit log and the stored plan. Today it reads
 * PostgreSQL through target/postgres/state.ts (StateStore.listErrors) plus one audit query of its
 * own; when targets sit behind a connector factory, only `openStateReader` changes.
 *
 * The connection is opened read-only (default_transaction_read_only) with connect and statement
 * timeouts, so the CLI can never change the state and never hangs on an unreachable database.
 */
import pg from 'pg';
import { redactUrl, type Db, type QueryResult, type Queryable } from '../target/postgres/db.js';
import { q } from '../target/postgres/identifiers.js';
import { StateStore } from '../target/postgres/state.js';
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
}

export interface AuditFilter {
  since?: Date;
  /** A HubSpot ID or target key (either matches), or `hubspot:ID` / `target:KEY`. */
  record?: string;
  objectType?: string;
  limit?: number;
}

/** The full plan kept in the state schema by Observe mode (field-level diffs). */
export interface StoredPlan {
  computedAt?: string;
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
  stateSchema: string;
  integrationUid: string;
}

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 60_000;

/** A Db over one read-only pg.Client: enough for StateStore's read methods. */
class ReadOnlyDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly client: pg.Client;
  constructor(client: pg.Client) {
    this.client = client;
  }
  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const res = await this.client.query(sql, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  }
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return fn(this);
  }
  listen(): Promise<() => Promise<void>> {
    throw new Error('the CLI does not listen');
  }
  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
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
  if (!/^postgres(ql)?:\/\//.test(url)) throw new CliError(`unsupported database URL ${redactUrl(url)}: expected postgres:// or postgresql://`);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, statement_timeout: STATEMENT_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SET default_transaction_read_only = on');
  } catch (err) {
    await client.end().catch(() => {});
    throw new CliError(describeDbError(err, url));
  }
  const db = new ReadOnlyDb(client);
  const store = new StateStore(db, loc.stateSchema, loc.integrationUid);
  const s = q(loc.stateSchema);
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '42P01' || code === '3F000') {
        throw new CliError(`the database at ${redactUrl(url)} has no ${what} in state schema "${loc.stateSchema}": has the operator synced this integration into it yet? (spec.target.postgres.stateSchema)`);
      }
      if (code === '42501') throw new CliError(`the database user may not read ${what} in state schema "${loc.stateSchema}": ${(err as Error).message}`);
      throw new CliError(describeDbError(err, url));
    }
  };
  return {
    errors: (f) =>
      guard('record_errors table', async () => {
        // Newest first (listErrors' order), so --limit keeps the most recent; then grouped for reading.
        const all = await store.listErrors(1_000_000);
        const wanted = all.filter((e) => (!f.category || e.category.toLowerCase() === f.category.toLowerCase()) && (!f.objectType || e.objectType === f.objectType));
        const kept = f.limit ? wanted.slice(0, f.limit) : wanted;
        return kept.sort((a, b) => a.objectType.localeCompare(b.objectType) || a.category.localeCompare(b.category) || b.lastSeen.localeCompare(a.lastSeen));
      }),
    audit: (f) =>
      guard('audit_log table', async () => {
        let record = f.record ?? null;
        let side: 'hubspot' | 'target' | null = null;
        const m = record ? /^(hubspot|target):(.*)$/.exec(record) : null;
        if (m) {
          side = m[1] as 'hubspot' | 'target';
          record = m[2]!;
        }
        const r = await db.query<Record<string, unknown>>(
          `SELECT * FROM (
             SELECT id, at, object_type, direction, operation, hubspot_id, target_key, outcome, category, message
               FROM ${s}.audit_log
              WHERE integration_uid = $1 AND ($2::timestamptz IS NULL OR at >= $2)
                AND ($3::text IS NULL OR ($4::text IS DISTINCT FROM 'target' AND hubspot_id = $3) OR ($4::text IS DISTINCT FROM 'hubspot' AND target_key = $3))
                AND ($5::text IS NULL OR object_type = $5)
              ORDER BY at DESC, id DESC LIMIT $6) newest
           ORDER BY at, id`,
          [loc.integrationUid, f.since?.toISOString() ?? null, record, side, f.objectType ?? null, f.limit ?? 1000],
        );
        return r.rows.map((row) => ({
          at: new Date(row.at as string | Date).toISOString(),
          objectType: String(row.object_type),
          direction: String(row.direction),
          operation: String(row.operation),
          hubspotId: (row.hubspot_id as string | null) ?? undefined,
          targetKey: (row.target_key as string | null) ?? undefined,
          outcome: String(row.outcome),
          category: (row.category as string | null) ?? undefined,
          message: (row.message as string | null) ?? undefined,
        }));
      }),
    // Observe mode (issue 13, another part) will keep the full plan in the state schema; until
    // it does there is nothing stored to read.
    plan: async () => undefined,
    close: () => db.close(),
  };
}
