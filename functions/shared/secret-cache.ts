import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface CachedSecretOptions {
  readonly secrets: Pick<SecretsManagerClient, 'send'>;
  readonly secretId: string;
  /** How long an answer is served before the secret is read again. */
  readonly maxAgeMs: number;
  readonly clock?: () => number;
}

/**
 * A secret's text (a binary secret decoded as UTF-8), read from Secrets Manager at most once per
 * `maxAgeMs`: a rotated secret is picked up within that time, and a warm container reads it once a
 * minute, not once a request. A failed read is not cached: it throws, and the next call reads again.
 * (What Powertools Parameters' SecretsProvider did here, without its 8 KB in the intake's bundle.)
 */
export function cachedSecretText(options: CachedSecretOptions): () => Promise<string | undefined> {
  const clock = options.clock ?? Date.now;
  let cached: { readonly text: string | undefined; readonly until: number } | undefined;
  return async () => {
    const now = clock();
    if (cached !== undefined && cached.until > now) return cached.text;
    const answer = await options.secrets.send(new GetSecretValueCommand({ SecretId: options.secretId }));
    const text =
      answer.SecretString ??
      (answer.SecretBinary === undefined ? undefined : Buffer.from(answer.SecretBinary).toString('utf8'));
    cached = { text, until: now + options.maxAgeMs };
    return text;
  };
}
