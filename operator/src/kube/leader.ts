/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a candidate takes
 * the lease when it is free or when its record has not changed for leaseDuration as observed on
 * this process's own clock (no trust in other clocks); the leader renews every retryPeriod and
 * steps down when it could not renew within renewDeadline; updates carry resourceVersion, so
 * two candidates racing get one 409 and one winner. On shutdown the leader releases the lease
 * (empty holder) so a standby takes over at once instead of waiting for expiry.
 */
import type { Logger } from 'pino';
import { sleep, systemClock, type Clock } from './clock.js';
import { isStatus, type KubeClient, type KubeObject, type ResourceType } from './client.js';

export const LEASE: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' };

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  clock?: Clock;
  onStartedLeading: () => void;
  /** Called when leadership is lost or released; the caller must stop all sync work. */
  onStoppedLeading: () => void;
  onStatus?: (leader: boolean) => void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly o: Required<Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectionOptions;
  private readonly clock: Clock;
  private leading = false;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenew = 0;
  private readonly stopped = new AbortController();
  private loopDone?: Promise<void>;

  constructor(opts: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    this.clock = opts.clock ?? systemClock;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.o.onStatus?.(false);
    this.loopDone = this.loop();
  }

  /** Stops campaigning; if leading, releases the lease and calls onStoppedLeading. */
  async stop(): Promise<void> {
    this.stopped.abort();
    await this.loopDone;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((err) => this.o.logger.warn({ err: String(err) }, 'could not release the leader lease'));
    }
  }

  private async loop(): Promise<void> {
    const signal = this.stopped.signal;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.o.logger.warn({ err: err instanceof Error ? err.message : String(err), lease: this.o.name }, 'leader election: lease update failed');
      }
      if (signal.aborted) break;
      const now = this.clock.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) this.setLeading(true);
      } else if (this.leading && now - this.lastRenew > this.o.renewDeadlineMs) {
        this.o.logger.warn({ lease: this.o.name }, 'leader election: could not renew within the deadline; stepping down');
        this.setLeading(false);
      }
      await sleep(this.clock, this.o.retryPeriodMs, signal);
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.o.onStatus?.(leading);
    this.o.logger.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, leading ? 'became the leader' : 'stopped leading');
    if (leading) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const now = this.clock.now();
    const durationSeconds = Math.max(1, Math.round(this.o.leaseDurationMs / 1000));
    let lease: Lease;
    try {
      lease = await client.get<Lease>(LEASE, namespace, name);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      try {
        await client.create(LEASE, namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (createErr) {
        if (isStatus(createErr, 409)) return false;
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && now - this.observedAt < leaseMs) return false;

    const takingOver = holder !== identity;
    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: takingOver ? microTime(now) : (spec.acquireTime ?? microTime(now)),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
      },
    };
    try {
      await client.replace(LEASE, namespace, name, next);
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { client, namespace, name, identity } = this.o;
    const lease = await client.get<Lease>(LEASE, namespace, name);
    if (lease.spec?.holderIdentity !== identity) return;
    await client.replace(LEASE, namespace, name, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.clock.now()) },
    });
  }
}
