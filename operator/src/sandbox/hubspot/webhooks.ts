/**
 * Webhook deliveries like HubSpot's: events of subscribed types are batched (up to 100 per
 * request) and POSTed as a JSON array to the subscriber with `X-HubSpot-Signature-v3` (base64
 * HMAC-SHA256 of method + URL + body + timestamp with the client secret),
 * `X-HubSpot-Signature-Version: v3` and `X-HubSpot-Request-Timestamp`. Failed deliveries
 * (non-2xx, network) are retried with backoff and an increasing `attemptNumber`.
 *
 * Event types: `<contact|company|deal>.<creation|propertyChange|deletion|merge|restore|
 * associationChange>`, `contact.privacyDeletion`, and the generic `object.*` forms (any type,
 * custom objects included; the payload names `objectTypeId`).
 *
 * Delivery switches (per subscription, set on subscribe or `PATCH /__sandbox/webhooks/{id}`) let
 * tests provoke what HubSpot does now and then: `duplicates` (each batch sent again N times),
 * `shuffle` (events reordered within and between the batches of a flush, seeded by `seed`),
 * `failRate` (a delivered attempt is treated as failed, as if its response was lost, so the same
 * events arrive again with the next attemptNumber), `maxBatchSize` and `batchDelayMs`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { AssociationChange } from './associations.js';
import { seededRandom } from './random.js';
import type { ChangeEvent } from './writes.js';

export interface DeliverySettings {
  maxBatchSize?: number;
  batchDelayMs?: number;
  maxAttempts?: number;
  retryDelayMs?: number;
  /** Extra copies of every batch (0 = each batch once). */
  duplicates?: number;
  /** Shuffle the events of each flush (within and between batches) with a seeded RNG. */
  shuffle?: boolean;
  /** Seed of the shuffle and failRate draws (default 1). */
  seed?: number;
  /** Fraction 0..1 of delivered attempts treated as failed (response lost) and so retried. */
  failRate?: number;
}

export interface SubscriptionInput extends DeliverySettings {
  targetUrl: string;
  clientSecret: string;
  events: string[];
  /** Only these properties raise propertyChange events (default: all). */
  propertyNames?: string[];
}

interface Subscription {
  id: string;
  numericId: number;
  targetUrl: string;
  clientSecret: string;
  events: string[];
  propertyNames?: string[];
  settings: Required<DeliverySettings>;
  random: () => number;
  queue: Record<string, unknown>[];
  timer?: NodeJS.Timeout;
  stats: {
    /** Events in successful deliveries (duplicates and retries of delivered events count again). */
    deliveredEvents: number;
    deliveredBatches: number;
    /** Every POST made, duplicates and retries included. */
    requests: number;
    /** POSTs that were extra copies (the duplicates switch). */
    duplicateRequests: number;
    failedAttempts: number;
    /** Attempts the receiver answered 2xx but failRate counted as failed. */
    injectedFailures: number;
    retries: number;
    droppedEvents: number;
    /** Events raised for this subscription. */
    raisedEvents: number;
  };
}

const EVENT_OBJECTS: Record<string, string> = { contacts: 'contact', companies: 'company', deals: 'deal' };
const KINDS = ['creation', 'propertyChange', 'deletion', 'merge', 'restore', 'associationChange', 'privacyDeletion'];
const DEFAULTS: Required<DeliverySettings> = { maxBatchSize: 100, batchDelayMs: 50, maxAttempts: 5, retryDelayMs: 500, duplicates: 0, shuffle: false, seed: 1, failRate: 0 };

export function signV3(clientSecret: string, method: string, url: string, body: string, timestamp: number): string {
  return createHmac('sha256', clientSecret).update(`${method}${url}${body}${timestamp}`).digest('base64');
}

/** Checks delivery settings (all optional); returns problems naming each bad field. */
export function checkDeliverySettings(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const num = (k: keyof DeliverySettings, min: number, max: number, integer: boolean) => {
    const v = body[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      problems.push(`${k} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
  };
  num('maxBatchSize', 1, 100, true);
  num('batchDelayMs', 0, 3_600_000, false);
  num('maxAttempts', 1, 100, true);
  num('retryDelayMs', 0, 86_400_000, false);
  num('duplicates', 0, 10, true);
  num('seed', 0, 2 ** 32 - 1, true);
  num('failRate', 0, 1, false);
  if (body.shuffle !== undefined && typeof body.shuffle !== 'boolean') problems.push('shuffle must be a boolean');
  return problems;
}

/** Checks a subscription body; returns problems (empty when fine). */
export function checkSubscription(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof body.targetUrl !== 'string' || !/^https?:\/\//.test(body.targetUrl)) problems.push('targetUrl must be an http(s) URL');
  if (typeof body.clientSecret !== 'string' || body.clientSecret === '') problems.push('clientSecret is required (it signs the deliveries)');
  if (!Array.isArray(body.events) || body.events.length === 0) problems.push('events must be a non-empty array like ["contact.creation", "contact.propertyChange", "contact.deletion"]');
  else for (const e of body.events) {
    const [obj, kind] = String(e).split('.');
    const ok = kind !== undefined && KINDS.includes(kind) && ['contact', 'company', 'deal', 'object'].includes(obj!) && (kind !== 'privacyDeletion' || obj === 'contact');
    if (!ok) {
      problems.push(`event ${JSON.stringify(e)} is not one of <contact|company|deal|object>.<creation|propertyChange|deletion|merge|restore|associationChange> or contact.privacyDeletion`);
    }
  }
  if (body.propertyNames !== undefined && (!Array.isArray(body.propertyNames) || body.propertyNames.some((p) => typeof p !== 'string'))) problems.push('propertyNames must be an array of property names');
  problems.push(...checkDeliverySettings(body));
  return problems;
}

function pickSettings(input: DeliverySettings): DeliverySettings {
  const out: DeliverySettings = {};
  for (const k of Object.keys(DEFAULTS) as (keyof DeliverySettings)[]) if (input[k] !== undefined) (out as Record<string, unknown>)[k] = input[k];
  return out;
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
    const settings = { ...DEFAULTS, ...pickSettings(input) };
    const sub: Subscription = {
      id: String(numericId),
      numericId,
      targetUrl: input.targetUrl,
      clientSecret: input.clientSecret,
      events: input.events,
      ...(input.propertyNames ? { propertyNames: input.propertyNames } : {}),
      settings,
      random: seededRandom(settings.seed),
      queue: [],
      stats: { deliveredEvents: 0, deliveredBatches: 0, requests: 0, duplicateRequests: 0, failedAttempts: 0, injectedFailures: 0, retries: 0, droppedEvents: 0, raisedEvents: 0 },
    };
    this.subs.set(sub.id, sub);
    return { id: sub.id };
  }

  /** Changes the delivery switches of a subscription; a new seed restarts its random sequence. */
  configure(id: string, settings: DeliverySettings): Record<string, unknown> | undefined {
    const sub = this.subs.get(id);
    if (!sub) return undefined;
    const picked = pickSettings(settings);
    sub.settings = { ...sub.settings, ...picked };
    if (picked.seed !== undefined) sub.random = seededRandom(picked.seed);
    return this.describe(sub);
  }

  unsubscribe(id: string): boolean {
    const sub = this.subs.get(id);
    if (sub?.timer) clearTimeout(sub.timer);
    return this.subs.delete(id);
  }

  private describe(s: Subscription): Record<string, unknown> {
    return { id: s.id, targetUrl: s.targetUrl, events: s.events, ...(s.propertyNames ? { propertyNames: s.propertyNames } : {}), ...s.settings, pending: s.queue.length, ...s.stats };
  }

  list(): Record<string, unknown>[] {
    return [...this.subs.values()].map((s) => this.describe(s));
  }

  private base(sub: Subscription, obj: string | undefined, kind: string, objectTypeId: string, at: number): { event: Record<string, unknown>; generic: boolean } | undefined {
    const legacy = obj !== undefined && sub.events.includes(`${obj}.${kind}`);
    if (!legacy && !sub.events.includes(`object.${kind}`)) return undefined;
    return {
      generic: !legacy,
      event: {
        eventId: this.nextEventId++,
        subscriptionId: sub.numericId,
        portalId: this.portalId,
        appId: 1000,
        occurredAt: at,
        subscriptionType: legacy ? `${obj}.${kind}` : `object.${kind}`,
        attemptNumber: 0,
      },
    };
  }

  /** Turns a record change into webhook events for every matching subscription. */
  onChange(e: ChangeEvent): void {
    if (this.subs.size === 0 || this.closed) return;
    const obj = e.store.info.kind === 'custom' ? undefined : EVENT_OBJECTS[e.store.info.name];
    for (const sub of this.subs.values()) {
      const make = (kind: string, extra: Record<string, unknown>) => {
        // privacyDeletion exists only in the legacy contact form.
        if (kind === 'privacyDeletion' && !(obj === 'contact' && sub.events.includes('contact.privacyDeletion'))) return;
        const b = this.base(sub, obj, kind, e.store.info.objectTypeId, e.at);
        if (!b) return;
        this.enqueue(sub, { ...b.event, objectId: e.id, ...(b.generic ? { objectTypeId: e.store.info.objectTypeId } : {}), ...extra, changeSource: 'API' });
      };
      if (e.kind === 'creation') make('creation', { changeFlag: 'CREATED' });
      else if (e.kind === 'deletion') make('deletion', { changeFlag: 'DELETED' });
      else if (e.kind === 'restore') make('restore', {});
      else if (e.kind === 'privacyDeletion') make('privacyDeletion', {});
      else if (e.kind === 'merge') {
        make('merge', { primaryObjectId: e.primaryId ?? e.id, mergedObjectIds: e.mergedIds ?? [], newObjectId: e.id, numberOfPropertiesMoved: e.propertiesMoved ?? 0 });
      } else if (e.kind === 'propertyChange') {
        for (const c of e.changes ?? []) {
          if (sub.propertyNames && !sub.propertyNames.includes(c.name)) continue;
          make('propertyChange', { propertyName: c.name, propertyValue: c.value ?? '' });
        }
      }
    }
  }

  /**
   * An association added or removed, seen from one side: `contact.associationChange` with
   * HubSpot's `associationType` (e.g. CONTACT_TO_COMPANY), or `object.associationChange` with the
   * type ids and object type ids.
   */
  onAssociation(e: AssociationChange): void {
    if (this.subs.size === 0 || this.closed) return;
    const obj = e.from.info.kind === 'custom' ? undefined : EVENT_OBJECTS[e.from.info.name];
    for (const sub of this.subs.values()) {
      const b = this.base(sub, obj, 'associationChange', e.from.info.objectTypeId, e.at);
      if (!b) continue;
      this.enqueue(sub, {
        ...b.event,
        associationType: `${e.from.info.singular}_TO_${e.to.info.singular}`.replace(/\W+/g, '_'),
        ...(b.generic ? { fromObjectTypeId: e.from.info.objectTypeId, toObjectTypeId: e.to.info.objectTypeId, associationTypeId: e.type.typeId, associationCategory: e.type.category } : {}),
        fromObjectId: e.fromId,
        toObjectId: e.toId,
        associationRemoved: e.removed,
        isPrimaryAssociation: e.type.primary !== undefined,
        changeSource: 'API',
      });
    }
  }

  private enqueue(sub: Subscription, event: Record<string, unknown>): void {
    sub.stats.raisedEvents++;
    sub.queue.push(event);
    if (sub.queue.length >= sub.settings.maxBatchSize && !sub.settings.shuffle) this.flush(sub);
    else if (!sub.timer) sub.timer = setTimeout(() => this.flush(sub), sub.settings.batchDelayMs);
  }

  private flush(sub: Subscription): void {
    if (sub.timer) {
      clearTimeout(sub.timer);
      delete sub.timer;
    }
    const events = sub.queue;
    sub.queue = [];
    if (sub.settings.shuffle) shuffle(events, sub.random);
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < events.length; i += sub.settings.maxBatchSize) batches.push(events.slice(i, i + sub.settings.maxBatchSize));
    if (sub.settings.shuffle) shuffle(batches, sub.random);
    for (const batch of batches) {
      void this.deliver(sub, batch, 0, false);
      for (let d = 0; d < sub.settings.duplicates; d++) void this.deliver(sub, batch, 0, true);
    }
  }

  private async deliver(sub: Subscription, events: Record<string, unknown>[], attempt: number, duplicate: boolean): Promise<void> {
    if (this.closed) return;
    const body = JSON.stringify(events.map((e) => ({ ...e, attemptNumber: attempt })));
    const timestamp = Date.now();
    const ac = new AbortController();
    this.inFlight.add(ac);
    const timeout = setTimeout(() => ac.abort(), 10_000);
    sub.stats.requests++;
    if (duplicate) sub.stats.duplicateRequests++;
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
    if (ok && sub.settings.failRate > 0 && sub.random() < sub.settings.failRate) {
      ok = false;
      sub.stats.injectedFailures++;
    }
    if (ok) {
      sub.stats.deliveredBatches++;
      sub.stats.deliveredEvents += events.length;
      return;
    }
    sub.stats.failedAttempts++;
    if (duplicate) return; // a copy is not retried: the original carries the events
    if (attempt + 1 >= sub.settings.maxAttempts || this.closed || !this.subs.has(sub.id)) {
      sub.stats.droppedEvents += events.length;
      return;
    }
    sub.stats.retries++;
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      void this.deliver(sub, events, attempt + 1, false);
    }, sub.settings.retryDelayMs * 2 ** attempt);
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

/** Fisher–Yates with the given random source. */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
