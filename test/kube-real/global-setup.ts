/**
 * vitest globalSetup: decides once per test run whether the Kubernetes-facing tests also run
 * against the real kube-apiserver + etcd (test/helpers/kube-backend.ts), and says so in one line
 * when they do not. In CI (CI=true) missing binaries fail the run instead: the real-server
 * tests must never be skipped silently there (.ci/run builds them first).
 */
import type { TestProject } from 'vitest/node';
import { binDir, findBinaries } from './binaries.js';

export default function setup(project: TestProject): void {
  const bins = findBinaries();
  if (!bins) {
    if (process.env.CI === 'true') {
      throw new Error(`CI=true but the real kube-apiserver/etcd are not built in ${binDir()}: run \`npm run setup:kube-real\` before the tests (.ci/run does)`);
    }
    console.log('Real kube-apiserver tests SKIPPED (only the Kubernetes API sandbox is tested): run `npm run setup:kube-real` (needs Go) to build kube-apiserver + etcd and enable them.');
  } else if (process.env.KUBE_REAL_QUIET !== '1') {
    console.log(`Kubernetes-facing tests run against the API sandbox and the real kube-apiserver (${bins.dir}).`);
  }
  project.provide('kubeRealBinDir', bins?.dir ?? '');
}
