import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../operator/src/api/duration.js';

describe('parseDuration', () => {
  it('reads the durations the CRDs accept', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
  });

  it('refuses anything else with the expected form in the message', () => {
    for (const bad of ['', '5', '5 m', '1.5h', '-5m', '5d']) {
      expect(() => parseDuration(bad), bad).toThrow(/expected a duration such as 30s, 5m, 24h or 1h30m/);
    }
  });
});
