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

export interface RunningOperator {
  operator: Operator;
  endpoints: Endpoints;
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
}

/** The sync engine's factory (operator/src/sync). */
export async function defaultEngineFactory(): Promise<EngineFactory> {
  const { createSyncEngine } = await import('../sync/index.js');
  return createSyncEngine;
}

export async function runOperator(o: RunOptions): Promise<RunningOperator> {
  const engineFactory = o.engineFactory ?? (await defaultEngineFactory());
  const operator = new Operator({ ...o, engineFactory });
  const endpoints = await startEndpoints({
    registry: o.metrics.registry,
    metricsPort: o.metricsPort,
    healthPort: o.healthPort,
    host: o.host,
    healthz: () => operator.healthy(),
    readyz: () => operator.ready(),
  });
  operator.start();
  o.logger.info({ metrics: endpoints.metricsUrl, health: endpoints.healthUrl }, 'operator started');
  let stopping: Promise<void> | undefined;
  return {
    operator,
    endpoints,
    stop: () =>
      (stopping ??= (async () => {
        o.logger.info('stopping: finishing batches in flight and releasing the lease');
        await operator.stop();
        await endpoints.close();
        o.logger.info('stopped');
      })()),
  };
}
