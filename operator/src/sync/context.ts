/**
 * What one cycle's passes share: connections, state, counters, and the classification of
 * failures into record-level errors and systemic ones (DESIGN §2.5).
 */
import type { Logger } from 'pino';
import type { ErrorCategory } from '../api/categories.js';
import { HubSpotApiError, type HubSpotClient, type HubSpotObject } from '../hubspot/types.js';
import { classifyTargetError, matchKey, TargetSpecError, type Connector, type StateReader } from '../target/connector.js';
import type { Baseline, FieldConflict, FieldPlan } from './conflict.js';
import { hashValues } from './hash.js';
import type { ObjectPlan } from './mapping.js';
import type { OperationCounts, SyncDirection, SyncObserver } from './types.js';
import { canonHubSpot, canonTarget, parseTime, targetToHubSpot, type Canon } from './values.js';

export interface ObjectCounters {
  toTarget: OperationCounts;
  toHubSpot: OperationCounts;
  failed: number;
  /** Records with a field changed on both sides since the last sync, decided by a conflict rule (once per record). */
  conflicts: number;
  /** Which records counted as conflicts this cycle (`h:<hubspotId>` or `t:<targetKey>`). */
  conflictRecords?: Set<string>;
  filterMatches: Record<string, number>;
}

export function emptyCounters(): ObjectCounters {
  return {
    toTarget: { created: 0, updated: 0, deleted: 0 },
    toHubSpot: { created: 0, updated: 0, deleted: 0 },
    failed: 0,
    conflicts: 0,
    filterMatches: {},
  };
}

export interface SyncContext {
  uid: string;
  logger: Logger;
  observer?: SyncObserver;
  /** The target database (its only view: the connector interface). */
  target: Connector;
  /** Committed state reads (= target.state); writes go through a transaction's `tx.state`. */
  state: StateReader;
  hubspot: HubSpotClient;
  /** How far back the incremental search re-reads (search is eventually consistent). */
  lookbackMs: number;
  /** External-ID property used for idempotent creates when there is no unique match property. */
  externalIdProperty: string;
  signal: AbortSignal;
  counters: Map<string, ObjectCounters>;
  /** spec.audit.values: audit entries carry before/after values (default true; false: field names only). */
  auditValues?: boolean;
  /** Observe: a record's conflicting fields and their winners, once its batch committed (the plan's diffs). */
  onConflict?: (objectType: string, direction: SyncDirection, ref: { hubspotId?: string; targetKey?: string }, fields: FieldConflict[]) => void;
  /** Records the record passes touched this cycle (the association pass compares theirs). */
  touched?: (side: 'hubspot' | 'target', objectType: string, ids: string[]) => void;
}

/** The value of the operator's external-ID property on every record it creates: `<integration uid>:<target key>`. */
export function externalIdOf(uid: string, key: string): string {
  return `${uid}:${key}`;
}

export function countersOf(ctx: SyncContext, type: string): ObjectCounters {
  let c = ctx.counters.get(type);
  if (!c) ctx.counters.set(type, (c = emptyCounters()));
  return c;
}

/** A failure that stops the whole cycle (DESIGN §2.5 systemic errors). */
export class SystemicError extends Error {
  readonly category: ErrorCategory;
  readonly reason: string;
  constructor(category: ErrorCategory, reason: string, message: string) {
    super(message);
    this.name = 'SystemicError';
    this.category = category;
    this.reason = reason;
  }
}

export class AbortedError extends Error {
  constructor() {
    super('cycle aborted');
    this.name = 'AbortedError';
  }
}

export function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortedError();
}

const REASON: Partial<Record<ErrorCategory, string>> = {
  Authentication: 'AuthenticationFailed',
  Permission: 'PermissionDenied',
  RateLimit: 'RateLimited',
};

/** Turn any failure that escaped a pass into the systemic error that ends the cycle. */
export function toSystemic(err: unknown, target?: Pick<Connector, 'classifyError'>): SystemicError | AbortedError {
  if (err instanceof SystemicError || err instanceof AbortedError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new AbortedError();
  if (err instanceof HubSpotApiError) {
    const reason = REASON[err.category] ?? 'SyncFailed';
    const corr = err.correlationId ? ` (correlationId ${err.correlationId})` : '';
    return new SystemicError(err.category, reason, `HubSpot: ${err.message}${corr}`);
  }
  if (err instanceof TargetSpecError) return new SystemicError('Validation', 'InvalidSpec', `${err.field}: ${err.message}`);
  const c = target?.classifyError(err) ?? classifyTargetError(err);
  if (c.kind === 'unreachable') return new SystemicError('Target', 'TargetUnavailable', `target database unreachable: ${c.message}`);
  if (c.kind === 'record' || c.category === 'Target') return new SystemicError('Target', 'SyncFailed', c.message);
  return new SystemicError('Transient', 'SyncFailed', err instanceof Error ? err.message : String(err));
}

// ---- canonical values and hashes of one record ------------------------------------------------

export function hsValuesOf(fields: readonly FieldPlan[], props: Record<string, string | null | undefined>): Record<string, Canon> {
  const out: Record<string, Canon> = {};
  for (const f of fields) out[f.property] = canonHubSpot(f, props[f.property]);
  return out;
}

export function tgValuesOf(fields: readonly FieldPlan[], row: Record<string, unknown>): Record<string, Canon> {
  const out: Record<string, Canon> = {};
  for (const f of fields) out[f.column] = canonTarget(f, row[f.column]);
  return out;
}

export function hsHashOf(plan: ObjectPlan, values: Record<string, Canon>): string {
  return hashValues(plan.fields.map((f) => f.property), values);
}

export function tgHashOf(plan: ObjectPlan, values: Record<string, Canon>): string {
  return hashValues(plan.fields.map((f) => f.column), values);
}

/** The link columns derived from a baseline: per-side hashes and the normalised match value. */
export function baselineHashes(plan: ObjectPlan, b: Baseline): { hsHash: string; tgHash: string; matchKey: string | null } {
  let key: string | null = null;
  if (plan.match) {
    key = matchKey(b.hs[plan.match.property] ?? b.tg[plan.match.column] ?? null, plan.match.how);
  }
  return { hsHash: hsHashOf(plan, b.hs), tgHash: tgHashOf(plan, b.tg), matchKey: key };
}

/** Modification time of a HubSpot record (its last-modified property, else updatedAt). */
export function hsModifiedOf(plan: ObjectPlan, o: HubSpotObject): number | undefined {
  return parseTime(o.properties[plan.lastModifiedProperty] ?? undefined) ?? parseTime(o.updatedAt);
}

/** The HubSpot-space value of a property for a target row, taken through the mapping (filters on target rows). */
export function targetValueAsHubSpot(plan: ObjectPlan, row: Record<string, unknown>): (property: string) => string | null {
  const byProp = new Map(plan.fields.map((f) => [f.property, f]));
  return (property) => {
    const f = byProp.get(property);
    if (!f) return null;
    try {
      const s = targetToHubSpot(f, row[f.column]);
      return s === '' ? null : s;
    } catch {
      return null;
    }
  };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
