/**
 * Child process for the crash tests: runs sync cycles for the integration in $SYNC_CONFIG
 * (a ResolvedIntegration as JSON) and prints one line per committed batch, so the parent can
 * SIGKILL it mid-import or mid-push. Usage: SYNC_CONFIG='{…}' npx tsx crash-runner.ts <kind>…
 */
import pino from 'pino';
import { createSyncEngine } from '../../../operator/src/sync/index.js';
import type { CycleKind, ResolvedIntegration } from '../../../operator/src/sync/types.js';

const cfg = JSON.parse(process.env.SYNC_CONFIG ?? '') as ResolvedIntegration;
const engine = createSyncEngine(cfg, {
  logger: pino({ level: 'silent' }),
  lookbackMs: 60_000,
  observer: { progress: (type, phase, done) => process.stdout.write(`progress ${type} ${phase} ${done}\n`) },
});
for (const kind of process.argv.slice(2) as CycleKind[]) {
  const r = await engine.runCycle(kind, new AbortController().signal);
  process.stdout.write(`cycle ${kind} completed=${r.completed} ${JSON.stringify(r.systemic ?? null)}\n`);
}
await engine.close();
process.stdout.write('done\n');
