/**
 * Reconciles one HubSpotIntegration, level-based, from the informer caches:
 * finalizer first; then resolve configuration and credentials; start, reconfigure or stop its
 * sync worker; compute and write status (observedGeneration at once, so a spec change shows
 * within a second); emit Events on transitions; and on deletion run the cleanup finalizer.
 * It never runs a sync cycle itself: the worker does, and re-enqueues the integration when its
 * state changes so the status follows.
 */
import type { Logger } from 'pino';
import { ANNOTATIONS, FINALIZER, GROUP, KINDS, READY_REASONS, VERSION } from '../api/constants.js';
import { findCondition } from '../api/conditions.js';
import { readyReasonPolicy } from '../api/reasons.js';
import { scheduleOf, type Schedule } from '../api/defaults.js';
import type { Condition, HubSpotIntegrationStatus } from '../api/types.js';
import type { EventRecorder, EventType } from '../observability/events.js';
import { forgetIntegration, type OperatorMetrics } from '../observability/metrics.js';
import {
  initIntegrationCounters,
  recordIntegrationGauges,
  recordIntegrationSettings,
  recordReport,
  recordSystemicError,
  syncObserverFor,
} from '../observability/integration-metrics.js';
import type { Clock } from '../kube/clock.js';
import { isStatus, type KubeClient, type ResourceType } from '../kube/client.js';
import { resolveIntegration, type CacheView, type IntegrationObject } from './resolve.js';
import { computeIntegrationStatus, jsonEqual } from './status.js';
import type { StatusWriter } from './status-writer.js';
import type { SyncSlots } from './sync-slots.js';
import { SyncWorker, type EngineFactory, type EngineOptions, type WorkerConfig, type WorkerHistory } from './worker.js';

export const INTEGRATION: ResourceType = { group: GROUP, version: VERSION, plural: KINDS.HubSpotIntegration.plural, kind: KINDS.HubSpotIntegration.kind };

export interface IntegrationContext {
  client: KubeClient;
  cache: CacheView;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventRecorder;
  statusWriter: StatusWriter;
  engineFactory: EngineFactory;
  clock: Clock;
  workers: WorkerRegistry;
  /** The shared cap on cycles running at once. */
  syncSlots?: SyncSlots;
  /** Resolves when the Secrets the integration references have been read (first read by name). */
  secretsSettled?: (key: string) => Promise<void>;
  /** Process-wide engine settings (e.g. --db-pool-size), passed to every engine. */
  engineOptions?: EngineOptions;
  /** UIDs whose cleanup succeeded (so a lagging cache does not run it twice). */
  cleanedUp: Set<string>;
  /** Re-enqueue an integration (worker state changed). */
  enqueue: (key: string) => void;
  /** Enqueue the FieldMappings and SyncFilters of an integration (their status depends on it). */
  enqueueChildren: (namespace: string, integration: string) => void;
  onProgress?: (namespace: string, integration: string, objectType: string, phase: string, done: number, total?: number) => void;
  /** status.webhooks from the webhook receiver (run wiring); never throws. */
  webhookStatus?: (namespace: string, name: string, uid: string) => Promise<{ lastEventTime?: string; eventsLast24h: number; rejectedLast24h: number } | undefined>;
  retryBaseMs?: number;
}

/** Running workers by integration key, and workers still stopping (a new one waits for them). */
export class WorkerRegistry {
  readonly running = new Map<string, SyncWorker>();
  private readonly stopping = new Map<string, Promise<void>>();

  get(key: string): SyncWorker | undefined {
    return this.running.get(key);
  }

  /** Stops the worker of `key` (after its batch in flight); resolves when it has stopped. */
  stop(key: string): Promise<void> {
    const worker = this.running.get(key);
    if (worker) {
      this.running.delete(key);
      const p = worker.stop().finally(() => this.stopping.delete(key));
      this.stopping.set(key, p);
    }
    return this.stopping.get(key) ?? Promise.resolve();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((k) => this.stop(k)));
    await Promise.all([...this.stopping.values()]);
  }

  whenStopped(key: string): Promise<void> | undefined {
    return this.stopping.get(key);
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function historyFrom(status: HubSpotIntegrationStatus | undefined, now: number): WorkerHistory {
  const initialDone = Boolean(status?.lastSuccessfulSyncTime);
  const lastFull = status?.lastFullResyncTime ? Date.parse(status.lastFullResyncTime) : undefined;
  return {
    initialDone,
    lastFullAt: lastFull ?? (initialDone ? now : undefined),
    handledSyncRequest: status?.lastHandledSyncRequest,
    handledResyncRequest: status?.lastHandledResyncRequest,
    lastSyncTime: status?.lastSyncTime,
    lastSuccessfulSyncTime: status?.lastSuccessfulSyncTime,
    lastFullResyncTime: status?.lastFullResyncTime,
  };
}

export async function reconcileIntegration(ctx: IntegrationContext, key: string): Promise<void> {
  const [namespace, name] = splitKey(key);
  const log = ctx.logger.child({ namespace, integration: name });
  let obj = ctx.cache.integration(namespace, name);
  if (!obj) {
    await ctx.workers.stop(key);
    forgetIntegration(ctx.metrics, namespace, name);
    ctx.enqueueChildren(namespace, name);
    return;
  }
  if (obj.metadata.deletionTimestamp) {
    await finalize(ctx, key, obj, log);
    return;
  }
  if (!(obj.metadata.finalizers ?? []).includes(FINALIZER)) {
    obj = await ctx.client.patch<IntegrationObject>(INTEGRATION, namespace, name, {
      metadata: { finalizers: [...(obj.metadata.finalizers ?? []), FINALIZER], resourceVersion: obj.metadata.resourceVersion },
    });
    log.debug('added the cleanup finalizer');
  }

  await ctx.secretsSettled?.(key);
  const res = resolveIntegration(ctx.cache, obj);
  const suspended = obj.spec.suspend === true;
  let scheduleIssue: string | undefined;
  let schedule: Schedule | undefined;
  try {
    schedule = scheduleOf(obj.spec);
  } catch (err) {
    scheduleIssue = err instanceof Error ? err.message : String(err);
  }
  const staticIssues = scheduleIssue ? [...res.issues, scheduleIssue] : res.issues;
  const spec = res.resolved?.spec ?? obj.spec;
  recordIntegrationSettings(ctx.metrics, namespace, name, {
    intervalSeconds: schedule ? schedule.intervalMs / 1000 : undefined,
    dailyRequests: spec.hubspot?.rateLimit?.dailyRequests,
    requestsPerTenSeconds: spec.hubspot?.rateLimit?.requestsPerTenSeconds,
  });

  let worker = ctx.workers.get(key);
  if (res.resolved && schedule) {
    const cfg: WorkerConfig = {
      resolved: res.resolved,
      suspended,
      syncRequest: obj.metadata.annotations?.[ANNOTATIONS.syncRequestedAt],
      resyncRequest: obj.metadata.annotations?.[ANNOTATIONS.resyncRequestedAt],
      ...schedule,
    };
    // Every reconcile: a new object type in the spec gets its zero series before its first cycle.
    initIntegrationCounters(ctx.metrics, namespace, name, res.resolved.spec.objects);
    if (worker) {
      worker.configure(cfg);
    } else {
      await ctx.workers.whenStopped(key);
      worker = new SyncWorker({
        key,
        config: cfg,
        history: historyFrom(obj.status, ctx.clock.now()),
        engineFactory: ctx.engineFactory,
        observer: syncObserverFor(ctx.metrics, namespace, name, (t, p, d, total) => ctx.onProgress?.(namespace, name, t, p, d, total)),
        logger: log,
        clock: ctx.clock,
        onChange: () => ctx.enqueue(key),
        onReport: (report, ms) => recordReport(ctx.metrics, namespace, name, report, ms),
        onFailure: (failure) => recordSystemicError(ctx.metrics, namespace, name, failure.category),
        retryBaseMs: ctx.retryBaseMs,
        slots: ctx.syncSlots,
        engineOptions: ctx.engineOptions,
      });
      ctx.workers.running.set(key, worker);
      log.info('sync worker started');
    }
  } else if (worker) {
    void ctx.workers.stop(key);
    worker = undefined;
    log.info({ issues: staticIssues }, 'configuration is invalid; sync worker stopped');
  }

  const webhooksOn = Boolean(spec.hubspot?.webhooks);
  const webhooks = webhooksOn && ctx.webhookStatus ? await ctx.webhookStatus(namespace, name, obj.metadata.uid ?? `${namespace}/${name}`).catch(() => undefined) : undefined;
  const written = await ctx.statusWriter.write(INTEGRATION, obj, (current) =>
    computeIntegrationStatus({
      current: current.status,
      generation: current.metadata.generation ?? 1,
      suspended,
      staticIssues,
      worker: worker?.state,
      now: new Date(ctx.clock.now()),
      realTime: { webhooks: webhooksOn, interval: spec.schedule?.interval ?? '5m', status: webhooks },
    }),
  );
  if (!written) return;
  recordIntegrationGauges(ctx.metrics, namespace, name, written.obj.status, suspended);
  if (written.wrote) for (const ev of transitionEvents(written.previous, written.obj.status)) ctx.events.record(written.obj, ev.type, ev.reason, ev.message);
  ctx.enqueueChildren(namespace, name);
}

async function finalize(ctx: IntegrationContext, key: string, obj: IntegrationObject, log: Logger): Promise<void> {
  const { namespace, name } = obj.metadata as { namespace: string; name: string };
  if (!(obj.metadata.finalizers ?? []).includes(FINALIZER)) {
    await ctx.workers.stop(key);
    return;
  }
  const policy = obj.spec.deletionPolicy ?? 'Delete';
  const writeDeleting = (cleanupError?: string) =>
    ctx.statusWriter.write(INTEGRATION, obj, (current) =>
      computeIntegrationStatus({
        current: current.status,
        generation: current.metadata.generation ?? 1,
        suspended: current.spec.suspend === true,
        deleting: { policy, cleanupError },
        staticIssues: [],
        now: new Date(ctx.clock.now()),
      }),
    );
  const latest = (await writeDeleting())?.obj ?? obj;

  // Stop the worker first: it finishes the batch in flight, then nothing else touches the data.
  await ctx.workers.stop(key);

  const uid = obj.metadata.uid ?? key;
  if (ctx.cleanedUp.has(uid)) {
    // Cleanup already succeeded; only the finalizer removal is left (our cache may lag behind).
  } else if (obj.metadata.annotations?.[ANNOTATIONS.skipCleanup] === 'true') {
    log.warn('skip-cleanup annotation set: releasing the finalizer without cleaning up');
    ctx.events.record(latest, 'Warning', 'CleanupSkipped', `Finalizer released without cleanup (annotation ${ANNOTATIONS.skipCleanup}: "true"); sync artifacts were left in place`);
  } else {
    try {
      const res = resolveIntegration(ctx.cache, obj);
      if (!res.forCleanup) throw new Error(`cannot reach the target database to clean up: ${res.issues.join('; ')}`);
      const engine = await ctx.engineFactory(res.forCleanup, { ...ctx.engineOptions, logger: log, observer: syncObserverFor(ctx.metrics, namespace, name) });
      try {
        await engine.cleanup(policy);
      } finally {
        await engine.close().catch(() => {});
      }
      ctx.cleanedUp.add(uid);
      log.info({ deletionPolicy: policy }, policy === 'Delete' ? 'removed sync artifacts' : 'kept sync artifacts (deletionPolicy Orphan)');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.events.record(latest, 'Warning', 'CleanupFailed', `Cleanup (deletionPolicy ${policy}) failed, will retry: ${message}. To release the finalizer anyway, annotate ${ANNOTATIONS.skipCleanup}="true"`);
      await writeDeleting(message).catch(() => undefined);
      throw err;
    }
  }
  const fresh = ctx.cache.integration(namespace, name) ?? latest;
  try {
    await ctx.client.patch(INTEGRATION, namespace, name, {
      metadata: { finalizers: (fresh.metadata.finalizers ?? []).filter((f) => f !== FINALIZER) },
    });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
  forgetIntegration(ctx.metrics, namespace, name);
  log.info('finalizer removed');
}

interface PendingEvent {
  type: EventType;
  reason: string;
  message: string;
}

/** Events for what changed between two statuses: transitions only, never one per cycle. */
export function transitionEvents(before: HubSpotIntegrationStatus | undefined, after: HubSpotIntegrationStatus | undefined): PendingEvent[] {
  const out: PendingEvent[] = [];
  const was = findCondition(before?.conditions, 'Ready');
  const now = findCondition(after?.conditions, 'Ready');
  if (!now) return out;
  const changed = (c?: Condition) => !c || c.status !== now.status || c.reason !== now.reason;
  if (now.reason === READY_REASONS.Suspended && was?.reason !== READY_REASONS.Suspended) {
    out.push({ type: 'Normal', reason: 'Suspended', message: 'Sync suspended: no reads or writes until spec.suspend is false' });
  }
  if (was?.reason === READY_REASONS.Suspended && now.reason !== READY_REASONS.Suspended && now.reason !== READY_REASONS.Deleting) {
    out.push({ type: 'Normal', reason: 'Resumed', message: 'Sync resumed' });
  }
  if (now.status === 'True' && was?.status !== 'True') out.push({ type: 'Normal', reason: 'Ready', message: now.message });
  // Warnings (InvalidSpec, the failures): on a new reason, and on a new message of the same one.
  const policy = readyReasonPolicy(now.reason);
  if (policy?.event?.type === 'Warning' && (changed(was) || was?.message !== now.message)) {
    out.push({ type: 'Warning', reason: policy.event.reason, message: now.message });
  }
  if (!before?.lastSuccessfulSyncTime && after?.lastSuccessfulSyncTime) {
    const objects = (after.objects ?? []).map((o) => `${o.type}: ${o.linkedRecords ?? 0} linked, ${o.hubspotRecords ?? 0} in HubSpot, ${o.targetRecords ?? 0} in the table`).join('; ');
    out.push({ type: 'Normal', reason: 'InitialSyncCompleted', message: `Initial import completed${objects ? `: ${objects}` : ''}` });
  }
  // Observe mode: one Event whenever the plan (its counts) changes.
  if (now.reason === READY_REASONS.Observed && after?.plan && !jsonEqual(before?.plan?.objects, after.plan.objects)) {
    out.push({ type: 'Normal', reason: 'PlanChanged', message: now.message });
  }
  // Record-level failures: one Event per category whose count changed.
  const oldErrors = new Map((before?.errors ?? []).map((e) => [e.category, e.records]));
  for (const e of after?.errors ?? []) {
    if (oldErrors.get(e.category) !== e.records) {
      out.push({ type: 'Warning', reason: 'SyncFailed', message: `${e.category}: ${e.records} record(s) failing: ${e.message}` });
    }
  }
  return out;
}

export { splitKey };
