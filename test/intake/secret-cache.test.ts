import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { type CachedSecretOptions, cachedSecretText } from '../../functions/shared/secret-cache.ts';

const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:intake-keys-AbCdEf';

/** A Secrets Manager stand-in answering GetSecretValue from `answers` in turn, recording the ids read. */
function secretsAnswering(...answers: (Partial<GetSecretValueCommandOutput> | Error)[]) {
  const reads: string[] = [];
  const secrets = {
    send: (async (command: GetSecretValueCommand) => {
      reads.push(command.input.SecretId ?? '');
      const answer = answers[Math.min(reads.length, answers.length) - 1];
      if (answer instanceof Error) throw answer;
      return answer;
    }) as unknown as CachedSecretOptions['secrets']['send'],
  };
  return { secrets, reads };
}

describe('cachedSecretText', () => {
  it.each([
    ['serves the first answer', 59_999, 1, 'first'],
    ['reads again', 60_000, 2, 'second'],
  ])('%s once %i ms have passed (max age 60 s)', async (_what, elapsedMs, expectedReads, expectedText) => {
    // Prepare
    let now = 1_000_000;
    const { secrets, reads } = secretsAnswering({ SecretString: 'first' }, { SecretString: 'second' });
    const read = cachedSecretText({ secrets, secretId: SECRET_ID, maxAgeMs: 60_000, clock: () => now });
    await read();

    // Act
    now += elapsedMs;
    const text = await read();

    // Assess
    expect(text).toBe(expectedText);
    expect(reads).toEqual(Array.from({ length: expectedReads }, () => SECRET_ID));
  });

  it('decodes a binary secret as UTF-8', async () => {
    // Prepare
    const { secrets } = secretsAnswering({ SecretBinary: new TextEncoder().encode('{"current":"k"}') });

    // Act
    const text = await cachedSecretText({ secrets, secretId: SECRET_ID, maxAgeMs: 60_000 })();

    // Assess
    expect(text).toBe('{"current":"k"}');
  });

  it('keeps no failed read: the next call reads again', async () => {
    // Prepare
    const denied = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    const { secrets, reads } = secretsAnswering(denied, { SecretString: 'after' });
    const read = cachedSecretText({ secrets, secretId: SECRET_ID, maxAgeMs: 60_000 });

    // Act
    const first = read();
    await expect(first).rejects.toThrow('throttled');
    const second = await read();

    // Assess
    expect(second).toBe('after');
    expect(reads).toHaveLength(2);
  });
});
