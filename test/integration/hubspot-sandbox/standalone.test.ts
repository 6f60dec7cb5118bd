import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';

// The same Node as the tests, with tsx as a loader: no dependence on PATH.
const root = join(import.meta.dirname, '..', '..', '..');
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  child = undefined;
});

describe('standalone sandbox (main.ts)', () => {
  it('prints its URL, serves seeded demo data with HubSpot limits, and stops on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'operator/src/sandbox/hubspot/main.ts', '--port', '0', '--contacts', '3', '--demo', '--real-limits'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const url = await waitFor(() => out.match(/^hubspot=(http:\/\/127\.0\.0\.1:\d+)$/m)?.[1], { what: 'the sandbox URL on stdout' });
    const client = new Client({ accessToken: 'sandbox-token', basePath: url });
    const page = await client.crm.contacts.basicApi.getPage(10, undefined, ['email', 'lifecyclestage']);
    expect(page.results).toHaveLength(3);
    expect(page.results.every((r) => /@/.test(r.properties.email ?? ''))).toBe(true);
    const res = await fetch(`${url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer sandbox-token' } });
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('100');
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('rejects a bad flag with a message and a non-zero exit', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'operator/src/sandbox/hubspot/main.ts', '--contacts', 'many'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(err).toContain('--contacts must be a non-negative integer');
  });
});
