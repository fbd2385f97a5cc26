/**
 * One Databricks REST call: authorization, attempts and backoff under an absolute deadline, errors mapped
 * the way Databricks sends them, the answer parsed with its schema.
 */

import { describeIssues } from '../core/errors.ts';
import { parseResponseJson } from '../core/json.ts';
import type * as z from '../core/zod.ts';
import type { AuthProvider } from './auth.ts';
import {
  DatabricksConnectionError,
  DatabricksDeadlineExceededError,
  DatabricksError,
  DatabricksResponseError,
  DatabricksThrottledError,
  DatabricksTimeoutError,
  DatabricksUnauthenticatedError,
  toApiError,
} from './errors.ts';
import {
  type Clock,
  DEFAULT_RETRY_POLICY,
  type Idempotency,
  isRetryable,
  type RetryPolicy,
  retryDelay,
  systemClock,
} from './retry.ts';

/** Per-call options. */
export interface CallOptions {
  /**
   * Absolute time (epoch ms, on the client's clock) by which the call must have answered, retries
   * included. A Lambda passes `Date.now() + context.getRemainingTimeInMillis() - margin`.
   * @default now + `defaultTimeoutMs`
   */
  readonly deadline?: number;
  /** Cancels the call (and any wait between attempts). */
  readonly signal?: AbortSignal;
  /**
   * Attempts in total while Databricks answers "throttled" (429, 503, `REQUEST_LIMIT_EXCEEDED`),
   * at most the policy's `maxAttempts`. Launch calls (start, restart, update) pass 1: the
   * node-launch limit is a token bucket that refills over minutes, so the caller backs off
   * (`launch_throttle_backoff` of the playbook) instead of the client retrying within seconds.
   * @default the policy's `maxAttempts`
   */
  readonly throttledAttempts?: number;
}

export interface TransportOptions {
  /** Workspace URL, e.g. `https://dbc-1234.cloud.databricks.com` (or the simulator's URL). */
  readonly host: string;
  readonly auth: AuthProvider;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  readonly retry?: Partial<RetryPolicy>;
  /** Budget of a call made without a deadline. @default 60_000 */
  readonly defaultTimeoutMs?: number;
  /** Longest a single attempt may take before it is abandoned (and maybe retried). @default 30_000 */
  readonly attemptTimeoutMs?: number;
  /** Optional sink for retry diagnostics; never receives credentials. */
  readonly logger?: { warn(message: string, attributes?: Record<string, unknown>): void };
}

/** What one call sends: its method, path, query or body, whether it may be repeated, and the answer's schema. */
export interface RequestSpec<S extends z.ZodMiniType> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly body?: unknown;
  readonly idempotency: Idempotency;
  readonly schema: S;
}

/** What every Databricks API client builds on: `request` makes one logical call. */
export class Transport {
  readonly host: string;
  private readonly clock: Clock;
  private readonly auth: AuthProvider;
  private readonly fetchImpl: typeof fetch;
  private readonly random: () => number;
  private readonly policy: RetryPolicy;
  private readonly defaultTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly logger: TransportOptions['logger'];

  constructor(options: TransportOptions) {
    const url = new URL(options.host);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`host must be an http(s) URL, got ${url.protocol}`);
    }
    this.host = url.origin;
    this.auth = options.auth;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
    this.logger = options.logger;
  }

  /** The options with an absolute deadline, so that a call of many pages is bounded as a whole. */
  protected withDeadline(options: CallOptions | undefined): CallOptions {
    return { ...options, deadline: options?.deadline ?? this.clock.now() + this.defaultTimeoutMs };
  }

  /** One logical call: attempts, classification, backoff, all before the deadline. */
  protected async request<S extends z.ZodMiniType>(
    spec: RequestSpec<S>,
    options: CallOptions | undefined,
  ): Promise<z.output<S>> {
    const operation = `${spec.method} ${spec.path}`;
    const deadline = options?.deadline ?? this.clock.now() + this.defaultTimeoutMs;
    const url = `${this.host}${spec.path}${spec.query && [...spec.query].length > 0 ? `?${spec.query}` : ''}`;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    let reauthenticated = false;
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0)
        throw this.annotate(new DatabricksDeadlineExceededError(operation, deadline, lastError), attempt - 1);
      try {
        return await this.attempt(
          spec,
          operation,
          url,
          body,
          Math.min(this.attemptTimeoutMs, remaining),
          options?.signal,
        );
      } catch (error) {
        if (options?.signal?.aborted) throw error;
        lastError = error;
        if (error instanceof DatabricksTimeoutError && this.clock.now() >= deadline) {
          throw this.annotate(new DatabricksDeadlineExceededError(operation, deadline, error), attempt);
        }
        if (error instanceof DatabricksUnauthenticatedError && !reauthenticated) {
          // A token revoked or expired early: drop what is cached and try once more at once.
          reauthenticated = true;
          this.auth.invalidate(rejectedCredentials.get(error));
          continue;
        }
        const maxAttempts =
          error instanceof DatabricksThrottledError && options?.throttledAttempts !== undefined
            ? Math.min(options.throttledAttempts, this.policy.maxAttempts)
            : this.policy.maxAttempts;
        if (!isRetryable(error, spec.idempotency) || attempt >= maxAttempts) {
          throw this.annotate(error, attempt);
        }
        const delay = retryDelay(attempt, error, this.policy, this.random);
        if (this.clock.now() + delay >= deadline) throw this.annotate(error, attempt);
        this.logger?.warn('retrying Databricks call', {
          operation,
          attempt,
          delayMs: delay,
          error: error instanceof Error ? error.name : 'unknown',
          ...(error instanceof DatabricksError && 'errorCode' in error ? { errorCode: error.errorCode } : {}),
        });
        await this.clock.sleep(delay, options?.signal);
      }
    }
  }

  private async attempt<S extends z.ZodMiniType>(
    spec: RequestSpec<S>,
    operation: string,
    url: string,
    body: string | undefined,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const timeout = AbortSignal.timeout(Math.max(0, Math.ceil(timeoutMs)));
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    let status: number;
    let text: string;
    let response: Response;
    let authorization: string | undefined;
    try {
      authorization = await this.auth.authorization({ signal });
      response = await this.fetchImpl(url, {
        method: spec.method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
        signal,
        redirect: 'error',
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (timeout.aborted) throw new DatabricksTimeoutError(operation, timeoutMs);
      if (isNetworkFailure(error)) throw toConnectionError(operation, error);
      throw error;
    }
    if (status < 200 || status >= 300) {
      const error = toApiError(
        {
          status,
          statusText: response.statusText,
          retryAfter: response.headers.get('retry-after'),
          body: text,
          operation,
        },
        this.clock.now(),
      );
      if (error instanceof DatabricksUnauthenticatedError && authorization !== undefined)
        rejectedCredentials.set(error, authorization);
      throw error;
    }
    let json: unknown;
    try {
      json = text.trim() === '' ? {} : parseResponseJson(text);
    } catch (error) {
      throw new DatabricksResponseError(operation, (error as Error).message);
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success)
      throw new DatabricksResponseError(operation, 'schema mismatch', describeIssues(parsed.error));
    return parsed.data;
  }

  private annotate(error: unknown, attempts: number): unknown {
    if (error instanceof DatabricksError) error.attempts = attempts;
    return error;
  }
}

/**
 * The credential a 401 (or a 403 "Invalid access token.") rejected, so that only that one is dropped
 * when many requests fail together.
 * Kept beside the error, never on it, so that logging an error can never print a token.
 */
const rejectedCredentials = new WeakMap<object, string>();

/** Codes meaning the connection was never established, so the server cannot have seen the request. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether fetch failed on the network (`fetch failed`, or `terminated` when the body was cut off),
 * as opposed to a programming error, which must not be mistaken for a retryable outage.
 */
function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  return (
    error.message === 'fetch failed' ||
    error.message === 'terminated' ||
    typeof (error.cause as { code?: unknown })?.code === 'string'
  );
}

function toConnectionError(operation: string, error: unknown): DatabricksConnectionError {
  let code: string | undefined;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const candidate = (current as { code?: unknown }).code;
    if (typeof candidate === 'string') {
      code = candidate;
      break;
    }
    current = current.cause;
  }
  // AggregateError (several addresses tried) carries the codes on its members.
  if (code === undefined && error instanceof Error && error.cause instanceof AggregateError) {
    const member = error.cause.errors.find(
      (e: unknown) => typeof (e as { code?: unknown }).code === 'string',
    );
    code = (member as { code?: string } | undefined)?.code;
  }
  return new DatabricksConnectionError(
    operation,
    code,
    code === undefined || !NOT_SENT_CODES.has(code),
    error,
  );
}
