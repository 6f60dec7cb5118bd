/**
 * The operator's HTTP endpoints: /metrics (Prometheus text format), /healthz (liveness: fails
 * when a watch is dead past the watchdog) and /readyz (readiness: informers have synced).
 * Metrics and probes may share one port or use two.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Probe {
  (): { ok: boolean; detail?: string };
}

export interface EndpointsOptions {
  registry: Registry;
  healthz: Probe;
  readyz: Probe;
  metricsPort: number;
  /** Same as metricsPort (or undefined) serves the probes on the metrics port. */
  healthPort?: number;
  host?: string;
}

export interface Endpoints {
  metricsUrl: string;
  healthUrl: string;
  close(): Promise<void>;
}

function handler(routes: { metrics?: Registry; healthz?: Probe; readyz?: Probe }) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/metrics' && routes.metrics) {
        const body = await routes.metrics.metrics();
        res.writeHead(200, { 'content-type': routes.metrics.contentType });
        res.end(body);
        return;
      }
      const probe = path === '/healthz' ? routes.healthz : path === '/readyz' ? routes.readyz : undefined;
      if (probe) {
        const r = probe();
        res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(r.ok ? 'ok\n' : `not ok: ${r.detail ?? ''}\n`);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: try /metrics, /healthz or /readyz\n');
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
}

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve(`http://${shownHost}:${addr.port}`);
    });
  });
}

export async function startEndpoints(o: EndpointsOptions): Promise<Endpoints> {
  const host = o.host ?? '0.0.0.0';
  // Port 0 means "any free port", so two zeros are two servers.
  const shared = o.healthPort === undefined || (o.healthPort === o.metricsPort && o.healthPort !== 0);
  const servers: Server[] = [];
  const metricsServer = createServer(handler(shared ? { metrics: o.registry, healthz: o.healthz, readyz: o.readyz } : { metrics: o.registry }));
  servers.push(metricsServer);
  const metricsBase = await listen(metricsServer, o.metricsPort, host);
  let healthBase = metricsBase;
  if (!shared) {
    const healthServer = createServer(handler({ healthz: o.healthz, readyz: o.readyz }));
    servers.push(healthServer);
    healthBase = await listen(healthServer, o.healthPort!, host);
  }
  return {
    metricsUrl: `${metricsBase}/metrics`,
    healthUrl: healthBase,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
    },
  };
}
