import { describe, expect, it } from 'vitest';
import { mapBatchResponse, sendIsolating, type BatchInput, type RawBatchResponse } from '../../../operator/src/hubspot/batch.js';
import { classify, HubSpotRequestError, type HubSpotErrorBody } from '../../../operator/src/hubspot/errors.js';
import type { HubSpotObject } from '../../../operator/src/hubspot/types.js';

const obj = (id: string, properties: Record<string, string> = {}, extra: object = {}): HubSpotObject =>
  ({ id, properties, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', ...extra }) as HubSpotObject;
const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('mapBatchResponse: 207 errors tied back to inputs', () => {
  it('by context.ids (batch read / update / archive)', () => {
    const inputs: BatchInput[] = [{ id: '1' }, { id: '2' }, { id: '3' }];
    const raw: RawBatchResponse = {
      status: 'COMPLETE',
      results: [obj('1'), obj('3')],
      errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects', context: { ids: ['2'] }, correlationId: 'c9' }],
    };
    const r = mapBatchResponse(raw, inputs, all(3));
    expect(r.inputIndexes).toEqual([0, 2]);
    expect(r.errors).toEqual([{ index: 1, category: 'NotFound', message: 'Could not get some CONTACT objects', correlationId: 'c9', code: 'OBJECT_NOT_FOUND' }]);
  });

  it('by idProperty value, case-insensitively (upsert by email)', () => {
    const inputs: BatchInput[] = [
      { id: 'A@x.com', idProperty: 'email', properties: {} },
      { id: 'b@x.com', idProperty: 'email', properties: {} },
    ];
    const raw: RawBatchResponse = {
      results: [obj('9', { email: 'a@x.com' }, { new: true })],
      errors: [{ category: 'VALIDATION_ERROR', message: 'bad', context: { email: ['B@X.COM'] } }],
    };
    const r = mapBatchResponse(raw, inputs, all(2));
    expect(r.inputIndexes).toEqual([0]);
    expect(r.errors.map((e) => [e.index, e.category])).toEqual([[1, 'Validation']]);
  });

  it('by objectWriteTraceId (batch create with multi-status)', () => {
    const inputs: BatchInput[] = [{ traceId: '0', properties: { email: 'a@x' } }, { traceId: '1', properties: { email: 'bad' } }];
    const raw: RawBatchResponse = {
      results: [obj('5', {}, { objectWriteTraceId: '0' })],
      errors: [{ category: 'VALIDATION_ERROR', message: 'Email address bad is invalid', context: { objectWriteTraceId: ['1'] }, errors: [{ code: 'INVALID_EMAIL', message: 'x' }] }],
    };
    const r = mapBatchResponse(raw, inputs, all(2));
    expect(r.inputIndexes).toEqual([0]);
    expect(r.errors).toMatchObject([{ index: 1, category: 'Validation', code: 'INVALID_EMAIL' }]);
  });

  it('errors naming no input go to the inputs without a result, in order', () => {
    const inputs: BatchInput[] = [{ id: '1' }, { id: '2' }, { id: '3' }];
    const raw: RawBatchResponse = {
      results: [obj('2')],
      errors: [
        { category: 'VALIDATION_ERROR', message: 'first', context: { propertyName: ['amount'] } },
        { category: 'VALIDATION_ERROR', message: 'second', context: { propertyName: ['amount'] } },
      ],
    };
    const r = mapBatchResponse(raw, inputs, all(3));
    expect(r.errors.map((e) => [e.index, e.message])).toEqual([[0, 'first'], [2, 'second']]);
  });

  it('a complete answer with nothing to tie results by is taken in input order', () => {
    const inputs: BatchInput[] = [{ id: 'a@x', idProperty: 'email' }, { id: 'b@x', idProperty: 'email' }];
    const r = mapBatchResponse({ results: [obj('10', { firstname: 'A' }), obj('11', { firstname: 'B' })] }, inputs, all(2));
    expect(r.inputIndexes).toEqual([0, 1]);
  });

  it('an error that cannot be tied to any input stays visible with index -1', () => {
    const inputs: BatchInput[] = [{ id: '1' }];
    const r = mapBatchResponse({ results: [obj('1')], errors: [{ category: 'VALIDATION_ERROR', message: '?' }] }, inputs, all(1));
    expect(r.errors.map((e) => e.index)).toEqual([-1]);
  });
});

/** A fake HubSpot batch/create that rejects a whole batch if any input is bad, as HubSpot does. */
function fakeCreate(inputs: BatchInput[], isBad: (i: BatchInput) => HubSpotErrorBody | undefined, status = 400) {
  const calls: number[][] = [];
  const send = async (positions: number[]): Promise<RawBatchResponse> => {
    calls.push(positions);
    for (const p of positions) {
      const body = isBad(inputs[p]!);
      if (body) throw new HubSpotRequestError('batch create of contacts', status, classify(status, body), body);
    }
    return { results: positions.map((p) => obj(String(1000 + p), inputs[p]!.properties, { objectWriteTraceId: inputs[p]!.traceId })) };
  };
  return { send, calls };
}

describe('sendIsolating: one bad record never blocks the other 99', () => {
  const inputs: BatchInput[] = Array.from({ length: 100 }, (_, i) => ({ traceId: String(i), properties: { email: `user${i}@example.com`, firstname: `F${i}` } }));

  it('finds the bad input from HubSpot quoting its value, in 3 requests', async () => {
    inputs[37]!.properties!.email = 'not-an-email';
    const { send, calls } = fakeCreate(inputs, (i) =>
      i.properties!.email === 'not-an-email'
        ? { category: 'VALIDATION_ERROR', message: `Property values were not valid: [{"isValid":false,"message":"Email address not-an-email is invalid","error":"INVALID_EMAIL","name":"email"}]` }
        : undefined,
    );
    const r = await sendIsolating(inputs, send);
    expect(r.results).toHaveLength(99);
    expect(r.errors).toMatchObject([{ index: 37, category: 'Validation' }]);
    expect(new Set(r.inputIndexes).size).toBe(99);
    expect(r.inputIndexes).not.toContain(37);
    expect(calls).toHaveLength(3);
    inputs[37]!.properties!.email = 'user37@example.com';
  });

  it('uses the error context when it names the input', async () => {
    const { send, calls } = fakeCreate(inputs, (i) => (i.traceId === '5' ? { category: 'VALIDATION_ERROR', message: 'bad', context: { inputIndex: ['5'] } } : undefined));
    const r = await sendIsolating(inputs, send);
    expect(r.errors.map((e) => e.index)).toEqual([5]);
    expect(r.results).toHaveLength(99);
    expect(calls).toHaveLength(2);
  });

  it('splits in halves when nothing identifies the input (a duplicate on create), with few extra requests', async () => {
    const { send, calls } = fakeCreate(
      inputs,
      (i) => (i.traceId === '64' || i.traceId === '3' ? { category: 'CONFLICT', message: 'Contact already exists. Existing ID: 77' } : undefined),
      409,
    );
    const r = await sendIsolating(inputs, send);
    expect(r.errors.map((e) => [e.index, e.category])).toEqual([[3, 'Duplicate'], [64, 'Duplicate']]);
    expect(r.results).toHaveLength(98);
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * 2 * Math.ceil(Math.log2(100)));
  });

  it('a wrong guess never blames a good record', async () => {
    // The message quotes a value two inputs share; only one is bad.
    const ins: BatchInput[] = [
      { traceId: '0', properties: { city: 'Springfield', zip: 'x' } },
      { traceId: '1', properties: { city: 'Springfield', zip: '12345' } },
      { traceId: '2', properties: { city: 'Paris', zip: '75001' } },
    ];
    const { send } = fakeCreate(ins, (i) => (i.properties!.zip === 'x' ? { category: 'VALIDATION_ERROR', message: 'Springfield: zip x invalid' } : undefined));
    const r = await sendIsolating(ins, send);
    expect(r.errors.map((e) => e.index)).toEqual([0]);
    expect(r.results).toHaveLength(2);
  });

  it('a message quoting a value most records share falls back to halving, at bounded cost', async () => {
    const ins: BatchInput[] = Array.from({ length: 100 }, (_, i) => ({ traceId: String(i), properties: { company: 'Acme', zip: i === 42 ? 'bad' : `1${i}` } }));
    const { send, calls } = fakeCreate(ins, (i) => (i.properties!.zip === 'bad' ? { category: 'VALIDATION_ERROR', message: 'Acme: zip bad invalid' } : undefined));
    const r = await sendIsolating(ins, send);
    expect(r.errors.map((e) => e.index)).toEqual([42]);
    expect(r.results).toHaveLength(99);
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(100)) + 2);
  });

  it('whole-call failures (auth, permission, rate limit, transient, unknown object type) are thrown', async () => {
    for (const [status, body] of [
      [401, { category: 'EXPIRED_AUTHENTICATION', message: 'expired' }],
      [403, { category: 'MISSING_SCOPES', message: 'scopes' }],
      [400, { category: 'VALIDATION_ERROR', message: 'Unable to infer object type from: p_x' }],
    ] as const) {
      const { send, calls } = fakeCreate(inputs, () => body, status);
      await expect(sendIsolating(inputs, send)).rejects.toBeInstanceOf(HubSpotRequestError);
      expect(calls).toHaveLength(1);
    }
  });

  it('an unknown property fails every input at once, without isolating', async () => {
    const { send, calls } = fakeCreate(inputs, () => ({ category: 'VALIDATION_ERROR', message: 'Property values were not valid', errors: [{ code: 'PROPERTY_DOESNT_EXIST', message: 'Property "nope" does not exist' }] }));
    const r = await sendIsolating(inputs, send);
    expect(r.errors).toHaveLength(100);
    expect(r.errors[0]).toMatchObject({ category: 'NotFound', code: 'PROPERTY_DOESNT_EXIST' });
    expect(calls).toHaveLength(1);
  });
});
