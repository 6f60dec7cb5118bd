/**
 * The HubSpot client the sync engine uses: CRM v3 objects (list, search, batch read / create /
 * update / upsert / archive), properties, and the account's portal ID — through the shared
 * per-account rate limiter, with retries, OAuth refresh and classified errors.
 * Custom object types (`p_name`, `2-123`) use the same object routes as contacts.
 */
import { createTokenSource, type TokenSource } from './auth.js';
import { sendIsolating, mapBatchResponse, type BatchInput, type RawBatchResponse } from './batch.js';
import { makeRedactor } from './errors.js';
import { credentialKey, portalKey, sharedLimiters, type LimiterMember, type LimiterRegistry } from './ratelimit.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { Transport, type CallSpec } from './transport.js';
import {
  HubSpotApiError,
  type ApiUsage,
  type BatchResult,
  type HubSpotClient,
  type HubSpotClientOptions,
  type HubSpotObject,
  type Page,
  type PropertyDefinition,
  type RateLimitSettings,
  type SearchRequest,
} from './types.js';
import { RollingDayCounter } from './usage.js';

export * from './types.js';
export { HubSpotRequestError, classify, parseErrorBody } from './errors.js';
export { LimiterRegistry, sharedLimiters, type Timers } from './ratelimit.js';
export { DEFAULT_RETRY_POLICY, backoffDelay, type RetryPolicy } from './retry.js';

/** HubSpot's batch endpoints take at most 100 inputs per request. */
export const BATCH_SIZE = 100;

/** Object types are path segments: standard names, p_<name>, or <typeId>-<n>. */
const OBJECT_TYPE = /^[A-Za-z][A-Za-z0-9_]*$|^\d+-\d+$/;

/** Default group of new properties for the standard objects (HubSpot requires a group). */
const DEFAULT_GROUP: Record<string, string> = {
  contacts: 'contactinformation',
  companies: 'companyinformation',
  deals: 'dealinformation',
  tickets: 'ticketinformation',
};

const DEFAULT_FIELD_TYPE: Record<PropertyDefinition['type'], string> = {
  string: 'text',
  number: 'number',
  date: 'date',
  datetime: 'date',
  enumeration: 'select',
  bool: 'booleancheckbox',
  phone_number: 'phonenumber',
};

function checkSettings(s: RateLimitSettings): void {
  const bad = (['requestsPerTenSeconds', 'dailyRequests', 'searchRequestsPerSecond'] as const).filter(
    (k) => typeof s?.[k] !== 'number' || !Number.isFinite(s[k]) || s[k] < 1,
  );
  if (bad.length > 0) {
    throw new Error(`spec.hubspot.rateLimit.${bad[0]} must be a number >= 1, got ${JSON.stringify(s?.[bad[0]!])}`);
  }
}

function checkBaseURL(baseURL: string): void {
  let u: URL;
  try {
    u = new URL(baseURL);
  } catch {
    throw new Error(`spec.hubspot.baseURL must be an absolute http(s) URL, got ${JSON.stringify(baseURL)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`spec.hubspot.baseURL must use http or https, got ${JSON.stringify(u.protocol)}`);
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

class Client implements HubSpotClient {
  private readonly opts: HubSpotClientOptions;
  private readonly transport: Transport;
  private readonly member: LimiterMember;
  private readonly requests = new RollingDayCounter();
  private readonly rateLimited = new RollingDayCounter();
  private readonly registry: LimiterRegistry;
  private readonly credKey: string;
  private accountKey: string;
  private portalId?: number;
  /** Object types whose properties this client has read (see listProperties). */
  private readonly propertyTypesRead = new Set<string>();

  constructor(opts: HubSpotClientOptions) {
    checkBaseURL(opts.baseURL);
    checkSettings(opts.rateLimit);
    this.opts = opts;
    const registry = opts.limiters ?? sharedLimiters;
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(opts.retry ?? {}), timeoutMs: opts.timeoutMs ?? DEFAULT_RETRY_POLICY.timeoutMs };
    this.member = { settings: opts.rateLimit, lastUsed: 0, closed: false };
    let tokens: TokenSource | undefined;
    this.transport = new Transport({
      baseURL: opts.baseURL,
      tokens: () => tokens!,
      limiter: () => registry.get(this.accountKey),
      member: this.member,
      retry,
      requests: this.requests,
      rateLimited: this.rateLimited,
      dailyBudget: opts.rateLimit.dailyRequests,
      redact: makeRedactor(() => tokens?.secrets() ?? []),
      onRequest: opts.onRequest,
      signal: opts.signal,
    });
    tokens = createTokenSource(opts.auth, (form) => this.transport.postTokenForm(form));
    this.credKey = credentialKey(opts.baseURL, tokens.identity);
    this.accountKey = this.credKey;
    this.registry = registry;
  }

  private objectPath(objectType: string, suffix = ''): string {
    if (typeof objectType !== 'string' || !OBJECT_TYPE.test(objectType)) {
      throw new HubSpotApiError(
        `invalid HubSpot object type ${JSON.stringify(objectType)}: expected contacts, companies, deals, a custom object name like p_orders, or a type ID like 2-123`,
        'NotFound',
        0,
      );
    }
    return `/crm/v3/objects/${objectType}${suffix}`;
  }

  private call<T>(spec: CallSpec): Promise<{ status: number; body: T }> {
    return this.transport.call<T>(spec);
  }

  async getPortalId(): Promise<number> {
    if (this.portalId !== undefined) return this.portalId;
    const { body } = await this.call<{ portalId?: unknown }>({ method: 'GET', path: '/account-info/v3/details', kind: 'account', what: 'account details', idempotent: true });
    const id = Number(body?.portalId);
    if (!Number.isInteger(id) || id <= 0) {
      throw new HubSpotApiError('HubSpot account details have no portalId', 'Transient', 200);
    }
    this.portalId = id;
    // From now on this credential paces with every other client of the same portal.
    this.registry.bindPortal(this.credKey, portalKey(this.opts.baseURL, id));
    this.accountKey = portalKey(this.opts.baseURL, id);
    return id;
  }

  async listProperties(objectType: string, opts: { maxAgeMs?: number } = {}): Promise<PropertyDefinition[]> {
    this.objectPath(objectType);
    const read = async () => {
      const { body } = await this.call<{ results?: PropertyDefinition[] }>({
        method: 'GET',
        path: `/crm/v3/properties/${objectType}`,
        kind: 'properties',
        what: `property list of ${objectType}`,
        idempotent: true,
      });
      return body?.results ?? [];
    };
    const cache = this.opts.propertyCache;
    if (!cache) return read();
    // This client's first read of a type (a new engine, i.e. a new or changed spec) takes only a recent entry.
    const first = !this.propertyTypesRead.has(objectType);
    this.propertyTypesRead.add(objectType);
    const maxAgeMs = Math.min(opts.maxAgeMs ?? cache.ttlMs, first ? cache.newReaderMaxAgeMs : Number.POSITIVE_INFINITY);
    return (await cache.get(this.accountKey, objectType, read, maxAgeMs)) as PropertyDefinition[];
  }

  async createProperty(objectType: string, def: Omit<PropertyDefinition, 'fieldType'> & { fieldType?: string }): Promise<PropertyDefinition> {
    this.objectPath(objectType);
    if (!def || typeof def.name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(def.name)) {
      throw new HubSpotApiError(
        `invalid HubSpot property name ${JSON.stringify(def?.name)}: expected lower-case letters, digits and underscores, starting with a letter`,
        'Validation',
        0,
      );
    }
    const body: Record<string, unknown> = {
      ...def,
      label: def.label || def.name,
      fieldType: def.fieldType ?? DEFAULT_FIELD_TYPE[def.type] ?? 'text',
      groupName: def.groupName ?? DEFAULT_GROUP[objectType],
    };
    if (def.type === 'bool' && !def.options) {
      body.options = [
        { label: 'Yes', value: 'true' },
        { label: 'No', value: 'false' },
      ];
    }
    const res = await this.call<PropertyDefinition>({
      method: 'POST',
      path: `/crm/v3/properties/${objectType}`,
      body,
      kind: 'properties',
      what: `creation of property ${def.name} on ${objectType}`,
      // A resend after an unknown outcome can at worst answer 409 (Duplicate): safe.
      idempotent: true,
    });
    this.opts.propertyCache?.add(this.accountKey, objectType, res.body);
    return res.body;
  }

  async listObjects(objectType: string, q: { limit: number; after?: string; properties: string[]; archived?: boolean }): Promise<Page<HubSpotObject>> {
    const query: [string, string][] = [['limit', String(q.limit)]];
    if (q.after) query.push(['after', q.after]);
    for (const p of q.properties) query.push(['properties', p]);
    if (q.archived !== undefined) query.push(['archived', String(q.archived)]);
    const { body } = await this.call<{ results?: HubSpotObject[]; paging?: { next?: { after?: string } } }>({
      method: 'GET',
      path: this.objectPath(objectType),
      query,
      kind: 'list',
      what: `list of ${objectType}`,
      idempotent: true,
    });
    const after = body?.paging?.next?.after;
    return after ? { results: body?.results ?? [], after } : { results: body?.results ?? [] };
  }

  async searchObjects(objectType: string, q: SearchRequest): Promise<Page<HubSpotObject>> {
    const { body } = await this.call<{ results?: HubSpotObject[]; total?: number; paging?: { next?: { after?: string } } }>({
      method: 'POST',
      path: this.objectPath(objectType, '/search'),
      body: q,
      kind: 'search',
      what: `search of ${objectType}`,
      idempotent: true,
      search: true,
    });
    const page: Page<HubSpotObject> = { results: body?.results ?? [], total: body?.total };
    const after = body?.paging?.next?.after;
    if (after) page.after = after;
    return page;
  }

  async batchRead(objectType: string, q: { ids: string[]; properties: string[]; idProperty?: string; archived?: boolean }): Promise<BatchResult> {
    const path = this.objectPath(objectType, '/batch/read');
    const properties = q.idProperty && !q.properties.includes(q.idProperty) ? [...q.properties, q.idProperty] : q.properties;
    const inputs: BatchInput[] = q.ids.map((id) => ({ id, idProperty: q.idProperty }));
    return this.chunked(inputs, async (part) => {
      const { body } = await this.call<RawBatchResponse>({
        method: 'POST',
        path,
        query: q.archived !== undefined ? [['archived', String(q.archived)]] : undefined,
        body: { properties, inputs: part.map((i) => ({ id: i.id })), ...(q.idProperty ? { idProperty: q.idProperty } : {}) },
        kind: 'batch_read',
        what: `batch read of ${objectType}`,
        idempotent: true,
      });
      return mapBatchResponse(body, part, part.map((_, i) => i));
    });
  }

  batchCreate(objectType: string, inputs: { properties: Record<string, string> }[]): Promise<BatchResult> {
    const path = this.objectPath(objectType, '/batch/create');
    return this.writeBatches(
      inputs.map((inp, i) => ({ properties: inp.properties, traceId: String(i) })),
      (part, positions) => ({
        method: 'POST',
        path,
        // objectWriteTraceId asks HubSpot for per-input (207) errors and ties results back.
        body: { inputs: positions.map((i) => ({ properties: part[i]!.properties, objectWriteTraceId: part[i]!.traceId })) },
        kind: 'batch_create',
        what: `batch create of ${objectType}`,
        // A resent create whose first attempt was applied would duplicate records.
        idempotent: false,
      }),
    );
  }

  batchUpdate(objectType: string, inputs: { id: string; properties: Record<string, string> }[]): Promise<BatchResult> {
    const path = this.objectPath(objectType, '/batch/update');
    return this.writeBatches(
      inputs.map((inp) => ({ id: inp.id, properties: inp.properties })),
      (part, positions) => ({
        method: 'POST',
        path,
        body: { inputs: positions.map((i) => ({ id: part[i]!.id, properties: part[i]!.properties })) },
        kind: 'batch_update',
        what: `batch update of ${objectType}`,
        idempotent: true,
      }),
    );
  }

  async batchUpsert(objectType: string, inputs: { id: string; idProperty: string; properties: Record<string, string> }[]): Promise<BatchResult> {
    const path = this.objectPath(objectType, '/batch/upsert');
    const res = await this.writeBatches(
      inputs.map((inp) => ({ id: inp.id, idProperty: inp.idProperty, properties: inp.properties })),
      (part, positions) => ({
        method: 'POST',
        path,
        body: { inputs: positions.map((i) => ({ id: part[i]!.id, idProperty: part[i]!.idProperty, properties: part[i]!.properties })) },
        kind: 'batch_upsert',
        what: `batch upsert of ${objectType}`,
        idempotent: true,
      }),
    );
    // HubSpot returns only the properties written; a result always carries the value it was
    // matched by, so callers can key results by it.
    res.results.forEach((o, k) => {
      const input = inputs[res.inputIndexes?.[k] ?? -1];
      if (input && o.properties && o.properties[input.idProperty] === undefined && input.idProperty !== 'hs_object_id') {
        o.properties[input.idProperty] = input.id;
      }
    });
    return res;
  }

  async batchArchive(objectType: string, ids: string[]): Promise<BatchResult> {
    const path = this.objectPath(objectType, '/batch/archive');
    return this.writeBatches(
      ids.map((id) => ({ id })),
      (part, positions) => ({
        method: 'POST',
        path,
        body: { inputs: positions.map((i) => ({ id: part[i]!.id })) },
        kind: 'batch_archive',
        what: `batch archive of ${objectType}`,
        idempotent: true,
      }),
    );
  }

  usage(): ApiUsage {
    const now = Date.now();
    const limiter = this.registry.get(this.accountKey);
    const requestsLast24h = this.requests.sum(now);
    const dailyBudget = this.opts.rateLimit.dailyRequests;
    const ownLeft = Math.max(0, dailyBudget - requestsLast24h);
    return {
      requestsLast24h,
      rateLimitedLast24h: this.rateLimited.sum(now),
      dailyBudget,
      remainingInWindow: limiter.windowRemaining(),
      remainingToday: limiter.remainingToday !== undefined ? Math.min(limiter.remainingToday, ownLeft) : ownLeft,
    };
  }

  close(): void {
    this.member.closed = true;
  }

  /** Batch writes: 100 inputs per request, with bad-input isolation inside each request. */
  private writeBatches(
    inputs: BatchInput[],
    spec: (part: BatchInput[], positions: number[]) => CallSpec,
  ): Promise<BatchResult> {
    return this.chunked(inputs, (part) =>
      sendIsolating(part, async (positions) => (await this.call<RawBatchResponse | undefined>(spec(part, positions))).body),
    );
  }

  /** Run `fn` per chunk of BATCH_SIZE and merge the results with absolute input indexes. */
  private async chunked(inputs: BatchInput[], fn: (part: BatchInput[]) => Promise<Required<BatchResult>>): Promise<BatchResult> {
    const out: Required<BatchResult> = { results: [], errors: [], inputIndexes: [] };
    if (inputs.length === 0) return out;
    let offset = 0;
    for (const part of chunks(inputs, BATCH_SIZE)) {
      const r = await fn(part);
      out.results.push(...r.results);
      out.inputIndexes.push(...r.inputIndexes.map((i) => (i >= 0 ? i + offset : -1)));
      out.errors.push(...r.errors.map((e) => (e.index >= 0 ? { ...e, index: e.index + offset } : e)));
      offset += part.length;
    }
    out.errors.sort((a, b) => a.index - b.index);
    return out;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Create a client. Every client of one HubSpot account in this process shares one rate limiter. */
export function createHubSpotClient(opts: HubSpotClientOptions): HubSpotClient {
  return new Client(opts);
}
