import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatValidationErrors, validateResource } from '../../../operator/src/api/validate.js';

// The examples of DESIGN §2, verbatim: the contract's field names must be exactly the CRDs'.
const INTEGRATION = `
apiVersion: hubspot-operator.dev/v1alpha1
kind: HubSpotIntegration
metadata: {name: acme, namespace: crm}
spec:
  suspend: false
  hubspot:
    baseURL: https://api.hubapi.com
    portalId: 1234567
    auth:
      privateAppToken: {secretRef: {name: acme-hubspot, key: token}}
    rateLimit:
      requestsPerTenSeconds: 100
      dailyRequests: 250000
      searchRequestsPerSecond: 4
  target:
    postgres:
      connectionSecretRef: {name: acme-db, key: url}
      schema: public
      stateSchema: hubspot_operator
      createTables: false
  objects:
  - type: contacts
    table: contacts
    primaryKey: id
    direction: TwoWay
    match: {property: email, column: email}
    conflictResolution: HubSpotWins
    create: {inHubSpot: true, inTarget: true}
    deletes: {fromHubSpot: Ignore, fromTarget: Ignore}
  schedule:
    interval: 5m
    fullResyncInterval: 24h
  deletionPolicy: Delete
status:
  observedGeneration: 3
  conditions:
  - {type: Ready, status: "True", reason: Synced, message: "", observedGeneration: 3, lastTransitionTime: "2026-11-23T10:00:00Z"}
  portalId: 1234567
  lastSyncTime: "2026-11-23T10:05:00Z"
  lastSuccessfulSyncTime: "2026-11-23T10:05:00Z"
  lastHandledSyncRequest: "2026-11-23T10:00:00Z"
  objects:
  - type: contacts
    hubspotRecords: 120431
    targetRecords: 118002
    linkedRecords: 117990
    pendingChanges: 12
    lastCycle: {toTarget: {created: 3, updated: 40, deleted: 0}, toHubSpot: {created: 1, updated: 7, deleted: 0}, failed: 2}
  errors:
  - category: Validation
    records: 2
    message: 'Property "email" is not a valid email address (contact 501)'
    lastSeenTime: "2026-11-23T10:05:00Z"
  errorCount: 2
  apiUsage:
    requestsLast24h: 5123
    rateLimitedLast24h: 0
    dailyBudget: 250000
`;

const FIELD_MAPPING = `
apiVersion: hubspot-operator.dev/v1alpha1
kind: FieldMapping
metadata: {name: acme-contacts}
spec:
  integrationRef: {name: acme}
  objectType: contacts
  createMissingProperties: false
  fields:
  - property: email
    column: email
    direction: TwoWay
    mode: Overwrite
    conflictResolution: NewestWins
    required: true
    transform:
      valueMap: {US: United States}
  - property: lifecyclestage
    column: lifecyclestage
    mode: ForwardOnly
    order: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist]
status:
  observedGeneration: 1
  fieldCount: 9
`;

const SYNC_FILTER = `
apiVersion: hubspot-operator.dev/v1alpha1
kind: SyncFilter
metadata: {name: acme-contacts}
spec:
  integrationRef: {name: acme}
  objectType: contacts
  appliesTo: Both
  action: Include
  rules:
  - {property: email, operator: EndsWith, value: "@acme.com"}
  - {property: lifecyclestage, operator: In, values: [lead, customer]}
  - {property: phone, operator: IsNotEmpty}
status:
  matchedRecords: 4120
`;

describe('the examples of DESIGN §2', () => {
  for (const [kind, text] of [
    ['HubSpotIntegration', INTEGRATION],
    ['FieldMapping', FIELD_MAPPING],
    ['SyncFilter', SYNC_FILTER],
  ] as const) {
    it(`${kind} validates, status included`, () => {
      const result = validateResource(kind, parse(text));
      expect(result.errors, formatValidationErrors(result.errors)).toEqual([]);
    });
  }

  it('the other transforms of §2.2 validate too', () => {
    for (const transform of [{ lowercase: true }, { uppercase: true }, { trim: true }, { countryCode: 'alpha2' }]) {
      const obj = parse(FIELD_MAPPING) as { spec: { fields: { transform?: unknown }[] } };
      obj.spec.fields[0]!.transform = transform;
      expect(validateResource('FieldMapping', obj).errors, JSON.stringify(transform)).toEqual([]);
    }
  });
});
