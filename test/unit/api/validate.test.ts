import { describe, expect, it } from 'vitest';
import { schemaFor } from '../../../operator/src/api/schemas.js';
import {
  formatValidationErrors,
  PATTERN_MESSAGES,
  validateFieldMapping,
  validateHubSpotIntegration,
  validateResource,
  validateSyncFilter,
} from '../../../operator/src/api/validate.js';
import { fieldMapping, integration, syncFilter } from './fixtures.js';

describe('validate<Kind>', () => {
  it('accepts minimal valid objects of each kind', () => {
    expect(validateHubSpotIntegration(integration())).toEqual({ valid: true, errors: [] });
    expect(validateFieldMapping(fieldMapping())).toEqual({ valid: true, errors: [] });
    expect(validateSyncFilter(syncFilter())).toEqual({ valid: true, errors: [] });
  });

  it('names the field and lists the allowed values of an enum', () => {
    const obj = integration({ objects: [{ type: 'contacts', table: 'contacts', direction: 'Both' as never }] });
    const result = validateHubSpotIntegration(obj);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      { path: 'spec.objects[0].direction', message: 'must be one of HubSpotToTarget, TargetToHubSpot, TwoWay', value: 'Both' },
    ]);
    expect(formatValidationErrors(result.errors)).toBe(
      'spec.objects[0].direction: must be one of HubSpotToTarget, TargetToHubSpot, TwoWay (got "Both")',
    );
  });

  it('reports missing required fields at their own path', () => {
    const obj = integration();
    delete (obj.spec as Partial<typeof obj.spec>).target;
    expect(validateHubSpotIntegration(obj).errors).toEqual([{ path: 'spec.target', message: 'is required' }]);
    expect(validateHubSpotIntegration({ spec: {} }).errors.map((e) => e.path)).toEqual([
      'spec.hubspot',
      'spec.target',
      'spec.objects',
    ]);
  });

  it('explains patterns in words (durations, identifiers, object types)', () => {
    const obj = integration({
      schedule: { interval: '5 minutes' },
      objects: [{ type: 'tickets', table: 'Contacts' }],
    });
    const byPath = Object.fromEntries(validateHubSpotIntegration(obj).errors.map((e) => [e.path, e.message]));
    expect(byPath).toEqual({
      'spec.schedule.interval': 'must be a duration such as 30s, 5m, 24h or 1h30m',
      'spec.objects[0].type': 'must be contacts, companies, deals, or a custom object as p_name or 2-123',
      'spec.objects[0].table': expect.stringMatching(/^must be a PostgreSQL identifier/),
    });
  });

  it('accepts custom object types by name and by ID', () => {
    for (const type of ['p_projects', '2-123456', 'companies', 'deals']) {
      expect(validateHubSpotIntegration(integration({ objects: [{ type, table: 't' }] })).valid, type).toBe(true);
    }
  });

  it('enforces numeric limits with the limit in the message', () => {
    const obj = integration({
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'x' } } }, rateLimit: { requestsPerTenSeconds: 500 } },
    });
    expect(validateHubSpotIntegration(obj).errors).toEqual([
      { path: 'spec.hubspot.rateLimit.requestsPerTenSeconds', message: 'must be at most 250', value: 500 },
    ]);
  });

  it('says what type was expected and what was given', () => {
    const obj = syncFilter([{ property: 'amount', operator: 'GreaterThan', value: 1000 as unknown as string }]);
    expect(validateSyncFilter(obj).errors).toEqual([
      { path: 'spec.rules[0].value', message: 'must be a string, not an integer', value: 1000 },
    ]);
  });

  it('reports unknown fields (typos) with the known ones', () => {
    const obj = integration({ objects: [{ type: 'contacts', table: 'contacts', tabel: 'x' } as never] });
    const [error] = validateHubSpotIntegration(obj).errors;
    expect(error!.path).toBe('spec.objects[0].tabel');
    expect(error!.message).toMatch(/^unknown field \(known fields: type, table, primaryKey, hubspotIdColumn, direction, match/);
  });

  it('allows any metadata (the apiserver validates it)', () => {
    const obj = { ...integration(), metadata: { name: 'x', labels: { a: 'b' }, annotations: { 'hubspot-operator.dev/sync-requested-at': 'now' } } };
    expect(validateHubSpotIntegration(obj).valid).toBe(true);
  });

  it('rejects duplicate list keys (list-type map) at the duplicate item', () => {
    const obj = integration({ objects: [{ type: 'contacts', table: 'a' }, { type: 'contacts', table: 'b' }] });
    expect(validateHubSpotIntegration(obj).errors).toEqual([
      { path: 'spec.objects[1]', message: 'duplicate entry: type "contacts" appears more than once' },
    ]);
    const fm = fieldMapping([{ property: 'stage', column: 'stage', mode: 'ForwardOnly', order: ['a', 'b', 'a'] }]);
    expect(validateFieldMapping(fm).errors).toEqual([
      { path: 'spec.fields[0].order[2]', message: 'duplicate entry: "a" appears more than once' },
    ]);
  });

  it('reports list items without their key once, as missing the key', () => {
    const obj = integration({ objects: [{ table: 'a' }, { table: 'b' }] as never });
    expect(validateHubSpotIntegration(obj).errors).toEqual([
      { path: 'spec.objects[0].type', message: 'is required' },
      { path: 'spec.objects[1].type', message: 'is required' },
    ]);
  });

  it('includes CEL rule failures with the path of the rule', () => {
    const fm = fieldMapping([{ property: 'lifecyclestage', column: 'stage', mode: 'ForwardOnly' }]);
    expect(validateFieldMapping(fm).errors).toEqual([
      { path: 'spec.fields[0]', message: 'mode ForwardOnly needs order: the values from first to last, at least two' },
    ]);
  });

  it('validates status too (condition shape, error categories)', () => {
    const obj = {
      ...integration(),
      status: {
        conditions: [{ type: 'Ready', status: 'Yes', reason: 'Synced', message: '', lastTransitionTime: 'yesterday' }],
        errors: [{ category: 'Oops', records: 1 }],
      },
    };
    const paths = validateHubSpotIntegration(obj).errors.map((e) => `${e.path}: ${e.message}`);
    expect(paths).toEqual([
      'status.conditions[0].status: must be one of True, False, Unknown',
      'status.conditions[0].lastTransitionTime: must be an RFC 3339 time such as 2026-11-23T10:00:00Z',
      'status.errors[0].category: must be one of Validation, Duplicate, Mapping, Authentication, Permission, NotFound, RateLimit, Target, Transient',
    ]);
  });

  it('never throws on garbage', () => {
    for (const junk of [null, 42, 'x', [], { spec: null }, { spec: { objects: 'all' } }, { spec: { hubspot: { auth: [] } } }]) {
      const result = validateResource('HubSpotIntegration', junk);
      expect(result.valid).toBe(false);
      expect(result.errors.length).toBeGreaterThan(0);
      for (const e of result.errors) expect(e.message).not.toMatch(/could not be evaluated/);
    }
  });

  it('has a readable message for every pattern used in crds/', () => {
    for (const kind of ['HubSpotIntegration', 'FieldMapping', 'SyncFilter'] as const) {
      const patterns: string[] = [];
      const collect = (s: ReturnType<typeof schemaFor>): void => {
        if (s.pattern) patterns.push(s.pattern);
        Object.values(s.properties ?? {}).forEach(collect);
        if (s.items) collect(s.items);
        if (typeof s.additionalProperties === 'object') collect(s.additionalProperties);
      };
      collect(schemaFor(kind));
      for (const p of patterns) expect(PATTERN_MESSAGES[p], `${kind}: ${p}`).toBeTruthy();
    }
  });
});
