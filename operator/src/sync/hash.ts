/**
 * Hash of a record's mapped values on one side, in canonical form (values.ts). A change whose
 * hash equals the last synced hash is not a change: it is never written (no echo, no churn).
 * The field names take part so that a mapping change (a field added) changes every hash and
 * the new field is backfilled. One-shot `crypto.hash` (no Hash object per call): this runs for
 * every record of every page.
 */
import { hash } from 'node:crypto';
import type { Canon } from './values.js';

export function hashValues(names: readonly string[], values: Record<string, Canon>): string {
  let s = '';
  for (const n of names) {
    const v = values[n];
    // Separators cannot occur in property/column names; null differs from every string.
    s += v === null || v === undefined ? `${n}\u0000\u0001` : `${n}=${v}\u0001`;
  }
  return hash('sha1', s, 'base64url');
}
