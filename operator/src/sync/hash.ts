/**
 * Hash of a record's mapped values on one side, in canonical form (values.ts). A change whose
 * hash equals the last synced hash is not a change: it is never written (no echo, no churn).
 * The field names take part so that a mapping change (a field added) changes every hash and
 * the new field is backfilled.
 */
import { createHash } from 'node:crypto';
import type { Canon } from './values.js';

export function hashValues(names: readonly string[], values: Record<string, Canon>): string {
  const h = createHash('sha1');
  for (const n of names) {
    const v = values[n];
    h.update(n);
    h.update(v === null || v === undefined ? '\u0000' : `=${v}`);
    h.update('\u0001');
  }
  return h.digest('base64url');
}
