/**
 * HTTP plumbing for the intake, as middy middlewares: body limits and JSON parsing, caller
 * authentication, and the mapping of domain errors to responses. No business rule lives here.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ValidationError } from '../core/errors.ts';
import { JsonDepthError, JsonSyntaxError, parseJson } from '../core/json.ts';
import { CorruptItemError } from '../store/dynamo.ts';
import { type ApiKeys, authenticate, UnauthorizedError } from './auth.ts';

/** Bodies above this are refused: a notification is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(statusCode: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

/** The event with its body already parsed by `jsonBody`. */
export type ParsedEvent = APIGatewayProxyEvent & { readonly parsedBody?: unknown };

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Rejects non-JSON, oversized, malformed or too deeply nested bodies; leaves GET requests alone. */
export function jsonBody(
  maxBytes: number = MAX_BODY_BYTES,
): MiddlewareObj<ParsedEvent, APIGatewayProxyResult> {
  return {
    name: 'jsonBody',
    before: (request) => {
      const event = request.event;
      if (event.httpMethod !== 'POST') return;
      const contentType = (event.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (contentType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(contentType)) {
        throw new HttpError(415, `Content-Type must be application/json, not '${contentType || '(none)'}'`);
      }
      const raw = event.body ?? '';
      const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
      if (bytes.length > maxBytes) {
        throw new HttpError(413, `body is ${bytes.length} bytes; at most ${maxBytes} are accepted`);
      }
      if (bytes.length === 0) throw new ValidationError('empty body', ['(body): a JSON object is required']);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new ValidationError('malformed body', ['(body): body is not valid UTF-8']);
      }
      try {
        request.event = { ...event, parsedBody: parseJson(text) };
      } catch (error) {
        if (error instanceof JsonSyntaxError || error instanceof JsonDepthError) {
          throw new ValidationError('malformed body', [`(body): ${error.message}`]);
        }
        throw error;
      }
    },
  };
}

/** Authenticates every request with the API keys (cached by the loader). */
export function apiKeyAuth(
  loadKeys: () => Promise<ApiKeys>,
): MiddlewareObj<ParsedEvent, APIGatewayProxyResult> {
  return {
    name: 'apiKeyAuth',
    before: async (request) => {
      authenticate(request.event.headers ?? {}, await loadKeys());
    },
  };
}

export interface ErrorLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/**
 * Maps errors to responses. Bad input is a 4xx naming the problem; an authentication failure is a
 * bare 401; only faults of this system or its dependencies are 5xx, with no internals in the body.
 */
export function errorResponses(
  logger: ErrorLogger,
  classify: (
    error: unknown,
  ) => { statusCode: number; message: string; headers?: Record<string, string> } | undefined = () =>
    undefined,
): MiddlewareObj<ParsedEvent, APIGatewayProxyResult> {
  return {
    name: 'errorResponses',
    onError: (request) => {
      const error = request.error;
      if (error instanceof UnauthorizedError) {
        logger.warn('request not authenticated', { reason: error.message });
        request.response = jsonResponse(401, { message: 'Unauthorized' });
        return;
      }
      if (error instanceof ValidationError) {
        logger.warn('request rejected', { issues: error.issues });
        request.response = jsonResponse(400, {
          status: 'error',
          message: error.message,
          errors: error.issues,
        });
        return;
      }
      if (error instanceof HttpError) {
        logger.warn('request rejected', { statusCode: error.statusCode, reason: error.message });
        request.response = jsonResponse(
          error.statusCode,
          { status: 'error', message: error.message },
          error.headers,
        );
        return;
      }
      if (error instanceof CorruptItemError) {
        // Our own stored item, not the caller's input: nothing was done; an operator repairs the item
        // (named in the log) and a redelivery then succeeds.
        logger.error('stored item is corrupt', { key: error.key, issues: error.issues });
        request.response = jsonResponse(
          503,
          { status: 'error', message: 'a stored record cannot be read; deliver again after it is repaired' },
          { 'retry-after': '300' },
        );
        return;
      }
      const mapped = classify(error);
      if (mapped !== undefined) {
        const log = mapped.statusCode >= 500 ? logger.error : logger.warn;
        log.call(logger, 'request failed', {
          statusCode: mapped.statusCode,
          error: (error as Error)?.message,
        });
        request.response = jsonResponse(
          mapped.statusCode,
          { status: 'error', message: mapped.message },
          mapped.headers,
        );
        return;
      }
      logger.error('unexpected error', {
        error:
          error instanceof Error
            ? { name: error.name, message: error.message, stack: error.stack }
            : String(error),
      });
      request.response = jsonResponse(500, {
        status: 'error',
        message: 'internal error; the request was not processed',
      });
    },
  };
}
