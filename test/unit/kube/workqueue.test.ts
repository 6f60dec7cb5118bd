import { describe, expect, it } from 'vitest';
import { ExponentialBackoff, delayFor } from '../../../operator/src/kube/backoff.js';
import { ManualClock, flushMicrotasks } from '../../../operator/src/kube/clock.js';
import { WorkQueue } from '../../../operator/src/kube/workqueue.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('backoff', () => {
  it('doubles per failure up to the cap and resets on forget', () => {
    const b = new ExponentialBackoff({ baseMs: 100, maxMs: 1000 });
    expect([b.next('a'), b.next('a'), b.next('a'), b.next('a'), b.next('a')]).toEqual([100, 200, 400, 800, 1000]);
    expect(b.next('b')).toBe(100);
    b.forget('a');
    expect(b.next('a')).toBe(100);
    expect(delayFor(100, 1, 60_000)).toBe(60_000);
  });
});

describe('WorkQueue', () => {
  it('processes a key added many times while queued only once', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const q = new WorkQueue({ name: 't', concurrency: 1, handler: async (k) => { seen.push(k); await gate.promise; } });
    q.add('blocker');
    for (let i = 0; i < 5; i++) q.add('a');
    gate.resolve();
    await q.idle();
    expect(seen).toEqual(['blocker', 'a']);
  });

  it('never runs one key twice at once; an add during processing re-runs it after', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    const q = new WorkQueue({
      name: 't',
      concurrency: 4,
      handler: async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        if (runs === 1) await gate.promise;
        running--;
      },
    });
    q.add('k');
    await flushMicrotasks();
    q.add('k');
    q.add('k');
    gate.resolve();
    await q.idle();
    await flushMicrotasks();
    await q.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('caps concurrency across keys', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue({
      name: 't',
      concurrency: 2,
      handler: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setImmediate(r));
        running--;
      },
    });
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await q.idle();
    expect(maxRunning).toBe(2);
  });

  it('retries a failing key with exponential backoff and forgets it after success', async () => {
    const clock = new ManualClock();
    const times: number[] = [];
    let failuresLeft = 3;
    const retries: number[] = [];
    const q = new WorkQueue({
      name: 't',
      clock,
      backoff: new ExponentialBackoff({ baseMs: 100, maxMs: 10_000 }),
      observer: { retried: () => retries.push(clock.now()) },
      handler: async () => {
        times.push(clock.now());
        if (failuresLeft-- > 0) throw new Error('boom');
      },
    });
    q.add('k');
    await clock.advance(0);
    await clock.advance(1000);
    expect(times).toEqual([0, 100, 300, 700]);
    expect(retries).toHaveLength(3);
    // After the success the backoff starts again from the base delay.
    failuresLeft = 1;
    q.add('k');
    await clock.advance(0);
    await clock.advance(100);
    expect(times.slice(4)).toEqual([1000, 1100]);
  });

  it('requeueAfter schedules a later run without counting a failure; the earliest delayed add wins', async () => {
    const clock = new ManualClock();
    const times: number[] = [];
    const q = new WorkQueue({ name: 't', clock, handler: async () => { times.push(clock.now()); return times.length === 1 ? { requeueAfterMs: 500 } : undefined; } });
    q.add('k');
    await clock.advance(0);
    q.addAfter('k', 200);
    await clock.advance(1000);
    expect(times).toEqual([0, 200]);
  });

  it('shutdown waits for handlers in flight and takes no new work', async () => {
    const gate = deferred();
    let done = false;
    const q = new WorkQueue({ name: 't', handler: async () => { await gate.promise; done = true; } });
    q.add('a');
    await flushMicrotasks();
    const stopping = q.shutdown();
    q.add('b');
    gate.resolve();
    await stopping;
    expect(done).toBe(true);
    expect(q.length).toBe(0);
  });
});
