import { describe, expect, it } from 'vitest';
import {
  DatabricksApiError,
  DatabricksConnectionError,
  DatabricksInvalidStateError,
  DatabricksThrottledError,
  DatabricksTimeoutError,
} from '../../functions/databricks/errors.ts';
import { DEFAULT_RETRY_POLICY, isRetryable, retryDelay } from '../../functions/databricks/retry.ts';

const api = (status: number, errorCode = 'UNKNOWN') =>
  new DatabricksApiError({ status, errorCode, message: 'm', operation: 'op' });
const throttled = (retryAfterMs?: number) =>
  new DatabricksThrottledError({
    status: 429,
    errorCode: 'REQUEST_LIMIT_EXCEEDED',
    message: 'm',
    operation: 'op',
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

describe('isRetryable', () => {
  it.each([
    ['throttling', throttled(), true, true],
    [
      'a connection that could not be opened',
      new DatabricksConnectionError('op', 'ECONNREFUSED', false, null),
      true,
      true,
    ],
    ['a dropped connection', new DatabricksConnectionError('op', 'UND_ERR_SOCKET', true, null), true, false],
    ['an attempt timeout', new DatabricksTimeoutError('op', 100), true, false],
    ['a plain 500', api(500), true, false],
    ['a 502', api(502), true, false],
    ['a 504', api(504), true, false],
    ['a 501', api(501), false, false],
    ['a 400', api(400, 'INVALID_PARAMETER_VALUE'), false, false],
    [
      'INVALID_STATE',
      new DatabricksInvalidStateError({
        status: 400,
        errorCode: 'INVALID_STATE',
        message: 'm',
        operation: 'op',
      }),
      false,
      false,
    ],
  ])('decides %s (idempotent: %s, mutating: %s)', (_name, error, idempotent, mutating) => {
    // Act
    const verdict = [isRetryable(error, 'idempotent'), isRetryable(error, 'mutating')];

    // Assess
    expect(verdict).toEqual([idempotent, mutating]);
  });
});

describe('retryDelay', () => {
  it.each([
    [1, 0.999, 249],
    [3, 0.999, 999],
    [10, 0.999, 9_990],
    [20, 0.999, 9_990],
    [5, 0, 0],
  ])(
    'draws retry %i with full jitter under a capped exponential ceiling (random %s → %i ms)',
    (retry, random, expected) => {
      // Act
      const delay = retryDelay(retry, api(500), DEFAULT_RETRY_POLICY, () => random);

      // Assess
      expect(delay).toBe(expected);
    },
  );

  it.each([
    ['the Retry-After', throttled(4_000), 4_000],
    ['one second when Retry-After is missing', throttled(), 1_000],
  ])('never waits less than %s on throttling', (_name, error, floor) => {
    // Act
    const delay = retryDelay(1, error, DEFAULT_RETRY_POLICY, () => 0);

    // Assess
    expect(delay).toBe(floor);
  });
});
