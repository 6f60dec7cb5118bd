/**
 * The connector seam (DESIGN §2.10, §6; issue 9): the sync engine sees a database only through
 * target/connector.ts (and the factory target/index.ts). This fails when a file in
 * operator/src/sync imports a connector folder or a database driver, or contains SQL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../../operator/src');
const syncDir = join(root, 'sync');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Imports a file of the engine (or the worker) may make into target/: the interface and the factory only. */
const ALLOWED_TARGET_IMPORTS = /\/target\/(connector|index)\.js$/;
const DRIVERS = /^(pg|pg-[\w-]+|@electric-sql\/pglite.*|mysql2?(\/.*)?|mariadb)$/;

const SQL_PATTERNS: [string, RegExp][] = [
  ['SELECT … FROM', /\bSELECT\b[^;`'"]{0,300}?\bFROM\b/],
  ['INSERT INTO', /\bINSERT\s+INTO\b/],
  ['UPDATE … SET', /\bUPDATE\s+[\w."]+\s+SET\b/],
  ['DELETE FROM', /\bDELETE\s+FROM\b/],
  ['CREATE/ALTER/DROP TABLE|TRIGGER|SCHEMA|INDEX', /\b(CREATE|ALTER|DROP)\s+(TABLE|TRIGGER|SCHEMA|INDEX|FUNCTION)\b/],
  ['a PostgreSQL function (pg_…)', /\bpg_[a-z_]+/],
  ['to_regclass', /\bto_regclass\b/],
  ['SQLSTATE parsing', /SQLSTATE|\/\^\[0-9A-Z\]\{5\}\$\//],
  ['information_schema', /information_schema/i],
  ['SAVEPOINT / BEGIN / COMMIT', /\b(SAVEPOINT|ROLLBACK TO|BEGIN;|COMMIT;)\b/],
];

/** What a file violates, as readable lines. */
export function seamViolations(file: string, text: string): string[] {
  const out: string[] = [];
  for (const spec of importsOf(text)) {
    if (spec.includes('/target/') && !ALLOWED_TARGET_IMPORTS.test(spec)) out.push(`${file}: imports ${spec} (only target/connector.js and target/index.js)`);
    if (DRIVERS.test(spec)) out.push(`${file}: imports the database driver ${spec}`);
  }
  for (const [what, re] of SQL_PATTERNS) {
    const m = re.exec(text);
    if (m) out.push(`${file}: contains SQL (${what}): ${JSON.stringify(m[0].slice(0, 80))}`);
  }
  return out;
}

describe('the connector seam', () => {
  it('operator/src/sync imports no connector and no driver, and holds no SQL', () => {
    const files = sourceFiles(syncDir);
    expect(files.length).toBeGreaterThan(5);
    const violations = files.flatMap((f) => seamViolations(f.slice(root.length + 1), readFileSync(f, 'utf8')));
    expect(violations).toEqual([]);
  });

  it('the controller worker reaches the target only through the interface module', () => {
    const f = join(root, 'controller/worker.ts');
    expect(seamViolations('controller/worker.ts', readFileSync(f, 'utf8'))).toEqual([]);
  });

  it('the check itself catches a connector import, a driver import and SQL', () => {
    const bad = [
      "import { openDb } from '../target/postgres/db.js';",
      "import type { Pool } from 'mysql2/promise';",
      "await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [k]);",
      "const r = await db.query(`SELECT count(*) FROM ${t} WHERE x = $1`);",
      "await q.query('UPDATE links SET x = 1');",
      "await q.query(`INSERT INTO audit_log (a) VALUES ($1)`);",
      "const t = await db.query('SELECT to_regclass($1)::text AS t');",
    ];
    for (const line of bad) expect(seamViolations('x.ts', line), line).not.toEqual([]);
    expect(seamViolations('x.ts', "import { openConnector } from '../target/index.js';\nimport type { Connector } from '../target/connector.js';")).toEqual([]);
  });
});
