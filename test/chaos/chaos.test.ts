/**
 * The chaos convergence test in the suite (issue 10 "a chaos convergence test in the suite",
 * issue 16 "the chaos test runs with NewestWins among its conflict rules"): short runs of the
 * runner (./runner.ts) with fixed seeds, one per conflict rule, each about 40 s of random edits,
 * creates and deletes on both sides under HubSpot faults, operator SIGKILLs, suspend/resume and
 * dropped PostgreSQL connections, then quiesce and a field-by-field comparison with the ledger.
 *
 * GATED behind CHAOS=1 for now: on the code of 2026-12-02 these runs end with lost updates, not
 * on every run (they depend on timing) but often: issue 16 (NewestWins decided on whole-record
 * and coalesced-outbox times), a stale search view applied over newer values
 * (test/integration/sync/stale-search.test.ts) and a table edit overwritten by the pull
 * (test/integration/sync/pull-overwrite.test.ts). docs/chaos.md lists which seed showed what. The
 * lead flips the gate when those fixes land. Long runs: `npm run chaos -- --minutes 30 --seed S`.
 */
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../helpers/db.js';
import { markdownReport, runChaos } from './runner.js';
import type { Rule } from './model.js';

const hasPostgres = !!(await postgresUrl());

const RUNS: { seed: number; rule: Rule }[] = [
  { seed: 1, rule: 'NewestWins' },
  { seed: 2, rule: 'HubSpotWins' },
  { seed: 3, rule: 'TargetWins' },
];

describe.skipIf(!process.env.CHAOS || !hasPostgres)('chaos convergence (CHAOS=1)', () => {
  it.each(RUNS)('seed $seed, $rule: both sides converge to the last writes, nothing lost or duplicated', async ({ seed, rule }) => {
    // Only the first line (seed, rule, schedule digest, replay command) goes to the output.
    const report = await runChaos({ seed, rule, minutes: 0.6, log: (l) => l.startsWith('chaos:') && process.stdout.write(`${l}\n`) });
    if (!report.passed) process.stdout.write(`${markdownReport(report)}\n`);
    expect(report.problems.map((p) => `${p.kind} ${p.email ?? ''} ${p.field ?? ''}: expected ${JSON.stringify(p.expected)}, table ${JSON.stringify(p.table)}, HubSpot ${JSON.stringify(p.hubspot)} ${p.detail ?? ''}`)).toEqual([]);
    // The run really exercised both sides.
    expect(report.records.created).toBeGreaterThan(20);
    expect(report.records.deleted).toBeGreaterThan(3);
  }, 240_000);
});
