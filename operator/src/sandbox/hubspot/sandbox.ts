/**
 * One HubSpot API sandbox: the state, the request pipeline (faults → auth → scopes → rate
 * limits → handler → stats) and the admin helpers for in-process use (the /__sandbox routes
 * in admin-api.ts call the same methods).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountRoutes } from './account-api.js';
import { lifecycleRoutes, restoreRecord } from './lifecycle.js';
import { adminRoutes } from './admin-api.js';
import { Associations, associationRoutes } from './associations.js';
import { Credentials } from './auth.js';
import { HubSpotHttpError } from './errors.js';
import { Stats, type FaultSettings } from './faults.js';
import { makeContext, readBody, Router, send, type Reply, type RequestContext, type Route } from './http.js';
import { GENEROUS_LIMITS, RateLimiter, type Limits } from './limits.js';
import { ObjectTypes } from './object-types.js';
import { objectRoutes } from './objects-api.js';
import { propertyRoutes, schemaRoutes } from './properties-api.js';
import { seededRandom } from './random.js';
import { seedRecords, type SeedOptions } from './seed.js';
import type { SandboxState } from './state.js';
import type { ObjectStore } from './store.js';
import type { ObjectJson } from './writes.js';
import { checkSubscription, Webhooks, type SubscriptionInput } from './webhooks.js';

export interface HubSpotSandboxOptions {
  host?: string;
  port?: number;
  /** Private-app token accepted from start (all scopes). Default `sandbox-token`. */
  token?: string;
  portalId?: number;
  seed?: SeedOptions;
  /** Search sees writes this long after they happen (HubSpot's search is eventually consistent). Default 0. */
  indexingDelayMs?: number;
  /** Default: generous (see GENEROUS_LIMITS); pass HUBSPOT_LIMITS for HubSpot's real ones. */
  limits?: Partial<Limits>;
  /**
   * Search applies only the first sort and returns ties in descending id order, as HubSpot
   * (one sorting rule per search, no documented tie order). Default true; false applies every
   * sort given and breaks ties by id (lenient, for comparison).
   */
  strictSorts?: boolean;
}

export interface SandboxStats {
  requests: { total: number; byStatus: Record<string, number>; byRoute: Record<string, number> };
  rateLimited: number;
  faults: { injectedErrors: number; resets: number; delayed: number };
  usage: Record<string, { inWindow: number; today: number; searchesLastSecond: number }>;
  records: Record<string, number>;
}

export class HubSpotSandbox {
  readonly portalId: number;
  readonly token: string;
  private readonly server: Server;
  private readonly router = new Router();
  private readonly state: SandboxState;
  private readonly statsCounter = new Stats();
  private faults: FaultSettings = {};
  /** Faults draw from a seeded sequence, restarted by each setFaults, so tests are reproducible. */
  private faultRandom = seededRandom(1);
  private url_ = '';

  constructor(opts: HubSpotSandboxOptions = {}) {
    this.portalId = opts.portalId ?? 1234567;
    this.token = opts.token ?? 'sandbox-token';
    const credentials = new Credentials(this.portalId);
    credentials.register(this.token);
    const webhooks = new Webhooks(this.portalId);
    const types = new ObjectTypes(this.portalId, opts.indexingDelayMs ?? 0);
    const associations = new Associations();
    associations.storeLookup = (id) => types.resolve(id)!;
    associations.onChange = (e) => webhooks.onAssociation(e);
    this.state = {
      portalId: this.portalId,
      types,
      credentials,
      limiter: new RateLimiter({ ...GENEROUS_LIMITS, ...(opts.limits ?? {}) }),
      associations,
      webhooks,
      emit: (e) => webhooks.onChange(e),
      settings: { strictSorts: opts.strictSorts ?? true },
    };
    for (const r of [...objectRoutes(this.state), ...propertyRoutes(this.state), ...schemaRoutes(this.state), ...associationRoutes(this.state), ...lifecycleRoutes(this.state), ...accountRoutes(this.state), ...adminRoutes(this)]) {
      this.router.add(r);
    }
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Last resort: never crash the process on a request.
        process.stderr.write(`hubspot-sandbox: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
        send(res, { status: 500, body: { status: 'error', message: 'Internal sandbox error', correlationId: randomUUID(), category: 'INTERNAL_ERROR' } }, randomUUID());
      });
    });
    this.server.keepAliveTimeout = 5_000;
    if (opts.seed) seedRecords(this.state, opts.seed);
  }

  get url(): string {
    return this.url_;
  }

  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url_ = `http://${h}:${addr.port}`;
    return this.url_;
  }

  async close(): Promise<void> {
    this.state.webhooks.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- admin helpers for in-process use (the same as the /__sandbox routes) ----

  /**
   * Empties all data: records, associations, custom schemas and properties, webhook
   * subscriptions; clears counters. Tokens, OAuth apps, limits and faults stay.
   */
  reset(): void {
    this.state.types.reset();
    this.state.associations.reset();
    this.state.webhooks.reset();
    this.state.limiter.reset();
    this.statsCounter.reset();
  }

  setLimits(limits: Partial<Limits>): Limits {
    return this.state.limiter.set(limits);
  }

  getLimits(): Limits {
    return { ...this.state.limiter.limits };
  }

  /** Replaces the fault settings (`{}` clears); `expireTokens` expires issued access tokens once. */
  setFaults(faults: FaultSettings & { expireTokens?: boolean }): void {
    const { expireTokens, ...rest } = faults;
    this.faults = rest;
    this.faultRandom = seededRandom(1);
    if (expireTokens) this.state.credentials.expireOAuthTokens();
  }

  getFaults(): FaultSettings {
    return { ...this.faults };
  }

  /** Webhook subscriptions (admin API). */
  get webhooks(): Webhooks {
    return this.state.webhooks;
  }

  stats(): SandboxStats {
    const s = this.statsCounter;
    const records: Record<string, number> = {};
    for (const store of this.state.types.all()) records[store.info.name] = store.liveCount;
    return {
      requests: { total: s.total, byStatus: { ...s.byStatus }, byRoute: { ...s.byRoute } },
      rateLimited: this.state.limiter.rateLimited,
      faults: { ...s.faults },
      usage: this.state.limiter.snapshot(),
      records,
    };
  }

  registerToken(token: string, opts: { scopes?: string[]; expiresInSeconds?: number; portalId?: number } = {}): void {
    this.state.credentials.register(token, opts);
  }

  revokeToken(token: string): boolean {
    return this.state.credentials.revoke(token);
  }

  registerOAuthApp(clientId: string, clientSecret: string, opts: { scopes?: string[]; portalId?: number } = {}): { refreshToken: string } {
    return { refreshToken: this.state.credentials.registerApp(clientId, clientSecret, opts).refreshToken };
  }

  subscribeWebhook(input: SubscriptionInput): { id: string } {
    const problems = checkSubscription(input as unknown as Record<string, unknown>);
    if (problems.length) throw new Error(`invalid webhook subscription: ${problems.join('; ')}`);
    return this.state.webhooks.subscribe(input);
  }

  seed(opts: SeedOptions): { contacts: number; companies: number; deals: number } {
    return seedRecords(this.state, opts);
  }

  /**
   * Restores an archived record as HubSpot's "restore deleted records" does (from its UI, within
   * 90 days; HubSpot has no public API for it): searchable again, a `restore` webhook event.
   */
  restore(objectType: string, id: number): ObjectJson {
    return restoreRecord(this.state, this.store(objectType), id, Date.now());
  }

  /** See HubSpotSandboxOptions.strictSorts. */
  setStrictSorts(strict: boolean): void {
    this.state.settings.strictSorts = strict;
  }

  get strictSorts(): boolean {
    return this.state.settings.strictSorts;
  }

  setIndexingDelay(ms: number): void {
    this.state.types.setIndexingDelay(ms);
  }

  /** Direct access to an object type's records (tests and benchmarks). */
  store(objectType: string): ObjectStore {
    const s = this.state.types.resolve(objectType);
    if (!s) throw new Error(`unknown object type ${objectType}`);
    return s;
  }

  // ---- request pipeline ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const correlation = randomUUID();
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sandbox.local');
    } catch {
      send(res, { status: 400, body: { status: 'error', message: 'Malformed request URL', correlationId: correlation, category: 'VALIDATION_ERROR' } }, correlation);
      return;
    }
    const m = this.router.match(method, url.pathname.replace(/\/+$/, '') || '/');
    if (!m || 'allowed' in m) {
      await readBody(req).catch(() => '');
      const status = m ? 405 : 404;
      const message = m ? `Method ${method} is not allowed on ${url.pathname}; allowed: ${m.allowed.join(', ')}` : `No HubSpot API route matches ${method} ${url.pathname}`;
      if (!url.pathname.startsWith('/__sandbox')) this.statsCounter.record(`${method} (unmatched)`, status);
      send(res, { status, body: { status: 'error', message, correlationId: correlation, category: status === 404 ? 'OBJECT_NOT_FOUND' : 'VALIDATION_ERROR' } }, correlation);
      return;
    }
    const { route, params } = m;
    const routeKey = `${route.method} ${route.path}`;
    let rateHeaders: Record<string, string> = {};
    let reply: Reply;
    try {
      const rawBody = await readBody(req);
      const ctx = makeContext(req, url, params, rawBody);
      if (route.access !== 'admin') {
        const f = this.faults;
        if (f.latencyMs) {
          this.statsCounter.faults.delayed++;
          await new Promise((r) => setTimeout(r, f.latencyMs));
        }
        if (f.resetRate && this.faultRandom() < f.resetRate) {
          this.statsCounter.recordReset(routeKey);
          req.socket.destroy();
          return;
        }
        if (f.errorRate && this.faultRandom() < f.errorRate) {
          this.statsCounter.faults.injectedErrors++;
          const status = f.errorStatus ?? 500;
          throw new HubSpotHttpError(status, {
            message: status === 429 ? 'You have reached your ten_secondly_rolling limit.' : `Injected failure (sandbox faults: errorRate ${f.errorRate}).`,
            category: status === 429 ? 'RATE_LIMITS' : status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR',
            ...(status === 429 ? { errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' } : {}),
          });
        }
      }
      if (route.access === 'api') this.authorize(ctx, route);
      if (route.access === 'api' && route.rate) rateHeaders = this.state.limiter.take(ctx.portalId, route.rate);
      reply = await route.handle(ctx);
    } catch (err) {
      if (!(err instanceof HubSpotHttpError)) throw err;
      reply = { status: err.status, body: err.body, headers: { ...err.headers } };
    }
    reply.headers = { ...rateHeaders, ...(reply.headers ?? {}) };
    if (route.access !== 'admin') this.statsCounter.record(routeKey, reply.status);
    const bodyCorrelation = (reply.body as { correlationId?: unknown } | undefined)?.correlationId;
    send(res, reply, typeof bodyCorrelation === 'string' ? bodyCorrelation : correlation);
  }

  private authorize(ctx: RequestContext, route: Route): void {
    const token = this.state.credentials.authenticate(ctx.req.headers.authorization);
    ctx.portalId = token.portalId;
    const needed = route.scopes?.(ctx) ?? [];
    this.state.credentials.requireScope(token, needed);
  }
}
