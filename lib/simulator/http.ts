/**
 * HTTP plumbing of the simulator's server: reading a bounded body, writing JSON answers, the error
 * bodies Databricks sends, and the bearer token of a request.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonDepthError, JsonSyntaxError, parseJson } from '../../functions/core/json.ts';
import { SimApiError } from './errors.ts';
import { ScenarioError } from './scenario.ts';

export const MAX_BODY_BYTES = 1_048_576;

/** Runs a handler and writes its result (200) or its error; returns the status sent. */
export async function answer(res: ServerResponse, handler: () => unknown): Promise<number> {
  try {
    const result = await handler();
    send(res, 200, result ?? {});
    return 200;
  } catch (error) {
    if (error instanceof SimApiError) {
      send(
        res,
        error.status,
        { error_code: error.errorCode, message: error.message },
        error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) },
      );
      return error.status;
    }
    if (error instanceof ScenarioError) {
      send(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: error.message, issues: error.issues });
      return 400;
    }
    if (error instanceof JsonSyntaxError || error instanceof JsonDepthError) {
      send(res, 400, {
        error_code: 'MALFORMED_REQUEST',
        message: `Invalid JSON given in the body of the request: ${error.message}`,
      });
      return 400;
    }
    throw error;
  }
}

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A JSON object body (an empty body is `{}`); anything else is a malformed request. */
export function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  const value = parseJson(raw);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SimApiError(
      400,
      'MALFORMED_REQUEST',
      'Invalid JSON given in the body of the request - expected a map',
    );
  }
  return value as Record<string, unknown>;
}

export function notFound(method: string, path: string): SimApiError {
  return new SimApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
}

export function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError('body too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The `cluster_id` of a JSON request body, if it names one. */
export function bodyClusterId(raw: string): string | undefined {
  if (!raw.includes('cluster_id')) return undefined;
  try {
    const id = (JSON.parse(raw) as { cluster_id?: unknown }).cluster_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
