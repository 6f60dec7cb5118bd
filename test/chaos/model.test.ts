/**
 * The chaos ledger's expected values (./model.ts), and the schedule being a pure function of the
 * seed. Fast and always on: the chaos run itself is gated (see chaos.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Ledger, type Rule } from './model.js';
import { makeSchedule, takeRaces, type Problem, type Traffic } from './runner.js';

function ledger(rule: Rule) {
  const l = new Ledger(rule);
  const r = l.record(0, 'a@chaos.test');
  let op = 0;
  let at = 1000;
  const w = (side: 'hubspot' | 'table', value: string, shows: string | null) => l.write(r, ++op, side, { firstname: value }, { firstname: shows }, (at += 10));
  return { l, r, w, exp: () => l.expected(r, 'firstname').value };
}

describe('chaos ledger: the expected value of a field', () => {
  it('one side only: the last write', () => {
    for (const rule of ['HubSpotWins', 'TargetWins', 'NewestWins'] as const) {
      const { w, exp } = ledger(rule);
      w('table', 't1', null);
      w('table', 't2', 't1');
      expect(exp()).toBe('t2');
    }
  });

  it('a write after the other side showed the earlier one (synced): the later write, whatever the rule', () => {
    for (const rule of ['HubSpotWins', 'TargetWins', 'NewestWins'] as const) {
      const { w, exp } = ledger(rule);
      w('hubspot', 'h1', null);
      w('table', 't1', 'h1'); // the table showed h1: synced before
      expect(exp()).toBe('t1');
    }
  });

  it('both sides written with neither seen synced: the rule decides; NewestWins takes the later', () => {
    const cases: [Rule, string][] = [
      ['HubSpotWins', 'h1'],
      ['TargetWins', 't1'],
      ['NewestWins', 't1'],
    ];
    for (const [rule, want] of cases) {
      const { w, exp } = ledger(rule);
      w('hubspot', 'h1', null);
      w('table', 't1', 'old'); // the table did not show h1 yet
      expect(exp(), rule).toBe(want);
    }
  });

  it('a conflict the operator resolved (the loser shows the winner), then a new loser write: that write', () => {
    const { w, exp } = ledger('HubSpotWins');
    w('table', 't1', 'old');
    w('hubspot', 'h1', 'old');
    expect(exp()).toBe('h1');
    w('table', 't2', 'h1'); // the table shows HubSpot's winning value: resolved
    expect(exp()).toBe('t2');
  });

  it('a conflict still open and a new loser write: the winner still wins', () => {
    const { w, exp } = ledger('TargetWins');
    w('hubspot', 'h1', 'old');
    w('table', 't1', 'old');
    w('hubspot', 'h2', 'h1'); // HubSpot still shows its own value: the conflict stands
    expect(exp()).toBe('t1');
  });

  it('the same seed gives the same schedule; another seed another one', () => {
    const a = makeSchedule(42, 1);
    expect(makeSchedule(42, 1)).toEqual(a);
    expect(makeSchedule(43, 1).digest).not.toBe(a.digest);
    expect(a.ops.some((o) => o.kind === 'delete')).toBe(true);
    expect(a.ops.filter((o) => o.kind === 'update').length).toBeGreaterThan(50);
    expect(makeSchedule(42, 1, 'NewestWins').rule).toBe('NewestWins');
  });

  it('tolerates a lost HubSpot write only when the operator read before it and wrote after it', () => {
    const l = new Ledger('HubSpotWins');
    const r = l.record(0, 'a@chaos.test');
    r.ids.hubspot.add('7');
    l.write(r, 1, 'table', { firstname: 't1' }, { firstname: 'old' }, 900);
    l.write(r, 2, 'hubspot', { firstname: 'h2' }, { firstname: 'old' }, 1000);
    const problem = (): Problem => ({ kind: 'field', email: 'a@chaos.test', field: 'firstname / first_name', expected: 'h2', table: 't1', hubspot: 't1' });
    const traffic = (readEnd: number): Traffic[] => [
      { route: 'read', start: readEnd - 5, end: readEnd, status: 200, inputs: [{ id: '7' }] },
      { route: 'update', start: 1010, end: 1020, status: 200, inputs: [{ id: '7', properties: { firstname: 't1' } }] },
    ];
    const raced = [problem()];
    expect(takeRaces(raced, l, traffic(990)).map((p) => p.kind)).toEqual(['race']);
    expect(raced).toEqual([]);
    // The read ended after the HubSpot write: the operator could have seen it — a real failure.
    const seen = [problem()];
    expect(takeRaces(seen, l, traffic(1005))).toEqual([]);
    expect(seen).toHaveLength(1);
    // The race overwrote h2 with t1 and the table then wrote t3: both sides end with t3, still
    // the race's consequence (seed 6003).
    l.write(r, 3, 'table', { firstname: 't3' }, { firstname: 't1' }, 1100);
    const later = [{ ...problem(), table: 't3', hubspot: 't3' }];
    expect(takeRaces(later, l, traffic(990)).map((p) => p.kind)).toEqual(['race']);
    // An update that carried a table write made AFTER the HubSpot one is no such race.
    const after = (): Traffic[] => [
      { route: 'read', start: 985, end: 990, status: 200, inputs: [{ id: '7' }] },
      { route: 'update', start: 1110, end: 1120, status: 200, inputs: [{ id: '7', properties: { firstname: 't3' } }] },
    ];
    const real = [{ ...problem(), table: 't3', hubspot: 't3' }];
    expect(takeRaces(real, l, after())).toEqual([]);
  });
});
