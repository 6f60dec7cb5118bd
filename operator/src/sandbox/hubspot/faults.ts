/**
 * Fault injection (`PUT /__sandbox/faults`) and request statistics (`GET /__sandbox/stats`).
 * Faults apply to HubSpot API routes only, never to the admin API.
 */
export interface FaultSettings {
  /** Fraction 0..1 of API requests answered with `errorStatus` instead of being served. */
  errorRate?: number;
  /** Status of injected errors (default 500). */
  errorStatus?: number;
  /** Added latency per API request, ms. */
  latencyMs?: number;
  /** Fraction 0..1 of API requests whose connection is destroyed without a response. */
  resetRate?: number;
}

export function parseFaults(body: Record<string, unknown>): { faults?: FaultSettings; expireTokens: boolean; problems: string[] } {
  const problems: string[] = [];
  const faults: FaultSettings = {};
  const rate = (k: 'errorRate' | 'resetRate') => {
    const v = body[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || v < 0 || v > 1) problems.push(`${k} must be a number from 0 to 1, got ${JSON.stringify(v)}`);
    else faults[k] = v;
  };
  rate('errorRate');
  rate('resetRate');
  if (body.errorStatus !== undefined) {
    const v = body.errorStatus;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 400 || v > 599) problems.push(`errorStatus must be an HTTP error status 400..599, got ${JSON.stringify(v)}`);
    else faults.errorStatus = v;
  }
  if (body.latencyMs !== undefined) {
    const v = body.latencyMs;
    if (typeof v !== 'number' || v < 0 || v > 600_000) problems.push(`latencyMs must be a number of milliseconds from 0 to 600000, got ${JSON.stringify(v)}`);
    else faults.latencyMs = v;
  }
  if (body.expireTokens !== undefined && typeof body.expireTokens !== 'boolean') problems.push('expireTokens must be a boolean');
  for (const k of Object.keys(body)) {
    if (!['errorRate', 'errorStatus', 'latencyMs', 'resetRate', 'expireTokens'].includes(k)) {
      problems.push(`unknown field ${k}; expected errorRate, errorStatus, latencyMs, resetRate, expireTokens`);
    }
  }
  return problems.length ? { expireTokens: false, problems } : { faults, expireTokens: body.expireTokens === true, problems };
}

export class Stats {
  total = 0;
  byStatus: Record<string, number> = {};
  byRoute: Record<string, number> = {};
  faults = { injectedErrors: 0, resets: 0, delayed: 0 };

  record(route: string, status: number): void {
    this.total++;
    const s = String(status);
    this.byStatus[s] = (this.byStatus[s] ?? 0) + 1;
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
  }

  recordReset(route: string): void {
    this.total++;
    this.faults.resets++;
    this.byRoute[route] = (this.byRoute[route] ?? 0) + 1;
  }

  reset(): void {
    this.total = 0;
    this.byStatus = {};
    this.byRoute = {};
    this.faults = { injectedErrors: 0, resets: 0, delayed: 0 };
  }
}
