/**
 * At most `--max-concurrent-syncs` sync cycles at once across every integration of the process
 * (DESIGN §4). A worker asks for a slot before a cycle and gives it back when the cycle ends.
 * Waiters are served first come, first served; a worker waits for at most one cycle at a time,
 * so FIFO order is fair across integrations: one that syncs often cannot overtake one that
 * waits, and nothing starves. A wait can be abandoned (stop, suspend) without losing a slot.
 */

export interface SyncSlotsObserver {
  /** Workers waiting for a slot. */
  queued?(depth: number): void;
  /** Cycles running (slots in use). */
  running?(n: number): void;
  /** How long a worker waited for its slot. */
  waited?(seconds: number): void;
}

export type ReleaseSlot = () => void;

interface Waiter {
  key: string;
  since: number;
  grant: (release: ReleaseSlot) => void;
}

export class SyncSlots {
  readonly limit: number;
  private inUse = 0;
  private readonly waiters: Waiter[] = [];
  private readonly observer: SyncSlotsObserver;
  private readonly now: () => number;

  constructor(limit: number, observer: SyncSlotsObserver = {}, now: () => number = () => performance.now()) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`max concurrent syncs: ${limit} is not a positive integer`);
    this.limit = limit;
    this.observer = observer;
    this.now = now;
    this.report();
  }

  /** Cycles running now. */
  get running(): number {
    return this.inUse;
  }

  /** Workers waiting for a slot now. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Keys waiting, in the order they will be served. */
  queuedKeys(): string[] {
    return this.waiters.map((w) => w.key);
  }

  /**
   * Resolves with a release function once a slot is free, or with undefined when `signal`
   * aborts first (the place in the queue is given up; no slot is held).
   */
  acquire(key: string, signal?: AbortSignal): Promise<ReleaseSlot | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.inUse < this.limit && this.waiters.length === 0) {
      this.inUse++;
      this.observer.waited?.(0);
      this.report();
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        since: this.now(),
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        this.report();
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.report();
    });
  }

  private releaser(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      this.dispatch();
    };
  }

  private dispatch(): void {
    while (this.inUse < this.limit && this.waiters.length > 0) {
      const next = this.waiters.shift()!;
      this.inUse++;
      this.observer.waited?.((this.now() - next.since) / 1000);
      next.grant(this.releaser());
    }
    this.report();
  }

  private report(): void {
    this.observer.queued?.(this.waiters.length);
    this.observer.running?.(this.inUse);
  }
}
