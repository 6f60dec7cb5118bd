import { describe, expect, it } from 'vitest';
import { ERROR_CATEGORIES } from '../../../operator/src/api/categories.js';
import { READY_REASONS, STALLED_REASONS } from '../../../operator/src/api/constants.js';
import { FAILURE_READY_REASONS, READY_REASON_POLICY, readyReasonFor, STALLING_READY_REASONS } from '../../../operator/src/api/reasons.js';
import { scheduleOf } from '../../../operator/src/api/defaults.js';

describe('the Ready reason table', () => {
  it('has one entry per Ready reason; Stalled ones are exactly the public STALLED_REASONS', () => {
    expect(Object.keys(READY_REASON_POLICY).sort()).toEqual(Object.values(READY_REASONS).sort());
    expect([...STALLING_READY_REASONS].sort()).toEqual(Object.values(STALLED_REASONS).sort());
    for (const [reason, p] of Object.entries(READY_REASON_POLICY)) {
      if (p.stalled) expect(p.ready, reason).toBe('False');
      expect(p.meaning.length, reason).toBeGreaterThan(10);
    }
  });

  it('maps every systemic category to its reason, and others to SyncFailed', () => {
    expect(readyReasonFor('Authentication')).toBe('AuthenticationFailed');
    expect(readyReasonFor('Permission')).toBe('PermissionDenied');
    expect(readyReasonFor('Target')).toBe('TargetUnavailable');
    expect(readyReasonFor('RateLimit')).toBe('RateLimited');
    expect(readyReasonFor('Transient')).toBe('SyncFailed');
    expect(readyReasonFor(undefined)).toBe('SyncFailed');
    // The engine's own reason wins when it is a reason of the table (never Synced).
    expect(readyReasonFor('Transient', 'TargetUnavailable')).toBe('TargetUnavailable');
    expect(readyReasonFor('Authentication', 'Synced')).toBe('AuthenticationFailed');
    expect(readyReasonFor(undefined, 'NotAReason')).toBe('SyncFailed');
    for (const r of FAILURE_READY_REASONS) expect(READY_REASON_POLICY[r].event).toEqual({ type: 'Warning', reason: 'SyncFailed' });
    for (const c of ERROR_CATEGORIES) expect(Object.keys(READY_REASON_POLICY)).toContain(readyReasonFor(c));
  });
});

describe('scheduleOf', () => {
  it('takes the CRD defaults (5m, 24h) and names a bad field', () => {
    const spec = { hubspot: { auth: {} }, target: { postgres: { connectionSecretRef: { name: 'db' } } }, objects: [] } as never;
    expect(scheduleOf(spec)).toEqual({ intervalMs: 300_000, fullResyncIntervalMs: 86_400_000 });
    expect(scheduleOf({ ...(spec as object), schedule: { interval: '30s' } } as never)).toEqual({ intervalMs: 30_000, fullResyncIntervalMs: 86_400_000 });
    expect(() => scheduleOf({ ...(spec as object), schedule: { fullResyncInterval: 'daily' } } as never)).toThrow(/^spec\.schedule\.fullResyncInterval: /);
  });
});
