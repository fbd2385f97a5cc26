/**
 * Paging and argument helpers shared by the simulated list endpoints: opaque page tokens (a cursor
 * bound to its query), `limit`/`offset`, and epoch-millisecond arguments.
 */
import { invalidParameter } from './errors.ts';

type Json = Record<string, unknown>;

export function optionalMillis(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw invalidParameter(`${field} must be a non-negative integer`);
  return value;
}

export function numberOrUndefined(text: string | null): number | undefined {
  return text === null || text === '' ? undefined : Number(text);
}

/** A list's `limit`: absent or 0 = the default (0 = the maximum for runs, as Databricks does). */
export function pageLimit(text: string | null, fallback: number, max: number): number {
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw invalidParameter(`limit must be an integer from 0 to ${max}`);
  return n === 0 ? max : n;
}

/** Where a list page starts: the `page_token`'s position (for the same query) or `offset`. */
export function pageStart(query: URLSearchParams, fingerprint: string): number {
  const token = query.get('page_token');
  if (token) {
    const cursor = decodeToken(token);
    if (cursor?.f !== fingerprint || typeof cursor.o !== 'number')
      throw invalidParameter('Invalid page_token: it does not belong to this query');
    return cursor.o;
  }
  const offset = query.get('offset');
  if (offset === null || offset === '') return 0;
  const n = Number(offset);
  if (!Number.isInteger(n) || n < 0) throw invalidParameter('offset must be a non-negative integer');
  return n;
}

export function encodeToken(value: Json): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeToken(token: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}
