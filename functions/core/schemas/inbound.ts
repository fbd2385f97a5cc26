/**
 * Everything that can arrive at `POST /databricks-monitor`: the seed's custom cluster events and
 * connectivity test, and Databricks job notifications (the only push Databricks really sends).
 */
import * as z from 'zod';
import { EpochMillisSchema, IdSchema, OpenEnumSchema, TerminationReasonSchema } from './common.ts';

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

/** The cluster object inside a seed cluster event: a subset of ClusterDetails. */
export const SeedClusterSchema = z.looseObject({
  cluster_id: IdSchema,
  cluster_name: z.string().max(1000).optional(),
  state: OpenEnumSchema.optional(),
  state_message: z.string().max(10_000).optional(),
  termination_reason: TerminationReasonSchema.optional(),
  terminated_time: EpochMillisSchema.optional(),
  last_state_loss_time: EpochMillisSchema.optional(),
  cluster_source: OpenEnumSchema.optional(),
});

/** The seed's custom cluster events (`cluster.terminated`, `cluster.failed_to_start`, `cluster.restarting`). */
export const SeedClusterEventSchema = z.looseObject({
  event: z.enum(CLUSTER_EVENT_TYPES),
  workspace_id: IdSchema.optional(),
  timestamp: EpochMillisSchema.optional(),
  cluster: SeedClusterSchema,
});
export type SeedClusterEvent = z.infer<typeof SeedClusterEventSchema>;

/** A Databricks HTTP-webhook job notification, job- or task-level. Ids may be strings or numbers. */
export const JobNotificationSchema = z.looseObject({
  event_type: z.enum(JOB_EVENT_TYPES),
  workspace_id: IdSchema.optional(),
  run: z.looseObject({ run_id: IdSchema, parent_run_id: IdSchema.optional() }),
  job: z.looseObject({ job_id: IdSchema, name: z.string().max(1000).optional() }),
  task: z
    .looseObject({
      task_key: z.string().regex(/^[\w.-]{1,100}$/, 'must be 1-100 letters, digits, "_", "-" or "."'),
    })
    .optional(),
});
export type JobNotification = z.infer<typeof JobNotificationSchema>;

export type InboundPayload =
  | { readonly kind: 'connectivity_test'; readonly payload: z.infer<typeof ConnectivityTestSchema> }
  | { readonly kind: 'cluster_event'; readonly payload: SeedClusterEvent }
  | { readonly kind: 'job_notification'; readonly payload: JobNotification };
