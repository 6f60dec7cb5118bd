/**
 * `hubspot-operator run` flags of the shared resources (--max-concurrent-syncs, --db-pool-size):
 * bad values exit 2 with one line naming the flag and what is expected, never a stack trace,
 * before anything connects to a cluster.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'operator/src/cli.ts', 'run', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    // No cluster: a value that passed validation would fail later with another message.
    env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', ...env },
  });

describe('hubspot-operator run: shared resource flags', () => {
  it('--help documents both flags with their defaults', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--max-concurrent-syncs <n>[^\n]*\n[^\n]*default 8 \[MAX_CONCURRENT_SYNCS\]/);
    expect(help.stdout).toMatch(/--db-pool-size <n>[^\n]*\n[^\n]*default 10 \[DB_POOL_SIZE\]/);
  });

  it.each([
    [['--db-pool-size', '0'], '--db-pool-size: "0" is not a positive integer'],
    [['--db-pool-size=-3'], '--db-pool-size: "-3" is not a positive integer'],
    [['--db-pool-size', 'ten'], '--db-pool-size: "ten" is not a positive integer'],
    [['--db-pool-size', '2.5'], '--db-pool-size: "2.5" is not a positive integer'],
    [['--max-concurrent-syncs', '0'], '--max-concurrent-syncs: "0" is not a positive integer'],
    [['--max-concurrent-syncs', 'many'], '--max-concurrent-syncs: "many" is not a positive integer'],
  ])('%j is a usage error naming the flag', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`hubspot-operator: ${message}; expected a whole number of at least 1\n`);
  });

  it('a negative value given as a separate argument is still a usage error naming the flag', () => {
    const r = run(['--db-pool-size', '-3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^hubspot-operator: Option '--db-pool-size' argument is ambiguous/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('the environment variables are checked the same way', () => {
    const r = run([], { DB_POOL_SIZE: '0' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--db-pool-size: "0" is not a positive integer');
  });

  it('valid values pass (the run then stops at the missing kubeconfig, not at the flags)', () => {
    const r = run(['--db-pool-size', '3', '--max-concurrent-syncs', '2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('kubeconfig "/nonexistent/kubeconfig" does not exist');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
