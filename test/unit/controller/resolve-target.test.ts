/**
 * The controller reads the database URL from the Secret of whichever target is set
 * (spec.target.postgres | spec.target.mysql) and watches that Secret.
 */
import { describe, expect, it } from 'vitest';
import { referencedSecretNames, resolveIntegration, type CacheView, type IntegrationObject, type SecretObject } from '../../../operator/src/controller/resolve.js';
import type { HubSpotIntegrationSpec } from '../../../operator/src/api/types.js';

function cache(secrets: Record<string, Record<string, string>>): CacheView {
  return {
    integration: () => undefined,
    fieldMappings: () => [],
    syncFilters: () => [],
    secret: (namespace, name): SecretObject | undefined =>
      secrets[name] ? { apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name }, stringData: secrets[name] } : undefined,
  };
}

function integration(target: HubSpotIntegrationSpec['target']): IntegrationObject {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { namespace: 'crm', name: 'acme', uid: 'uid-1', generation: 1 },
    spec: {
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'hs', key: 'token' } } } },
      target,
      objects: [{ type: 'contacts', table: 'contacts' }],
    } as HubSpotIntegrationSpec,
  };
}

describe('resolving spec.target', () => {
  it('a mysql target takes its URL from its own Secret, which is watched', () => {
    const obj = integration({ mysql: { connectionSecretRef: { name: 'acme-mysql' }, database: 'crm' } });
    const r = resolveIntegration(cache({ hs: { token: 't' }, 'acme-mysql': { url: 'mysql://u:p@db:3306/crm' } }), obj);
    expect(r.issues).toEqual([]);
    expect(r.resolved?.credentials.databaseUrl).toBe('mysql://u:p@db:3306/crm');
    expect(referencedSecretNames(obj.spec)).toEqual(['hs', 'acme-mysql']);
  });

  it('a missing Secret names the mysql field', () => {
    const r = resolveIntegration(cache({ hs: { token: 't' } }), integration({ mysql: { connectionSecretRef: { name: 'nope' }, database: 'crm' } }));
    expect(r.resolved).toBeUndefined();
    expect(r.issues).toEqual(['spec.target.mysql.connectionSecretRef: Secret "nope" not found in namespace crm']);
  });

  it('both or neither target (what the CEL rule rejects at admission) is an issue, not a crash', () => {
    const both = resolveIntegration(
      cache({ hs: { token: 't' }, db: { url: 'mysql://x' } }),
      integration({ postgres: { connectionSecretRef: { name: 'db' } }, mysql: { connectionSecretRef: { name: 'db' }, database: 'crm' } }),
    );
    expect(both.issues).toContain('spec.target: set exactly one of postgres or mysql');
    const neither = resolveIntegration(cache({ hs: { token: 't' } }), integration({}));
    expect(neither.issues).toContain('spec.target: set exactly one of postgres or mysql');
    expect(neither.resolved).toBeUndefined();
  });
});
