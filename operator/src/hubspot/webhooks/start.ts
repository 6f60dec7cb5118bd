/**
 * Starts the webhook receiver of `hubspot-operator run` on every replica: integrations and
 * Secrets come from the informer caches (warm on standbys too), events go to each
 * integration's state store (PostgreSQL or MySQL, through the target connector) unless another
 * inbox is given.
 */
import type { Logger } from 'pino';
import { specWithDefaults } from '../../api/defaults.js';
import type { OperatorMetrics } from '../../observability/metrics.js';
import { directoryFromCache, type DirectorySource } from './directory.js';
import type { WebhookInbox } from './events.js';
import { createConnectorInboxRouter } from './connector-inbox.js';
import { WebhookReceiver } from './receiver.js';
import { WebhookStats, type WebhookStatus } from './stats.js';

export interface WebhookServerOptions {
  port: number;
  host?: string;
  publicUrl?: string;
  source: DirectorySource;
  metrics?: OperatorMetrics;
  logger?: Logger;
  /** Default: the connector inbox router over each integration's target database (its state store). */
  inbox?: WebhookInbox;
}

export interface WebhookServer {
  url: string;
  receiver: WebhookReceiver;
  stats: WebhookStats;
  /**
   * status.webhooks of an integration: stored events from its inbox table (every replica's
   * intake), refusals from this process. For the status writer; never throws (a database
   * problem leaves the stored-event fields out).
   */
  status(namespace: string, name: string, uid: string): Promise<WebhookStatus>;
  close(): Promise<void>;
}

function secretValue(s: { data?: Record<string, string>; stringData?: Record<string, string> } | undefined, key: string): string | undefined {
  const raw = s?.data?.[key];
  if (raw !== undefined) return Buffer.from(raw, 'base64').toString('utf8');
  return s?.stringData?.[key];
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const router = o.inbox
    ? undefined
    : createConnectorInboxRouter((key) => {
        const i = o.source.integrations().find((x) => (x.metadata.uid ?? `${x.metadata.namespace}/${x.metadata.name}`) === key);
        if (!i) return undefined;
        const target = specWithDefaults('HubSpotIntegration', i.spec).target;
        const ref = target?.postgres?.connectionSecretRef ?? target?.mysql?.connectionSecretRef;
        if (!ref) return undefined;
        const url = secretValue(o.source.secret(i.metadata.namespace!, ref.name), ref.key ?? 'url');
        return { uid: key, namespace: i.metadata.namespace!, name: i.metadata.name, target, databaseUrl: url?.trim() };
      });
  const stats = new WebhookStats();
  const receiver = new WebhookReceiver({
    directory: directoryFromCache(o.source),
    inbox: o.inbox ?? router!,
    metrics: o.metrics,
    stats,
    logger: o.logger?.child({ component: 'webhooks' }),
    publicUrl: o.publicUrl,
  });
  const url = await receiver.listen(o.port, o.host);
  return {
    url,
    receiver,
    stats,
    async status(namespace, name, uid) {
      const local = stats.snapshot(namespace, name);
      const stored = await router?.stats(uid).catch(() => undefined);
      if (!stored) return local;
      return { ...(stored.lastEventTime ? { lastEventTime: stored.lastEventTime } : {}), eventsLast24h: stored.eventsLast24h, rejectedLast24h: local.rejectedLast24h };
    },
    close: async () => {
      await receiver.close();
      await router?.close();
    },
  };
}
