import type * as z from './zod.ts';

/** Input that does not match the expected shape; `issues` name the offending fields. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = []) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message);
    this.issues = issues;
  }
}

/** Configuration (playbooks, workspaces, environment) that cannot be used. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** Any thrown value as one line for a log or a problem list: `Name: message`, or the value as text. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** `cluster.termination_reason.code: expected string, received number` — one line per issue. */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
    return `${path}: ${issue.message}`;
  });
}

/** Parses with a schema and throws a ValidationError naming every bad field. */
export function parseWith<T extends z.ZodMiniType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(`invalid ${what}`, describeIssues(result.error));
  return result.data;
}
