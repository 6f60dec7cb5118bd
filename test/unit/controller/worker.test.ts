import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../operator/src/kube/clock.js';
import { SyncWorker, type WorkerConfig } from '../../../operator/src/controller/worker.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SpecIssue, SyncEngine } from '../../../operator/src/sync/types.js';

const logger = pino({ level: 'silent' });

/** A scripted engine: records calls; cycles finish when the test says so, or at once. */
class ScriptedEngine implements SyncEngine {
  cycles: { kind: CycleKind; at: number; signal: AbortSignal }[] = [];
  issues: SpecIssue[] = [];
  fail?: { category: 'Authentication'; message: string };
  hold = false;
  private release?: () => void;
  targetChange?: () => void;
  closed = false;
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  async validate() { return this.issues; }
  async runCycle(kind: CycleKind, signal: AbortSignal): Promise<CycleReport> {
    this.cycles.push({ kind, at: this.clock.now(), signal });
    if (this.hold) await new Promise<void>((r) => (this.release = r));
    const now = new Date(this.clock.now()).toISOString();
    return {
      kind, startedAt: now, finishedAt: now, completed: !signal.aborted, objects: [], errors: [],
      systemic: this.fail ? { category: this.fail.category, reason: 'AuthenticationFailed', message: this.fail.message } : undefined,
      apiUsage: { requestsLast24h: 0, rateLimitedLast24h: 0, dailyBudget: 1 }, syncLagSeconds: 0,
    };
  }
  finishCycle() { this.release?.(); this.release = undefined; }
  waitForTargetChange(signal: AbortSignal) {
    return new Promise<void>((resolve) => { this.targetChange = resolve; signal.addEventListener('abort', () => resolve()); });
  }
  async cleanup() {}
  async close() { this.closed = true; }
}

function resolved(over: Partial<ResolvedIntegration> = {}): ResolvedIntegration {
  return {
    uid: 'u1', namespace: 'ns', name: 'acme', generation: 1,
    spec: { hubspot: { auth: { privateAppToken: { secretRef: { name: 's' } } } }, target: { postgres: { connectionSecretRef: { name: 'd' } } }, objects: [{ type: 'contacts', table: 'contacts' }] },
    fieldMappings: [], filters: [], credentials: { hubspot: { kind: 'privateAppToken', token: 't' }, databaseUrl: 'pglite://memory' },
    ...over,
  };
}

function setup(cfgOver: Partial<WorkerConfig> = {}, initialDone = true, hold = false) {
  const clock = new ManualClock(1_000_000);
  const engines: ScriptedEngine[] = [];
  let changes = 0;
  const cfg: WorkerConfig = { resolved: resolved(), suspended: false, intervalMs: 60_000, fullResyncIntervalMs: 3_600_000, ...cfgOver };
  const worker = new SyncWorker({
    key: 'ns/acme', config: cfg, history: { initialDone, lastFullAt: initialDone ? 1_000_000 : undefined },
    engineFactory: () => { const e = new ScriptedEngine(clock); e.hold = hold; engines.push(e); return e; },
    observer: {}, logger, clock, onChange: () => changes++, retryBaseMs: 1000,
  });
  return { clock, engines, worker, cfg, changes: () => changes };
}

describe('SyncWorker', () => {
  it('runs the initial import, then incremental cycles every interval and a full one when due', async () => {
    const { clock, engines, worker } = setup({}, false);
    await clock.advance(0);
    expect(engines[0]!.cycles.map((c) => c.kind)).toEqual(['initial']);
    expect(worker.state.initialDone).toBe(true);
    await clock.advance(60_000);
    expect(engines[0]!.cycles.map((c) => [c.kind, c.at - 1_000_000])).toEqual([['initial', 0], ['incremental', 60_000]]);
    await clock.advance(3_600_000);
    const kinds = engines[0]!.cycles.map((c) => c.kind);
    expect(kinds.filter((k) => k === 'full')).toHaveLength(1);
    expect(kinds.length).toBe(2 + 60);
    await worker.stop();
    expect(engines[0]!.closed).toBe(true);
  });

  it('catches up with one cycle when it starts after a restart', async () => {
    const { clock, engines, worker } = setup();
    await clock.advance(59_999);
    expect(engines[0]!.cycles.map((c) => [c.kind, c.at - 1_000_000])).toEqual([['incremental', 0]]);
    await worker.stop();
  });

  it('a sync annotation runs a cycle at once and is recorded once handled', async () => {
    const { clock, engines, worker, cfg } = setup();
    await clock.advance(1000);
    expect(engines[0]!.cycles).toHaveLength(1);
    worker.configure({ ...cfg, syncRequest: '2026-11-23T10:00:00Z' });
    await clock.advance(0);
    expect(engines[0]!.cycles.map((c) => [c.kind, c.at - 1_000_000])).toEqual([['incremental', 0], ['incremental', 1000]]);
    expect(worker.state.handledSyncRequest).toBe('2026-11-23T10:00:00Z');
    worker.configure({ ...cfg, syncRequest: '2026-11-23T10:00:00Z', resyncRequest: 'r1' });
    await clock.advance(0);
    expect(engines[0]!.cycles.map((c) => c.kind)).toEqual(['incremental', 'incremental', 'full']);
    expect(worker.state.handledResyncRequest).toBe('r1');
    await clock.advance(0);
    expect(engines[0]!.cycles).toHaveLength(3);
    await worker.stop();
  });

  it('wakes early on a captured target change', async () => {
    const { clock, engines, worker } = setup();
    await clock.advance(1000);
    expect(engines[0]!.cycles).toHaveLength(1);
    engines[0]!.targetChange!();
    await clock.advance(0);
    expect(engines[0]!.cycles.map((c) => c.at - 1_000_000)).toEqual([0, 1000]);
    await worker.stop();
  });

  it('suspend aborts the cycle in flight at its batch boundary and runs nothing until resumed', async () => {
    const { clock, engines, worker, cfg } = setup({}, false, true);
    await clock.advance(0);
    const engine = engines[0]!;
    expect(engine.cycles).toHaveLength(1);
    worker.configure({ ...cfg, suspended: true });
    expect(engine.cycles[0]!.signal.aborted).toBe(true);
    engine.finishCycle();
    await clock.advance(0);
    expect(worker.state.suspended).toBe(true);
    expect(engine.closed).toBe(true);
    await clock.advance(10 * 60_000);
    expect(engines.flatMap((e) => e.cycles)).toHaveLength(1);
    worker.configure({ ...cfg, suspended: false });
    await clock.advance(0);
    expect(engines.length).toBe(2);
    engines[1]!.finishCycle();
    await clock.advance(0);
    expect(engines[1]!.cycles.map((c) => c.kind)).toEqual(['initial']);
    await worker.stop();
  });

  it('a configuration change takes effect from the next cycle with a re-validated engine', async () => {
    const { clock, engines, worker, cfg } = setup();
    await clock.advance(1000);
    worker.configure({ ...cfg, resolved: resolved({ generation: 2, credentials: { hubspot: { kind: 'privateAppToken', token: 'new' }, databaseUrl: 'pglite://memory' } }) });
    await clock.advance(0);
    expect(engines).toHaveLength(2);
    expect(engines[0]!.closed).toBe(true);
    expect(engines[1]!.cycles.map((c) => c.kind)).toEqual(['incremental']);
    expect(worker.state.completedGeneration).toBe(2);
    await worker.stop();
  });

  it('spec issues stop cycles until the configuration changes', async () => {
    const clock = new ManualClock(0);
    let n = 0;
    const worker = new SyncWorker({
      key: 'k', config: { resolved: resolved(), suspended: false, intervalMs: 1000, fullResyncIntervalMs: 100_000 }, history: { initialDone: false },
      engineFactory: () => { const e = new ScriptedEngine(clock); if (n++ === 0) e.issues = [{ kind: 'FieldMapping', name: 'fm', field: 'spec.fields[0].property', message: 'unknown' }]; return e; },
      observer: {}, logger, clock, onChange: () => {},
    });
    await clock.advance(5000);
    expect(worker.state.specIssues).toHaveLength(1);
    expect(worker.state.initialDone).toBe(false);
    worker.configure({ resolved: resolved({ generation: 2, fieldMappings: [{ name: 'fm', spec: { integrationRef: { name: 'acme' }, objectType: 'contacts', fields: [] } }] }), suspended: false, intervalMs: 1000, fullResyncIntervalMs: 100_000 });
    await clock.advance(0);
    expect(worker.state.specIssues).toHaveLength(0);
    expect(worker.state.initialDone).toBe(true);
    await worker.stop();
  });

  it('re-validates now and then, so a fix outside the configuration (a property created) is picked up', async () => {
    const clock = new ManualClock(0);
    let validations = 0;
    const worker = new SyncWorker({
      key: 'k', config: { resolved: resolved(), suspended: false, intervalMs: 1000, fullResyncIntervalMs: 100_000 }, history: { initialDone: false },
      engineFactory: () => {
        const e = new ScriptedEngine(clock);
        e.validate = async () => (validations++ === 0 ? [{ kind: 'FieldMapping' as const, name: 'fm', field: 'spec.fields[0].property', message: 'unknown' }] : []);
        return e;
      },
      observer: {}, logger, clock, onChange: () => {},
    });
    await clock.advance(9_999);
    expect(worker.state.specIssues).toHaveLength(1);
    await clock.advance(1);
    expect(worker.state.specIssues).toHaveLength(0);
    expect(worker.state.initialDone).toBe(true);
    await worker.stop();
  });

  it('a lost database connection is reported as the Target category', async () => {
    const clock = new ManualClock(0);
    const failures: (string | undefined)[] = [];
    const worker = new SyncWorker({
      key: 'k', config: { resolved: resolved(), suspended: false, intervalMs: 1000, fullResyncIntervalMs: 100_000 }, history: { initialDone: false },
      engineFactory: () => {
        const e = new ScriptedEngine(clock);
        e.runCycle = async () => { throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }); };
        return e;
      },
      observer: {}, logger, clock, onChange: () => {}, onFailure: (f) => failures.push(f.category),
    });
    await clock.advance(0);
    expect(worker.state.failure).toMatchObject({ category: 'Target', message: 'connect ECONNREFUSED 127.0.0.1:5432' });
    expect(failures).toEqual(['Target']);
    await worker.stop();
  });

  it('a systemic failure is reported and retried with backoff; a fixed Secret retries at once', async () => {
    const clock = new ManualClock(0);
    const failures: (string | undefined)[] = [];
    const engines: ScriptedEngine[] = [];
    const worker = new SyncWorker({
      key: 'k', config: { resolved: resolved(), suspended: false, intervalMs: 60_000, fullResyncIntervalMs: 3_600_000 }, history: { initialDone: true, lastFullAt: 0 },
      engineFactory: (cfg) => { const e = new ScriptedEngine(clock); if (cfg.credentials.hubspot.kind === 'privateAppToken' && cfg.credentials.hubspot.token === 't') e.fail = { category: 'Authentication', message: 'bad token' }; engines.push(e); return e; },
      observer: {}, logger, clock, onChange: () => {}, retryBaseMs: 1000, onFailure: (f) => failures.push(f.category),
    });
    await clock.advance(0);
    expect(worker.state.failure).toMatchObject({ category: 'Authentication' });
    await clock.advance(999);
    expect(engines[0]!.cycles).toHaveLength(1);
    await clock.advance(1);
    expect(engines[0]!.cycles).toHaveLength(2);
    // Each stopped cycle is one failure for the sync_errors_total count.
    expect(failures).toEqual(['Authentication', 'Authentication']);
    worker.configure({ resolved: resolved({ credentials: { hubspot: { kind: 'privateAppToken', token: 'fixed' }, databaseUrl: 'pglite://memory' } }), suspended: false, intervalMs: 60_000, fullResyncIntervalMs: 3_600_000, syncRequest: 'now' });
    await clock.advance(0);
    expect(engines[1]!.cycles).toHaveLength(1);
    expect(worker.state.failure).toBeUndefined();
    await worker.stop();
  });
});
