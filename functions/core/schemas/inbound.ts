/**
 * Everything that can arrive at `POST /databricks-monitor`: the seed's custom cluster events and
 * connectivity test, and Databricks job notifications (the only push Databricks really sends).
 */
import * as z from '../zod.ts';
import { stringOrSafeInteger } from './common.ts';

export const CLUSTER_EVENT_TYPES = [
  'cluster.terminated',
  'cluster.failed_to_start',
  'cluster.restarting',
] as const;
export type ClusterEventType = (typeof CLUSTER_EVENT_TYPES)[number];

export const JOB_EVENT_TYPES = [
  'jobs.on_start',
  'jobs.on_success',
  'jobs.on_failure',
  'jobs.on_duration_warning_threshold_exceeded',
  'jobs.on_streaming_backlog_exceeded',
] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** The seed's connectivity test: `{"event": "test"}`. */
export const ConnectivityTestSchema = z.looseObject({ event: z.literal('test') });

/**
 * Inbound bodies are bounded and typed field by field, and unknown fields are dropped (`z.object`
 * strips them): nothing from the body reaches storage or the workflow unvalidated.
 */

/** Text the system keeps: bounded, and well-formed Unicode (no lone surrogates). */
const text = (max: number) =>
  z.string().check(
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine((value) => value.isWellFormed(), 'must be well-formed Unicode text'),
  );

/** Databricks' numeric ids (job, run, workspace): decimal digits, sent as a string or a safe integer. */
export const NumericIdSchema = stringOrSafeInteger(
  z.string().check(z.trim(), z.regex(/^\d{1,19}$/, 'must be a decimal number of at most 19 digits')),
);

/** A cluster id (`0923-164208-meows279`): letters, digits, `-`, `_`, `.`, starting with a letter or digit. */
export const ClusterIdSchema = z
  .string()
  .check(
    z.trim(),
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
      'must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit',
    ),
  );

/** A workspace named in the body: Databricks' numeric id or a configured workspace id. */
const WorkspaceRefSchema = z.union([
  NumericIdSchema,
  z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a workspace id')),
]);

/** Databricks was not reporting failures before 2013. */
const EARLIEST_TIMESTAMP_MS = Date.UTC(2013, 0, 1);
const MAX_AHEAD_MS = 24 * 3600 * 1000;

/** A plausible epoch-millisecond timestamp: not before 2013 and not more than a day ahead. */
export const PlausibleTimestampSchema = z.number().check(
  z.int('must be whole milliseconds since the epoch'),
  z.gte(EARLIEST_TIMESTAMP_MS, 'must be epoch milliseconds not before 2013'),
  z.refine((value) => value <= Date.now() + MAX_AHEAD_MS, 'must not be more than a day in the future'),
);

/** Keys JavaScript gives a meaning to; never accepted as data. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

/** `termination_reason.parameters`: string → string, as Databricks sends them. */
const ParametersSchema = z.record(z.string(), text(4000)).check(
  z.superRefine((value, ctx) => {
    const names = Object.keys(value);
    if (names.length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 parameters' });
    for (const name of names) {
      if (!PARAMETER_NAME.test(name) || RESERVED_KEYS.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: RESERVED_KEYS.has(name)
            ? `'${name}' is a reserved name`
            : 'parameter names are 1-100 letters, digits, "_", "." or "-", starting with a letter',
        });
      }
    }
  }),
);

const UPPER_SNAKE = /^[A-Z][A-Z0-9_]{0,199}$/;

export const InboundTerminationReasonSchema = z.object({
  code: z.optional(z.string().check(z.regex(UPPER_SNAKE, 'must be an upper-case termination code'))),
  type: z.optional(z.string().check(z.regex(UPPER_SNAKE, 'must be an upper-case termination type'))),
  parameters: z.optional(ParametersSchema),
});

const UpperEnumSchema = z
  .string()
  .check(z.regex(/^[A-Z][A-Z0-9_]{0,99}$/, 'must be an upper-case enum value'));

/** The cluster object inside a seed cluster event: the subset of ClusterDetails the system uses. */
export const SeedClusterSchema = z.object({
  cluster_id: ClusterIdSchema,
  cluster_name: z.optional(text(1000)),
  state: z.optional(UpperEnumSchema),
  state_message: z.optional(text(10_000)),
  termination_reason: z.optional(InboundTerminationReasonSchema),
  terminated_time: z.optional(PlausibleTimestampSchema),
  last_state_loss_time: z.optional(PlausibleTimestampSchema),
  cluster_source: z.optional(UpperEnumSchema),
  spark_context_id: z.optional(NumericIdSchema),
});

/** The seed's custom cluster events (`cluster.terminated`, `cluster.failed_to_start`, `cluster.restarting`). */
export const SeedClusterEventSchema = z.object({
  event: z.enum(CLUSTER_EVENT_TYPES),
  workspace_id: z.optional(WorkspaceRefSchema),
  timestamp: z.optional(PlausibleTimestampSchema),
  cluster: SeedClusterSchema,
});
export type SeedClusterEvent = z.infer<typeof SeedClusterEventSchema>;

/** A Databricks HTTP-webhook job notification, job- or task-level. Ids may be strings or numbers. */
export const JobNotificationSchema = z.object({
  event_type: z.enum(JOB_EVENT_TYPES),
  workspace_id: z.optional(WorkspaceRefSchema),
  run: z.object({ run_id: NumericIdSchema, parent_run_id: z.optional(NumericIdSchema) }),
  job: z.object({ job_id: NumericIdSchema, name: z.optional(text(1000)) }),
  task: z.optional(
    z.object({
      task_key: z
        .string()
        .check(z.regex(/^[\w.-]{1,100}$/, 'must be 1-100 letters, digits, "_", "-" or "."')),
    }),
  ),
});
export type JobNotification = z.infer<typeof JobNotificationSchema>;

export type InboundPayload =
  | { readonly kind: 'connectivity_test'; readonly payload: z.infer<typeof ConnectivityTestSchema> }
  | { readonly kind: 'cluster_event'; readonly payload: SeedClusterEvent }
  | { readonly kind: 'job_notification'; readonly payload: JobNotification };
