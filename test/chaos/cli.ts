/**
 * `npm run chaos -- --minutes N --seed S [--rule HubSpotWins|TargetWins|NewestWins]
 *   [--report-dir DIR] [--indexing-delay-ms MS]`
 *
 * Runs the chaos convergence runner (./runner.ts) once and writes chaos-<seed>.json and
 * chaos-<seed>.md (and the operator's log) to --report-dir (default ./chaos-reports). Without
 * --seed a random seed is drawn and printed; the rule defaults to the one drawn from the seed.
 * Exit status 0 when both sides converged as the ledger says, 1 otherwise, 2 on bad arguments.
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
const indexingDelayMs = values['indexing-delay-ms'] === undefined ? undefined : Number(values['indexing-delay-ms']);
if (indexingDelayMs !== undefined && (!Number.isInteger(indexingDelayMs) || indexingDelayMs < 0)) fail('--indexing-delay-ms must be a non-negative integer');

const dir = resolve(values['report-dir']!);
mkdirSync(dir, { recursive: true });
const report = await runChaos({ seed, minutes, rule: values.rule as Rule | undefined, indexingDelayMs, outDir: dir, keepOnFailure: true });
const base = join(dir, `chaos-${seed}`);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${base}.md`, markdownReport(report));
process.stdout.write(`\nchaos: seed=${seed} rule=${report.rule} ${report.passed ? 'PASSED' : `FAILED with ${report.problems.length} problem(s)`}${report.toleratedRaces.length ? ` (${report.toleratedRaces.length} tolerated read-before-write race(s))` : ''}; report ${base}.md / .json\n`);
if (!report.passed) {
  for (const p of report.problems.slice(0, 20)) {
    process.stdout.write(`  - ${p.kind} ${p.email ?? ''} ${p.field ?? ''} expected=${JSON.stringify(p.expected)} table=${JSON.stringify(p.table)} hubspot=${JSON.stringify(p.hubspot)} ${p.detail ?? p.why ?? ''}\n`);
  }
}
process.exit(report.passed ? 0 : 1);
