/**
 * Runs the Kubernetes API sandbox on its own:
 *   npx tsx operator/src/sandbox/kube/main.ts [--port 6443] [--kubeconfig .sandbox/kubeconfig] [--rbac] [--tls]
 * Prints `ready kube=<url>` once it serves; Ctrl-C stops it.
 */
import { parseArgs } from 'node:util';
import { startKubeSandbox } from './index.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    kubeconfig: { type: 'string', default: '.sandbox/kubeconfig' },
    token: { type: 'string' },
    rbac: { type: "boolean", default: false },
    tls: { type: "boolean" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: expected an integer 0-65535, got "${values.port}"`);
  process.exit(2);
}
const kube = await startKubeSandbox({
  host: values.host,
  port,
  kubeconfigPath: values.kubeconfig,
  token: values.token,
  authorization: values.rbac ? 'RBAC' : 'AlwaysAllow',
  tls: values.tls,
});
console.log(`ready kube=${kube.url}`);
console.log(`kubeconfig written to ${values.kubeconfig}: kubectl --kubeconfig ${values.kubeconfig} get namespaces`);
const stop = async (): Promise<void> => {
  await kube.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
