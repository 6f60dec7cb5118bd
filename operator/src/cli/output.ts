/**
 * Output formats shared by the commands: `table` (kubectl-style aligned columns), `json`
 * (indented, stable field order) and `csv` (RFC 4180: CRLF line ends, fields with a comma, quote,
 * CR or LF quoted, quotes doubled).
 */
import { UsageError } from '../cli-args.js';

export const OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`-o/--output: "${value}" is not an output format; expected one of ${OUTPUT_FORMATS.join(', ')}`);
}

export type Cell = string | number | boolean | null | undefined;

/** A rectangular view: the header names and the rows, for `table` and `csv`. */
export interface Grid {
  columns: string[];
  rows: Cell[][];
}

function text(cell: Cell): string {
  return cell === null || cell === undefined ? '' : String(cell);
}

/** Aligned columns separated by three spaces, headers upper-cased; one line per row. */
export function renderTable(grid: Grid): string {
  // A missing value shows as "-" so the columns stay readable.
  const cells = [grid.columns.map((c) => c.toUpperCase()), ...grid.rows.map((r) => r.map((c) => oneLine(text(c)) || '-'))];
  const widths = grid.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd())
    .join('\n') + '\n';
}

/** Table cells stay on one line: newlines and tabs become spaces. */
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ');
}

/** One RFC 4180 field. */
export function csvField(cell: Cell): string {
  const s = text(cell);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180: a header record, then one record per row, each ended by CRLF. */
export function renderCsv(grid: Grid): string {
  return [grid.columns, ...grid.rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
