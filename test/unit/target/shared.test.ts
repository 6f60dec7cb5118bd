import { describe, expect, it } from 'vitest';
import { SharedRegistry } from '../../../operator/src/target/shared.js';

describe('SharedRegistry (one resource per database, refcounted)', () => {
  it('creates a resource once per key, and destroys it when the last user releases it', async () => {
    const destroyed: string[] = [];
    let created = 0;
    const reg = new SharedRegistry<string>(async (v) => void destroyed.push(v));
    const make = (v: string) => async () => {
      created++;
      return v;
    };
    const [a, b] = await Promise.all([reg.acquire('db1', make('pool-1')), reg.acquire('db1', make('pool-1b'))]);
    const c = await reg.acquire('db2', make('pool-2'));
    expect([a.value, b.value, c.value]).toEqual(['pool-1', 'pool-1', 'pool-2']);
    expect(created).toBe(2);
    expect(reg.size).toBe(2);
    await a.release();
    await a.release(); // idempotent: does not count twice
    expect(destroyed).toEqual([]);
    await b.release();
    expect(destroyed).toEqual(['pool-1']);
    await c.release();
    expect(destroyed).toEqual(['pool-1', 'pool-2']);
    expect(reg.size).toBe(0);
  });

  it('does not keep a failed creation: the next user tries again', async () => {
    const reg = new SharedRegistry<string>(async () => {});
    await expect(reg.acquire('db', async () => Promise.reject(new Error('ECONNREFUSED')))).rejects.toThrow('ECONNREFUSED');
    expect(reg.size).toBe(0);
    const ok = await reg.acquire('db', async () => 'pool');
    expect(ok.value).toBe('pool');
  });
});
