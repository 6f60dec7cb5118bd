import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock, flushMicrotasks } from '../../../operator/src/kube/clock.js';
import { SyncSlots } from '../../../operator/src/controller/sync-slots.js';
import { SyncWorker } from '../../../operator/src/controller/worker.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SyncEngine } from '../../../operator/src/sync/types.js';

const logger = pino({ level: 'silent' });

/** Cycles that last until the test finishes them; the engines share one count of cycles in flight. */
class Cycles {
  inFlight = 0;
  maxInFlight = 0;
  started: string[] = [];
  private readonly pending: { key: string; finish: () => void }[] = [];

  engine(key: string, clock: ManualClock): SyncEngine {
    return {
      validate: async () => [],
      runCycle: async (kind: CycleKind, signal: AbortSignal): Promise<CycleReport> => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.started.push(key);
        await new Promise<void>((finish) => this.pending.push({ key, finish }));
        this.inFlight--;
        const now = new Date(clock.now()).toISOString();
        return {
          kind, startedAt: now, finishedAt: now, completed: !signal.aborted, objects: [], errors: [],
          apiUsage: { requestsLast24h: 0, rateLimitedLast24h: 0, dailyBudget: 1 }, syncLagSeconds: 0,
        };
      },
      waitForTargetChange: (signal: AbortSignal) => new Promise<void>((r) => signal.addEventListener('abort', () => r())),
      cleanup: async () => {},
      close: async () => {},
    };
  }

  /** Finishes the oldest cycle in flight. */
  finishOne(): string | undefined {
    const p = this.pending.shift();
    p?.finish();
    return p?.key;
  }

  get running(): number {
    return this.pending.length;
  }
}

function resolved(name: string): ResolvedIntegration {
  return {
    uid: name, namespace: 'ns', name, generation: 1,
    spec: { hubspot: { auth: { privateAppToken: { secretRef: { name: 's' } } } }, target: { postgres: { connectionSecretRef: { name: 'd' } } }, objects: [{ type: 'contacts', table: 'contacts' }] },
    fieldMappings: [], filters: [], credentials: { hubspot: { kind: 'privateAppToken', token: 't' }, databaseUrl: 'pglite://memory' },
  };
}

describe('SyncSlots', () => {
  it('serves waiters first come, first served, and a withdrawn waiter holds no slot', async () => {
    const depths: number[] = [];
    const waits: number[] = [];
    const slots = new SyncSlots(1, { queued: (n) => depths.push(n), waited: (s) => waits.push(s) });
    const first = (await slots.acquire('a'))!;
    const order: string[] = [];
    const b = slots.acquire('b').then((r) => (order.push('b'), r));
    const abort = new AbortController();
    const c = slots.acquire('c', abort.signal).then((r) => (order.push(r ? 'c' : 'c-withdrawn'), r));
    const d = slots.acquire('d').then((r) => (order.push('d'), r));
    expect(slots.queuedKeys()).toEqual(['b', 'c', 'd']);
    abort.abort();
    await c;
    expect(slots.queuedKeys()).toEqual(['b', 'd']);
    first();
    (await b)!();
    (await d)!();
    expect(order).toEqual(['c-withdrawn', 'b', 'd']);
    expect(slots.running).toBe(0);
    expect(slots.queued).toBe(0);
    expect(Math.max(...depths)).toBe(3);
    expect(depths.at(-1)).toBe(0);
    expect(waits).toHaveLength(3);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new SyncSlots(0)).toThrow(/max concurrent syncs: 0 is not a positive integer/);
  });
});

describe('--max-concurrent-syncs through the workers', () => {
  it('with 2 slots and 12 integrations never runs a third cycle at once, and every integration gets its turn in order', async () => {
    const clock = new ManualClock(1_000_000);
    const cycles = new Cycles();
    const queueDepths: number[] = [];
    const slots = new SyncSlots(2, { queued: (n) => queueDepths.push(n) });
    const keys = Array.from({ length: 12 }, (_, i) => `ns/i${String(i).padStart(2, '0')}`);
    const workers = keys.map(
      (key) =>
        new SyncWorker({
          key,
          config: { resolved: resolved(key.slice(3)), suspended: false, intervalMs: 60_000, fullResyncIntervalMs: 3_600_000 },
          history: { initialDone: false },
          engineFactory: () => cycles.engine(key, clock),
          observer: {}, logger, clock, onChange: () => {}, slots,
        }),
    );
    await clock.advance(0);
    expect(cycles.running).toBe(2);
    expect(slots.queued).toBe(10);
    // Finish cycles one at a time: each frees a slot for the next integration in line.
    const finished: string[] = [];
    while (finished.length < 12) {
      finished.push(cycles.finishOne()!);
      await flushMicrotasks();
      expect(cycles.running).toBeLessThanOrEqual(2);
    }
    expect(cycles.maxInFlight).toBe(2);
    expect(cycles.started).toEqual(keys);
    expect(Math.max(...queueDepths)).toBe(10);
    expect(slots.queued).toBe(0);
    // The next round (the interval elapsed for everyone at once) queues fairly again.
    await clock.advance(60_000);
    expect(cycles.running).toBe(2);
    expect(cycles.started.slice(12, 14)).toEqual(keys.slice(0, 2));
    // Stopping workers that wait for a slot gives their place up without taking a slot.
    await Promise.all(workers.slice(2).map((w) => w.stop()));
    expect(slots.queued).toBe(0);
    cycles.finishOne();
    cycles.finishOne();
    await Promise.all(workers.slice(0, 2).map((w) => w.stop()));
    expect(slots.running).toBe(0);
    expect(cycles.maxInFlight).toBe(2);
  });
});
