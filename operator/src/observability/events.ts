/**
 * Kubernetes Events (core/v1) for transitions a user should see in `kubectl describe`.
 * Like client-go's recorder, a repeat of the same (object, type, reason, message) within the
 * aggregation window bumps `count` and `lastTimestamp` on the existing Event instead of
 * creating a new one, so a flapping condition cannot flood the namespace. Messages are
 * scrubbed of secrets. Recording never throws: a failed Event is logged and dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../kube/clock.js';
import type { KubeClient, KubeObject, ResourceType } from '../kube/client.js';
import { secretScrubber, type SecretScrubber } from './redact.js';

export const EVENT: ResourceType = { group: '', version: 'v1', plural: 'events', kind: 'Event' };

export type EventType = 'Normal' | 'Warning';

export interface RecordedEvent {
  namespace: string;
  name: string;
  type: EventType;
  reason: string;
  message: string;
  count: number;
}

const AGGREGATION_WINDOW_MS = 10 * 60_000;
const MAX_MESSAGE = 1024;

export interface EventRecorderOptions {
  client: KubeClient;
  logger: Logger;
  component?: string;
  host?: string;
  clock?: Clock;
  scrubber?: SecretScrubber;
}

export class EventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly scrubber: SecretScrubber;
  /** Aggregation key -> the Event it was written to. */
  private readonly recent = new Map<string, { namespace: string; name: string; count: number; firstTimestamp: string; at: number }>();
  private pending = new Set<Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    this.scrubber = opts.scrubber ?? secretScrubber;
  }

  /** Records an Event about `obj` in the background. */
  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const p = this.write(obj, type, reason, this.scrubber.scrub(message).slice(0, MAX_MESSAGE)).catch((err) => {
      this.o.logger.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'could not record event');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for Events being written (before shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const now = this.clock.now();
    const time = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const key = [obj.metadata.uid ?? obj.metadata.name, namespace, type, reason, message].join('\u0000');
    const { logger } = this.o;
    logger.info({ namespace, kind: obj.kind, name: obj.metadata.name, eventType: type, reason, message }, 'event');
    this.expireOld(now);

    const seen = this.recent.get(key);
    if (seen) {
      seen.count++;
      seen.at = now;
      try {
        await this.o.client.patch(EVENT, seen.namespace, seen.name, { count: seen.count, lastTimestamp: time });
        return;
      } catch {
        this.recent.delete(key); // the Event expired or was deleted: create a fresh one
      }
    }
    const name = `${obj.metadata.name}.${now.toString(16)}${randomBytes(2).toString('hex')}`;
    await this.o.client.create(EVENT, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: this.o.component ?? 'hubspot-operator', host: this.o.host },
      reportingComponent: this.o.component ?? 'hubspot-operator',
      reportingInstance: this.o.host ?? '',
    });
    this.recent.set(key, { namespace, name, count: 1, firstTimestamp: time, at: now });
  }

  private expireOld(now: number): void {
    for (const [k, v] of this.recent) if (now - v.at > AGGREGATION_WINDOW_MS) this.recent.delete(k);
  }
}
