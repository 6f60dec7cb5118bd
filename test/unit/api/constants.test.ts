import { describe, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  DEFAULT_MAPPED_PROPERTIES,
  FINALIZER,
  isStandardObjectType,
  lastModifiedProperty,
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
      ['AuthenticationFailed', 'Deleting', 'InvalidSpec', 'PermissionDenied', 'Progressing', 'RateLimited', 'Suspended', 'SyncFailed', 'Synced', 'TargetUnavailable'].sort(),
    );
    for (const r of Object.values(STALLED_REASONS)) expect(Object.values(READY_REASONS)).toContain(r);
  });

  it('has the default mappings and last-modified properties of DESIGN §2.2 and §3', () => {
    expect(DEFAULT_MAPPED_PROPERTIES.contacts).toContain('lifecyclestage');
    expect(DEFAULT_MAPPED_PROPERTIES.deals).toEqual(['dealname', 'amount', 'dealstage', 'pipeline', 'closedate']);
    expect(lastModifiedProperty('contacts')).toBe('lastmodifieddate');
    expect(lastModifiedProperty('companies')).toBe('hs_lastmodifieddate');
    expect(lastModifiedProperty('2-123')).toBe('hs_lastmodifieddate');
    expect(isStandardObjectType('deals')).toBe(true);
    expect(isStandardObjectType('p_projects')).toBe(false);
  });
});
