/**
 * Copies crds/*.yaml (the single source of the API schema) into the Helm chart's crds-src/,
 * from where templates/crds.yaml renders them. The chart keeps a copy rather than a symlink so
 * that a packaged chart, an Argo CD checkout and every helm command work without warnings; the
 * ops test "chart CRDs match crds/" fails when the copy drifts and names this command.
 *
 *   npm run chart:crds            # copy
 *   npm run chart:crds -- --check # exit 1 and list the differences instead
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CRDS_DIR = join(REPO_ROOT, 'crds');
export const CHART_CRDS_DIR = join(REPO_ROOT, 'charts', 'hubspot-operator', 'crds-src');

const yamlFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort() : []);

/** Files that differ between crds/ and the chart's copy: missing, extra or changed. Empty when in sync. */
export function chartCrdDrift(): string[] {
  const source = yamlFiles(CRDS_DIR);
  const copy = yamlFiles(CHART_CRDS_DIR);
  const drift: string[] = [];
  for (const f of source) {
    if (!copy.includes(f)) drift.push(`missing in chart: ${f}`);
    else if (readFileSync(join(CRDS_DIR, f), 'utf8') !== readFileSync(join(CHART_CRDS_DIR, f), 'utf8')) drift.push(`changed: ${f}`);
  }
  for (const f of copy) if (!source.includes(f)) drift.push(`no longer in crds/: ${f}`);
  return drift;
}

export function syncChartCrds(): void {
  mkdirSync(CHART_CRDS_DIR, { recursive: true });
  for (const f of yamlFiles(CHART_CRDS_DIR)) rmSync(join(CHART_CRDS_DIR, f));
  for (const f of yamlFiles(CRDS_DIR)) writeFileSync(join(CHART_CRDS_DIR, f), readFileSync(join(CRDS_DIR, f)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const drift = chartCrdDrift();
    if (drift.length) {
      console.error(`charts/hubspot-operator/crds-src differs from crds/:\n  ${drift.join('\n  ')}\nRun: npm run chart:crds`);
      process.exit(1);
    }
    console.log('chart CRDs match crds/');
  } else {
    syncChartCrds();
    console.log(`copied ${yamlFiles(CRDS_DIR).join(', ')} to ${CHART_CRDS_DIR}`);
  }
}
