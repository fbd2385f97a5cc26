/**
 * Caller authentication for the webhook: the seed's `x-api-key` header, or HTTP Basic (the only auth a
 * Databricks notification destination can send: username + password, the password being an API key).
 * Keys live in a Secrets Manager secret `{"current": "...", "previous": "...", "basic_username": "..."}`;
 * both current and previous are accepted so keys can be rotated without dropping deliveries.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from '../core/errors.ts';
import * as z from '../core/zod.ts';

/** Shortest key accepted, current or previous: a short key is a guessable key. */
export const MIN_API_KEY_LENGTH = 16;

export const ApiKeysSecretSchema = z.looseObject({
  current: z
    .string()
    .check(
      z.minLength(
        MIN_API_KEY_LENGTH,
        `the current API key must be at least ${MIN_API_KEY_LENGTH} characters`,
      ),
    ),
  /** Empty outside a rotation. */
  previous: z.optional(
    z.union([
      z.literal(''),
      z
        .string()
        .check(
          z.minLength(
            MIN_API_KEY_LENGTH,
            `the previous API key must be empty or at least ${MIN_API_KEY_LENGTH} characters`,
          ),
        ),
    ]),
  ),
  /** The username HTTP Basic callers must send with the key (the stack generates `databricks`). */
  basic_username: z.string().check(z.minLength(1, 'must name the username HTTP Basic callers send')),
});
export type ApiKeys = z.infer<typeof ApiKeysSecretSchema>;

export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

/** Compares in constant time whatever the lengths: both sides are hashed first. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export function parseApiKeys(secretString: string | undefined): ApiKeys {
  if (secretString === undefined) throw new ConfigurationError('the API key secret has no string value');
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw new ConfigurationError('the API key secret is not JSON ({"current": "...", "previous": "..."})');
  }
  const parsed = ApiKeysSecretSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigurationError(
      `the API key secret is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

type Headers = Readonly<Record<string, string | undefined>>;

/** The credential a request presents, or undefined. Header names must already be lower-case. */
export function presentedCredential(headers: Headers): { key: string; username?: string } | undefined {
  const apiKey = headers['x-api-key'];
  if (apiKey !== undefined && apiKey !== '') return { key: apiKey };
  const authorization = headers.authorization;
  if (authorization === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), key: decoded.slice(colon + 1) };
}

/** Throws UnauthorizedError unless the request carries the current or the previous key. */
export function authenticate(headers: Headers, keys: ApiKeys): void {
  const credential = presentedCredential(headers);
  if (credential === undefined) throw new UnauthorizedError('no credential');
  const candidates = [keys.current, keys.previous].filter((k): k is string => k !== undefined && k !== '');
  // Compare against every candidate so timing does not reveal which one matched.
  let keyMatches = false;
  for (const candidate of candidates) keyMatches = safeEqual(credential.key, candidate) || keyMatches;
  const userMatches =
    credential.username === undefined ? true : safeEqual(credential.username, keys.basic_username);
  if (!keyMatches || !userMatches) throw new UnauthorizedError('wrong credential');
}
