import { defineConfig } from 'vitest/config';

// One runner for every layer: unit tests (pure logic), integration tests (sandboxes over HTTP,
// real PostgreSQL) and end-to-end tests (the operator as a process). Benchmarks live in
// test/bench and run with `npm run bench`, never as part of the test suite.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Whether the real kube-apiserver is built (test/helpers/kube-backend.ts); one line if not.
    globalSetup: ['./test/kube-real/global-setup.ts'],
  },
});
