/**
 * The webhook receiver over real HTTP: every refusal (415, 413, 401, 400) stores nothing and is
 * counted by code; valid deliveries are routed by portal and object type; storage failures
 * answer 503. The inbox here records what it is given (the PostgreSQL inbox is tested in
 * test/integration/webhooks against the real database).
 */
import { Signature } from '@hubspot/api-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../operator/src/observability/metrics.js';
import { directoryFromCache, type DirectorySource } from '../../../operator/src/hubspot/webhooks/directory.js';
import type { InboxEvent, WebhookInbox } from '../../../operator/src/hubspot/webhooks/events.js';
import { WebhookReceiver } from '../../../operator/src/hubspot/webhooks/receiver.js';
import { checkTimestamp, signatureMatches, signV3 } from '../../../operator/src/hubspot/webhooks/signature.js';
import { WebhookStats } from '../../../operator/src/hubspot/webhooks/stats.js';

const SECRET = 'app-secret-1';
const OTHER_SECRET = 'app-secret-2';
const PORTAL = 1234567;

function integration(name: string, opts: { portalId?: number; statusPortal?: number; secret?: string; types?: string[]; noWebhooks?: boolean }) {
  return {
    metadata: { namespace: 'crm', name, uid: `uid-${name}` },
    spec: {
      hubspot: {
        auth: { privateAppToken: { secretRef: { name: 'tok' } } },
        ...(opts.portalId ? { portalId: opts.portalId } : {}),
        ...(opts.noWebhooks ? {} : { webhooks: { clientSecretRef: { name: `${name}-app`, key: 'clientSecret' } } }),
      },
      target: { postgres: { connectionSecretRef: { name: 'db' } } },
      objects: (opts.types ?? ['contacts']).map((type) => ({ type, table: type.replace(/-/g, '_') })),
    },
    ...(opts.statusPortal ? { status: { portalId: opts.statusPortal } } : {}),
  };
}

const integrations = [
  integration('a', { portalId: PORTAL, secret: SECRET, types: ['contacts', 'companies'] }),
  integration('b', { statusPortal: PORTAL, secret: SECRET, types: ['contacts', '2-999'] }),
  integration('c', { portalId: 7654321, secret: OTHER_SECRET, types: ['contacts'] }),
  integration('d', { portalId: PORTAL, noWebhooks: true }),
];
const secrets: Record<string, string> = { 'a-app': SECRET, 'b-app': SECRET, 'c-app': OTHER_SECRET };
const source: DirectorySource = {
  integrations: () => integrations as never,
  secret: (ns, name) => (ns === 'crm' && secrets[name] ? { data: { clientSecret: Buffer.from(secrets[name]!).toString('base64') } } : undefined),
};

let stored: { key: string; events: InboxEvent[] }[] = [];
let inboxBehaviour: 'ok' | 'fail' | 'hang' = 'ok';
const inbox: WebhookInbox = {
  store: async (key, events) => {
    if (inboxBehaviour === 'fail') throw new Error('connection refused');
    if (inboxBehaviour === 'hang') return new Promise(() => undefined);
    stored.push({ key, events });
  },
};
const metrics = createMetrics({ defaultMetrics: false });
const stats = new WebhookStats();
const receiver = new WebhookReceiver({ directory: directoryFromCache(source), inbox, metrics, stats, storeTimeoutMs: 300, maxBodyBytes: 64 * 1024 });
let url = '';

beforeAll(async () => {
  url = (await receiver.listen(0, '127.0.0.1')).replace('0.0.0.0', '127.0.0.1');
});
afterAll(() => receiver.close());
beforeEach(() => {
  stored = [];
  inboxBehaviour = 'ok';
});

let nextEventId = 1;
function event(over: Record<string, unknown> = {}) {
  return { eventId: nextEventId++, subscriptionId: 1, portalId: PORTAL, appId: 1000, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 51, propertyName: 'email', propertyValue: 'ada@example.com', changeSource: 'CRM_UI', ...over };
}

async function post(body: string, o: { secret?: string; timestamp?: number; contentType?: string; signedUrl?: string; headers?: Record<string, string>; signature?: string } = {}) {
  const timestamp = o.timestamp ?? Date.now();
  const signature = o.signature ?? signV3(o.secret ?? SECRET, 'POST', o.signedUrl ?? url, body, timestamp);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': o.contentType ?? 'application/json',
      'x-hubspot-signature-v3': signature,
      'x-hubspot-signature-version': 'v3',
      'x-hubspot-request-timestamp': String(timestamp),
      ...o.headers,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function requests(code: string): Promise<number> {
  const v = (await metrics.webhookRequests.get()).values.find((x) => x.labels.code === code);
  return v?.value ?? 0;
}
async function ignoredCount(reason: string): Promise<number> {
  return (await metrics.webhookEventsIgnored.get()).values.find((x) => x.labels.reason === reason)?.value ?? 0;
}

describe('signature', () => {
  it('agrees with the SDK (Signature.isValid v3) on the same request', () => {
    const body = JSON.stringify([event()]);
    const ts = Date.now();
    const sig = signV3(SECRET, 'POST', 'https://hooks.example.com/webhooks/hubspot', body, ts);
    expect(Signature.isValid({ signatureVersion: 'v3', signature: sig, method: 'POST', clientSecret: SECRET, requestBody: body, url: 'https://hooks.example.com/webhooks/hubspot', timestamp: ts })).toBe(true);
    expect(Signature.isValid({ signatureVersion: 'v3', signature: signV3(OTHER_SECRET, 'POST', 'https://hooks.example.com/webhooks/hubspot', body, ts), method: 'POST', clientSecret: SECRET, requestBody: body, url: 'https://hooks.example.com/webhooks/hubspot', timestamp: ts })).toBe(false);
  });

  it('decodes the characters HubSpot decodes before signing', () => {
    expect(signV3(SECRET, 'POST', 'https://h.example.com/webhooks/hubspot?x=a%3Ab', '[]', 1)).toBe(signV3(SECRET, 'POST', 'https://h.example.com/webhooks/hubspot?x=a:b', '[]', 1));
  });

  it('compares in constant time and rejects different lengths', () => {
    expect(signatureMatches('abc', 'abc')).toBe(true);
    expect(signatureMatches('abc', 'abd')).toBe(false);
    expect(signatureMatches('abc', 'abcd')).toBe(false);
  });

  it('accepts timestamps within 5 minutes either way', () => {
    const now = 1_700_000_000_000;
    expect(checkTimestamp(String(now - 299_000), now)).toBeUndefined();
    expect(checkTimestamp(String(now + 299_000), now)).toBeUndefined();
    expect(checkTimestamp(String(now - 301_000), now)).toBe('stale');
    expect(checkTimestamp(String(now + 301_000), now)).toBe('stale');
    expect(checkTimestamp('yesterday', now)).toBe('missing');
    expect(checkTimestamp(undefined, now)).toBe('missing');
  });
});

describe('receiver', () => {
  it('stores a valid delivery for every integration of the portal that syncs the type, without personal values', async () => {
    const before = await requests('200');
    const body = JSON.stringify([
      event({ eventId: 9001, occurredAt: 2000 + Date.now() }),
      event({ eventId: 9002, subscriptionType: 'company.creation', objectId: 7, propertyName: undefined, propertyValue: undefined, occurredAt: Date.now() }),
      event({ eventId: 9003, subscriptionType: 'object.deletion', objectTypeId: '2-999', objectId: 8 }),
    ]);
    const r = await post(body);
    expect(r).toEqual({ status: 200, body: { received: 3, stored: 4, ignored: { unknown_portal: 0, unsynced_type: 0, unsupported_event: 0 } } });
    const byKey = Object.fromEntries(stored.map((s) => [s.key, s.events]));
    // a: contacts + companies (ordered by occurredAt); b: contacts + the custom object 2-999; c (other portal) and d (no webhooks) nothing.
    expect(byKey['uid-a']!.map((e) => [e.eventId, e.objectType, e.kind])).toEqual([['9002', 'companies', 'creation'], ['9001', 'contacts', 'propertyChange']]);
    expect(byKey['uid-b']!.map((e) => [e.eventId, e.objectType, e.kind])).toEqual([['9003', '2-999', 'deletion'], ['9001', 'contacts', 'propertyChange']]);
    expect(Object.keys(byKey).sort()).toEqual(['uid-a', 'uid-b']);
    const change = byKey['uid-a']!.find((e) => e.eventId === '9001')!;
    expect(change).toMatchObject({ portalId: PORTAL, objectId: '51', propertyName: 'email', changeSource: 'CRM_UI' });
    expect(JSON.stringify(stored)).not.toContain('ada@example.com');
    expect(await requests('200')).toBe(before + 1);
    const events = (await metrics.webhookEvents.get()).values.find((v) => v.labels.integration === 'a' && v.labels.object_type === 'companies' && v.labels.event === 'creation');
    expect(events?.value).toBe(1);
    expect(stats.snapshot('crm', 'a')).toMatchObject({ eventsLast24h: 2 });
  });

  it('refuses a forged signature, a wrong secret, a stale or missing timestamp with 401 and stores nothing', async () => {
    const body = JSON.stringify([event()]);
    const before = await requests('401');
    const rejectedBefore = stats.snapshot('crm', 'a').rejectedLast24h;
    expect((await post(body, { signature: 'Zm9yZ2Vk' })).status).toBe(401);
    expect((await post(body, { secret: 'not-the-secret' })).status).toBe(401);
    expect((await post(body, { timestamp: Date.now() - 6 * 60 * 1000 })).status).toBe(401);
    expect((await post(body, { headers: { 'x-hubspot-request-timestamp': '' } })).status).toBe(401);
    // Signed for another URL (or a tampered body): no match.
    expect((await post(body, { signedUrl: 'https://elsewhere.example.com/webhooks/hubspot' })).status).toBe(401);
    const tampered = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signV3(SECRET, 'POST', url, body, Date.now()), 'x-hubspot-request-timestamp': String(Date.now()) },
      body: body.replace('51', '52'),
    });
    expect(tampered.status).toBe(401);
    expect(stored).toEqual([]);
    expect(await requests('401')).toBe(before + 6);
    // Attributed to the integrations of the portal the body names (status.webhooks.rejectedLast24h).
    expect(stats.snapshot('crm', 'a').rejectedLast24h).toBe(rejectedBefore + 6);
  });

  it('routes only to integrations whose own client secret signed the delivery', async () => {
    // Signed with c's secret but naming a's portal: c's app cannot inject events into a.
    const r = await post(JSON.stringify([event()]), { secret: OTHER_SECRET });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ stored: 0, ignored: { unknown_portal: 1 } });
    expect(stored).toEqual([]);
  });

  it('answers 415 to another content type, 413 to an oversized body, 400 to malformed JSON; nothing stored', async () => {
    const body = JSON.stringify([event()]);
    const [b415, b413, b400] = [await requests('415'), await requests('413'), await requests('400')];
    expect((await post(body, { contentType: 'text/plain' })).status).toBe(415);
    const big = JSON.stringify(Array.from({ length: 600 }, () => event()));
    expect(big.length).toBeGreaterThan(64 * 1024);
    expect((await post(big)).status).toBe(413);
    const r400 = await post('[{"eventId": 1, "propertyValue": "secret@example.com",', {});
    expect(r400).toEqual({ status: 400, body: { error: 'the body is not valid JSON' } });
    const notArray = await post(JSON.stringify({ eventId: 1 }));
    expect(notArray).toMatchObject({ status: 400, body: { error: 'the body must be a JSON array of events' } });
    const badField = await post(JSON.stringify([event({ portalId: 'x' })]));
    expect(badField).toMatchObject({ status: 400, body: { error: '[0].portalId: expected an integer' } });
    expect(stored).toEqual([]);
    expect([await requests('415'), await requests('413'), await requests('400')]).toEqual([b415 + 1, b413 + 1, b400 + 3]);
  });

  it('refuses a streamed body over the limit without a content-length', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(stored).toEqual([]);
  });

  it('ignores and counts unknown portals, types no integration syncs and unknown events', async () => {
    const [p, t, u] = [await ignoredCount('unknown_portal'), await ignoredCount('unsynced_type'), await ignoredCount('unsupported_event')];
    const r = await post(JSON.stringify([
      event({ portalId: 999 }),
      event({ subscriptionType: 'deal.creation' }),
      event({ subscriptionType: 'object.creation', objectTypeId: '0-5' }),
      event({ subscriptionType: 'contact.somethingNew' }),
    ]));
    expect(r).toEqual({ status: 200, body: { received: 4, stored: 0, ignored: { unknown_portal: 1, unsynced_type: 2, unsupported_event: 1 } } });
    expect(stored).toEqual([]);
    expect([await ignoredCount('unknown_portal'), await ignoredCount('unsynced_type'), await ignoredCount('unsupported_event')]).toEqual([p + 1, t + 2, u + 1]);
  });

  it('answers 503 when storing fails or takes too long, so HubSpot delivers again', async () => {
    inboxBehaviour = 'fail';
    expect((await post(JSON.stringify([event()]))).status).toBe(503);
    inboxBehaviour = 'hang';
    const started = Date.now();
    const r = await post(JSON.stringify([event()]));
    expect(r.status).toBe(503);
    expect(String(r.body.error)).toMatch(/longer than 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('verifies against the URL from X-Forwarded-Proto/Host (an Ingress in front)', async () => {
    const publicUrl = 'https://hooks.example.com/webhooks/hubspot';
    const r = await post(JSON.stringify([event()]), { signedUrl: publicUrl, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hooks.example.com' } });
    expect(r.status).toBe(200);
    expect(stored.length).toBe(2);
  });

  it('also verifies against X-Forwarded-Proto with the Host header as received (a proxy that keeps Host)', async () => {
    const host = new URL(url).host;
    const r = await post(JSON.stringify([event()]), { signedUrl: `https://${host}/webhooks/hubspot`, headers: { 'x-forwarded-proto': 'https' } });
    expect(r.status).toBe(200);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    expect((await fetch(url.replace('/webhooks/hubspot', '/metrics'))).status).toBe(404);
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('reports the integrations with webhooks configured as a gauge', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toContain('hubspot_operator_webhooks_configured{namespace="crm",integration="a"} 1');
    expect(text).toContain('hubspot_operator_webhooks_configured{namespace="crm",integration="c"} 1');
    expect(text).not.toContain('integration="d"} 1');
    expect(text).not.toContain(SECRET);
  });
});

describe('receiver without trusting forwarded headers', () => {
  it('checks only the URL as received', async () => {
    const rx = new WebhookReceiver({ directory: directoryFromCache(source), inbox, trustForwardedHeaders: false });
    const u = (await rx.listen(0, '127.0.0.1')).replace('0.0.0.0', '127.0.0.1');
    try {
      const body = JSON.stringify([event()]);
      const ts = Date.now();
      const send = (signedFor: string) =>
        fetch(u, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hooks.example.com', 'x-hubspot-signature-v3': signV3(SECRET, 'POST', signedFor, body, ts), 'x-hubspot-request-timestamp': String(ts) }, body }).then((r) => r.status);
      expect(await send('https://hooks.example.com/webhooks/hubspot')).toBe(401);
      expect(await send(u)).toBe(200);
    } finally {
      await rx.close();
    }
  });
});

describe('receiver with --webhook-public-url', () => {
  it('verifies against the configured URL whatever the Host header says', async () => {
    const publicUrl = 'https://hooks.example.com/hubspot-in';
    const rx = new WebhookReceiver({ directory: directoryFromCache(source), inbox, publicUrl });
    const u = (await rx.listen(0, '127.0.0.1')).replace('0.0.0.0', '127.0.0.1');
    try {
      const body = JSON.stringify([event()]);
      const ts = Date.now();
      const res = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'x-hubspot-signature-v3': signV3(SECRET, 'POST', publicUrl, body, ts), 'x-hubspot-request-timestamp': String(ts) }, body });
      expect(res.status).toBe(200);
      const wrong = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': signV3(SECRET, 'POST', u, body, ts), 'x-hubspot-request-timestamp': String(ts) }, body });
      expect(wrong.status).toBe(401);
    } finally {
      await rx.close();
    }
  });
});
