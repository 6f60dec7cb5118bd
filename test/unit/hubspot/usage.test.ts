import { describe, expect, it } from 'vitest';
import { RollingDayCounter } from '../../../operator/src/hubspot/usage.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('RollingDayCounter', () => {
  it('counts the last 24 hours to the minute', () => {
    const c = new RollingDayCounter();
    const t0 = 1_800_000_000_000;
    c.add(t0, 5);
    c.add(t0 + 10 * MIN, 3);
    expect(c.sum(t0 + 10 * MIN)).toBe(8);
    expect(c.sum(t0 + DAY - MIN)).toBe(8);
    expect(c.sum(t0 + DAY + MIN)).toBe(3);
    expect(c.sum(t0 + DAY + 11 * MIN)).toBe(0);
  });

  it('forgets everything after a long idle gap', () => {
    const c = new RollingDayCounter();
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < 100; i++) c.add(t0 + i * 1000);
    expect(c.sum(t0 + 100_000)).toBe(100);
    expect(c.sum(t0 + 3 * DAY)).toBe(0);
    c.add(t0 + 3 * DAY);
    expect(c.sum(t0 + 3 * DAY)).toBe(1);
  });
});
