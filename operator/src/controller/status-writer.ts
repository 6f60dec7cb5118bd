/**
 * Writes .status through the status subresource, only when it changed (so a steady state makes
 * no API calls and there are no update storms), scrubbing secret values from every string. On
 * 409 Conflict it re-reads the object and recomputes the status from the fresh copy.
 */
import type { Logger } from 'pino';
import { secretScrubber } from '../observability/redact.js';
import { isStatus, type KubeClient, type KubeObject, type ResourceType } from '../kube/client.js';
import { jsonEqual } from './status.js';

const MAX_ATTEMPTS = 5;

export type StatusOf<T> = T extends { status?: infer S } ? S : never;

export interface WriteResult<T extends { status?: unknown }> {
  obj: T;
  previous: StatusOf<T> | undefined;
  wrote: boolean;
}

export class StatusWriter {
  private readonly client: KubeClient;
  private readonly logger: Logger;
  writes = 0;

  constructor(client: KubeClient, logger: Logger) {
    this.client = client;
    this.logger = logger;
  }

  /**
   * Computes the desired status from `obj` and writes it if it differs from obj.status.
   * Returns the object as stored afterwards with the status it replaced (`previous`, from the
   * same version the write was based on, so transitions are judged once), or undefined when
   * the object is gone.
   */
  async write<T extends KubeObject & { status?: unknown }>(rt: ResourceType, obj: T, compute: (current: T) => StatusOf<T>): Promise<WriteResult<T> | undefined> {
    let current = obj;
    for (let attempt = 1; ; attempt++) {
      const desired = scrubStrings(compute(current));
      if (jsonEqual(current.status, desired)) return { obj: current, previous: current.status as StatusOf<T>, wrote: false };
      try {
        const written = await this.client.replaceStatus<T>(rt, current.metadata.namespace!, current.metadata.name, { ...current, status: desired });
        this.writes++;
        return { obj: written, previous: current.status as StatusOf<T>, wrote: true };
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        if (!isStatus(err, 409) || attempt >= MAX_ATTEMPTS) throw err;
        this.logger.debug({ namespace: current.metadata.namespace, name: current.metadata.name, attempt }, 'status write conflicted; re-reading');
        try {
          current = await this.client.get<T>(rt, current.metadata.namespace, current.metadata.name);
        } catch (getErr) {
          if (isStatus(getErr, 404)) return undefined;
          throw getErr;
        }
      }
    }
  }
}

/** A copy of a JSON value with secret values removed from every string. */
export function scrubStrings<V>(value: V): V {
  if (typeof value === 'string') return secretScrubber.scrub(value) as V;
  if (Array.isArray(value)) return value.map((v) => scrubStrings(v)) as V;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = scrubStrings(v);
    return out as V;
  }
  return value;
}
