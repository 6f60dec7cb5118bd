/**
 * The HubSpot client the sync engine uses: CRM v3 objects (list, search, batch read / create /
 * update / upsert / archive, property history, merged records), properties, associations v4,
 * and the account's portal ID — through the shared per-account rate limiter, with retries,
 * OAuth refresh and classified errors.
 * Custom object types (`p_name`, `2-123`) use the same object routes as contacts.
 */
import { objectTypeDescriptor } from '../api/object-types.js';
import * as assoc from './associations.js';
import { createTokenSource, type TokenSource } from './auth.js';
import { sendIsolating, mapBatchResponse, type BatchInput, type RawBatchResponse } from './batch.js';
import { HubSpotRequestError, makeRedactor } from './errors.js';
import { decorate, HISTORY_BATCH_SIZE, tieMergedResults, withMergedIds } from './records.js';
import { credentialKey, portalKey, sharedLimiters, type LimiterMember, type LimiterRegistry } from './ratelimit.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { Transport, type CallSpec } from './transport.js';
import {
  HubSpotApiError,
  type ApiUsage,
  type AssociationInput,
  type AssociationReadResult,
  type AssociationType,
  type AssociationWriteResult,
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
export {
  ASSOCIATION_BATCH_SIZE,
  ASSOCIATION_TYPE_IDS,
  LABELS_TTL_MS,
  findLabel,
  primaryAssociationTypeId,
  unlabeledAssociationTypeId,
} from './associations.js';
import { chunks } from '../api/chunks.js';
export { HISTORY_BATCH_SIZE, MERGED_IDS_PROPERTY } from './records.js';

/** HubSpot's batch endpoints take at most 100 inputs per request. */
export const BATCH_SIZE = 100;

/** Object types are path segments: standard names, p_<name>, or <typeId>-<n>. */
const OBJECT_TYPE = /^[A-Za-z][A-Za-z0-9_]*$|^\d+-\d+$/;

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

class Client implements HubSpotClient {
  private readonly opts: HubSpotClientOptions;
  private readonly transport: Transport;
  private readonly member: LimiterMember;
  private readonly requests = new RollingDayCounter();
  private readonly rateLimited = new RollingDayCounter();
  private readonly registry: LimiterRegistry;
  private readonly credKey: string;
  private accountKey: string;
  /** The portal of the credentials, once learned from HubSpot. */
  private learnedPortal?: number;
  private portalLookup?: Promise<number>;
  /** HubSpot (or what stands in for it) has no endpoint telling the portal: pace by credential. */
  private portalUnknowable = false;
  private readonly assocCtx: assoc.AssociationContext;
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
      fetch: opts.fetch,
    });
    tokens = createTokenSource(opts.auth, (form) => this.transport.postTokenForm(form));
    this.credKey = credentialKey(opts.baseURL, tokens.identity);
    this.accountKey = this.credKey;
    this.registry = registry;
    if (opts.portalId !== undefined) {
      if (!Number.isInteger(opts.portalId) || opts.portalId <= 0) {
        throw new Error(`spec.hubspot.portalId must be a positive integer (the HubSpot account ID), got ${JSON.stringify(opts.portalId)}`);
      }
      // Paced with the named portal at once; getPortalId() verifies the claim.
      this.accountKey = portalKey(opts.baseURL, opts.portalId);
    }
    const known = registry.portalOf(this.credKey);
    if (known !== undefined) this.learnPortal(known);
    this.assocCtx = {
      call: (spec) => this.call(spec),
      checkType: (t) => {
        this.objectPath(t);
        return t;
      },
      accountKey: async () => {
        await this.ensurePortal();
        return this.accountKey;
      },
      registry,
    };
  }

  /** From now on this credential paces with every other client of the same portal. */
  private learnPortal(id: number): void {
    this.learnedPortal = id;
    this.accountKey = portalKey(this.opts.baseURL, id);
    this.registry.bindPortal(this.credKey, this.accountKey, id);
  }

  /**
   * Before the first request: learn the portal from the token unless the spec named it, so the
   * shared limiter is the account's. Failures other than "no such endpoint" fail the request
   * (the next one asks again).
   */
  private async ensurePortal(): Promise<void> {
    if (this.learnedPortal !== undefined || this.opts.portalId !== undefined || this.portalUnknowable) return;
    try {
      await this.lookupPortal();
    } catch (err) {
      if (err instanceof HubSpotRequestError && (err.category === 'NotFound' || err.category === 'Validation')) {
        this.portalUnknowable = true;
        return;
      }
      throw err;
    }
  }

  /** One lookup at a time per client; a failed one is asked again next time. */
  private lookupPortal(): Promise<number> {
    this.portalLookup ??= this.fetchPortalId().finally(() => {
      this.portalLookup = undefined;
    });
    return this.portalLookup;
  }

  private async fetchPortalId(): Promise<number> {
    let raw: unknown;
    if (this.opts.auth.kind === 'oauth') {
      // HubSpot's access-token information: not counted against the API limits.
      const info = await this.transport.getWithToken<{ hub_id?: unknown }>((t) => `/oauth/v1/access-tokens/${encodeURIComponent(t)}`, 'token_info', 'access token information');
      raw = info?.hub_id;
    } else {
      const { body } = await this.transport.call<{ portalId?: unknown }>({ method: 'GET', path: '/account-info/v3/details', kind: 'account', what: 'account details', idempotent: true });
      raw = body?.portalId;
    }
    const id = Number(raw);
    if (!Number.isInteger(id) || id <= 0) {
      throw new HubSpotApiError(`HubSpot ${this.opts.auth.kind === 'oauth' ? 'access token information' : 'account details'} have no portal ID`, 'Transient', 200);
    }
    this.learnPortal(id);
    return id;
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

  private async call<T>(spec: CallSpec): Promise<{ status: number; body: T }> {
    await this.ensurePortal();
    return this.transport.call<T>(spec);
  }

  async getPortalId(): Promise<number> {
    if (this.learnedPortal !== undefined) return this.learnedPortal;
    return this.lookupPortal();
  }

  portalId(): number | undefined {
    return this.learnedPortal;
  }

  async listProperties(objectType: string, opts: { maxAgeMs?: number } = {}): Promise<PropertyDefinition[]> {
    this.objectPath(objectType);
    // The cache is per account: know the portal first, so every client of it uses one key.
    await this.ensurePortal();
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
      groupName: def.groupName ?? objectTypeDescriptor(objectType).propertyGroup,
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
    for (const p of withMergedIds(q.properties)) query.push(['properties', p]);
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
    const results = (body?.results ?? []).map(decorate);
    return after ? { results, after } : { results };
  }

  async searchObjects(objectType: string, q: SearchRequest): Promise<Page<HubSpotObject>> {
    const { body } = await this.call<{ results?: HubSpotObject[]; total?: number; paging?: { next?: { after?: string } } }>({
      method: 'POST',
      path: this.objectPath(objectType, '/search'),
      body: { ...q, properties: withMergedIds(q.properties ?? []) },
      kind: 'search',
      what: `search of ${objectType}`,
      idempotent: true,
      search: true,
    });
    const page: Page<HubSpotObject> = { results: (body?.results ?? []).map(decorate), total: body?.total };
    const after = body?.paging?.next?.after;
    if (after) page.after = after;
    return page;
  }

  async batchRead(objectType: string, q: { ids: string[]; properties: string[]; idProperty?: string; archived?: boolean; propertiesWithHistory?: string[] }): Promise<BatchResult> {
    const path = this.objectPath(objectType, '/batch/read');
    const history = q.propertiesWithHistory?.filter((p) => typeof p === 'string' && p !== '') ?? [];
    const asked = [...q.properties, ...history.filter((p) => !q.properties.includes(p))];
    const withId = q.idProperty && !asked.includes(q.idProperty) ? [...asked, q.idProperty] : asked;
    const properties = withMergedIds(withId);
    const byRecordId = !q.idProperty || q.idProperty === 'hs_object_id';
    const inputs: BatchInput[] = q.ids.map((id) => ({ id, idProperty: q.idProperty }));
    // HubSpot takes at most 50 inputs when property history is asked for (400 past it).
    const size = history.length > 0 ? HISTORY_BATCH_SIZE : BATCH_SIZE;
    return this.chunked(
      inputs,
      async (part) => {
        const { body } = await this.call<RawBatchResponse>({
          method: 'POST',
          path,
          query: q.archived !== undefined ? [['archived', String(q.archived)]] : undefined,
          body: {
            properties,
            ...(history.length > 0 ? { propertiesWithHistory: history } : {}),
            inputs: part.map((i) => ({ id: i.id })),
            ...(q.idProperty ? { idProperty: q.idProperty } : {}),
          },
          kind: 'batch_read',
          what: `batch read of ${objectType}`,
          idempotent: true,
        });
        for (const r of body?.results ?? []) decorate(r);
        const positions = part.map((_, i) => i);
        const mapped = mapBatchResponse(body, part, positions);
        // A merged-away ID is answered by the merged record: tie it back through hs_merged_object_ids.
        return byRecordId ? tieMergedResults(mapped, part, positions) : mapped;
      },
      size,
    );
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

  readAssociations(fromType: string, toType: string, ids: string[]): Promise<AssociationReadResult> {
    return assoc.readAssociations(this.assocCtx, fromType, toType, ids);
  }

  createAssociations(fromType: string, toType: string, inputs: AssociationInput[]): Promise<AssociationWriteResult> {
    return assoc.createAssociations(this.assocCtx, fromType, toType, inputs);
  }

  archiveAssociations(fromType: string, toType: string, inputs: AssociationInput[]): Promise<AssociationWriteResult> {
    return assoc.archiveAssociations(this.assocCtx, fromType, toType, inputs);
  }

  associationLabels(fromType: string, toType: string, opts?: { refresh?: boolean }): Promise<AssociationType[]> {
    return assoc.associationLabels(this.assocCtx, fromType, toType, opts);
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

  /** Run `fn` per chunk of `size` (BATCH_SIZE) and merge the results with absolute input indexes. */
  private async chunked(inputs: BatchInput[], fn: (part: BatchInput[]) => Promise<Required<BatchResult>>, size = BATCH_SIZE): Promise<BatchResult> {
    const out: Required<BatchResult> = { results: [], errors: [], inputIndexes: [] };
    if (inputs.length === 0) return out;
    let offset = 0;
    for (const part of chunks(inputs, size)) {
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
