/**
 * HubSpot API sandbox: a local HTTP server that behaves like HubSpot's CRM API for what the
 * operator and @hubspot/api-client use, plus an admin API under /__sandbox. See
 * docs/sandboxes.md, part "HubSpot API sandbox", for what it emulates and where it differs
 * from HubSpot.
 */
import { HubSpotSandbox, type HubSpotSandboxOptions } from './sandbox.js';

export { HubSpotSandbox, type HubSpotSandboxOptions, type SandboxStats } from './sandbox.js';
export { HUBSPOT_LIMITS, GENEROUS_LIMITS, type Limits } from './limits.js';
export type { FaultSettings } from './faults.js';
export type { SeedOptions } from './seed.js';
export type { DeliverySettings, SubscriptionInput } from './webhooks.js';
export { MAX_VERSIONS } from './store.js';
export { RESTORE_WINDOW_MS } from './lifecycle.js';
export { MAX_HISTORY_BATCH_INPUTS } from './objects-api.js';
export { MAX_ASSOCIATION_BATCH_INPUTS } from './associations.js';
export { signV3 } from './webhooks.js';

/** Starts a sandbox listening on host:port (default 127.0.0.1, a free port). */
export async function startHubSpotSandbox(opts: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  const sandbox = new HubSpotSandbox(opts);
  await sandbox.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return sandbox;
}
