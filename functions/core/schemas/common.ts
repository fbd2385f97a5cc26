import * as z from '../zod.ts';

/** Databricks ids are digits, or letters, digits and dashes (cluster ids such as 0923-164208-meows279). */
const SAFE_ID = /^[A-Za-z0-9._-]+$/;

/** Enum values and termination codes are upper snake case. */
const UPPER_SNAKE = /^[A-Z][A-Z0-9_]*$/;

/**
 * A Databricks id sent as a JSON string or number. Always normalised to its decimal string so that
 * int64 values beyond Number.MAX_SAFE_INTEGER are never rounded (parse bodies with `parseJson`,
 * which keeps such numbers as strings).
 */
export const IdSchema = stringOrSafeInteger(
  z
    .string()
    .check(
      z.trim(),
      z.minLength(1, 'must not be empty'),
      z.maxLength(256, 'must be at most 256 characters'),
      z.regex(SAFE_ID, 'may contain only letters, digits, ".", "_" and "-"'),
    ),
);

/**
 * An id sent as a JSON string (`text` checks it) or as a non-negative safe integer, always kept as
 * its decimal string.
 */
export function stringOrSafeInteger(text: z.ZodMiniString<string>) {
  return z.pipe(
    z.union([
      text,
      z
        .number()
        .check(
          z.int('must be an integer'),
          z.nonnegative('must not be negative'),
          z.refine(Number.isSafeInteger, 'exceeds the safe integer range; send it as a string'),
        ),
    ]),
    z.transform((value) => String(value)),
  );
}

/** Milliseconds since the epoch, as Databricks sends timestamps. */
// JavaScript dates end at 8.64e15 ms; anything beyond cannot be a Databricks timestamp.
export const EpochMillisSchema = z
  .number()
  .check(z.int(), z.nonnegative(), z.lte(8.64e15, 'is not a timestamp in milliseconds'));

/** Values of `termination_reason.parameters` are strings in the spec; tolerate scalars and stringify. */
const ParameterValueSchema = z.pipe(
  z.union([z.string(), z.number(), z.boolean()]),
  z.transform((v) => String(v)),
);

export const TERMINATION_TYPES = ['SUCCESS', 'CLIENT_ERROR', 'SERVICE_FAULT', 'CLOUD_FAILURE'] as const;
export type TerminationType = (typeof TERMINATION_TYPES)[number];

/**
 * `termination_reason` as found on ClusterDetails and in `TERMINATING` events. Every field is
 * optional (old responses omit `type`); `code` is an open string because the enum grows.
 */
export const TerminationReasonSchema = z.looseObject({
  code: z.optional(
    z.string().check(z.maxLength(200), z.regex(UPPER_SNAKE, 'must be an upper-case termination code')),
  ),
  type: z.optional(
    z.string().check(z.maxLength(100), z.regex(UPPER_SNAKE, 'must be an upper-case termination type')),
  ),
  parameters: z.optional(z.record(z.string(), ParameterValueSchema)),
});
export type TerminationReason = z.infer<typeof TerminationReasonSchema>;

export const CLUSTER_STATES = [
  'PENDING',
  'RUNNING',
  'RESTARTING',
  'RESIZING',
  'TERMINATING',
  'TERMINATED',
  'ERROR',
  'UNKNOWN',
] as const;
export type ClusterState = (typeof CLUSTER_STATES)[number];

export const CLUSTER_SOURCES = [
  'API',
  'JOB',
  'MODELS',
  'PIPELINE',
  'PIPELINE_MAINTENANCE',
  'SQL',
  'UI',
] as const;
export type ClusterSource = (typeof CLUSTER_SOURCES)[number];

/** Upper-case enum names; unknown future values pass (open string), wrong types do not. */
export const OpenEnumSchema = z
  .string()
  .check(z.maxLength(100), z.regex(UPPER_SNAKE, 'must be an upper-case enum value'));
