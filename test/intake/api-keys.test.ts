import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { authenticate, parseApiKeys } from '../../functions/intake/auth.ts';

const key = (length: number): string => randomBytes(length).toString('hex').slice(0, length);
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('parseApiKeys', () => {
  it.each([
    ['a current key of 16 characters and no previous', { current: key(16), basic_username: 'databricks' }],
    ['an empty previous key', { current: key(40), previous: '', basic_username: 'databricks' }],
    [
      'a previous key of 16 characters',
      { current: key(40), previous: key(16), basic_username: 'databricks' },
    ],
  ])('accepts %s', (_name, secret) => {
    // Act
    const keys = parseApiKeys(JSON.stringify(secret));

    // Assess
    expect(keys.current).toBe(secret.current);
  });

  it.each([
    ['a current key of 15 characters', { current: key(15), basic_username: 'databricks' }, 'current'],
    [
      'a previous key of 15 characters',
      { current: key(40), previous: key(15), basic_username: 'databricks' },
      'previous',
    ],
    ['no basic_username', { current: key(40), previous: '' }, 'basic_username'],
    ['an empty basic_username', { current: key(40), basic_username: '' }, 'basic_username'],
  ])('refuses a secret with %s, naming the field', (_name, secret, field) => {
    // Act
    const parsing = () => parseApiKeys(JSON.stringify(secret));

    // Assess
    expect(parsing).toThrow(ConfigurationError);
    expect(parsing).toThrow(field);
  });
});

describe('authenticate', () => {
  const keys = parseApiKeys(JSON.stringify({ current: key(40), previous: '', basic_username: 'databricks' }));

  it.each([
    ['the key in x-api-key', { 'x-api-key': keys.current }, true],
    ['Basic with the generated username and the key', basic('databricks', keys.current), true],
    ['Basic with another username', basic('admin', keys.current), false],
    ['Basic with an empty username', basic('', keys.current), false],
    ['Basic with the username and a wrong key', basic('databricks', `${keys.current}x`), false],
    ['an empty previous key', { 'x-api-key': '' }, false],
  ])('%s: accepted %s', (_name, headers, accepted) => {
    // Act
    const checking = () => authenticate(headers, keys);

    // Assess
    if (accepted) expect(checking).not.toThrow();
    else expect(checking).toThrow('credential');
  });
});
