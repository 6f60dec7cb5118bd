/**
 * Webhook deliveries like HubSpot's: events of subscribed types (`contact.creation`,
 * `contact.propertyChange`, `contact.deletion`, same for company/deal, and `object.*` for any
 * type incl. custom objects) are batched (up to 100 per request) and POSTed as a JSON array
 * to the subscriber with `X-HubSpot-Signature-v3` (base64 HMAC-SHA256 of
 * method + URL + body + timestamp with the client secret), `X-HubSpot-Signature-Version: v3`
 * and `X-HubSpot-Request-Timestamp`. Failed deliveries (non-2xx, network) are retried with
 * backoff and an increasing `attemptNumber`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { ChangeEvent } from './writes.js';

export interface SubscriptionInput {
  targetUrl: string;
  clientSecret: string;
  events: string[];
  /** Only these properties raise propertyChange events (default: all). */
  propertyNames?: string[];
  maxBatchSize?: number;
  batchDelayMs?: number;
  maxAttempts?: number;
  retryDelayMs?: number;
}

interface Subscription extends Required<Omit<SubscriptionInput, 'propertyNames'>> {
  id: string;
  numericId: number;
  propertyNames?: string[];
  queue: Record<string, unknown>[];
  timer?: NodeJS.Timeout;
  stats: { deliveredEvents: number; deliveredBatches: number; failedAttempts: number; droppedEvents: number };
}

const EVENT_OBJECTS: Record<string, string> = { contacts: 'contact', companies: 'company', deals: 'deal' };
const KINDS = ['creation', 'propertyChange', 'deletion'];

export function signV3(clientSecret: string, method: string, url: string, body: string, timestamp: number): string {
  return createHmac('sha256', clientSecret).update(`${method}${url}${body}${timestamp}`).digest('base64');
}

/** Checks a subscription body; returns problems (empty when fine). */
export function checkSubscription(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof body.targetUrl !== 'string' || !/^https?:\/\//.test(body.targetUrl)) problems.push('targetUrl must be an http(s) URL');
  if (typeof body.clientSecret !== 'string' || body.clientSecret === '') problems.push('clientSecret is required (it signs the deliveries)');
  if (!Array.isArray(body.events) || body.events.length === 0) problems.push('events must be a non-empty array like ["contact.creation", "contact.propertyChange", "contact.deletion"]');
  else for (const e of body.events) {
    const [obj, kind] = String(e).split('.');
    if (!kind || !KINDS.includes(kind) || !['contact', 'company', 'deal', 'object'].includes(obj!)) {
      problems.push(`event ${JSON.stringify(e)} is not one of <contact|company|deal|object>.<creation|propertyChange|deletion>`);
    }
  }
  for (const k of ['maxBatchSize', 'batchDelayMs', 'maxAttempts', 'retryDelayMs'] as const) {
    if (body[k] !== undefined && (typeof body[k] !== 'number' || (body[k] as number) < 0)) problems.push(`${k} must be a non-negative number`);
  }
  if (body.maxBatchSize !== undefined && ((body.maxBatchSize as number) < 1 || (body.maxBatchSize as number) > 100)) problems.push('maxBatchSize must be from 1 to 100');
  return problems;
}

export class Webhooks {
  private subs = new Map<string, Subscription>();
  private nextId = 1;
  private nextEventId = 1;
  private closed = false;
  private readonly inFlight = new Set<AbortController>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  readonly portalId: number;

  constructor(portalId: number) {
    this.portalId = portalId;
  }

  subscribe(input: SubscriptionInput): { id: string } {
    const numericId = this.nextId++;
    const sub: Subscription = {
      id: String(numericId),
      numericId,
      targetUrl: input.targetUrl,
      clientSecret: input.clientSecret,
      events: input.events,
      ...(input.propertyNames ? { propertyNames: input.propertyNames } : {}),
      maxBatchSize: input.maxBatchSize ?? 100,
      batchDelayMs: input.batchDelayMs ?? 50,
      maxAttempts: input.maxAttempts ?? 5,
      retryDelayMs: input.retryDelayMs ?? 500,
      queue: [],
      stats: { deliveredEvents: 0, deliveredBatches: 0, failedAttempts: 0, droppedEvents: 0 },
    };
    this.subs.set(sub.id, sub);
    return { id: sub.id };
  }

  unsubscribe(id: string): boolean {
    const sub = this.subs.get(id);
    if (sub?.timer) clearTimeout(sub.timer);
    return this.subs.delete(id);
  }

  list(): Record<string, unknown>[] {
    return [...this.subs.values()].map((s) => ({ id: s.id, targetUrl: s.targetUrl, events: s.events, pending: s.queue.length, ...s.stats }));
  }

  /** Turns a record change into webhook events for every matching subscription. */
  onChange(e: ChangeEvent): void {
    if (this.subs.size === 0 || this.closed) return;
    const obj = EVENT_OBJECTS[e.store.info.kind === 'custom' ? '' : e.store.info.name];
    for (const sub of this.subs.values()) {
      const wants = (kind: string) => (obj !== undefined && sub.events.includes(`${obj}.${kind}`)) || sub.events.includes(`object.${kind}`);
      const base = (kind: string) => {
        const generic = !(obj !== undefined && sub.events.includes(`${obj}.${kind}`));
        return {
          eventId: this.nextEventId++,
          subscriptionId: sub.numericId,
          portalId: this.portalId,
          appId: 1000,
          occurredAt: e.at,
          subscriptionType: generic ? `object.${kind}` : `${obj}.${kind}`,
          attemptNumber: 0,
          objectId: e.id,
          ...(generic ? { objectTypeId: e.store.info.objectTypeId } : {}),
          changeSource: 'API',
        };
      };
      if (e.kind === 'creation' && wants('creation')) this.enqueue(sub, { ...base('creation'), changeFlag: 'CREATED' });
      if (e.kind === 'deletion' && wants('deletion')) this.enqueue(sub, { ...base('deletion'), changeFlag: 'DELETED' });
      if (e.kind === 'propertyChange' && wants('propertyChange')) {
        for (const c of e.changes ?? []) {
          if (sub.propertyNames && !sub.propertyNames.includes(c.name)) continue;
          this.enqueue(sub, { ...base('propertyChange'), propertyName: c.name, propertyValue: c.value ?? '' });
        }
      }
    }
  }

  private enqueue(sub: Subscription, event: Record<string, unknown>): void {
    sub.queue.push(event);
    if (sub.queue.length >= sub.maxBatchSize) this.flush(sub);
    else if (!sub.timer) sub.timer = setTimeout(() => this.flush(sub), sub.batchDelayMs);
  }

  private flush(sub: Subscription): void {
    if (sub.timer) {
      clearTimeout(sub.timer);
      delete sub.timer;
    }
    while (sub.queue.length > 0) {
      const batch = sub.queue.splice(0, sub.maxBatchSize);
      void this.deliver(sub, batch, 0);
    }
  }

  private async deliver(sub: Subscription, events: Record<string, unknown>[], attempt: number): Promise<void> {
    if (this.closed) return;
    const body = JSON.stringify(events.map((e) => ({ ...e, attemptNumber: attempt })));
    const timestamp = Date.now();
    const ac = new AbortController();
    this.inFlight.add(ac);
    const timeout = setTimeout(() => ac.abort(), 10_000);
    let ok = false;
    try {
      const res = await fetch(sub.targetUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)',
          'X-HubSpot-Signature-v3': signV3(sub.clientSecret, 'POST', sub.targetUrl, body, timestamp),
          'X-HubSpot-Signature-Version': 'v3',
          'X-HubSpot-Request-Timestamp': String(timestamp),
          'X-HubSpot-Correlation-Id': randomUUID(),
        },
        body,
        signal: ac.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      ok = res.status >= 200 && res.status < 300;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(ac);
    }
    if (ok) {
      sub.stats.deliveredBatches++;
      sub.stats.deliveredEvents += events.length;
      return;
    }
    sub.stats.failedAttempts++;
    if (attempt + 1 >= sub.maxAttempts || this.closed || !this.subs.has(sub.id)) {
      sub.stats.droppedEvents += events.length;
      return;
    }
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      void this.deliver(sub, events, attempt + 1);
    }, sub.retryDelayMs * 2 ** attempt);
    this.retryTimers.add(t);
  }

  /** Drops every subscription and pending or retrying delivery. */
  reset(): void {
    for (const s of this.subs.values()) if (s.timer) clearTimeout(s.timer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.subs.clear();
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs.values()) if (s.timer) clearTimeout(s.timer);
    for (const t of this.retryTimers) clearTimeout(t);
    for (const ac of this.inFlight) ac.abort();
  }
}
