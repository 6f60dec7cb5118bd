/**
 * Credentials for HubSpot requests: a private-app token, or OAuth (refresh token → short-lived
 * access token, cached and refreshed ahead of expiry; refreshed once when HubSpot answers 401;
 * concurrent requests share one refresh). Tokens never appear in errors or logs: every message
 * built here names the failure, not the credential.
 */
import { abortError, parseErrorBody } from './errors.js';
import { HubSpotApiError, type HubSpotAuth } from './types.js';

export interface TokenSource {
  /** A token valid now (OAuth: refreshed first when close to expiry). */
  token(signal?: AbortSignal): Promise<string>;
  /**
   * HubSpot rejected `rejected` with 401. Returns true when a different token is now available
   * (the caller retries once), false when the credential cannot be renewed (private-app token).
   */
  renew(rejected: string, signal?: AbortSignal): Promise<boolean>;
  /** Stable material identifying the credential, hashed into the limiter's account key. */
  readonly identity: string;
  /** Current secret values, for redaction of anything that might echo them. */
  secrets(): string[];
}

export class PrivateAppToken implements TokenSource {
  private readonly value: string;
  readonly identity: string;

  constructor(token: string) {
    if (!token || typeof token !== 'string') {
      throw new HubSpotApiError('HubSpot private-app token is empty: set the key named by spec.hubspot.auth.privateAppToken.secretRef', 'Authentication', 0);
    }
    this.value = token;
    this.identity = `token:${token}`;
  }

  token(): Promise<string> {
    return Promise.resolve(this.value);
  }

  renew(): Promise<boolean> {
    return Promise.resolve(false);
  }

  secrets(): string[] {
    return [this.value];
  }
}

/** Sends the form-encoded token request; provided by the transport (timeouts, retries, observation). */
export type TokenRequester = (form: URLSearchParams) => Promise<{ status: number; text: string }>;

interface CachedToken {
  accessToken: string;
  /** Wall-clock ms after which the token is refreshed before use. */
  refreshAt: number;
}

/** Refresh this long before HubSpot's expiry (or at half the lifetime for short-lived tokens). */
export const REFRESH_AHEAD_MS = 5 * 60_000;

export class OAuthTokens implements TokenSource {
  private readonly clientId: string;
  private readonly clientSecret: string;
  private refreshToken: string;
  private readonly request: TokenRequester;
  private readonly now: () => number;
  private cached?: CachedToken;
  private inflight?: Promise<string>;
  readonly identity: string;

  constructor(auth: { clientId: string; clientSecret: string; refreshToken: string }, request: TokenRequester, now: () => number = Date.now) {
    const missing = (['clientId', 'clientSecret', 'refreshToken'] as const).filter((k) => !auth[k] || typeof auth[k] !== 'string');
    if (missing.length > 0) {
      throw new HubSpotApiError(
        `HubSpot OAuth credentials incomplete: missing ${missing.join(', ')} in the Secret named by spec.hubspot.auth.oauth.secretRef`,
        'Authentication',
        0,
      );
    }
    this.clientId = auth.clientId;
    this.clientSecret = auth.clientSecret;
    this.refreshToken = auth.refreshToken;
    this.request = request;
    this.now = now;
    this.identity = `oauth:${auth.clientId}:${auth.refreshToken}`;
  }

  token(signal?: AbortSignal): Promise<string> {
    const c = this.cached;
    if (c && this.now() < c.refreshAt) return Promise.resolve(c.accessToken);
    return withAbort(this.refresh(), signal);
  }

  async renew(rejected: string, signal?: AbortSignal): Promise<boolean> {
    // Another request already replaced the rejected token: use the new one.
    if (this.cached && this.cached.accessToken !== rejected) return true;
    if (this.cached?.accessToken === rejected) this.cached = undefined;
    await withAbort(this.refresh(), signal);
    return true;
  }

  secrets(): string[] {
    const s = [this.clientSecret, this.refreshToken];
    if (this.cached) s.push(this.cached.accessToken);
    return s;
  }

  /** One refresh at a time; every caller waiting for a token shares it. */
  private refresh(): Promise<string> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async doRefresh(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: this.clientId,
      client_secret: this.clientSecret,
      refresh_token: this.refreshToken,
    });
    const started = this.now();
    const { status, text } = await this.request(form);
    if (status < 200 || status >= 300) {
      const body = parseErrorBody(text);
      const code = typeof body.status === 'string' && body.status !== 'error' ? body.status : (body.category ?? body.errorType);
      const corr = body.correlationId ? ` (correlationId ${body.correlationId})` : '';
      const reason = status >= 500 ? 'HubSpot OAuth token endpoint failed' : 'HubSpot refused the OAuth refresh token';
      // Only the code and HubSpot's message, never the form we sent.
      const msg = typeof body.message === 'string' ? body.message.slice(0, 200) : `HTTP ${status}`;
      throw new HubSpotApiError(`${reason}: ${status}${code ? ` ${code}` : ''}: ${msg}${corr}`, status >= 500 ? 'Transient' : 'Authentication', status, body.correlationId);
    }
    let parsed: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new HubSpotApiError('HubSpot OAuth token endpoint returned a body that is not JSON', 'Transient', status);
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new HubSpotApiError('HubSpot OAuth token response has no access_token', 'Authentication', status);
    }
    // HubSpot may rotate the refresh token; keep using the newest one for this process.
    if (typeof parsed.refresh_token === 'string' && parsed.refresh_token) this.refreshToken = parsed.refresh_token;
    const lifetimeMs = (typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 1800) * 1000;
    const ahead = Math.min(REFRESH_AHEAD_MS, lifetimeMs / 2);
    this.cached = { accessToken: parsed.access_token, refreshAt: started + lifetimeMs - ahead };
    return parsed.access_token;
  }
}

/** Wait for a shared promise, but let one caller's abort stop only that caller. */
export function withAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export function createTokenSource(auth: HubSpotAuth, request: TokenRequester): TokenSource {
  if (auth.kind === 'privateAppToken') return new PrivateAppToken(auth.token);
  if (auth.kind === 'oauth') return new OAuthTokens(auth, request);
  throw new HubSpotApiError(`unknown HubSpot auth kind ${JSON.stringify((auth as { kind?: unknown }).kind)}: expected privateAppToken or oauth`, 'Authentication', 0);
}
