/**
 * NewestWins per field (issue 16) and the retry backoff schedule (issue 10), without a database:
 * the decision for one field changed on both sides uses THAT field's change times, falls back to
 * record times only where a field's own time is unknown, and gives ties to HubSpot.
 */
import { describe, expect, it } from 'vitest';
import { newestWins, reconcile, type FieldPlan } from '../../../operator/src/sync/conflict.js';
import { retryDelayMs } from '../../../operator/src/target/connector.js';
import { foldChanges } from '../../../operator/src/target/state-rows.js';

const field = (property: string, column = property): FieldPlan => ({
  property,
  column,
  propertyType: 'string',
  columnKind: 'text',
  toTarget: true,
  toHubSpot: true,
  mode: 'Overwrite',
  conflict: 'NewestWins',
  required: false,
  isMatch: false,
});

describe('newestWins: which change time decides', () => {
  it('compares the field times when both are known, whatever the record times say', () => {
    expect(newestWins({ hsField: 10, tgField: 20, hsRecord: 30, tgRecord: 5 })).toBe('tg');
    expect(newestWins({ hsField: 20, tgField: 10, hsRecord: 5, tgRecord: 30 })).toBe('hs');
  });
  it('falls back to the record time only on the side whose field time is unknown', () => {
    expect(newestWins({ tgField: 10, hsRecord: 20 })).toBe('hs');
    expect(newestWins({ hsField: 10, tgRecord: 20 })).toBe('tg');
    expect(newestWins({ hsRecord: 10, tgRecord: 20 })).toBe('tg');
  });
  it('gives ties to HubSpot, and an unknown side loses', () => {
    expect(newestWins({ hsField: 10, tgField: 10 })).toBe('hs');
    expect(newestWins({ hsRecord: 10 })).toBe('hs');
    expect(newestWins({ tgRecord: 10 })).toBe('tg');
    expect(newestWins({})).toBe('hs');
  });
});

describe('reconcile with NewestWins per field', () => {
  const fields = [field('firstname'), field('lastname')];
  const baseline = { hs: { firstname: 'F0', lastname: 'L0' }, tg: { firstname: 'F0', lastname: 'L0' } };

  it('a later HubSpot edit of another field does not carry an older HubSpot value of this one', () => {
    // HubSpot lastname at 1, table lastname at 2, HubSpot firstname at 3 (record time 3).
    const r = reconcile(fields, {
      hs: { firstname: 'F-hub', lastname: 'L-hub' },
      tg: { firstname: 'F0', lastname: 'L-table' },
      baseline,
      hsModified: 3,
      tgModified: 2,
      hsFieldModified: { firstname: 3, lastname: 1 },
      tgFieldModified: { lastname: 2 },
      hubspotWritesDeferred: false,
    });
    expect(r).toMatchObject({ targetPatch: { firstname: 'F-hub' }, hubspotPatch: { lastname: 'L-table' } });
  });

  it('a table column time beats the row-wide `*` time, and `*` is the column fallback', () => {
    const input = { hs: { firstname: 'F-hub', lastname: 'L0' }, tg: { firstname: 'F-table', lastname: 'L0' }, baseline, hsFieldModified: { firstname: 5 }, hubspotWritesDeferred: false };
    expect(reconcile(fields, { ...input, tgFieldModified: { firstname: 4, '*': 9 } }).targetPatch).toEqual({ firstname: 'F-hub' });
    expect(reconcile(fields, { ...input, tgFieldModified: { '*': 9 } }).hubspotPatch).toEqual({ firstname: 'F-table' });
  });

  it('in the HubSpot → target pass a field changed on both sides is left to the push pass (no write, old baseline)', () => {
    const r = reconcile(fields, {
      hs: { firstname: 'F-hub', lastname: 'L-hub' },
      tg: { firstname: 'F-table', lastname: 'L0' },
      baseline,
      hsModified: 1,
      tgModified: 2,
      hubspotWritesDeferred: true,
    });
    expect(r.deferred).toBe(true);
    expect(r.targetPatch).toEqual({ lastname: 'L-hub' });
    expect(r.hubspotPatch).toEqual({});
    expect(r.baseline.hs.firstname).toBe('F0');
    expect(r.baseline.tg.firstname).toBe('F0');
  });
});

describe('foldChanges: per-column capture times of coalesced outbox rows', () => {
  it('keeps each column its own latest time; a row without a column list counts for every column (`*`)', () => {
    const t = (s: number) => new Date(1_000 * s);
    const m = foldChanges([
      { target_key: '1', captured_at: t(1), changed_columns: ['firstname'] },
      { target_key: '1', captured_at: t(3), changed_columns: '["lastname"]' },
      { target_key: '1', captured_at: t(2), changed_columns: ['firstname'] },
      { target_key: '2', captured_at: t(4), changed_columns: null },
    ]);
    expect(m.get('1')).toEqual({ lastChangedMs: 3_000, columnChangedMs: { firstname: 2_000, lastname: 3_000 } });
    expect(m.get('2')).toEqual({ lastChangedMs: 4_000, columnChangedMs: { '*': 4_000 } });
  });
});

describe('retry backoff', () => {
  it('is 1 minute after the first failure, doubling, capped at 1 hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => retryDelayMs(n) / 60_000)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });
});
