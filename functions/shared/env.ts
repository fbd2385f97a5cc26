/**
 * Environment variables, read once through these helpers. A missing or malformed variable is a
 * deployment mistake: it fails at cold start with a message naming the variable.
 */

import { ConfigurationError } from '../core/errors.ts';
import type * as z from '../core/zod.ts';

type Env = Readonly<Record<string, string | undefined>>;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`environment variable ${name} is not set`);
  }
  return value;
}

export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** `true`/`false` (any case, also 1/0, yes/no); anything else is an error naming the variable. */
export function booleanEnv(name: string, fallback: boolean, env: Env = process.env): boolean {
  const value = optionalEnv(name, env)?.trim().toLowerCase();
  if (value === undefined) return fallback;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new ConfigurationError(`environment variable ${name} must be true or false, not '${value}'`);
}

/** A JSON-valued variable validated with a schema. */
export function jsonEnv<T extends z.ZodMiniType>(
  name: string,
  schema: T,
  fallback: z.output<T>,
  env: Env = process.env,
): z.output<T> {
  const value = optionalEnv(name, env);
  if (value === undefined) return fallback;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (error) {
    throw new ConfigurationError(
      `environment variable ${name} is not valid JSON: ${(error as Error).message}`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`);
    throw new ConfigurationError(`environment variable ${name} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}
