/**
 * The operator's input read at the operations API's edge: a body against its schema, a duration — each
 * failure a 400 naming the field.
 */

import type * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';

export const DAY_MS = 86_400_000;

/** The body's first problem as `field: message`, a 400. */
export function parseBody<T>(schema: z.ZodMiniType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** `90m`, `24h`, `7d`, `3600s` → milliseconds. */
export function durationMs(value: string, field: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (match === null)
    throw new HttpError(400, `${field} must be a duration like 90m, 24h or 7d, not '${value}'`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
