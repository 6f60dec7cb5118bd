/**
 * `npm run chaos -- --minutes N --seed S [--runs K] [--rule HubSpotWins|TargetWins|NewestWins]
 *   [--report-dir DIR] [--indexing-delay-ms MS]`
 *
 * Runs the chaos convergence runner (./runner.ts) for seeds S, S+1, … S+K-1 (--runs, default 1),
 * one after the other, and writes chaos-<seed>.json and chaos-<seed>.md (and, for a failed run,
 * the operator's log; its database schemas are kept) to --report-dir (default ./chaos-reports),
 * plus chaos-summary.md for several runs. Without --seed a random seed is drawn and printed; the
 * rule defaults to the one drawn from each seed. Exit status 0 when every run converged as the
 * ledger says, 1 otherwise, 2 on bad arguments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RULES, type Rule } from './model.js';
import { markdownReport, runChaos } from './runner.js';

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    rule: { type: 'string' },
    'report-dir': { type: 'string', default: 'chaos-reports' },
    'indexing-delay-ms': { type: 'string' },
  },
  strict: true,
});

const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) fail(`--minutes must be a number of minutes above 0, got ${JSON.stringify(values.minutes)}`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) fail(`--seed must be an integer from 0 to 4294967295, got ${JSON.stringify(values.seed)}`);
if (values.rule !== undefined && !RULES.includes(values.rule as Rule)) fail(`--rule must be one of ${RULES.join(', ')}, got ${JSON.stringify(values.rule)}`);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) fail(`--runs must be an integer from 1 to 1000, got ${JSON.stringify(values.runs)}`);
const indexingDelayMs = values['indexing-delay-ms'] === undefined ? undefined : Number(values['indexing-delay-ms']);
if (indexingDelayMs !== undefined && (!Number.isInteger(indexingDelayMs) || indexingDelayMs < 0)) fail('--indexing-delay-ms must be a non-negative integer');

const dir = resolve(values['report-dir']!);
mkdirSync(dir, { recursive: true });
const summary: string[] = [];
let allPassed = true;
for (let k = 0; k < runs; k++) {
  const runSeed = (seed + k) % 2 ** 32;
  const report = await runChaos({ seed: runSeed, minutes, rule: values.rule as Rule | undefined, indexingDelayMs, outDir: dir, keepOnFailure: true });
  const base = join(dir, `chaos-${runSeed}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownReport(report));
  const line = `seed=${runSeed} rule=${report.rule} ${report.passed ? 'PASSED' : `FAILED with ${report.problems.length} problem(s)`}${report.toleratedRaces.length ? ` (${report.toleratedRaces.length} tolerated read-before-write race(s))` : ''}`;
  summary.push(`- ${line}: ${base}.md`);
  process.stdout.write(`\nchaos: ${line}; report ${base}.md / .json\n`);
  for (const p of report.problems.slice(0, 20)) {
    process.stdout.write(`  - ${p.kind} ${p.email ?? ''} ${p.field ?? ''} expected=${JSON.stringify(p.expected)} table=${JSON.stringify(p.table)} hubspot=${JSON.stringify(p.hubspot)} ${p.detail ?? p.why ?? ''}\n`);
  }
  allPassed &&= report.passed;
}
if (runs > 1) {
  writeFileSync(join(dir, 'chaos-summary.md'), `# Chaos runs: ${minutes} min each\n\n${summary.join('\n')}\n`);
  process.stdout.write(`\n${summary.join('\n')}\n`);
}
process.exit(allPassed ? 0 : 1);
