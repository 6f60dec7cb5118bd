/**
 * A work queue with client-go semantics: a key is queued at most once (de-duplication), never
 * processed by two handlers at once (a key added while it is being processed is re-queued after),
 * retried with per-key exponential backoff on failure, and processed by at most `concurrency`
 * handlers in parallel. Keys are strings such as "namespace/name".
 */
import { ExponentialBackoff } from './backoff.js';
import { systemClock, type Clock, type Timer } from './clock.js';

/** What a handler asks for after a successful run. */
export interface HandlerResult {
  /** Process the key again after this many ms (periodic re-check), without counting a failure. */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<HandlerResult | void>;

/** Hooks for workqueue_* and controller_runtime_* metrics; all optional. */
export interface WorkQueueObserver {
  depth?(n: number): void;
  added?(): void;
  retried?(): void;
  queued?(seconds: number): void;
  worked?(seconds: number, result: 'success' | 'error' | 'requeue_after', error?: unknown): void;
}

export interface WorkQueueOptions {
  name: string;
  handler: Handler;
  concurrency?: number;
  backoff?: ExponentialBackoff;
  clock?: Clock;
  observer?: WorkQueueObserver;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
}

export class WorkQueue {
  readonly name: string;
  private readonly handler: Handler;
  private readonly concurrency: number;
  private readonly backoff: ExponentialBackoff;
  private readonly clock: Clock;
  private readonly observer: WorkQueueObserver;
  private readonly onError?: WorkQueueOptions['onError'];

  /** Keys waiting to be processed, in order, with the time they were queued. */
  private readonly queue: string[] = [];
  private readonly queuedAt = new Map<string, number>();
  /** Keys being processed right now. */
  private readonly processing = new Set<string>();
  /** Keys added while being processed: queued again when their run ends. */
  private readonly dirtyWhileProcessing = new Set<string>();
  /** Delayed adds (backoff, requeueAfter): one timer per key, the earliest wins. */
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private running = 0;
  private shuttingDown = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.handler = opts.handler;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.backoff = opts.backoff ?? new ExponentialBackoff();
    this.clock = opts.clock ?? systemClock;
    this.observer = opts.observer ?? {};
    this.onError = opts.onError;
  }

  get length(): number {
    return this.queue.length;
  }

  /** Queues `key` now, unless it is already queued. */
  add(key: string): void {
    if (this.shuttingDown) return;
    this.observer.added?.();
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queuedAt.has(key)) return;
    this.queue.push(key);
    this.queuedAt.set(key, this.clock.now());
    this.observer.depth?.(this.queue.length);
    this.pump();
  }

  /** Queues `key` after `ms`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Queues `key` after its backoff delay and counts a retry. */
  addRateLimited(key: string): number {
    const delay = this.backoff.next(key);
    this.observer.retried?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key` (after a success). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Stops taking new work and resolves when the handlers in flight have finished. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.queuedAt.clear();
    await this.idle();
  }

  /** Resolves when nothing is queued or running (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (!this.shuttingDown && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      const queuedAt = this.queuedAt.get(key) ?? this.clock.now();
      this.queuedAt.delete(key);
      this.observer.depth?.(this.queue.length);
      this.observer.queued?.((this.clock.now() - queuedAt) / 1000);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
    this.notifyIdle();
  }

  private async process(key: string): Promise<void> {
    const started = this.clock.now();
    try {
      const result = await this.handler(key);
      this.backoff.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        this.observer.worked?.((this.clock.now() - started) / 1000, 'requeue_after');
        this.finish(key);
        this.addAfter(key, result.requeueAfterMs);
      } else {
        this.observer.worked?.((this.clock.now() - started) / 1000, 'success');
        this.finish(key);
      }
    } catch (err) {
      this.observer.worked?.((this.clock.now() - started) / 1000, 'error', err);
      this.finish(key);
      if (!this.shuttingDown) {
        const delay = this.addRateLimited(key);
        this.onError?.(key, err, delay);
      }
    }
  }

  private finish(key: string): void {
    this.processing.delete(key);
    this.running--;
    if (this.dirtyWhileProcessing.delete(key) && !this.shuttingDown) this.enqueue(key);
    this.pump();
  }

  private notifyIdle(): void {
    if (this.running === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
