/**
 * Contract of the HubSpot client wrapper (operator/src/hubspot). The sync engine codes against
 * these types only; the implementation (auth, shared rate limiter, retries, classification)
 * lives beside this file. Extend compatibly.
 */
import type { HttpFetch } from './http.js';
import type { PropertyCache } from './property-cache.js';
import type { ErrorCategory } from '../api/categories.js';
import type { LimiterRegistry } from './ratelimit.js';

export type HubSpotAuth =
  | { kind: 'privateAppToken'; token: string }
  | { kind: 'oauth'; clientId: string; clientSecret: string; refreshToken: string };

export interface RateLimitSettings {
  requestsPerTenSeconds: number; // default 100, max 250
  dailyRequests: number; // default 250000
  searchRequestsPerSecond: number; // default 4
}

/** What one HTTP request did, for metrics (`api_requests_total{kind,code}`) and status.apiUsage. */
export interface RequestObservation {
  kind: string; // e.g. "search", "batch_read", "batch_upsert", "list", "properties", "oauth"
  code: number; // HTTP status, 0 for a network error
  rateLimited: boolean;
  durationMs: number;
}

export interface HubSpotClientOptions {
  baseURL: string;
  auth: HubSpotAuth;
  rateLimit: RateLimitSettings;
  /** Called once per HTTP attempt (including retries). Never receives secrets. */
  onRequest?: (o: RequestObservation) => void;
  /** Aborting stops waiting for the limiter / backoff and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Per-attempt timeout in ms (default 30000). */
  timeoutMs?: number;
  /** Retry tuning (defaults: 200 ms base, 10 s cap, 6 attempts, 8 rate-limit retries). */
  retry?: { baseDelayMs?: number; maxDelayMs?: number; maxAttempts?: number; maxRateLimitRetries?: number };
  /**
   * Registry of per-account limiters. Default: the process-wide one, so every client of one
   * HubSpot account shares one limiter. Tests pass their own for isolation.
   */
  limiters?: LimiterRegistry;
  /**
   * The account's portal ID when the spec names it (spec.hubspot.portalId): the shared limiter is
   * keyed by it from the first request, and getPortalId() verifies it. Absent: the client learns
   * the portal from the token before its first request (private-app token:
   * `/account-info/v3/details`; OAuth: `/oauth/v1/access-tokens/{token}`), once per credential
   * and process, so two tokens of one account always share one limiter.
   */
  portalId?: number;
  /**
   * Property definitions shared by the clients of one account (property-cache.ts). Without it,
   * every listProperties call reads HubSpot.
   */
  propertyCache?: PropertyCache;
  /** How requests are sent: default node:http(s) with a keep-alive pool (./http.ts); tests script it. */
  fetch?: HttpFetch;
}

export interface HubSpotObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived?: boolean;
  archivedAt?: string;
  /** Set by batch upsert: true when the record was created by this call. */
  new?: boolean;
  /**
   * IDs of the records merged into this one (HubSpot's `hs_merged_object_ids`, which the client
   * always asks for on reads). A read by an ID that was merged away returns this record, with
   * its new `id`; `BatchResult.inputIndexes` still ties it to the input that asked for the old ID.
   */
  mergedFrom?: string[];
  /** Batch read with `propertiesWithHistory`: each asked property's versions, newest first, as HubSpot sends them. */
  propertiesWithHistory?: Record<string, PropertyVersion[]>;
  /**
   * Batch read with `propertiesWithHistory`: when each asked property last changed (epoch ms of
   * its newest version). A property that was never set has no entry.
   */
  propertyChangedAt?: Record<string, number>;
}

/** One version of a property value (`propertiesWithHistory`). */
export interface PropertyVersion {
  value: string;
  /** ISO-8601. */
  timestamp: string;
  sourceType?: string;
  sourceId?: string;
}

export type AssociationCategory = 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED';

/** An association type (v4): HubSpot's unlabeled and Primary types, or a USER_DEFINED label. */
export interface AssociationType {
  category: AssociationCategory;
  typeId: number;
  /** null for the unlabeled type. */
  label: string | null;
}

/** One associated record of a v4 batch read. */
export interface AssociatedRecord {
  toId: string;
  types: AssociationType[];
}

export interface AssociationReadResult {
  /**
   * Per from-ID asked (as given), its associated records. An ID with no association (HubSpot's
   * NO_ASSOCIATIONS_FOUND, also for a record that does not exist) maps to []. IDs that failed are
   * absent here and listed in `errors`.
   */
  results: Map<string, AssociatedRecord[]>;
  /** `index` is the position in the `ids` argument (-1 when HubSpot named no input). */
  errors: BatchInputError[];
}

/**
 * One association to create or archive. `types` and `label` select association types:
 * - create: both absent → HubSpot's default (unlabeled) association (`batch/associate/default`);
 *   else the named types are created (`batch/create`; HubSpot adds the unlabeled one too).
 * - archive: both absent → the whole association, every type (`batch/archive`); else only the
 *   named types (`batch/labels/archive`; archiving the unlabeled type removes the association).
 * `label` is a label's name as shown in HubSpot, resolved through associationLabels().
 */
export interface AssociationInput {
  fromId: string;
  toId: string;
  types?: { category: AssociationCategory; typeId: number }[];
  label?: string;
}

export interface AssociationWriteResult {
  /** Inputs that failed, by position in the argument; every other input was applied. */
  errors: BatchInputError[];
}

export interface Page<T> {
  results: T[];
  /** Cursor of the next page; absent on the last page. */
  after?: string;
  /** Search only: total number of matches. */
  total?: number;
}

export type SearchOperator =
  | 'EQ' | 'NEQ' | 'LT' | 'LTE' | 'GT' | 'GTE' | 'BETWEEN' | 'IN' | 'NOT_IN'
  | 'HAS_PROPERTY' | 'NOT_HAS_PROPERTY' | 'CONTAINS_TOKEN' | 'NOT_CONTAINS_TOKEN';

export interface SearchFilter {
  propertyName: string;
  operator: SearchOperator;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface SearchRequest {
  filterGroups: { filters: SearchFilter[] }[];
  sorts?: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  properties: string[];
  limit: number; // <= 200
  after?: string;
}

/** One input of a batch call that failed, tied back to the input by index. */
export interface BatchInputError {
  index: number;
  category: ErrorCategory;
  message: string;
  correlationId?: string;
  /** HubSpot error code / sub-category, e.g. INVALID_EMAIL, for the audit log. */
  code?: string;
}

export interface BatchResult {
  results: HubSpotObject[];
  /** Sorted by index. `index` is -1 only when HubSpot reported an error naming no input. */
  errors: BatchInputError[];
  /**
   * Parallel to `results`: the input each result belongs to (by objectWriteTraceId, id or the
   * idProperty value), -1 when HubSpot gave nothing to tie it back. Set by the HubSpot client.
   */
  inputIndexes?: number[];
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';
  fieldType: string;
  groupName?: string;
  hasUniqueValue?: boolean;
  options?: { label: string; value: string }[];
  modificationMetadata?: { readOnlyValue?: boolean };
  hubspotDefined?: boolean;
}

export interface ApiUsage {
  requestsLast24h: number;
  rateLimitedLast24h: number;
  dailyBudget: number;
  /** Remaining in the rolling 10-second window and the day, as last seen. */
  remainingInWindow: number;
  remainingToday: number;
}

export interface HubSpotClient {
  /**
   * Portal of the credentials, asked from HubSpot once (verifies spec.hubspot.portalId); from
   * then on the client paces in its portal's shared limiter.
   */
  getPortalId(): Promise<number>;
  /** The portal of the credentials once learned (by getPortalId or before the first request), for status.portalId. */
  portalId(): number | undefined;
  /**
   * Property definitions of an object type. With a property cache: served from it while younger
   * than `maxAgeMs` (default: the cache's TTL; this client's first read of a type accepts only a
   * recent entry); `maxAgeMs: 0` forces a read. The returned list may be shared: do not modify it.
   */
  listProperties(objectType: string, opts?: { maxAgeMs?: number }): Promise<PropertyDefinition[]>;
  createProperty(objectType: string, def: Omit<PropertyDefinition, 'fieldType'> & { fieldType?: string }): Promise<PropertyDefinition>;
  listObjects(objectType: string, q: { limit: number; after?: string; properties: string[]; archived?: boolean }): Promise<Page<HubSpotObject>>;
  searchObjects(objectType: string, q: SearchRequest): Promise<Page<HubSpotObject>>;
  /**
   * Batch read, 100 IDs per request (50 with `propertiesWithHistory`, HubSpot's limit). With
   * `propertiesWithHistory`, each result carries `propertiesWithHistory` and `propertyChangedAt`
   * for those properties (their values are in `properties` as well). A merged-away ID returns
   * the merged record (its new id, `mergedFrom`); several inputs resolving to one record each get
   * their own entry in `results`.
   */
  batchRead(objectType: string, q: { ids: string[]; properties: string[]; idProperty?: string; archived?: boolean; propertiesWithHistory?: string[] }): Promise<BatchResult>;
  batchCreate(objectType: string, inputs: { properties: Record<string, string> }[]): Promise<BatchResult>;
  batchUpdate(objectType: string, inputs: { id: string; properties: Record<string, string> }[]): Promise<BatchResult>;
  batchUpsert(objectType: string, inputs: { id: string; idProperty: string; properties: Record<string, string> }[]): Promise<BatchResult>;
  batchArchive(objectType: string, ids: string[]): Promise<BatchResult>;
  /**
   * Associations v4 of `ids` (records of `fromType`) to records of `toType`: 1,000 IDs per
   * request, following HubSpot's per-input paging.
   */
  readAssociations(fromType: string, toType: string, ids: string[]): Promise<AssociationReadResult>;
  /** Create associations (1,000 per request); see AssociationInput for types and labels. */
  createAssociations(fromType: string, toType: string, inputs: AssociationInput[]): Promise<AssociationWriteResult>;
  /** Archive associations, whole or only some types/a label (1,000 per request). */
  archiveAssociations(fromType: string, toType: string, inputs: AssociationInput[]): Promise<AssociationWriteResult>;
  /** Every association type of the pair (unlabeled, Primary, labels); cached per account for 5 minutes unless `refresh`. */
  associationLabels(fromType: string, toType: string, opts?: { refresh?: boolean }): Promise<AssociationType[]>;
  usage(): ApiUsage;
  /** Stop counting this client's settings in its account's shared limiter (integration removed). */
  close?(): void;
}

/** A failure of a whole request (after retries), classified. Messages never contain secrets. */
export class HubSpotApiError extends Error {
  readonly category: ErrorCategory;
  readonly status: number;
  readonly correlationId?: string;
  readonly policyName?: string;

  constructor(message: string, category: ErrorCategory, status: number, correlationId?: string, policyName?: string) {
    super(message);
    this.name = 'HubSpotApiError';
    this.category = category;
    this.status = status;
    this.correlationId = correlationId;
    this.policyName = policyName;
  }
}
