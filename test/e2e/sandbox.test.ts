/**
 * `hubspot-operator sandbox` as a user runs it (npm start): one ready line, an initial import
 * with progress and a status summary, kubectl-style access with the written kubeconfig, psql
 * access to the embedded database, and edits on either side showing up on the other.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { R, condition, kubeClient, type Obj } from './harness.js';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'operator/src/cli.ts', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('CLI', () => {
  it('--help lists the commands; a bad flag exits 2 naming it', () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('hubspot-operator run');
    expect(help.stdout).toContain('hubspot-operator sandbox');
    const runHelp = cli(['run', '--help']);
    expect(runHelp.stdout).toContain('--leader-elect');
    expect(runHelp.stdout).toContain('--shard');
    const bad = cli(['run', '--metrics-port', 'eighty']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--metrics-port: "eighty" is not a port');
    const unknown = cli(['sandbox', '--components', 'kube,dns']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown component "dns"');
  });
});

describe('hubspot-operator sandbox', () => {
  let proc: ChildProcess;
  let dir: string;
  const out: string[] = [];
  let urls: { kube: string; hubspot: string; metrics: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hso-sandbox-'));
    proc = spawn(process.execPath, ['--import', 'tsx', 'operator/src/cli.ts', 'sandbox', '--kube-port', '0', '--hubspot-port', '0', '--metrics-port', '0', '--postgres-port', '0', '--records', '120', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (c: Buffer) => out.push(...c.toString('utf8').split('\n').filter(Boolean)));
    proc.stderr!.on('data', (c: Buffer) => out.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const line = await waitFor(() => out.find((l) => l.startsWith('ready ')), { timeoutMs: 60_000, what: 'the ready line' });
    const m = /^ready kube=(\S+) hubspot=(\S+) metrics=(\S+)$/.exec(line)!;
    urls = { kube: m[1]!, hubspot: m[2]!, metrics: m[3]! };
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints one ready line, then a status summary after the initial import', async () => {
    expect(out.filter((l) => l.startsWith('ready ')).length).toBe(1);
    await waitFor(() => out.some((l) => l.startsWith('HubSpotIntegration demo/demo: Ready=True')), { timeoutMs: 60_000, what: 'the status summary' });
    const summary = out.join('\n');
    expect(summary).toMatch(/contacts\s+hubspot\s+120\s+table\s+120\s+linked\s+120/);
    expect(summary).toContain('kubectl --kubeconfig');
  });

  it('serves the Kubernetes API with the written kubeconfig, /metrics, and the HubSpot API', async () => {
    const client = kubeClient(readFileSync(join(dir, 'kubeconfig'), 'utf8'));
    const hsi = await client.get<Obj>(R.integration, 'demo', 'demo');
    expect(condition(hsi, 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
    const metrics = await (await fetch(urls.metrics)).text();
    expect(metrics).toContain('hubspot_operator_integration_ready{namespace="demo",integration="demo"} 1');
    const contacts = await (await fetch(`${urls.hubspot}/crm/v3/objects/contacts?limit=2`, { headers: { authorization: 'Bearer sandbox-token' } })).json() as { results: unknown[] };
    expect(contacts.results).toHaveLength(2);
  });

  it('keeps each contact’s primary company (a seeded HubSpot association) in contacts.company_id', async () => {
    const psqlLine = out.find((l) => l.includes('psql "'))!;
    expect(out.some((l) => l.includes('join companies co on co.id = c.company_id'))).toBe(true);
    const url = /psql "([^"]+)"/.exec(psqlLine)![1]!;
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await waitFor(async () => {
        const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts c JOIN companies co ON co.id = c.company_id`);
        return rows[0]!.n === 120;
      }, { timeoutMs: 60_000, what: 'every seeded contact joined to its company' });
    } finally {
      await db.end();
    }
  });

  it('psql reaches the embedded database, and an edit there shows up in HubSpot', async () => {
    const psqlLine = out.find((l) => l.includes('psql "'))!;
    const url = /psql "([^"]+)"/.exec(psqlLine)![1]!;
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ email: string }>(`SELECT email FROM contacts WHERE email IS NOT NULL ORDER BY id LIMIT 1`);
      const email = rows[0]!.email;
      await db.query(`UPDATE contacts SET first_name = 'FromPsql' WHERE email = $1`, [email]);
      await waitFor(async () => {
        const res = await fetch(`${urls.hubspot}/crm/v3/objects/contacts/search`, {
          method: 'POST',
          headers: { authorization: 'Bearer sandbox-token', 'content-type': 'application/json' },
          body: JSON.stringify({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }], properties: ['firstname'], limit: 1 }),
        });
        const body = (await res.json()) as { results: { properties: { firstname?: string } }[] };
        return body.results[0]?.properties.firstname === 'FromPsql';
      }, { timeoutMs: 10_000, what: 'the psql edit in HubSpot, well before the 30 s interval' });
    } finally {
      await db.end();
    }
  });
});
