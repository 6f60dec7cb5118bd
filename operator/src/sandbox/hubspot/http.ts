/**
 * The HTTP layer: a small router (path templates with {params}), body parsing with HubSpot's
 * error for malformed JSON, and JSON responses with HubSpot's headers. Policy (auth, limits,
 * faults, stats) is applied by the pipeline in sandbox.ts through the route's declared needs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, HubSpotHttpError } from './errors.js';

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  rawBody: string;
  /** The parsed JSON body; HubSpot's 400 when it is malformed or not an object/array. */
  json(): unknown;
  /** The JSON body as an object (400 otherwise). */
  jsonObject(): Record<string, unknown>;
  /** Filled by the pipeline for routes that need a token. */
  portalId: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** Template like /crm/v3/objects/{objectType}/{objectId}; also the stats key. */
  path: string;
  /** api: token + limits + faults + stats; public: no token, but faults + stats; admin: nothing. */
  access: 'api' | 'public' | 'admin';
  rate?: 'standard' | 'search';
  /** Scopes of which the token needs one, computed from the request. */
  scopes?: (ctx: RequestContext) => string[];
  handle: Handler;
}

interface CompiledRoute extends Route {
  segments: string[];
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(route: Route): void {
    this.routes.push({ ...route, segments: route.path.split('/').filter(Boolean) });
  }

  /** The route for a request; literal segments win over parameters. */
  match(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | { allowed: string[] } | undefined {
    const parts = path.split('/').filter(Boolean);
    let best: { route: CompiledRoute; params: Record<string, string>; score: number } | undefined;
    const allowed = new Set<string>();
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let score = 0;
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        if (seg.startsWith('{')) {
          try {
            params[seg.slice(1, -1)] = decodeURIComponent(parts[i]!);
          } catch {
            ok = false;
            break;
          }
        } else if (seg === parts[i]) score++;
        else {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (route.method !== method) {
        allowed.add(route.method);
        continue;
      }
      if (!best || score > best.score) best = { route, params, score };
    }
    if (best) return { route: best.route, params: best.params };
    return allowed.size > 0 ? { allowed: [...allowed] } : undefined;
  }
}

const MAX_BODY = 20 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HubSpotHttpError(413, { message: `Request body larger than ${MAX_BODY} bytes`, category: 'VALIDATION_ERROR' }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function makeContext(req: IncomingMessage, url: URL, params: Record<string, string>, rawBody: string): RequestContext {
  let parsed: { value: unknown } | undefined;
  const json = (): unknown => {
    if (parsed) return parsed.value;
    if (rawBody.trim() === '') throw badRequest('Invalid input JSON: the request body is empty; a JSON body is required.');
    try {
      parsed = { value: JSON.parse(rawBody) };
    } catch (err) {
      throw badRequest(`Invalid input JSON on line 1: ${(err as Error).message}`);
    }
    return parsed.value;
  };
  return {
    req,
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    params,
    rawBody,
    json,
    jsonObject: () => {
      const v = json();
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest('Invalid input JSON: expected a JSON object.');
      return v as Record<string, unknown>;
    },
    portalId: 0,
  };
}

export function send(res: ServerResponse, reply: Reply, correlationId: string): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { 'X-HubSpot-Correlation-Id': correlationId, ...(reply.headers ?? {}) };
  if (reply.body === undefined || reply.status === 204) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  headers['Content-Type'] = 'application/json;charset=utf-8';
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(reply.status, headers);
  res.end(text);
}
