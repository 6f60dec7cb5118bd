// Static checks of the Dockerfile (no Docker engine here): what ends up in the final image.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Parses instructions (joining continuation lines) into stages; resolves ARGs declared before the first FROM. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    const upper = op.toUpperCase();
    if (upper === 'ARG' && stages.length === 0) {
      const [k, v] = args.split('=');
      globalArgs.set(k.trim(), (v ?? '').trim());
    } else if (upper === 'FROM') {
      const [image, , name] = args.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => globalArgs.get(a ?? b) ?? '').split(/\s+/);
      stages.push({ image, name, instructions: [] });
    } else if (stages.length) stages[stages.length - 1].instructions.push({ op: upper, args });
  }
  return stages;
}

const stages = parseDockerfile(dockerfile);
const final = stages[stages.length - 1];
const stageNamed = (name: string) => stages.find((s) => s.name === name);
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('is multi-stage on Node 24, pinned by major version', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) {
      if (stages.some((o) => o.name === s.image)) continue; // FROM an earlier stage
      expect(s.image, `FROM ${s.image}`).toMatch(/^node:24(-[a-z0-9.-]+)?$/);
    }
  });

  it('builds with the full dependency set in a builder stage', () => {
    const builder = stages.find((s) => ops(s, 'RUN').some((r) => /npm run build/.test(r)));
    expect(builder, 'a stage that runs `npm run build`').toBeDefined();
    expect(builder).not.toBe(final);
    expect(ops(builder!, 'RUN').some((r) => /npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
  });

  it('puts only production dependencies into the final image', () => {
    expect(ops(final, 'RUN').join('\n')).not.toMatch(/npm (ci|install)/);
    const nodeModules = ops(final, 'COPY').filter((c) => c.includes('node_modules'));
    expect(nodeModules).toHaveLength(1);
    const from = /--from=(\S+)/.exec(nodeModules[0])?.[1];
    const depsStage = stageNamed(from!);
    expect(depsStage, `stage ${from}`).toBeDefined();
    const install = ops(depsStage!, 'RUN').find((r) => /npm ci\b/.test(r));
    expect(install).toMatch(/--omit=dev/);
    expect(install).toMatch(/--ignore-scripts/); // `prepare` would try to build without sources
    expect(ops(depsStage!, 'COPY').join(' ')).not.toMatch(/operator\/src|test/);
  });

  it('ships no sources, tests or build tools in the final image', () => {
    const copies = ops(final, 'COPY').join('\n');
    expect(copies).not.toMatch(/operator\/src|\btest\b|tsconfig|\.tools/);
    expect(copies).toMatch(/operator\/dist/);
    expect(copies).toMatch(/\bcrds\b/);
    expect(ops(final, 'RUN').join('\n')).toMatch(/rm -rf .*\/usr\/local\/lib\/node_modules\/npm/);
  });

  it('runs as a non-root user with `hubspot-operator run` as the entrypoint', () => {
    const users = ops(final, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1];
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/); // numeric, so kubelet can verify runAsNonRoot
    const idx = (op: string) => final.instructions.findIndex((i) => i.op === op);
    expect(final.instructions.findLastIndex((i) => i.op === 'USER')).toBeLessThan(idx('ENTRYPOINT'));
    // node, its flags (V8 memory tuning, docs/scale.md), the operator.
    const entry = JSON.parse(ops(final, 'ENTRYPOINT')[0]) as string[];
    expect(entry[0]).toBe('node');
    expect(entry.at(-1)).toBe('/app/operator/dist/cli.js');
    for (const flag of entry.slice(1, -1)) expect(flag).toMatch(/^--[a-z0-9-]+(=\S+)?$/);
    expect(JSON.parse(ops(final, 'CMD')[0])).toEqual(['run']);
    // The chart's runAsUser matches the image's user.
    const values = readFileSync(join(ROOT, 'charts/hubspot-operator/values.yaml'), 'utf8');
    expect(values).toContain(`runAsUser: ${user.split(':')[0]}`);
  });

  it('.dockerignore keeps node_modules, tests, build output, tools and git out of the context', () => {
    for (const entry of ['node_modules', 'test', 'operator/dist', '.tools', '.git', '.sandbox', '**/*.test.ts']) expect(dockerignore, entry).toContain(entry);
    for (const needed of ['operator/src', 'crds', 'examples', 'package.json', 'package-lock.json', 'tsconfig.json']) expect(dockerignore, needed).not.toContain(needed);
  });
});

describe('production dependencies', () => {
  it('include every package the operator imports (the image has no dev dependencies)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) files.push(p);
      }
    };
    walk(join(ROOT, 'operator/src'));
    const missing: string[] = [];
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      // Static imports and exports; `import type` is erased at build time.
      for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
        const spec = m[1];
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!(name in pkg.dependencies)) missing.push(`${relative(ROOT, f)} imports ${spec}`);
      }
    }
    expect(missing, 'imported by operator/src but not in "dependencies"').toEqual([]);
  });
});
