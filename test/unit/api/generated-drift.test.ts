import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateApiFiles, REPO_ROOT } from '../../../operator/scripts/generate.js';

// crds/ is the single source of the API schema; the committed TypeScript must be exactly what
// `npm run generate` makes of it.
describe('generated API files', () => {
  it('match what crds/ produce (run `npm run generate` after editing a CRD)', async () => {
    const files = await generateApiFiles();
    expect([...files.keys()].sort()).toEqual(['operator/src/api/generated/schemas.ts', 'operator/src/api/generated/types.ts']);
    for (const [path, expected] of files) {
      const committed = readFileSync(join(REPO_ROOT, path), 'utf8');
      expect(committed, `${path} is out of date: run npm run generate`).toBe(expected);
    }
  });

  it('are deterministic', async () => {
    const [a, b] = await Promise.all([generateApiFiles(), generateApiFiles()]);
    expect([...a.entries()]).toEqual([...b.entries()]);
  });
});
