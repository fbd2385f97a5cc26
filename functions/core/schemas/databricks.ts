/**
 * The Databricks REST shapes the system reads (clusters 2.1, jobs 2.2). Unknown fields are kept
 * (`looseObject`): real responses carry many fields the SDK structs do not list.
 */
import * as z from 'zod';
import { EpochMillisSchema, IdSchema, OpenEnumSchema, TerminationReasonSchema } from './common.ts';

const AutoScaleSchema = z.looseObject({
  min_workers: z.number().int().nonnegative().optional(),
  max_workers: z.number().int().nonnegative().optional(),
});

const SparkNodeSchema = z.looseObject({
  node_id: z.string().optional(),
  instance_id: z.string().optional(),
  private_ip: z.string().optional(),
  start_timestamp: EpochMillisSchema.optional(),
});

export const ClusterDetailsSchema = z.looseObject({
  cluster_id: IdSchema,
  cluster_name: z.string().optional(),
  state: OpenEnumSchema.optional(),
  state_message: z.string().optional(),
  termination_reason: TerminationReasonSchema.optional(),
  start_time: EpochMillisSchema.optional(),
  terminated_time: EpochMillisSchema.optional(),
  last_state_loss_time: EpochMillisSchema.optional(),
  last_restarted_time: EpochMillisSchema.optional(),
  last_activity_time: EpochMillisSchema.optional(),
  spark_context_id: IdSchema.optional(),
  cluster_source: OpenEnumSchema.optional(),
  creator_user_name: z.string().optional(),
  num_workers: z.number().int().nonnegative().optional(),
  autoscale: AutoScaleSchema.optional(),
  node_type_id: z.string().optional(),
  driver_node_type_id: z.string().optional(),
  spark_version: z.string().optional(),
  instance_pool_id: z.string().optional(),
  driver_instance_pool_id: z.string().optional(),
  policy_id: z.string().optional(),
  aws_attributes: z.looseObject({ availability: z.string().optional() }).optional(),
  azure_attributes: z.looseObject({ availability: z.string().optional() }).optional(),
  gcp_attributes: z.looseObject({ availability: z.string().optional() }).optional(),
  custom_tags: z.record(z.string(), z.string()).optional(),
  default_tags: z.record(z.string(), z.string()).optional(),
  autotermination_minutes: z.number().int().nonnegative().optional(),
  driver: SparkNodeSchema.optional(),
  executors: z.array(SparkNodeSchema).optional(),
  spec: z.looseObject({}).optional(),
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
  clusters: z.array(ListedClusterSchema).optional().default([]),
  next_page_token: z.string().optional(),
  prev_page_token: z.string().optional(),
});
export type ListClustersResponse = z.infer<typeof ListClustersResponseSchema>;

export const ClusterEventDetailsSchema = z.looseObject({
  reason: TerminationReasonSchema.optional(),
  cause: OpenEnumSchema.optional(),
  user: z.string().optional(),
  previous_attributes: z.looseObject({}).optional(),
  attributes: z.looseObject({}).optional(),
  current_num_workers: z.number().int().optional(),
  target_num_workers: z.number().int().optional(),
  job_run_name: z.string().optional(),
  driver_state_message: z.string().optional(),
  instance_id: z.string().optional(),
});

export const ClusterEventSchema = z.looseObject({
  cluster_id: IdSchema,
  timestamp: EpochMillisSchema.optional(),
  type: OpenEnumSchema,
  details: ClusterEventDetailsSchema.optional(),
});
export type ClusterEvent = z.infer<typeof ClusterEventSchema>;

export const ClusterEventsResponseSchema = z.looseObject({
  events: z.array(ClusterEventSchema).optional().default([]),
  next_page_token: z.string().optional(),
  prev_page_token: z.string().optional(),
  /** Deprecated legacy pagination: the full request to send next. */
  next_page: z.looseObject({}).optional(),
  total_count: z.number().int().optional(),
});
export type ClusterEventsResponse = z.infer<typeof ClusterEventsResponseSchema>;

const RunStateSchema = z.looseObject({
  life_cycle_state: OpenEnumSchema.optional(),
  result_state: OpenEnumSchema.optional(),
  state_message: z.string().optional(),
  user_cancelled_or_timedout: z.boolean().optional(),
});

export const RunTerminationDetailsSchema = z.looseObject({
  code: OpenEnumSchema.optional(),
  type: OpenEnumSchema.optional(),
  message: z.string().optional(),
});
export type RunTerminationDetails = z.infer<typeof RunTerminationDetailsSchema>;

const RunStatusSchema = z.looseObject({
  state: OpenEnumSchema.optional(),
  termination_details: RunTerminationDetailsSchema.optional(),
});

const ClusterInstanceSchema = z.looseObject({
  cluster_id: IdSchema.optional(),
  /** A string in the jobs API, but int64-safe either way. */
  spark_context_id: IdSchema.optional(),
});

export const RunTaskSchema = z.looseObject({
  run_id: IdSchema.optional(),
  task_key: z.string().optional(),
  existing_cluster_id: z.string().optional(),
  job_cluster_key: z.string().optional(),
  new_cluster: z.looseObject({}).optional(),
  cluster_instance: ClusterInstanceSchema.optional(),
  state: RunStateSchema.optional(),
  status: RunStatusSchema.optional(),
  attempt_number: z.number().int().optional(),
  start_time: EpochMillisSchema.optional(),
  end_time: EpochMillisSchema.optional(),
});
export type RunTask = z.infer<typeof RunTaskSchema>;

export const RepairHistoryItemSchema = z.looseObject({
  type: OpenEnumSchema.optional(),
  id: IdSchema.optional(),
  start_time: EpochMillisSchema.optional(),
  end_time: EpochMillisSchema.optional(),
  state: RunStateSchema.optional(),
  status: RunStatusSchema.optional(),
  task_run_ids: z.array(IdSchema).optional(),
});

/** `GET /api/2.2/jobs/runs/get`. Array properties are paged at 100 elements (`next_page_token`). */
export const RunSchema = z.looseObject({
  run_id: IdSchema,
  job_id: IdSchema.optional(),
  run_name: z.string().optional(),
  run_page_url: z.string().optional(),
  run_type: OpenEnumSchema.optional(),
  attempt_number: z.number().int().optional(),
  original_attempt_run_id: IdSchema.optional(),
  start_time: EpochMillisSchema.optional(),
  end_time: EpochMillisSchema.optional(),
  state: RunStateSchema.optional(),
  status: RunStatusSchema.optional(),
  tasks: z.array(RunTaskSchema).optional(),
  cluster_instance: ClusterInstanceSchema.optional(),
  cluster_spec: z.looseObject({ existing_cluster_id: z.string().optional() }).optional(),
  job_clusters: z.array(z.looseObject({ job_cluster_key: z.string().optional() })).optional(),
  repair_history: z.array(RepairHistoryItemSchema).optional(),
  has_more: z.boolean().optional(),
  next_page_token: z.string().optional(),
});
export type Run = z.infer<typeof RunSchema>;

/** `{error_code, message, details}`, the body of every Databricks API error. */
export const ApiErrorBodySchema = z.looseObject({
  error_code: z
    .union([z.string(), z.number()])
    .transform((v) => String(v))
    .optional(),
  message: z.string().optional(),
  details: z.array(z.looseObject({ '@type': z.string().optional() })).optional(),
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
  number_in_job: IdSchema.optional(),
});
export type RunNowResponse = z.infer<typeof RunNowResponseSchema>;

/**
 * `GET /api/2.0/policies/clusters/get`: a cluster policy. `definition` (and
 * `policy_family_definition_overrides`) are JSON documents in strings, as the SDKs declare them.
 */
export const ClusterPolicySchema = z.looseObject({
  policy_id: IdSchema,
  name: z.string().optional(),
  definition: z.string().optional(),
  description: z.string().optional(),
  creator_user_name: z.string().optional(),
  created_at_timestamp: EpochMillisSchema.optional(),
  is_default: z.boolean().optional(),
  policy_family_id: z.string().optional(),
  policy_family_definition_overrides: z.string().optional(),
  max_clusters_per_user: z.number().optional(),
});
export type ClusterPolicyResponse = z.infer<typeof ClusterPolicySchema>;

/** Successful mutating cluster calls answer `{}`; anything else in the object is tolerated. */
export const EmptyResponseSchema = z.looseObject({});
