/**
 * What every Ready reason means, in one typed table (DESIGN §2.4, §2.5): the status of Ready,
 * whether the integration is Stalled (only a change by the user helps), which Event a transition
 * into it records, and which systemic error category leads to it. The status computation, the
 * Event recorder and the mapping of engine failures all read this table, so adding a reason is
 * one entry here (in the manner of cert-manager's policies and Flux's error kinds).
 */
import type { ErrorCategory } from './categories.js';
import { READY_REASONS, type ReadyReason } from './constants.js';

export interface ReadyReasonPolicy {
  /** The status of Ready with this reason. */
  ready: 'True' | 'False' | 'Unknown';
  /** Stalled=True with the same reason while Ready has it. */
  stalled: boolean;
  /** Event recorded when Ready changes to this reason (or, for failures, its message changes). */
  event?: { type: 'Normal' | 'Warning'; reason: string };
  /** The systemic error category a failure of this reason is counted in (metrics, status). */
  category?: ErrorCategory;
  /** What it tells the user. */
  meaning: string;
}

export const READY_REASON_POLICY: Readonly<Record<ReadyReason, ReadyReasonPolicy>> = {
  Synced: { ready: 'True', stalled: false, event: { type: 'Normal', reason: 'Ready' }, meaning: 'a cycle completed without a systemic failure' },
  Observed: { ready: 'True', stalled: false, event: { type: 'Normal', reason: 'Ready' }, meaning: 'spec.mode Observe: a read-only cycle completed; status.plan says what a sync would do (nothing was written)' },
  Progressing: { ready: 'Unknown', stalled: false, meaning: 'the initial import has not completed yet' },
  Suspended: { ready: 'False', stalled: false, event: { type: 'Normal', reason: 'Suspended' }, meaning: 'spec.suspend is true: no reads or writes on either side' },
  Deleting: { ready: 'False', stalled: false, meaning: 'the cleanup finalizer is running (spec.deletionPolicy)' },
  InvalidSpec: { ready: 'False', stalled: true, event: { type: 'Warning', reason: 'InvalidSpec' }, meaning: 'the configuration cannot work as written; the message names the field' },
  AuthenticationFailed: { ready: 'False', stalled: true, event: { type: 'Warning', reason: 'SyncFailed' }, category: 'Authentication', meaning: 'HubSpot refused the credentials (401, bad refresh token)' },
  PermissionDenied: { ready: 'False', stalled: true, event: { type: 'Warning', reason: 'SyncFailed' }, category: 'Permission', meaning: 'HubSpot refused a scope (403 MISSING_SCOPES)' },
  TargetUnavailable: { ready: 'False', stalled: false, event: { type: 'Warning', reason: 'SyncFailed' }, category: 'Target', meaning: 'the database is unreachable or refuses connections; retried with backoff' },
  RateLimited: { ready: 'False', stalled: false, event: { type: 'Warning', reason: 'SyncFailed' }, category: 'RateLimit', meaning: "HubSpot's rate limit or the daily budget is spent; retried when it resets" },
  SyncFailed: { ready: 'False', stalled: false, event: { type: 'Warning', reason: 'SyncFailed' }, meaning: 'a cycle stopped for another reason; retried with backoff' },
};

export function readyReasonPolicy(reason: string): ReadyReasonPolicy | undefined {
  return (READY_REASON_POLICY as Record<string, ReadyReasonPolicy>)[reason];
}

/** Reasons that set Stalled=True. */
export const STALLING_READY_REASONS: ReadonlySet<ReadyReason> = new Set(
  (Object.keys(READY_REASON_POLICY) as ReadyReason[]).filter((r) => READY_REASON_POLICY[r].stalled),
);

/** Failure reasons: Ready=False reasons with a category or the generic SyncFailed (a Warning Event each). */
export const FAILURE_READY_REASONS: ReadonlySet<ReadyReason> = new Set(
  (Object.keys(READY_REASON_POLICY) as ReadyReason[]).filter((r) => READY_REASON_POLICY[r].event?.reason === 'SyncFailed'),
);

/**
 * The Ready reason of a systemic failure: the engine's own reason when it names a failure
 * reason of the table, else the reason of its category, else SyncFailed.
 */
export function readyReasonFor(category: ErrorCategory | undefined, engineReason?: string): ReadyReason {
  if (engineReason && FAILURE_READY_REASONS.has(engineReason as ReadyReason)) return engineReason as ReadyReason;
  if (engineReason && engineReason !== READY_REASONS.Synced && readyReasonPolicy(engineReason)) return engineReason as ReadyReason;
  for (const r of FAILURE_READY_REASONS) if (category && READY_REASON_POLICY[r].category === category) return r;
  return READY_REASONS.SyncFailed;
}
