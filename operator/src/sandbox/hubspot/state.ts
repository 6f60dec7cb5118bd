/**
 * Everything one sandbox instance holds, passed to the route modules so they do not import
 * each other. One portal's data; tokens may name other portals but all see the same data.
 */
import type { Associations } from './associations.js';
import type { Credentials } from './auth.js';
import type { RateLimiter } from './limits.js';
import type { ObjectTypes } from './object-types.js';
import type { Webhooks } from './webhooks.js';
import type { ChangeListener } from './writes.js';

export interface SandboxState {
  portalId: number;
  types: ObjectTypes;
  credentials: Credentials;
  limiter: RateLimiter;
  associations: Associations;
  webhooks: Webhooks;
  /** Called for every record change (feeds webhooks). */
  emit: ChangeListener;
  /** Search behaviour switches (admin API `PUT /__sandbox/search`). */
  settings: { strictSorts: boolean };
}

export const MAX_BATCH_INPUTS = 100;
