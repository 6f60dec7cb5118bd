import { describe, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  FINALIZER,
  READY_REASONS,
  STALLED_REASONS,
} from '../../../operator/src/api/constants.js';

describe('constants', () => {
  it('names the annotations and the finalizer of DESIGN §2', () => {
    expect(ANNOTATIONS).toEqual({
      syncRequestedAt: 'hubspot-operator.dev/sync-requested-at',
      resyncRequestedAt: 'hubspot-operator.dev/resync-requested-at',
      skipCleanup: 'hubspot-operator.dev/skip-cleanup',
    });
    expect(FINALIZER).toBe('hubspot-operator.dev/cleanup');
  });

  it('lists the Ready reasons of DESIGN §2.4; Stalled reasons are a subset', () => {
    expect(Object.values(READY_REASONS).sort()).toEqual(
      ['AuthenticationFailed', 'Deleting', 'InvalidSpec', 'Observed', 'PermissionDenied', 'Progressing', 'RateLimited', 'Suspended', 'SyncFailed', 'Synced', 'TargetUnavailable'].sort(),
    );
    for (const r of Object.values(STALLED_REASONS)) expect(Object.values(READY_REASONS)).toContain(r);
  });
});
