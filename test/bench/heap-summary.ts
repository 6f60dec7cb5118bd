/**
 * Where a V8 heap snapshot's memory is: `npx tsx test/bench/heap-summary.ts <file.heapsnapshot> [--top 25]`.
 * Prints one JSON document: self size by node type (code, strings, closures, arrays, …) and the
 * largest groups by constructor / type+name, with their counts. Self sizes only (no retainer
 * graph): enough to tell compiled code and source strings from data kept by the sync.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: heap-summary <file.heapsnapshot> [--top 25]\n');
  process.exit(2);
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function summarise(s: Snapshot, top: number) {
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const byType = new Map<string, { bytes: number; count: number }>();
  const byName = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const size = s.nodes[i + iSize]!;
    total += size;
    const t = byType.get(type) ?? { bytes: 0, count: 0 };
    t.bytes += size;
    t.count++;
    byType.set(type, t);
    // Objects by constructor; strings, code and arrays by kind, their names being contents.
    const name = type === 'object' || type === 'closure' || type === 'hidden' || type === 'native' ? `${type}:${s.strings[s.nodes[i + iName]!]!.slice(0, 60)}` : type;
    const n = byName.get(name) ?? { bytes: 0, count: 0 };
    n.bytes += size;
    n.count++;
    byName.set(name, n);
  }
  const mib = (b: number) => +(b / 1048576).toFixed(2);
  const sorted = (m: Map<string, { bytes: number; count: number }>, k: number) =>
    [...m]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, k)
      .map(([name, v]) => ({ name, MiB: mib(v.bytes), count: v.count }));
  return { totalMiB: mib(total), byType: sorted(byType, 50), top: sorted(byName, top) };
}

process.stdout.write(`${JSON.stringify(summarise(JSON.parse(readFileSync(file, 'utf8')) as Snapshot, Number(values.top)), null, 2)}\n`);
