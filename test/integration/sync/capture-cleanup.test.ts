/**
 * Capture triggers and their outbox follow the spec (issue 10): an object type removed from
 * spec.objects, or narrowed to HubSpotToTarget, loses its trigger and its pending outbox rows;
 * deletionPolicy Delete removes every trigger the integration ever installed, also on tables
 * that already left the spec.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncedObjectSpec } from '../../../operator/src/api/types.js';
import { serverDbKinds } from '../../helpers/db.js';
import { CONTACTS_DDL, Harness } from './harness.js';

const kinds = await serverDbKinds();

const COMPANIES_DDL = `CREATE TABLE {schema}.companies (id bigserial PRIMARY KEY, name text, domain text)`;
const COMPANIES = { type: 'companies', table: 'companies', match: { property: 'domain', column: 'domain' } } as Partial<SyncedObjectSpec>;

describe.each(kinds)('capture cleanup when the spec narrows (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function outboxRows(table?: string): Promise<number> {
    const rows = await h!.rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM {state}.outbox WHERE integration_uid = $1${table ? ' AND table_name = $2' : ''}`,
      table ? [h!.cfg.uid, table] : [h!.cfg.uid],
    );
    return Number(rows[0]!.n);
  }

  it('removing an object type drops its trigger and pending changes; the other table keeps syncing', async () => {
    h = await Harness.start({ dbKind, ddl: [CONTACTS_DDL, COMPANIES_DDL], objects: [{}, COMPANIES] });
    await h.cycle('initial');
    expect((await h.triggerNames()).length).toBe(2 * h.triggersPerCapture);
    // Captured while companies is still synced, then companies leaves the spec.
    await h.exec(`INSERT INTO {schema}.companies (name, domain) VALUES ('Acme', 'acme.example')`);
    expect(await outboxRows('companies')).toBe(1);
    h.cfg.spec.objects = h.cfg.spec.objects.filter((o) => o.type !== 'companies');
    await h.restart();
    const r = await h.cycle();
    expect((await h.triggerNames()).length).toBe(h.triggersPerCapture);
    expect(await outboxRows('companies')).toBe(0);
    expect(r.syncLagSeconds).toBe(0);
    // Writes to the removed table are no longer captured; contacts still are, and sync.
    await h.exec(`INSERT INTO {schema}.companies (name, domain) VALUES ('Other', 'other.example')`);
    expect(await outboxRows()).toBe(0);
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('still@example.com')`);
    const after = await h.cycle();
    expect(after.objects.map((o) => [o.type, o.pendingChanges])).toEqual([['contacts', 0]]);
    expect((await h.hs.listAll('contacts', ['email'])).map((c) => c.properties.email)).toEqual(['still@example.com']);
    expect(await h.hs.listAll('companies', ['domain'])).toEqual([]);
  });

  it('narrowing to HubSpotToTarget drops the trigger and pending changes; HubSpot changes still arrive', async () => {
    h = await Harness.start({ dbKind });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('pending@example.com')`);
    expect(await outboxRows('contacts')).toBe(1);
    h.cfg.spec.objects[0]!.direction = 'HubSpotToTarget';
    await h.restart();
    const r = await h.cycle();
    expect(await h.triggerNames()).toEqual([]);
    expect(r.objects[0]!.pendingChanges).toBe(0);
    expect(r.syncLagSeconds).toBe(0);
    // Table writes no longer grow the outbox; the other direction keeps working.
    for (let i = 0; i < 3; i++) await h.exec(`INSERT INTO {schema}.contacts (email) VALUES ('t${i}@example.com')`);
    await h.hs.create('contacts', { email: 'from-hubspot@example.com' });
    const again = await h.cycle();
    expect(again.objects[0]!.pendingChanges).toBe(0);
    expect(again.syncLagSeconds).toBe(0);
    expect(await outboxRows()).toBe(0);
    expect((await h.rows(`SELECT email FROM {schema}.contacts WHERE email = 'from-hubspot@example.com'`)).length).toBe(1);
    expect((await h.hs.listAll('contacts', ['email'])).map((c) => c.properties.email)).toEqual(['from-hubspot@example.com']);
    // Widened again: capture comes back.
    h.cfg.spec.objects[0]!.direction = 'TwoWay';
    await h.restart();
    await h.cycle();
    expect((await h.triggerNames()).length).toBe(h.triggersPerCapture);
  });

  it('deletionPolicy Delete removes every trigger ever installed, also on a table no longer in the spec', async () => {
    h = await Harness.start({ dbKind, ddl: [CONTACTS_DDL, COMPANIES_DDL], objects: [{}, COMPANIES] });
    await h.cycle('initial');
    expect((await h.triggerNames()).length).toBe(2 * h.triggersPerCapture);
    // The spec loses companies and the integration is deleted before another cycle runs.
    h.cfg.spec.objects = h.cfg.spec.objects.filter((o) => o.type !== 'companies');
    await h.restart();
    await h.engine.cleanup('Delete');
    expect(await h.triggerNames()).toEqual([]);
    await h.exec(`INSERT INTO {schema}.companies (name, domain) VALUES ('Late', 'late.example')`);
    expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.outbox`))[0]!.n).toBe(0);
  });
});
