/**
 * How the client authenticates (api-facts §7): a personal access token, or OAuth machine-to-machine
 * (client credentials at `<host>/oidc/v1/token`, HTTP Basic, scope `all-apis`), the token cached
 * until shortly before it expires and refreshed by a single request however many calls wait on it.
 * Credentials never appear in errors or logs.
 */

import { parseJson } from '../core/json.ts';
import * as z from '../core/zod.ts';
import { DatabricksCredentialsError, DatabricksUnauthenticatedError, toApiError } from './errors.ts';
import type { Clock } from './retry.ts';

export interface AuthContext {
  readonly signal?: AbortSignal;
}

/**
 * Produces the `Authorization` header value; `invalidate` drops whatever is cached after a rejected
 * credential (a 401, or the 403 "Invalid access token." Databricks answers a wrong token with).
 */
export interface AuthProvider {
  authorization(context: AuthContext): Promise<string>;
  /**
   * Called after a 401, with the `Authorization` value the rejected request carried when the caller
   * knows it. Only the credential that was rejected is dropped: one replaced since (another request's
   * 401 already refreshed it) or not yet handed to any request cannot be the one rejected and is
   * kept, so that many requests rejected together cause one refresh, not one each.
   */
  invalidate(rejected?: string): void;
}

export function patAuth(token: string): AuthProvider {
  if (token.trim() === '') throw new DatabricksCredentialsError('the personal access token is empty', 'auth');
  const header = `Bearer ${token}`;
  return { authorization: async () => header, invalidate: () => undefined };
}

export interface OAuthM2MOptions {
  /** Workspace URL, e.g. `https://dbc-1234.cloud.databricks.com`. */
  readonly host: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** @default 'all-apis' */
  readonly scope?: string;
  /** Refresh this long before `expires_in` runs out. @default 60_000 */
  readonly refreshMarginMs?: number;
  readonly fetch?: typeof fetch;
  readonly clock?: Pick<Clock, 'now'>;
}

const TokenResponseSchema = z.looseObject({
  access_token: z.string().check(z.minLength(1)),
  token_type: z.optional(z.string()),
  expires_in: z.optional(z.number().check(z.positive())),
});

/** A token request that hangs longer than this fails (and is retried by the calling request). */
const TOKEN_TIMEOUT_MS = 30_000;

/** Databricks documents one hour; assumed when `expires_in` is missing. */
const DEFAULT_TOKEN_LIFETIME_S = 3600;

/** OAuth M2M: client credentials, cached token, single-flight refresh. */
export function oauthM2MAuth(options: OAuthM2MOptions): AuthProvider {
  const doFetch = options.fetch ?? globalThis.fetch;
  const clock = options.clock;
  const now = (): number => (clock ? clock.now() : Date.now());
  const margin = options.refreshMarginMs ?? 60_000;
  const url = new URL('/oidc/v1/token', options.host).toString();
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64');
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: options.scope ?? 'all-apis' });
  let cached: { header: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  // The last header handed to a request: the only one a 401 can invalidate.
  let handedOut: string | undefined;

  async function fetchToken(signal: AbortSignal | undefined): Promise<string> {
    const requestedAt = now();
    const response = await doFetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: body.toString(),
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(TOKEN_TIMEOUT_MS)])
        : AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
    const parsed = await tokenOf(response);
    const lifetimeMs = (parsed.expires_in ?? DEFAULT_TOKEN_LIFETIME_S) * 1000;
    // Never cache for less than half the lifetime, even if the margin is larger than it.
    const refreshAt = requestedAt + Math.max(lifetimeMs - margin, lifetimeMs / 2);
    const header = `Bearer ${parsed.access_token}`;
    cached = { header, refreshAt };
    return header;
  }

  const current = async (context: AuthContext): Promise<string> => {
    if (cached !== undefined && now() < cached.refreshAt) return cached.header;
    if (inFlight === undefined) {
      // The refresh is shared by every concurrent caller; it is not tied to one caller's signal
      // so that one caller giving up does not fail the others.
      inFlight = fetchToken(undefined).finally(() => {
        inFlight = undefined;
      });
    }
    return context.signal ? raceAbort(inFlight, context.signal) : inFlight;
  };

  return {
    async authorization(context) {
      const header = await current(context);
      handedOut = header;
      return header;
    },
    invalidate(rejected) {
      if (!isCurrent(rejected, handedOut)) return;
      handedOut = undefined;
      if (cached?.header === rejected || rejected === undefined) cached = undefined;
    },
  };
}

/** The token endpoint's answer, or the error it amounts to. */
async function tokenOf(response: Response): Promise<z.infer<typeof TokenResponseSchema>> {
  const text = await response.text();
  if (!response.ok) {
    throw toApiError({
      status: response.status,
      statusText: response.statusText,
      retryAfter: response.headers.get('retry-after'),
      body: text,
      operation: 'POST /oidc/v1/token',
    });
  }
  try {
    return TokenResponseSchema.parse(parseJson(text));
  } catch {
    throw new DatabricksUnauthenticatedError({
      status: response.status,
      errorCode: 'INVALID_TOKEN_RESPONSE',
      message: 'the token endpoint answered without an access_token',
      operation: 'POST /oidc/v1/token',
    });
  }
}

/**
 * Whether a 401 is about the credential now in use: the header the request carried if the caller
 * says, else whichever was handed out last (nothing handed out since the last invalidation means the
 * 401 is about a credential already dropped).
 */
function isCurrent(rejected: string | undefined, handedOut: string | undefined): boolean {
  return handedOut !== undefined && (rejected === undefined || rejected === handedOut);
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The JSON of a workspace's credentials secret. */
export const WorkspaceCredentialsSchema = z.union([
  z.object({ token: z.string().check(z.minLength(1)) }),
  z.object({ client_id: z.string().check(z.minLength(1)), client_secret: z.string().check(z.minLength(1)) }),
]);
export type WorkspaceCredentials = z.infer<typeof WorkspaceCredentialsSchema>;

/**
 * Parses a secret string into credentials. Error messages name what is wrong, never the value.
 */
export function parseWorkspaceCredentials(
  secretString: string | undefined,
  secretName: string,
): WorkspaceCredentials {
  if (secretString === undefined) {
    throw new DatabricksCredentialsError(`secret ${secretName} has no SecretString`, 'auth');
  }
  let json: unknown;
  try {
    json = parseJson(secretString);
  } catch {
    throw new DatabricksCredentialsError(`secret ${secretName} is not JSON`, 'auth');
  }
  const result = WorkspaceCredentialsSchema.safeParse(json);
  if (!result.success) {
    throw new DatabricksCredentialsError(
      `secret ${secretName} must hold {"token"} or {"client_id", "client_secret"} as non-empty strings`,
      'auth',
    );
  }
  return result.data;
}

export interface AuthFromCredentialsOptions {
  readonly host: string;
  readonly fetch?: typeof fetch;
  readonly clock?: Pick<Clock, 'now'>;
  readonly refreshMarginMs?: number;
}

export function authFromCredentials(
  credentials: WorkspaceCredentials,
  options: AuthFromCredentialsOptions,
): AuthProvider {
  if ('token' in credentials) return patAuth(credentials.token);
  return oauthM2MAuth({
    host: options.host,
    clientId: credentials.client_id,
    clientSecret: credentials.client_secret,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.refreshMarginMs === undefined ? {} : { refreshMarginMs: options.refreshMarginMs }),
  });
}

/**
 * An AuthProvider whose credentials are read lazily (from Secrets Manager) and re-read after a
 * 401, so that a rotated secret is picked up without a cold start.
 */
export function lazyAuth(load: () => Promise<AuthProvider>): AuthProvider {
  let inner: Promise<AuthProvider> | undefined;
  // The generation of `inner` (one per load) and the last header it handed out.
  let generation = 0;
  let handedOut: string | undefined;
  return {
    async authorization(context) {
      if (inner === undefined) {
        const loading = load();
        inner = loading;
        generation++;
        handedOut = undefined;
        loading.catch(() => {
          if (inner === loading) inner = undefined;
        });
      }
      const mine = generation;
      const provider = await (context.signal ? raceAbort(inner, context.signal) : inner);
      const header = await provider.authorization(context);
      // A header of a provider replaced meanwhile is not the current credential.
      if (mine === generation) handedOut = header;
      return header;
    },
    invalidate(rejected) {
      if (!isCurrent(rejected, handedOut)) return;
      inner = undefined;
      handedOut = undefined;
    },
  };
}
