/**
 * The receiver end to end with its inbox behind the target connector, on the real PostgreSQL:
 * the HubSpot sandbox's real signed deliveries are verified and stored, a redelivered batch is
 * stored once, refused deliveries store nothing, and the inbox keeps no personal values. The
 * inbox's state methods (store with duplicates dropped, pending in occurredAt order, ack,
 * forget, stats) on PostgreSQL and MariaDB alike.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Signature } from '@hubspot/api-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { directoryFromCache } from '../../../operator/src/hubspot/webhooks/directory.js';
import { toInboxEvent } from '../../../operator/src/hubspot/webhooks/events.js';
import { createConnectorInboxRouter, type ConnectorInboxRouter } from '../../../operator/src/hubspot/webhooks/connector-inbox.js';
import { openConnector, targetSettings, type Connector, type WebhookEventRow } from '../../../operator/src/target/index.js';
import { WebhookReceiver } from '../../../operator/src/hubspot/webhooks/receiver.js';
import { signV3 } from '../../../operator/src/hubspot/webhooks/signature.js';
import { createMetrics } from '../../../operator/src/observability/metrics.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../operator/src/sandbox/hubspot/index.js';
import { openTestDb, type PgTestDb, type TestDb } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';

const CLIENT_SECRET = 'sandbox-app-secret';

let db: PgTestDb;
let inbox: ConnectorInboxRouter;
let sandbox: HubSpotSandbox;
let hubspot: Client;
let receiver: WebhookReceiver;
let server: Server;
let url = '';
const metrics = createMetrics({ defaultMetrics: false });
const seen: { headers: IncomingHttpHeaders; body: string }[] = [];

const integration = (portalId: number) => ({
  metadata: { namespace: 'crm', name: 'acme', uid: 'uid-acme' },
  spec: {
    hubspot: { auth: { privateAppToken: { secretRef: { name: 'tok' } } }, portalId, webhooks: { clientSecretRef: { name: 'acme-app', key: 'clientSecret' } } },
    target: { postgres: { connectionSecretRef: { name: 'db' } } },
    objects: [{ type: 'contacts', table: 'contacts' }],
  },
});

async function rows(): Promise<Record<string, unknown>[]> {
  return (await db.db.query(`SELECT * FROM "${db.stateSchema}".webhook_inbox ORDER BY occurred_at, id`)).rows;
}

beforeAll(async () => {
  db = await openTestDb('postgres');
  inbox = createConnectorInboxRouter((key) => ({ uid: key, namespace: 'crm', name: key, target: { postgres: { connectionSecretRef: { name: 'db' }, schema: db.schema, stateSchema: db.stateSchema } }, databaseUrl: db.url }));
  sandbox = await startHubSpotSandbox();
  hubspot = new Client({ accessToken: sandbox.token, basePath: sandbox.url });
  receiver = new WebhookReceiver({
    directory: directoryFromCache({
      integrations: () => [integration(sandbox.portalId)] as never,
      secret: (ns, name) => (ns === 'crm' && name === 'acme-app' ? { stringData: { clientSecret: CLIENT_SECRET } } : undefined),
    }),
    inbox,
    metrics,
  });
  // The receiver's own handler, with a tap that keeps each raw request for the replay test.
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
    receiver.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/hubspot`;
});

afterAll(async () => {
  await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  await sandbox?.close();
  await inbox?.close();
  await db?.cleanup();
});

beforeEach(async () => {
  sandbox.reset();
  seen.length = 0;
  await inbox.stats('uid-acme'); // prepares the state store
  await db.db.query(`DELETE FROM "${db.stateSchema}".webhook_inbox`);
});

describe('webhook receiver with the connector inbox (PostgreSQL)', () => {
  it(`stores the HubSpot sandbox's signed deliveries, in occurredAt order, without property values`, async () => {
    sandbox.subscribeWebhook({ targetUrl: url, clientSecret: CLIENT_SECRET, events: ['contact.creation', 'contact.propertyChange', 'contact.deletion', 'company.creation'], batchDelayMs: 20 });
    const c = await hubspot.crm.contacts.basicApi.create({ properties: { email: 'grace@example.com' }, associations: [] });
    await hubspot.crm.contacts.basicApi.update(c.id, { properties: { firstname: 'Grace' } });
    await hubspot.crm.contacts.basicApi.archive(c.id);
    await hubspot.crm.companies.basicApi.create({ properties: { name: 'Not synced Inc' }, associations: [] });

    const stored = await waitFor(async () => ((await rows()).length >= 3 ? rows() : undefined), { what: 'three stored events' });
    await waitFor(() => (sandbox.webhooks.list()[0] as { pending: number }).pending === 0 && seen.length > 0, { what: 'deliveries done' });
    expect(stored.map((r) => [r.subscription_type, r.event, r.object_type, r.object_id, r.property_name])).toEqual([
      ['contact.creation', 'creation', 'contacts', c.id, null],
      ['contact.propertyChange', 'propertyChange', 'contacts', c.id, 'firstname'],
      ['contact.deletion', 'deletion', 'contacts', c.id, null],
    ]);
    expect(stored.every((r) => r.integration_uid === 'uid-acme' && Number(r.portal_id) === sandbox.portalId)).toBe(true);
    // The values stay in HubSpot: the consumer re-reads the records.
    expect(JSON.stringify(stored)).not.toContain('Grace');
    expect(JSON.stringify(stored)).not.toContain('grace@example.com');
    // Every delivery the sandbox made verifies with the SDK too.
    for (const d of seen) {
      expect(Signature.isValid({ signatureVersion: 'v3', signature: String(d.headers['x-hubspot-signature-v3']), method: 'POST', clientSecret: CLIENT_SECRET, requestBody: d.body, url, timestamp: Number(d.headers['x-hubspot-request-timestamp']) })).toBe(true);
    }
    const sub = sandbox.webhooks.list()[0] as { failedAttempts: number; droppedEvents: number };
    expect(sub).toMatchObject({ failedAttempts: 0, droppedEvents: 0 });
    const ignored = (await metrics.webhookEventsIgnored.get()).values.find((v) => v.labels.reason === 'unsynced_type');
    expect(ignored?.value).toBeGreaterThanOrEqual(1); // the company
    expect(await inbox.stats('uid-acme')).toMatchObject({ eventsLast24h: 3 });
  });

  it('stores a redelivered batch once', async () => {
    sandbox.subscribeWebhook({ targetUrl: url, clientSecret: CLIENT_SECRET, events: ['contact.creation'], batchDelayMs: 20 });
    await hubspot.crm.contacts.batchApi.create({ inputs: Array.from({ length: 30 }, (_, i) => ({ properties: { email: `r${i}@example.com` }, associations: [] })) });
    await waitFor(async () => (await rows()).length === 30, { what: '30 stored events' });
    await waitFor(() => seen.length > 0 && (sandbox.webhooks.list()[0] as { pending: number }).pending === 0, { what: 'delivery done' });
    // HubSpot redelivers the same batch (a retry after a lost answer): same body and signature.
    const delivered = [...seen];
    for (const d of delivered) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hubspot-signature-v3': String(d.headers['x-hubspot-signature-v3']),
          'x-hubspot-request-timestamp': String(d.headers['x-hubspot-request-timestamp']),
        },
        body: d.body,
      });
      expect(res.status).toBe(200);
    }
    // A retry with a new attemptNumber, freshly signed, is a duplicate too.
    const retried = JSON.stringify((JSON.parse(delivered[0]!.body) as Record<string, unknown>[]).map((e) => ({ ...e, attemptNumber: 1 })));
    const ts = Date.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signV3(CLIENT_SECRET, 'POST', url, retried, ts), 'x-hubspot-request-timestamp': String(ts) }, body: retried });
    expect(res.status).toBe(200);
    expect((await rows()).length).toBe(30);
  });

  it('stores nothing for refused deliveries', async () => {
    const body = JSON.stringify([{ eventId: 1, subscriptionId: 1, portalId: sandbox.portalId, occurredAt: Date.now(), subscriptionType: 'contact.creation', objectId: 5 }]);
    const ts = Date.now();
    const send = (headers: Record<string, string>, b = body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b }).then((r) => r.status);
    expect(await send({ 'x-hubspot-signature-v3': signV3('wrong-secret', 'POST', url, body, ts), 'x-hubspot-request-timestamp': String(ts) })).toBe(401);
    expect(await send({ 'x-hubspot-signature-v3': 'forged', 'x-hubspot-request-timestamp': String(ts) })).toBe(401);
    const old = ts - 10 * 60 * 1000;
    expect(await send({ 'x-hubspot-signature-v3': signV3(CLIENT_SECRET, 'POST', url, body, old), 'x-hubspot-request-timestamp': String(old) })).toBe(401);
    const malformed = '[{"eventId":';
    expect(await send({ 'x-hubspot-signature-v3': signV3(CLIENT_SECRET, 'POST', url, malformed, ts), 'x-hubspot-request-timestamp': String(ts) }, malformed)).toBe(400);
    const unknownPortal = body.replace(String(sandbox.portalId), '42');
    expect(await send({ 'x-hubspot-signature-v3': signV3(CLIENT_SECRET, 'POST', url, unknownPortal, ts), 'x-hubspot-request-timestamp': String(ts) }, unknownPortal)).toBe(200);
    expect(await rows()).toEqual([]);
  });
});

describe.each(['postgres', 'mysql'] as const)('webhook inbox state methods (%s)', (kind) => {
  const ev = (eventId: number, occurredAt: number, over: Record<string, unknown> = {}): WebhookEventRow =>
    toInboxEvent({ eventId, subscriptionId: 3, portalId: 77, occurredAt, subscriptionType: 'contact.propertyChange', objectId: 9, propertyName: 'email', propertyValue: 'x@example.com', ...over }, 'contacts', 'propertyChange');
  let tdb: TestDb;
  const connectors: Connector[] = [];
  const connector = async (uid: string): Promise<Connector> => {
    const c = await openConnector(tdb.url, {
      uid,
      namespace: 'crm',
      name: uid,
      settings: targetSettings(kind === 'mysql' ? { mysql: { database: tdb.schema, stateDatabase: tdb.stateSchema } } : { postgres: { schema: tdb.schema, stateSchema: tdb.stateSchema } }),
    });
    connectors.push(c);
    await c.prepareState();
    return c;
  };
  const store = async (c: Connector, events: WebhookEventRow[]) => c.transaction((tx) => tx.state.storeWebhookEvents(events));

  beforeAll(async () => {
    tdb = await openTestDb(kind);
  });
  afterAll(async () => {
    for (const c of connectors) await c.close();
    await tdb?.cleanup();
  });

  it('drops duplicates by event, keeps the integrations apart, reads in occurredAt order, acks and forgets', async () => {
    const i1 = await connector('i1');
    const i2 = await connector('i2');
    expect(await store(i1, [ev(1, 3000), ev(2, 1000), ev(3, 2000)])).toBe(3);
    expect(await store(i1, [ev(2, 1000, { attemptNumber: 4 }), ev(4, 500)])).toBe(1);
    // The same event for another integration is stored for it too.
    expect(await store(i2, [ev(1, 3000)])).toBe(1);
    // A reused eventId for another property of the object is a different event.
    expect(await store(i1, [ev(1, 3000, { propertyName: 'firstname' })])).toBe(1);
    const pending = await i1.state.pendingWebhookEvents();
    expect(pending.map((p) => [p.eventId, p.propertyName])).toEqual([['4', 'email'], ['2', 'email'], ['3', 'email'], ['1', 'email'], ['1', 'firstname']]);
    expect(pending[0]!.payload).toMatchObject({ eventId: 4, portalId: 77, objectId: 9 });
    expect(pending[0]!.payload).not.toHaveProperty('propertyValue');
    expect(pending[0]!.occurredAt.getTime()).toBe(500);
    expect(await i1.state.webhookStats()).toEqual({ lastEventTime: new Date(3000).toISOString(), eventsLast24h: 5 });
    await i1.transaction((tx) => tx.state.ackWebhookEvents(pending.slice(0, 2).map((p) => p.id)));
    expect((await i1.state.pendingWebhookEvents()).map((p) => p.eventId)).toEqual(['3', '1', '1']);
    // Acked events are kept for the 24-hour counts; pruning drops only old acked ones.
    expect(await i1.transaction((tx) => tx.state.pruneWebhookEvents(60_000))).toBe(0);
    expect(await i1.transaction((tx) => tx.state.pruneWebhookEvents(0))).toBe(2);
    await i1.transaction((tx) => tx.state.forgetWebhookEvents('contacts', ['9']));
    expect(await i1.state.pendingWebhookEvents()).toEqual([]);
    expect((await i2.state.pendingWebhookEvents()).length).toBe(1);
  });

  it('stores concurrently from two replicas without duplicates', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => ev(100 + i, 1000 + i));
    const a = await connector('i3');
    const b = await connector('i3');
    const [na, nb] = await Promise.all([store(a, batch), store(b, batch)]);
    expect(na + nb).toBe(50);
    expect((await a.state.pendingWebhookEvents()).length).toBe(50);
  });
});

describe('connector inbox router', () => {
  const ev = (eventId: number, occurredAt: number) =>
    toInboxEvent({ eventId, subscriptionId: 3, portalId: 77, occurredAt, subscriptionType: 'contact.creation', objectId: 9 }, 'contacts', 'creation');

  it('routes each integration to its own database and state store (the run wiring), MySQL included', async () => {
    const my = await openTestDb('mysql');
    const router = createConnectorInboxRouter((key) =>
      key === 'uid-pg'
        ? { uid: key, namespace: 'crm', name: 'pg', target: { postgres: { connectionSecretRef: { name: 'db' }, schema: db.schema, stateSchema: db.stateSchema } }, databaseUrl: db.url }
        : key === 'uid-my'
          ? { uid: key, namespace: 'crm', name: 'my', target: { mysql: { connectionSecretRef: { name: 'db' }, database: my.schema, stateDatabase: my.stateSchema } }, databaseUrl: my.url }
          : undefined,
    );
    try {
      await router.store('uid-pg', [ev(500, 1)]);
      await router.store('uid-my', [ev(501, 2), ev(501, 2)]);
      await expect(router.store('uid-unknown', [ev(502, 1)])).rejects.toThrow(/no resolvable target database/);
      expect((await db.db.query(`SELECT event_id FROM "${db.stateSchema}".webhook_inbox WHERE integration_uid = 'uid-pg'`)).rows).toEqual([{ event_id: '500' }]);
      expect((await my.db.query(`SELECT event_id FROM "${my.stateSchema}".webhook_inbox WHERE integration_uid = 'uid-my'`)).rows).toEqual([{ event_id: '501' }]);
      expect(await router.stats('uid-my')).toEqual({ lastEventTime: new Date(2).toISOString(), eventsLast24h: 1 });
    } finally {
      await router.close();
      await my.cleanup();
    }
  });
});
