/**
 * Errors of the Databricks REST client, shaped after what Databricks really sends (api-facts §6):
 * `{error_code, message, details}` bodies, the SDKs' status/error-code mapping (the error code wins
 * over the status), and the "400 INVALID_PARAMETER_VALUE … does not exist" not-found quirk.
 */
import { parseJson } from '../core/json.ts';
import { type ApiErrorBody, ApiErrorBodySchema } from '../core/schemas/databricks.ts';

/** Base class of everything the client throws, so callers can catch the whole family. */
export class DatabricksError extends Error {
  override readonly name: string = 'DatabricksError';
  /** `GET /api/2.1/clusters/get`; never carries query strings or credentials. */
  readonly operation: string;
  /** Number of HTTP attempts made before giving up (0 when none could be made). */
  attempts = 0;
  constructor(message: string, operation: string, options?: ErrorOptions) {
    super(message, options);
    this.operation = operation;
  }
}

export type ErrorDetail = NonNullable<ApiErrorBody['details']>[number];

export interface ApiErrorInit {
  readonly status: number;
  readonly errorCode: string;
  readonly message: string;
  readonly details?: readonly ErrorDetail[];
  /** Server-requested wait before a retry (`Retry-After` header or a RetryInfo detail). */
  readonly retryAfterMs?: number;
  readonly operation: string;
}

/** Databricks answered with an HTTP error status. */
export class DatabricksApiError extends DatabricksError {
  override readonly name: string = 'DatabricksApiError';
  readonly status: number;
  /** `error_code` of the body (`INVALID_STATE`, …); `UNKNOWN` when the body carried none. */
  readonly errorCode: string;
  readonly details: readonly ErrorDetail[];
  readonly retryAfterMs: number | undefined;
  /** The message Databricks sent, without the operation prefix. */
  readonly apiMessage: string;
  constructor(init: ApiErrorInit) {
    super(`${init.operation} failed with ${init.status} ${init.errorCode}: ${init.message}`, init.operation);
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.details = init.details ?? [];
    this.retryAfterMs = init.retryAfterMs;
    this.apiMessage = init.message;
  }
}

/** The resource does not exist: 404, `RESOURCE_DOES_NOT_EXIST`, or 400 `INVALID_PARAMETER_VALUE` "… does not exist". */
export class DatabricksNotFoundError extends DatabricksApiError {
  override readonly name = 'DatabricksNotFoundError';
}

/**
 * Throttled or temporarily unavailable: 429, 503, or `REQUEST_LIMIT_EXCEEDED`/`RESOURCE_EXHAUSTED`
 * whatever the status (the SDKs let the error code win). Always safe to retry after `retryAfterMs`.
 */
export class DatabricksThrottledError extends DatabricksApiError {
  override readonly name = 'DatabricksThrottledError';
}

/**
 * `INVALID_STATE`: the operation is not legal in the cluster's current state. On `start` it means
 * someone else is already starting it ("… is in unexpected state Pending.").
 */
export class DatabricksInvalidStateError extends DatabricksApiError {
  override readonly name = 'DatabricksInvalidStateError';
  /** The state named by the message (`PENDING`, `RUNNING`, …) when it names one. */
  readonly state: string | undefined;
  constructor(init: ApiErrorInit) {
    super(init);
    const match = /in unexpected state (\w+)/i.exec(init.message);
    this.state = match?.[1]?.toUpperCase();
  }
}

/** 401, or 403 "Invalid access token.": the credentials are missing, wrong or expired. */
export class DatabricksUnauthenticatedError extends DatabricksApiError {
  override readonly name = 'DatabricksUnauthenticatedError';
}

/** 403: authenticated, but not allowed. */
export class DatabricksPermissionDeniedError extends DatabricksApiError {
  override readonly name = 'DatabricksPermissionDeniedError';
}

/** No HTTP response: connection refused, reset, dropped, DNS failure. */
export class DatabricksConnectionError extends DatabricksError {
  override readonly name = 'DatabricksConnectionError';
  /** Low-level code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …) when known. */
  readonly code: string | undefined;
  /**
   * False only when the request provably never reached the server (the connection could not be
   * opened); true means the server may have acted on it.
   */
  readonly requestMayHaveBeenSent: boolean;
  constructor(operation: string, code: string | undefined, requestMayHaveBeenSent: boolean, cause: unknown) {
    super(`${operation} failed: connection error${code ? ` (${code})` : ''}`, operation, { cause });
    this.code = code;
    this.requestMayHaveBeenSent = requestMayHaveBeenSent;
  }
}

/** One attempt took longer than the per-attempt timeout. */
export class DatabricksTimeoutError extends DatabricksError {
  override readonly name = 'DatabricksTimeoutError';
  constructor(operation: string, timeoutMs: number) {
    super(`${operation} timed out after ${timeoutMs} ms`, operation);
  }
}

/** The call's absolute deadline passed before an answer arrived. */
export class DatabricksDeadlineExceededError extends DatabricksError {
  override readonly name = 'DatabricksDeadlineExceededError';
  constructor(operation: string, deadline: number, cause?: unknown) {
    super(`${operation} ran out of time: deadline ${new Date(deadline).toISOString()} passed`, operation, {
      cause,
    });
  }
}

/** A 2xx answer whose body is not JSON or does not match the expected shape. */
export class DatabricksResponseError extends DatabricksError {
  override readonly name = 'DatabricksResponseError';
  readonly issues: readonly string[];
  constructor(operation: string, message: string, issues: readonly string[] = []) {
    super(
      `${operation} returned an unexpected body: ${message}${issues.length ? `: ${issues.join('; ')}` : ''}`,
      operation,
    );
    this.issues = issues;
  }
}

/** The workspace's credentials secret is missing or malformed. The message never contains its value. */
export class DatabricksCredentialsError extends DatabricksError {
  override readonly name = 'DatabricksCredentialsError';
}

export const isNotFound = (error: unknown): error is DatabricksNotFoundError =>
  error instanceof DatabricksNotFoundError;
export const isThrottled = (error: unknown): error is DatabricksThrottledError =>
  error instanceof DatabricksThrottledError;
export const isInvalidState = (error: unknown): error is DatabricksInvalidStateError =>
  error instanceof DatabricksInvalidStateError;

const THROTTLING_CODES = new Set(['REQUEST_LIMIT_EXCEEDED', 'RESOURCE_EXHAUSTED']);
const NOT_FOUND_MESSAGE = /does not exist|doesn't exist/i;
// The SDKs' override table (api-facts §6.2) reads "does not exist" as not-found on these reads only;
// on a mutation it names something else (an instance pool, a task) and is a plain bad request.
const NOT_FOUND_READS = /\/api\/2\.\d\/(?:clusters\/get|jobs\/get|jobs\/runs\/get)$/;
const MAX_MESSAGE_LENGTH = 500;

export interface HttpErrorResponse {
  readonly status: number;
  readonly statusText?: string;
  /** Value of the `Retry-After` header, if any. */
  readonly retryAfter?: string | null;
  readonly body: string;
  readonly operation: string;
}

/** Maps an HTTP error response to the most specific error class. Pure; used by the client and tests. */
export function toApiError(response: HttpErrorResponse, now: number = Date.now()): DatabricksApiError {
  const parsed = parseErrorBody(response.body, response.status, response.statusText);
  const retryAfterMs =
    parseRetryAfter(response.retryAfter, now) ?? retryDelayFromDetails(parsed.details ?? []) ?? undefined;
  const init: ApiErrorInit = {
    status: response.status,
    errorCode: parsed.errorCode,
    message: parsed.message,
    details: parsed.details ?? [],
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    operation: response.operation,
  };
  const { status, errorCode, message } = init;
  if (THROTTLING_CODES.has(errorCode) || status === 429 || status === 503) {
    return new DatabricksThrottledError(init);
  }
  if (
    status === 404 ||
    errorCode === 'RESOURCE_DOES_NOT_EXIST' ||
    (status === 400 &&
      errorCode === 'INVALID_PARAMETER_VALUE' &&
      isRead(response.operation) &&
      NOT_FOUND_MESSAGE.test(message))
  ) {
    return new DatabricksNotFoundError(init);
  }
  if (errorCode === 'INVALID_STATE') return new DatabricksInvalidStateError(init);
  if (status === 401 || isRejectedToken(status, message)) return new DatabricksUnauthenticatedError(init);
  if (status === 403) return new DatabricksPermissionDeniedError(init);
  return new DatabricksApiError(init);
}

/**
 * Databricks answers a wrong or expired token with 403 `{"error_code": 403, "message": "Invalid
 * access token."}` (a recorded real answer), not 401: that is a rejected credential, unlike a 403
 * for a permission the caller lacks.
 */
function isRejectedToken(status: number, message: string): boolean {
  return status === 403 && /invalid access token|token is expired|expired token/i.test(message);
}

/** `GET …`, or one of the reads the SDKs name, whatever its method. */
function isRead(operation: string): boolean {
  const [method = '', path = ''] = operation.split(' ', 2);
  return method === 'GET' || NOT_FOUND_READS.test(path.split('?', 1)[0] ?? '');
}

interface ParsedErrorBody {
  readonly errorCode: string;
  readonly message: string;
  readonly details?: readonly ErrorDetail[];
}

/**
 * Understands every error body shape the SDKs still parse: `{error_code, message, details}`,
 * API 1.2 `{error}`, SCIM `{detail, status}`, OAuth `{error, error_description}`, plain text
 * `CODE: message`, and HTML pages (message taken from `<pre>`).
 */
export function parseErrorBody(body: string, status: number, statusText = ''): ParsedErrorBody {
  const fallbackMessage = statusText || `HTTP ${status}`;
  const text = body.trim();
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = parseJson(text);
    } catch {
      json = undefined;
    }
    if (json !== undefined) {
      const standard = ApiErrorBodySchema.safeParse(json);
      const record = json as Record<string, unknown>;
      if (
        standard.success &&
        (standard.data.error_code !== undefined || standard.data.message !== undefined)
      ) {
        return {
          errorCode: standard.data.error_code ?? 'UNKNOWN',
          message: clip(standard.data.message ?? fallbackMessage),
          details: standard.data.details ?? [],
        };
      }
      if (typeof record.error === 'string') {
        const description =
          typeof record.error_description === 'string' ? record.error_description : undefined;
        return {
          errorCode: description ? record.error : 'UNKNOWN',
          message: clip(description ?? record.error),
        };
      }
      if (typeof record.detail === 'string') {
        return { errorCode: `SCIM_${String(record.status ?? status)}`, message: clip(record.detail) };
      }
    }
  }
  const pre = /<pre>([\s\S]*?)<\/pre>/i.exec(text);
  if (pre?.[1] !== undefined) return { errorCode: 'UNKNOWN', message: clip(pre[1].trim()) };
  if (/^<(!doctype|html)/i.test(text)) return { errorCode: 'UNKNOWN', message: fallbackMessage };
  const coded = /^([A-Z][A-Z0-9_]+): ([\s\S]+)$/.exec(text);
  if (coded?.[1] !== undefined && coded[2] !== undefined)
    return { errorCode: coded[1], message: clip(coded[2]) };
  return { errorCode: 'UNKNOWN', message: clip(text || fallbackMessage) };
}

/** `Retry-After` as integer seconds (what Databricks sends) or an HTTP date; undefined if absent/invalid. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `google.rpc.RetryInfo{retry_delay: "42.0s"}` in the error details. */
function retryDelayFromDetails(details: readonly ErrorDetail[]): number | undefined {
  for (const detail of details) {
    if (detail['@type']?.endsWith('google.rpc.RetryInfo')) {
      const delay = (detail as Record<string, unknown>).retry_delay;
      const match = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
      if (match?.[1] !== undefined) return Math.round(Number(match[1]) * 1000);
    }
  }
  return undefined;
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;
}
