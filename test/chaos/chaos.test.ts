/**
 * The chaos convergence test in the suite (issue 10 "a chaos convergence test in the suite",
 * issue 16 "the chaos test runs with NewestWins among its conflict rules"): short runs of the
 * runner (./runner.ts) with fixed seeds, each one minute of random edits, creates and deletes on
 * both sides under HubSpot faults, an operator SIGKILL, suspend/resume and dropped PostgreSQL
 * connections, then quiesce and a field-by-field comparison with the ledger.
 *
 * Runs in `npm test` (no gate since the fixes listed in docs/chaos.md landed): two seeds of the
 * 1-minute sweep of docs/chaos.md that passed twice in a row — seed 3 NewestWins and seed 2
 * HubSpotWins; each schedule has one kill, one suspend and one connection drop. About 70 s each
 * on a free machine; the timeout is generous for a 2-core CI machine. Skipped only without
 * PostgreSQL. Longer runs: `npm run chaos -- --minutes 30 --seed S`.
 */
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../helpers/db.js';
import { markdownReport, runChaos } from './runner.js';
import type { Rule } from './model.js';

const hasPostgres = !!(await postgresUrl());

const RUNS: { seed: number; rule: Rule }[] = [
  { seed: 3, rule: 'NewestWins' },
  { seed: 2, rule: 'HubSpotWins' },
];

describe.skipIf(!hasPostgres)('chaos convergence', () => {
  it.each(RUNS)('seed $seed, $rule: both sides converge to the last writes, nothing lost or duplicated', async ({ seed, rule }) => {
    // Only the first line (seed, rule, schedule digest, replay command) goes to the output.
    const report = await runChaos({ seed, rule, minutes: 1, log: (l) => l.startsWith('chaos:') && process.stdout.write(`${l}\n`) });
    if (!report.passed) process.stdout.write(`${markdownReport(report)}\n`);
    expect(report.problems.map((p) => `${p.kind} ${p.email ?? ''} ${p.field ?? ''}: expected ${JSON.stringify(p.expected)}, table ${JSON.stringify(p.table)}, HubSpot ${JSON.stringify(p.hubspot)} ${p.detail ?? ''}`)).toEqual([]);
    // The run really exercised both sides.
    expect(report.records.created).toBeGreaterThan(20);
    expect(report.records.deleted).toBeGreaterThan(3);
  }, 600_000);
});
