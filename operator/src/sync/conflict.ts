/**
 * Per-field decision for one record known on both sides (or on one side, for a create).
 *
 * Every field compares the current values on both sides with the values last synced (the
 * link's baseline, canonical form). Then:
 * - both sides agree (the HubSpot value mapped to the target equals the target value): nothing;
 * - ForwardOnly: the value furthest along `order` wins, on whichever side it is; both converge;
 * - FillEmpty: an empty destination is filled, a non-empty one is never overwritten;
 * - Overwrite: the side that changed since the last sync wins; when both changed (or there is
 *   no baseline yet, e.g. first link by match key, where an empty value never overwrites a
 *   present one) the field's conflict rule decides
 *   (HubSpotWins, TargetWins, NewestWins by modification time, ties to HubSpot);
 * - a one-way field always takes the value of its source side.
 * Writes only ever go in a direction the field allows.
 */
import type { ConflictResolution, FieldMode } from '../api/types.js';
import {
  canonHubSpot,
  canonTarget,
  hubSpotToTarget,
  targetToHubSpot,
  type Canon,
  type FieldValueSpec,
} from './values.js';

export interface FieldPlan extends FieldValueSpec {
  toTarget: boolean;
  toHubSpot: boolean;
  mode: FieldMode;
  order?: string[];
  conflict: ConflictResolution;
  required: boolean;
  /** The match key: always synced. */
  isMatch: boolean;
}

/** Values last synced, canonical: `hs` keyed by property, `tg` keyed by column. */
export interface Baseline {
  hs: Record<string, Canon>;
  tg: Record<string, Canon>;
}

export interface ReconcileInput {
  /** Current (or last known) HubSpot property values; undefined when the record does not exist in HubSpot. */
  hs?: Record<string, string | null | undefined>;
  /** Current target row; undefined when there is none. */
  tg?: Record<string, unknown>;
  baseline?: Baseline;
  /** Record times: the fallback of NewestWins where a field's own change time is unknown. */
  hsModified?: number;
  tgModified?: number;
  /** When HubSpot last changed each property (propertiesWithHistory), epoch ms. */
  hsFieldModified?: Record<string, number>;
  /** When the table last changed each column (the capture trigger's column list); `*` = every column. */
  tgFieldModified?: Record<string, number>;
  /**
   * True in the HubSpot → target pass: HubSpot writes are queued (outbox op R) for the push
   * pass, which decides those fields again from the link (see below).
   */
  hubspotWritesDeferred: boolean;
}

export interface ReconcileResult {
  targetPatch: Record<string, unknown>;
  hubspotPatch: Record<string, string>;
  /** Baseline to store once the patches are applied. */
  baseline: Baseline;
  /** Some field was left to the push pass (NewestWins, changed on both sides): queue a recheck. */
  deferred?: boolean;
}

function rank(order: string[] | undefined, v: Canon): number {
  if (!order || v === null) return -1;
  const i = order.indexOf(v);
  return i >= 0 ? i : order.findIndex((o) => o.toLowerCase() === v.toLowerCase());
}

type Winner = 'hs' | 'tg' | 'defer' | null;

/**
 * NewestWins for one field changed on both sides: the later change of THAT field wins — HubSpot's
 * property change time against the table's column capture time; each falls back to its record
 * time only when the field's own time is unknown. Ties go to HubSpot.
 */
export function newestWins(
  times: { hsField?: number; tgField?: number; hsRecord?: number; tgRecord?: number },
): 'hs' | 'tg' {
  const h = times.hsField ?? times.hsRecord ?? -Infinity;
  const t = times.tgField ?? times.tgRecord ?? -Infinity;
  return t > h ? 'tg' : 'hs';
}

function decide(
  f: FieldPlan,
  h: Canon,
  t: Canon,
  tAsH: Canon,
  baseline: Baseline | undefined,
  input: ReconcileInput,
): Winner {
  if (f.mode === 'ForwardOnly') {
    const rh = rank(f.order, h);
    const rt = rank(f.order, tAsH);
    if (rh !== rt && (rh >= 0 || rt >= 0)) return rh > rt ? 'hs' : 'tg';
  }
  if (f.mode === 'FillEmpty') {
    if (t === null && h !== null) return 'hs';
    if (h === null && t !== null) return 'tg';
    return null;
  }
  if (!f.toHubSpot) return 'hs';
  if (!f.toTarget) return 'tg';
  const hasBase = baseline !== undefined && f.property in baseline.hs && f.column in baseline.tg;
  if (!hasBase) {
    // First sight (a link by match key, or a newly mapped field): merge, an empty value never
    // overwrites a present one.
    if (h === null && t !== null) return 'tg';
    if (t === null && h !== null) return 'hs';
  }
  const hChanged = !hasBase || baseline!.hs[f.property] !== h;
  const tChanged = !hasBase || baseline!.tg[f.column] !== t;
  if (hChanged && !tChanged) return 'hs';
  if (tChanged && !hChanged) return 'tg';
  switch (f.conflict) {
    case 'TargetWins':
      return 'tg';
    case 'NewestWins':
      // The HubSpot → target pass reads HubSpot through search, without property history: a
      // field changed on both sides is left to the push pass, which reads HubSpot's current
      // value and the property's change time right before deciding.
      if (input.hubspotWritesDeferred && hasBase) return 'defer';
      return newestWins({
        hsField: input.hsFieldModified?.[f.property],
        tgField: input.tgFieldModified?.[f.column] ?? input.tgFieldModified?.['*'],
        hsRecord: input.hsModified,
        tgRecord: input.tgModified,
      });
    default:
      return 'hs';
  }
}

/**
 * Decide one record. Throws ConversionError/TransformError (a `Mapping` error for the record)
 * when a value cannot be converted.
 */
export function reconcile(fields: readonly FieldPlan[], input: ReconcileInput): ReconcileResult {
  const targetPatch: Record<string, unknown> = {};
  const hubspotPatch: Record<string, string> = {};
  const baseline: Baseline = { hs: {}, tg: {} };
  const old = input.baseline;
  let deferred = false;

  // Create in the target: map every HubSpot → target field.
  if (!input.tg) {
    for (const f of fields) {
      const raw = input.hs?.[f.property];
      baseline.hs[f.property] = canonHubSpot(f, raw);
      if (!f.toTarget) continue;
      const v = hubSpotToTarget(f, raw);
      if (v !== null) targetPatch[f.column] = v;
      baseline.tg[f.column] = canonTarget(f, v);
    }
    return { targetPatch, hubspotPatch, baseline };
  }
  // Create in HubSpot: map every target → HubSpot field.
  if (!input.hs) {
    for (const f of fields) {
      const v = input.tg[f.column];
      baseline.tg[f.column] = canonTarget(f, v);
      if (!f.toHubSpot) continue;
      const s = targetToHubSpot(f, v);
      if (s !== '') hubspotPatch[f.property] = s;
      baseline.hs[f.property] = canonHubSpot(f, s);
    }
    return { targetPatch, hubspotPatch, baseline };
  }

  for (const f of fields) {
    const rawH = input.hs[f.property];
    const rawT = input.tg[f.column];
    const h = canonHubSpot(f, rawH);
    const t = canonTarget(f, rawT);
    const hAsT = canonTarget(f, hubSpotToTarget(f, rawH));
    const inSync = f.toTarget ? hAsT === t : canonHubSpot(f, targetToHubSpot(f, rawT)) === h;
    let newH = h;
    let newT = t;
    let pendingHubSpot = false;
    if (!inSync) {
      const tAsHRaw = targetToHubSpot(f, rawT);
      const tAsH = canonHubSpot(f, tAsHRaw);
      const w = decide(f, h, t, tAsH, old, input);
      if (w === 'defer') {
        // Neither side is written; the baseline keeps both old values so the push pass sees
        // the field changed on both sides.
        deferred = true;
        baseline.hs[f.property] = old!.hs[f.property] ?? null;
        baseline.tg[f.column] = old!.tg[f.column] ?? null;
        continue;
      }
      if (w === 'hs' && f.toTarget) {
        targetPatch[f.column] = hubSpotToTarget(f, rawH);
        newT = hAsT;
      } else if (w === 'tg' && f.toHubSpot) {
        hubspotPatch[f.property] = tAsHRaw;
        newH = tAsH;
        pendingHubSpot = input.hubspotWritesDeferred;
      }
    }
    if (pendingHubSpot) {
      // The push pass decides this field again from the link: it must see the current HubSpot
      // value (as unchanged) and the target value as changed since the last sync, so the HubSpot
      // side keeps its current value and the target side keeps its old baseline.
      baseline.hs[f.property] = h;
      if (old && f.column in old.tg) baseline.tg[f.column] = old.tg[f.column] ?? null;
    } else {
      baseline.hs[f.property] = newH;
      baseline.tg[f.column] = newT;
    }
  }
  return { targetPatch, hubspotPatch, baseline, deferred };
}

/** Required fields that are empty on the side being read (a `Validation` error for the record). */
export function missingRequired(fields: readonly FieldPlan[], side: 'hs' | 'tg', values: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const f of fields) {
    if (!f.required) continue;
    if (side === 'hs' && f.toTarget && canonHubSpot(f, values[f.property] as string | null | undefined) === null) out.push(f.property);
    if (side === 'tg' && f.toHubSpot && canonTarget(f, values[f.column]) === null) out.push(f.column);
  }
  return out;
}
