/**
 * `npm run bench:budget [-- --scale 30 --minutes 10 --budget 2000]`: a table written once a
 * second for 10 minutes under a 2,000-requests/day HubSpot budget (issue 10). Time is scaled
 * (default ×30: 10 minutes in 20 s): the engine's pacing clock runs `scale` times faster, and
 * the writer writes once per scaled second. The driver loops like the controller: wait for a
 * captured change (coalesced per minInterval, paced by the budget), run a cycle.
 *
 * Prints the figures and fails (exit 1) when the integration stopped syncing or the day's
 * projected use passes the budget. Needs PostgreSQL (DATABASE_URL or 127.0.0.1:5432), else PGlite.
 */
import pino from 'pino';
import { createSyncEngine } from '../../operator/src/sync/index.js';
import type { EngineClock } from '../../operator/src/sync/pacing.js';
import { Harness } from '../integration/sync/harness.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const SCALE = arg('scale', 30);
const MINUTES = arg('minutes', 10);
const BUDGET = arg('budget', 2000);
const DAY_MS = 24 * 3600_000;

async function main(): Promise<void> {
  const h = await Harness.start({ dbKind: process.env.BENCH_DB === 'mysql' ? 'mysql' : undefined });
  const t0 = Date.now();
  const clock: EngineClock = {
    now: () => t0 + (Date.now() - t0) * SCALE,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal.aborted) return resolve();
        const t = setTimeout(done, ms / SCALE);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      }),
  };
  h.cfg.spec.hubspot.rateLimit = { ...h.cfg.spec.hubspot.rateLimit!, dailyRequests: BUDGET };
  h.cfg.spec.schedule = { interval: '1h', fullResyncInterval: '24h', minInterval: '1s' } as typeof h.cfg.spec.schedule;
  await h.engine.close();
  h.engine = createSyncEngine(h.cfg, { logger: pino({ level: 'silent' }), pglite: h.db.pglite, clock, lookbackMs: 60_000 });
  const engine = h.engine;
  try {
    const before = (await h.hs.stats()).requests.total;
    const first = await engine.runCycle('initial', new AbortController().signal);
    if (!first.completed) throw new Error(`initial cycle failed: ${JSON.stringify(first.systemic)}`);
    const setup = (await h.hs.stats()).requests.total - before;

    // The writer: one write per scaled second (inserts for the first 50, then updates).
    const stop = new AbortController();
    let writes = 0;
    const writeStart = clock.now();
    const runScaledMs = MINUTES * 60_000;
    const writer = (async () => {
      while (writes < runScaledMs / 1000) {
        writes++;
        if (writes <= 50) await h.exec(`INSERT INTO {schema}.contacts (email, firstname) VALUES ($1, $2)`, [`w${writes}@example.com`, `v${writes}`]);
        else await h.exec(`UPDATE {schema}.contacts SET firstname = $1 WHERE email = $2`, [`v${writes}`, `w${(writes % 50) + 1}@example.com`]);
        // The next write at the next scaled second of the run.
        const due = writeStart + writes * 1000;
        while (clock.now() < due) await new Promise((r) => setTimeout(r, Math.max(1, (due - clock.now()) / SCALE)));
      }
    })();

    // The controller's loop: capture-driven cycles, coalesced and paced by the engine.
    let cycles = 0;
    const starts: number[] = [];
    let lastPacing: string | undefined;
    let maxLagS = 0;
    const runStartStats = (await h.hs.stats()).requests;
    const runStart = runStartStats.total;
    const loop = (async () => {
      while (!stop.signal.aborted) {
        await engine.waitForTargetChange(stop.signal);
        if (stop.signal.aborted) break;
        starts.push(clock.now());
        const r = await engine.runCycle('incremental', new AbortController().signal);
        if (!r.completed) throw new Error(`cycle failed: ${JSON.stringify(r.systemic)}`);
        cycles++;
        lastPacing = r.pacing ?? lastPacing;
      }
    })();
    const lagProbe = setInterval(() => {
      void h
        .rows<{ s: number | null }>(`SELECT EXTRACT(EPOCH FROM now() - min(captured_at))::float AS s FROM {state}.outbox WHERE integration_uid = $1`, [h.cfg.uid])
        .then((r) => (maxLagS = Math.max(maxLagS, (Number(r[0]?.s ?? 0) || 0) * SCALE)))
        .catch(() => {});
    }, 250);
    await writer;
    stop.abort();
    await loop;
    clearInterval(lagProbe);
    const endStats = (await h.hs.stats()).requests;
    const duringRun = endStats.total - runStart;
    const byRoute: Record<string, number> = {};
    for (const [k, v] of Object.entries(endStats.byRoute)) if (v - (runStartStats.byRoute[k] ?? 0) > 0) byRoute[k] = v - (runStartStats.byRoute[k] ?? 0);
    const scaledMinutes = (clock.now() - t0) / 60_000;

    // Quiesce: one more cycle applies what the last paced wait left, then compare both sides.
    const last = await engine.runCycle('incremental', new AbortController().signal);
    const table = await h.rows<{ email: string; firstname: string }>(`SELECT email, firstname FROM {schema}.contacts ORDER BY email`);
    const hs = (await h.hs.listAll('contacts', ['email', 'firstname'])).map((c) => ({ email: c.properties.email, firstname: c.properties.firstname }));
    const byEmail = (a: { email: unknown }, b: { email: unknown }) => (String(a.email) < String(b.email) ? -1 : String(a.email) > String(b.email) ? 1 : 0);
    hs.sort(byEmail);
    table.sort(byEmail);
    const equal = JSON.stringify(table) === JSON.stringify(hs);
    if (!equal) console.log('differences:', JSON.stringify(table.map((r, i) => [r, hs[i]]).filter(([a, b]) => JSON.stringify(a) !== JSON.stringify(b)).slice(0, 3)), last.completed, JSON.stringify(last.objects[0]?.lastCycle), last.errors);

    // The day's projected use: what was used, plus the observed cost per cycle at the observed
    // cadence (mean gap between capture-driven cycles) for the rest of the day.
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    const meanGapMs = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : DAY_MS;
    const used = setup + duringRun;
    const perCycle = duringRun / Math.max(cycles, 1);
    const projectedDay = Math.round(used + perCycle * ((DAY_MS - (clock.now() - t0)) / meanGapMs));
    const naiveDay = Math.round(setup + (duringRun * DAY_MS) / (scaledMinutes * 60_000));
    const figures = {
      scale: SCALE,
      scaledMinutes: Number(scaledMinutes.toFixed(1)),
      dailyBudget: BUDGET,
      tableWrites: writes,
      setupRequests: setup,
      requestsDuringRun: duringRun,
      capturedCycles: cycles,
      requestsPerCycle: Number((duringRun / Math.max(cycles, 1)).toFixed(2)),
      requestsUsed: used,
      meanGapBetweenCyclesScaledSeconds: Math.round(meanGapMs / 1000),
      projectedRequestsForTheDay: projectedDay,
      naiveExtrapolationOfThisWindowPerDay: naiveDay,
      unpacedEstimatePerDay: Math.round((duringRun / Math.max(cycles, 1)) * (DAY_MS / 1000)),
      maxSyncLagScaledSeconds: Math.round(maxLagS),
      apiUsageRequestsLast24h: last.apiUsage.requestsLast24h,
      bothSidesEqualAfterQuiesce: equal,
      pacing: lastPacing ?? '(none)',
      requestsByRoute: byRoute,
    };
    console.log(JSON.stringify(figures, null, 2));
    const ok = equal && cycles > 1 && used <= BUDGET && projectedDay <= BUDGET;
    console.log(ok ? 'OK: kept syncing within the daily budget' : 'FAILED: see the figures above');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
