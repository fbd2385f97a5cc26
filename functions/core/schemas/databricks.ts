/**
 * The Databricks REST shapes the system reads (clusters 2.1, jobs 2.2). Unknown fields are kept
 * (`looseObject`): real responses carry many fields the SDK structs do not list.
 */
import * as z from '../zod.ts';
import { EpochMillisSchema, IdSchema, OpenEnumSchema, TerminationReasonSchema } from './common.ts';

const AutoScaleSchema = z.looseObject({
  min_workers: z.optional(z.number().check(z.int(), z.nonnegative())),
  max_workers: z.optional(z.number().check(z.int(), z.nonnegative())),
});

const SparkNodeSchema = z.looseObject({
  node_id: z.optional(z.string()),
  instance_id: z.optional(z.string()),
  private_ip: z.optional(z.string()),
  start_timestamp: z.optional(EpochMillisSchema),
});

export const ClusterDetailsSchema = z.looseObject({
  cluster_id: IdSchema,
  cluster_name: z.optional(z.string()),
  state: z.optional(OpenEnumSchema),
  state_message: z.optional(z.string()),
  termination_reason: z.optional(TerminationReasonSchema),
  start_time: z.optional(EpochMillisSchema),
  terminated_time: z.optional(EpochMillisSchema),
  last_state_loss_time: z.optional(EpochMillisSchema),
  last_restarted_time: z.optional(EpochMillisSchema),
  last_activity_time: z.optional(EpochMillisSchema),
  spark_context_id: z.optional(IdSchema),
  cluster_source: z.optional(OpenEnumSchema),
  creator_user_name: z.optional(z.string()),
  num_workers: z.optional(z.number().check(z.int(), z.nonnegative())),
  autoscale: z.optional(AutoScaleSchema),
  node_type_id: z.optional(z.string()),
  driver_node_type_id: z.optional(z.string()),
  spark_version: z.optional(z.string()),
  instance_pool_id: z.optional(z.string()),
  driver_instance_pool_id: z.optional(z.string()),
  policy_id: z.optional(z.string()),
  aws_attributes: z.optional(z.looseObject({ availability: z.optional(z.string()) })),
  azure_attributes: z.optional(z.looseObject({ availability: z.optional(z.string()) })),
  gcp_attributes: z.optional(z.looseObject({ availability: z.optional(z.string()) })),
  custom_tags: z.optional(z.record(z.string(), z.string())),
  default_tags: z.optional(z.record(z.string(), z.string())),
  autotermination_minutes: z.optional(z.number().check(z.int(), z.nonnegative())),
  driver: z.optional(SparkNodeSchema),
  executors: z.optional(z.array(SparkNodeSchema)),
  spec: z.optional(z.looseObject({})),
});
export type ClusterDetails = z.infer<typeof ClusterDetailsSchema>;

const listed = ClusterDetailsSchema.shape;

/**
 * A cluster as the poller reads it from `clusters/list`: only the fields detection and the failure
 * signal use are validated and kept (a strict subset of {@link ClusterDetailsSchema}). A page holds
 * 100 clusters of a few KB each, and the poller reads every page every 5 minutes: validating and
 * copying each one's whole specification would cost more than listing it. Read one cluster's full
 * details with `clusters/get`.
 */
export const ListedClusterSchema = z.object({
  cluster_id: listed.cluster_id,
  cluster_name: listed.cluster_name,
  state: listed.state,
  state_message: listed.state_message,
  termination_reason: listed.termination_reason,
  start_time: listed.start_time,
  terminated_time: listed.terminated_time,
  last_state_loss_time: listed.last_state_loss_time,
  last_restarted_time: listed.last_restarted_time,
  spark_context_id: listed.spark_context_id,
  cluster_source: listed.cluster_source,
});
export type ListedCluster = z.infer<typeof ListedClusterSchema>;

export const ListClustersResponseSchema = z.looseObject({
  clusters: z._default(z.optional(z.array(ListedClusterSchema)), []),
  next_page_token: z.optional(z.string()),
  prev_page_token: z.optional(z.string()),
});
export type ListClustersResponse = z.infer<typeof ListClustersResponseSchema>;

export const ClusterEventDetailsSchema = z.looseObject({
  reason: z.optional(TerminationReasonSchema),
  cause: z.optional(OpenEnumSchema),
  user: z.optional(z.string()),
  previous_attributes: z.optional(z.looseObject({})),
  attributes: z.optional(z.looseObject({})),
  current_num_workers: z.optional(z.number().check(z.int())),
  target_num_workers: z.optional(z.number().check(z.int())),
  job_run_name: z.optional(z.string()),
  driver_state_message: z.optional(z.string()),
  instance_id: z.optional(z.string()),
});

export const ClusterEventSchema = z.looseObject({
  cluster_id: IdSchema,
  timestamp: z.optional(EpochMillisSchema),
  type: OpenEnumSchema,
  details: z.optional(ClusterEventDetailsSchema),
});
export type ClusterEvent = z.infer<typeof ClusterEventSchema>;

export const ClusterEventsResponseSchema = z.looseObject({
  events: z._default(z.optional(z.array(ClusterEventSchema)), []),
  next_page_token: z.optional(z.string()),
  prev_page_token: z.optional(z.string()),
  /** Deprecated legacy pagination: the full request to send next. */
  next_page: z.optional(z.looseObject({})),
  total_count: z.optional(z.number().check(z.int())),
});
export type ClusterEventsResponse = z.infer<typeof ClusterEventsResponseSchema>;

const RunStateSchema = z.looseObject({
  life_cycle_state: z.optional(OpenEnumSchema),
  result_state: z.optional(OpenEnumSchema),
  state_message: z.optional(z.string()),
  user_cancelled_or_timedout: z.optional(z.boolean()),
});

export const RunTerminationDetailsSchema = z.looseObject({
  code: z.optional(OpenEnumSchema),
  type: z.optional(OpenEnumSchema),
  message: z.optional(z.string()),
});
export type RunTerminationDetails = z.infer<typeof RunTerminationDetailsSchema>;

const RunStatusSchema = z.looseObject({
  state: z.optional(OpenEnumSchema),
  termination_details: z.optional(RunTerminationDetailsSchema),
});

const ClusterInstanceSchema = z.looseObject({
  cluster_id: z.optional(IdSchema),
  /** A string in the jobs API, but int64-safe either way. */
  spark_context_id: z.optional(IdSchema),
});

export const RunTaskSchema = z.looseObject({
  run_id: z.optional(IdSchema),
  task_key: z.optional(z.string()),
  existing_cluster_id: z.optional(z.string()),
  job_cluster_key: z.optional(z.string()),
  new_cluster: z.optional(z.looseObject({})),
  cluster_instance: z.optional(ClusterInstanceSchema),
  state: z.optional(RunStateSchema),
  status: z.optional(RunStatusSchema),
  attempt_number: z.optional(z.number().check(z.int())),
  start_time: z.optional(EpochMillisSchema),
  end_time: z.optional(EpochMillisSchema),
});
export type RunTask = z.infer<typeof RunTaskSchema>;

export const RepairHistoryItemSchema = z.looseObject({
  type: z.optional(OpenEnumSchema),
  id: z.optional(IdSchema),
  start_time: z.optional(EpochMillisSchema),
  end_time: z.optional(EpochMillisSchema),
  state: z.optional(RunStateSchema),
  status: z.optional(RunStatusSchema),
  task_run_ids: z.optional(z.array(IdSchema)),
});

/** `GET /api/2.2/jobs/runs/get`. Array properties are paged at 100 elements (`next_page_token`). */
export const RunSchema = z.looseObject({
  run_id: IdSchema,
  job_id: z.optional(IdSchema),
  run_name: z.optional(z.string()),
  run_page_url: z.optional(z.string()),
  run_type: z.optional(OpenEnumSchema),
  attempt_number: z.optional(z.number().check(z.int())),
  original_attempt_run_id: z.optional(IdSchema),
  start_time: z.optional(EpochMillisSchema),
  end_time: z.optional(EpochMillisSchema),
  state: z.optional(RunStateSchema),
  status: z.optional(RunStatusSchema),
  tasks: z.optional(z.array(RunTaskSchema)),
  cluster_instance: z.optional(ClusterInstanceSchema),
  cluster_spec: z.optional(z.looseObject({ existing_cluster_id: z.optional(z.string()) })),
  job_clusters: z.optional(z.array(z.looseObject({ job_cluster_key: z.optional(z.string()) }))),
  repair_history: z.optional(z.array(RepairHistoryItemSchema)),
  has_more: z.optional(z.boolean()),
  next_page_token: z.optional(z.string()),
});
export type Run = z.infer<typeof RunSchema>;

/** `{error_code, message, details}`, the body of every Databricks API error. */
export const ApiErrorBodySchema = z.looseObject({
  error_code: z.optional(
    z.pipe(
      z.union([z.string(), z.number()]),
      z.transform((v) => String(v)),
    ),
  ),
  message: z.optional(z.string()),
  details: z.optional(z.array(z.looseObject({ '@type': z.optional(z.string()) }))),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

/** `POST /api/2.2/jobs/runs/repair` → `{repair_id}`; pass it as `latest_repair_id` on the next repair. */
export const RepairRunResponseSchema = z.looseObject({
  repair_id: IdSchema,
});
export type RepairRunResponse = z.infer<typeof RepairRunResponseSchema>;

/** `POST /api/2.2/jobs/run-now` → `{run_id, number_in_job}`. */
export const RunNowResponseSchema = z.looseObject({
  run_id: IdSchema,
  number_in_job: z.optional(IdSchema),
});
export type RunNowResponse = z.infer<typeof RunNowResponseSchema>;

/**
 * `GET /api/2.0/policies/clusters/get`: a cluster policy. `definition` (and
 * `policy_family_definition_overrides`) are JSON documents in strings, as the SDKs declare them.
 */
export const ClusterPolicySchema = z.looseObject({
  policy_id: IdSchema,
  name: z.optional(z.string()),
  definition: z.optional(z.string()),
  description: z.optional(z.string()),
  creator_user_name: z.optional(z.string()),
  created_at_timestamp: z.optional(EpochMillisSchema),
  is_default: z.optional(z.boolean()),
  policy_family_id: z.optional(z.string()),
  policy_family_definition_overrides: z.optional(z.string()),
  max_clusters_per_user: z.optional(z.number()),
});
export type ClusterPolicyResponse = z.infer<typeof ClusterPolicySchema>;

/** Successful mutating cluster calls answer `{}`; anything else in the object is tolerated. */
export const EmptyResponseSchema = z.looseObject({});
