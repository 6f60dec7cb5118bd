/**
 * The shape of HubSpot webhook events and how one is classified: which CRM object type it is
 * about (`contact.*` → contacts, `company.*` → companies, `deal.*` → deals, `object.*` by its
 * objectTypeId) and which kind of change (creation, propertyChange, deletion, restore, merge,
 * associationChange, privacyDeletion). Pure: no I/O.
 */

export const EVENT_KINDS = ['creation', 'propertyChange', 'deletion', 'restore', 'merge', 'associationChange', 'privacyDeletion'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One event of a delivery, as HubSpot sends it (fields beyond these are kept as they are). */
export interface HubSpotWebhookEvent {
  eventId: number | string;
  subscriptionId?: number;
  portalId: number;
  appId?: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber?: number;
  objectId?: number | string;
  objectTypeId?: string;
  propertyName?: string;
  propertyValue?: string;
  changeSource?: string;
  changeFlag?: string;
  [more: string]: unknown;
}

/** Object type IDs of HubSpot's standard objects that an integration can sync. */
const STANDARD_TYPE_IDS: Record<string, string> = { '0-1': 'contacts', '0-2': 'companies', '0-3': 'deals' };
const PREFIXES: Record<string, string> = { contact: 'contacts', company: 'companies', deal: 'deals' };

/**
 * The object type of an event as spec.objects[].type names it: contacts, companies, deals, or
 * the objectTypeId (`2-123`, `0-5`, …) of a generic `object.*` event. Undefined when the
 * subscription type is not one of those forms.
 */
export function eventObjectType(e: Pick<HubSpotWebhookEvent, 'subscriptionType' | 'objectTypeId'> & { fromObjectTypeId?: unknown }): string | undefined {
  const [prefix] = e.subscriptionType.split('.');
  if (prefix === undefined) return undefined;
  if (PREFIXES[prefix]) return PREFIXES[prefix];
  // object.associationChange names its types as fromObjectTypeId / toObjectTypeId: the from side is the event's.
  const typeId = e.objectTypeId ?? e.fromObjectTypeId;
  if (prefix === 'object' && typeof typeId === 'string' && /^\d+-\d+$/.test(typeId)) return STANDARD_TYPE_IDS[typeId] ?? typeId;
  return undefined;
}

export function eventKind(subscriptionType: string): EventKind | undefined {
  const kind = subscriptionType.split('.')[1];
  return (EVENT_KINDS as readonly string[]).includes(kind ?? '') ? (kind as EventKind) : undefined;
}

/** A non-negative integer id (HubSpot's ids fit in a double; beyond 2^53 they stay stable across redeliveries). */
function isId(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1e21;
}

/**
 * Checks a parsed delivery: an array (HubSpot sends under 100 events; at most `maxEvents`) of
 * objects with a numeric portalId and occurredAt, an eventId and a subscriptionType. Returns a
 * problem naming the first bad field, or the events.
 */
export function checkDelivery(body: unknown, maxEvents = 1000): { events: HubSpotWebhookEvent[] } | { problem: string } {
  if (!Array.isArray(body)) return { problem: 'the body must be a JSON array of events' };
  if (body.length > maxEvents) return { problem: `a delivery holds at most ${maxEvents} events; got ${body.length}` };
  for (const [i, e] of body.entries()) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return { problem: `[${i}]: an event must be a JSON object` };
    const ev = e as Record<string, unknown>;
    if (!Number.isSafeInteger(ev.portalId)) return { problem: `[${i}].portalId: expected an integer` };
    if (!Number.isFinite(ev.occurredAt)) return { problem: `[${i}].occurredAt: expected epoch milliseconds` };
    if (!(isId(ev.eventId) || (typeof ev.eventId === 'string' && /^\d{1,30}$/.test(ev.eventId)))) return { problem: `[${i}].eventId: expected an integer` };
    if (typeof ev.subscriptionType !== 'string' || ev.subscriptionType.length > 100) return { problem: `[${i}].subscriptionType: expected a string like contact.creation` };
    if (ev.objectId !== undefined && !(isId(ev.objectId) || (typeof ev.objectId === 'string' && /^\d{1,30}$/.test(ev.objectId)))) return { problem: `[${i}].objectId: expected an integer` };
  }
  return { events: body as HubSpotWebhookEvent[] };
}

/** What the inbox stores of one event, routed to one integration. */
export interface InboxEvent {
  portalId: number;
  eventId: string;
  subscriptionId: number | null;
  subscriptionType: string;
  /** The integration's spec.objects[].type the event belongs to. */
  objectType: string;
  kind: EventKind;
  objectId: string | null;
  occurredAt: Date;
  propertyName: string | null;
  changeSource: string | null;
  attemptNumber: number | null;
  /**
   * The event as HubSpot sent it minus propertyValue: the consumer re-reads the named records
   * from HubSpot (a value in a delivery can be older than the record's current one), so the
   * inbox never holds personal values. Merge ids, association ids and flags stay.
   */
  payload: Record<string, unknown>;
}

export function toInboxEvent(e: HubSpotWebhookEvent, objectType: string, kind: EventKind): InboxEvent {
  const { propertyValue: _dropped, ...payload } = e;
  return {
    portalId: e.portalId,
    eventId: String(e.eventId),
    subscriptionId: Number.isSafeInteger(e.subscriptionId) ? e.subscriptionId! : null,
    subscriptionType: e.subscriptionType,
    objectType,
    kind,
    objectId: e.objectId === undefined || e.objectId === null ? null : String(e.objectId),
    occurredAt: new Date(e.occurredAt),
    propertyName: typeof e.propertyName === 'string' ? e.propertyName : null,
    changeSource: typeof e.changeSource === 'string' ? e.changeSource : null,
    attemptNumber: Number.isSafeInteger(e.attemptNumber) ? e.attemptNumber! : null,
    payload,
  };
}

/**
 * Durable intake. `store` must have committed the events (duplicates dropped) when its promise
 * resolves: the receiver answers 2xx only afterwards, and HubSpot does not deliver them again.
 */
export interface WebhookInbox {
  store(integrationKey: string, events: InboxEvent[]): Promise<void>;
}
