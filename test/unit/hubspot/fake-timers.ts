/** A manual clock for the rate limiter: time moves only when a test advances it. */
import type { Timers } from '../../../operator/src/hubspot/ratelimit.js';

export class FakeTimers implements Timers {
  private t = 0;
  private seq = 0;
  private timers: { due: number; seq: number; fn: () => void }[] = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const entry = { due: this.t + ms, seq: this.seq++, fn };
    this.timers.push(entry);
    return () => {
      this.timers = this.timers.filter((e) => e !== entry);
    };
  }

  /** Move time forward, firing due timers in order (and letting promise callbacks run between). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.due > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.due);
      next.fn();
    }
    this.t = end;
    await flush();
  }

  /** Time of the next pending timer, if any. */
  nextDue(): number | undefined {
    return this.timers.reduce<number | undefined>((m, e) => (m === undefined || e.due < m ? e.due : m), undefined);
  }
}

/** Let pending promise reactions run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
