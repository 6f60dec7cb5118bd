/**
 * The HubSpot transport's HTTP (operator/src/hubspot/http.ts) against a local node:http server:
 * what the transport relies on of it — status, headers, body text (decompressed), a string body
 * with its length, aborts before and during the response, and network errors carrying node's code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from '../../../operator/src/hubspot/http.js';
import { networkErrorCode } from '../../../operator/src/hubspot/retry.js';

let server: Server;
let base: string;
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = () => {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('httpFetch', () => {
  it('sends method, headers and a string body with its length; returns status, headers and text', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handler = (req, res, body) => {
      seen = { method: req.method, headers: req.headers, body };
      res.writeHead(207, { 'content-type': 'application/json', 'x-hubspot-ratelimit-remaining': '99' });
      res.end('{"ok":"ünïcode"}');
    };
    const body = JSON.stringify({ name: 'ç' });
    const res = await httpFetch(`${base}/crm/v3/x?a=1`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body });
    expect(res.status).toBe(207);
    expect(res.headers.get('X-HubSpot-RateLimit-Remaining')).toBe('99');
    expect(res.headers.get('absent')).toBeNull();
    expect(await res.text()).toBe('{"ok":"ünïcode"}');
    expect(seen).toMatchObject({ method: 'POST', body, headers: { authorization: 'Bearer t', 'content-length': String(Buffer.byteLength(body)), 'accept-encoding': 'gzip, deflate, br' } });
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decodes a %s body', async (encoding, compress) => {
    const text = JSON.stringify({ results: Array.from({ length: 200 }, (_, i) => ({ id: String(i) })) });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-encoding': encoding });
      res.end(compress(Buffer.from(text)));
    };
    expect(await (await httpFetch(`${base}/`, { method: 'GET', headers: {} })).text()).toBe(text);
  });

  it('rejects at once when the signal is already aborted, and aborts a request waiting for its response', async () => {
    const done = new AbortController();
    done.abort();
    await expect(httpFetch(`${base}/`, { method: 'GET', headers: {}, signal: done.signal })).rejects.toMatchObject({ name: 'AbortError' });

    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    handler = () => arrived(); // never answers
    const ac = new AbortController();
    const p = httpFetch(`${base}/`, { method: 'GET', headers: {}, signal: ac.signal });
    await reached;
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('aborts while the body is read: text() rejects with the abort', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"partial":'); // the rest never comes
    };
    const ac = new AbortController();
    const res = await httpFetch(`${base}/`, { method: 'GET', headers: {}, signal: ac.signal });
    ac.abort();
    await expect(res.text()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a connection closed mid-body is a network failure with a code', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"cut":');
      setImmediate(() => res.socket?.destroy());
    };
    const res = await httpFetch(`${base}/`, { method: 'GET', headers: {} });
    const err = await res.text().catch((e: unknown) => e);
    expect(networkErrorCode(err)).toBe('ECONNRESET');
  });

  it('a refused connection rejects with node\'s error code', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await httpFetch(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {} }).catch((e: unknown) => e);
    expect(networkErrorCode(err)).toBe('ECONNREFUSED');
  });
});
