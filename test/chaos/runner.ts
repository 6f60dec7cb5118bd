/**
 * Chaos convergence runner (issue 10 "nothing left behind", issue 16 NewestWins; DESIGN §3, §7):
 * black-box. The operator runs as a real process (`hubspot-operator run`, from source via tsx)
 * against the Kubernetes API sandbox and the HubSpot API sandbox (both in this process) and the
 * real PostgreSQL (DATABASE_URL, else 127.0.0.1:5432/test). One HubSpotIntegration: contacts,
 * TwoWay, matched by email, creates allowed and deletes Propagate both ways, five mapped fields
 * with different column names, and one conflict rule for the run.
 *
 * A schedule of operations is generated from the seed alone (printed first, with a digest of the
 * schedule, so `--seed S` replays the same sequence): creates, updates of several fields and
 * deletes on both sides (SQL on the table; REST on HubSpot with the driver's own token), fault
 * windows in the HubSpot sandbox (errors 429/5xx, connection resets, latency, expired OAuth
 * access tokens, a 429 storm through tight limits), SIGKILL of the operator and a restart,
 * suspend/resume, and PostgreSQL dropping the operator's connections (pg_terminate_backend of
 * the connections named by the application_name the runner puts in the operator's database URL).
 * The ledger (./model.ts) records every write the driver made and defines the expected value of
 * each field. Then quiesce: faults off, operator up, resumed, a resync requested
 * (hubspot-operator.dev/resync-requested-at) and waited for (status: that request handled, a full
 * cycle finished after it, Ready, no pending changes) — and check: both sides equal field by
 * field, no duplicate emails on either side, every table row linked to exactly one HubSpot record
 * and back, every deleted record gone on both sides, every field carrying its expected value.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { KubeConfig } from '../../operator/src/kube/config.js';
import { KubeClient, type KubeObject } from '../../operator/src/kube/client.js';
import { applyObjects, readManifests } from '../../operator/src/sandbox/command.js';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';
import { startKubeSandbox, type KubeSandbox } from '../../operator/src/sandbox/kube/index.js';
import { FIELDS, Ledger, RULES, type Property, type RecordState, type Rule, type Side } from './model.js';
import { Rng } from './rng.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NS = 'chaos';
const NAME = 'chaos';
const DRIVER_TOKEN = 'chaos-driver-token';
const OAUTH = { clientId: 'chaos-client', clientSecret: 'chaos-client-secret' };
const PROPS = ['email', ...FIELDS.map((f) => f.property)];
const COLS = ['email', ...FIELDS.map((f) => f.column)];
const INTEGRATION = { group: 'hubspot-operator.dev', version: 'v1alpha1', plural: 'hubspotintegrations', kind: 'HubSpotIntegration' };

export interface ChaosOptions {
  seed: number;
  minutes: number;
  /** Default: drawn from the seed. */
  rule?: Rule;
  /** HubSpot search lag (the sandbox's indexing delay), default 300 ms. */
  indexingDelayMs?: number;
  /** Where the operator's log goes (default: a temporary directory, removed on success). */
  outDir?: string;
  /** Keep the database schemas of a failed run for inspection (the CLI does; the suite does not). */
  keepOnFailure?: boolean;
  log?: (line: string) => void;
}

// ---- the schedule (a pure function of the seed) ----------------------------------------------

type Values = Partial<Record<Property, string>>;
export type Op =
  | { i: number; at: number; kind: 'create'; side: Side; rec: number; values: Values }
  | { i: number; at: number; kind: 'update'; side: Side; rec: number; values: Values }
  | { i: number; at: number; kind: 'delete'; side: Side; rec: number }
  | { i: number; at: number; kind: 'faults'; faults: Record<string, number>; label: string }
  | { i: number; at: number; kind: 'faultsOff' }
  | { i: number; at: number; kind: 'storm'; requestsPerWindow: number }
  | { i: number; at: number; kind: 'stormOff' }
  | { i: number; at: number; kind: 'expireTokens' }
  | { i: number; at: number; kind: 'kill' }
  | { i: number; at: number; kind: 'restart' }
  | { i: number; at: number; kind: 'suspend' }
  | { i: number; at: number; kind: 'resume' }
  | { i: number; at: number; kind: 'pgDrop' };
type NoI<T> = T extends unknown ? Omit<T, 'i'> : never;

export interface Schedule {
  seed: number;
  rule: Rule;
  /** Records created before the integration exists (the initial import links/creates them). */
  setup: Op[];
  ops: Op[];
  digest: string;
}

const SETUP_RECORDS = 12;

export function makeSchedule(seed: number, minutes: number, ruleOverride?: Rule): Schedule {
  const rng = new Rng(seed);
  const drawn = rng.pick(RULES);
  const rule = ruleOverride ?? drawn;
  const duration = Math.round(minutes * 60_000);
  let nextRec = 0;
  const alive: number[] = [];
  const valuesFor = (tag: string, props: readonly Property[]): Values => Object.fromEntries(props.map((p) => [p, `${tag}${p.slice(0, 2)}`]));
  const allProps = FIELDS.map((f) => f.property);

  const setup: NoI<Op>[] = [];
  for (let k = 0; k < SETUP_RECORDS; k++) {
    const side: Side = k % 2 === 0 ? 'table' : 'hubspot';
    const rec = nextRec++;
    alive.push(rec);
    setup.push({ at: 0, kind: 'create', side, rec, values: valuesFor(`${side[0]}s${k}`, allProps) });
  }

  // Data operations, every 80–400 ms.
  const data: NoI<Op>[] = [];
  let n = 0;
  for (let t = rng.int(50, 300); t < duration; t += rng.int(80, 400)) {
    n++;
    const side: Side = rng.chance(0.5) ? 'table' : 'hubspot';
    const tag = `${side === 'table' ? 't' : 'h'}${n}`;
    const roll = rng.next();
    if (roll < 0.2 || alive.length < 4) {
      const rec = nextRec++;
      alive.push(rec);
      data.push({ at: t, kind: 'create', side, rec, values: valuesFor(tag, allProps) });
    } else if (roll < 0.3 && alive.length > 6) {
      const rec = alive.splice(rng.int(0, alive.length - 1), 1)[0]!;
      data.push({ at: t, kind: 'delete', side, rec });
    } else {
      // Conflicts need both sides editing one record between syncs: 40% of the updates go to a
      // hot set (the 5 oldest live records), 20% to the newest ones (their creates still in
      // flight), the rest anywhere.
      const roll2 = rng.next();
      const rec = roll2 < 0.4 ? alive[rng.int(0, Math.min(4, alive.length - 1))]! : roll2 < 0.6 ? alive[Math.max(0, alive.length - rng.int(1, 4))]! : rng.pick(alive);
      data.push({ at: t, kind: 'update', side, rec, values: valuesFor(tag, rng.sample(allProps, rng.int(1, 3))) });
    }
  }

  // Chaos events, one at a time, a new one 1–6 s after the previous one ended, never in the last 5 s.
  const chaos: NoI<Op>[] = [];
  for (let t = rng.int(2_000, 6_000); t < duration - 5_000; ) {
    // Kills and suspends (edits pile up on both sides meanwhile) twice as often as the others.
    const kind = rng.pick(['errors', 'resets', 'latency', 'expire', 'storm', 'kill', 'kill', 'suspend', 'suspend', 'pgDrop'] as const);
    const len = rng.int(1_500, 6_000);
    switch (kind) {
      case 'errors': {
        const status = rng.pick([429, 500, 502, 503]);
        chaos.push({ at: t, kind: 'faults', faults: { errorRate: rng.pick([0.2, 0.35, 0.5]), errorStatus: status }, label: `errors ${status}` });
        chaos.push({ at: t + len, kind: 'faultsOff' });
        break;
      }
      case 'resets':
        chaos.push({ at: t, kind: 'faults', faults: { resetRate: rng.pick([0.15, 0.3]) }, label: 'connection resets' });
        chaos.push({ at: t + len, kind: 'faultsOff' });
        break;
      case 'latency':
        chaos.push({ at: t, kind: 'faults', faults: { latencyMs: rng.int(100, 600) }, label: 'latency' });
        chaos.push({ at: t + len, kind: 'faultsOff' });
        break;
      case 'expire':
        chaos.push({ at: t, kind: 'expireTokens' });
        break;
      case 'storm':
        chaos.push({ at: t, kind: 'storm', requestsPerWindow: rng.int(5, 15) });
        chaos.push({ at: t + len, kind: 'stormOff' });
        break;
      case 'kill':
        chaos.push({ at: t, kind: 'kill' });
        chaos.push({ at: t + rng.int(300, 3_000), kind: 'restart' });
        break;
      case 'suspend':
        chaos.push({ at: t, kind: 'suspend' });
        chaos.push({ at: t + len, kind: 'resume' });
        break;
      case 'pgDrop':
        chaos.push({ at: t, kind: 'pgDrop' });
        break;
    }
    t += len + rng.int(1_000, 6_000);
  }

  const merged = [...data, ...chaos].sort((a, b) => a.at - b.at);
  const setupOps = setup.map((o, i) => ({ ...o, i }) as Op);
  const ops = merged.map((o, k) => ({ ...o, i: setup.length + k }) as Op);
  const digest = createHash('sha256').update(JSON.stringify({ rule, setupOps, ops })).digest('hex').slice(0, 16);
  return { seed, rule, setup: setupOps, ops, digest };
}

// ---- the run ----------------------------------------------------------------------------------

export interface Problem {
  kind: 'field' | 'race' | 'missing' | 'not-deleted' | 'duplicate' | 'unknown-record' | 'link' | 'quiesce';
  email?: string;
  field?: string;
  expected?: string | null;
  why?: string;
  table?: unknown;
  hubspot?: unknown;
  detail?: string;
  history?: { op: number; at: string; what: string }[];
}

/** One HubSpot API request of the operator, as seen by the sandbox's HTTP server. */
export interface Traffic {
  route: 'read' | 'update';
  start: number;
  end: number;
  status: number;
  inputs: { id: string; properties?: Record<string, unknown> }[];
}

export interface ChaosReport {
  seed: number;
  rule: Rule;
  minutes: number;
  digest: string;
  passed: boolean;
  startedAt: string;
  durationMs: number;
  operations: Record<string, number>;
  skipped: Record<string, number>;
  records: { created: number; deleted: number; aliveAtEnd: number };
  /** Writes made while the other side's write to that field was pending (see Ledger.conflicts). */
  conflicts: number;
  events: { at: string; what: string }[];
  quiesceRounds: number;
  /**
   * The verdict (`problems`) is taken after the FIRST resync. When it finds problems, up to two
   * more resyncs run, only to tell whether they repair it: the problems left after each.
   */
  problemsAfterMoreResyncs: number[];
  problems: Problem[];
  /**
   * Lost HubSpot writes proven to be the one race DESIGN accepts (HubSpot has no conditional
   * update): the operator's read of the record finished before the write, and its update of that
   * property arrived after it. Reported, not failed.
   */
  toleratedRaces: Problem[];
  operatorLog?: string;
}

class Driver {
  readonly hsUrl: string;
  constructor(hsUrl: string) {
    this.hsUrl = hsUrl;
  }

  /** A HubSpot API call with the driver's token, retried through injected faults (they happen before the request is served, so a retry never applies twice). */
  async hs(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const deadline = Date.now() + 120_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${this.hsUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${DRIVER_TOKEN}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        if (res.status === 429 || res.status >= 500) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        return { status: res.status, json: text ? JSON.parse(text) : undefined };
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`driver: ${method} ${path} kept failing: ${(err as Error).message}`);
        await sleep(Math.min(500, 20 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  async hsByEmail(email: string): Promise<{ id: string; properties: Record<string, string | null> } | undefined> {
    const r = await this.hs('GET', `/crm/v3/objects/contacts/${encodeURIComponent(email)}?idProperty=email&properties=${PROPS.join(',')}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`driver: GET contact ${email} → ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  /**
   * What HubSpot held for each written property right before the driver's PATCH landed at `at`.
   * The driver reads (GET) and then writes (PATCH): an operator write landing in between makes
   * the GET's values stale (seed 3005: the operator's sync of a table change landed between them,
   * and the driver's later edit was judged a conflict with that table change). HubSpot's property
   * history, read after the PATCH, gives the exact predecessor; the GET's value when the history
   * does not show the write (it always should).
   */
  async hsValuesBefore(cur: { id: string; properties: Record<string, string | null> }, written: Values, at: number): Promise<Record<string, string | null>> {
    const names = Object.keys(written);
    const r = await this.hs('GET', `/crm/v3/objects/contacts/${cur.id}?properties=email&propertiesWithHistory=${names.join(',')}`);
    const history = (r.status === 200 ? r.json.propertiesWithHistory : undefined) as Record<string, { value: string; timestamp: string }[]> | undefined;
    const before: Record<string, string | null> = {};
    for (const name of names) {
      const versions = history?.[name] ?? []; // newest first
      const mine = versions.findIndex((v) => v.value === written[name as Property] && Date.parse(v.timestamp) === at);
      before[name] = mine < 0 ? (cur.properties[name] ?? null) : (versions[mine + 1]?.value ?? null);
    }
    return before;
  }

  async hsAll(): Promise<{ id: string; properties: Record<string, string | null> }[]> {
    const out: { id: string; properties: Record<string, string | null> }[] = [];
    let after: string | undefined;
    do {
      const r = await this.hs('GET', `/crm/v3/objects/contacts?limit=100&properties=${PROPS.join(',')}${after ? `&after=${after}` : ''}`);
      out.push(...r.json.results);
      after = r.json.paging?.next?.after;
    } while (after);
    return out;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class OperatorProc {
  private proc?: ChildProcess;
  private exited?: Promise<void>;
  starts = 0;
  readonly kubeconfigPath: string;
  readonly logPath: string;
  constructor(kubeconfigPath: string, logPath: string) {
    this.kubeconfigPath = kubeconfigPath;
    this.logPath = logPath;
  }

  get alive(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    if (this.alive) return;
    this.starts++;
    const fd = openSync(this.logPath, 'a');
    this.proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'operator/src/cli.ts', 'run', '--kubeconfig', this.kubeconfigPath, '--metrics-port', '0', '--webhook-port', '0', '--bind-address', '127.0.0.1', '--lease-namespace', 'default', '--lease-duration', '3s'],
      { cwd: ROOT, env: { ...process.env, LOG_LEVEL: process.env.CHAOS_OPERATOR_LOG_LEVEL ?? 'info' }, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const p = this.proc;
    this.exited = new Promise((resolve) => p.on('exit', () => resolve()));
  }

  async kill(): Promise<void> {
    if (!this.proc) return;
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const schedule = makeSchedule(opts.seed, opts.minutes, opts.rule);
  const { rule } = schedule;
  log(`chaos: seed=${opts.seed} rule=${rule} minutes=${opts.minutes} operations=${schedule.ops.length} schedule=${schedule.digest} (replay: npm run chaos -- --seed ${opts.seed} --minutes ${opts.minutes}${opts.rule ? ` --rule ${opts.rule}` : ''})`);
  const started = Date.now();
  const runId = randomBytes(4).toString('hex');
  const schema = `chaos_${runId}`;
  const stateSchema = `chaos_${runId}_state`;
  const appName = `hso-chaos-${runId}`;
  const tmp = mkdtempSync(join(tmpdir(), 'hso-chaos-'));
  const outDir = opts.outDir ?? tmp;
  mkdirSync(outDir, { recursive: true });
  const logPath = join(outDir, `operator-${opts.seed}.log`);
  const kubeconfigPath = join(tmp, 'kubeconfig');
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
  const operatorDbUrl = (() => {
    const u = new URL(databaseUrl);
    u.searchParams.set('application_name', appName);
    return u.toString();
  })();

  const ledger = new Ledger(rule);
  const emailOf = (rec: number) => `c${rec}.s${opts.seed}@chaos.test`;
  const events: { at: string; what: string }[] = [];
  const event = (what: string) => {
    events.push({ at: new Date().toISOString(), what });
    log(`  ${new Date().toISOString().slice(11, 23)} ${what}`);
  };
  const operations: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  const problems: Problem[] = [];
  let quiesceRounds = 0;
  const laterRounds: number[] = [];
  const traffic: Traffic[] = [];
  const toleratedRaces: Problem[] = [];

  let kube: KubeSandbox | undefined;
  let hubspot: HubSpotSandbox | undefined;
  const db = new pg.Client({ connectionString: databaseUrl, application_name: `hso-chaos-driver-${runId}` });
  let op: OperatorProc | undefined;
  let client: KubeClient | undefined;
  try {
    await db.connect();
    kube = await startKubeSandbox({ port: 0, bookmarkIntervalMs: 2000 });
    await kube.writeKubeconfig(kubeconfigPath);
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig);
    client = new KubeClient(kc);
    hubspot = await startHubSpotSandbox({ port: 0, indexingDelayMs: opts.indexingDelayMs ?? 300 });
    // The driver's token belongs to another portal, so its requests do not count against the
    // operator's budget (limits themselves apply to every portal: a storm throttles the driver too).
    hubspot.registerToken(DRIVER_TOKEN, { portalId: 7_654_321 });
    observeTraffic(hubspot, traffic);
    const { refreshToken } = hubspot.registerOAuthApp(OAUTH.clientId, OAUTH.clientSecret);
    const baseLimits = hubspot.getLimits();
    let faults: Record<string, number> = {};

    const table = `"${schema}"."contacts"`;
    await db.query(`CREATE SCHEMA "${schema}"`);
    await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, email text, ${FIELDS.map((f) => `${f.column} text`).join(', ')})`);
    const d = new Driver(hubspot.url);

    // ---- operations --------------------------------------------------------------------------
    const recOf = (o: { rec: number }) => ledger.record(o.rec, emailOf(o.rec));
    const count = (k: string, skip = false) => {
      (skip ? skipped : operations)[k] = ((skip ? skipped : operations)[k] ?? 0) + 1;
    };
    const fmt = (v: Values) => Object.entries(v).map(([k, x]) => `${k}=${x}`).join(' ');

    const tableWrite = async (r: RecordState, o: Op & { kind: 'create' | 'update' }) => {
      const props = Object.keys(o.values) as Property[];
      const cols = props.map((p) => FIELDS.find((f) => f.property === p)!.column);
      if (o.kind === 'create') {
        const res = await db.query(
          `INSERT INTO ${table} (email, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, k) => `$${k + 2}`).join(', ')}) RETURNING id::text AS id, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at`,
          [r.email, ...props.map((p) => o.values[p])],
        );
        const at = Number(res.rows[0].at);
        r.ids.table.add(res.rows[0].id);
        r.createdOn ??= 'table';
        ledger.write(r, o.i, 'table', o.values, {}, at);
        ledger.note(r, o.i, at, `table INSERT ${fmt(o.values)}`);
        return true;
      }
      await db.query('BEGIN');
      try {
        const cur = await db.query(`SELECT id, ${cols.join(', ')} FROM ${table} WHERE email = $1 ORDER BY id FOR UPDATE`, [r.email]);
        if (cur.rows.length === 0) {
          await db.query('ROLLBACK');
          ledger.note(r, o.i, Date.now(), `table UPDATE skipped (no row yet) ${fmt(o.values)}`);
          return false;
        }
        const row = cur.rows[0];
        r.ids.table.add(String(row.id));
        const res = await db.query(
          `UPDATE ${table} SET ${cols.map((c, k) => `${c} = $${k + 2}`).join(', ')} WHERE id = $1 RETURNING (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at`,
          [row.id, ...props.map((p) => o.values[p])],
        );
        await db.query('COMMIT');
        const at = Number(res.rows[0].at);
        const current = Object.fromEntries(props.map((p, k) => [p, row[cols[k]!] ?? null]));
        ledger.write(r, o.i, 'table', o.values, current, at);
        ledger.note(r, o.i, at, `table UPDATE ${fmt(o.values)} (table showed ${fmt(current as Values)})`);
        return true;
      } catch (err) {
        await db.query('ROLLBACK').catch(() => {});
        throw err;
      }
    };

    const hubspotWrite = async (r: RecordState, o: Op & { kind: 'create' | 'update' }) => {
      if (o.kind === 'create') {
        const res = await d.hs('POST', '/crm/v3/objects/contacts', { properties: { email: r.email, ...o.values } });
        if (res.status !== 201 && res.status !== 200) throw new Error(`driver: create ${r.email} → ${res.status} ${JSON.stringify(res.json)}`);
        const at = Date.parse(res.json.updatedAt ?? res.json.createdAt);
        r.createdOn ??= 'hubspot';
        r.ids.hubspot.add(String(res.json.id));
        ledger.write(r, o.i, 'hubspot', o.values, {}, at);
        ledger.note(r, o.i, at, `HubSpot POST ${fmt(o.values)} → id ${res.json.id}`);
        return true;
      }
      const cur = await d.hsByEmail(r.email);
      if (!cur) {
        ledger.note(r, o.i, Date.now(), `HubSpot PATCH skipped (no record yet) ${fmt(o.values)}`);
        return false;
      }
      r.ids.hubspot.add(cur.id);
      const res = await d.hs('PATCH', `/crm/v3/objects/contacts/${cur.id}`, { properties: o.values });
      if (res.status !== 200) throw new Error(`driver: update ${r.email} → ${res.status} ${JSON.stringify(res.json)}`);
      const at = Date.parse(res.json.updatedAt);
      const current = await d.hsValuesBefore(cur, o.values, at);
      ledger.write(r, o.i, 'hubspot', o.values, current, at);
      ledger.note(r, o.i, at, `HubSpot PATCH ${cur.id} ${fmt(o.values)} (HubSpot showed ${fmt(current as Values)})`);
      return true;
    };

    const del = async (r: RecordState, o: Op & { kind: 'delete' }) => {
      if (o.side === 'table') {
        const res = await db.query(`DELETE FROM ${table} WHERE email = $1 RETURNING id::text AS id, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at`, [r.email]);
        if (res.rows.length === 0) {
          ledger.note(r, o.i, Date.now(), 'table DELETE skipped (no row yet)');
          return false;
        }
        const at = Number(res.rows[0].at);
        for (const x of res.rows) r.ids.table.add(x.id);
        r.deleted = { side: 'table', op: o.i, at };
        ledger.note(r, o.i, at, `table DELETE (${res.rows.length} row(s))`);
        return true;
      }
      const cur = await d.hsByEmail(r.email);
      if (!cur) {
        ledger.note(r, o.i, Date.now(), 'HubSpot DELETE skipped (no record yet)');
        return false;
      }
      r.ids.hubspot.add(cur.id);
      const res = await d.hs('DELETE', `/crm/v3/objects/contacts/${cur.id}`);
      if (res.status !== 204 && res.status !== 200) throw new Error(`driver: archive ${r.email} → ${res.status}`);
      r.deleted = { side: 'hubspot', op: o.i, at: Date.now() };
      ledger.note(r, o.i, Date.now(), `HubSpot DELETE ${cur.id}`);
      return true;
    };

    let lastDataSide: Side | undefined;
    const runOp = async (o: Op) => {
      switch (o.kind) {
        case 'create':
        case 'update':
        case 'delete': {
          // Writes of the two sides at least a few ms apart: both clocks count milliseconds.
          if (lastDataSide && lastDataSide !== o.side) await sleep(4);
          lastDataSide = o.side;
          const r = recOf(o);
          const ok = o.kind === 'delete' ? await del(r, o) : o.side === 'table' ? await tableWrite(r, o) : await hubspotWrite(r, o);
          count(`${o.kind} ${o.side}`, !ok);
          return;
        }
        case 'faults':
          faults = o.faults;
          hubspot!.setFaults(faults);
          event(`faults on: ${o.label} ${JSON.stringify(o.faults)}`);
          break;
        case 'faultsOff':
          faults = {};
          hubspot!.setFaults({});
          event('faults off');
          break;
        case 'expireTokens':
          hubspot!.setFaults({ ...faults, expireTokens: true });
          event('HubSpot access tokens expired');
          break;
        case 'storm':
          hubspot!.setLimits({ requestsPerWindow: o.requestsPerWindow, windowMs: 10_000 });
          event(`429 storm: ${o.requestsPerWindow} requests per 10 s`);
          break;
        case 'stormOff':
          hubspot!.setLimits(baseLimits);
          event('429 storm over');
          break;
        case 'kill':
          await op!.kill();
          event('operator SIGKILLed');
          break;
        case 'restart':
          op!.start();
          event('operator restarted');
          break;
        case 'suspend':
          await client!.patch(INTEGRATION, NS, NAME, { spec: { suspend: true } });
          event('suspended');
          break;
        case 'resume':
          await client!.patch(INTEGRATION, NS, NAME, { spec: { suspend: false } });
          event('resumed');
          break;
        case 'pgDrop': {
          const r = await db.query(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [appName]);
          event(`PostgreSQL dropped ${r.rows[0].n} operator connection(s)`);
          break;
        }
      }
      count(o.kind);
    };

    // ---- setup: records on both sides, CRDs, the integration, the operator ---------------------
    for (const o of schedule.setup) await runOp(o);
    await applyObjects(client, readManifests(join(ROOT, 'crds')));
    await applyObjects(client, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hubspot', namespace: NS }, stringData: { ...OAUTH, refreshToken } } as KubeObject,
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, stringData: { url: operatorDbUrl } } as KubeObject,
      {
        apiVersion: 'hubspot-operator.dev/v1alpha1',
        kind: 'HubSpotIntegration',
        metadata: { name: NAME, namespace: NS },
        spec: {
          hubspot: { baseURL: hubspot.url, auth: { oauth: { secretRef: { name: 'hubspot' } } } },
          target: { postgres: { connectionSecretRef: { name: 'db', key: 'url' }, schema, stateSchema } },
          objects: [
            {
              type: 'contacts',
              table: 'contacts',
              direction: 'TwoWay',
              match: { property: 'email', column: 'email' },
              conflictResolution: rule,
              create: { inHubSpot: true, inTarget: true },
              deletes: { fromHubSpot: 'Propagate', fromTarget: 'Propagate' },
            },
          ],
          schedule: { interval: '2s', fullResyncInterval: '30s' },
        },
      } as KubeObject,
      {
        apiVersion: 'hubspot-operator.dev/v1alpha1',
        kind: 'FieldMapping',
        metadata: { name: 'chaos-contacts', namespace: NS },
        spec: { integrationRef: { name: NAME }, objectType: 'contacts', fields: [{ property: 'email', column: 'email' }, ...FIELDS.map((f) => ({ property: f.property, column: f.column }))] },
      } as KubeObject,
    ]);
    op = new OperatorProc(kubeconfigPath, logPath);
    op.start();
    const getI = () => client!.get<KubeObject & { status?: any }>(INTEGRATION, NS, NAME);
    const ready = (o: { status?: any }) => o.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
    await waitUntil(async () => ready(await getI())?.status === 'True', 90_000, 'the initial sync (Ready=True)');
    event('initial sync done, Ready=True; chaos starts');

    // ---- chaos ----------------------------------------------------------------------------------
    const t0 = Date.now();
    for (const o of schedule.ops) {
      const wait = t0 + o.at - Date.now();
      if (wait > 0) await sleep(wait);
      await runOp(o);
    }
    event(`chaos over after ${Math.round((Date.now() - t0) / 1000)} s`);

    // ---- quiesce --------------------------------------------------------------------------------
    hubspot.setFaults({});
    hubspot.setLimits(baseLimits);
    hubspot.setIndexingDelay(0);
    if (!op.alive) op.start();
    await client.patch(INTEGRATION, NS, NAME, { spec: { suspend: false } });
    let previous = '';
    for (quiesceRounds = 1; quiesceRounds <= 3; quiesceRounds++) {
      const stamp = new Date().toISOString();
      const stampMs = Date.parse(stamp);
      await client.patch(INTEGRATION, NS, NAME, { metadata: { annotations: { 'hubspot-operator.dev/resync-requested-at': stamp } } });
      event(`quiesce round ${quiesceRounds}: resync requested (${stamp})`);
      let settled = true;
      try {
        await waitUntil(
          async () => {
            const o = await getI();
            const s = o.status ?? {};
            return (
              s.lastHandledResyncRequest === stamp &&
              Date.parse(s.lastFullResyncTime ?? '') >= stampMs &&
              ready(o)?.status === 'True' &&
              (s.objects ?? []).every((x: { pendingChanges?: number }) => (x.pendingChanges ?? 0) === 0)
            );
          },
          90_000,
          'a full cycle after the resync request, Ready, no pending changes',
        );
      } catch (err) {
        settled = false;
        const s = (await getI()).status;
        event(`quiesce round ${quiesceRounds}: ${(err as Error).message}; status: ${JSON.stringify({ ready: ready({ status: s }), lastHandledResyncRequest: s?.lastHandledResyncRequest, lastFullResyncTime: s?.lastFullResyncTime, objects: s?.objects, errors: s?.errors })}`);
      }
      const found = await verify(d, ledger, emailOf, schema, stateSchema, db);
      const races = takeRaces(found, ledger, traffic);
      if (!settled) found.push({ kind: 'quiesce', detail: `round ${quiesceRounds}: the resync did not complete with Ready=True and no pending changes within 90 s` });
      const st = (await getI()).status ?? {};
      const kinds = Object.entries(found.reduce<Record<string, number>>((m, p) => ({ ...m, [p.kind]: (m[p.kind] ?? 0) + 1 }), {})).map(([k, v]) => `${k} ${v}`).join(', ');
      event(`quiesce round ${quiesceRounds}: ${found.length} problem(s)${kinds ? ` (${kinds})` : ''}; status errorCount=${st.errorCount ?? 0} errors=${JSON.stringify((st.errors ?? []).map((e: { category: string; records: number; message?: string }) => `${e.category} ${e.records}: ${e.message ?? ''}`))}`);
      for (const p of found.slice(0, 8)) event(`  ${p.kind} ${p.email ?? ''} ${p.field ?? ''} expected=${JSON.stringify(p.expected)} table=${JSON.stringify(p.table)} hubspot=${JSON.stringify(p.hubspot)} ${p.detail ?? ''}`);
      // The verdict is the first round's (the contract: one completed resync converges both
      // sides). Further rounds only tell the report whether more resyncs would repair it.
      if (quiesceRounds === 1) {
        problems.splice(0, problems.length, ...found);
        toleratedRaces.splice(0, toleratedRaces.length, ...races);
      } else {
        laterRounds.push(found.length);
      }
      const sig = JSON.stringify(found.map((p) => [p.kind, p.email, p.field, p.table, p.hubspot]));
      if (found.length === 0 || sig === previous) break;
      previous = sig;
    }
    quiesceRounds = Math.min(quiesceRounds, 3);
  } catch (err) {
    problems.push({ kind: 'quiesce', detail: `the run itself failed: ${(err as Error).stack ?? String(err)}` });
  } finally {
    await op?.kill();
    // History of every record a problem names: the driver's operations, interleaved with the
    // operator's own audit log of that record (when its state schema was kept).
    const byEmail = new Map([...ledger.records.values()].map((r) => [r.email, r]));
    for (const p of [...problems, ...toleratedRaces]) {
      const r = p.email ? byEmail.get(p.email) : undefined;
      if (r) p.history = r.history.map((h) => ({ op: h.op, at: new Date(h.at).toISOString(), what: h.what }));
    }
    if (problems.length) await addAuditTrail(databaseUrl, stateSchema, problems, byEmail).catch((err) => log(`(no operator audit trail: ${(err as Error).message})`));
    await client?.close().catch(() => {});
    await hubspot?.close().catch(() => {});
    await kube?.close().catch(() => {});
    if (problems.length === 0 || !opts.keepOnFailure) {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await db.query(`DROP SCHEMA IF EXISTS "${stateSchema}" CASCADE`).catch(() => {});
    }
    await db.end().catch(() => {});
    if (!opts.outDir && problems.length === 0) rmSync(tmp, { recursive: true, force: true });
    else rmSync(kubeconfigPath, { force: true });
  }


  const recs = [...ledger.records.values()];
  return {
    seed: opts.seed,
    rule,
    minutes: opts.minutes,
    digest: schedule.digest,
    passed: problems.length === 0,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    operations,
    skipped,
    conflicts: ledger.conflicts,
    records: { created: recs.filter((r) => r.createdOn).length, deleted: recs.filter((r) => r.deleted).length, aliveAtEnd: recs.filter((r) => r.createdOn && !r.deleted).length },
    events,
    quiesceRounds,
    problemsAfterMoreResyncs: laterRounds,
    problems,
    toleratedRaces,
    operatorLog: problems.length ? logPath : undefined,
  };
}

/** Record the operator's batch reads and updates (method, time, IDs, properties) at the sandbox's HTTP server. */
function observeTraffic(hubspot: HubSpotSandbox, out: Traffic[]): void {
  // The sandbox's HTTP server (a private field): without it no race is tolerated, nothing else changes.
  const server = (hubspot as unknown as { server?: import('node:http').Server }).server;
  if (!server || typeof server.on !== 'function') return;
  server.on('request', (req, res) => {
    const url = req.url ?? '';
    const route = /\/crm\/v3\/objects\/contacts\/batch\/read/.test(url) ? 'read' : /\/crm\/v3\/objects\/contacts\/batch\/update/.test(url) ? 'update' : undefined;
    if (!route || req.headers.authorization === `Bearer ${DRIVER_TOKEN}`) return;
    const start = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // `end` is when the sandbox answered (res.end, called as it serves the request), not when
    // the response was flushed ('finish'): requests delayed by a latency fault are served in
    // the same timer turn, and a read served BEFORE a write can finish flushing after it (the
    // 30-minute run, seed 1000, c411: a genuine read-before-write race judged a lost update).
    let answeredAt = 0;
    const end = res.end.bind(res) as (...a: unknown[]) => typeof res;
    res.end = ((...a: unknown[]) => {
      answeredAt ||= Date.now();
      return end(...a);
    }) as typeof res.end;
    res.on('finish', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs?: { id: string; properties?: Record<string, unknown> }[] };
        out.push({ route, start, end: answeredAt || Date.now(), status: res.statusCode, inputs: body.inputs ?? [] });
      } catch {
        /* not a JSON body: not ours to judge */
      }
    });
  });
}

/**
 * Move the field problems that are the accepted race out of `problems`: both sides agree, the
 * value lost is a HubSpot write W, the operator's first update of that property after W carried
 * an older table write (it overwrote W), and the sandbox answered the operator's last batch read
 * of that record before that update before W landed.
 */
export function takeRaces(problems: Problem[], ledger: Ledger, traffic: Traffic[]): Problem[] {
  const races: Problem[] = [];
  const byEmail = new Map([...ledger.records.values()].map((r) => [r.email, r]));
  for (const p of [...problems]) {
    if (p.kind !== 'field' || p.table !== p.hubspot) continue;
    const r = byEmail.get(p.email!);
    const prop = p.field!.split(' / ')[0] as Property;
    const writes = r?.fields[prop]?.writes ?? [];
    const lost = writes.find((w) => w.value === p.expected);
    if (!r || !lost || lost.side !== 'hubspot') continue;
    const ids = r.ids.hubspot;
    const touches = (t: Traffic) => t.status < 300 && t.inputs.some((i) => ids.has(String(i.id)) && (t.route === 'read' || (i.properties && prop in i.properties)));
    // Served after the HubSpot write (a latency fault holds requests between arrival and service).
    const update = traffic.find((t) => t.route === 'update' && t.end >= lost.at && touches(t));
    if (!update) continue;
    // The operator's first update of that property after the HubSpot write carried an OLDER table
    // write: that write overwrote the HubSpot one. Later table writes of the field are ordinary
    // edits after it (seed 6003: the field ended with a newer table value, not the racing one).
    const sent = update.inputs.find((i) => ids.has(String(i.id)))?.properties?.[prop];
    const overwrote = writes.find((w) => w.value === sent);
    if (!overwrote || overwrote.side !== 'table' || overwrote.seq > lost.seq) continue;
    const reads = traffic.filter((t) => t.route === 'read' && t.end <= update.start && touches(t));
    const lastRead = reads[reads.length - 1];
    if (!lastRead || lastRead.end >= lost.at) continue;
    problems.splice(problems.indexOf(p), 1);
    races.push({
      ...p,
      kind: 'race',
      detail: `the operator read HubSpot ${[...ids].join(',')} until ${new Date(lastRead.end).toISOString()}, the HubSpot write (op ${lost.op}) landed at ${new Date(lost.at).toISOString()}, the operator's update of ${prop} arrived at ${new Date(update.start).toISOString()}: HubSpot has no conditional update (the one race DESIGN §3 accepts)`,
    });
  }
  return races;
}

async function addAuditTrail(url: string, stateSchema: string, problems: Problem[], byEmail: Map<string, RecordState>): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const p of problems) {
      const r = p.email ? byEmail.get(p.email) : undefined;
      if (!r || !p.history) continue;
      const res = await c.query(
        `SELECT at, direction, operation, hubspot_id, target_key, outcome, category, message FROM "${stateSchema}".audit_log
          WHERE hubspot_id = ANY($1::text[]) OR target_key = ANY($2::text[]) ORDER BY at, id`,
        [[...r.ids.hubspot], [...r.ids.table]],
      );
      const audit = res.rows.map((a) => ({
        op: -1,
        at: new Date(a.at).toISOString(),
        what: `[operator] ${a.direction} ${a.operation} hubspot=${a.hubspot_id ?? '-'} key=${a.target_key ?? '-'} ${a.outcome}${a.category ? ` ${a.category}` : ''}${a.message ? `: ${a.message}` : ''}`,
      }));
      p.history = [...p.history, ...audit].sort((x, y) => x.at.localeCompare(y.at));
    }
  } finally {
    await c.end();
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(250);
  }
}

// ---- verification -------------------------------------------------------------------------------

async function verify(d: Driver, ledger: Ledger, emailOf: (rec: number) => string, schema: string, stateSchema: string, db: pg.Client): Promise<Problem[]> {
  const problems: Problem[] = [];
  const rows = (await db.query(`SELECT id::text AS id, ${COLS.join(', ')} FROM "${schema}"."contacts" ORDER BY id`)).rows as Record<string, string | null>[];
  const live = await d.hsAll();
  const group = <T>(xs: T[], key: (x: T) => string | null | undefined) => {
    const m = new Map<string, T[]>();
    for (const x of xs) {
      const k = (key(x) ?? '').toLowerCase();
      m.set(k, [...(m.get(k) ?? []), x]);
    }
    return m;
  };
  const tableBy = group(rows, (r) => r.email);
  const hsBy = group(live, (o) => o.properties.email);
  for (const [email, xs] of tableBy) if (xs.length > 1) problems.push({ kind: 'duplicate', email, detail: `${xs.length} table rows (ids ${xs.map((x) => x.id).join(', ')})` });
  for (const [email, xs] of hsBy) if (xs.length > 1) problems.push({ kind: 'duplicate', email, detail: `${xs.length} HubSpot contacts (ids ${xs.map((x) => x.id).join(', ')})` });

  const known = new Set<string>();
  for (const r of ledger.records.values()) {
    if (!r.createdOn) continue;
    known.add(r.email);
    const t = tableBy.get(r.email)?.[0];
    const h = hsBy.get(r.email)?.[0];
    if (r.deleted) {
      if (t || h) problems.push({ kind: 'not-deleted', email: r.email, table: t ? `row ${t.id}` : 'gone', hubspot: h ? `contact ${h.id}` : 'gone', detail: `deleted in ${r.deleted.side} by op ${r.deleted.op}` });
      continue;
    }
    if (!t || !h) {
      problems.push({ kind: 'missing', email: r.email, table: t ? `row ${t.id}` : 'missing', hubspot: h ? `contact ${h.id}` : 'missing', detail: `created in ${r.createdOn}, never deleted` });
      continue;
    }
    for (const f of FIELDS) {
      const want = ledger.expected(r, f.property);
      const tv = t[f.column] ?? null;
      const hv = h.properties[f.property] ?? null;
      if (tv !== want.value || hv !== want.value) {
        const kept = r.fields[f.property].writes.filter((w) => w.value === tv || w.value === hv);
        const lost = r.fields[f.property].writes.find((w) => w.value === want.value);
        const facts = [
          lost ? `expected write: op ${lost.op} on ${lost.side} at ${new Date(lost.at).toISOString()}` : '',
          ...kept.map((w) => `found write: op ${w.op} on ${w.side} at ${new Date(w.at).toISOString()}${lost ? ` (${w.seq < lost.seq ? 'older' : 'newer'} than the expected one by ${Math.abs(Math.round(lost.at - w.at))} ms)` : ''}`),
        ].filter(Boolean);
        problems.push({ kind: 'field', email: r.email, field: `${f.property} / ${f.column}`, expected: want.value, why: want.why, table: tv, hubspot: hv, detail: facts.join('; ') });
      }
    }
  }
  for (const email of new Set([...tableBy.keys(), ...hsBy.keys()])) {
    if (!known.has(email)) problems.push({ kind: 'unknown-record', email, detail: `not created by the driver: table ${tableBy.has(email) ? 'has it' : 'no'}, HubSpot ${hsBy.has(email) ? 'has it' : 'no'}` });
  }
  // Every row linked to exactly one HubSpot record and back (the operator's state: a white-box
  // read, reported as a problem only when the table exists and disagrees).
  try {
    const links = (await db.query(`SELECT hubspot_id, target_key FROM "${stateSchema}".links WHERE deleted_side IS NULL`)).rows as { hubspot_id: string; target_key: string }[];
    const byKey = group(links, (l) => l.target_key);
    const byHs = group(links, (l) => l.hubspot_id);
    const hsIds = new Map(live.map((o) => [o.id, o]));
    for (const r of rows) {
      const ls = byKey.get(r.id!) ?? [];
      if (ls.length !== 1) problems.push({ kind: 'link', email: r.email ?? undefined, detail: `table row ${r.id} has ${ls.length} links` });
      else if (hsIds.get(ls[0]!.hubspot_id)?.properties.email?.toLowerCase() !== r.email?.toLowerCase()) problems.push({ kind: 'link', email: r.email ?? undefined, detail: `table row ${r.id} is linked to HubSpot ${ls[0]!.hubspot_id}, which is not the contact with its email` });
    }
    for (const [id, ls] of byHs) if (ls.length > 1) problems.push({ kind: 'link', detail: `HubSpot ${id} is linked to ${ls.length} rows (${ls.map((l) => l.target_key).join(', ')})` });
  } catch (err) {
    if (!/does not exist/.test((err as Error).message)) throw err;
  }
  void emailOf;
  return problems;
}

// ---- report -------------------------------------------------------------------------------------

export function markdownReport(r: ChaosReport): string {
  const lines = [
    `# Chaos run: seed ${r.seed}, ${r.rule} — ${r.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `- replay: \`npm run chaos -- --seed ${r.seed} --minutes ${r.minutes} --rule ${r.rule}\` (schedule digest ${r.digest})`,
    `- started ${r.startedAt}, took ${Math.round(r.durationMs / 1000)} s, quiesce rounds: ${r.quiesceRounds}${r.problemsAfterMoreResyncs.length ? ` (problems left after each further resync: ${r.problemsAfterMoreResyncs.join(', ')})` : ''}`,
    `- operations: ${Object.entries(r.operations).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- skipped (record not on that side yet): ${Object.entries(r.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `- records: ${r.records.created} created, ${r.records.deleted} deleted, ${r.records.aliveAtEnd} alive at the end; conflicting writes (the other side's write to the field not yet synced): ${r.conflicts}`,
    r.operatorLog ? `- operator log: ${r.operatorLog}` : '',
    '',
  ];
  if (r.problems.length) {
    lines.push(`## Problems (${r.problems.length})`, '');
    for (const p of r.problems) {
      lines.push(`### ${p.kind}${p.email ? ` — ${p.email}` : ''}${p.field ? ` — ${p.field}` : ''}`, '');
      if (p.kind === 'field') lines.push(`- expected: ${JSON.stringify(p.expected)} (${p.why})`, `- table: ${JSON.stringify(p.table)}`, `- HubSpot: ${JSON.stringify(p.hubspot)}`, ...(p.detail ? [`- ${p.detail}`] : []));
      else lines.push(`- ${[p.detail, p.table !== undefined ? `table: ${String(p.table)}` : '', p.hubspot !== undefined ? `HubSpot: ${String(p.hubspot)}` : ''].filter(Boolean).join('; ')}`);
      if (p.history?.length) {
        lines.push('', 'History:', '');
        for (const h of p.history) lines.push(`    ${h.at} ${h.op >= 0 ? `op ${h.op}` : '    '}: ${h.what}`);
      }
      lines.push('');
    }
  }
  if (r.toleratedRaces.length) {
    lines.push(`## Tolerated: the read-before-write race HubSpot allows (${r.toleratedRaces.length})`, '');
    for (const p of r.toleratedRaces) lines.push(`- ${p.email} ${p.field}: expected ${JSON.stringify(p.expected)}, both sides ${JSON.stringify(p.table)} — ${p.detail}`);
    lines.push('');
  }
  lines.push('## Events', '', ...r.events.map((e) => `    ${e.at} ${e.what}`), '');
  return lines.join('\n');
}
