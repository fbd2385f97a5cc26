import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.ts';
import { resolveWorkspace } from '../../functions/intake/webhook.ts';

const TWO = ['prod', 'staging'];
const ALIASES = { '1111111111111111': 'prod', '2222222222222222': 'staging' };

describe('resolveWorkspace', () => {
  it.each([
    ['a configured id in the payload', 'prod', undefined, TWO, ALIASES, 'prod'],
    ["Databricks' numeric id, mapped", '2222222222222222', undefined, TWO, ALIASES, 'staging'],
    ['the path when the payload has no id', undefined, 'staging', TWO, ALIASES, 'staging'],
    ['the path over an unmapped numeric id', '9999999999999999', 'prod', TWO, ALIASES, 'prod'],
    ['the path when the payload id maps to it', '1111111111111111', 'prod', TWO, ALIASES, 'prod'],
    ['the only workspace when nothing names one', undefined, undefined, ['prod'], {}, 'prod'],
    [
      'the only workspace, which declares no Databricks id, for any payload id',
      '5555',
      undefined,
      ['prod'],
      {},
      'prod',
    ],
  ])('resolves %s', (_name, payload, path, configured, aliases, expected) => {
    // Act
    const resolved = resolveWorkspace(payload, path, configured, aliases);

    // Assess
    expect(resolved).toBe(expected);
  });

  it.each([
    [
      'an unmapped numeric id with several workspaces',
      '9999',
      undefined,
      TWO,
      ALIASES,
      "'9999' is not configured",
    ],
    [
      'an unmapped id when the only workspace declares its own',
      '9999',
      undefined,
      ['prod'],
      { '1111111111111111': 'prod' },
      "'9999' is not configured",
    ],
    [
      'a payload id that is another workspace than the path',
      '1111111111111111',
      'staging',
      TWO,
      ALIASES,
      'does not match',
    ],
    [
      'a path workspace that is not configured',
      undefined,
      'dev',
      TWO,
      ALIASES,
      "'dev' in the path is not configured",
    ],
    [
      'no workspace at all with several configured',
      undefined,
      undefined,
      TWO,
      ALIASES,
      'several workspaces are configured',
    ],
  ])('rejects %s naming the problem', (_name, payload, path, configured, aliases, message) => {
    // Act / Assess
    expect(() => resolveWorkspace(payload, path, configured, aliases)).toThrow(ValidationError);
    expect(() => resolveWorkspace(payload, path, configured, aliases)).toThrow(message);
  });
});
