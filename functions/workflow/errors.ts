/**
 * Errors a task handler throws to the state machine. Step Functions matches `Retry` and `Catch` on the
 * error's name, so the names here are part of the ASL contract (`state-machines/recovery.asl.json`).
 */

import { describeError } from '../core/errors.ts';
import { TicketConflictError } from '../core/ticket.ts';
import {
  DatabricksApiError,
  DatabricksConnectionError,
  DatabricksDeadlineExceededError,
  DatabricksThrottledError,
  DatabricksTimeoutError,
} from '../databricks/errors.ts';

/**
 * A failure worth retrying as it is: Databricks throttled or failed (429, 5xx, dropped connection)
 * after the client's own retries, or DynamoDB was contended or throttled. The state machine retries
 * the task with backoff; every task re-reads the cluster before acting, so a retry is safe.
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** The task event is not what the state machine sends: a defect, never retried. */
export class TaskInputError extends Error {
  override readonly name = 'TaskInputError';
}

const TRANSIENT_AWS_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  // Breaker writes lost to concurrent writers; a later try usually wins.
  'BreakerContentionError',
]);

/** Whether an error is one a plain retry can cure. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError || error instanceof TicketConflictError) return true;
  if (
    error instanceof DatabricksThrottledError ||
    error instanceof DatabricksConnectionError ||
    error instanceof DatabricksTimeoutError ||
    error instanceof DatabricksDeadlineExceededError
  ) {
    return true;
  }
  if (error instanceof DatabricksApiError) return error.status >= 500 && error.status !== 501;
  if (!(error instanceof Error)) return false;
  const aws = error as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    TRANSIENT_AWS_ERRORS.has(error.name) ||
    aws.$retryable !== undefined ||
    (aws.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** Maps a transient failure to a TransientError (keeping the original as its cause); others pass through. */
export function asTaskError(error: unknown): unknown {
  if (error instanceof TransientError || !isTransient(error)) return error;
  return new TransientError(describeError(error), { cause: error });
}
