import { describe, expect, it } from 'vitest';
import { applyDefaults, specWithDefaults, withDefaults } from '../../../operator/src/api/defaults.js';
import { fieldMapping, integration, syncFilter } from './fixtures.js';

describe('withDefaults', () => {
  it('fills every HubSpotIntegration default of DESIGN §2.1, deep and inside list items', () => {
    const spec = withDefaults('HubSpotIntegration', integration()).spec;
    expect(spec).toEqual({
      suspend: false,
      mode: 'Sync',
      hubspot: {
        baseURL: 'https://api.hubapi.com',
        auth: { privateAppToken: { secretRef: { name: 'acme-hubspot', key: 'token' } } },
        rateLimit: { requestsPerTenSeconds: 100, dailyRequests: 250000, searchRequestsPerSecond: 4 },
      },
      target: {
        postgres: {
          connectionSecretRef: { name: 'acme-db', key: 'url' },
          schema: 'public',
          stateSchema: 'hubspot_operator',
          createTables: false,
        },
      },
      objects: [
        {
          type: 'contacts',
          table: 'contacts',
          primaryKey: 'id',
          direction: 'TwoWay',
          conflictResolution: 'HubSpotWins',
          create: { inHubSpot: true, inTarget: true },
          deletes: { fromHubSpot: 'Ignore', fromTarget: 'Ignore', privacyFromHubSpot: 'Propagate' },
        },
      ],
      schedule: { interval: '5m', fullResyncInterval: '24h' },
      deletionPolicy: 'Delete',
    });
  });

  it('keeps values that are set, and fills the missing siblings', () => {
    const obj = integration({
      suspend: true,
      objects: [{ type: 'deals', table: 'deals', direction: 'HubSpotToTarget', create: { inHubSpot: false } }],
      schedule: { interval: '30s' },
    });
    const spec = withDefaults('HubSpotIntegration', obj).spec;
    expect(spec.suspend).toBe(true);
    expect(spec.objects[0]).toMatchObject({ direction: 'HubSpotToTarget', create: { inHubSpot: false, inTarget: true } });
    expect(spec.schedule).toEqual({ interval: '30s', fullResyncInterval: '24h' });
  });

  it('treats null like a missing value, as the apiserver does for non-nullable fields', () => {
    const obj = integration({ schedule: null as never });
    expect(withDefaults('HubSpotIntegration', obj).spec.schedule).toEqual({ interval: '5m', fullResyncInterval: '24h' });
  });

  it('fills FieldMapping and SyncFilter defaults (mode Overwrite, required false, appliesTo Both, action Include)', () => {
    expect(withDefaults('FieldMapping', fieldMapping()).spec).toEqual({
      integrationRef: { name: 'acme' },
      objectType: 'contacts',
      createMissingProperties: false,
      fields: [{ property: 'email', column: 'email', mode: 'Overwrite', required: false }],
    });
    expect(withDefaults('SyncFilter', syncFilter()).spec).toMatchObject({ appliesTo: 'Both', action: 'Include' });
  });

  it('does not give a field direction a default (it inherits the object direction at runtime)', () => {
    expect(withDefaults('FieldMapping', fieldMapping()).spec.fields[0]!.direction).toBeUndefined();
  });

  it('never mutates its input', () => {
    const obj = integration();
    const before = structuredClone(obj);
    const out = withDefaults('HubSpotIntegration', obj);
    expect(obj).toEqual(before);
    out.spec.objects[0]!.table = 'changed';
    expect(obj.spec.objects[0]!.table).toBe('contacts');
  });

  it('specWithDefaults defaults a bare spec', () => {
    expect(specWithDefaults('SyncFilter', syncFilter().spec)).toMatchObject({ appliesTo: 'Both', action: 'Include' });
    expect(specWithDefaults('HubSpotIntegration', integration().spec).hubspot.rateLimit?.dailyRequests).toBe(250000);
  });

  it('applyDefaults leaves values without a schema alone', () => {
    expect(applyDefaults({ type: 'object' }, { x: [1, { y: 2 }] })).toEqual({ x: [1, { y: 2 }] });
  });
});
