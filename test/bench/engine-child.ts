/**
 * The operator side of `npm run bench`, as it runs in production: compiled JavaScript under plain
 * `node`, in its own process, so its peak RSS and CPU are the operator's alone (not the tsx
 * loader's, not the HubSpot sandbox's, not the benchmark driver's).
 *
 * It loads the whole operator's modules, as `hubspot-operator run` does, but runs only the sync
 * engines (no controller, no Kubernetes API).
 *
 * sync.bench.ts transpiles this file (types only) into node_modules/.cache, rewriting its
 * `operator/src/…` imports to the compiled `operator/dist/…` files, and starts it with IPC.
 * Messages: `init` (the integrations), `cycle` (run one and report), `logic` (the sync-logic
 * micro-benchmark), `close`. Every reply carries the process's peak RSS so far (VmHWM).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import pino from 'pino';
import { createSyncEngine } from '../../operator/src/sync/index.js';
import type { CycleKind, CycleReport, ResolvedIntegration, SyncEngine } from '../../operator/src/sync/types.js';
import { buildObjectPlan } from '../../operator/src/sync/mapping.js';
import { reconcile } from '../../operator/src/sync/conflict.js';
import { baselineHashes, hsHashOf, hsValuesOf, tgValuesOf } from '../../operator/src/sync/context.js';
import { evaluateFilters } from '../../operator/src/sync/filter.js';
import type { PropertyDefinition } from '../../operator/src/hubspot/types.js';
// The rest of the operator's module graph (controller, Kubernetes client, metrics), loaded but not
// run: the production process carries their code and top-level state while it syncs.
import '../../operator/src/controller/run.js';
import '../../operator/src/observability/metrics.js';

export type ChildRequest =
  | { type: 'init'; engines: Record<string, ResolvedIntegration>; lookbackMs: number; windowMs: number }
  | { type: 'cycle'; engine: string; kind: CycleKind }
  | { type: 'logic'; records: number }
  | { type: 'close' };

export interface CycleMeasurement {
  report: CycleReport;
  seconds: number;
  cpuMicros: number;
  requests: number;
  rateLimited: number;
  /** Records synced in the steady state (whole rate-limit windows after the first; see steadyState). */
  steady: { records: number; seconds: number };
  peakRssBytes: number;
  /** The peak RSS (VmHWM) of this cycle alone: the high-water mark is reset when it starts. */
  cyclePeakRssBytes: number;
  rssBytes: number;
  /** process.memoryUsage() at the end of the cycle: where the resident memory is. */
  memory: NodeJS.MemoryUsage;
  /** Where the resident memory was at the cycle's highest sampled RSS (every 100 ms). */
  atPeak?: MemorySample;
  /** A heap snapshot written after the cycle (BENCH_HEAP_SNAPSHOT_DIR). */
  heapSnapshot?: string;
}

/** One sample of where the resident memory is: RSS split by /proc, the V8 heap by space. */
export interface MemorySample {
  rssBytes: number;
  /** Anonymous resident memory (V8 heap, malloc) and file-backed (the node binary's code pages). */
  anonBytes: number;
  fileBytes: number;
  memory: NodeJS.MemoryUsage;
  /** Committed (size) and used bytes of each V8 heap space. */
  spaces: Record<string, { size: number; used: number }>;
}

export type ChildReply =
  | { type: 'ready'; peakRssBytes: number }
  | { type: 'cycle'; result: CycleMeasurement }
  | { type: 'logic'; microsPerRecord: number; peakRssBytes: number }
  | { type: 'closed'; peakRssBytes: number }
  | { type: 'error'; message: string };

/** Peak resident set size of this process so far: VmHWM, else getrusage's maxrss. */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** VmRSS, RssAnon and RssFile of this process (Linux), in bytes. */
function procRss(): { rss: number; anon: number; file: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    const rss = process.memoryUsage.rss();
    return { rss, anon: NaN, file: NaN };
  }
}

export function memorySample(): MemorySample {
  const p = procRss();
  return {
    rssBytes: p.rss,
    anonBytes: p.anon,
    fileBytes: p.file,
    memory: process.memoryUsage(),
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name.replace(/_space$/, ''), { size: sp.space_size, used: sp.space_used_size }])),
  };
}

/**
 * Reset this process's VmHWM to its current RSS (Linux ≥ 4.0: `5` to /proc/self/clear_refs), so
 * the next peak read is the peak of what runs from now on. False where it is not possible.
 */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU of the sync logic alone (DESIGN §7: mapping, filtering, hashing, diffing ≤ 20 µs/record):
 * canonical values and hash of a HubSpot record, the filters, the field-by-field decision
 * against its target row, and the new baseline hashes — the work per changed record.
 */
export function syncLogicMicrosPerRecord(n: number): number {
  const prop = (name: string, type: PropertyDefinition['type']): [string, PropertyDefinition] => [name, { name, label: name, type, fieldType: 'text' }];
  const properties = new Map([prop('email', 'string'), prop('firstname', 'string'), prop('lastname', 'string'), prop('phone', 'phone_number'), prop('company', 'string'), prop('lifecyclestage', 'enumeration'), prop('lastmodifieddate', 'datetime')]);
  const col = { kind: 'text' as const, dataType: 'text', hasDefault: false, nullable: true };
  const columns = new Map(['id', 'email', 'firstname', 'lastname', 'phone', 'company', 'lifecyclestage'].map((c) => [c, c === 'id' ? { ...col, kind: 'integer' as const, dataType: 'bigint', hasDefault: true } : col]));
  const order = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];
  const { plan } = buildObjectPlan({
    index: 0,
    object: { type: 'contacts', table: 'contacts', match: { property: 'email', column: 'email' } },
    schema: 'public',
    createTables: false,
    fieldMapping: {
      name: 'fm',
      spec: {
        integrationRef: { name: 'x' },
        objectType: 'contacts',
        fields: [
          { property: 'email', column: 'email' },
          { property: 'firstname', column: 'firstname', transform: { trim: true } },
          { property: 'lastname', column: 'lastname' },
          { property: 'phone', column: 'phone' },
          { property: 'company', column: 'company', mode: 'FillEmpty' },
          { property: 'lifecyclestage', column: 'lifecyclestage', mode: 'ForwardOnly', order },
        ],
      },
    },
    filters: [{ name: 'f', spec: { integrationRef: { name: 'x' }, objectType: 'contacts', rules: [{ property: 'email', operator: 'EndsWith', value: '@example.com' }] } }],
    properties,
    columns,
  });
  const typeOf = (p: string) => plan.propertyTypes.get(p);
  let sink = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const hs = { email: `Contact${i}@Example.com`, firstname: `First${i}`, lastname: `Last${i} changed`, phone: `+1 555 ${i}`, company: null, lifecyclestage: order[i % 7]!, lastmodifieddate: '2026-11-23T01:00:00.000Z' };
    const tg = { __key: String(i), email: `contact${i}@example.com`, firstname: `First${i}`, lastname: `Last${i}`, phone: `+1 (555) ${i}`, company: 'Acme', lifecyclestage: order[(i + 3) % 7]! };
    const values = hsValuesOf(plan.fields, hs);
    const h = hsHashOf(plan, values);
    if (!evaluateFilters(plan.filters, 'toTarget', typeOf, (p) => (hs as Record<string, string | null>)[p]).pass) continue;
    const baseline = { hs: { ...values, lastname: `Last${i}` }, tg: tgValuesOf(plan.fields, tg) };
    const r = reconcile(plan.fields, { hs, tg, baseline, hubspotWritesDeferred: true });
    sink += h.length + baselineHashes(plan, r.baseline).hsHash.length;
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) throw new Error('nothing computed');
  return (cpu.user + cpu.system) / n;
}

/**
 * The steady state of a cycle: records synced over whole rate-limit windows after the first.
 * The cycle's first window starts with a full budget (a burst the long run cannot sustain), and
 * under a rolling window the burst pattern then repeats once per window, so the span starts at
 * the first batch written after the first window and lasts the largest whole number of windows
 * that fits before the last batch; the rate over it is the long-run rate.
 */
export function steadyState(times: number[], counts: number[], t0: number, windowMs: number): { records: number; seconds: number } {
  const first = times.findIndex((t) => t >= t0 + windowMs);
  if (first < 0) return { records: 0, seconds: 0 };
  const start = times[first]!;
  const windows = Math.floor((times[times.length - 1]! - start) / windowMs);
  if (windows < 1) return { records: 0, seconds: 0 };
  const end = start + windows * windowMs;
  let records = 0;
  for (let i = first; i < times.length && times[i]! < end; i++) records += counts[i]!;
  return { records, seconds: (windows * windowMs) / 1000 };
}

function send(reply: ChildReply): void {
  process.send!(reply);
}

// Only when started as the benchmark's child (the driver imports this file for its types).
if (process.send) {
  const engines = new Map<string, SyncEngine>();
  let windowMs = 10_000;
  let requests = 0;
  let rateLimited = 0;
  // Records synced, with when (one entry per written batch of the running cycle).
  let syncTimes: number[] = [];
  let syncCounts: number[] = [];
  // The process's peak over every cycle so far (each cycle resets VmHWM to measure its own).
  let overallPeak = 0;
  const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  let cycles = 0;
  const peakSoFar = () => Math.max(overallPeak, peakRssBytes());

  const handle = async (msg: ChildRequest): Promise<void> => {
    switch (msg.type) {
      case 'init': {
        windowMs = msg.windowMs;
        for (const [name, cfg] of Object.entries(msg.engines)) {
          engines.set(
            name,
            createSyncEngine(cfg, {
              logger: pino({ level: 'warn' }),
              lookbackMs: msg.lookbackMs,
              observer: {
                apiRequest: (_kind, code, limited) => {
                  requests++;
                  if (limited || code === 429) rateLimited++;
                },
                recordsSynced: (_type, _direction, _operation, count) => {
                  syncTimes.push(performance.now());
                  syncCounts.push(count);
                },
              },
            }),
          );
        }
        overallPeak = peakSoFar();
        send({ type: 'ready', peakRssBytes: overallPeak });
        return;
      }
      case 'cycle': {
        const engine = engines.get(msg.engine);
        if (!engine) throw new Error(`no engine named ${msg.engine}`);
        const r0 = requests;
        const l0 = rateLimited;
        overallPeak = peakSoFar();
        const resettable = resetPeakRss();
        let atPeak: MemorySample | undefined;
        const sampler = setInterval(() => {
          const m = memorySample();
          if (!atPeak || m.rssBytes > atPeak.rssBytes) atPeak = m;
        }, 100);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        syncTimes = [];
        syncCounts = [];
        const report = await engine.runCycle(msg.kind, new AbortController().signal);
        const t1 = performance.now();
        const cpu = process.cpuUsage(cpu0);
        clearInterval(sampler);
        const cyclePeak = peakRssBytes();
        overallPeak = Math.max(overallPeak, cyclePeak);
        const heapSnapshot = snapshotDir ? writeHeapSnapshot(join(snapshotDir, `cycle-${++cycles}-${msg.engine}-${msg.kind}.heapsnapshot`)) : undefined;
        send({
          type: 'cycle',
          result: {
            report,
            seconds: (t1 - t0) / 1000,
            cpuMicros: cpu.user + cpu.system,
            requests: requests - r0,
            rateLimited: rateLimited - l0,
            steady: steadyState(syncTimes, syncCounts, t0, windowMs),
            peakRssBytes: overallPeak,
            // Without a reset (not Linux) VmHWM is the process's peak so far.
            cyclePeakRssBytes: resettable ? cyclePeak : overallPeak,
            rssBytes: process.memoryUsage.rss(),
            memory: process.memoryUsage(),
            atPeak,
            heapSnapshot,
          },
        });
        return;
      }
      case 'logic':
        send({ type: 'logic', microsPerRecord: syncLogicMicrosPerRecord(msg.records), peakRssBytes: peakSoFar() });
        return;
      case 'close':
        for (const e of engines.values()) await e.close();
        send({ type: 'closed', peakRssBytes: peakSoFar() });
        process.disconnect();
        return;
    }
  };
  process.on('message', (msg: ChildRequest) => {
    handle(msg).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
}
