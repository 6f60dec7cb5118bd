/**
 * Rolling 24-hour counters in per-minute buckets: constant memory (1440 numbers), O(1) to add,
 * and a sum that is exact to the minute — what status.apiUsage and the daily budget need.
 */
const MINUTE_MS = 60_000;
const BUCKETS = 24 * 60;

export class RollingDayCounter {
  private readonly counts = new Float64Array(BUCKETS);
  /** Absolute minute number each bucket currently holds. */
  private readonly minutes = new Float64Array(BUCKETS).fill(-1);
  private total = 0;
  private lastMinute = -1;

  /** Count `n` events at wall-clock time `nowMs`. */
  add(nowMs: number, n = 1): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    this.expire(minute);
    const i = minute % BUCKETS;
    if (this.minutes[i] !== minute) {
      this.total -= this.counts[i]!; // only non-zero if the wall clock stepped back
      this.minutes[i] = minute;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
    this.total += n;
  }

  /** Events in the 24 hours ending at `nowMs`. */
  sum(nowMs: number): number {
    this.expire(Math.floor(nowMs / MINUTE_MS));
    return this.total;
  }

  /** Drop buckets older than 24 h; cheap when called every request (only on minute change). */
  private expire(minute: number): void {
    if (minute === this.lastMinute) return;
    const oldest = minute - BUCKETS + 1;
    if (this.lastMinute < 0 || minute - this.lastMinute >= BUCKETS) {
      for (let i = 0; i < BUCKETS; i++) {
        if (this.minutes[i]! >= 0 && this.minutes[i]! < oldest) {
          this.total -= this.counts[i]!;
          this.counts[i] = 0;
          this.minutes[i] = -1;
        }
      }
    } else {
      for (let m = this.lastMinute + 1; m <= minute; m++) {
        const i = m % BUCKETS;
        if (this.minutes[i]! >= 0 && this.minutes[i]! < oldest) {
          this.total -= this.counts[i]!;
          this.counts[i] = 0;
          this.minutes[i] = -1;
        }
      }
    }
    if (minute > this.lastMinute) this.lastMinute = minute;
  }
}
