/**
 * One long-running sync worker per HubSpotIntegration. Reconcile hands it the desired
 * configuration (configure) and reads its state; the worker alone runs cycles, so a cycle never
 * runs inside a reconcile call. A new configuration takes effect from the next cycle (the
 * engine is rebuilt and re-validated); suspend and stop abort at the next batch boundary (the
 * batch in flight completes and is recorded by the engine).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { ErrorCategory } from '../api/categories.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SpecIssue, SyncEngine, SyncObserver } from '../sync/types.js';
import { systemClock, type Clock } from '../kube/clock.js';
import { isTargetUnreachable } from '../target/connector.js';
import { nextCycle, retryDelay, revalidateDelay } from './scheduler.js';
import type { SyncSlots } from './sync-slots.js';
import type { PropertyCache } from '../hubspot/property-cache.js';

/** Process-wide engine settings the controller hands to every engine it builds. */
export interface EngineOptions {
  /** Connections per database pool (--db-pool-size); the pool is shared by the integrations of one database. */
  dbPoolSize?: number;
  /** HubSpot property definitions shared by the integrations of one account (hubspot/property-cache.ts). */
  propertyCache?: PropertyCache;
}

export type EngineFactory = (cfg: ResolvedIntegration, deps: EngineOptions & { logger: Logger; observer: SyncObserver }) => SyncEngine | Promise<SyncEngine>;

export interface WorkerConfig {
  resolved: ResolvedIntegration;
  suspended: boolean;
  /** Values of the sync-/resync-requested-at annotations (undefined when absent). */
  syncRequest?: string;
  resyncRequest?: string;
  intervalMs: number;
  fullResyncIntervalMs: number;
}

/** What the worker knows from the integration's status when it starts (e.g. after a restart). */
export interface WorkerHistory {
  initialDone: boolean;
  lastFullAt?: number;
  handledSyncRequest?: string;
  handledResyncRequest?: string;
  lastSyncTime?: string;
  lastSuccessfulSyncTime?: string;
  lastFullResyncTime?: string;
}

export interface SystemicFailure {
  category?: ErrorCategory;
  /** A Ready reason when the engine gave one. */
  reason?: string;
  message: string;
}

export interface WorkerState {
  suspended: boolean;
  /** Kind of the cycle in flight. */
  running?: CycleKind;
  /** Generation of the configuration in use. */
  generation: number;
  /** Generation of the configuration of the last completed cycle. */
  completedGeneration?: number;
  initialDone: boolean;
  /** Problems found by engine.validate() for the current configuration. */
  specIssues: SpecIssue[];
  /** Last cycle's report (completed or stopped early). */
  lastReport?: CycleReport;
  /** Set while the last attempt failed systemically; cleared by a completed cycle. */
  failure?: SystemicFailure;
  lastSyncTime?: string;
  lastSuccessfulSyncTime?: string;
  lastFullResyncTime?: string;
  handledSyncRequest?: string;
  handledResyncRequest?: string;
  portalId?: number;
}

export interface WorkerOptions {
  key: string;
  config: WorkerConfig;
  history: WorkerHistory;
  engineFactory: EngineFactory;
  observer: SyncObserver;
  logger: Logger;
  clock?: Clock;
  /** Called whenever the state changed (the manager re-reconciles to write status). */
  onChange: () => void;
  /** Called with every cycle report (metrics). */
  onReport?: (report: CycleReport, durationMs: number) => void;
  /** Called with every failure that stopped an attempt: engine start, validation, systemic cycle stop (metrics). */
  onFailure?: (failure: SystemicFailure) => void;
  retryBaseMs?: number;
  /** Process-wide engine settings, merged into the engine's deps. */
  engineOptions?: EngineOptions;
  /** Shared cap on cycles running at once (--max-concurrent-syncs); none = no cap. */
  slots?: SyncSlots;
}

function sum(c: { created: number; updated: number; deleted: number }): number {
  return c.created + c.updated + c.deleted;
}

/** A hash of everything the engine sees: a change means "rebuild and re-validate the engine". */
export function configHash(resolved: ResolvedIntegration): string {
  const { generation: _g, ...rest } = resolved;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

export class SyncWorker {
  readonly key: string;
  private readonly o: WorkerOptions;
  private readonly clock: Clock;
  private cfg: WorkerConfig;
  private cfgHash: string;
  private readonly st: WorkerState;
  private engine?: SyncEngine;
  private engineHash?: string;
  private validatedHash?: string;
  private lastCycleHash?: string;
  private lastCycleEndedAt?: number;
  private lastFullAt?: number;
  private failures = 0;
  private lastFailureAt?: number;
  private targetChanged = false;
  private stopped = false;
  private cycleAbort?: AbortController;
  /** Aborts the wait for a sync slot (stop, suspend). */
  private slotWait?: AbortController;
  private wakeUp: () => void = () => {};
  private loopDone: Promise<void>;

  constructor(o: WorkerOptions) {
    this.o = o;
    this.key = o.key;
    this.clock = o.clock ?? systemClock;
    this.cfg = o.config;
    this.cfgHash = configHash(o.config.resolved);
    this.lastFullAt = o.history.lastFullAt;
    this.st = {
      suspended: o.config.suspended,
      generation: o.config.resolved.generation,
      initialDone: o.history.initialDone,
      specIssues: [],
      handledSyncRequest: o.history.handledSyncRequest,
      handledResyncRequest: o.history.handledResyncRequest,
      lastSyncTime: o.history.lastSyncTime,
      lastSuccessfulSyncTime: o.history.lastSuccessfulSyncTime,
      lastFullResyncTime: o.history.lastFullResyncTime,
    };
    this.loopDone = this.loop();
  }

  get state(): Readonly<WorkerState> {
    return this.st;
  }

  /** Hands the worker a new desired configuration; takes effect from the next cycle. */
  configure(cfg: WorkerConfig): void {
    const hash = configHash(cfg.resolved);
    const changed = hash !== this.cfgHash;
    const suspendChanged = cfg.suspended !== this.cfg.suspended;
    const requestChanged = cfg.syncRequest !== this.cfg.syncRequest || cfg.resyncRequest !== this.cfg.resyncRequest;
    const generationChanged = cfg.resolved.generation !== this.cfg.resolved.generation;
    const scheduleChanged = cfg.intervalMs !== this.cfg.intervalMs || cfg.fullResyncIntervalMs !== this.cfg.fullResyncIntervalMs;
    this.cfg = cfg;
    this.cfgHash = hash;
    this.st.generation = cfg.resolved.generation;
    if (cfg.suspended) {
      this.cycleAbort?.abort();
      this.slotWait?.abort();
    }
    if (changed || suspendChanged || requestChanged || generationChanged || scheduleChanged) {
      if (suspendChanged) {
        this.st.suspended = cfg.suspended;
        this.o.onChange();
      }
      this.wakeUp();
    }
  }

  /** Stops after the batch in flight and closes the engine. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cycleAbort?.abort();
    this.slotWait?.abort();
    this.wakeUp();
    await this.loopDone;
  }

  private get log(): Logger {
    return this.o.logger;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // step() handles engine errors itself; this is a bug guard so the worker never dies.
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'sync worker step failed unexpectedly');
        await this.waitFor(this.clock.now() + 5_000);
      }
    }
    await this.closeEngine();
  }

  private async step(): Promise<void> {
    const cfg = this.cfg;
    if (cfg.suspended) {
      if (this.st.running) this.st.running = undefined;
      // No reads or writes on either side while suspended: close the engine (and its connections).
      await this.closeEngine();
      await this.waitFor(undefined);
      return;
    }
    const hash = this.cfgHash;
    if (this.engineHash !== hash) {
      await this.closeEngine();
      try {
        this.engine = await this.o.engineFactory(cfg.resolved, { ...this.o.engineOptions, logger: this.log, observer: this.o.observer });
        this.engineHash = hash;
      } catch (err) {
        this.fail(err, 'could not start the sync engine');
        await this.waitFor(this.retryAt());
        return;
      }
    }
    const engine = this.engine!;
    if (this.validatedHash !== hash) {
      // Validation reads both sides (HubSpot properties, the tables): it takes a sync slot too,
      // so hundreds of engines starting together do not open hundreds of connections at once.
      const release = await this.acquireSlot();
      if (!release) return;
      try {
        if (this.stopped || this.cfg.suspended || this.cfgHash !== hash) return;
        const issues = await engine.validate();
        this.st.specIssues = issues;
        this.validatedHash = hash;
        if (issues.length > 0) {
          this.log.warn({ issues: issues.map((i) => `${i.kind} ${i.name} ${i.field}: ${i.message}`) }, 'configuration is invalid; waiting for a change');
        }
        this.o.onChange();
      } catch (err) {
        release();
        this.fail(err, 'validation failed');
        await this.releaseTargetOnFailure();
        await this.waitFor(this.retryAt());
        return;
      } finally {
        release();
      }
    }
    if (this.st.specIssues.length > 0) {
      // The fix may happen outside the configuration (a property created in HubSpot, a column
      // added): re-validate now and then, and at once when the configuration changes.
      await this.waitFor(this.clock.now() + revalidateDelay(cfg.intervalMs));
      if (this.cfgHash === hash) this.validatedHash = undefined;
      return;
    }

    const due = this.nextCycle();
    if (due.next.at > this.clock.now()) {
      await this.waitFor(due.next.at, engine);
      return;
    }
    // stop() or suspend may have arrived while the engine was being built or validated.
    if (this.stopped || this.cfg.suspended) return;
    const release = await this.acquireSlot();
    if (!release) return;
    try {
      // Decide again with what is known now: the wait may have been long. A new configuration
      // needs a new engine (the next step builds it and queues again).
      if (this.stopped || this.cfg.suspended || this.cfgHash !== hash) return;
      const now = this.nextCycle();
      await this.runCycle(engine, now.next.kind, now.next.why, now);
    } finally {
      release();
    }
    await this.releaseTargetOnFailure();
  }

  /**
   * After a failure of the target (unreachable, or refusing connections because its limit is
   * reached): close the engine so a failing integration holds no connection while it backs off;
   * the retry builds a new one.
   */
  private async releaseTargetOnFailure(): Promise<void> {
    if (this.st.failure?.category === 'Target' && this.engine) await this.closeEngine();
  }

  private nextCycle(): { next: ReturnType<typeof nextCycle>; syncRequested: boolean; resyncRequested: boolean } {
    const cfg = this.cfg;
    const syncRequested = cfg.syncRequest !== undefined && cfg.syncRequest !== this.st.handledSyncRequest;
    const resyncRequested = cfg.resyncRequest !== undefined && cfg.resyncRequest !== this.st.handledResyncRequest;
    const next = nextCycle({
      now: this.clock.now(),
      intervalMs: cfg.intervalMs,
      fullResyncIntervalMs: cfg.fullResyncIntervalMs,
      // Observe mode paces its read-only cycles like incremental ones (no initial import to finish).
      initialDone: this.st.initialDone || this.st.lastReport?.plan !== undefined,
      lastCycleEndedAt: this.lastCycleEndedAt,
      lastFullAt: this.lastFullAt,
      syncRequested,
      resyncRequested,
      configChanged: this.lastCycleHash !== this.cfgHash,
      targetChanged: this.targetChanged,
      failures: this.failures,
      lastFailureAt: this.lastFailureAt,
      retryBaseMs: this.o.retryBaseMs,
    });
    return { next, syncRequested, resyncRequested };
  }

  /** A slot of the shared cycle cap; undefined when stopped or suspended while waiting. */
  private async acquireSlot(): Promise<(() => void) | undefined> {
    if (!this.o.slots) return () => {};
    this.slotWait = new AbortController();
    try {
      return await this.o.slots.acquire(this.key, this.slotWait.signal);
    } finally {
      this.slotWait = undefined;
    }
  }

  private async runCycle(engine: SyncEngine, kind: CycleKind, why: string, req: { syncRequested: boolean; resyncRequested: boolean }): Promise<void> {
    const cfg = this.cfg;
    const hash = this.cfgHash;
    const generation = cfg.resolved.generation;
    this.targetChanged = false;
    this.cycleAbort = new AbortController();
    this.st.running = kind;
    this.o.onChange();
    const started = this.clock.now();
    // Idle incremental cycles are frequent; log them at debug so info stays one line per real event.
    this.log[kind === 'incremental' ? 'debug' : 'info']({ kind, why }, 'sync cycle started');
    let report: CycleReport | undefined;
    try {
      report = await engine.runCycle(kind, this.cycleAbort.signal, { retryNow: req.syncRequested || req.resyncRequested });
    } catch (err) {
      this.st.running = undefined;
      this.lastCycleHash = hash;
      this.lastCycleEndedAt = this.clock.now();
      this.markHandled(cfg, req);
      this.fail(err, `${kind} cycle failed`);
      return;
    } finally {
      this.cycleAbort = undefined;
    }
    const ended = this.clock.now();
    this.st.running = undefined;
    this.st.lastReport = report;
    this.lastCycleHash = hash;
    this.lastCycleEndedAt = ended;
    this.markHandled(cfg, req);
    if (report.portalId !== undefined) this.st.portalId = report.portalId;
    this.o.onReport?.(report, ended - started);
    if (report.systemic) {
      this.fail(Object.assign(new Error(report.systemic.message), { category: report.systemic.category, reason: report.systemic.reason }), `${kind} cycle stopped`);
      this.st.lastSyncTime = report.finishedAt;
      this.o.onChange();
      return;
    }
    this.st.lastSyncTime = report.finishedAt;
    if (report.completed && report.plan) {
      // Observe mode: nothing was synced, so neither the initial import nor a full pass counts as done.
      this.failures = 0;
      this.lastFailureAt = undefined;
      this.st.failure = undefined;
      this.st.completedGeneration = generation;
      this.log.info({ kind, durationMs: ended - started, differences: planDifferences(report.plan) }, 'observe cycle completed');
    } else if (report.completed) {
      this.failures = 0;
      this.lastFailureAt = undefined;
      this.st.failure = undefined;
      this.st.lastSuccessfulSyncTime = report.finishedAt;
      this.st.completedGeneration = generation;
      if (kind === 'initial' || kind === 'full') {
        this.lastFullAt = ended;
        this.st.lastFullResyncTime = report.finishedAt;
      }
      if (!this.st.initialDone) this.st.initialDone = true;
      const changed = report.objects.reduce((n, o) => n + sum(o.lastCycle.toTarget) + sum(o.lastCycle.toHubSpot), 0);
      const failing = report.errors.reduce((n, e) => n + e.records, 0);
      const level = kind !== 'incremental' || changed > 0 || failing > 0 ? 'info' : 'debug';
      this.log[level]({ kind, durationMs: ended - started, changed, failing }, 'sync cycle completed');
    } else {
      this.log.info({ kind, durationMs: ended - started }, 'sync cycle stopped at a batch boundary');
    }
    this.o.onChange();
  }

  private markHandled(cfg: WorkerConfig, req: { syncRequested: boolean; resyncRequested: boolean }): void {
    if (req.syncRequested || (req.resyncRequested && cfg.syncRequest !== undefined)) {
      // A full cycle also covers an incremental request made at the same time.
      if (req.syncRequested || cfg.syncRequest !== this.st.handledSyncRequest) this.st.handledSyncRequest = cfg.syncRequest;
    }
    if (req.resyncRequested) this.st.handledResyncRequest = cfg.resyncRequest;
  }

  /** When to retry after the latest failure: exponential, capped at the schedule interval. */
  private retryAt(): number {
    return (this.lastFailureAt ?? this.clock.now()) + retryDelay(this.failures, this.cfg.intervalMs, this.o.retryBaseMs);
  }

  private fail(err: unknown, what: string): void {
    const e = err as { message?: string; category?: ErrorCategory; reason?: string };
    const message = e?.message ?? String(err);
    // An unclassified error that is a lost database connection is the target being unavailable.
    const category = e?.category ?? (isTargetUnreachable(err) ? 'Target' : undefined);
    this.failures++;
    this.lastFailureAt = this.clock.now();
    this.st.failure = { category, reason: e?.reason, message };
    this.log.warn({ err: message, category, failures: this.failures }, what);
    this.o.onFailure?.(this.st.failure);
    this.o.onChange();
  }

  /**
   * Sleeps until `at` (or forever when undefined), waking early on configure()/stop(), and on a
   * captured target change when an engine is given.
   */
  private async waitFor(at: number | undefined, engine?: SyncEngine): Promise<void> {
    if (this.stopped) return;
    const abort = new AbortController();
    await new Promise<void>((resolve) => {
      const done = () => {
        timer?.cancel();
        abort.abort();
        this.wakeUp = () => {};
        resolve();
      };
      this.wakeUp = done;
      const timer = at === undefined ? undefined : this.clock.setTimer(done, at - this.clock.now());
      if (engine) {
        engine.waitForTargetChange(abort.signal).then(
          () => {
            if (!abort.signal.aborted) {
              this.targetChanged = true;
              done();
            }
          },
          (err) => this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'waiting for target changes failed'),
        );
      }
    });
  }

  private async closeEngine(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    this.engineHash = undefined;
    this.validatedHash = undefined;
    if (engine) {
      try {
        await engine.close();
      } catch (err) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'closing the sync engine failed');
      }
    }
  }
}

/** Creates, updates, deletes and links a sync would carry out (Observe mode). */
export function planDifferences(plan: NonNullable<CycleReport['plan']>): number {
  return plan.objects.reduce((n, o) => n + o.toTarget.create + o.toTarget.update + o.toTarget.delete + o.toHubSpot.create + o.toHubSpot.update + o.toHubSpot.delete + o.link, 0);
}
