/**
 * Crash safety: a real child process running the engine is killed with SIGKILL in the middle of
 * an import and in the middle of a push; a new engine resumes from the committed cursors and
 * outbox and ends in exactly the right state: no lost change, no duplicate record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serverDbKinds } from '../../helpers/db.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness } from './harness.js';

// The real servers here: PostgreSQL and MySQL / MariaDB (PGlite is in-process: no second process, no scale).
const kinds = await serverDbKinds();
const runner = fileURLToPath(new URL('./crash-runner.ts', import.meta.url));

/** Start the runner and SIGKILL it once a progress line of `phase` reports at least `atLeast` records. */
async function runAndKill(h: Harness, kinds: string[], phase: string, atLeast: number): Promise<string> {
  const child: ChildProcess = spawn('npx', ['tsx', runner, ...kinds], {
    env: { ...process.env, SYNC_CONFIG: JSON.stringify(h.cfg) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: npx starts node as a grandchild, and the whole group must die.
    detached: true,
  });
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  let out = '';
  let killedAt = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (killedAt) return;
    for (const line of out.split('\n')) {
      const m = /^progress \S+ (\S+) (\d+)$/.exec(line);
      if (m && m[1] === phase && Number(m[2]) >= atLeast) {
        killedAt = line;
        killAll();
        break;
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c, sig) => resolve(sig ? -1 : c)));
  if (!killedAt) throw new Error(`runner ended (${code}) before reaching ${phase} ${atLeast}:\n${out}\n${stderr}`);
  expect(out).not.toContain('done');
  return killedAt;
}

// With no server at all, the suite shows as skipped (not as an empty file).
(kinds.length ? describe : describe.skip).each(kinds.length ? kinds : (['postgres'] as const))('crash safety with SIGKILL (%s)', (dbKind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('resumes an import killed mid-way without losing or duplicating records', async () => {
    h = await Harness.start({ dbKind, seed: { contacts: 3000 } });
    await h.hs.faults({ latencyMs: 15 });
    await runAndKill(h, ['initial'], 'import', 1000);
    const partial = (await h.rows(`SELECT count(*)::int AS n FROM {schema}.contacts`))[0]!.n;
    expect(partial).toBeGreaterThanOrEqual(1000);
    expect(partial).toBeLessThan(3000);
    await h.hs.faults({});
    await h.cycle('initial');
    await h.settle();
    const [c] = await h.rows(`SELECT count(*)::int AS n, count(DISTINCT email)::int AS emails FROM {schema}.contacts`);
    expect(c).toEqual({ n: 3000, emails: 3000 });
    const [l] = await h.rows(`SELECT count(*)::int AS n, count(DISTINCT target_key)::int AS k FROM {state}.links WHERE integration_uid = $1`, [h.cfg.uid]);
    expect(l).toEqual({ n: 3000, k: 3000 });
    // Nothing was created back in HubSpot.
    const total = await h.hs.call('POST', '/crm/v3/objects/contacts/search', { filterGroups: [], properties: [], limit: 1 });
    expect(total.total).toBe(3000);
  }, 120_000);

  it.each([
    ['by the match property (email)', { match: { property: 'email', column: 'email' } }],
    ['by the external-ID property (no match key)', { match: undefined }],
  ])('resumes a push killed mid-way: creates are idempotent %s', async (_name, object) => {
    h = await Harness.start({ dbKind, objects: [object as never] });
    await h.cycle('initial');
    await h.exec(`INSERT INTO {schema}.contacts (email, firstname) SELECT 'row' || g || '@example.com', 'Row ' || g FROM generate_series(1, 1500) g`);
    // An edit and a delete captured in the same outbox must survive the crash too.
    await h.exec(`UPDATE {schema}.contacts SET lastname = 'edited' WHERE email = 'row1400@example.com'`);
    await h.hs.faults({ latencyMs: 15 });
    await runAndKill(h, ['incremental'], 'push', 500);
    await h.hs.faults({});
    const partial = (await h.hs.listAll('contacts', ['email'])).length;
    expect(partial).toBeGreaterThanOrEqual(500);
    expect(partial).toBeLessThan(1500);
    await h.cycle();
    await h.settle();
    const live = await h.hs.listAll('contacts', ['email', 'lastname']);
    const emails = live.map((x) => x.properties.email);
    expect(emails.length).toBe(1500);
    expect(new Set(emails).size).toBe(1500);
    expect(live.find((x) => x.properties.email === 'row1400@example.com')?.properties.lastname).toBe('edited');
    const [l] = await h.rows(`SELECT count(*)::int AS n FROM {state}.links WHERE integration_uid = $1`, [h.cfg.uid]);
    expect(l!.n).toBe(1500);
    expect((await h.rows(`SELECT count(*)::int AS n FROM {state}.outbox`))[0]!.n).toBe(0);
    await waitFor(async () => (await h!.cycle()).objects[0]!.pendingChanges === 0, { what: 'an empty outbox' });
  }, 120_000);
});
