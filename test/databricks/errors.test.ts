import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DatabricksApiError,
  DatabricksInvalidStateError,
  DatabricksNotFoundError,
  DatabricksPermissionDeniedError,
  DatabricksThrottledError,
  DatabricksUnauthenticatedError,
  parseRetryAfter,
  toApiError,
} from '../../functions/databricks/errors.ts';

const example = (name: string): string =>
  readFileSync(new URL(`../fixtures/databricks/examples/${name}`, import.meta.url), 'utf8');

const json = (errorCode: string, message: string): string =>
  JSON.stringify({ error_code: errorCode, message });

describe('toApiError', () => {
  it.each([
    [
      '400 INVALID_PARAMETER_VALUE "Cluster … does not exist"',
      400,
      json('INVALID_PARAMETER_VALUE', 'Cluster 0923-x does not exist'),
      DatabricksNotFoundError,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      '400 "Run: … in job: … doesn\'t exist"',
      400,
      json('INVALID_PARAMETER_VALUE', "Run: 12 in job: 34 doesn't exist"),
      DatabricksNotFoundError,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'any other 400 INVALID_PARAMETER_VALUE',
      400,
      json('INVALID_PARAMETER_VALUE', 'page_size must be positive'),
      DatabricksApiError,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      '404 RESOURCE_DOES_NOT_EXIST with every detail type',
      404,
      example('api-error-with-all-detail-types-sdk-test.json'),
      DatabricksNotFoundError,
      'RESOURCE_DOES_NOT_EXIST',
    ],
    [
      '400 INVALID_STATE',
      400,
      example('api-error-invalid-state-cluster-start.json'),
      DatabricksInvalidStateError,
      'INVALID_STATE',
    ],
    [
      '400 REQUEST_LIMIT_EXCEEDED (the code wins over the status)',
      400,
      json('REQUEST_LIMIT_EXCEEDED', 'Too many node launches'),
      DatabricksThrottledError,
      'REQUEST_LIMIT_EXCEEDED',
    ],
    [
      '500 RESOURCE_EXHAUSTED',
      500,
      json('RESOURCE_EXHAUSTED', 'quota'),
      DatabricksThrottledError,
      'RESOURCE_EXHAUSTED',
    ],
    ['429 without a body', 429, '', DatabricksThrottledError, 'UNKNOWN'],
    [
      '503 TEMPORARILY_UNAVAILABLE',
      503,
      json('TEMPORARILY_UNAVAILABLE', 'try later'),
      DatabricksThrottledError,
      'TEMPORARILY_UNAVAILABLE',
    ],
    [
      '401',
      401,
      json('UNAUTHENTICATED', 'Invalid access token.'),
      DatabricksUnauthenticatedError,
      'UNAUTHENTICATED',
    ],
    [
      '403 "Invalid access token." (a rejected credential, as Databricks answers a wrong token)',
      403,
      '{"error_code": 403, "message": "Invalid access token."}',
      DatabricksUnauthenticatedError,
      '403',
    ],
    [
      '403 with a numeric error_code',
      403,
      '{"error_code": 403, "message": "Forbidden"}',
      DatabricksPermissionDeniedError,
      '403',
    ],
    [
      '500 with an HTML page',
      500,
      '<html><body><h2>Error</h2><pre>java.lang.IllegalStateException: worker env not ready</pre></body></html>',
      DatabricksApiError,
      'UNKNOWN',
    ],
    [
      'plain text CODE: message',
      400,
      'INVALID_STATE: Cluster 1 is in unexpected state Running.',
      DatabricksInvalidStateError,
      'INVALID_STATE',
    ],
    ['API 1.2 {error}', 500, '{"error": "java.lang.Exception: boom"}', DatabricksApiError, 'UNKNOWN'],
    [
      'SCIM {detail, status}',
      404,
      '{"detail": "User not found", "status": "404", "schemas": []}',
      DatabricksNotFoundError,
      'SCIM_404',
    ],
  ])('maps %s', (_name, status, body, expectedClass, errorCode) => {
    // Act
    const error = toApiError({ status, body, operation: 'GET /api/2.1/clusters/get' });

    // Assess
    expect(error).toBeInstanceOf(expectedClass);
    expect(error.constructor).toBe(expectedClass);
    expect(error.status).toBe(status);
    expect(error.errorCode).toBe(errorCode);
    expect(error.message).toContain('GET /api/2.1/clusters/get');
  });

  it('reads the state named by an INVALID_STATE message', () => {
    // Act
    const error = toApiError({
      status: 400,
      body: example('api-error-invalid-state-cluster-start.json'),
      operation: 'POST /api/2.1/clusters/start',
    });

    // Assess
    expect((error as DatabricksInvalidStateError).state).toBe('PENDING');
    expect(error.details[0]).toMatchObject({ reason: 'CM_API_ERROR_SOURCE_CALLER_ERROR' });
  });

  it.each([
    ['GET /api/2.1/clusters/get', 'Cluster 0923-x does not exist', DatabricksNotFoundError],
    ['GET /api/2.2/jobs/get', 'Job 12 does not exist.', DatabricksNotFoundError],
    ['GET /api/2.2/jobs/runs/get', "Run: 12 in job: 34 doesn't exist", DatabricksNotFoundError],
    ['POST /api/2.1/clusters/start', 'Cluster 0923-x does not exist', DatabricksApiError],
    ['POST /api/2.1/clusters/create', 'Instance pool 0101-pool does not exist', DatabricksApiError],
    ['POST /api/2.2/jobs/runs/repair', 'Task etl does not exist in run 12', DatabricksApiError],
  ])('takes "does not exist" from %s for %s only on a read', (operation, message, expectedClass) => {
    // Act
    const error = toApiError({ status: 400, body: json('INVALID_PARAMETER_VALUE', message), operation });

    // Assess
    expect(error.constructor).toBe(expectedClass);
  });

  it('takes the message of an HTML error from its <pre> block', () => {
    // Act
    const error = toApiError({
      status: 502,
      body: '<html><pre>Bad gateway upstream</pre></html>',
      operation: 'op',
    });

    // Assess
    expect(error.apiMessage).toBe('Bad gateway upstream');
  });

  it.each([
    ['a Retry-After header', '7', undefined, 7_000],
    ['a RetryInfo detail', null, example('api-error-with-all-detail-types-sdk-test.json'), 42_000],
    [
      'a header over a RetryInfo detail',
      '3',
      example('api-error-with-all-detail-types-sdk-test.json'),
      3_000,
    ],
  ])('honours %s', (_name, retryAfter, body, expected) => {
    // Act
    const error = toApiError({ status: 429, retryAfter, body: body ?? '', operation: 'op' });

    // Assess
    expect(error.retryAfterMs).toBe(expected);
  });

  it('clips a huge error message', () => {
    // Act
    const error = toApiError({ status: 500, body: 'x'.repeat(5_000), operation: 'op' });

    // Assess
    expect(error.apiMessage.length).toBeLessThanOrEqual(501);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['integer seconds', '3', 3_000],
    ['fractional seconds', '1.5', 1_500],
    ['an HTTP date', 'Thu, 15 Jan 2026 12:00:10 GMT', 10_000],
    ['a past HTTP date', 'Thu, 15 Jan 2026 11:00:00 GMT', 0],
    ['garbage', 'soon', undefined],
    ['nothing', null, undefined],
  ])('parses %s', (_name, value, expected) => {
    // Act
    const parsed = parseRetryAfter(value, Date.UTC(2026, 0, 15, 12, 0, 0));

    // Assess
    expect(parsed).toBe(expected);
  });
});
