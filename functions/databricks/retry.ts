/**
 * When the client retries, and how long it waits. The policy (documented in docs/simulator.md and
 * the client's TypeDoc):
 *
 * - Always retried, whatever the call: throttling (429, 503, `REQUEST_LIMIT_EXCEEDED` /
 *   `RESOURCE_EXHAUSTED` on any status) and connections that could not be opened. The server
 *   provably did not act on the request.
 * - Retried only for idempotent calls (reads, `events`, and `run-now`, which always carries an
 *   `idempotency_token`): other 5xx (500, 502, 504), dropped connections and attempt timeouts. The
 *   server may have acted on the request; repeating a start/restart/resize/edit/repair blindly
 *   could restart a cluster twice. Like the Go SDK, a plain 500 on a mutating call is surfaced so
 *   the workflow re-reads the cluster's state before deciding again.
 * - Waits are capped exponential backoff with full jitter, never shorter than `Retry-After`.
 * - Everything runs under an absolute deadline: a retry whose wait would end past it is not made.
 */
import {
  DatabricksApiError,
  DatabricksConnectionError,
  DatabricksThrottledError,
  DatabricksTimeoutError,
} from './errors.ts';

/** Time as the client sees it; injected in tests. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RetryPolicy {
  /** Attempts in total, the first included. @default 8 */
  readonly maxAttempts: number;
  /** Backoff ceiling of the first retry; doubles each retry. @default 250 */
  readonly baseDelayMs: number;
  /** Cap of any single backoff. @default 10_000 */
  readonly maxDelayMs: number;
  /** Wait after a throttling answer that carried no `Retry-After` (the Python SDK's 1 s). @default 1_000 */
  readonly defaultThrottleDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  defaultThrottleDelayMs: 1_000,
};

/** Whether the request is safe to send twice. */
export type Idempotency = 'idempotent' | 'mutating';

export function isRetryable(error: unknown, idempotency: Idempotency): boolean {
  if (error instanceof DatabricksThrottledError) return true;
  if (error instanceof DatabricksConnectionError) {
    return !error.requestMayHaveBeenSent || idempotency === 'idempotent';
  }
  if (idempotency !== 'idempotent') return false;
  if (error instanceof DatabricksTimeoutError) return true;
  return error instanceof DatabricksApiError && error.status >= 500 && error.status !== 501;
}

/**
 * Delay before retry number `retry` (1 = first retry): full jitter over a capped exponential
 * ceiling, and never less than what the server asked for.
 */
export function retryDelay(retry: number, error: unknown, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * ceiling);
  if (error instanceof DatabricksThrottledError) {
    return Math.max(jittered, error.retryAfterMs ?? policy.defaultThrottleDelayMs);
  }
  return jittered;
}
