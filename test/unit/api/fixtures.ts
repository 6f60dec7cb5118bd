/** Minimal valid resources for the API tests; each test changes one thing. */
import type { FieldMapping, HubSpotIntegration, SyncFilter } from '../../../operator/src/api/types.js';

export function integration(spec: Partial<HubSpotIntegration['spec']> = {}): HubSpotIntegration {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'HubSpotIntegration',
    metadata: { name: 'acme', namespace: 'crm' },
    spec: {
      hubspot: { auth: { privateAppToken: { secretRef: { name: 'acme-hubspot' } } } },
      target: { postgres: { connectionSecretRef: { name: 'acme-db' } } },
      objects: [{ type: 'contacts', table: 'contacts' }],
      ...spec,
    },
  };
}

export function fieldMapping(fields: FieldMapping['spec']['fields'] = [{ property: 'email', column: 'email' }]): FieldMapping {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'FieldMapping',
    metadata: { name: 'acme-contacts', namespace: 'crm' },
    spec: { integrationRef: { name: 'acme' }, objectType: 'contacts', fields },
  };
}

export function syncFilter(rules: SyncFilter['spec']['rules'] = [{ property: 'email', operator: 'IsNotEmpty' }]): SyncFilter {
  return {
    apiVersion: 'hubspot-operator.dev/v1alpha1',
    kind: 'SyncFilter',
    metadata: { name: 'acme-contacts', namespace: 'crm' },
    spec: { integrationRef: { name: 'acme' }, objectType: 'contacts', rules },
  };
}
