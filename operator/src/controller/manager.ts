/**
 * The operator process: informers for the three kinds and the referenced Secrets (always running, so a standby
 * has a warm cache and /readyz means something), leader election, and — only while leading —
 * the work queues, reconcilers and sync workers. Losing leadership stops every worker at its
 * batch boundary; shutdown (SIGTERM) does the same and then releases the Lease.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '../kube/config.js';
import type { Logger } from 'pino';
import { sharedPropertyCache } from '../hubspot/property-cache.js';
import { EventRecorder } from '../observability/events.js';
import { forgetIntegration, type OperatorMetrics } from '../observability/metrics.js';
import { ExponentialBackoff } from '../kube/backoff.js';
import { reconcileFieldMapping, reconcileSyncFilter, FIELD_MAPPING, SYNC_FILTER, type ChildContext } from './child-reconciler.js';
import { systemClock, type Clock } from '../kube/clock.js';
import { Informer, objectKey } from '../kube/informer.js';
import { INTEGRATION, reconcileIntegration, WorkerRegistry } from './integration-reconciler.js';
import { KubeClient, type KubeObject } from '../kube/client.js';
import { LeaderElector } from '../kube/leader.js';
import type { CacheView, FieldMappingObject, IntegrationObject, SyncFilterObject } from './resolve.js';
import { ReferencedSecrets } from './secrets.js';
import { DEFAULT_CONCURRENCY, DEFAULT_DB_POOL_SIZE, DEFAULT_MAX_CONCURRENT_SYNCS } from './defaults.js';
import { StatusWriter } from './status-writer.js';
import { SyncSlots } from './sync-slots.js';
import type { EngineFactory } from './worker.js';
import { WorkQueue, type WorkQueueObserver } from '../kube/workqueue.js';


export interface OperatorOptions {
  kubeConfig: KubeConfig;
  engineFactory: EngineFactory;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Namespaces to watch; empty = all. */
  namespaces?: string[];
  /** Label selector: only HubSpotIntegrations matching it are handled by this process. */
  shard?: string;
  concurrency?: number;
  /** At most this many sync cycles at once across all integrations (--max-concurrent-syncs); default 8. */
  maxConcurrentSyncs?: number;
  /** Connections per database pool, handed to the engine (--db-pool-size); default 10. */
  dbPoolSize?: number;
  leaderElection?: { enabled: boolean; namespace: string; name: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number; identity?: string };
  clock?: Clock;
  watchTimeoutSeconds?: number;
  watchdogGraceMs?: number;
  retryBaseMs?: number;
  onProgress?: (namespace: string, integration: string, objectType: string, phase: string, done: number, total?: number) => void;
  /** status.webhooks of an integration (the webhook receiver's counts; DESIGN §2.8). Absent: not written. */
  webhookStatus?: (namespace: string, name: string, uid: string) => Promise<{ lastEventTime?: string; eventsLast24h: number; rejectedLast24h: number } | undefined>;
}

function queueObserver(m: OperatorMetrics, name: string): WorkQueueObserver {
  return {
    depth: (n) => m.workqueueDepth.set({ name }, n),
    added: () => m.workqueueAdds.inc({ name }),
    retried: () => m.workqueueRetries.inc({ name }),
    queued: (s) => m.workqueueQueueDuration.observe({ name }, s),
    worked: (s, result) => {
      m.workqueueWorkDuration.observe({ name }, s);
      m.reconcileTime.observe({ controller: name }, s);
      m.reconcileTotal.inc({ controller: name, result });
      if (result === 'error') m.reconcileErrors.inc({ controller: name });
    },
  };
}

export class Operator {
  readonly client: KubeClient;
  private readonly o: OperatorOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly integrations: Informer<IntegrationObject>;
  readonly fieldMappings: Informer<FieldMappingObject>;
  readonly syncFilters: Informer<SyncFilterObject>;
  /** Only the Secrets integrations reference. */
  readonly secrets: ReferencedSecrets;
  private readonly informers: Informer<KubeObject>[];
  readonly events: EventRecorder;
  readonly workers = new WorkerRegistry();
  /** The shared cap on sync cycles running at once. */
  readonly syncSlots: SyncSlots;
  private elector?: LeaderElector;
  private queues?: { integrations: WorkQueue; fieldMappings: WorkQueue; syncFilters: WorkQueue };
  private leading = false;
  private syncAbort?: AbortController;
  private leadershipChange: Promise<void> = Promise.resolve();

  constructor(o: OperatorOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.log = o.logger;
    this.client = new KubeClient(o.kubeConfig);
    const common = { client: this.client, namespaces: o.namespaces, logger: o.logger, clock: this.clock, watchTimeoutSeconds: o.watchTimeoutSeconds, watchdogGraceMs: o.watchdogGraceMs };
    this.integrations = new Informer<IntegrationObject>({ ...common, resource: INTEGRATION, labelSelector: o.shard });
    this.fieldMappings = new Informer<FieldMappingObject>({ ...common, resource: FIELD_MAPPING });
    this.syncFilters = new Informer<SyncFilterObject>({ ...common, resource: SYNC_FILTER });
    this.secrets = new ReferencedSecrets({ ...common, onChange: (keys) => keys.forEach((k) => this.queues?.integrations.add(k)) });
    this.informers = [this.integrations, this.fieldMappings, this.syncFilters, this.secrets.informer] as unknown as Informer<KubeObject>[];
    const m = o.metrics;
    this.syncSlots = new SyncSlots(o.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS, {
      queued: (n) => m.syncQueueDepth.set(n),
      running: (n) => m.syncsRunning.set(n),
      waited: (s) => m.syncQueueWait.observe(s),
    });
    m.syncsMax.set(this.syncSlots.limit);
    this.events = new EventRecorder({ client: this.client, logger: o.logger, host: hostname(), clock: this.clock });
    this.wireInformers();
  }

  /** Informers synced: the cache reflects the cluster (readiness). */
  ready(): { ok: boolean; detail?: string } {
    const pending = this.informers.filter((i) => !i.hasSynced()).map((i) => i.resource.plural);
    return pending.length ? { ok: false, detail: `waiting for the initial list of ${pending.join(', ')}` } : { ok: true };
  }

  /** Every watch alive (liveness). */
  healthy(): { ok: boolean; detail?: string } {
    for (const i of this.informers) {
      const h = i.healthy();
      if (!h.ok) return h;
    }
    return { ok: true };
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    for (const i of this.informers) i.start();
    const le = this.o.leaderElection;
    if (le?.enabled) {
      this.elector = new LeaderElector({
        client: this.client,
        namespace: le.namespace,
        name: le.name,
        identity: le.identity ?? `${process.env.POD_NAME || hostname()}_${randomBytes(4).toString('hex')}`,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        logger: this.log,
        clock: this.clock,
        onStatus: (leader) => this.o.metrics.leaderStatus.set({ name: le.name }, leader ? 1 : 0),
        onStartedLeading: () => this.changeLeadership(true),
        onStoppedLeading: () => this.changeLeadership(false),
      });
      this.elector.start();
    } else {
      this.changeLeadership(true);
    }
  }

  /** Graceful stop: workers finish their batch in flight, then the Lease is released. */
  async stop(): Promise<void> {
    this.changeLeadership(false);
    await this.leadershipChange;
    await this.elector?.stop();
    await this.leadershipChange;
    await this.events.flush();
    await Promise.all([this.integrations.stop(), this.fieldMappings.stop(), this.syncFilters.stop(), this.secrets.stop()]);
    await this.client.close();
  }

  private changeLeadership(leading: boolean): void {
    // Stop waiting for the caches at once (the start queued before this change may be waiting).
    if (!leading) this.syncAbort?.abort();
    this.leadershipChange = this.leadershipChange.then(() => (leading ? this.startControllers() : this.stopControllers()));
  }

  private cacheView(): CacheView {
    return {
      integration: (ns, name) => this.integrations.get(ns, name),
      fieldMappings: (ns) => this.fieldMappings.list(ns),
      syncFilters: (ns) => this.syncFilters.list(ns),
      secret: (ns, name) => this.secrets.get(ns, name),
    };
  }

  private async startControllers(): Promise<void> {
    if (this.leading) return;
    this.leading = true;
    // Reconcile from complete caches only (client-go's WaitForCacheSync): a FieldMapping seen
    // before its integration, or an integration before its Secret, would report a false InvalidSpec.
    this.syncAbort = new AbortController();
    const synced = this.syncAbort.signal;
    await Promise.all(this.informers.map((i) => i.whenSynced(synced)));
    if (synced.aborted) {
      this.leading = false;
      return;
    }
    const m = this.o.metrics;
    const concurrency = this.o.concurrency ?? DEFAULT_CONCURRENCY;
    const statusWriter = new StatusWriter(this.client, this.log);
    const enqueue = (queue: () => WorkQueue | undefined) => (key: string) => queue()?.add(key);
    const ctx: ChildContext = {
      client: this.client,
      cache: this.cacheView(),
      logger: this.log,
      metrics: m,
      events: this.events,
      statusWriter,
      engineFactory: this.o.engineFactory,
      clock: this.clock,
      workers: this.workers,
      syncSlots: this.syncSlots,
      secretsSettled: (key) => this.secrets.settled(key),
      engineOptions: { dbPoolSize: this.o.dbPoolSize ?? DEFAULT_DB_POOL_SIZE, propertyCache: sharedPropertyCache },
      cleanedUp: new Set(),
      enqueue: enqueue(() => this.queues?.integrations),
      enqueueChildren: (ns, name) => this.enqueueChildren(ns, name),
      onProgress: this.o.onProgress,
      webhookStatus: this.o.webhookStatus,
      retryBaseMs: this.o.retryBaseMs,
      sharded: Boolean(this.o.shard),
      fieldMapping: (ns, name) => this.fieldMappings.get(ns, name),
      syncFilter: (ns, name) => this.syncFilters.get(ns, name),
    };
    const onError = (kind: string) => (key: string, err: unknown, retryInMs: number) =>
      this.log.warn({ controller: kind, key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reconcile failed; retrying');
    const mk = (name: string, handler: (key: string) => Promise<void>) =>
      new WorkQueue({ name, handler, concurrency, clock: this.clock, observer: queueObserver(m, name), backoff: new ExponentialBackoff({ baseMs: 500, maxMs: 60_000 }), onError: onError(name) });
    this.queues = {
      integrations: mk('hubspotintegration', (k) => reconcileIntegration(ctx, k)),
      fieldMappings: mk('fieldmapping', (k) => reconcileFieldMapping(ctx, k)),
      syncFilters: mk('syncfilter', (k) => reconcileSyncFilter(ctx, k)),
    };
    this.log.info({ namespaces: this.o.namespaces?.length ? this.o.namespaces : 'all', shard: this.o.shard }, 'controllers started');
    for (const i of this.integrations.list()) this.queues.integrations.add(objectKey(i));
    for (const f of this.fieldMappings.list()) this.queues.fieldMappings.add(objectKey(f));
    for (const s of this.syncFilters.list()) this.queues.syncFilters.add(objectKey(s));
  }

  private async stopControllers(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const queues = this.queues;
    this.queues = undefined;
    await Promise.all([queues?.integrations.shutdown(), queues?.fieldMappings.shutdown(), queues?.syncFilters.shutdown()]);
    await this.workers.stopAll();
    // A standby must not export the integrations' gauges (dashboards would see two "ready" series).
    for (const i of this.integrations.list()) forgetIntegration(this.o.metrics, i.metadata.namespace!, i.metadata.name);
    this.log.info('controllers stopped');
  }

  private enqueueChildren(namespace: string, integration: string): void {
    for (const f of this.fieldMappings.list(namespace)) if (f.spec?.integrationRef?.name === integration) this.queues?.fieldMappings.add(objectKey(f));
    for (const s of this.syncFilters.list(namespace)) if (s.spec?.integrationRef?.name === integration) this.queues?.syncFilters.add(objectKey(s));
  }

  private wireInformers(): void {
    this.integrations.on((event, obj) => {
      this.secrets.track(obj, event === 'delete');
      this.queues?.integrations.add(objectKey(obj));
    });
    const child = (queue: () => WorkQueue | undefined) => (event: string, obj: FieldMappingObject | SyncFilterObject, old?: FieldMappingObject | SyncFilterObject) => {
      queue()?.add(objectKey(obj));
      // The integration depends on the spec only; our own status writes need not wake it.
      if (event === 'update' && old && old.metadata.generation === obj.metadata.generation && !obj.metadata.deletionTimestamp) return;
      const ns = obj.metadata.namespace!;
      for (const o of [obj, old]) {
        const ref = o?.spec?.integrationRef?.name;
        if (ref) this.queues?.integrations.add(`${ns}/${ref}`);
      }
    };
    this.fieldMappings.on(child(() => this.queues?.fieldMappings));
    this.syncFilters.on(child(() => this.queues?.syncFilters));
  }
}
