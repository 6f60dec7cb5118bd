import { describe, expect, it } from 'vitest';
import { missingRequired, reconcile, type FieldPlan } from '../../../operator/src/sync/conflict.js';

const field = (over: Partial<FieldPlan> = {}): FieldPlan => ({
  property: 'p',
  column: 'c',
  propertyType: 'string',
  columnKind: 'text',
  toTarget: true,
  toHubSpot: true,
  mode: 'Overwrite',
  conflict: 'HubSpotWins',
  required: false,
  isMatch: false,
  ...over,
});
const base = (h: string | null, t: string | null) => ({ hs: { p: h }, tg: { c: t } });

describe('reconcile: one field of one linked record', () => {
  it('does nothing at rest, or when the sides agree after normalisation', () => {
    expect(reconcile([field()], { hs: { p: 'a' }, tg: { c: 'a' }, baseline: base('a', 'a'), hubspotWritesDeferred: false })).toMatchObject({ targetPatch: {}, hubspotPatch: {} });
    const email = field({ property: 'email', column: 'email' });
    expect(reconcile([email], { hs: { email: 'A@x.com' }, tg: { email: 'a@x.com ' }, baseline: { hs: { email: 'a@x.com' }, tg: { email: 'a@x.com' } }, hubspotWritesDeferred: false }).hubspotPatch).toEqual({});
  });

  it('takes the side that changed since the last sync', () => {
    expect(reconcile([field()], { hs: { p: 'new' }, tg: { c: 'old' }, baseline: base('old', 'old'), hubspotWritesDeferred: false }).targetPatch).toEqual({ c: 'new' });
    expect(reconcile([field()], { hs: { p: 'old' }, tg: { c: 'new' }, baseline: base('old', 'old'), hubspotWritesDeferred: false }).hubspotPatch).toEqual({ p: 'new' });
  });

  it('applies the conflict rule when both sides changed', () => {
    const both = (conflict: FieldPlan['conflict'], hsModified: number, tgModified: number) =>
      reconcile([field({ conflict })], { hs: { p: 'H' }, tg: { c: 'T' }, baseline: base('o', 'o'), hsModified, tgModified, hubspotWritesDeferred: false });
    expect(both('HubSpotWins', 1, 2)).toMatchObject({ targetPatch: { c: 'H' }, hubspotPatch: {} });
    expect(both('TargetWins', 2, 1)).toMatchObject({ targetPatch: {}, hubspotPatch: { p: 'T' } });
    expect(both('NewestWins', 1, 2)).toMatchObject({ targetPatch: {}, hubspotPatch: { p: 'T' } });
    expect(both('NewestWins', 2, 1)).toMatchObject({ targetPatch: { c: 'H' }, hubspotPatch: {} });
  });

  it('on first link, an empty value never overwrites a present one', () => {
    expect(reconcile([field()], { hs: { p: null }, tg: { c: 'T' }, hubspotWritesDeferred: false }).hubspotPatch).toEqual({ p: 'T' });
    expect(reconcile([field({ conflict: 'TargetWins' })], { hs: { p: 'H' }, tg: { c: null }, hubspotWritesDeferred: false }).targetPatch).toEqual({ c: 'H' });
  });

  it('FillEmpty fills an empty side and never overwrites', () => {
    const f = field({ mode: 'FillEmpty' });
    expect(reconcile([f], { hs: { p: 'H' }, tg: { c: null }, baseline: base('H', 'x'), hubspotWritesDeferred: false }).targetPatch).toEqual({ c: 'H' });
    expect(reconcile([f], { hs: { p: 'H2' }, tg: { c: 'T' }, baseline: base('H', 'T'), hubspotWritesDeferred: false })).toMatchObject({ targetPatch: {}, hubspotPatch: {} });
  });

  it('ForwardOnly takes the value furthest along the order on both sides', () => {
    const f = field({ mode: 'ForwardOnly', order: ['lead', 'customer', 'evangelist'] });
    // HubSpot moved back: HubSpot is corrected, the target keeps its value.
    expect(reconcile([f], { hs: { p: 'lead' }, tg: { c: 'customer' }, baseline: base('customer', 'customer'), hubspotWritesDeferred: false })).toMatchObject({ targetPatch: {}, hubspotPatch: { p: 'customer' } });
    expect(reconcile([f], { hs: { p: 'evangelist' }, tg: { c: 'customer' }, baseline: base('customer', 'customer'), hubspotWritesDeferred: false })).toMatchObject({ targetPatch: { c: 'evangelist' } });
  });

  it('writes only in the directions a field allows; one-way fields take their source', () => {
    const oneWay = field({ toHubSpot: false });
    expect(reconcile([oneWay], { hs: { p: 'H' }, tg: { c: 'T' }, baseline: base('H', 'old'), hubspotWritesDeferred: false })).toMatchObject({ targetPatch: { c: 'H' }, hubspotPatch: {} });
    const push = field({ toTarget: false });
    expect(reconcile([push], { hs: { p: 'H' }, tg: { c: 'T' }, baseline: base('old', 'T'), hubspotWritesDeferred: false })).toMatchObject({ targetPatch: {}, hubspotPatch: { p: 'T' } });
  });

  it('when HubSpot writes are deferred to the push pass, keeps the baseline so the push decides the same way', () => {
    const r = reconcile([field()], { hs: { p: 'old' }, tg: { c: 'new' }, baseline: base('old', 'old'), hubspotWritesDeferred: true });
    expect(r.hubspotPatch).toEqual({ p: 'new' });
    expect(r.baseline).toEqual({ hs: { p: 'old' }, tg: { c: 'old' } });
    const again = reconcile([field()], { hs: r.baseline.hs, tg: { c: 'new' }, baseline: r.baseline, hubspotWritesDeferred: false });
    expect(again.hubspotPatch).toEqual({ p: 'new' });
    expect(again.baseline).toEqual({ hs: { p: 'new' }, tg: { c: 'new' } });
  });

  it('names required fields that are empty on the side being read', () => {
    const fields = [field({ property: 'email', column: 'email', required: true }), field({ property: 'x', column: 'x' })];
    expect(missingRequired(fields, 'hs', { email: '' })).toEqual(['email']);
    expect(missingRequired(fields, 'tg', { email: 'a@b.c' })).toEqual([]);
  });
});
