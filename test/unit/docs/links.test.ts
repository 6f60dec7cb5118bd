// Every relative link and #anchor in the Markdown a reader follows — README.md, docs/**/*.md and
// the chart READMEs — resolves: the file (or folder) exists, and the anchor is a heading of the
// target file under GitHub's slug rules. Links into this repository written as GitHub URLs
// (https://github.com/hubspot-operator/hubspot-operator/blob/main/...) are checked the same way.
// And every alert's runbook_url (rules file and chart default) names a runbook heading that exists.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const REPO_URL = /^https:\/\/github\.com\/hubspot-operator\/hubspot-operator\/(?:blob|tree)\/main\/(.*)$/;

/** GitHub's heading slug (github-slugger): lower case, drop punctuation and symbols, each space → '-'. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The visible text of a heading's inline Markdown. */
function headingText(raw: string): string {
  return raw
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\*\*|__|\*/g, '')
    .trim();
}

/** Lines of a Markdown file with fenced code blocks blanked (kept as empty lines, so line numbers stay). */
function proseLines(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1]) fence = undefined;
      return '';
    }
    if (m) {
      fence = m[1];
      return '';
    }
    return line;
  });
}

/** The anchors a Markdown file offers: heading slugs (duplicates suffixed -1, -2, …) and explicit <a id/name>. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (text: string) => {
    const base = slug(headingText(text));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  };
  const lines = proseLines(markdown);
  lines.forEach((line, i) => {
    const atx = /^\s{0,3}#{1,6}(?:\s+(.*?))?\s*$/.exec(line);
    if (atx) return add((atx[1] ?? '').replace(/\s+#+$/, ''));
    const prev = lines[i - 1];
    if (/^\s{0,3}(=+|-+)\s*$/.test(line) && prev && prev.trim() && !/^\s{0,3}([#>|*+-]|\d+\.)/.test(prev)) add(prev);
  });
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

type Link = { line: number; target: string };

/** Inline links and images, and reference definitions, outside code. */
export function linksOf(markdown: string): Link[] {
  // Blank inline code spans (same length, so offsets still map to lines).
  const text = proseLines(markdown)
    .join('\n')
    .replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (s) => s.replace(/[^\n]/g, ' '));
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const links: Link[] = [];
  for (const m of text.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
    links.push({ line: lineAt(m.index), target: m[1]! });
  }
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) links.push({ line: lineAt(m.index), target: m[1]! });
  return links;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(path: string): Set<string> {
  let a = anchorCache.get(path);
  if (!a) anchorCache.set(path, (a = anchorsOf(readFileSync(path, 'utf8'))));
  return a;
}

/** Why `target`, linked from `fromFile`, does not resolve; undefined when it does. */
export function brokenReason(fromFile: string, target: string, root = ROOT): string | undefined {
  const repo = REPO_URL.exec(target);
  let pathPart: string;
  let anchor: string | undefined;
  let base: string;
  if (repo) {
    [pathPart, anchor] = splitAnchor(repo[1]!);
    base = root;
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
    return undefined; // another site: not checked here
  } else {
    [pathPart, anchor] = splitAnchor(target);
    base = pathPart.startsWith('/') ? root : dirname(fromFile);
  }
  const file = pathPart === '' ? fromFile : join(base, decodeURIComponent(pathPart.replace(/^\//, '')));
  if (!existsSync(file)) return `no such file ${relative(root, file)}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(file).isDirectory()) return `#${anchor} on a folder`;
  if (!/\.md$/i.test(file)) return `#${anchor} on a non-Markdown file`;
  const decoded = decodeURIComponent(anchor);
  return anchorsOfFile(file).has(decoded) ? undefined : `no heading #${decoded} in ${relative(root, file)}`;
}

function splitAnchor(s: string): [string, string | undefined] {
  const i = s.indexOf('#');
  return i < 0 ? [s.split('?')[0]!, undefined] : [s.slice(0, i).split('?')[0]!, s.slice(i + 1)];
}

function markdownFiles(): string[] {
  const walk = (dir: string, keep: (name: string) => boolean): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(p, keep);
      return keep(e.name) ? [p] : [];
    });
  return [
    join(ROOT, 'README.md'),
    ...(existsSync(join(ROOT, 'docs')) ? walk(join(ROOT, 'docs'), (n) => n.endsWith('.md')) : []),
    ...walk(join(ROOT, 'charts'), (n) => n === 'README.md'),
  ];
}

describe('GitHub heading slugs', () => {
  it('match what GitHub renders', () => {
    expect(slug(headingText('Install in a cluster (Helm)'))).toBe('install-in-a-cluster-helm');
    expect(slug(headingText('Metrics (`/metrics`)'))).toBe('metrics-metrics');
    expect(slug(headingText('HubSpot API usage: rate limits, retries and errors'))).toBe('hubspot-api-usage-rate-limits-retries-and-errors');
    expect(slug(headingText('Inside (operator/src/sandbox/hubspot/)'))).toBe('inside-operatorsrcsandboxhubspot');
    expect(slug(headingText('The `spec_v2` field — A / B'))).toBe('the-spec_v2-field--a--b');
    expect([...anchorsOf('# A\n\n## Notes\n\n```sh\n# not a heading\n```\n\n## Notes\n\nSetext\n------\n')]).toEqual(['a', 'notes', 'notes-1', 'setext']);
  });
});

describe('Markdown links', () => {
  const files = markdownFiles();

  it('covers the README, the manual in docs/ and the chart README', () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toContain('README.md');
    expect(names).toContain('charts/hubspot-operator/README.md');
    for (const doc of ['README.md', 'api.md', 'sync.md', 'operations.md', 'sandboxes.md', 'development.md']) expect(names).toContain(`docs/${doc}`);
  });

  it('finds a broken file link and a broken anchor (the check is not vacuous)', () => {
    const from = join(ROOT, 'docs', 'README.md');
    const links = linksOf('See [ops](operations.md#no-such-runbook), [gone](missing.md), `[code](nope.md)`,\n[ok](api.md#conditions) and [here](#hubspot-operator-manual).\n```\n[fenced](nope.md)\n```\n');
    expect(links.map((l) => l.target)).toEqual(['operations.md#no-such-runbook', 'missing.md', 'api.md#conditions', '#hubspot-operator-manual']);
    expect(links.map((l) => brokenReason(from, l.target))).toEqual([
      'no heading #no-such-runbook in docs/operations.md',
      'no such file docs/missing.md',
      undefined,
      undefined,
    ]);
  });

  it('every relative link and #anchor resolves', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const { line, target } of linksOf(readFileSync(file, 'utf8'))) {
        checked++;
        const reason = brokenReason(file, target);
        if (reason) broken.push(`${relative(ROOT, file)}:${line}: (${target}) ${reason}`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });
});

describe('alert runbooks', () => {
  const CHART = join(ROOT, 'charts', 'hubspot-operator');
  type Rule = { alert?: string; annotations?: Record<string, string> };
  const rules = (parse(readFileSync(join(CHART, 'files', 'alerts.rules.yaml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
  const alerts = rules.filter((r) => r.alert);
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { prometheusRule: { runbookBaseURL: string } };
  const base = values.prometheusRule.runbookBaseURL;

  it("every alert's runbook_url in the rules file names a runbook heading in this repository", () => {
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    const broken = alerts.flatMap((a) => {
      const url = a.annotations?.runbook_url ?? '';
      const reason = REPO_URL.test(url) ? brokenReason(join(ROOT, 'README.md'), url) : `not a link into this repository: "${url}"`;
      return reason ? [`${a.alert}: ${reason}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('the chart default base URL + #<alert in lower case> resolves for every alert, and the template rewrites that base', () => {
    expect(base).toMatch(REPO_URL);
    const broken = alerts.flatMap((a) => {
      const reason = brokenReason(join(ROOT, 'README.md'), `${base}#${a.alert!.toLowerCase()}`);
      return reason ? [`${a.alert}: ${reason}`] : [];
    });
    expect(broken).toEqual([]);
    for (const a of alerts) expect(a.annotations?.runbook_url, a.alert).toBe(`${base}#${a.alert!.toLowerCase()}`);
    // The PrometheusRule template swaps the rules file's base for prometheusRule.runbookBaseURL.
    expect(readFileSync(join(CHART, 'templates', 'prometheusrule.yaml'), 'utf8')).toContain(`replace "${base}" $pr.runbookBaseURL`);
  });
});
