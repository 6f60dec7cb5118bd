/**
 * Standalone HubSpot API sandbox:
 *   npx tsx operator/src/sandbox/hubspot/main.ts [--port 0] [--host 127.0.0.1] [--token sandbox-token]
 *     [--portal-id 1234567] [--contacts N] [--companies N] [--deals N] [--demo]
 *     [--indexing-delay-ms 1000] [--real-limits]
 * Prints `hubspot=<url>` once it serves; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { HUBSPOT_LIMITS, startHubSpotSandbox } from './index.js';

function intArg(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    token: { type: 'string' },
    'portal-id': { type: 'string' },
    contacts: { type: 'string' },
    companies: { type: 'string' },
    deals: { type: 'string' },
    demo: { type: 'boolean', default: false },
    'indexing-delay-ms': { type: 'string' },
    'real-limits': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write('Usage: main.ts [--port N] [--host H] [--token T] [--portal-id N] [--contacts N] [--companies N] [--deals N] [--demo] [--indexing-delay-ms N] [--real-limits]\n');
  process.exit(0);
}

const port = intArg('port', values.port, 0);
const sandbox = await startHubSpotSandbox({
  host: values.host!,
  port,
  ...(values.token ? { token: values.token } : {}),
  portalId: intArg('portal-id', values['portal-id'], 1234567),
  seed: {
    contacts: intArg('contacts', values.contacts, 0),
    companies: intArg('companies', values.companies, 0),
    deals: intArg('deals', values.deals, 0),
    demo: values.demo!,
  },
  indexingDelayMs: intArg('indexing-delay-ms', values['indexing-delay-ms'], 0),
  ...(values['real-limits'] ? { limits: HUBSPOT_LIMITS } : {}),
}).catch((err: NodeJS.ErrnoException) => {
  const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.message;
  process.stderr.write(`hubspot sandbox: cannot listen on ${values.host}:${port}: ${why}\n`);
  process.exit(1);
});
process.stdout.write(`hubspot=${sandbox.url}\n`);

const stop = () => {
  void sandbox.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
