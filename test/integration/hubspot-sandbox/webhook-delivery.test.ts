import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandbox.close();
});
beforeEach(() => h.sandbox.reset());

interface Rx { url: string; batches: Record<string, any>[][]; bodies: string[]; close(): Promise<void> }

async function receiver(): Promise<Rx> {
  const rx: Rx = { url: '', batches: [], bodies: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      rx.bodies.push(body);
      rx.batches.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  rx.close = () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  return rx;
}

const sub = async () => (await h.http('GET', '/__sandbox/webhooks')).body.results[0];
const createContacts = (n: number, tag: string) =>
  h.client.crm.contacts.batchApi.create({ inputs: Array.from({ length: n }, (_, i) => ({ properties: { email: `${tag}${i}@example.com` }, associations: [] })) });

describe('webhook delivery switches (admin API)', () => {
  it('duplicates: every batch is delivered 1 + N times, byte for byte', async () => {
    const rx = await receiver();
    try {
      const res = await h.http('POST', '/__sandbox/webhooks', { targetUrl: rx.url, clientSecret: 's', events: ['contact.creation'], batchDelayMs: 5, duplicates: 2 });
      expect(res.status).toBe(201);
      await createContacts(1, 'dup');
      await waitFor(async () => (await sub()).deliveredBatches === 3, { what: 'three delivered requests' });
      expect(rx.bodies).toHaveLength(3);
      expect(new Set(rx.bodies.map((b) => JSON.stringify(JSON.parse(b).map((e: any) => e.eventId))))).toHaveProperty('size', 1);
      expect(await sub()).toMatchObject({ raisedEvents: 1, requests: 3, duplicateRequests: 2, deliveredBatches: 3, deliveredEvents: 3, failedAttempts: 0, pending: 0, duplicates: 2 });
    } finally {
      await rx.close();
    }
  });

  it('batching: maxBatchSize and batchDelayMs shape the requests', async () => {
    const rx = await receiver();
    try {
      h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.creation'], maxBatchSize: 5, batchDelayMs: 20 });
      await createContacts(12, 'b');
      await waitFor(() => rx.batches.flat().length === 12, { what: '12 events' });
      expect(rx.batches.map((b) => b.length).sort()).toEqual([2, 5, 5]);
    } finally {
      await rx.close();
    }
  });

  it('shuffle: events come out of order within and between batches, the same way for the same seed', async () => {
    const positions: number[][][] = [];
    for (let run = 0; run < 2; run++) {
      h.sandbox.reset();
      const rx = await receiver();
      try {
        h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.creation'], maxBatchSize: 10, batchDelayMs: 30, shuffle: true, seed: 7 });
        const created = await createContacts(30, `s${run}`);
        const order = new Map(created.results.map((r, i) => [Number(r.id), i]));
        await waitFor(() => rx.batches.flat().length === 30, { what: '30 shuffled events' });
        // batches may arrive in any order (they are sent concurrently): compare them as a set
        positions.push(rx.batches.map((b) => b.map((e) => order.get(e.objectId)!)).sort((a, b) => a[0]! - b[0]!));
      } finally {
        await rx.close();
      }
    }
    const [first, second] = positions;
    expect(first!.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i)); // nothing lost or added
    expect(first).toEqual(second); // reproducible with the seed
    const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x);
    expect(first!.every(ascending)).toBe(false); // out of order inside a batch
    expect(first!.every((b) => Math.max(...b) - Math.min(...b) === 9)).toBe(false); // batches mix events of different stretches
  });

  it('failRate: a delivered attempt counted as failed is delivered again with the next attemptNumber, until maxAttempts', async () => {
    const rx = await receiver();
    try {
      const { id } = h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.creation'], batchDelayMs: 5, failRate: 1, maxAttempts: 3, retryDelayMs: 5 });
      const c = await createContacts(1, 'f');
      await waitFor(async () => (await sub()).droppedEvents === 1, { what: 'the event dropped after 3 attempts' });
      expect(rx.batches.map((b) => [b[0].objectId, b[0].attemptNumber])).toEqual([0, 1, 2].map((n) => [Number(c.results[0]!.id), n]));
      expect(await sub()).toMatchObject({ requests: 3, failedAttempts: 3, injectedFailures: 3, retries: 2, deliveredBatches: 0 });

      const patched = await h.http('PATCH', `/__sandbox/webhooks/${id}`, { failRate: 0 });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ failRate: 0, maxAttempts: 3 });
      await createContacts(1, 'g');
      await waitFor(async () => (await sub()).deliveredBatches === 1, { what: 'a clean delivery' });
      expect(rx.batches).toHaveLength(4);
    } finally {
      await rx.close();
    }
  });

  it('rejects bad delivery settings naming each field', async () => {
    const rx = await receiver();
    try {
      const bad = await h.http('POST', '/__sandbox/webhooks', { targetUrl: rx.url, clientSecret: 's', events: ['contact.merge', 'company.privacyDeletion'], duplicates: -1, failRate: 2, shuffle: 'yes' });
      expect(bad.status).toBe(400);
      for (const part of ['duplicates must be an integer from 0 to 10', 'failRate must be a number from 0 to 1', 'shuffle must be a boolean', 'company.privacyDeletion']) expect(bad.body.message).toContain(part);
      expect(bad.body.message).not.toContain('"contact.merge"');
      const { id } = h.sandbox.subscribeWebhook({ targetUrl: rx.url, clientSecret: 's', events: ['contact.creation'] });
      const unknown = await h.http('PATCH', `/__sandbox/webhooks/${id}`, { maxBatchSize: 0, retries: 3 });
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toContain('maxBatchSize must be an integer from 1 to 100');
      expect(unknown.body.message).toContain('unknown delivery settings: retries');
      expect((await h.http('PATCH', '/__sandbox/webhooks/999', { duplicates: 1 })).status).toBe(404);
    } finally {
      await rx.close();
    }
  });
});
