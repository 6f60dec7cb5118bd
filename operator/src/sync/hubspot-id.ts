/**
 * spec.objects[].hubspotIdColumn (DESIGN §2.9): a column of the table holding each linked
 * record's HubSpot ID. The operator writes it for every linked record; HubSpot records are
 * linked by it before the match key (a table already keyed by HubSpot ID is adopted, not
 * duplicated); a row holding an ID HubSpot does not know is a NotFound record error, never a
 * new HubSpot record.
 */
import { VERSION_FIELD, type IfVersion, type Row } from '../target/connector.js';
import type { ObjectPlan } from './mapping.js';

/** The columns to read of a row: the mapped ones, plus the HubSpot ID column. */
export function rowColumns(plan: ObjectPlan): string[] {
  const cols = plan.fields.map((f) => f.column);
  if (plan.hubspotIdColumn && !cols.includes(plan.hubspotIdColumn)) cols.push(plan.hubspotIdColumn);
  return cols;
}

/**
 * The condition that a row read with a version token (`selectRows(…, rowColumns(plan), { version: true })`)
 * still holds what was read: a write with it never overwrites a table edit committed since.
 */
export function ifUnchangedSince(plan: ObjectPlan, row: Row | undefined): { ifVersion?: IfVersion } {
  const version = row?.[VERSION_FIELD];
  return typeof version === 'string' ? { ifVersion: { columns: rowColumns(plan), version } } : {};
}

/** The HubSpot ID a row holds (digits only; an ID is a number), or undefined when empty. */
export function hubspotIdInRow(plan: ObjectPlan, row: Row | undefined): string | undefined {
  const col = plan.hubspotIdColumn;
  if (!col || !row) return undefined;
  const v = row[col];
  if (v === null || v === undefined) return undefined;
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

/** The write that makes the row hold `hubspotId` (empty when it already does, or there is no column). */
export function hubspotIdPatch(plan: ObjectPlan, row: Row | undefined, hubspotId: string): Row {
  const col = plan.hubspotIdColumn;
  if (!col || hubspotIdInRow(plan, row) === hubspotId) return {};
  return { [col]: hubspotId };
}
