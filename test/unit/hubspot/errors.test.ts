import { describe, expect, it } from 'vitest';
import { classify, makeRedactor, parseErrorBody, HubSpotRequestError } from '../../../operator/src/hubspot/errors.js';
import { HubSpotApiError } from '../../../operator/src/hubspot/types.js';

describe('classify: HTTP status + HubSpot body → DESIGN §2.5 category', () => {
  it.each([
    [400, { category: 'VALIDATION_ERROR', message: 'Property values were not valid: [{"isValid":false,"message":"foo is not a valid email","error":"INVALID_EMAIL","name":"email"}]', errors: [{ code: 'INVALID_EMAIL', message: 'foo is not a valid email' }] }, 'Validation', 'INVALID_EMAIL'],
    [409, { category: 'CONFLICT', message: 'Contact already exists. Existing ID: 51' }, 'Duplicate', 'CONFLICT'],
    [400, { category: 'VALIDATION_ERROR', message: 'A record with this value already exists for unique property ext_id' }, 'Duplicate', 'VALIDATION_ERROR'],
    [401, { category: 'EXPIRED_AUTHENTICATION', message: 'The OAuth token used to make this call expired' }, 'Authentication', 'EXPIRED_AUTHENTICATION'],
    [401, {}, 'Authentication', undefined],
    [403, { category: 'MISSING_SCOPES', message: 'This app hasn\'t been granted all required scopes', errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.contacts.write'] } }] }, 'Permission', 'MISSING_SCOPES'],
    [404, { category: 'OBJECT_NOT_FOUND', message: 'resource not found' }, 'NotFound', 'OBJECT_NOT_FOUND'],
    [400, { category: 'VALIDATION_ERROR', message: 'Unable to infer object type from: p_nope' }, 'NotFound', 'VALIDATION_ERROR'],
    [400, { category: 'VALIDATION_ERROR', message: 'Property values were not valid', errors: [{ code: 'PROPERTY_DOESNT_EXIST', message: 'Property "x" does not exist' }] }, 'NotFound', 'PROPERTY_DOESNT_EXIST'],
    [429, { errorType: 'RATE_LIMIT', policyName: 'DAILY', message: 'You have reached your daily limit.' }, 'RateLimit', 'RATE_LIMIT'],
    [429, { policyName: 'TEN_SECONDLY_ROLLING' }, 'RateLimit', undefined],
    [500, { message: 'internal error' }, 'Transient', undefined],
    [502, {}, 'Transient', undefined],
    [0, {}, 'Transient', undefined],
    [415, { message: 'Unsupported media type' }, 'Validation', undefined],
  ])('%i %j → %s', (status, body, category, code) => {
    const c = classify(status as number, body as object);
    expect(c.category).toBe(category);
    expect(c.code).toBe(code);
  });

  it('keeps correlationId and policyName, and a bounded message', () => {
    const c = classify(429, { message: 'x'.repeat(5000), correlationId: 'abc-123', policyName: 'DAILY' });
    expect(c.correlationId).toBe('abc-123');
    expect(c.policyName).toBe('DAILY');
    expect(c.message.length).toBeLessThan(600);
  });

  it('a request error reads well and is a HubSpotApiError', () => {
    const body = { category: 'VALIDATION_ERROR', message: 'bad', correlationId: 'c-1' };
    const e = new HubSpotRequestError('batch update of contacts', 400, classify(400, body), body);
    expect(e).toBeInstanceOf(HubSpotApiError);
    expect(e.message).toBe('HubSpot batch update of contacts failed: 400 VALIDATION_ERROR: bad (correlationId c-1)');
    expect(e.category).toBe('Validation');
  });
});

describe('parseErrorBody', () => {
  it('tolerates HTML, empty bodies and arrays', () => {
    expect(parseErrorBody('')).toEqual({});
    expect(parseErrorBody('<html>Bad gateway</html>').message).toContain('Bad gateway');
    expect(parseErrorBody('[1,2]').message).toBe('[1,2]');
    expect(parseErrorBody('{"message":"m","category":"CONFLICT"}').category).toBe('CONFLICT');
  });
});

describe('makeRedactor', () => {
  it('removes known secrets and bearer tokens', () => {
    const redact = makeRedactor(() => ['pat-na1-0123456789', 'refresh-abc']);
    const out = redact('token pat-na1-0123456789 rejected; refresh-abc; header Bearer eyJhbGciOi.x.y');
    expect(out).not.toContain('pat-na1-0123456789');
    expect(out).not.toContain('refresh-abc');
    expect(out).not.toContain('eyJhbGciOi');
  });
});
