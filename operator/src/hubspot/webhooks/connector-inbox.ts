/**
 * The webhook inbox behind the target connector (DESIGN §2.8, §2.10): the receiver stores each
 * integration's events in its own state store — `webhook_inbox`, created by the connector's
 * migrations — on PostgreSQL and MySQL alike, through `tx.state.storeWebhookEvents` (one
 * statement, duplicates dropped). No SQL here.
 *
 * One connector per integration, opened on the first delivery for it (a standby that never
 * receives one opens no connection) with a small pool, and kept until the receiver closes or
 * the integration's target changes. After a commit, `signalWebhookStored` wakes this process's
 * worker at once; PostgreSQL's NOTIFY in the same transaction wakes the leader when a standby
 * stored them.
 */
import { openConnector, signalWebhookStored, targetSettings, type Connector, type TargetSettings } from '../../target/index.js';
import type { InboxEvent, WebhookInbox } from './events.js';

export interface InboxTarget {
  uid: string;
  namespace: string;
  name: string;
  /** spec.target (defaults applied or not: targetSettings applies them). */
  target: unknown;
  /** The connection URL from the integration's Secret (undefined: not resolvable yet). */
  databaseUrl: string | undefined;
}

export interface ConnectorInboxRouter extends WebhookInbox {
  /** The inbox's counts of an integration (undefined when it has no reachable target). */
  stats(integrationKey: string): Promise<{ lastEventTime?: string; eventsLast24h: number } | undefined>;
  close(): Promise<void>;
}

interface Open {
  id: string;
  connector: Promise<Connector>;
}

export function createConnectorInboxRouter(locate: (integrationKey: string) => InboxTarget | undefined, o: { poolSize?: number } = {}): ConnectorInboxRouter {
  const open = new Map<string, Open>();

  const connectorFor = async (key: string): Promise<Connector | undefined> => {
    const t = locate(key);
    if (!t) return undefined;
    const settings: TargetSettings = targetSettings(t.target);
    const id = JSON.stringify([t.databaseUrl, settings]);
    let entry = open.get(key);
    if (entry && entry.id !== id) {
      // The integration's target or credentials changed: release the old connector.
      open.delete(key);
      void entry.connector.then((c) => c.close()).catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      const connector = (async () => {
        const c = await openConnector(t.databaseUrl, { uid: t.uid, namespace: t.namespace, name: t.name, settings, poolSize: o.poolSize ?? 2, connectTimeoutMs: 3000 });
        try {
          await c.prepareState();
        } catch (err) {
          await c.close().catch(() => undefined);
          throw err;
        }
        return c;
      })();
      entry = { id, connector };
      open.set(key, entry);
      const e = entry;
      connector.catch(() => {
        if (open.get(key) === e) open.delete(key);
      });
    }
    return entry.connector;
  };

  return {
    async store(key: string, events: InboxEvent[]) {
      const c = await connectorFor(key);
      if (!c) throw new Error(`integration ${key} has no resolvable target database to store webhook events in`);
      const stored = await c.transaction((tx) => tx.state.storeWebhookEvents(events));
      if (stored > 0) signalWebhookStored(key);
    },
    async stats(key: string) {
      try {
        const c = await connectorFor(key);
        return c ? await c.state.webhookStats() : undefined;
      } catch {
        return undefined;
      }
    },
    async close() {
      const all = [...open.values()];
      open.clear();
      await Promise.all(all.map((e) => e.connector.then((c) => c.close()).catch(() => undefined)));
    },
  };
}
