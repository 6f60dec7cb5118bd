/**
 * Contract of the HubSpot client wrapper (operator/src/hubspot). The sync engine codes against
 * these types only; the implementation (auth, shared rate limiter, retries, classification)
 * lives beside this file. Extend compatibly.
 */
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
   * Property definitions shared by the clients of one account (property-cache.ts). Without it,
   * every listProperties call reads HubSpot.
   */
  propertyCache?: PropertyCache;
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
  /** Portal of the credentials (verifies spec.hubspot.portalId). */
  getPortalId(): Promise<number>;
  /**
   * Property definitions of an object type. With a property cache: served from it while younger
   * than `maxAgeMs` (default: the cache's TTL; this client's first read of a type accepts only a
   * recent entry); `maxAgeMs: 0` forces a read. The returned list may be shared: do not modify it.
   */
  listProperties(objectType: string, opts?: { maxAgeMs?: number }): Promise<PropertyDefinition[]>;
  createProperty(objectType: string, def: Omit<PropertyDefinition, 'fieldType'> & { fieldType?: string }): Promise<PropertyDefinition>;
  listObjects(objectType: string, q: { limit: number; after?: string; properties: string[]; archived?: boolean }): Promise<Page<HubSpotObject>>;
  searchObjects(objectType: string, q: SearchRequest): Promise<Page<HubSpotObject>>;
  batchRead(objectType: string, q: { ids: string[]; properties: string[]; idProperty?: string; archived?: boolean }): Promise<BatchResult>;
  batchCreate(objectType: string, inputs: { properties: Record<string, string> }[]): Promise<BatchResult>;
  batchUpdate(objectType: string, inputs: { id: string; properties: Record<string, string> }[]): Promise<BatchResult>;
  batchUpsert(objectType: string, inputs: { id: string; idProperty: string; properties: Record<string, string> }[]): Promise<BatchResult>;
  batchArchive(objectType: string, ids: string[]): Promise<BatchResult>;
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
