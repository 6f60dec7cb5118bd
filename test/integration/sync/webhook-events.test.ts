/**
 * Webhook events applied by the sync engine (DESIGN §2.8), end to end: the HubSpot sandbox's
 * signed deliveries → the receiver → the inbox in the state store (real PostgreSQL, and
 * MariaDB) → the engine's cycle. HubSpot's search is made to lag by an hour, so the
 * incremental poll cannot see the changes: whatever reaches the table here came through the
 * webhook events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createConnectorInboxRouter, type ConnectorInboxRouter } from '../../../operator/src/hubspot/webhooks/connector-inbox.js';
import { directoryFromCache } from '../../../operator/src/hubspot/webhooks/directory.js';
import { toInboxEvent } from '../../../operator/src/hubspot/webhooks/events.js';
import { WebhookReceiver } from '../../../operator/src/hubspot/webhooks/receiver.js';
import type { SyncedObjectSpec } from '../../../operator/src/api/types.js';
import { syncDbKinds } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';
import { CONTACTS_DDL, Harness } from './harness.js';

const SECRET = 'app-client-secret';
const EVENTS = ['contact.creation', 'contact.propertyChange', 'contact.deletion', 'contact.merge', 'contact.restore', 'contact.privacyDeletion', 'company.creation'];

const kinds = (await syncDbKinds()).filter((k): k is 'postgres' | 'mysql' => k === 'postgres' || k === 'mysql');

interface Rig {
  h: Harness;
  receiver: WebhookReceiver;
  inbox: ConnectorInboxRouter;
}

let rig: Rig | undefined;

async function start(dbKind: 'postgres' | 'mysql' | 'pglite', o: { deletes?: SyncedObjectSpec['deletes']; duplicates?: number; shuffle?: boolean; ddl?: string[]; objects?: Partial<SyncedObjectSpec>[]; events?: string[] } = {}): Promise<Rig> {
  const h = await Harness.start({ dbKind, indexingDelayMs: 3_600_000, ...(o.ddl ? { ddl: o.ddl } : {}), objects: o.objects ?? [{ deletes: { fromHubSpot: 'Ignore', fromTarget: 'Ignore', ...o.deletes } }] });
  h.cfg.spec.hubspot.webhooks = { clientSecretRef: { name: 'app', key: 'clientSecret' } };
  const integration = { metadata: { namespace: h.cfg.namespace, name: h.cfg.name, uid: h.cfg.uid }, spec: { ...h.cfg.spec, hubspot: { ...h.cfg.spec.hubspot, portalId: h.sandbox.portalId } } };
  const inbox = createConnectorInboxRouter((key) => (key === h.cfg.uid ? { uid: key, namespace: h.cfg.namespace, name: h.cfg.name, target: h.cfg.spec.target, databaseUrl: h.db.url } : undefined));
  const receiver = new WebhookReceiver({
    directory: directoryFromCache({ integrations: () => [integration] as never, secret: (_ns, name) => (name === 'app' ? { stringData: { clientSecret: SECRET } } : undefined) }),
    inbox,
  });
  const url = await receiver.listen(0, '127.0.0.1');
  h.sandbox.subscribeWebhook({ targetUrl: url, clientSecret: SECRET, events: o.events ?? EVENTS, batchDelayMs: 10, duplicates: o.duplicates ?? 0, shuffle: o.shuffle ?? false });
  rig = { h, receiver, inbox };
  return rig;
}

afterEach(async () => {
  if (!rig) return;
  await rig.receiver.close();
  await rig.inbox.close();
  await rig.h.close();
  rig = undefined;
});

async function inbox(h: Harness): Promise<{ event: string; object_id: string | null; processed: boolean }[]> {
  const rows = await h.rows<{ event: string; object_id: string | null; processed: unknown }>(`SELECT event, object_id, processed_at IS NOT NULL AS processed FROM "${h.db.stateSchema}".webhook_inbox ORDER BY occurred_at, id`);
  return rows.map((r) => ({ ...r, processed: !!Number(r.processed) || r.processed === true }));
}

/** Every raised event delivered (duplicates included). */
function delivered(h: Harness): Promise<boolean> {
  return waitFor(() => (h.sandbox.webhooks.list() as { pending: number; raisedEvents: number }[]).every((s) => s.pending === 0 && s.raisedEvents > 0), { what: 'deliveries done' });
}

async function contacts(h: Harness): Promise<{ id: string; email: string | null; firstname: string | null; lastname: string | null }[]> {
  return (await h.rows<{ id: unknown; email: string | null; firstname: string | null; lastname: string | null }>(`SELECT id, email, firstname, lastname FROM {schema}.contacts ORDER BY id`)).map((r) => ({ ...r, id: String(r.id) }));
}

async function links(h: Harness): Promise<{ hubspot_id: string; target_key: string; deleted_side: string | null }[]> {
  return h.rows(`SELECT hubspot_id, target_key, deleted_side FROM "${h.db.stateSchema}".links ORDER BY target_key`);
}

async function audit(h: Harness): Promise<{ operation: string; hubspot_id: string | null; target_key: string | null; message: string | null }[]> {
  return h.rows(`SELECT operation, hubspot_id, target_key, message FROM "${h.db.stateSchema}".audit_log ORDER BY id`);
}

describe.each(kinds)('webhook events applied by the engine (%s)', (dbKind) => {
  it('a stored event wakes the worker; duplicated and shuffled deliveries (propertyChange before creation) converge and apply once', async () => {
    const { h } = await start(dbKind, { duplicates: 2, shuffle: true });
    await h.cycle('initial');
    const abort = new AbortController();
    const woken = h.engine.waitForTargetChange(abort.signal);
    const c = await h.hs.create('contacts', { email: 'ada@example.com', firstname: 'Ada' });
    await h.hs.update('contacts', c.id, { firstname: 'Grace', lastname: 'Hopper' });
    await woken; // the receiver's store woke the waiting worker
    await delivered(h);
    const stored = await waitFor(async () => {
      const rows = await inbox(h);
      return rows.some((e) => e.event === 'creation') && rows.some((e) => e.event === 'propertyChange') ? rows : undefined;
    }, { what: 'the creation and the property changes stored' });
    // Three copies of every batch were delivered; the inbox holds each event once.
    expect(stored.filter((e) => e.event === 'creation')).toHaveLength(1);

    const report = await h.cycle('incremental');
    expect(await contacts(h)).toEqual([{ id: expect.any(String), email: 'ada@example.com', firstname: 'Grace', lastname: 'Hopper' }]);
    expect(report.objects[0]!.lastCycle.toTarget.created).toBe(1);
    expect((await inbox(h)).every((e) => e.processed)).toBe(true);
    // Applied once: one create in the audit log, and nothing more on the next cycle.
    expect((await audit(h)).filter((a) => a.operation === 'create' && a.hubspot_id === c.id)).toHaveLength(1);
    const again = await h.cycle('incremental');
    expect(again.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
  });

  it('associationChange webhooks (legacy and object.* forms) add and remove associations within one cycle; unknown records are ignored', async () => {
    const ddl = [
      `CREATE TABLE {schema}.companies (id bigserial PRIMARY KEY, name text, domain text, phone text, city text, country text, industry text)`,
      CONTACTS_DDL,
      `ALTER TABLE {schema}.contacts ADD COLUMN company_id bigint REFERENCES {schema}.companies (id)`,
      `CREATE TABLE {schema}.company_contacts (company_id bigint NOT NULL REFERENCES {schema}.companies (id) ON DELETE CASCADE, contact_id bigint NOT NULL REFERENCES {schema}.contacts (id) ON DELETE CASCADE, PRIMARY KEY (company_id, contact_id))`,
    ];
    const { h } = await start(dbKind, {
      ddl,
      objects: [
        { type: 'contacts', table: 'contacts', associations: [{ to: 'companies', column: 'company_id' }], deletes: { fromHubSpot: 'Ignore', fromTarget: 'Ignore' } },
        { type: 'companies', table: 'companies', match: { property: 'domain', column: 'domain' }, associations: [{ to: 'contacts', table: 'company_contacts' }] },
      ],
      events: ['contact.associationChange', 'object.associationChange'],
    });
    const acme = await h.hs.create('companies', { name: 'Acme', domain: 'acme.com' });
    const globex = await h.hs.create('companies', { name: 'Globex', domain: 'globex.com' });
    const alice = await h.hs.create('contacts', { email: 'alice@acme.com', firstname: 'Alice' });
    const bob = await h.hs.create('contacts', { email: 'bob@globex.com', firstname: 'Bob' });
    await h.cycle('initial');
    const key = async (table: string, where: string, v: string) => String((await h.rows<{ id: unknown }>(`SELECT id FROM {schema}.${table} WHERE ${where} = $1`, [v]))[0]!.id);
    const aliceKey = await key('contacts', 'email', 'alice@acme.com');
    const acmeKey = await key('companies', 'domain', 'acme.com');
    const globexKey = await key('companies', 'domain', 'globex.com');
    const bobKey = await key('contacts', 'email', 'bob@globex.com');
    await h.cycle('incremental'); // the sweep's cursor settled; nothing in the inbox
    // Globex ↔ Bob was linked before (in the table and in HubSpot).
    await h.hs.call('POST', '/crm/v4/associations/companies/contacts/batch/associate/default', { inputs: [{ from: { id: globex.id }, to: { id: bob.id } }] });
    await h.cycle('incremental');
    expect(await h.rows(`SELECT company_id, contact_id FROM {schema}.company_contacts`)).toHaveLength(1);

    const processedBefore = (await inbox(h)).filter((e) => e.event === 'associationChange' && e.processed).length;
    // Association-only changes in HubSpot (no last-modified move; search lags an hour anyway).
    await h.hs.call('POST', '/crm/v4/associations/contacts/companies/batch/create', { inputs: [{ from: { id: alice.id }, to: { id: acme.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }] }] });
    await h.hs.call('POST', '/crm/v4/associations/companies/contacts/batch/archive', { inputs: [{ from: { id: globex.id }, to: [{ id: bob.id }] }] });
    // A record the integration never linked (created after the last poll; no creation event subscribed).
    const stranger = await h.hs.create('contacts', { email: 'stranger@acme.com' });
    await h.hs.call('POST', '/crm/v4/associations/contacts/companies/batch/associate/default', { inputs: [{ from: { id: stranger.id }, to: { id: acme.id } }] });
    await delivered(h);
    await waitFor(async () => (await inbox(h)).filter((e) => e.event === 'associationChange' && !e.processed).length >= 3 || undefined, { what: 'the associationChange events stored' });

    const report = await h.cycle('incremental');
    expect(report.completed).toBe(true);
    expect(String((await h.rows<{ company_id: unknown }>(`SELECT company_id FROM {schema}.contacts WHERE id = $1`, [aliceKey]))[0]!.company_id)).toBe(acmeKey);
    // The link table: Globex–Bob removed; Acme–Alice (the same HubSpot pair seen from the company) added.
    const pairs = (await h.rows<{ company_id: unknown; contact_id: unknown }>(`SELECT company_id, contact_id FROM {schema}.company_contacts`)).map((r) => `${String(r.company_id)}-${String(r.contact_id)}`);
    expect(pairs).toEqual([`${acmeKey}-${aliceKey}`]);
    expect(pairs).not.toContain(`${globexKey}-${bobKey}`);
    // Acme–stranger waits (the stranger is not linked): pending, never a dangling row.
    expect(report.objects.find((o) => o.type === 'companies')!.associations).toEqual({ linked: 1, pending: 1 });
    // Applied and acknowledged; the stranger stays out of the table, without an error.
    const after = await inbox(h);
    expect(after.filter((e) => e.event === 'associationChange').every((e) => e.processed)).toBe(true);
    expect(after.filter((e) => e.event === 'associationChange' && e.processed).length).toBeGreaterThan(processedBefore);
    expect((await contacts(h)).map((c) => c.email)).not.toContain('stranger@acme.com');
    expect(await h.rows(`SELECT hubspot_id FROM "${h.db.stateSchema}".record_errors`)).toEqual([]);
    const ops = (await audit(h)).map((a) => a.operation);
    expect(ops).toContain('associate');
    expect(ops).toContain('dissociate');
    expect(ops.filter((o) => o === 'delete')).toEqual([]);
  });

  it('a deletion webhook deletes the row within seconds under Propagate', async () => {
    const { h } = await start(dbKind, { deletes: { fromHubSpot: 'Propagate' } });
    const c = await h.hs.create('contacts', { email: 'del@example.com', firstname: 'Del' });
    await h.cycle('initial');
    expect(await contacts(h)).toHaveLength(1);
    await h.engine.waitForTargetChange(AbortSignal.timeout(100)).catch(() => undefined); // subscribe
    const abort = new AbortController();
    const woken = h.engine.waitForTargetChange(abort.signal);
    const t0 = Date.now();
    await h.hs.archive('contacts', c.id);
    await woken;
    await h.cycle('incremental');
    const elapsed = Date.now() - t0;
    expect(await contacts(h)).toEqual([]);
    expect(await links(h)).toEqual([]);
    expect(elapsed).toBeLessThan(5000);
  });

  it('a deletion webhook keeps the row under Ignore (unlinked: a tombstone)', async () => {
    const { h } = await start(dbKind, { deletes: { fromHubSpot: 'Ignore' } });
    const c = await h.hs.create('contacts', { email: 'keep@example.com', firstname: 'Keep' });
    await h.cycle('initial');
    await h.hs.archive('contacts', c.id);
    await waitFor(async () => (await inbox(h)).some((e) => e.event === 'deletion'), { what: 'the deletion stored' });
    await h.cycle('incremental');
    expect(await contacts(h)).toEqual([{ id: expect.any(String), email: 'keep@example.com', firstname: 'Keep', lastname: null }]);
    expect(await links(h)).toEqual([{ hubspot_id: c.id, target_key: expect.any(String), deleted_side: 'hubspot' }]);
    // Restored in HubSpot: the link is re-created and the row follows HubSpot again.
    h.sandbox.restore('contacts', Number(c.id));
    await h.hs.update('contacts', c.id, { firstname: 'Back' });
    await waitFor(async () => (await inbox(h)).some((e) => e.event === 'restore' && !e.processed), { what: 'the restore stored' });
    await waitFor(async () => (await inbox(h)).some((e) => e.event === 'propertyChange' && !e.processed), { what: 'the change stored' });
    await h.cycle('incremental');
    expect(await links(h)).toEqual([{ hubspot_id: c.id, target_key: expect.any(String), deleted_side: null }]);
    expect((await contacts(h))[0]).toMatchObject({ email: 'keep@example.com', firstname: 'Back' });
    expect((await audit(h)).some((e) => e.operation === 'restore' && e.hubspot_id === c.id)).toBe(true);
  });

  it('merge: one row, the primary record’s, linked to the merged record; the other row follows deletes.fromHubSpot; audited as merge', async () => {
    const { h } = await start(dbKind, { deletes: { fromHubSpot: 'Propagate' } });
    const a = await h.hs.create('contacts', { email: 'a@example.com', firstname: 'Ann' });
    const b = await h.hs.create('contacts', { email: 'b@example.com', lastname: 'Bee' });
    await h.cycle('initial');
    const before = await contacts(h);
    const rowOfA = before.find((r) => r.email === 'a@example.com')!.id;
    const merged = await h.hs.call<{ id: string }>('POST', '/crm/v3/objects/contacts/merge', { primaryObjectId: a.id, objectIdToMerge: b.id });
    await waitFor(async () => (await inbox(h)).some((e) => e.event === 'merge'), { what: 'the merge stored' });
    await h.cycle('incremental');
    expect(await contacts(h)).toEqual([{ id: rowOfA, email: 'a@example.com', firstname: 'Ann', lastname: 'Bee' }]);
    expect(await links(h)).toEqual([{ hubspot_id: merged.id, target_key: rowOfA, deleted_side: null }]);
    const merges = (await audit(h)).filter((e) => e.operation === 'merge');
    expect(merges.map((e) => e.hubspot_id).sort()).toEqual([merged.id, b.id].sort());
    // Nothing left to do: the merged record is in sync.
    const again = await h.cycle('incremental');
    expect(again.objects[0]!.lastCycle.toTarget).toEqual({ created: 0, updated: 0, deleted: 0 });
  });

  it('privacy deletion: the row is gone, the audit log and the inbox keep no personal value', async () => {
    const { h } = await start(dbKind);
    const c = await h.hs.create('contacts', { email: 'gdpr.person@example.com', firstname: 'Secretname' });
    await h.cycle('initial');
    expect(await contacts(h)).toHaveLength(1);
    await h.hs.call('POST', '/crm/v3/objects/contacts/gdpr-delete', { objectId: c.id });
    await waitFor(async () => (await inbox(h)).some((e) => e.event === 'privacyDeletion'), { what: 'the privacy deletion stored' });
    await h.cycle('incremental');
    expect(await contacts(h)).toEqual([]);
    expect(await links(h)).toEqual([]);
    const entries = await audit(h);
    expect(entries.some((e) => e.operation === 'privacyDeletion' && e.hubspot_id === c.id)).toBe(true);
    const dump = JSON.stringify([entries, await h.errors(), await inbox(h)]);
    expect(dump).not.toContain('gdpr.person');
    expect(dump).not.toContain('Secretname');
    expect((await inbox(h)).filter((e) => e.object_id === c.id)).toEqual([]);
  });

  it('events for an object type the integration does not sync are ignored', async () => {
    const { h, inbox: router } = await start(dbKind);
    await h.cycle('initial');
    // The receiver drops them (companies are not in spec.objects) …
    await h.hs.create('companies', { name: 'Not synced Inc', domain: 'notsynced.example' });
    // … and an event stored for a type the spec no longer syncs is acknowledged and skipped.
    await router.store(h.cfg.uid, [toInboxEvent({ eventId: 1, portalId: h.sandbox.portalId, occurredAt: Date.now(), subscriptionType: 'deal.creation', objectId: 5 }, 'deals', 'creation')]);
    await delivered(h);
    await h.cycle('incremental');
    expect(await inbox(h)).toEqual([{ event: 'creation', object_id: '5', processed: true }]);
    expect(await contacts(h)).toEqual([]);
    expect(await h.errors()).toEqual([]);
  });
});
