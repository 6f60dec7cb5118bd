/**
 * The ledger of one page or batch, the same for every pass (pull, push, deletes): what failed
 * and what synced, per record. It is the only place that turns outcomes into
 * - record errors (kept per record; a synced record's errors of that direction are cleared),
 * - audit entries,
 * - the cycle's counters (status), and the metrics (records_synced_total, sync_errors_total),
 * and it commits all of that, with the pass's cursor, inside the page's transaction.
 *
 * Failures count at once (they are recorded whatever happens next); syncs count only once
 * the transaction that wrote them committed (`committed()`).
 */
import type { ErrorCategory } from '../api/categories.js';
import type { AuditEntry, RecordError, TargetTx } from '../target/connector.js';
import { countersOf, type SyncContext } from './context.js';
import type { ObjectPlan } from './mapping.js';
import type { SyncDirection, SyncOperation } from './types.js';

/** The record an outcome is about: its HubSpot ID, its target key, or both. */
export interface RecordRef {
  hubspotId?: string;
  targetKey?: string;
}

/** What an operation changed: the written values (column or property → value) and, when known, the values before. */
export interface FieldChanges {
  after: Record<string, unknown>;
  before?: Record<string, unknown>;
}

function canon(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An audit entry's field names and (unless values are off) before/after values (spec.audit). */
export function auditFields(c: FieldChanges | undefined, withValues: boolean): Pick<AuditEntry, 'fields' | 'values'> {
  if (!c) return {};
  const fields = Object.keys(c.after).filter((k) => !k.startsWith('__')).sort();
  if (!withValues) return { fields };
  const values: NonNullable<AuditEntry['values']> = {};
  for (const f of fields) values[f] = c.before ? { before: canon(c.before[f]), after: canon(c.after[f]) } : { after: canon(c.after[f]) };
  return { fields, values };
}

export interface LedgerOptions {
  /** Commit the pass's cursor in the same transaction (after the ledger's own rows). */
  commitCursor?(tx: TargetTx): Promise<void>;
  /** Which direction's errors a synced record clears (default: the ledger's; 'both' for a record that is gone). */
  clears?: SyncDirection | 'both';
}

export class BatchLedger {
  private readonly ctx: SyncContext;
  private readonly plan: ObjectPlan;
  private readonly direction: SyncDirection;
  private readonly opts: LedgerOptions;
  private readonly errors: RecordError[] = [];
  private readonly audit: AuditEntry[] = [];
  private readonly okHubSpotIds: string[] = [];
  private readonly okTargetKeys: string[] = [];
  private readonly synced: Record<SyncOperation, number> = { created: 0, updated: 0, deleted: 0, associate: 0, dissociate: 0 };

  constructor(ctx: SyncContext, plan: ObjectPlan, direction: SyncDirection, opts: LedgerOptions = {}) {
    this.ctx = ctx;
    this.plan = plan;
    this.direction = direction;
    this.opts = opts;
  }

  /** A record failed: a record error, a failed audit entry, the failure counters. */
  fail(r: RecordRef, category: string, message: string, extra: { operation?: string; correlationId?: string } = {}): void {
    const { type } = this.plan;
    this.errors.push({ objectType: type, hubspotId: r.hubspotId, targetKey: r.targetKey, direction: this.direction, category, message, correlationId: extra.correlationId });
    this.audit.push({ objectType: type, direction: this.direction, operation: extra.operation ?? 'sync', hubspotId: r.hubspotId, targetKey: r.targetKey, outcome: 'failed', category, message });
    countersOf(this.ctx, type).failed++;
    this.ctx.observer?.syncErrors?.(type, category as ErrorCategory, 1);
  }

  /**
   * A record synced: its errors are cleared; with `operation`, an audit entry; with `count`,
   * it counts as created/updated/deleted once committed.
   */
  ok(r: RecordRef, operation?: string, extra: { count?: SyncOperation; message?: string; changes?: FieldChanges } = {}): void {
    if (r.hubspotId !== undefined) this.okHubSpotIds.push(r.hubspotId);
    if (r.targetKey !== undefined) this.okTargetKeys.push(r.targetKey);
    if (operation) this.note(r, operation, extra.message, extra.changes);
    if (extra.count) this.synced[extra.count]++;
  }

  /** An audit entry only (e.g. a record unlinked because deletes are not propagated). */
  note(r: RecordRef, operation: string, message?: string, changes?: FieldChanges): void {
    this.audit.push({
      objectType: this.plan.type,
      direction: this.direction,
      operation,
      hubspotId: r.hubspotId,
      targetKey: r.targetKey,
      outcome: 'ok',
      message,
      ...auditFields(changes, this.ctx.auditValues !== false),
    });
  }

  /** Target keys of the records that failed in this batch (their outbox rows are kept). */
  get failedTargetKeys(): Set<string> {
    return new Set(this.errors.map((e) => e.targetKey).filter((k): k is string => k !== undefined));
  }

  get hasEntries(): boolean {
    return this.errors.length > 0 || this.audit.length > 0 || this.okHubSpotIds.length > 0 || this.okTargetKeys.length > 0;
  }

  /** Write errors, cleared errors, audit entries and the cursor, inside the batch's transaction. */
  async commit(tx: TargetTx): Promise<void> {
    const clears = this.opts.clears ?? this.direction;
    await tx.state.clearErrors(this.plan.type, this.okHubSpotIds, this.okTargetKeys, clears === 'both' ? undefined : clears);
    await tx.state.recordErrors(this.errors);
    await tx.state.audit(this.audit);
    if (this.opts.commitCursor) await this.opts.commitCursor(tx);
  }

  /** After the commit: the cycle's counters and the records_synced metric. */
  committed(): void {
    const counters = countersOf(this.ctx, this.plan.type)[this.direction];
    for (const op of ['created', 'updated', 'deleted'] as const) {
      const n = this.synced[op];
      if (!n) continue;
      counters[op] += n;
      this.ctx.observer?.recordsSynced?.(this.plan.type, this.direction, op, n);
    }
  }
}
