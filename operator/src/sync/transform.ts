/**
 * Field transforms (DESIGN §2.2). A transform is written for the HubSpot → target direction;
 * the other direction applies its inverse: valueMap is inverted (it must be one-to-one), the
 * case/trim/country transforms have no inverse and pass the target value through unchanged
 * (the comparison that decides whether two sides agree always runs HubSpot → target, so a
 * lossy transform never causes churn).
 */
import type { FieldTransform } from '../api/types.js';
import { findCountry } from './countries.js';

export class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

export interface CompiledTransform {
  /** Human name for messages, e.g. "valueMap". */
  readonly name: string;
  forward(value: string): string;
  inverse(value: string): string;
}

const identity = (v: string) => v;

/** Problems with a transform spec (for validate()); empty when fine. */
export function transformIssues(t: FieldTransform | undefined): string[] {
  if (!t) return [];
  const set = (['valueMap', 'lowercase', 'uppercase', 'trim', 'countryCode'] as const).filter(
    (k) => t[k] !== undefined && t[k] !== false,
  );
  const issues: string[] = [];
  if (set.length > 1) issues.push(`only one transform may be set, found ${set.join(', ')}`);
  if (t.valueMap) {
    const seen = new Map<string, string>();
    for (const [k, v] of Object.entries(t.valueMap)) {
      if (typeof v !== 'string') {
        issues.push(`valueMap[${JSON.stringify(k)}] must be a string`);
        continue;
      }
      const prev = seen.get(v);
      if (prev !== undefined) issues.push(`valueMap must be one-to-one: ${JSON.stringify(prev)} and ${JSON.stringify(k)} both map to ${JSON.stringify(v)}`);
      seen.set(v, k);
    }
  }
  return issues;
}

export function compileTransform(t: FieldTransform | undefined): CompiledTransform | undefined {
  if (!t) return undefined;
  const issues = transformIssues(t);
  if (issues.length) throw new TransformError(issues.join('; '));
  if (t.valueMap) {
    const fwd = new Map(Object.entries(t.valueMap));
    const inv = new Map(Object.entries(t.valueMap).map(([k, v]) => [v, k]));
    return { name: 'valueMap', forward: (v) => fwd.get(v) ?? v, inverse: (v) => inv.get(v) ?? v };
  }
  if (t.lowercase) return { name: 'lowercase', forward: (v) => v.toLowerCase(), inverse: identity };
  if (t.uppercase) return { name: 'uppercase', forward: (v) => v.toUpperCase(), inverse: identity };
  if (t.trim) return { name: 'trim', forward: (v) => v.trim(), inverse: identity };
  if (t.countryCode) {
    const form = t.countryCode;
    return {
      name: `countryCode ${form}`,
      forward: (v) => {
        if (v.trim() === '') return v;
        const c = findCountry(v);
        if (!c) throw new TransformError(`countryCode: ${JSON.stringify(v)} is not a known country name or ISO 3166 code`);
        return form === 'alpha2' ? c.alpha2 : form === 'alpha3' ? c.alpha3 : c.name;
      },
      inverse: identity,
    };
  }
  return undefined;
}
