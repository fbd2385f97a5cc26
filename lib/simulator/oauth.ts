/**
 * OAuth M2M as a workspace host serves it: the public discovery document and `/oidc/v1/token`
 * (client credentials, by form or HTTP Basic), issuing tokens that expire in simulated time.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SimClock } from './clock.ts';
import { safeEqual } from './http.ts';
import type { Traffic } from './traffic.ts';

export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface OAuthAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export class OAuthIssuer {
  readonly clients: readonly OAuthClient[];
  private readonly ttlSeconds: number;
  private readonly clock: SimClock;
  private readonly traffic: Traffic;
  /** Issued tokens and when they expire (simulated epoch ms). */
  private readonly tokens = new Map<string, number>();

  constructor(options: {
    clients: readonly OAuthClient[];
    ttlSeconds: number;
    clock: SimClock;
    traffic: Traffic;
  }) {
    this.clients = options.clients;
    this.ttlSeconds = options.ttlSeconds;
    this.clock = options.clock;
    this.traffic = options.traffic;
  }

  /** `/oidc/.well-known/oauth-authorization-server`. */
  discovery(baseUrl: string): Record<string, unknown> {
    return {
      issuer: `${baseUrl}/oidc`,
      authorization_endpoint: `${baseUrl}/oidc/v1/authorize`,
      token_endpoint: `${baseUrl}/oidc/v1/token`,
      grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
      scopes_supported: ['all-apis', 'offline_access'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    };
  }

  /** `/oidc/v1/token`: a token for a known client's credentials. */
  issue(req: IncomingMessage, raw: string): OAuthAnswer {
    const form = new URLSearchParams(raw);
    const { clientId, clientSecret } = credentials(req, form);
    if (req.method !== 'POST')
      return { status: 405, body: { error: 'invalid_request', error_description: 'Use POST' } };
    if (form.get('grant_type') !== 'client_credentials') {
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported' },
      };
    }
    const client = this.clients.find((c) => c.clientId === clientId);
    if (!client || clientSecret === undefined || !safeEqual(clientSecret, client.clientSecret)) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Client authentication failed' },
      };
    }
    const accessToken = `sim-oauth-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, this.clock.now() + this.ttlSeconds * 1000);
    this.traffic.tokenIssued();
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.ttlSeconds,
        scope: form.get('scope') ?? 'all-apis',
      },
    };
  }

  /** Whether `presented` is a token this issuer gave out, and still valid. */
  verify(presented: string): 'ok' | 'expired' | 'invalid' {
    const expiresAt = this.tokens.get(presented);
    if (expiresAt === undefined) return 'invalid';
    return this.clock.now() < expiresAt ? 'ok' : 'expired';
  }
}

/** The client's id and secret: HTTP Basic wins over the form. */
function credentials(
  req: IncomingMessage,
  form: URLSearchParams,
): { clientId: string | undefined; clientSecret: string | undefined } {
  let clientId = form.get('client_id') ?? undefined;
  let clientSecret = form.get('client_secret') ?? undefined;
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
  }
  return { clientId, clientSecret };
}
