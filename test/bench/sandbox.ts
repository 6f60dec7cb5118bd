/**
 * HubSpot API sandbox benchmark: memory for N contacts and HTTP latency of list pages, search
 * pages and 100-record batch writes over them. Prints one JSON document.
 *   npm run bench:sandbox                 (1,000,000 contacts)
 *   npm run bench:sandbox -- --contacts 200000 --samples 200
 */
import { parseArgs } from 'node:util';
import { startHubSpotSandbox } from '../../operator/src/sandbox/hubspot/index.js';

const { values } = parseArgs({ options: { contacts: { type: 'string', default: '1000000' }, samples: { type: 'string', default: '300' } } });
const N = Number(values.contacts);
const SAMPLES = Number(values.samples);

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;

function percentiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), max: at(1), n: s.length };
}

gc?.();
const before = process.memoryUsage();
const sandbox = await startHubSpotSandbox({ limits: { requestsPerWindow: 10_000_000, dailyRequests: 1_000_000_000, searchPerSecond: 1_000_000 } });
const t0 = performance.now();
sandbox.seed({ contacts: N, demo: true, historyDays: 365 });
const seedMs = performance.now() - t0;
gc?.();
const after = process.memoryUsage();

const auth = { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' };
async function call(method: string, path: string, body?: unknown): Promise<{ ms: number; status: number; json: any }> {
  const start = performance.now();
  const res = await fetch(`${sandbox.url}${path}`, { method, headers: auth, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  const ms = performance.now() - start;
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return { ms, status: res.status, json: text ? JSON.parse(text) : undefined };
}

let calls = 0; // distinct inputs per call, warm-up included (creates must not collide)
async function measure(name: string, fn: (i: number) => Promise<{ ms: number }>, samples = SAMPLES) {
  for (let i = 0; i < 10; i++) await fn(calls++); // warm-up
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push((await fn(calls++)).ms);
  return [name, percentiles(times)] as const;
}

const store = sandbox.store('contacts');
const maxId = N;
const rnd = (k: number) => 1 + Math.floor(((k * 2654435761) % 4294967296) / 4294967296 * maxId);
const lastDay = Date.now() - 86_400_000;
const midTs = String(store.get(Math.floor(N / 2))!.u);

const results = Object.fromEntries([
  await measure('list page (limit 100, random after)', (i) => call('GET', `/crm/v3/objects/contacts?limit=100&after=${rnd(i)}&properties=email,firstname,lastname,country`)),
  await measure('search: modified in the last day, asc, limit 200', (i) => call('POST', '/crm/v3/objects/contacts/search', {
    filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(lastDay - (i % 10)) }] }],
    sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], properties: ['email', 'firstname'], limit: 200,
  })),
  await measure('search: all records by lastmodifieddate, page at after=9800', () => call('POST', '/crm/v3/objects/contacts/search', {
    filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '0' }] }],
    sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], properties: ['email'], limit: 200, after: '9800',
  })),
  await measure('search: tie-break resume (GT ts OR (EQ ts AND id GT))', (i) => call('POST', '/crm/v3/objects/contacts/search', {
    filterGroups: [
      { filters: [{ propertyName: 'lastmodifieddate', operator: 'GT', value: midTs }] },
      { filters: [{ propertyName: 'lastmodifieddate', operator: 'EQ', value: midTs }, { propertyName: 'hs_object_id', operator: 'GT', value: String(i) }] },
    ],
    sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], properties: ['email'], limit: 200,
  }), Math.min(SAMPLES, 30)),
  await measure('search: all records with a pushed-down filter, next pages (total reused)', (i) => call('POST', '/crm/v3/objects/contacts/search', {
    filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '0' }, { propertyName: 'lifecyclestage', operator: 'IN', values: ['lead', 'customer'] }] }],
    sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }], properties: ['email'], limit: 200, after: String((i % 40) * 200),
  })),
  await measure('search: no index (sort by email, filter on country), first page', () => call('POST', '/crm/v3/objects/contacts/search', {
    filterGroups: [{ filters: [{ propertyName: 'country', operator: 'EQ', value: 'Japan' }] }],
    sorts: [{ propertyName: 'email', direction: 'ASCENDING' }], properties: ['email'], limit: 100,
  }), Math.min(SAMPLES, 10)),
  await measure('search: EQ on email (hash index)', (i) => {
    const rec = store.get(rnd(i))!;
    return call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: store.value(rec, store.props.get('email')!)! }] }], properties: ['email'], limit: 10,
    });
  }),
  await measure('batch read 100', (i) => call('POST', '/crm/v3/objects/contacts/batch/read', { inputs: Array.from({ length: 100 }, (_, k) => ({ id: String(rnd(i * 100 + k)) })), properties: ['email'] })),
  await measure('batch update 100', (i) => call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: Array.from({ length: 100 }, (_, k) => ({ id: String(rnd(i * 100 + k + 7)), properties: { jobtitle: `t${i}` } })) })),
  await measure('batch create 100', (i) => call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: Array.from({ length: 100 }, (_, k) => ({ properties: { email: `bench${i}-${k}@example.com`, firstname: 'B' } })) })),
  await measure('batch upsert 100 (by email)', (i) => call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: Array.from({ length: 100 }, (_, k) => ({ id: `up${(i * 100 + k) % 5000}@example.com`, idProperty: 'email', properties: { lastname: `u${i}` } })) })),
]);

console.log(JSON.stringify({
  contacts: N,
  seedSeconds: Math.round(seedMs) / 1000,
  memory: {
    heapUsedMiB: mib(after.heapUsed - before.heapUsed),
    rssMiB: mib(after.rss),
    bytesPerContact: Math.round((after.heapUsed - before.heapUsed) / N),
    gcExposed: gc !== undefined,
  },
  latencyMs: results,
}, null, 2));
await sandbox.close();
