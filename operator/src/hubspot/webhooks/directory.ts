/**
 * Which integrations take webhook deliveries: those whose spec.hubspot.webhooks names a client
 * secret that resolves. Built on demand from read access to the informer caches (every replica
 * runs them, leader or not), so a changed Secret or integration takes effect on the next
 * delivery without a restart. No I/O of its own.
 */
import type { HubSpotIntegrationSpec, HubSpotIntegrationStatus } from '../../api/types.js';

export interface WebhookTarget {
  /** The integration's metadata.uid: the key its state (and the inbox rows) live under. */
  key: string;
  namespace: string;
  name: string;
  /** spec.hubspot.portalId, else the portal the credentials were found to belong to (status.portalId). */
  portalId: number | undefined;
  /**
   * spec.objects[].type by the object type an event names: contacts, companies, deals, or an
   * objectTypeId (`2-123`). A custom object named `p_name` is routable once its objectTypeId is
   * known (see DirectorySource.customObjectTypeId).
   */
  objectTypes: Map<string, string>;
  clientSecret: string;
}

export interface WebhookDirectory {
  targets(): WebhookTarget[];
}

interface IntegrationLike {
  metadata: { namespace?: string; name: string; uid?: string; deletionTimestamp?: string };
  spec: HubSpotIntegrationSpec;
  status?: HubSpotIntegrationStatus;
}
interface SecretLike {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface DirectorySource {
  integrations(): IntegrationLike[];
  secret(namespace: string, name: string): SecretLike | undefined;
  /** The objectTypeId of a custom object spec.objects names as p_name, when known (e.g. from the schema API). */
  customObjectTypeId?(namespace: string, integration: string, type: string): string | undefined;
}

function secretValue(s: SecretLike, key: string): string | undefined {
  const raw = s.data?.[key];
  if (raw !== undefined) return Buffer.from(raw, 'base64').toString('utf8');
  return s.stringData?.[key];
}

/** A problem preventing an integration with spec.hubspot.webhooks from receiving, for the Ready message / logs. */
export function webhookConfigProblem(src: Pick<DirectorySource, 'secret'>, namespace: string, spec: HubSpotIntegrationSpec): string | undefined {
  const ref = spec.hubspot?.webhooks?.clientSecretRef;
  if (!ref) return undefined;
  const secret = src.secret(namespace, ref.name);
  if (!secret) return `spec.hubspot.webhooks.clientSecretRef: Secret ${namespace}/${ref.name} not found`;
  const v = secretValue(secret, ref.key);
  if (v === undefined || v.trim() === '') return `spec.hubspot.webhooks.clientSecretRef: Secret ${namespace}/${ref.name} has no key "${ref.key}" (or it is empty)`;
  return undefined;
}

export function directoryFromCache(src: DirectorySource): WebhookDirectory {
  return {
    targets() {
      const out: WebhookTarget[] = [];
      for (const i of src.integrations()) {
        const ref = i.spec?.hubspot?.webhooks?.clientSecretRef;
        const namespace = i.metadata.namespace;
        if (!ref || !namespace || i.metadata.deletionTimestamp) continue;
        const secret = src.secret(namespace, ref.name);
        const clientSecret = secret ? secretValue(secret, ref.key)?.trim() : undefined;
        if (!clientSecret) continue;
        const objectTypes = new Map<string, string>();
        for (const o of i.spec.objects ?? []) {
          if (o.type.startsWith('p_')) {
            const id = src.customObjectTypeId?.(namespace, i.metadata.name, o.type);
            if (id) objectTypes.set(id, o.type);
          } else objectTypes.set(o.type, o.type);
        }
        out.push({
          key: i.metadata.uid ?? `${namespace}/${i.metadata.name}`,
          namespace,
          name: i.metadata.name,
          portalId: i.spec.hubspot.portalId ?? i.status?.portalId,
          objectTypes,
          clientSecret,
        });
      }
      return out;
    },
  };
}
