/**
 * The sync engine of one integration (contract: ./types.ts). It owns the connections to
 * HubSpot and the target database, prepares the state schema, plans each object type against
 * the real HubSpot properties and table columns, and runs cycles:
 *
 *   per object type, in spec order:
 *     HubSpot → target: import (until complete) | incremental | full (+ HubSpot deletes)
 *     target → HubSpot: scan of unlinked rows (first sync, full) then the outbox
 *
 * Record-level failures are kept per record and never stop a cycle; systemic ones
 * (Authentication, Permission, daily RateLimit, target unreachable) stop it and are returned in
 * CycleReport.systemic. Aborting the signal stops at the next batch boundary.
 */
import type { Logger } from 'pino';
import type { ErrorCategory } from '../api/categories.js';
import { parseDuration } from '../api/duration.js';
import { objectTypeDescriptor } from '../api/object-types.js';
import { createHubSpotClient } from '../hubspot/index.js';
import type { PropertyCache } from '../hubspot/property-cache.js';
import { HubSpotApiError, type HubSpotClient, type PropertyDefinition } from '../hubspot/types.js';
import { isValidIdentifier, openConnector, targetSettings, TargetSpecError, type Connector, type StateReader, type TableRef } from '../target/index.js';
import { AbortedError, countersOf, emptyCounters, SystemicError, toSystemic, type SyncContext } from './context.js';
import { associationCaptureRefs, associationCounts, associationIssues, prepareAssociations, runAssociations, TouchedRecords, type AssociationRuntime } from './associations.js';
import { buildObjectPlan, checkReferences, tableRef, type ObjectPlan } from './mapping.js';
import { DryRun } from './observe.js';
import { runDrain, runFullPull, runImport, runIncremental, runTargetScan, type ObjectRuntime } from './passes.js';
import { resolvePushIntent } from './push-intent.js';
import { forgetOutOfScope, queueTargetSideRetries, retryHubSpotSide } from './retry.js';
import type { CycleKind, CycleReport, ObjectReport, ResolvedIntegration, SpecIssue, SyncEngine, SyncObserver } from './types.js';
import { columnKindFor, propertyTypeFor } from './values.js';
import { consumeWebhookEvents } from './webhook-events.js';
import { ApiPacer, realClock, type EngineClock } from './pacing.js';

export interface SyncEngineDeps {
  logger: Logger;
  observer?: SyncObserver;
  /** Use this HubSpot client (e.g. shared by the controller) instead of creating one. */
  hubspot?: HubSpotClient;
  /** Use this in-process database (the sandbox's PGlite instance) instead of opening credentials.databaseUrl. */
  pglite?: unknown;
  /** Connections per distinct target database, shared by its integrations (default 10; --db-pool-size). */
  dbPoolSize?: number;
  /** HubSpot property definitions shared by the integrations of one account (hubspot/property-cache.ts). */
  propertyCache?: PropertyCache;
  /** Incremental search lookback (default 5 minutes): HubSpot search is eventually consistent. */
  lookbackMs?: number;
  /** Audit log retention in days when spec.audit.retention is not set (default 30). */
  auditRetentionDays?: number;
  /** The clock pacing waits on (the budget benchmark scales time); default the real one. */
  clock?: EngineClock;
}

/** The unique HubSpot property the operator creates for idempotent creates when no unique match property exists. */
export const EXTERNAL_ID_PROPERTY = 'hubspot_operator_external_id';

const DEFAULT_LOOKBACK_MS = 5 * 60_000;
/** MySQL targets with webhooks: how often a waiting worker looks for events another replica stored. */
const WEBHOOK_POLL_MS = 2000;

class Engine implements SyncEngine {
  private readonly cfg: ResolvedIntegration;
  private readonly deps: SyncEngineDeps;
  private readonly log: Logger;
  private target?: Connector;
  private registered = false;
  private hubspot?: HubSpotClient;
  private readonly properties = new Map<string, Map<string, PropertyDefinition>>();
  private readonly captured = new Set<string>();
  private portalId?: number;
  private unlisten?: () => Promise<void>;
  private notified = false;
  private readonly waiters = new Set<() => void>();
  private closed = false;
  private readonly pacer: ApiPacer;

  constructor(cfg: ResolvedIntegration, deps: SyncEngineDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.pacer = new ApiPacer({
      clock: deps.clock ?? realClock,
      minInterval: cfg.spec.schedule?.minInterval,
      dailyRequests: cfg.spec.hubspot.rateLimit?.dailyRequests ?? 250_000,
    });
    this.log = deps.logger.child({ namespace: cfg.namespace, integration: cfg.name });
  }

  private get settings() {
    return targetSettings(this.cfg.spec.target);
  }

  /** The connector of the target (its pool is shared with the other integrations on the database). */
  private async connector(): Promise<Connector> {
    this.target ??= await openConnector(this.cfg.credentials.databaseUrl, {
      uid: this.cfg.uid,
      namespace: this.cfg.namespace,
      name: this.cfg.name,
      settings: this.settings,
      poolSize: this.deps.dbPoolSize,
      pglite: this.deps.pglite,
    });
    return this.target;
  }

  /** The connector with the state store prepared and this integration registered. */
  private async store(): Promise<Connector> {
    const target = await this.connector();
    if (!this.registered) {
      const { adoptedUid } = await target.register();
      // Re-created after deletionPolicy Orphan: its links, cursors and captured changes are ours now.
      if (adoptedUid) this.log.info({ previousUid: adoptedUid }, 'adopted the sync state of the orphaned integration of the same name');
      this.registered = true;
    }
    return target;
  }

  private client(): HubSpotClient {
    if (!this.hubspot) {
      const h = this.cfg.spec.hubspot;
      this.hubspot =
        this.deps.hubspot ??
        createHubSpotClient({
          baseURL: h.baseURL ?? 'https://api.hubapi.com',
          auth: this.cfg.credentials.hubspot,
          rateLimit: {
            requestsPerTenSeconds: h.rateLimit?.requestsPerTenSeconds ?? 100,
            dailyRequests: h.rateLimit?.dailyRequests ?? 250_000,
            searchRequestsPerSecond: h.rateLimit?.searchRequestsPerSecond ?? 4,
          },
          portalId: h.portalId,
          propertyCache: this.deps.propertyCache,
          onRequest: (o) => {
            this.pacer.request(o.rateLimited);
            this.deps.observer?.apiRequest?.(o.kind, o.code, o.rateLimited);
          },
        });
    }
    return this.hubspot;
  }

  private async propertiesOf(type: string, refresh: boolean): Promise<Map<string, PropertyDefinition>> {
    let m = this.properties.get(type);
    if (!m || refresh) {
      m = new Map((await this.client().listProperties(type)).map((p) => [p.name, p]));
      this.properties.set(type, m);
    }
    return m;
  }

  /** Plans of all object types with every spec problem found. */
  private async plan(refresh: boolean): Promise<{ plans: { plan: ObjectPlan; keyDataType?: string }[]; issues: SpecIssue[] }> {
    const spec = this.cfg.spec;
    const issues: SpecIssue[] = [];
    const { schema, stateSchema, createTables, fields } = this.settings;
    if (!isValidIdentifier(stateSchema)) {
      issues.push({ kind: 'HubSpotIntegration', name: this.cfg.name, field: fields.stateSchema, message: `${JSON.stringify(stateSchema)} is not a valid SQL identifier` });
    }
    if (!isValidIdentifier(schema)) {
      issues.push({ kind: 'HubSpotIntegration', name: this.cfg.name, field: fields.schema, message: `${JSON.stringify(schema)} is not a valid SQL identifier` });
      return { plans: [], issues };
    }
    const { fieldMappingOf, issues: refIssues } = checkReferences(this.cfg);
    issues.push(...refIssues);
    const target = await this.connector();
    const plans: { plan: ObjectPlan; keyDataType?: string }[] = [];
    for (const [index, o] of spec.objects.entries()) {
      let properties: Map<string, PropertyDefinition>;
      try {
        properties = await this.propertiesOf(o.type, refresh);
      } catch (err) {
        if (!(err instanceof HubSpotApiError && err.category === 'NotFound')) throw err;
        issues.push({ kind: 'HubSpotIntegration', name: this.cfg.name, field: `spec.objects[${index}].type`, message: `HubSpot has no object type "${o.type}" (for a custom object use its p_<name> or 2-<id> type)` });
        continue;
      }
      const table = isValidIdentifier(o.table) ? await target.describeTable(schema, o.table) : { columns: new Map(), primaryKey: undefined };
      const columns = table?.columns;
      const { plan, issues: found } = buildObjectPlan({
        index,
        object: o,
        schema,
        createTables,
        fieldMapping: fieldMappingOf(o.type),
        filters: this.cfg.filters.filter((f) => f.spec.objectType === o.type),
        properties,
        columns,
        tablePrimaryKey: table?.primaryKey,
        targetFields: fields,
      });
      for (const i of found) issues.push({ ...i, name: i.name || this.cfg.name });
      plans.push({ plan, keyDataType: columns?.get(plan.primaryKey)?.dataType });
    }
    // Associations (DESIGN §2.7): checked once every object's table is known.
    if (issues.length === 0) issues.push(...(await associationIssues(target, spec.objects, schema, createTables, new Map(plans.map((p) => [p.plan.type, p.plan.pkKind])), this.cfg.name)));
    return { plans, issues };
  }

  async validate(signal?: AbortSignal): Promise<SpecIssue[]> {
    if (signal?.aborted) return [];
    try {
      return (await this.plan(true)).issues;
    } catch (err) {
      // A target spec only the connector can judge (e.g. a mysql:// URL for a postgres target).
      if (err instanceof TargetSpecError) return [{ kind: 'HubSpotIntegration', name: this.cfg.name, field: err.field, message: err.message }];
      throw err;
    }
  }

  /** Create what the spec asks for (tables/columns, HubSpot properties), then plan again. */
  private async prepare(refresh: boolean, observe = false): Promise<{ runtimes: ObjectRuntime[]; issues: SpecIssue[]; associations?: AssociationRuntime[] }> {
    let { plans, issues } = await this.plan(refresh);
    if (issues.length) return { runtimes: [], issues };
    let changed = false;
    const target = await this.connector();
    // Observe creates nothing (no HubSpot property, no table or column, no trigger).
    for (const { plan } of observe ? [] : plans) {
      for (const f of plan.missingProperties) {
        const kind = propertyTypeFor(f.columnKind);
        this.log.info({ objectType: plan.type, property: f.property }, 'creating missing HubSpot property');
        await this.client().createProperty(plan.type, { name: f.property, label: f.property, type: kind.type, fieldType: kind.fieldType });
        changed = true;
      }
      if (plan.missingColumns.length || plan.missingHubspotIdColumn) {
        this.log.info({ objectType: plan.type, table: plan.table, columns: plan.missingColumns.map((f) => f.column) }, 'creating missing table/columns');
        await target.ensureTable(tableRef(plan), [
          ...plan.missingColumns.map((f) => ({ column: f.column, kind: columnKindFor(plan.propertyTypes.get(f.property)) })),
          ...(plan.missingHubspotIdColumn && plan.hubspotIdColumn ? [{ column: plan.hubspotIdColumn, kind: 'text' as const }] : []),
        ]);
        changed = true;
      }
    }
    if (changed) ({ plans, issues } = await this.plan(true));
    if (issues.length) return { runtimes: [], issues };
    // Observe changes no capture (it neither installs nor removes a trigger).
    if (!observe) await this.releaseStaleCaptures(plans.filter(({ plan }) => plan.toHubSpot).map(({ plan }) => plan.table));
    const runtimes: ObjectRuntime[] = [];
    for (const { plan, keyDataType } of plans) {
      const table = tableRef(plan, keyDataType);
      if (plan.toHubSpot && !observe && !this.captured.has(plan.table)) {
        await (await this.store()).installCapture(table);
        this.captured.add(plan.table);
      }
      const props = this.properties.get(plan.type)!;
      const matchProp = plan.match ? props.get(plan.match.property) : undefined;
      runtimes.push({
        plan,
        table,
        uniqueMatch: !!matchProp && (matchProp.hasUniqueValue === true || objectTypeDescriptor(plan.type).uniqueProperties.includes(matchProp.name)),
        ensureExternalIdProperty: observe ? async () => {} : () => this.ensureExternalIdProperty(plan.type),
      });
    }
    const associations = await prepareAssociations(target, this.cfg.spec.objects, this.settings.schema, this.settings.createTables, runtimes, async (t) => {
      if (this.captured.has(t.table)) return;
      await (await this.store()).installCapture(t);
      this.captured.add(t.table);
    });
    return { runtimes, issues, associations };
  }

  /**
   * Capture on a table that no longer writes to HubSpot (its object left spec.objects, or its
   * direction became HubSpotToTarget) is removed with its pending outbox rows: nothing would
   * ever drain them, and pendingChanges / sync_lag_seconds would grow forever.
   */
  private async releaseStaleCaptures(wanted: string[]): Promise<void> {
    const target = await this.store();
    const { schema } = this.settings;
    const keep = new Set(wanted);
    for (const t of await target.capturedTables()) {
      if (t.schema === schema && keep.has(t.table)) continue;
      this.log.info({ table: t.table }, 'table no longer synced to HubSpot: removing its change capture and pending changes');
      await target.releaseCapture(t);
      if (t.schema === schema) this.captured.delete(t.table);
    }
  }

  /** The operator's unique external-ID property of an object type, for idempotent creates (created once, on first need). */
  private async ensureExternalIdProperty(type: string): Promise<void> {
    const current = await this.propertiesOf(type, false);
    if (current.has(EXTERNAL_ID_PROPERTY)) return;
    this.log.info({ objectType: type }, `creating HubSpot property ${EXTERNAL_ID_PROPERTY} for idempotent creates`);
    try {
      const def = await this.client().createProperty(type, {
        name: EXTERNAL_ID_PROPERTY,
        label: 'HubSpot operator external ID',
        type: 'string',
        fieldType: 'text',
        hasUniqueValue: true,
      });
      current.set(def.name ?? EXTERNAL_ID_PROPERTY, def);
    } catch (err) {
      // Created meanwhile (another replica, or a run that crashed after creating it).
      if (!(err instanceof HubSpotApiError && err.status === 409)) throw err;
      await this.propertiesOf(type, true);
    }
  }

  private context(target: Connector, signal: AbortSignal, counters: SyncContext['counters'], dry?: DryRun): SyncContext {
    const t = dry ? dry.connector(target) : target;
    return {
      uid: this.cfg.uid,
      logger: this.log,
      // A dry run reports no synced records or errors to the metrics.
      observer: dry ? undefined : this.deps.observer,
      target: t,
      state: t.state,
      hubspot: dry ? dry.hubspot(this.client()) : this.client(),
      lookbackMs: this.deps.lookbackMs ?? DEFAULT_LOOKBACK_MS,
      externalIdProperty: EXTERNAL_ID_PROPERTY,
      signal,
      counters,
      auditValues: this.cfg.spec.audit?.values !== false,
      ...(dry ? { onConflict: dry.onConflict } : {}),
    };
  }

  /** spec.audit.retention (default 30d) in seconds. */
  private auditRetentionSeconds(): number {
    const r = this.cfg.spec.audit?.retention;
    if (r) {
      try {
        // Days are written as 24 h each (the shared duration parser knows ms, s, m and h).
        return parseDuration(r.replace(/([0-9]+)d/g, (_, n: string) => `${Number(n) * 24}h`)) / 1000;
      } catch {
        // The CRD's pattern rejects a malformed duration; fall back to the default.
      }
    }
    return (this.deps.auditRetentionDays ?? 30) * 86_400;
  }

  private async syncObject(ctx: SyncContext, rt: ObjectRuntime, kind: CycleKind): Promise<void> {
    const { plan } = rt;
    const log = this.log.child({ objectType: plan.type });
    const state = ctx.state;
    const importCur = await state.getCursor(plan.type, 'import');
    const meta = await state.getCursor(plan.type, 'meta');
    const initialDone = !!importCur?.completed;
    // A changed field set backfills: a full pass re-reads every record (only changed ones are written).
    const backfill = initialDone && meta?.data.fingerprint !== undefined && meta.data.fingerprint !== plan.fingerprint;
    const full = kind === 'full' || backfill;
    if (backfill) log.info('field mapping changed: backfilling with a full pass');
    // Before the pull reads HubSpot: HubSpot writes a crash left without their commit are
    // recorded first, so both passes see the state the lost commit would have left.
    if (plan.toHubSpot) await resolvePushIntent(ctx, rt);

    if (plan.toTarget) {
      if (!initialDone) {
        // Match-key lookups are only needed when the target had rows (or pending changes) to link.
        const tableRows = await ctx.target.rows.countRows(rt.table);
        const pending = await state.pendingChanges(plan.table);
        await runImport(ctx, rt, pending > 0 || (importCur?.data.startedAtMs === undefined && tableRows > 0));
      } else if (full) {
        await runFullPull(ctx, rt);
      } else {
        await runIncremental(ctx, rt);
      }
    } else if (!initialDone) {
      await ctx.target.transaction((tx) => tx.state.setCursor(plan.type, 'import', { completed: true, data: {} }));
    }
    if (!initialDone || full) await ctx.target.analyze();
    await retryHubSpotSide(ctx, rt);
    if (plan.toHubSpot) {
      await runTargetScan(ctx, rt, 'seed');
      if (full) await runTargetScan(ctx, rt, 'full_seed');
      const dueKeys = await queueTargetSideRetries(ctx, rt);
      await runDrain(ctx, rt);
      await forgetOutOfScope(ctx, rt, 'toHubSpot', dueKeys);
    }
    // The pass completed: forget the full-pass cursors, remember the field set.
    await ctx.target.transaction(async (tx) => {
      if (full) for (const p of ['full', 'full_archived', 'full_seed']) await tx.state.deleteCursor(plan.type, p);
      const m = (await tx.state.getCursor(plan.type, 'meta')) ?? { completed: true, data: {} };
      await tx.state.setCursor(plan.type, 'meta', { ...m, data: { ...m.data, fingerprint: plan.fingerprint, ...(full ? { lastFullMs: Date.now() } : {}) } });
    });
  }

  /** Whether this engine ran a cycle yet: a new engine means a new config (spec, mappings, filters, Secret). */
  private retriedOnStart = false;

  async runCycle(kind: CycleKind, signal: AbortSignal, opts: { retryNow?: boolean } = {}): Promise<CycleReport> {
    const startedAt = new Date().toISOString();
    const counters = new Map<string, ReturnType<typeof emptyCounters>>();
    let completed = false;
    let systemic: CycleReport['systemic'];
    let runtimes: ObjectRuntime[] = [];
    let target: Connector | undefined;
    let observe = false;
    let dry: DryRun | undefined;
    let plan: CycleReport['plan'];
    this.pacer.cycleStarted();
    try {
      target = await this.store();
      if (this.cfg.spec.hubspot.portalId !== undefined && this.portalId === undefined) {
        const actual = await this.client().getPortalId();
        if (actual !== this.cfg.spec.hubspot.portalId) {
          throw new SystemicError('Permission', 'PermissionDenied', `the HubSpot credentials belong to portal ${actual}, but spec.hubspot.portalId is ${this.cfg.spec.hubspot.portalId}`);
        }
        this.portalId = actual;
      }
      observe = this.cfg.spec.mode === 'Observe';
      await this.checkDailyBudget(target);
      const prepared = await this.prepare(kind !== 'incremental', observe);
      if (prepared.issues.length) {
        const first = prepared.issues[0]!;
        systemic = { category: 'Validation', reason: 'InvalidSpec', message: `${first.kind} ${first.name}: ${first.field}: ${first.message}` };
      } else {
        runtimes = prepared.runtimes;
        dry = observe ? new DryRun(runtimes.map((r) => ({ type: r.plan.type, table: r.plan.table }))) : undefined;
        const ctx = this.context(target, signal, counters, dry);
        // Only the association pass reads what the record passes touched, per from-type.
        const touched = new TouchedRecords((prepared.associations ?? []).map((a) => a.from.plan.type));
        if (touched.tracking) ctx.touched = (side, type, ids) => touched.add(side, type, ids);
        const cycleStartMs = Date.now();
        // Failing records are due at once after a config change (a new engine), on a sync or
        // resync request and on a full cycle; otherwise by their backoff (DESIGN §3 "Convergence").
        // Observe writes nothing, not even retry schedules.
        if (!observe && (opts.retryNow || kind === 'full' || !this.retriedOnStart)) {
          await target.transaction((tx) => tx.state.retryErrorsNow());
          this.retriedOnStart = true;
        }
        // Real time first (DESIGN §2.8): the events the webhook receiver stored; the passes below stay the safety net.
        // associationChange events mark both ends touched (HubSpot side): the association pass below
        // re-reads them this cycle; those events are acknowledged only after it.
        const webhookResult = this.webhooksOn
          ? await consumeWebhookEvents(ctx, runtimes, prepared.associations?.length ? { onAssociationChange: (ends) => { for (const [type, ids] of ends) touched.add('hubspot', type, [...ids]); } } : {})
          : undefined;
        for (const rt of runtimes) {
          if (signal.aborted) throw new AbortedError();
          countersOf(ctx, rt.plan.type);
          await this.syncObject(ctx, rt, kind);
        }
        // After every object's records: both ends of new pairs are linked by now.
        if (prepared.associations?.length) await runAssociations(ctx, prepared.associations, touched, kind === 'full', cycleStartMs);
        const deferredAcks = webhookResult?.deferredAcks ?? [];
        if (deferredAcks.length) await target.transaction((tx) => tx.state.ackWebhookEvents(deferredAcks));
        completed = true;
        if (dry) {
          plan = { objects: dry.summary(runtimes.map((r) => r.plan.type), counters), changes: dry.plannedChanges, hubspotWriteRequests: dry.hubspotWrites };
          counters.clear();
          // The only state write of Observe: the full plan, for `hubspot-operator plan --details`.
          // spec.audit.values: false keeps values out of the state schema: the stored diffs then name the fields only.
          const stored = this.cfg.spec.audit?.values === false ? plan.changes.map((c) => ({ ...c, fields: Object.fromEntries(Object.keys(c.fields).map((f) => [f, {}])) })) : plan.changes;
          await target.savePlan({ observedAt: new Date().toISOString(), objects: plan.objects, changes: stored });
          return await this.report(kind, startedAt, true, undefined, runtimes, counters, target, plan);
        }
        // Listen from the first cycle on, so a change captured after it wakes the next wait.
        if (this.webhooksOn || runtimes.some((r) => r.plan.toHubSpot)) await this.subscribe().catch((err) => this.log.warn({ err: String(err) }, 'LISTEN failed'));
        await target.pruneAudit(this.auditRetentionSeconds()).catch((err: unknown) => this.log.warn({ err: String(err) }, 'audit log pruning failed'));
      }
    } catch (err) {
      const s = toSystemic(err, this.target);
      if (s instanceof AbortedError) this.log.info('cycle aborted at a batch boundary');
      else {
        systemic = { category: s.category, reason: s.reason, message: s.message };
        this.log.warn({ category: s.category, reason: s.reason, detail: s.message }, 'cycle stopped by a systemic failure');
      }
    }
    this.pacer.cycleEnded();
    return this.report(kind, startedAt, completed && !systemic, systemic, runtimes, counters, target);
  }

  /**
   * The daily-budget guard, fed by the state store: usage counted before a restart or a spec
   * change still counts. The account is learned from the token first (the client asks once,
   * before its first request anyway).
   */
  private async checkDailyBudget(target: Connector): Promise<void> {
    if (this.hubspot?.portalId() === undefined && this.cfg.spec.hubspot.portalId === undefined) {
      await this.client()
        .getPortalId()
        .catch(() => undefined); // no account endpoint: counted per integration
    }
    const used = await this.pacer.flush(target, this.usageAccount()).catch(() => undefined);
    const budget = this.cfg.spec.hubspot.rateLimit?.dailyRequests ?? 250_000;
    if (used && used.requests >= budget) {
      throw new SystemicError(
        'RateLimit',
        'RateLimited',
        `the daily budget is spent: ${used.requests} HubSpot requests in the last 24 hours (spec.hubspot.rateLimit.dailyRequests is ${budget}); syncing resumes as the oldest leave the 24-hour window`,
      );
    }
  }

  /** The HubSpot account API usage is counted under: its portal, else this integration's credentials. */
  private usageAccount(): string {
    const portal = this.hubspot?.portalId() ?? this.cfg.spec.hubspot.portalId;
    return portal !== undefined ? `portal:${portal}` : `integration:${this.cfg.uid}`;
  }

  private async report(
    kind: CycleKind,
    startedAt: string,
    completed: boolean,
    systemic: CycleReport['systemic'],
    runtimes: ObjectRuntime[],
    counters: Map<string, ReturnType<typeof emptyCounters>>,
    target: Connector | undefined,
    plan?: CycleReport['plan'],
  ): Promise<CycleReport> {
    const state: StateReader | undefined = target?.state;
    const usage = this.hubspot?.usage();
    let persisted: { requests: number; rateLimited: number } | undefined;
    if (target && systemic?.reason !== 'TargetUnavailable') {
      persisted = await this.pacer.flush(target, this.usageAccount()).catch((err: unknown) => {
        this.log.warn({ err: String(err) }, 'could not record HubSpot API usage in the state store');
        return undefined;
      });
    }
    const objects: ObjectReport[] = [];
    let errors: CycleReport['errors'] = [];
    let syncLagSeconds = 0;
    if (state && systemic?.reason !== 'TargetUnavailable') {
      try {
        const assocCounts = target ? await associationCounts(target, this.cfg.spec.objects, this.settings.schema) : new Map();
        for (const o of this.cfg.spec.objects) {
          const rt = runtimes.find((r) => r.plan.type === o.type);
          const c = counters.get(o.type) ?? emptyCounters();
          const meta = await state.getCursor(o.type, 'meta');
          const drift = meta?.data.drift as { records?: unknown; lastVerifyTime?: unknown } | undefined;
          objects.push({
            ...(drift && typeof drift.lastVerifyTime === 'string' ? { drift: { records: Number(drift.records ?? 0), lastVerifyTime: drift.lastVerifyTime } } : {}),
            type: o.type,
            hubspotRecords: Number(meta?.data.hubspotRecords ?? 0),
            targetRecords: rt && target ? await target.rows.countRows(rt.table) : 0,
            linkedRecords: await state.countLinks(o.type),
            pendingChanges: await state.pendingChanges(o.table),
            lastCycle: { toTarget: c.toTarget, toHubSpot: c.toHubSpot, failed: c.failed, conflicts: c.conflicts },
            filterMatches: c.filterMatches,
            ...(assocCounts.has(o.type) ? { associations: assocCounts.get(o.type) } : {}),
          });
        }
        errors = (await state.errorGroups()).map((g) => ({ ...g, category: g.category as ErrorCategory }));
        syncLagSeconds = await state.syncLagSeconds();
      } catch (err) {
        this.log.warn({ err: String(err) }, 'could not read sync state for the report');
      }
    }
    return {
      kind,
      startedAt,
      finishedAt: new Date().toISOString(),
      completed,
      portalId: this.portalId ?? this.hubspot?.portalId(),
      pacing: this.pacer.pacingMessage(),
      objects,
      errors,
      systemic,
      apiUsage: {
        // Counted per account in the state store: survives restarts and spec changes.
        requestsLast24h: persisted?.requests ?? usage?.requestsLast24h ?? 0,
        rateLimitedLast24h: persisted?.rateLimited ?? usage?.rateLimitedLast24h ?? 0,
        dailyBudget: usage?.dailyBudget ?? this.cfg.spec.hubspot.rateLimit?.dailyRequests ?? 250_000,
      },
      syncLagSeconds,
      ...(plan ? { plan } : {}),
    };
  }

  /** Subscribe to the integration's NOTIFY channel (once); true when this call subscribed. */
  private async subscribe(): Promise<boolean> {
    if (this.unlisten) return false;
    const target = await this.connector();
    this.unlisten = await target.watchChanges(() => {
      if (this.waiters.size === 0) this.notified = true;
      for (const w of [...this.waiters]) w();
    });
    return true;
  }

  /** spec.hubspot.webhooks is set: the worker applies the receiver's stored events. */
  private get webhooksOn(): boolean {
    return !!this.cfg.spec.hubspot.webhooks;
  }

  private async webhookEventsPending(): Promise<boolean> {
    if (!this.webhooksOn) return false;
    return (await (await this.store()).state.pendingWebhookEvents(1)).length > 0;
  }

  async waitForTargetChange(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    if (await this.subscribe()) {
      // Changes captured (or webhook events stored) before the subscription existed: do not wait for them.
      const target = await this.store();
      if ((await target.state.syncLagSeconds()) > 0 || (await this.webhookEventsPending())) return;
    }
    // MySQL has no NOTIFY: events a standby stored are found by this poll (PostgreSQL: NOTIFY; this process: at once).
    let poll: NodeJS.Timeout | undefined;
    if (this.webhooksOn && this.settings.kind === 'mysql') {
      poll = setInterval(() => {
        void this.webhookEventsPending().then(
          (yes) => {
            if (yes) for (const w of [...this.waiters]) w();
          },
          () => undefined,
        );
      }, WEBHOOK_POLL_MS);
      poll.unref();
    }
    try {
      await this.waitForWake(signal);
    } finally {
      if (poll) clearInterval(poll);
    }
  }

  private async waitForWake(signal: AbortSignal): Promise<void> {
    if (this.notified) {
      this.notified = false;
    } else {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    // Coalesce: at most one capture-driven cycle per minInterval, further apart when pacing the budget.
    await this.pacer.waitForTurn(signal);
  }

  async cleanup(policy: 'Delete' | 'Orphan'): Promise<void> {
    const target = await this.connector();
    const { schema } = this.settings;
    const tables: TableRef[] = this.cfg.spec.objects
      .filter((o) => isValidIdentifier(o.table) && isValidIdentifier(schema))
      .map((o) => ({ schema, table: o.table, primaryKey: o.primaryKey ?? 'id' }));
    tables.push(...associationCaptureRefs(this.cfg.spec.objects, schema));
    await target.cleanup(policy, tables);
    if (policy === 'Delete') this.captured.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.waiters]) w();
    if (this.unlisten) await this.unlisten().catch(() => {});
    if (this.target) await this.target.close();
  }
}

export function createSyncEngine(cfg: ResolvedIntegration, deps: SyncEngineDeps): SyncEngine {
  return new Engine(cfg, deps);
}
