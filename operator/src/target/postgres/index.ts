/**
 * The PostgreSQL connector (pg for a server, PGlite in process): implements the connector
 * contract of ../connector.ts with the modules of this folder — state store (state.ts,
 * migrations.ts), rows (rows.ts), tables (tables.ts), trigger capture with LISTEN/NOTIFY
 * (capture.ts, db.ts) and error classification (errors.ts).
 */
import type { PGlite } from '@electric-sql/pglite';
import {
  classifyTargetError,
  onWebhookStored,
  type Connector,
  type ConnectorOptions,
  type NewColumn,
  type LinkTableRef,
  type TableDescription,
  type StoredPlan,
  type TableRef,
  type TargetErrorClass,
  type TargetTx,
  type TransactionOptions,
} from '../connector.js';
import { channelFor, installCapture, removeCapture } from './capture.js';
import { acquireDb, type Db } from './db.js';
import { classifyPgError } from './errors.js';
import { checkIdentifier, isValidIdentifier } from './identifiers.js';
import { migrate } from './migrations.js';
import { PgRows } from './rows.js';
import { ensureLinkTable, PgAssociations } from './associations.js';
import { StateAdmin, StateStore } from './state.js';
import { describeTable, ensureTable } from './tables.js';

export async function openConnector(databaseUrl: string | undefined, opts: ConnectorOptions): Promise<Connector> {
  const db = await acquireDb(databaseUrl, {
    pglite: opts.pglite as PGlite | undefined,
    maxConnections: opts.poolSize,
    connectTimeoutMs: opts.connectTimeoutMs,
    statementTimeoutMs: opts.statementTimeoutMs,
  });
  return new PgConnector(db, opts);
}

class PgConnector implements Connector {
  readonly kind: Connector['kind'];
  readonly settings: ConnectorOptions['settings'];
  readonly rows: PgRows;
  readonly state: StateStore;
  readonly associations: PgAssociations;
  private readonly db: Db;
  private readonly o: ConnectorOptions;
  private readonly admin: StateAdmin;
  private closed = false;

  constructor(db: Db, o: ConnectorOptions) {
    this.db = db;
    this.o = o;
    this.kind = db.kind;
    this.settings = o.settings;
    this.rows = new PgRows(db);
    this.state = new StateStore(db, o.settings.stateSchema, o.uid);
    this.admin = new StateAdmin(db, o.settings.stateSchema, o.uid);
    this.associations = new PgAssociations(db, o.settings.stateSchema, o.uid);
  }

  ensureLinkTable(t: LinkTableRef, from: TableRef & { keyDataType: string }, to: TableRef & { keyDataType: string }): Promise<void> {
    return ensureLinkTable(this.db, t, from, to);
  }

  private capture(t: TableRef, uid = this.o.uid) {
    return { uid, stateSchema: this.settings.stateSchema, schema: t.schema, table: t.table, primaryKey: t.primaryKey };
  }

  private migrated?: Promise<unknown>;

  prepareState(): Promise<void> {
    this.migrated ??= migrate(this.db, checkIdentifier(this.settings.stateSchema, this.settings.fields.stateSchema)).catch((err: unknown) => {
      this.migrated = undefined;
      throw err;
    });
    return this.migrated.then(() => undefined);
  }

  async register(): Promise<{ adoptedUid?: string }> {
    await migrate(this.db, checkIdentifier(this.settings.stateSchema, this.settings.fields.stateSchema));
    const adopted = await this.admin.register(this.o.namespace, this.o.name);
    if (!adopted) return {};
    // Re-created after deletionPolicy Orphan: the old UID's triggers make way for ours.
    for (const t of adopted.tables) await removeCapture(this.db, this.capture(t, adopted.adoptedUid));
    return { adoptedUid: adopted.adoptedUid };
  }

  describeTable(schema: string, table: string): Promise<TableDescription | undefined> {
    return describeTable(this.db, schema, table);
  }

  ensureTable(t: TableRef, columns: NewColumn[]): Promise<void> {
    return ensureTable(this.db, t.schema, t.table, t.primaryKey, columns);
  }

  transaction<T>(fn: (tx: TargetTx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return this.db.transaction(
      async (q) => {
        if (opts.lock) await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hubspot_operator.${this.o.uid}.${opts.lock}`]);
        return fn({ rows: new PgRows(q), state: new StateStore(q, this.settings.stateSchema, this.o.uid), associations: new PgAssociations(q, this.settings.stateSchema, this.o.uid) });
      },
      { writer: opts.writer ? this.o.uid : undefined },
    );
  }

  async installCapture(t: TableRef): Promise<void> {
    await installCapture(this.db, this.capture(t));
    await this.admin.recordCapturedTable({ schema: t.schema, table: t.table, primaryKey: t.primaryKey });
  }

  removeCapture(t: TableRef, ownerUid?: string): Promise<void> {
    return removeCapture(this.db, this.capture(t, ownerUid));
  }

  async watchChanges(onChange: () => void): Promise<() => Promise<void>> {
    const local = onWebhookStored(this.o.uid, onChange);
    try {
      const stop = await this.db.listen(channelFor(this.o.uid), () => onChange());
      return async () => {
        local();
        await stop();
      };
    } catch (err) {
      local();
      throw err;
    }
  }

  pruneAudit(retentionSeconds: number, maxRows?: number): Promise<number> {
    return this.admin.pruneAudit(retentionSeconds, maxRows);
  }

  savePlan(plan: StoredPlan): Promise<void> {
    return this.admin.savePlan(plan);
  }

  analyze(): Promise<void> {
    return this.admin.analyze();
  }

  private async stateStoreExists(): Promise<boolean> {
    const r = await this.db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${this.settings.stateSchema}.links`]);
    return !!r.rows[0]?.t;
  }

  async cleanup(policy: 'Delete' | 'Orphan', tables: TableRef[]): Promise<void> {
    if (!isValidIdentifier(this.settings.stateSchema)) return; // nothing can have been created
    const exists = await this.stateStoreExists();
    if (policy === 'Orphan') {
      // Triggers stay and keep capturing; a re-created integration of the same name adopts it all.
      if (exists) {
        await this.register(); // a never-registered integration gets its row, so it can be adopted
        await this.admin.markOrphaned();
      }
      return;
    }
    for (const t of tables) await this.removeCapture(t);
    if (exists) await this.admin.deleteAll();
  }

  classifyError(err: unknown): TargetErrorClass {
    return classifyPgError(err) ?? classifyTargetError(err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}
