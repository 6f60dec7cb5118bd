/**
 * A good and a bad object for every CEL rule in crds/ (x-kubernetes-validations): used by the
 * unit test (the operator's own CEL evaluation) and by test/integration/kube/cel-rules.test.ts
 * (the Kubernetes API sandbox and the real kube-apiserver).
 */
import type { ResourceKind } from '../../../operator/src/api/types.js';
import { fieldMapping, integration, syncFilter } from './fixtures.js';

export interface RuleCase {
  kind: ResourceKind;
  /** Path of the schema node the rule is declared on, as listRules() names it. */
  at: string;
  message: RegExp;
  good: unknown;
  bad: unknown;
  badPath: string;
}

export const CASES: RuleCase[] = [
  {
    kind: 'HubSpotIntegration',
    at: 'spec.hubspot.auth',
    message: /exactly one of privateAppToken or oauth/,
    good: integration({ hubspot: { auth: { oauth: { secretRef: { name: 'acme-oauth' } } } } }),
    bad: integration({
      hubspot: { auth: { oauth: { secretRef: { name: 'a' } }, privateAppToken: { secretRef: { name: 'b' } } } },
    }),
    badPath: 'spec.hubspot.auth',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.hubspot.auth',
    message: /exactly one of privateAppToken or oauth/,
    good: integration(),
    bad: integration({ hubspot: { auth: {} } }),
    badPath: 'spec.hubspot.auth',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.target',
    message: /exactly one of postgres or mysql/,
    good: integration({ target: { mysql: { connectionSecretRef: { name: 'acme-db' }, database: 'crm' } } }),
    bad: integration({ target: { postgres: { connectionSecretRef: { name: 'a' } }, mysql: { connectionSecretRef: { name: 'b' }, database: 'crm' } } }),
    badPath: 'spec.target',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.target',
    message: /exactly one of postgres or mysql/,
    good: integration(),
    bad: integration({ target: {} }),
    badPath: 'spec.target',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.objects',
    message: /each object type needs its own table/,
    good: integration({ objects: [{ type: 'contacts', table: 'contacts' }, { type: 'companies', table: 'companies' }] }),
    bad: integration({ objects: [{ type: 'contacts', table: 'crm' }, { type: 'companies', table: 'crm' }] }),
    badPath: 'spec.objects',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.objects',
    message: /associations\[\]\.to must name another object type in spec.objects/,
    good: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies', column: 'company_id' }] }, { type: 'companies', table: 'companies' }] }),
    bad: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'deals', column: 'deal_id' }] }, { type: 'companies', table: 'companies' }] }),
    badPath: 'spec.objects',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.objects[].associations[]',
    message: /exactly one of column or table/,
    good: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies', table: 'contact_companies' }] }, { type: 'companies', table: 'companies' }] }),
    bad: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies', column: 'company_id', table: 'contact_companies' }] }, { type: 'companies', table: 'companies' }] }),
    badPath: 'spec.objects[0].associations[0]',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.objects[].associations[]',
    message: /exactly one of column or table/,
    good: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies', column: 'company_id' }] }, { type: 'companies', table: 'companies' }] }),
    bad: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies' }] }, { type: 'companies', table: 'companies' }] }),
    badPath: 'spec.objects[0].associations[0]',
  },
  {
    kind: 'HubSpotIntegration',
    at: 'spec.objects[].associations[]',
    message: /fromColumn and toColumn are only allowed with table/,
    good: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies', table: 'contact_companies', fromColumn: 'contact_id', toColumn: 'company_id' }] }, { type: 'companies', table: 'companies' }] }),
    bad: integration({ objects: [{ type: 'contacts', table: 'contacts', associations: [{ to: 'companies', column: 'company_id', toColumn: 'company_id' }] }, { type: 'companies', table: 'companies' }] }),
    badPath: 'spec.objects[0].associations[0]',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields',
    message: /each property may be mapped only once/,
    good: fieldMapping([{ property: 'email', column: 'email' }, { property: 'phone', column: 'phone' }]),
    bad: fieldMapping([{ property: 'email', column: 'email' }, { property: 'email', column: 'email2' }]),
    badPath: 'spec.fields',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields',
    message: /each column may be mapped only once/,
    good: fieldMapping([{ property: 'email', column: 'email' }, { property: 'hs_email', column: 'email_2' }]),
    bad: fieldMapping([{ property: 'email', column: 'email' }, { property: 'hs_email', column: 'email' }]),
    badPath: 'spec.fields',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields[]',
    message: /mode ForwardOnly needs order/,
    good: fieldMapping([{ property: 'lifecyclestage', column: 'stage', mode: 'ForwardOnly', order: ['lead', 'customer'] }]),
    bad: fieldMapping([{ property: 'lifecyclestage', column: 'stage', mode: 'ForwardOnly' }]),
    badPath: 'spec.fields[0]',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields[]',
    message: /mode ForwardOnly needs order/,
    good: fieldMapping([{ property: 'lifecyclestage', column: 'stage', mode: 'ForwardOnly', order: ['lead', 'customer'] }]),
    bad: fieldMapping([{ property: 'lifecyclestage', column: 'stage', mode: 'ForwardOnly', order: ['lead'] }]),
    badPath: 'spec.fields[0]',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields[]',
    message: /order is only used with mode ForwardOnly/,
    good: fieldMapping([{ property: 'lifecyclestage', column: 'stage' }]),
    bad: fieldMapping([{ property: 'lifecyclestage', column: 'stage', order: ['lead', 'customer'] }]),
    badPath: 'spec.fields[0]',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields[].transform',
    message: /exactly one transform/,
    good: fieldMapping([{ property: 'email', column: 'email', transform: { lowercase: true } }]),
    bad: fieldMapping([{ property: 'email', column: 'email', transform: { lowercase: true, trim: true } }]),
    badPath: 'spec.fields[0].transform',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields[].transform',
    message: /exactly one transform/,
    good: fieldMapping([{ property: 'country', column: 'country', transform: { countryCode: 'alpha2' } }]),
    bad: fieldMapping([{ property: 'country', column: 'country', transform: {} }]),
    badPath: 'spec.fields[0].transform',
  },
  {
    kind: 'FieldMapping',
    at: 'spec.fields[].transform.valueMap',
    message: /valueMap must be one-to-one/,
    good: fieldMapping([{ property: 'country', column: 'country', transform: { valueMap: { US: 'United States', DE: 'Germany' } } }]),
    bad: fieldMapping([{ property: 'country', column: 'country', transform: { valueMap: { US: 'United States', USA: 'United States' } } }]),
    badPath: 'spec.fields[0].transform.valueMap',
  },
  {
    kind: 'SyncFilter',
    at: 'spec.rules[]',
    message: /In and NotIn take values/,
    good: syncFilter([{ property: 'lifecyclestage', operator: 'In', values: ['lead', 'customer'] }]),
    bad: syncFilter([{ property: 'lifecyclestage', operator: 'NotIn', value: 'lead' }]),
    badPath: 'spec.rules[0]',
  },
  {
    kind: 'SyncFilter',
    at: 'spec.rules[]',
    message: /In and NotIn take values/,
    good: syncFilter([{ property: 'lifecyclestage', operator: 'NotIn', values: ['other'] }]),
    bad: syncFilter([{ property: 'lifecyclestage', operator: 'In', values: [] }]),
    badPath: 'spec.rules[0]',
  },
  {
    kind: 'SyncFilter',
    at: 'spec.rules[]',
    message: /IsEmpty and IsNotEmpty take neither value nor values/,
    good: syncFilter([{ property: 'phone', operator: 'IsEmpty' }]),
    bad: syncFilter([{ property: 'phone', operator: 'IsNotEmpty', value: 'x' }]),
    badPath: 'spec.rules[0]',
  },
  {
    kind: 'SyncFilter',
    at: 'spec.rules[]',
    message: /^operator EndsWith takes value \(a single string\), not values$/,
    good: syncFilter([{ property: 'email', operator: 'EndsWith', value: '@acme.com' }]),
    bad: syncFilter([{ property: 'email', operator: 'EndsWith' }]),
    badPath: 'spec.rules[0]',
  },
  {
    kind: 'SyncFilter',
    at: 'spec.rules[]',
    message: /^operator Equals takes value/,
    good: syncFilter([{ property: 'amount', operator: 'GreaterThan', value: '1000' }]),
    bad: syncFilter([{ property: 'amount', operator: 'Equals', values: ['1000'] }]),
    badPath: 'spec.rules[0]',
  },
];
