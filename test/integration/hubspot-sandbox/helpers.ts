import { Client } from '@hubspot/api-client';
import { startHubSpotSandbox, type HubSpotSandbox, type HubSpotSandboxOptions } from '../../../operator/src/sandbox/hubspot/index.js';

export interface Harness {
  sandbox: HubSpotSandbox;
  client: Client;
  /** A client with another token (or none). */
  clientWith(token: string, retries?: number): Client;
  /** Raw HTTP to the sandbox (admin routes and bodies the SDK cannot send). */
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function startHarness(opts: HubSpotSandboxOptions = {}): Promise<Harness> {
  const sandbox = await startHubSpotSandbox(opts);
  const clientWith = (token: string, retries = 0) => new Client({ accessToken: token, basePath: sandbox.url, numberOfApiCallRetries: retries });
  return {
    sandbox,
    client: clientWith(sandbox.token),
    clientWith,
    async http(method, path, body, headers = {}) {
      const res = await fetch(`${sandbox.url}${path}`, {
        method,
        headers: { ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), authorization: `Bearer ${sandbox.token}`, ...headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
  };
}

/** Runs `fn` expecting the SDK to throw an ApiException; returns its code and body. */
export async function apiError(fn: () => Promise<unknown>): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await fn();
  } catch (err) {
    const e = err as { code?: number; body?: unknown; headers?: Record<string, string> };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body, headers: e.headers ?? {} };
  }
  throw new Error('expected the call to fail');
}
