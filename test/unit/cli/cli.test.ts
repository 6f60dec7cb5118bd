/** The CLI's pure parts: RFC 4180 CSV, the table layout, --since, the plan's exit-code rule, plugin detection. */
import { describe, expect, it } from 'vitest';
import { invokedAsPlugin } from '../../../operator/src/cli.js';
import { CLI_COMMANDS, runCli } from '../../../operator/src/cli/index.js';
import { csvField, parseOutputFormat, renderCsv, renderTable } from '../../../operator/src/cli/output.js';
import { hasDifferences, planEntries } from '../../../operator/src/cli/plan.js';
import { age, parseSince, shortDuration } from '../../../operator/src/cli/time.js';
import { parseCsv } from '../../integration/cli/helpers.js';

describe('csv (RFC 4180)', () => {
  it('quotes fields with commas, quotes, CR or LF, doubles quotes, ends records with CRLF', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField(0)).toBe('0');
    expect(csvField(false)).toBe('false');
    const grid = { columns: ['id', 'message'], rows: [[1, 'Email "x,y" is invalid\nsecond line'], [2, undefined]] };
    const out = renderCsv(grid);
    expect(out).toBe('id,message\r\n1,"Email ""x,y"" is invalid\nsecond line"\r\n2,\r\n');
    expect(parseCsv(out)).toEqual([['id', 'message'], ['1', 'Email "x,y" is invalid\nsecond line'], ['2', '']]);
  });
});

describe('table', () => {
  it('aligns columns three spaces apart, upper-cases headers, shows missing values as "-", keeps cells on one line', () => {
    expect(renderTable({ columns: ['name', 'errors', 'message'], rows: [['acme', 12, 'a\nb'], ['b', null, '']] })).toBe(
      'NAME   ERRORS   MESSAGE\nacme   12       a b\nb      -        -\n',
    );
  });

  it('rejects an unknown output format naming the flag', () => {
    expect(parseOutputFormat(undefined)).toBe('table');
    expect(() => parseOutputFormat('yaml')).toThrow('-o/--output: "yaml" is not an output format; expected one of table, json, csv');
  });
});

describe('times', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('--since takes a duration (with days) or an RFC 3339 time', () => {
    expect(parseSince('1h', now).toISOString()).toBe('2026-11-23T11:00:00.000Z');
    expect(parseSince('1h30m', now).toISOString()).toBe('2026-11-23T10:30:00.000Z');
    expect(parseSince('7d', now).toISOString()).toBe('2026-11-16T12:00:00.000Z');
    expect(parseSince('2026-11-23T10:00:00Z', now).toISOString()).toBe('2026-11-23T10:00:00.000Z');
    expect(() => parseSince('1 hour', now)).toThrow('--since: "1 hour" is neither a duration');
  });
  it('ages like kubectl', () => {
    expect(shortDuration(45_000)).toBe('45s');
    expect(shortDuration(5 * 60_000 + 3_000)).toBe('5m3s');
    expect(shortDuration(42 * 60_000)).toBe('42m');
    expect(shortDuration(3 * 3600_000 + 5 * 60_000)).toBe('3h5m');
    expect(shortDuration(30 * 3600_000)).toBe('30h');
    expect(shortDuration(5 * 86_400_000)).toBe('5d');
    expect(age(undefined, now)).toBe('');
    expect(age('2026-11-23T11:59:00Z', now)).toBe('60s');
  });
});

describe('plan', () => {
  it('reads status.plan as a list or {objects}; differences are writes on either side or new links', () => {
    const none = { type: 'contacts', toTarget: { create: 0, update: 0, delete: 0 }, toHubSpot: {}, link: 0, duplicates: 3, conflicts: 0, wouldFail: 2 };
    expect(planEntries(undefined)).toBeUndefined();
    expect(planEntries({ something: 1 })).toBeUndefined();
    expect(hasDifferences(planEntries([none])!)).toBe(false); // duplicates and would-fail change nothing by themselves
    expect(hasDifferences(planEntries({ objects: [{ ...none, toHubSpot: { delete: 1 } }] })!)).toBe(true);
    expect(hasDifferences(planEntries([{ ...none, link: { byMatchKey: 2, byHubSpotId: 0 } }])!)).toBe(true);
    expect(hasDifferences(planEntries([{ ...none, conflicts: 1 }])!)).toBe(true); // a conflict overwrites the losing side
    expect(planEntries([{ type: 'deals' }])![0]).toEqual({ type: 'deals', toTarget: { create: 0, update: 0, delete: 0 }, toHubSpot: { create: 0, update: 0, delete: 0 }, link: 0, duplicates: 0, conflicts: 0, wouldFail: 0 });
  });
});

describe('kubectl plugin detection', () => {
  it('recognises the kubectl-hubspot name (npm bin symlink), not the normal entry', () => {
    expect(invokedAsPlugin('/usr/local/bin/kubectl-hubspot')).toBe(true);
    expect(invokedAsPlugin('/home/u/.krew/bin/kubectl-hubspot')).toBe(true);
    expect(invokedAsPlugin('/app/node_modules/.bin/hubspot-operator')).toBe(false);
    expect(invokedAsPlugin('/app/operator/dist/cli.js')).toBe(false);
    expect(invokedAsPlugin(undefined)).toBe(false);
  });
});

describe('help and usage errors (no cluster needed)', () => {
  const run = async (command: (typeof CLI_COMMANDS)[number], ...args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(command, args, { prog: 'kubectl hubspot', out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };

  it('every command has --help, named with the program it was started as', async () => {
    for (const command of CLI_COMMANDS) {
      const r = await run(command, '--help');
      expect(r, command).toMatchObject({ code: 0, err: '' });
      expect(r.out, command).toContain(`Usage: kubectl hubspot ${command}`);
      expect(r.out, command).toContain('--kubeconfig');
    }
  });

  it('a missing NAME, an unknown flag or a bad -o exits 2 with one line', async () => {
    expect(await run('errors')).toEqual({ code: 2, out: '', err: 'kubectl hubspot: errors: missing the integration NAME (see "errors --help")\n' });
    expect((await run('status', '--colour')).err).toMatch(/^kubectl hubspot: status: Unknown option '--colour'/);
    expect(await run('status', 'acme', '-o', 'yaml')).toEqual({ code: 2, out: '', err: 'kubectl hubspot: -o/--output: "yaml" is not an output format; expected one of table, json, csv\n' });
    expect(await run('status', 'Acme_1')).toMatchObject({ code: 2, err: 'kubectl hubspot: status: "Acme_1" is not a valid resource name; expected lowercase letters, digits, "-" and "."\n' });
    expect((await run('sync', 'acme', '--timeout', 'soon')).err).toMatch(/^kubectl hubspot: --timeout: invalid duration "soon"/);
  });
});
