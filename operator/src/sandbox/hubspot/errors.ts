/**
 * HubSpot's error body shapes. Every error the sandbox returns is one of these, JSON, with a
 * `correlationId` (a UUID, as HubSpot's) so clients can log and report it.
 */
import { randomUUID } from 'node:crypto';

export interface ErrorDetail {
  message: string;
  code?: string;
  in?: string;
  subCategory?: string;
  context?: Record<string, string[]>;
}

export interface HubSpotErrorBody {
  status: string;
  message: string;
  correlationId: string;
  category?: string;
  subCategory?: string;
  errors?: ErrorDetail[];
  context?: Record<string, string[]>;
  links?: Record<string, string>;
  [extra: string]: unknown;
}

/** Thrown by handlers; the HTTP layer turns it into the response. */
export class HubSpotHttpError extends Error {
  readonly status: number;
  readonly body: HubSpotErrorBody;
  readonly headers: Record<string, string>;

  constructor(status: number, body: { message: string; status?: string; category?: string; [extra: string]: unknown }, headers: Record<string, string> = {}) {
    super(body.message);
    this.status = status;
    this.body = { status: 'error', ...body, message: body.message, correlationId: randomUUID() } as HubSpotErrorBody;
    this.headers = headers;
  }
}

export function correlationId(): string {
  return randomUUID();
}

export function badRequest(message: string, errors?: ErrorDetail[], context?: Record<string, string[]>): HubSpotHttpError {
  return new HubSpotHttpError(400, { message, category: 'VALIDATION_ERROR', ...(errors ? { errors } : {}), ...(context ? { context } : {}) });
}

export function notFound(message: string, context?: Record<string, string[]>): HubSpotHttpError {
  return new HubSpotHttpError(404, { message, category: 'OBJECT_NOT_FOUND', ...(context ? { context } : {}) });
}

/** A property value problem, as HubSpot reports it inside VALIDATION_ERROR. */
export interface PropertyValueError {
  propertyName: string;
  code: string; // INVALID_EMAIL, INVALID_INTEGER, INVALID_OPTION, PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE...
  message: string;
}

/**
 * HubSpot's body for invalid property values: the legacy JSON-in-message form (which existing
 * clients parse) plus a structured `errors` array.
 */
export function propertyValuesError(problems: PropertyValueError[]): HubSpotHttpError {
  const legacy = problems.map((p) => ({ isValid: false, message: p.message, error: p.code, name: p.propertyName }));
  return new HubSpotHttpError(400, {
    message: `Property values were not valid: ${JSON.stringify(legacy)}`,
    category: 'VALIDATION_ERROR',
    errors: problems.map((p) => ({ message: p.message, code: p.code, context: { propertyName: [p.propertyName] } })),
  });
}

/** One failed input of a batch (an element of a 207 body's `errors`). */
export interface BatchError {
  status: 'error';
  category: string;
  message: string;
  context: Record<string, string[]>;
  errors?: ErrorDetail[];
  subCategory?: string;
  correlationId: string;
}

export function batchErrorFrom(err: HubSpotHttpError, context: Record<string, string[]>): BatchError {
  return {
    status: 'error',
    category: err.body.category ?? 'VALIDATION_ERROR',
    message: err.body.message,
    context: { ...(err.body.context ?? {}), ...context },
    ...(err.body.errors ? { errors: err.body.errors } : {}),
    correlationId: err.body.correlationId,
  };
}
