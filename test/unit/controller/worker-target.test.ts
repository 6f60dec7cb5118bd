/**
 * A database that refuses connections (PostgreSQL's "too many clients", SQLSTATE 53300) while the
 * worker validates or runs a cycle: the integration reports TargetUnavailable with the server's
 * message, the worker closes its engine (no connection held while it backs off) and retries
 * with growing delays, and nothing throws out of the worker.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../operator/src/kube/clock.js';
import { SyncWorker } from '../../../operator/src/controller/worker.js';
import { computeIntegrationStatus } from '../../../operator/src/controller/status.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SyncEngine } from '../../../operator/src/sync/types.js';
// The PostgreSQL connector registers how its driver's errors classify (53300 → unreachable) when it
// loads, as it does in the operator process whenever an integration targets PostgreSQL.
import '../../../operator/src/target/postgres/index.js';

const refused = () => Object.assign(new Error('sorry, too many clients already'), { code: '53300', severity: 'FATAL' });

function resolved(): ResolvedIntegration {
  return {
    uid: 'u', namespace: 'ns', name: 'full', generation: 1,
    spec: { hubspot: { auth: { privateAppToken: { secretRef: { name: 's' } } } }, target: { postgres: { connectionSecretRef: { name: 'd' } } }, objects: [{ type: 'contacts', table: 'contacts' }] },
    fieldMappings: [], filters: [], credentials: { hubspot: { kind: 'privateAppToken', token: 't' }, databaseUrl: 'postgres://x' },
  };
}

describe('SyncWorker with a database that refuses connections', () => {
  it('reports TargetUnavailable with the server message and retries with backoff until the database accepts', async () => {
    const clock = new ManualClock(0);
    let accepting = false;
    const attempts: number[] = [];
    let closes = 0;
    const engine: SyncEngine = {
      validate: async () => {
        attempts.push(clock.now());
        if (!accepting) throw refused();
        return [];
      },
      runCycle: async (kind: CycleKind): Promise<CycleReport> => {
        const now = new Date(clock.now()).toISOString();
        return { kind, startedAt: now, finishedAt: now, completed: true, objects: [], errors: [], apiUsage: { requestsLast24h: 0, rateLimitedLast24h: 0, dailyBudget: 1 }, syncLagSeconds: 0 };
      },
      waitForTargetChange: (signal) => new Promise<void>((r) => signal.addEventListener('abort', () => r())),
      cleanup: async () => {},
      close: async () => {
        closes++;
      },
    };
    const failures: (string | undefined)[] = [];
    const worker = new SyncWorker({
      key: 'ns/full', config: { resolved: resolved(), suspended: false, intervalMs: 300_000, fullResyncIntervalMs: 86_400_000 },
      history: { initialDone: true, lastFullAt: 0 }, engineFactory: () => engine, observer: {}, logger: pino({ level: 'silent' }), clock,
      onChange: () => {}, onFailure: (f) => failures.push(f.category), retryBaseMs: 1_000,
    });
    await clock.advance(0);
    expect(worker.state.failure).toMatchObject({ category: 'Target', message: 'sorry, too many clients already' });
    const status = computeIntegrationStatus({ generation: 1, suspended: false, staticIssues: [], worker: worker.state, now: new Date(clock.now()) });
    const ready = status.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'TargetUnavailable', message: 'Target: sorry, too many clients already' });
    expect(status.conditions!.find((c) => c.type === 'Stalled')).toBeUndefined();
    // While it backs off, the failing integration holds no connection: its engine is closed.
    expect(closes).toBe(1);
    await clock.advance(60_000);
    // 0, then 1 s, 2 s, 4 s, 8 s, 16 s, 32 s later: exponential.
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps.slice(0, 5)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(failures.every((c) => c === 'Target')).toBe(true);
    accepting = true;
    await clock.advance(300_000);
    expect(worker.state.failure).toBeUndefined();
    expect(worker.state.lastSuccessfulSyncTime).toBeDefined();
    await worker.stop();
  });
});
