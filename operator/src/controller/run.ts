/**
 * Starts the whole operator in this process: logger and metrics given, the controller manager,
 * the HTTP endpoints, and signal handling for a graceful stop. Shared by `hubspot-operator run`
 * and the in-process operator of `hubspot-operator sandbox`.
 */
import type { KubeConfig } from '../kube/config.js';
import type { Logger } from 'pino';
import { startEndpoints, type Endpoints } from '../observability/server.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { Operator, type OperatorOptions } from './manager.js';
import type { EngineFactory } from './worker.js';
import type { WebhookServer, WebhookServerOptions } from '../hubspot/webhooks/start.js';

export interface RunningOperator {
  operator: Operator;
  endpoints: Endpoints;
  webhooks?: WebhookServer;
  stop(): Promise<void>;
}

export interface RunOptions extends Omit<OperatorOptions, 'engineFactory'> {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  metricsPort: number;
  healthPort?: number;
  host?: string;
  engineFactory?: EngineFactory;
  /** Serve POST /webhooks/hubspot on this port (every replica, leader or not); DESIGN §2.8. */
  webhooks?: Pick<WebhookServerOptions, 'port' | 'publicUrl' | 'inbox'>;
}

/** The sync engine's factory (operator/src/sync). */
export async function defaultEngineFactory(): Promise<EngineFactory> {
  const { createSyncEngine } = await import('../sync/index.js');
  return createSyncEngine;
}

export async function runOperator(o: RunOptions): Promise<RunningOperator> {
  const engineFactory = o.engineFactory ?? (await defaultEngineFactory());
  let webhooks: WebhookServer | undefined;
  // status.webhooks: the receiver starts after the operator object exists, so the status writer asks it lazily.
  const operator = new Operator({ ...o, engineFactory, webhookStatus: async (ns, name, uid) => webhooks?.status(ns, name, uid) });
  const endpoints = await startEndpoints({
    registry: o.metrics.registry,
    metricsPort: o.metricsPort,
    healthPort: o.healthPort,
    host: o.host,
    healthz: () => operator.healthy(),
    readyz: () => operator.ready(),
  });
  if (o.webhooks) {
    const { startWebhookServer } = await import('../hubspot/webhooks/start.js');
    webhooks = await startWebhookServer({ ...o.webhooks, host: o.host, metrics: o.metrics, logger: o.logger, source: { integrations: () => operator.integrations.list(), secret: (ns, name) => operator.secrets.get(ns, name) } });
  }
  operator.start();
  o.logger.info({ metrics: endpoints.metricsUrl, health: endpoints.healthUrl, webhooks: webhooks?.url }, 'operator started');
  let stopping: Promise<void> | undefined;
  return {
    operator,
    endpoints,
    webhooks,
    stop: () =>
      (stopping ??= (async () => {
        o.logger.info('stopping: finishing batches in flight and releasing the lease');
        await webhooks?.close();
        await operator.stop();
        await endpoints.close();
        o.logger.info('stopped');
      })()),
  };
}
