/**
 * The JSONPath subset CRD printer columns use (kube-apiserver accepts only "simple" paths):
 * `.a.b`, `.a[0]`, `.a[*]`, `.a['key.with.dots']`, and filters `[?(@.type=="Ready")]`
 * (also `!=`, and numeric / bool literals). Returns every match, in document order.
 */

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: string[]; op: '==' | '!=' | 'exists'; value: unknown };

export class JsonPathError extends Error {}

export function parseJsonPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i++;
      let j = i;
      while (j < s.length && s[j] !== '.' && s[j] !== '[') j++;
      const name = s.slice(i, j);
      if (name === '*') steps.push({ kind: 'wildcard' });
      else if (name) steps.push({ kind: 'field', name });
      i = j;
    } else if (c === '[') {
      const end = findClosingBracket(s, i);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) steps.push(parseFilter(inner.slice(2, -1).trim(), expr));
      else throw new JsonPathError(`unsupported JSONPath segment [${inner}] in ${expr}`);
    } else {
      throw new JsonPathError(`unexpected character ${JSON.stringify(c)} at ${i} in JSONPath ${expr}`);
    }
  }
  return steps;
}

function findClosingBracket(s: string, start: number): number {
  let quote: string | null = null;
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ']') return i;
  }
  throw new JsonPathError(`unclosed [ in JSONPath ${s}`);
}

function parseFilter(body: string, expr: string): Step {
  const m = /^@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(.+)$/.exec(body);
  if (!m) {
    const exists = /^@((?:\.[A-Za-z0-9_-]+)+)$/.exec(body);
    if (exists) return { kind: 'filter', path: exists[1].slice(1).split('.'), op: 'exists', value: undefined };
    throw new JsonPathError(`unsupported JSONPath filter ?(${body}) in ${expr}`);
  }
  const raw = m[3].trim();
  let value: unknown;
  if (/^".*"$|^'.*'$/.test(raw)) value = raw.slice(1, -1);
  else if (raw === 'true' || raw === 'false') value = raw === 'true';
  else if (!Number.isNaN(Number(raw))) value = Number(raw);
  else throw new JsonPathError(`unsupported literal ${raw} in JSONPath ${expr}`);
  return { kind: 'filter', path: m[1].slice(1).split('.'), op: m[2] as '==' | '!=', value };
}

function child(value: unknown, name: string): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return (value as Record<string, unknown>)[name];
  return undefined;
}

export function evaluateJsonPath(steps: Step[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      switch (step.kind) {
        case 'field': {
          const c = child(v, step.name);
          if (c !== undefined) next.push(c);
          break;
        }
        case 'index':
          if (Array.isArray(v)) {
            const idx = step.index < 0 ? v.length + step.index : step.index;
            if (idx >= 0 && idx < v.length) next.push(v[idx]);
          }
          break;
        case 'wildcard':
          if (Array.isArray(v)) next.push(...v);
          else if (v !== null && typeof v === 'object') next.push(...Object.values(v));
          break;
        case 'filter':
          if (Array.isArray(v)) {
            for (const el of v) {
              let f: unknown = el;
              for (const p of step.path) f = child(f, p);
              if (step.op === 'exists' ? f !== undefined : step.op === '==' ? f === step.value : f !== step.value) next.push(el);
            }
          }
          break;
      }
    }
    current = next;
  }
  return current;
}
