/**
 * The sandbox's admin API under /__sandbox (DESIGN §5): reset, limits, faults, stats, tokens,
 * OAuth apps, webhook subscriptions, seeding and the indexing delay. Not part of HubSpot's
 * surface; needs no token; every invalid body gets a 400 naming each bad field.
 */
import { badRequest, HubSpotHttpError } from './errors.js';
import { parseFaults } from './faults.js';
import type { Reply, Route } from './http.js';
import { parseLimits } from './limits.js';
import type { HubSpotSandbox } from './sandbox.js';
import type { SeedOptions } from './seed.js';
import { checkDeliverySettings, checkSubscription, type SubscriptionInput } from './webhooks.js';

export function adminRoutes(sandbox: HubSpotSandbox): Route[] {
  const A = '/__sandbox';
  const ok = (body?: unknown): Reply => (body === undefined ? { status: 204 } : { status: 200, body });
  return [
    { method: 'POST', path: `${A}/reset`, access: 'admin', handle: () => { sandbox.reset(); return ok(); } },
    { method: 'GET', path: `${A}/limits`, access: 'admin', handle: () => ok(sandbox.getLimits()) },
    {
      method: 'PUT', path: `${A}/limits`, access: 'admin',
      handle: (ctx) => {
        const { limits, problems } = parseLimits(ctx.jsonObject());
        if (!limits) throw badRequest(`Invalid limits: ${problems.join('; ')}`);
        return ok(sandbox.setLimits(limits));
      },
    },
    { method: 'GET', path: `${A}/faults`, access: 'admin', handle: () => ok(sandbox.getFaults()) },
    {
      method: 'PUT', path: `${A}/faults`, access: 'admin',
      handle: (ctx) => {
        const { faults, expireTokens, problems } = parseFaults(ctx.jsonObject());
        if (!faults) throw badRequest(`Invalid faults: ${problems.join('; ')}`);
        sandbox.setFaults({ ...faults, expireTokens });
        return ok(sandbox.getFaults());
      },
    },
    { method: 'GET', path: `${A}/stats`, access: 'admin', handle: () => ok(sandbox.stats()) },
    {
      method: 'POST', path: `${A}/tokens`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        const problems: string[] = [];
        if (typeof b.token !== 'string' || b.token.trim() === '' || /\s/.test(b.token)) problems.push('token must be a non-empty string without spaces');
        if (b.scopes !== undefined && (!Array.isArray(b.scopes) || b.scopes.some((s) => typeof s !== 'string'))) problems.push('scopes must be an array of scope names');
        if (b.expiresInSeconds !== undefined && typeof b.expiresInSeconds !== 'number') problems.push('expiresInSeconds must be a number');
        if (b.portalId !== undefined && (typeof b.portalId !== 'number' || !Number.isInteger(b.portalId))) problems.push('portalId must be an integer');
        if (problems.length) throw badRequest(`Invalid token registration: ${problems.join('; ')}`);
        sandbox.registerToken(b.token as string, {
          ...(b.scopes ? { scopes: b.scopes as string[] } : {}),
          ...(b.expiresInSeconds !== undefined ? { expiresInSeconds: b.expiresInSeconds as number } : {}),
          ...(b.portalId !== undefined ? { portalId: b.portalId as number } : {}),
        });
        return { status: 201, body: { token: b.token, portalId: (b.portalId as number | undefined) ?? sandbox.portalId, scopes: b.scopes ?? 'all' } };
      },
    },
    {
      method: 'DELETE', path: `${A}/tokens/{token}`, access: 'admin',
      handle: (ctx) => {
        if (!sandbox.revokeToken(ctx.params.token!)) throw new HubSpotHttpError(404, { message: 'No such token', category: 'OBJECT_NOT_FOUND' });
        return ok();
      },
    },
    {
      method: 'POST', path: `${A}/oauth-apps`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        if (typeof b.clientId !== 'string' || b.clientId === '' || typeof b.clientSecret !== 'string' || b.clientSecret === '') {
          throw badRequest('clientId and clientSecret are required strings');
        }
        if (b.scopes !== undefined && (!Array.isArray(b.scopes) || b.scopes.some((s) => typeof s !== 'string'))) throw badRequest('scopes must be an array of scope names');
        const app = sandbox.registerOAuthApp(b.clientId, b.clientSecret, {
          ...(b.scopes ? { scopes: b.scopes as string[] } : {}),
          ...(typeof b.portalId === 'number' ? { portalId: b.portalId } : {}),
        });
        return { status: 201, body: app };
      },
    },
    { method: 'GET', path: `${A}/webhooks`, access: 'admin', handle: () => ok({ results: sandbox.webhooks.list() }) },
    {
      method: 'POST', path: `${A}/webhooks`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        const problems = checkSubscription(b);
        if (problems.length) throw badRequest(`Invalid webhook subscription: ${problems.join('; ')}`);
        return { status: 201, body: sandbox.webhooks.subscribe(b as unknown as SubscriptionInput) };
      },
    },
    {
      method: 'PATCH', path: `${A}/webhooks/{id}`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        const problems = checkDeliverySettings(b);
        const unknown = Object.keys(b).filter((k) => !['maxBatchSize', 'batchDelayMs', 'maxAttempts', 'retryDelayMs', 'duplicates', 'shuffle', 'seed', 'failRate'].includes(k));
        if (unknown.length) problems.push(`unknown delivery settings: ${unknown.join(', ')} (known: maxBatchSize, batchDelayMs, maxAttempts, retryDelayMs, duplicates, shuffle, seed, failRate)`);
        if (problems.length) throw badRequest(`Invalid delivery settings: ${problems.join('; ')}`);
        const out = sandbox.webhooks.configure(ctx.params.id!, b);
        if (!out) throw new HubSpotHttpError(404, { message: 'No such subscription', category: 'OBJECT_NOT_FOUND' });
        return ok(out);
      },
    },
    {
      method: 'DELETE', path: `${A}/webhooks/{id}`, access: 'admin',
      handle: (ctx) => {
        if (!sandbox.webhooks.unsubscribe(ctx.params.id!)) throw new HubSpotHttpError(404, { message: 'No such subscription', category: 'OBJECT_NOT_FOUND' });
        return ok();
      },
    },
    {
      method: 'POST', path: `${A}/seed`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        const problems: string[] = [];
        for (const k of ['contacts', 'companies', 'deals', 'historyDays'] as const) {
          if (b[k] !== undefined && (typeof b[k] !== 'number' || !Number.isInteger(b[k]) || (b[k] as number) < 0 || (b[k] as number) > 5_000_000)) problems.push(`${k} must be an integer from 0 to 5000000`);
        }
        if (b.demo !== undefined && typeof b.demo !== 'boolean') problems.push('demo must be a boolean');
        if (problems.length) throw badRequest(`Invalid seed request: ${problems.join('; ')}`);
        return { status: 201, body: sandbox.seed(b as SeedOptions) };
      },
    },
    {
      method: 'POST', path: `${A}/restore`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        const problems: string[] = [];
        if (typeof b.objectType !== 'string' || b.objectType === '') problems.push('objectType is required (contacts, companies, deals or a custom object type)');
        const id = typeof b.id === 'string' && /^\d+$/.test(b.id) ? Number(b.id) : b.id;
        if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) problems.push('id is required: the archived record\'s id');
        if (problems.length) throw badRequest(`Invalid restore request: ${problems.join('; ')}`);
        let store;
        try {
          store = sandbox.store(b.objectType as string);
        } catch {
          throw badRequest(`Invalid restore request: unknown objectType ${JSON.stringify(b.objectType)}`);
        }
        return ok(sandbox.restore(store.info.name, id as number));
      },
    },
    { method: 'GET', path: `${A}/search`, access: 'admin', handle: () => ok({ strictSorts: sandbox.strictSorts }) },
    {
      method: 'PUT', path: `${A}/search`, access: 'admin',
      handle: (ctx) => {
        const b = ctx.jsonObject();
        if (typeof b.strictSorts !== 'boolean') throw badRequest('strictSorts must be a boolean');
        sandbox.setStrictSorts(b.strictSorts);
        return ok({ strictSorts: b.strictSorts });
      },
    },
    {
      method: 'PUT', path: `${A}/indexing`, access: 'admin',
      handle: (ctx) => {
        const ms = ctx.jsonObject().indexingDelayMs;
        if (typeof ms !== 'number' || ms < 0) throw badRequest('indexingDelayMs must be a non-negative number of milliseconds');
        sandbox.setIndexingDelay(ms);
        return ok({ indexingDelayMs: ms });
      },
    },
  ];
}
