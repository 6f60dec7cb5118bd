/**
 * Classification of HubSpot failures into the error categories of DESIGN §2.5.
 *
 * HubSpot's error bodies vary between APIs; every field is optional here:
 *   {status, message, correlationId, category, subCategory, errors: [{message, code, context}],
 *    context, policyName, errorType}
 * Pure functions only: the transport feeds them a status and the parsed body.
 */
import type { ErrorCategory } from '../api/categories.js';
import { HubSpotApiError } from './types.js';

export interface HubSpotErrorDetail {
  message?: string;
  code?: string;
  subCategory?: string;
  in?: string;
  context?: Record<string, unknown>;
}

export interface HubSpotErrorBody {
  status?: string;
  message?: string;
  correlationId?: string;
  category?: string;
  subCategory?: unknown;
  errors?: HubSpotErrorDetail[];
  context?: Record<string, unknown>;
  policyName?: string;
  errorType?: string;
  id?: string;
}

export interface Classification {
  category: ErrorCategory;
  /** The most specific HubSpot code: errors[].code, else subCategory, else category. */
  code?: string;
  /** HubSpot's own message (already redacted by the caller when it could echo secrets). */
  message: string;
  correlationId?: string;
  policyName?: string;
}

const MAX_MESSAGE_CHARS = 500;

/** Parse a response body as a HubSpot error; tolerant of HTML, empty and non-object bodies. */
export function parseErrorBody(text: string): HubSpotErrorBody {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as HubSpotErrorBody;
  } catch {
    // not JSON (a proxy's HTML page, a truncated body): keep the start as the message
  }
  return { message: text.slice(0, 200) };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The most specific code HubSpot gave: the first errors[].code, else subCategory, else category. */
export function errorCode(body: HubSpotErrorBody): string | undefined {
  for (const e of body.errors ?? []) {
    const c = str(e?.code) ?? str(e?.subCategory);
    if (c) return c;
  }
  return str(body.subCategory) ?? str(body.category) ?? str(body.errorType);
}

/** Every code-like string of the body, upper-cased, to match against. */
function allCodes(body: HubSpotErrorBody): string[] {
  const out: string[] = [];
  const push = (v: unknown): void => {
    if (typeof v === 'string' && v) out.push(v.toUpperCase());
  };
  push(body.category);
  push(body.subCategory);
  push(body.errorType);
  for (const e of body.errors ?? []) {
    push(e?.code);
    push(e?.subCategory);
  }
  return out;
}

const DUPLICATE_TEXT = /already exists|already has that value|duplicate|unique value|must be unique|is not unique/i;
const UNKNOWN_OBJECT_TYPE_TEXT = /unable to infer object type|unknown object type|object type .* (does not exist|not found)|invalid object type/i;
const MISSING_PROPERTY_TEXT = /property .* does(n't| not) exist|PROPERTY_DOESNT_EXIST|property not found/i;

/**
 * Map an HTTP status and HubSpot error body to a category (DESIGN §2.5).
 * status 0 means a network failure (reset, refused, timeout) with no response.
 */
export function classify(status: number, body: HubSpotErrorBody = {}): Classification {
  const codes = allCodes(body);
  const has = (c: string): boolean => codes.includes(c);
  const message = describe(body) ?? (status === 0 ? 'network failure' : `HTTP ${status}`);
  const base = { code: errorCode(body), message, correlationId: str(body.correlationId), policyName: str(body.policyName) };
  const category = categoryOf(status, body, has, message);
  return { category, ...base };
}

function categoryOf(status: number, body: HubSpotErrorBody, has: (c: string) => boolean, message: string): ErrorCategory {
  if (status === 0 || status === 408 || status >= 500) return 'Transient';
  if (status === 429 || has('RATE_LIMITS') || body.policyName) return 'RateLimit';
  if (status === 401 || has('EXPIRED_AUTHENTICATION') || has('INVALID_AUTHENTICATION') || has('BAD_REFRESH_TOKEN')) {
    return 'Authentication';
  }
  if (status === 403 || has('MISSING_SCOPES')) return 'Permission';
  if (status === 409 || has('CONFLICT') || has('DUPLICATE_VALUE') || DUPLICATE_TEXT.test(message)) return 'Duplicate';
  if (status === 404 || has('OBJECT_NOT_FOUND') || has('PROPERTY_DOESNT_EXIST') || has('OBJECT_TYPE_NOT_FOUND')) return 'NotFound';
  if (UNKNOWN_OBJECT_TYPE_TEXT.test(message) || MISSING_PROPERTY_TEXT.test(message)) return 'NotFound';
  return 'Validation';
}

/** HubSpot's message plus the first detail messages, bounded in length. */
function describe(body: HubSpotErrorBody): string | undefined {
  const parts: string[] = [];
  const top = str(body.message);
  if (top) parts.push(top);
  for (const e of (body.errors ?? []).slice(0, 3)) {
    const m = str(e?.message);
    if (m && m !== top) parts.push(m);
  }
  if (parts.length === 0) return undefined;
  const text = parts.join('; ');
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

/** True when the body says an object type is unknown (not a record or a property). */
export function isUnknownObjectType(body: HubSpotErrorBody): boolean {
  const text = describe(body) ?? '';
  return UNKNOWN_OBJECT_TYPE_TEXT.test(text) || allCodes(body).includes('OBJECT_TYPE_NOT_FOUND');
}

/** True when the body says a property is unknown: every input naming it fails alike. */
export function isMissingProperty(body: HubSpotErrorBody): boolean {
  return allCodes(body).includes('PROPERTY_DOESNT_EXIST') || MISSING_PROPERTY_TEXT.test(describe(body) ?? '');
}

/**
 * A failed request, classified. Carries HubSpot's parsed body (for batch isolation) and the
 * most specific code; still an instance of the contract's HubSpotApiError.
 */
export class HubSpotRequestError extends HubSpotApiError {
  readonly code?: string;
  readonly body: HubSpotErrorBody;

  constructor(what: string, status: number, c: Classification, body: HubSpotErrorBody) {
    const codePart = c.code ? ` ${c.code}` : '';
    const corr = c.correlationId ? ` (correlationId ${c.correlationId})` : '';
    const statusPart = status === 0 ? '' : ` ${status}`;
    super(`HubSpot ${what} failed:${statusPart}${codePart}: ${c.message}${corr}`, c.category, status, c.correlationId, c.policyName);
    this.name = 'HubSpotApiError';
    this.code = c.code;
    this.body = body;
  }
}

/**
 * Removes known secrets (and anything that looks like a bearer token) from text that may be
 * logged or shown in status. Built once per client from its credentials.
 */
export function makeRedactor(secrets: () => readonly string[]): (text: string) => string {
  return (text: string): string => {
    let out = text.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer [redacted]');
    for (const s of secrets()) {
      if (s && s.length >= 4 && out.includes(s)) out = out.split(s).join('[redacted]');
    }
    return out;
  };
}

/** An abort caused by the caller's signal, as fetch and timers report it. */
export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new Error(reason instanceof Error ? reason.message : 'The operation was aborted');
  err.name = 'AbortError';
  return err;
}
