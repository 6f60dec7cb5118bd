/**
 * Change capture (DESIGN §3): an AFTER INSERT/UPDATE/DELETE row trigger on each synced table
 * appends (key, operation) to the outbox and NOTIFYs the integration's channel. Writes made in a
 * transaction marked with this integration's UID (`hubspot_operator.writer`, set
 * transaction-locally by the operator) are not captured: the operator never echoes its own
 * writes. One trigger function per integration and table, named from a hash of both, so names
 * are valid identifiers whatever the UID looks like.
 */
import { createHash } from 'node:crypto';
import type { Db, Queryable } from './db.js';
import { WRITER_SETTING } from './db.js';
import { checkIdentifier, q, qt } from './identifiers.js';

const UID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function checkUid(uid: string): string {
  if (!UID_PATTERN.test(uid)) throw new Error(`integration UID ${JSON.stringify(uid)} is not usable: expected ${UID_PATTERN.source}`);
  return uid;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** NOTIFY channel of an integration. */
export function channelFor(uid: string): string {
  return `hubspot_operator_${shortHash(uid)}`;
}

export interface CaptureTarget {
  uid: string;
  stateSchema: string;
  schema: string;
  table: string;
  primaryKey: string;
}

export function triggerNames(t: CaptureTarget): { fn: string; trigger: string } {
  const h = shortHash(`${t.uid}\u0000${t.schema}.${t.table}`);
  return { fn: `hso_capture_${h}`, trigger: `hubspot_operator_${h}` };
}

/** Install (or replace) the capture trigger of one table. Idempotent. */
export async function installCapture(db: Db, t: CaptureTarget): Promise<void> {
  const uid = checkUid(t.uid);
  const stateSchema = checkIdentifier(t.stateSchema, 'stateSchema');
  const table = checkIdentifier(t.table, 'table');
  const pk = checkIdentifier(t.primaryKey, 'primaryKey');
  checkIdentifier(t.schema, 'schema');
  const { fn, trigger } = triggerNames(t);
  const outbox = `${q(stateSchema)}.outbox`;
  const channel = channelFor(uid);
  // All embedded literals are validated identifiers or the checked UID: none can contain a quote.
  // An UPDATE records which columns it changed (OLD vs NEW, by name): NewestWins compares the
  // change time of each field, never the row's latest change (DESIGN §3).
  const body = `
DECLARE
  changed jsonb;
BEGIN
  IF current_setting('${WRITER_SETTING}', true) = '${uid}' THEN RETURN NULL; END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO ${outbox} (integration_uid, table_name, target_key, op) VALUES ('${uid}', '${table}', to_jsonb(OLD) ->> '${pk}', 'D');
  ELSIF TG_OP = 'UPDATE' THEN
    IF OLD IS NOT DISTINCT FROM NEW THEN RETURN NULL; END IF;
    IF (to_jsonb(OLD) ->> '${pk}') IS DISTINCT FROM (to_jsonb(NEW) ->> '${pk}') THEN
      INSERT INTO ${outbox} (integration_uid, table_name, target_key, op) VALUES ('${uid}', '${table}', to_jsonb(OLD) ->> '${pk}', 'D');
    END IF;
    SELECT coalesce(jsonb_agg(n.key), '[]'::jsonb) INTO changed FROM jsonb_each(to_jsonb(NEW)) n WHERE n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key);
    INSERT INTO ${outbox} (integration_uid, table_name, target_key, op, changed_columns) VALUES ('${uid}', '${table}', to_jsonb(NEW) ->> '${pk}', 'U', changed);
  ELSE
    INSERT INTO ${outbox} (integration_uid, table_name, target_key, op) VALUES ('${uid}', '${table}', to_jsonb(NEW) ->> '${pk}', 'I');
  END IF;
  PERFORM pg_notify('${channel}', '${table}');
  RETURN NULL;
END`;
  await db.transaction(async (tx: Queryable) => {
    await tx.query(`CREATE OR REPLACE FUNCTION ${q(stateSchema)}.${q(fn)}() RETURNS trigger LANGUAGE plpgsql AS $hso$${body}$hso$`);
    await tx.query(`DROP TRIGGER IF EXISTS ${q(trigger)} ON ${qt(t.schema, table)}`);
    await tx.query(
      `CREATE TRIGGER ${q(trigger)} AFTER INSERT OR UPDATE OR DELETE ON ${qt(t.schema, table)} FOR EACH ROW EXECUTE FUNCTION ${q(stateSchema)}.${q(fn)}()`,
    );
  });
}

/** Remove the capture trigger and its function (cleanup with deletionPolicy Delete). */
export async function removeCapture(db: Db, t: CaptureTarget): Promise<void> {
  const { fn, trigger } = triggerNames(t);
  await db.transaction(async (tx: Queryable) => {
    const exists = await tx.query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`,
      [t.schema, t.table],
    );
    if (exists.rows.length) await tx.query(`DROP TRIGGER IF EXISTS ${q(trigger)} ON ${qt(t.schema, t.table)}`);
    await tx.query(`DROP FUNCTION IF EXISTS ${q(t.stateSchema)}.${q(fn)}()`);
  });
}
