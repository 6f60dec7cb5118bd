/**
 * Credentials: private-app tokens (registered through the admin API, never expiring unless
 * asked), OAuth apps with refresh tokens, and the access tokens the OAuth flow issues
 * (expiring after 1800 s, like HubSpot's). Scopes are checked per route.
 */
import { randomBytes } from 'node:crypto';
import { HubSpotHttpError } from './errors.js';

export interface TokenInfo {
  token: string;
  portalId: number;
  /** Granted scopes; undefined means every scope. */
  scopes?: Set<string>;
  /** Epoch ms; undefined for tokens that never expire (private-app tokens). */
  expiresAt?: number;
  kind: 'private-app' | 'oauth';
  clientId?: string;
  issuedAt: number;
}

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  portalId: number;
  scopes?: string[];
}

export const OAUTH_ACCESS_TOKEN_SECONDS = 1800;

/** Every scope the sandbox checks, for `GET /oauth/v1/access-tokens` of an all-scopes token. */
export const ALL_SCOPES = [
  'oauth',
  ...['contacts', 'companies', 'deals', 'custom'].flatMap((o) => [`crm.objects.${o}.read`, `crm.objects.${o}.write`, `crm.schemas.${o}.read`, `crm.schemas.${o}.write`]),
];

export class Credentials {
  private readonly tokens = new Map<string, TokenInfo>();
  private readonly apps = new Map<string, OAuthApp>(); // by clientId
  private readonly refreshTokens = new Map<string, OAuthApp>();
  readonly defaultPortalId: number;

  constructor(defaultPortalId: number) {
    this.defaultPortalId = defaultPortalId;
  }

  register(token: string, opts: { scopes?: string[]; expiresInSeconds?: number; portalId?: number } = {}): TokenInfo {
    const now = Date.now();
    const info: TokenInfo = {
      token,
      portalId: opts.portalId ?? this.defaultPortalId,
      ...(opts.scopes ? { scopes: new Set(opts.scopes) } : {}),
      ...(opts.expiresInSeconds !== undefined ? { expiresAt: now + opts.expiresInSeconds * 1000 } : {}),
      kind: 'private-app',
      issuedAt: now,
    };
    this.tokens.set(token, info);
    return info;
  }

  revoke(token: string): boolean {
    return this.tokens.delete(token);
  }

  lookup(token: string): TokenInfo | undefined {
    return this.tokens.get(token);
  }

  /** Expires every access token issued by the OAuth flow (fault injection). */
  expireOAuthTokens(): number {
    let n = 0;
    const past = Date.now() - 1000;
    for (const t of this.tokens.values()) {
      if (t.kind === 'oauth' || t.expiresAt !== undefined) {
        t.expiresAt = past;
        n++;
      }
    }
    return n;
  }

  /**
   * The token of a request, or HubSpot's 401. `Authorization: Bearer <token>` is the only form
   * accepted (HubSpot dropped `hapikey`).
   */
  authenticate(header: string | undefined): TokenInfo {
    const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) {
      throw new HubSpotHttpError(401, {
        message: 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        category: 'INVALID_AUTHENTICATION',
      });
    }
    const info = this.tokens.get(m[1]!);
    if (!info) {
      throw new HubSpotHttpError(401, {
        message: 'Authentication credentials not found. The token is unknown or was revoked.',
        category: 'INVALID_AUTHENTICATION',
      });
    }
    if (info.expiresAt !== undefined && info.expiresAt <= Date.now()) {
      const agoMin = Math.max(0, Math.round((Date.now() - info.expiresAt) / 60000));
      throw new HubSpotHttpError(401, {
        message: `The OAuth token used to make this call expired ${agoMin} minute(s) ago.`,
        category: 'EXPIRED_AUTHENTICATION',
        context: { expiredAt: [new Date(info.expiresAt).toISOString()] },
      });
    }
    return info;
  }

  /** Throws HubSpot's 403 MISSING_SCOPES unless the token has one of `anyOf`. */
  requireScope(info: TokenInfo, anyOf: string[]): void {
    if (!info.scopes || anyOf.length === 0) return;
    if (anyOf.some((s) => info.scopes!.has(s))) return;
    throw new HubSpotHttpError(403, {
      message: 'This app hasn\'t been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.',
      category: 'MISSING_SCOPES',
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: anyOf } }],
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    });
  }

  registerApp(clientId: string, clientSecret: string, opts: { portalId?: number; scopes?: string[] } = {}): OAuthApp {
    const previous = this.apps.get(clientId);
    if (previous) this.refreshTokens.delete(previous.refreshToken);
    const app: OAuthApp = {
      clientId,
      clientSecret,
      refreshToken: `na1-${randomBytes(4).toString('hex')}-${randomBytes(16).toString('hex')}`,
      portalId: opts.portalId ?? this.defaultPortalId,
      ...(opts.scopes ? { scopes: opts.scopes } : {}),
    };
    this.apps.set(clientId, app);
    this.refreshTokens.set(app.refreshToken, app);
    return app;
  }

  /**
   * The refresh_token grant of `POST /oauth/v1/token`. HubSpot answers bad input with 400 and
   * `{status: 'BAD_REFRESH_TOKEN' | 'BAD_CLIENT_ID' | ..., message}` (no category).
   */
  refresh(form: URLSearchParams): { access_token: string; refresh_token: string; expires_in: number; token_type: string; id_token?: string } {
    const fail = (status: string, message: string): never => {
      throw new HubSpotHttpError(400, { status, message });
    };
    const grant = form.get('grant_type');
    if (grant !== 'refresh_token') {
      fail('BAD_GRANT_TYPE', grant ? `grant_type ${grant} is not supported by the sandbox; use refresh_token` : 'missing grant_type');
    }
    const clientId = form.get('client_id');
    const app = clientId ? this.apps.get(clientId) : undefined;
    if (!app) fail('BAD_CLIENT_ID', 'missing or unknown client id');
    if (form.get('client_secret') !== app!.clientSecret) fail('BAD_CLIENT_SECRET', 'missing or invalid client secret');
    const refreshToken = form.get('refresh_token');
    if (!refreshToken || this.refreshTokens.get(refreshToken) !== app) fail('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
    const access = `CJ${randomBytes(24).toString('base64url')}`;
    const now = Date.now();
    this.tokens.set(access, {
      token: access,
      portalId: app!.portalId,
      ...(app!.scopes ? { scopes: new Set(app!.scopes) } : {}),
      expiresAt: now + OAUTH_ACCESS_TOKEN_SECONDS * 1000,
      kind: 'oauth',
      clientId: app!.clientId,
      issuedAt: now,
    });
    return { access_token: access, refresh_token: app!.refreshToken, expires_in: OAUTH_ACCESS_TOKEN_SECONDS, token_type: 'bearer' };
  }

  /** `GET /oauth/v1/access-tokens/{token}`: metadata of a token (HubSpot's shape). */
  describe(token: string): Record<string, unknown> | undefined {
    const info = this.tokens.get(token);
    if (!info) return undefined;
    const expiresIn = info.expiresAt === undefined ? 0 : Math.max(0, Math.round((info.expiresAt - Date.now()) / 1000));
    const scopes = info.scopes ? [...info.scopes] : ALL_SCOPES;
    return {
      token: info.kind === 'oauth' ? token : undefined,
      user: 'sandbox@example.com',
      hub_domain: `sandbox-${info.portalId}.hubspot.example`,
      scopes,
      scope_to_scope_group_pks: [],
      trial_scopes: [],
      trial_scope_to_scope_group_pks: [],
      hub_id: info.portalId,
      app_id: info.kind === 'oauth' ? 1000 : 0,
      expires_in: expiresIn,
      user_id: 1,
      token_type: 'access',
    };
  }

}
