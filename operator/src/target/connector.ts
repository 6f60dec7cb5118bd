/**
 * The target connector: the sync engine's ONLY view of a database (DESIGN §2.10, §3, §6).
 * `sync/` imports this module (types, the neutral identifier and match-key rules, the error
 * classes) and the factory `./index.js`; it never imports a connector folder and holds no SQL.
 * A new database is one new folder `target/<kind>/` implementing `Connector`, plus one branch
 * in `./index.ts`. (Models: Kysely's dialect/adapter split, Flux's BucketProvider.)
 *
 * Contract
 * - One `Connector` per integration, bound to its UID, its business namespace (`schema`:
 *   a PostgreSQL schema, a MySQL database) and its state namespace (`stateSchema`). The
 *   connection pool behind it is shared by every integration on the same database
 *   (refcounted by the factory; `close()` releases this integration's reference only).
 * - Reads outside a transaction (`connector.rows`, `connector.state`) see committed data.
 * - Everything done through the `TargetTx` handed to `transaction(fn)` commits atomically when
 *   `fn` resolves and rolls back when it throws: business rows, links, cursors, outbox
 *   acknowledgements, record errors and audit entries of one page or batch commit together.
 * - `transaction(fn, { writer: true })` marks every write in it as the operator's own: change
 *   capture does not record them (no echo). Writes outside such a transaction ARE captured.
 * - `transaction(fn, { lock })` holds a lock named `lock` scoped to this integration until the
 *   transaction ends (two workers on one integration serialise their page commits).
 * - A write of a batch that fails for ONE row (constraint, type, value) does not fail the
 *   batch: the row comes back as a `WriteFailure` with a message (the connector retries row
 *   by row, e.g. behind savepoints), and the other rows are written. A failure of the database
 *   itself (connection lost, refused, timed out) is thrown, never returned as a row failure.
 * - Errors a connector throws are classified by `classifyError` into unreachable (→
 *   TargetUnavailable), record (a per-record `Target`/`Mapping` error) or other.
 * - Identifiers (schema, table, column) are validated with `checkIdentifier` before use and
 *   quoted by the connector; values always travel as bind parameters.
 * - Change capture: `installCapture(t)` makes inserts, updates and deletes of `t` not written
 *   by the operator append (key, operation) to the outbox; `watchChanges(cb)` calls `cb` soon
 *   after a captured change (PostgreSQL: LISTEN/NOTIFY on one shared connection per database;
 *   MySQL: an indexed poll of the outbox about once a second).
 */

// ---- tables and column kinds --------------------------------------------------------------------

export type TargetKind = 'postgres' | 'pglite' | 'mysql';

/** Neutral column kinds: what the engine converts values to and from. */
export type ColumnKind = 'text' | 'integer' | 'decimal' | 'boolean' | 'date' | 'datetime' | 'json';

export interface ColumnInfo {
  kind: ColumnKind;
  /** The database's own type name (for messages and connector-internal use; the engine never interprets it). */
  dataType: string;
  /** The column fills itself on insert (default, identity, auto_increment). */
  hasDefault: boolean;
  nullable: boolean;
}

export interface TableDescription {
  columns: Map<string, ColumnInfo>;
  /** Columns of the table's primary key, in order; empty when the table has none. */
  primaryKey: string[];
}

/** A synced table. `schema` is the business namespace (PostgreSQL schema, MySQL database). */
export interface TableRef {
  schema: string;
  table: string;
  /** The key column (spec.objects[].primaryKey). Keys travel as strings. */
  primaryKey: string;
  /** The key column's ColumnInfo.dataType, when known: lets a connector compare keys index-friendly. */
  keyDataType?: string;
}

export interface NewColumn {
  column: string;
  kind: ColumnKind;
}

// ---- rows ----------------------------------------------------------------------------------------

export type Row = Record<string, unknown>;

/** Every row a connector returns carries its key, as a string, under this name. */
export const KEY_FIELD = '__key';
/**
 * With `selectRows(..., { version: true })`, each row carries a version token of the selected
 * columns here; `updateRows` entries with `ifVersion` write only while the row still has it.
 */
export const VERSION_FIELD = '__version';

/** Update a row only if its columns still hold what was read (the token of selectRows). */
export interface IfVersion {
  columns: string[];
  version: string;
}

/** One row of a batch write that failed; `message` describes the failure (no values of other rows). */
export interface WriteFailure {
  index: number;
  message: string;
  /** The row changed (or went) since it was read (`ifVersion`): not written, nothing failed. */
  changed?: boolean;
}

/**
 * How a match column is compared (DESIGN §3 "normalised match key"): phone numbers by their
 * digits, everything else case- and surrounding-space-insensitively. A connector's
 * `selectByMatch` must compute exactly `matchKey(column value, how)` in the database.
 */
export type MatchNormalisation = 'digits' | 'lowerTrim';

export function matchKey(v: unknown, how: MatchNormalisation): string | null {
  if (v === null || v === undefined) return null;
  const s = v instanceof Date ? v.toISOString() : String(v);
  const k = how === 'digits' ? s.replace(/\D+/g, '') : s.trim().toLowerCase();
  return k === '' ? null : k;
}

export interface RowReader {
  /** Rows by key (keys as strings), with only `columns` (plus KEY_FIELD). Missing keys are absent from the map. */
  selectRows(t: TableRef, keys: string[], columns: string[], opts?: { version?: boolean }): Promise<Map<string, Row>>;
  /** Rows whose `column`, normalised by `how`, equals one of `values` (already normalised); with `columns`, `column` and KEY_FIELD. */
  selectByMatch(t: TableRef, column: string, how: MatchNormalisation, values: string[], columns: string[]): Promise<Row[]>;
  /** Keys of the next `limit` rows after `afterKey` in key order (a keyset scan on the primary key). */
  selectKeysAfter(t: TableRef, afterKey: string | undefined, limit: number): Promise<string[]>;
  /** Rows in the table: exact for small tables, an estimate for big ones (status only). */
  countRows(t: TableRef): Promise<number>;
}

export interface RowWriter {
  /** Insert rows (column → value; absent columns take their default); each row's key, or its failure. */
  insertRows(t: TableRef, rows: Row[]): Promise<{ keys: (string | undefined)[]; failures: WriteFailure[] }>;
  /**
   * Update rows by key, each with its own column set (an empty set is skipped). With `ifVersion`
   * the update is conditional, decided on the row's latest committed version (a row locked by
   * another transaction is waited for and re-checked): a row changed since it was read comes
   * back as a failure with `changed: true` and is not written.
   */
  updateRows(t: TableRef, updates: { key: string; values: Row; ifVersion?: IfVersion }[]): Promise<WriteFailure[]>;
  deleteRows(t: TableRef, keys: string[]): Promise<WriteFailure[]>;
}

// ---- the state store (DESIGN §3), keyed by the connector's integration UID ------------------------

export type Canon = string | null;
export type SyncDirectionName = 'toTarget' | 'toHubSpot';

export interface LinkRow {
  hubspotId: string;
  targetKey: string;
  hsValues: Record<string, Canon>;
  tgValues: Record<string, Canon>;
  hsHash: string | null;
  tgHash: string | null;
  hsModified?: number;
  tgModified?: number;
  /** Set on a tombstone (delete not propagated): which side deleted the record. */
  deletedSide?: 'hubspot' | 'target' | null;
  /** Normalised match value (for duplicate checks). */
  matchKey?: string | null;
}

export interface CursorRow {
  watermarkMs?: number;
  lastId?: string;
  position?: string;
  completed: boolean;
  data: Record<string, unknown>;
}

export type OutboxOp = 'I' | 'U' | 'D' | 'R';

export interface OutboxEntry {
  key: string;
  maxId: string;
  /** Last captured operation: I, U, D, or R (re-check requested by the HubSpot → target pass). */
  op: string;
  firstCapturedMs: number;
  lastCapturedMs: number;
  /**
   * When the table last changed this key, from captured rows only (I, U, D): the operator's
   * own recheck rows (R) never count. Undefined when only R rows are pending.
   */
  lastChangedMs?: number;
  /**
   * Per column, the latest capture time of a change to it (the trigger compares OLD and NEW);
   * `*` = a row captured without a column list (an insert, a delete, or a row captured before
   * per-column capture existed), i.e. every column changed then. R rows never count.
   */
  columnChangedMs: Record<string, number>;
}

/** Pending captured changes of one key (see OutboxEntry). */
export interface PendingChange {
  key: string;
  lastCapturedMs: number;
  lastChangedMs?: number;
  columnChangedMs: Record<string, number>;
}

/** A failing record whose next retry is due (see StateReader.dueErrors). */
export interface DueError {
  hubspotId?: string;
  targetKey?: string;
  direction: SyncDirectionName;
}

export interface RecordError {
  objectType: string;
  hubspotId?: string;
  targetKey?: string;
  direction: SyncDirectionName;
  category: string;
  message: string;
  correlationId?: string;
}

export interface AuditEntry {
  objectType: string;
  direction: SyncDirectionName;
  operation: string;
  hubspotId?: string;
  targetKey?: string;
  outcome: 'ok' | 'failed' | 'skipped';
  category?: string;
  message?: string;
  /** Names of the fields the operation changed (spec.audit). */
  fields?: string[];
  /** Before/after values of those fields; absent with spec.audit.values: false. */
  values?: Record<string, { before?: Canon; after: Canon }>;
}

/** An audit entry as read back (newest last), for the CLI. */
export interface AuditRow extends AuditEntry {
  at: string;
}

export interface AuditQuery {
  since?: Date;
  /** A HubSpot ID or target key. */
  record?: string;
  /** Which side `record` names (default: either). */
  side?: 'hubspot' | 'target';
  objectType?: string;
  limit?: number;
}

/** The plan of Observe mode as kept in the state store (one per integration, the latest). */
export interface StoredPlan {
  observedAt: string;
  /** Per object type counts (exact). */
  objects: unknown[];
  /** Field-level changes (bounded by the engine). */
  changes: unknown[];
}

export interface ErrorGroup {
  category: string;
  records: number;
  message: string;
  lastSeenTime: string;
}

// ---- the webhook inbox (DESIGN §2.8) -----------------------------------------------------------

/**
 * One HubSpot webhook event as the receiver stores it for one integration (no property values:
 * `payload` is the event minus propertyValue). `kind` is creation, propertyChange, deletion,
 * restore, merge, associationChange or privacyDeletion; `objectType` the spec.objects[].type.
 */
export interface WebhookEventRow {
  portalId: number;
  eventId: string;
  subscriptionId: number | null;
  subscriptionType: string;
  objectType: string;
  kind: string;
  objectId: string | null;
  occurredAt: Date;
  propertyName: string | null;
  changeSource: string | null;
  attemptNumber: number | null;
  payload: Record<string, unknown>;
}

/** A stored, not yet applied event (`id`: the inbox row, for `ackWebhookEvents`). */
export interface StoredWebhookEvent {
  id: string;
  eventId: string;
  subscriptionType: string;
  objectType: string;
  kind: string;
  objectId: string | null;
  propertyName: string | null;
  occurredAt: Date;
  attemptNumber: number | null;
  payload: Record<string, unknown>;
}

/**
 * The duplicate key of an event: a redelivery carries the same values (only attemptNumber
 * differs); a reused eventId for another object or property is still kept.
 */
export function webhookDedupeKey(e: Pick<WebhookEventRow, 'portalId' | 'eventId' | 'subscriptionType' | 'objectId' | 'propertyName'>): string {
  return [e.portalId, e.eventId, e.subscriptionType, e.objectId ?? '', e.propertyName ?? ''].join(':');
}

const inboxListeners = new Map<string, Set<() => void>>();

/**
 * In-process wake-up: a connector calls this after it committed webhook events of `uid`, so a
 * worker of this process waiting in `watchChanges` runs at once (PostgreSQL also NOTIFYs, which
 * reaches the leader when a standby stored them).
 */
export function signalWebhookStored(uid: string): void {
  for (const cb of [...(inboxListeners.get(uid) ?? [])]) cb();
}

/** Listen for `signalWebhookStored(uid)`; returns the unsubscribe function. Connectors use it in watchChanges. */
export function onWebhookStored(uid: string, cb: () => void): () => void {
  let set = inboxListeners.get(uid);
  if (!set) inboxListeners.set(uid, (set = new Set()));
  set.add(cb);
  return () => {
    set.delete(cb);
    if (set.size === 0 && inboxListeners.get(uid) === set) inboxListeners.delete(uid);
  };
}

/** State reads; on `connector.state` they see committed data, on `tx.state` the transaction's. */
export interface StateReader {
  linksByHubSpotIds(objectType: string, ids: string[]): Promise<Map<string, LinkRow>>;
  linksByTargetKeys(objectType: string, keys: string[]): Promise<Map<string, LinkRow>>;
  /** Live (not tombstoned) links whose normalised match value is one of `keys`. */
  linksByMatchKeys(objectType: string, keys: string[]): Promise<LinkRow[]>;
  countLinks(objectType: string): Promise<number>;
  getCursor(objectType: string, phase: string): Promise<CursorRow | undefined>;
  /**
   * The oldest captured keys of a table, coalesced: one entry per key with its last operation.
   * With `objectType`, keys with a target → HubSpot record error whose next attempt is not due
   * yet are left out (they stay in the outbox until their retry) — unless the table changed
   * them again after the failure (a new captured row goes at once; R rows do not).
   */
  nextOutboxBatch(table: string, limit: number, objectType?: string): Promise<OutboxEntry[]>;
  /** Pending outbox entries for some keys. */
  outboxFor(table: string, keys: string[]): Promise<PendingChange[]>;
  /** Failing records of an object type whose next attempt is due (next_attempt_at <= now). */
  dueErrors(objectType: string, limit: number): Promise<DueError[]>;
  /** Distinct keys with pending captured changes. */
  pendingChanges(table: string): Promise<number>;
  /** Age in seconds of the oldest unapplied change of this integration (0 when none). */
  syncLagSeconds(): Promise<number>;
  errorGroups(): Promise<ErrorGroup[]>;
  listErrors(limit?: number): Promise<(RecordError & { firstSeen: string; lastSeen: string })[]>;
  /** Audit entries matching `q`: the newest `limit` (default 1000), oldest first. */
  listAudit(q: AuditQuery): Promise<AuditRow[]>;
  /** The latest plan Observe mode stored, if any. */
  getPlan(): Promise<StoredPlan | undefined>;
  /** Unapplied webhook events of this integration in HubSpot's order (occurredAt, then arrival). */
  pendingWebhookEvents(limit?: number): Promise<StoredWebhookEvent[]>;
  /** status.webhooks from the inbox (every replica's intake): newest occurredAt, events received in the last 24 h. */
  webhookStats(): Promise<{ lastEventTime?: string; eventsLast24h: number }>;
}

/** State writes: only inside a transaction (`tx.state`). */
export interface StateWriter extends StateReader {
  /** Insert or replace links; a target key re-linked to another HubSpot record drops its old link. */
  upsertLinks(objectType: string, links: LinkRow[]): Promise<void>;
  deleteLinks(objectType: string, hubspotIds: string[]): Promise<void>;
  setCursor(objectType: string, phase: string, c: CursorRow): Promise<void>;
  deleteCursor(objectType: string, phase: string): Promise<void>;
  /** Remove the outbox rows an applied batch covered (rows captured since stay). */
  ackOutbox(table: string, entries: { key: string; maxId: string }[]): Promise<void>;
  enqueue(table: string, keys: string[], op: OutboxOp): Promise<void>;
  /**
   * One row per record: the latest failure wins. Each failure counts an attempt and schedules
   * the next one with exponential backoff (1 minute doubling to 1 hour: retryDelayMs).
   */
  recordErrors(errors: RecordError[]): Promise<void>;
  /** Every failing record of this integration is due now (config changed, sync/resync requested). */
  retryErrorsNow(): Promise<void>;
  /** A record synced in one direction: forget its errors of that direction (undefined: both). */
  clearErrors(objectType: string, hubspotIds: string[], targetKeys: string[], direction?: SyncDirectionName): Promise<void>;
  audit(entries: AuditEntry[]): Promise<void>;
  /** Store webhook events (one statement; duplicates by `webhookDedupeKey` dropped); returns how many were new. */
  storeWebhookEvents(events: WebhookEventRow[]): Promise<number>;
  /** Mark events applied (they stay 24 h for the counts, then `pruneWebhookEvents` drops them). */
  ackWebhookEvents(ids: string[]): Promise<void>;
  /** Delete every inbox row of these records (a privacy deletion: nothing of them stays). */
  forgetWebhookEvents(objectType: string, objectIds: string[]): Promise<void>;
  /** Delete applied events received more than `olderThanMs` ago. */
  pruneWebhookEvents(olderThanMs: number): Promise<number>;
}


// ---- associations (DESIGN §2.7) --------------------------------------------------------------------

/** A many-to-many link table: one row per (from key, to key) pair. */
export interface LinkTableRef {
  schema: string;
  table: string;
  fromColumn: string;
  toColumn: string;
}

/** An association kept as a pending pair: its other end (or its own record) is not linked yet. */
export interface PendingAssociation {
  /** Which side the association was seen on: hubspot (keys are HubSpot IDs) or target (keys are target keys). */
  side: 'hubspot' | 'target';
  fromKey: string;
  toKey: string;
  sinceMs: number;
}

/**
 * Association state and link-table rows. `assoc` is the engine's stable name of one
 * spec.objects[].associations[] entry. Reads on `connector.associations` see committed data;
 * writes only through `tx.associations` (so link-table writes in a writer transaction are not captured).
 */
export interface AssociationStore {
  /** The pairs (HubSpot IDs) last synced on both sides, per from-record asked. */
  syncedPairs(assoc: string, fromIds: string[]): Promise<Map<string, string[]>>;
  /** Replace the synced pairs of these from-records. */
  setSyncedPairs(assoc: string, fromIds: string[], pairs: { fromId: string; toId: string }[]): Promise<void>;
  /** Every from-record (HubSpot ID) with synced pairs, in order after `afterId`. */
  syncedFromIdsAfter(assoc: string, afterId: string | undefined, limit: number): Promise<string[]>;
  pending(assoc: string): Promise<PendingAssociation[]>;
  /** Replace the pending pairs of these from-records on one side (an earlier sinceMs of the same pair is kept). */
  setPending(assoc: string, side: 'hubspot' | 'target', fromKeys: string[], pairs: { fromKey: string; toKey: string }[]): Promise<void>;
  counts(assoc: string): Promise<{ linked: number; pending: number }>;
  /** Link-table rows of some from keys: from key → to keys. */
  linkRows(t: LinkTableRef, fromKeys: string[]): Promise<Map<string, string[]>>;
  insertLinkRows(t: LinkTableRef, pairs: { fromKey: string; toKey: string }[]): Promise<void>;
  deleteLinkRows(t: LinkTableRef, pairs: { fromKey: string; toKey: string }[]): Promise<void>;
}

/** What a transaction sees and writes; it commits when the callback resolves. */
export interface TargetTx {
  readonly rows: RowReader & RowWriter;
  readonly state: StateWriter;
  /** Association state and link rows (connectors that support associations). */
  readonly associations?: AssociationStore;
}

export interface TransactionOptions {
  /** Mark every write as the operator's own (change capture skips them). */
  writer?: boolean;
  /** Hold this integration-scoped lock until the transaction ends. */
  lock?: string;
}

// ---- errors ---------------------------------------------------------------------------------------

export type TargetErrorClass =
  | { kind: 'unreachable'; message: string }
  | { kind: 'record'; category: 'Target' | 'Mapping'; message: string }
  /** Anything else; `category: 'Target'` when the database rejected a statement (reported as Target/SyncFailed). */
  | { kind: 'other'; message: string; category?: 'Target' };

/**
 * A spec problem only the connector can see (e.g. a mysql:// URL for a postgres target): the
 * engine reports it as InvalidSpec naming `field`.
 */
export class TargetSpecError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'TargetSpecError';
    this.field = field;
  }
}

/** The database cannot be reached or refuses connections (→ TargetUnavailable). */
export class TargetUnavailableError extends Error {
  readonly category = 'Target' as const;
  readonly reason = 'TargetUnavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TargetUnavailableError';
  }
}

type Classifier = (err: unknown) => TargetErrorClass | undefined;
const classifiers: Classifier[] = [];

/** Connectors register how to recognise their drivers' errors when their module loads. */
export function registerErrorClassifier(c: Classifier): void {
  if (!classifiers.includes(c)) classifiers.push(c);
}

const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ECONNABORTED'];

/** Classify any error a connector threw (the connectors' registered rules, then network codes). */
export function classifyTargetError(err: unknown): TargetErrorClass {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TargetUnavailableError) return { kind: 'unreachable', message };
  for (const c of classifiers) {
    const r = c(err);
    if (r) return r;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.includes(code)) return { kind: 'unreachable', message };
  return { kind: 'other', message };
}

/** Whether an error means the target database cannot be reached (the worker's last resort). */
export function isTargetUnreachable(err: unknown): boolean {
  return classifyTargetError(err).kind === 'unreachable';
}

// ---- identifiers (the names every connector accepts) -------------------------------------------

export const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export class InvalidIdentifierError extends Error {
  readonly field: string;
  constructor(field: string, value: unknown) {
    super(
      `${field}: ${JSON.stringify(value)} is not a valid SQL identifier; expected lower-case letters, digits and ` +
        `underscores, starting with a letter or underscore, at most 63 characters (pattern ${IDENTIFIER_PATTERN.source})`,
    );
    this.name = 'InvalidIdentifierError';
    this.field = field;
  }
}

export function isValidIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER_PATTERN.test(value);
}

/** Validate `value` (named `field` in error messages) and return it. */
export function checkIdentifier(value: unknown, field: string): string {
  if (!isValidIdentifier(value)) throw new InvalidIdentifierError(field, value);
  return value;
}

// ---- the target settings of a spec ---------------------------------------------------------------

/** What the engine needs from spec.target, whatever the database (defaults applied). */
export interface TargetSettings {
  kind: 'postgres' | 'mysql';
  /** Business namespace: spec.target.postgres.schema | spec.target.mysql.database. */
  schema: string;
  /** The operator's state namespace: spec.target.postgres.stateSchema | spec.target.mysql.stateDatabase. */
  stateSchema: string;
  createTables: boolean;
  /** Spec paths of the settings above, for messages. */
  fields: { schema: string; stateSchema: string; createTables: string; connectionSecretRef: string };
}

interface TargetSpecLike {
  postgres?: { schema?: string; stateSchema?: string; createTables?: boolean };
  mysql?: { database?: string; stateDatabase?: string; createTables?: boolean };
}

/** Settings of spec.target (exactly one of postgres | mysql; the CRD's CEL rule enforces it). */
export function targetSettings(target: unknown): TargetSettings {
  const t = (target ?? {}) as TargetSpecLike;
  if (t.mysql && !t.postgres) {
    const p = 'spec.target.mysql';
    return {
      kind: 'mysql',
      schema: t.mysql.database ?? '',
      stateSchema: t.mysql.stateDatabase ?? 'hubspot_operator',
      createTables: t.mysql.createTables ?? false,
      fields: { schema: `${p}.database`, stateSchema: `${p}.stateDatabase`, createTables: `${p}.createTables`, connectionSecretRef: `${p}.connectionSecretRef` },
    };
  }
  const p = 'spec.target.postgres';
  return {
    kind: 'postgres',
    schema: t.postgres?.schema ?? 'public',
    stateSchema: t.postgres?.stateSchema ?? 'hubspot_operator',
    createTables: t.postgres?.createTables ?? false,
    fields: { schema: `${p}.schema`, stateSchema: `${p}.stateSchema`, createTables: `${p}.createTables`, connectionSecretRef: `${p}.connectionSecretRef` },
  };
}

// ---- the connector -------------------------------------------------------------------------------

export interface ConnectorOptions {
  /** The integration this connector serves (state rows, capture, writer mark, locks are keyed by it). */
  uid: string;
  namespace: string;
  name: string;
  settings: TargetSettings;
  /** Connections per distinct database (shared by its integrations); default 10. */
  poolSize?: number;
  /** Connect timeout (default 10 s) and statement timeout (default 60 s), in milliseconds. */
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** PostgreSQL only: use this in-process PGlite (the sandbox's) instead of the URL. */
  pglite?: unknown;
}

export interface Connector {
  readonly kind: TargetKind;
  readonly settings: TargetSettings;
  /** Committed reads. */
  readonly rows: RowReader;
  readonly state: StateReader;
  /** Association state and link rows, committed reads (undefined: the connector does not support associations yet). */
  readonly associations?: AssociationStore;
  /**
   * createTables: create the link table (both columns of the given key types, primary key on the
   * pair, foreign keys to both tables' keys with ON DELETE CASCADE). Idempotent.
   */
  ensureLinkTable?(t: LinkTableRef, from: TableRef & { keyDataType: string }, to: TableRef & { keyDataType: string }): Promise<void>;

  /**
   * Prepare the state store (create/migrate it, idempotent and safe with concurrent starts) and
   * register the integration (namespace/name ↔ UID). When the integration is new and one of
   * the same namespace/name was orphaned (deletionPolicy Orphan), adopt its state and remove
   * its change capture (the caller re-installs its own). Returns the adopted UID, if any.
   */
  register(): Promise<{ adoptedUid?: string }>;
  /**
   * Create/migrate the state store only (idempotent, safe with concurrent starts), without
   * registering the integration: what the webhook receiver needs before storing events.
   */
  prepareState(): Promise<void>;

  /** Columns and primary key of a table, or undefined when it does not exist. */
  describeTable(schema: string, table: string): Promise<TableDescription | undefined>;
  /** createTables: create the table (key column auto-generated) or add the missing columns. Idempotent. */
  ensureTable(t: TableRef, columns: NewColumn[]): Promise<void>;

  transaction<T>(fn: (tx: TargetTx) => Promise<T>, opts?: TransactionOptions): Promise<T>;

  /** Capture the table's changes not written by this integration into the outbox. Idempotent. */
  installCapture(t: TableRef): Promise<void>;
  /** Stop capturing the table for this integration (or for `ownerUid`). Idempotent; a missing table is fine. */
  removeCapture(t: TableRef, ownerUid?: string): Promise<void>;
  /**
   * Call `onChange` soon after a change is captured (and once after a lost watch recovers), and
   * after webhook events of this integration were stored (in this process: at once; by another
   * replica: PostgreSQL NOTIFYs; MySQL relies on the worker's poll).
   */
  watchChanges(onChange: () => void): Promise<() => Promise<void>>;

  /** Drop audit entries older than the retention, in seconds (spec.audit.retention; bounded per call). */
  pruneAudit(retentionSeconds: number, maxRows?: number): Promise<number>;
  /** Observe mode: replace this integration's stored plan (the only state write Observe makes). */
  savePlan(plan: StoredPlan): Promise<void>;
  /** Refresh statistics of the state tables after bulk changes (no-op where not needed). */
  analyze(): Promise<void>;

  /**
   * deletionPolicy: Delete removes this integration's capture on `tables` and every state row
   * of it; Orphan keeps capture and state for a re-created integration of the same name to
   * adopt. Never touches business rows. Nothing to do when the state store does not exist.
   */
  cleanup(policy: 'Delete' | 'Orphan', tables: TableRef[]): Promise<void>;

  classifyError(err: unknown): TargetErrorClass;

  /** Release this integration's share of the pool and the change watch. */
  close(): Promise<void>;
}

/** What a connector module (`target/<kind>/index.ts`) exports for the factory. */
export interface ConnectorModule {
  openConnector(databaseUrl: string | undefined, opts: ConnectorOptions): Promise<Connector>;
}

/** Backoff of a failing record after its n-th failed attempt (n ≥ 1): 1 minute doubling to 1 hour. */
export function retryDelayMs(attempts: number): number {
  const n = Math.max(1, Math.floor(attempts));
  return Math.min(60_000 * 2 ** Math.min(n - 1, 10), 3_600_000);
}
