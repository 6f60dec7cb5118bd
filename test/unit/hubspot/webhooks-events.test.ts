/** Classification of HubSpot webhook events, the inbox row they become, and the 24 h counts. */
import { describe, expect, it } from 'vitest';
import { checkDelivery, eventKind, eventObjectType, toInboxEvent } from '../../../operator/src/hubspot/webhooks/events.js';
import { webhookDedupeKey as dedupeKey } from '../../../operator/src/target/connector.js';
import { WebhookStats } from '../../../operator/src/hubspot/webhooks/stats.js';
import { associationOtherType } from '../../../operator/src/sync/webhook-events.js';

describe('event classification', () => {
  it('maps the contact/company/deal forms and the generic object form to spec.objects types', () => {
    expect(eventObjectType({ subscriptionType: 'contact.creation' })).toBe('contacts');
    expect(eventObjectType({ subscriptionType: 'company.propertyChange' })).toBe('companies');
    expect(eventObjectType({ subscriptionType: 'deal.deletion' })).toBe('deals');
    expect(eventObjectType({ subscriptionType: 'object.creation', objectTypeId: '0-1' })).toBe('contacts');
    expect(eventObjectType({ subscriptionType: 'object.merge', objectTypeId: '0-3' })).toBe('deals');
    expect(eventObjectType({ subscriptionType: 'object.creation', objectTypeId: '2-4711' })).toBe('2-4711');
    expect(eventObjectType({ subscriptionType: 'object.creation', objectTypeId: '0-5' })).toBe('0-5'); // tickets: never synced
    expect(eventObjectType({ subscriptionType: 'object.creation' })).toBeUndefined();
    expect(eventObjectType({ subscriptionType: 'ticket.creation' })).toBeUndefined();
    // object.associationChange names its side by fromObjectTypeId.
    expect(eventObjectType({ subscriptionType: 'object.associationChange', fromObjectTypeId: '0-2' })).toBe('companies');
  });

  it('finds the other end of an associationChange: toObjectTypeId, else associationType', () => {
    const ev = (payload: Record<string, unknown>) => ({ id: '1', eventId: '1', subscriptionType: 'x', objectType: 'contacts', kind: 'associationChange', objectId: null, propertyName: null, occurredAt: new Date(0), attemptNumber: 0, payload });
    const types = new Set(['contacts', 'companies', '2-4711']);
    expect(associationOtherType(ev({ associationType: 'CONTACT_TO_COMPANY' }), types)).toBe('companies');
    expect(associationOtherType(ev({ toObjectTypeId: '0-1', associationType: 'COMPANY_TO_CONTACT' }), types)).toBe('contacts');
    expect(associationOtherType(ev({ toObjectTypeId: '2-4711' }), types)).toBe('2-4711');
    expect(associationOtherType(ev({ associationType: 'CONTACT_TO_DEAL' }), types)).toBeUndefined(); // deals not synced
    expect(associationOtherType(ev({}), types)).toBeUndefined();
  });

  it('knows the seven event kinds', () => {
    for (const k of ['creation', 'propertyChange', 'deletion', 'restore', 'merge', 'associationChange', 'privacyDeletion']) expect(eventKind(`contact.${k}`)).toBe(k);
    expect(eventKind('contact.explode')).toBeUndefined();
    expect(eventKind('contact')).toBeUndefined();
  });

  it('checks a delivery and names the first bad field', () => {
    const ok = { eventId: 1, portalId: 2, occurredAt: 3, subscriptionType: 'contact.creation', objectId: 4 };
    expect(checkDelivery([ok])).toEqual({ events: [ok] });
    expect(checkDelivery([])).toEqual({ events: [] });
    expect(checkDelivery({})).toEqual({ problem: 'the body must be a JSON array of events' });
    expect(checkDelivery([ok, null])).toEqual({ problem: '[1]: an event must be a JSON object' });
    expect(checkDelivery([{ ...ok, occurredAt: 'now' }])).toEqual({ problem: '[0].occurredAt: expected epoch milliseconds' });
    expect(checkDelivery([{ ...ok, eventId: -1 }])).toEqual({ problem: '[0].eventId: expected an integer' });
    expect(checkDelivery([{ ...ok, subscriptionType: 7 }])).toEqual({ problem: '[0].subscriptionType: expected a string like contact.creation' });
    expect(checkDelivery([{ ...ok, objectId: 'abc' }])).toEqual({ problem: '[0].objectId: expected an integer' });
    expect(checkDelivery(Array.from({ length: 3 }, () => ok), 2)).toEqual({ problem: 'a delivery holds at most 2 events; got 3' });
  });

  it('keeps merge and association details but never the property value', () => {
    const merge = toInboxEvent({ eventId: 9, portalId: 2, occurredAt: 5, subscriptionType: 'contact.merge', objectId: 10, primaryObjectId: 10, mergedObjectIds: [11, 12], attemptNumber: 0 }, 'contacts', 'merge');
    expect(merge.payload).toMatchObject({ primaryObjectId: 10, mergedObjectIds: [11, 12] });
    const change = toInboxEvent({ eventId: 9, portalId: 2, occurredAt: 5, subscriptionType: 'contact.propertyChange', objectId: 10, propertyName: 'email', propertyValue: 'a@b.c' }, 'contacts', 'propertyChange');
    expect(change).toMatchObject({ eventId: '9', objectId: '10', propertyName: 'email', occurredAt: new Date(5) });
    expect(JSON.stringify(change)).not.toContain('a@b.c');
  });

  it('dedupes a redelivery (attemptNumber differs) but not another property or object under a reused eventId', () => {
    const base = { eventId: 9, portalId: 2, occurredAt: 5, subscriptionType: 'contact.propertyChange', objectId: 10, propertyName: 'email' };
    const k = (e: Record<string, unknown>) => dedupeKey(toInboxEvent(e as never, 'contacts', 'propertyChange'));
    expect(k({ ...base, attemptNumber: 3 })).toBe(k(base));
    expect(k({ ...base, propertyName: 'phone' })).not.toBe(k(base));
    expect(k({ ...base, objectId: 11 })).not.toBe(k(base));
  });


});

describe('WebhookStats', () => {
  it('counts stored events and refusals over a sliding 24 hours and keeps the newest occurredAt', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const s = new WebhookStats(() => now);
    s.stored('crm', 'acme', 3, Date.parse('2025-12-31T23:59:00Z'));
    s.rejected('crm', 'acme');
    now += 12 * 3600_000;
    s.stored('crm', 'acme', 2, Date.parse('2025-12-31T23:00:00Z')); // older event: lastEventTime stays
    expect(s.snapshot('crm', 'acme')).toEqual({ lastEventTime: '2025-12-31T23:59:00.000Z', eventsLast24h: 5, rejectedLast24h: 1 });
    now += 12 * 3600_000 + 60_000;
    expect(s.snapshot('crm', 'acme')).toEqual({ lastEventTime: '2025-12-31T23:59:00.000Z', eventsLast24h: 2, rejectedLast24h: 0 });
    expect(s.snapshot('crm', 'other')).toEqual({ eventsLast24h: 0, rejectedLast24h: 0 });
  });
});
