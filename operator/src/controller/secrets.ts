/**
 * The Secrets the operator needs, and only those (DESIGN §4): the watch of the namespaces'
 * Secrets keeps in its cache just the ones a HubSpotIntegration references (its HubSpot
 * credentials and its database connection), so Helm release Secrets, TLS keys and every other
 * team's credentials are neither kept in memory nor parsed further than the watch event.
 * A newly referenced Secret is read once by name (GET) and then followed by the watch; a change
 * of a referenced Secret re-enqueues the integrations that reference it.
 */
import type { Logger } from 'pino';
import { isStatus, type KubeClient, type ResourceType } from '../kube/client.js';
import { delayFor } from '../kube/backoff.js';
import { systemClock, type Clock } from '../kube/clock.js';
import { Informer, objectKey } from '../kube/informer.js';
import { referencedSecretNames, type IntegrationObject, type SecretObject } from './resolve.js';

export const SECRET: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };

export interface ReferencedSecretsOptions {
  client: KubeClient;
  namespaces?: string[];
  logger: Logger;
  clock?: Clock;
  watchTimeoutSeconds?: number;
  watchdogGraceMs?: number;
  /** A referenced Secret was added, changed or deleted: the integrations that reference it. */
  onChange: (integrationKeys: string[]) => void;
}

export class ReferencedSecrets {
  readonly informer: Informer<SecretObject>;
  /** Secret key ("ns/name") → keys of the integrations that reference it. */
  private readonly refs = new Map<string, Set<string>>();
  /** Integration key → the Secret keys it references. */
  private readonly byIntegration = new Map<string, string[]>();
  private readonly fetching = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly o: ReferencedSecretsOptions;

  constructor(o: ReferencedSecretsOptions) {
    this.o = o;
    this.informer = new Informer<SecretObject>({
      client: o.client,
      resource: SECRET,
      namespaces: o.namespaces,
      logger: o.logger,
      clock: o.clock,
      watchTimeoutSeconds: o.watchTimeoutSeconds,
      watchdogGraceMs: o.watchdogGraceMs,
      keep: (s) => this.refs.has(objectKey(s)),
    });
    this.informer.on((_event, secret) => {
      const users = this.refs.get(objectKey(secret));
      if (users?.size) o.onChange([...users]);
    });
  }

  start(): void {
    this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  get(namespace: string, name: string): SecretObject | undefined {
    return this.informer.get(namespace, name);
  }

  /** Secrets referenced right now (for tests and the scale benchmark). */
  get referenced(): number {
    return this.refs.size;
  }

  /** Follows an integration's references (call on every add/update/delete of an integration). */
  track(integration: IntegrationObject, deleted = false): void {
    const key = objectKey(integration);
    const ns = integration.metadata.namespace!;
    const next = deleted ? [] : referencedSecretNames(integration.spec ?? {}).map((n) => `${ns}/${n}`);
    const before = this.byIntegration.get(key) ?? [];
    if (before.length === next.length && before.every((k, i) => k === next[i])) return;
    if (next.length) this.byIntegration.set(key, next);
    else this.byIntegration.delete(key);
    let dropped = false;
    for (const s of before) {
      if (next.includes(s)) continue;
      const users = this.refs.get(s);
      users?.delete(key);
      if (users && users.size === 0) {
        this.refs.delete(s);
        dropped = true;
      }
    }
    for (const s of next) {
      let users = this.refs.get(s);
      if (!users) this.refs.set(s, (users = new Set()));
      users.add(key);
      if (!this.informer.get(...split(s))) void this.fetch(s);
    }
    if (dropped) this.informer.prune();
  }

  /**
   * Resolves when the first reads of the Secrets an integration references have answered, so a
   * reconcile does not report "Secret not found" for one that is merely being read.
   */
  async settled(integrationKey: string): Promise<void> {
    const pending = (this.byIntegration.get(integrationKey) ?? []).map((s) => this.fetching.get(s)).filter(Boolean);
    if (pending.length) await Promise.all(pending);
  }

  /** Reads a newly referenced Secret by name; the watch follows it from then on. */
  private fetch(secretKey: string, attempt = 0): Promise<void> {
    const inflight = this.fetching.get(secretKey);
    if (inflight) return inflight;
    if (!this.refs.has(secretKey) || this.stopped) return Promise.resolve();
    const p = this.read(secretKey, attempt);
    this.fetching.set(secretKey, p);
    return p;
  }

  private async read(secretKey: string, attempt: number): Promise<void> {
    const [namespace, name] = split(secretKey);
    try {
      const secret = await this.o.client.get<SecretObject>(SECRET, namespace, name);
      // offer() ignores it when the watch delivered a version meanwhile or the reference is gone.
      this.informer.offer(secret);
    } catch (err) {
      // 404: the integration shows "Secret not found"; the watch delivers it once it is created.
      if (!isStatus(err, 404)) {
        const retryInMs = delayFor(attempt, 500, 30_000);
        this.o.logger.warn({ namespace, secret: name, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reading a referenced Secret failed; retrying');
        (this.o.clock ?? systemClock).setTimer(() => {
          if (!this.informer.get(namespace, name)) void this.fetch(secretKey, attempt + 1);
        }, retryInMs);
      }
    } finally {
      this.fetching.delete(secretKey);
    }
  }
}

function split(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
