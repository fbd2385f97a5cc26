/**
 * The scenario format: what a simulated workspace contains (clusters, generated clusters, jobs and
 * their runs), how long its transitions take, and which faults are switched on. Validated with zod;
 * every error names the offending field (`clusters.2.state: …`).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { describeIssues } from '../../functions/core/errors.ts';
import {
  CLUSTER_SOURCES,
  CLUSTER_STATES,
  type ClusterState,
  TERMINATION_TYPES,
} from '../../functions/core/schemas/common.ts';
import { PolicySeedSchema } from './policies.ts';
import { PoolSeedSchema } from './pools.ts';

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = []) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message);
    this.issues = issues;
  }
}

/** The states a scenario may give a cluster: Databricks' own, but for ERROR and UNKNOWN. */
export type SeedableState = Exclude<ClusterState, 'ERROR' | 'UNKNOWN'>;
export const SEEDABLE_STATES = CLUSTER_STATES.filter(
  (state): state is SeedableState => state !== 'ERROR' && state !== 'UNKNOWN',
) as [SeedableState, ...SeedableState[]];

const Millis = z.number().int().nonnegative();
const PositiveMillis = z.number().int().positive().max(86_400_000);

/** Digits (int64 ids such as run ids) as a JSON number or string. */
const NumericId = z
  .union([
    z.string().regex(/^\d{1,19}$/, 'must be decimal digits'),
    z.number().int().positive().refine(Number.isSafeInteger),
  ])
  .transform(String);

export const TerminationReasonSeedSchema = z.strictObject({
  /** Open string: Databricks adds codes every release. */
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an upper-case termination code'),
  type: z.enum(TERMINATION_TYPES),
  parameters: z.record(z.string(), z.string()).optional(),
});
export type TerminationReasonSeed = z.infer<typeof TerminationReasonSeedSchema>;

const AutoScaleSchema = z.strictObject({
  min_workers: z.number().int().nonnegative(),
  max_workers: z.number().int().positive(),
});

/**
 * A cluster as `clusters/get` would show it. Read-only fields (state, timestamps, reason) set its
 * starting point; every other attribute (`aws_attributes`, `custom_tags`, …) is kept as its spec.
 */
export const ClusterSeedSchema = z.looseObject({
  cluster_id: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'may contain only letters, digits, ".", "_" and "-"')
    .optional(),
  cluster_name: z.string().min(1).max(100).optional(),
  state: z.enum(SEEDABLE_STATES).default('RUNNING'),
  cluster_source: z.enum(CLUSTER_SOURCES).default('UI'),
  termination_reason: TerminationReasonSeedSchema.optional(),
  spark_version: z.string().min(1).default('15.4.x-scala2.12'),
  /** Default `i3.xlarge`, except for a pool cluster, whose pool decides it. */
  node_type_id: z.string().min(1).optional(),
  driver_node_type_id: z.string().min(1).optional(),
  instance_pool_id: z.string().min(1).optional(),
  driver_instance_pool_id: z.string().min(1).optional(),
  autotermination_minutes: z.number().int().min(0).max(10_000).optional(),
  num_workers: z.number().int().nonnegative().optional(),
  autoscale: AutoScaleSchema.optional(),
  creator_user_name: z.string().min(1).optional(),
  pinned: z.boolean().optional(),
  start_time: Millis.optional(),
  terminated_time: Millis.optional(),
  /** Instead of `terminated_time`: how long before the scenario loads it terminated. */
  terminated_ago_ms: Millis.optional(),
  last_state_loss_time: Millis.optional(),
  last_restarted_time: Millis.optional(),
  last_activity_time: Millis.optional(),
  spark_context_id: NumericId.optional(),
});
export type ClusterSeed = z.infer<typeof ClusterSeedSchema>;

/** Weights per key, e.g. `{"RUNNING": 7, "TERMINATED": 3}`. */
const weights = <T extends readonly [string, ...string[]]>(keys: T) =>
  z
    .partialRecord(z.enum(keys), z.number().nonnegative())
    .refine(
      (w) => Object.values(w as Record<string, number | undefined>).some((v) => (v ?? 0) > 0),
      'needs at least one positive weight',
    );

export const GenerateSchema = z.strictObject({
  count: z.number().int().min(1).max(100_000),
  /** Cluster names are `<namePrefix>-<n>`. */
  namePrefix: z.string().min(1).max(80).default('cluster'),
  states: weights(SEEDABLE_STATES).default({ RUNNING: 1 }),
  sources: weights(CLUSTER_SOURCES).default({ UI: 1 }),
  nodeTypeIds: z.array(z.string().min(1)).min(1).default(['i3.xlarge']),
  /** Drawn for generated TERMINATING/TERMINATED clusters. */
  terminationReasons: z
    .array(TerminationReasonSeedSchema)
    .min(1)
    .default([{ code: 'INACTIVITY', type: 'SUCCESS', parameters: { inactivity_duration_min: '120' } }]),
  numWorkers: z.number().int().nonnegative().default(2),
  availability: z.enum(['ON_DEMAND', 'SPOT', 'SPOT_WITH_FALLBACK']).optional(),
});
export type GenerateSpec = z.infer<typeof GenerateSchema>;

const TaskSeedSchema = z
  .strictObject({
    task_key: z.string().regex(/^[\w\-.]{1,100}$/, 'must be 1-100 letters, digits, "_", "-" or "."'),
    existing_cluster_id: z.string().min(1).optional(),
    job_cluster_key: z.string().min(1).optional(),
    new_cluster: z.looseObject({}).optional(),
    depends_on: z.array(z.strictObject({ task_key: z.string().min(1) })).optional(),
  })
  .refine(
    (t) =>
      [t.existing_cluster_id, t.job_cluster_key, t.new_cluster].filter((v) => v !== undefined).length <= 1,
    'give at most one of existing_cluster_id, job_cluster_key, new_cluster',
  );
export type TaskSeed = z.infer<typeof TaskSeedSchema>;

const RESULT_STATES = ['SUCCESS', 'FAILED', 'TIMEDOUT', 'CANCELED', 'UPSTREAM_FAILED', 'EXCLUDED'] as const;

const TerminationDetailsSeedSchema = z.strictObject({
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an upper-case run termination code'),
  type: z.enum(['SUCCESS', 'CLIENT_ERROR', 'INTERNAL_ERROR', 'CLOUD_FAILURE']),
  message: z.string().optional(),
});

const RunSeedSchema = z.strictObject({
  run_id: NumericId,
  /** Outcome of every task not listed in `tasks`. */
  result_state: z.enum(RESULT_STATES).default('SUCCESS'),
  start_time: Millis.optional(),
  end_time: Millis.optional(),
  termination_details: TerminationDetailsSeedSchema.optional(),
  tasks: z
    .array(
      z.strictObject({
        task_key: z.string().min(1),
        result_state: z.enum(RESULT_STATES),
        run_id: NumericId.optional(),
        termination_details: TerminationDetailsSeedSchema.optional(),
      }),
    )
    .optional(),
  idempotency_token: z.string().min(1).max(64).optional(),
});
export type RunSeed = z.infer<typeof RunSeedSchema>;

export const JobSeedSchema = z.strictObject({
  job_id: NumericId,
  name: z.string().min(1).max(200),
  tasks: z.array(TaskSeedSchema).min(1),
  job_clusters: z.array(z.looseObject({ job_cluster_key: z.string().min(1) })).optional(),
  runs: z.array(RunSeedSchema).default([]),
});
export type JobSeed = z.infer<typeof JobSeedSchema>;

export const TimingsSchema = z.strictObject({
  /** PENDING → RUNNING after a start. */
  startMs: PositiveMillis.default(180_000),
  /** PENDING → TERMINATING when the start is made to fail. */
  failedStartMs: PositiveMillis.default(60_000),
  /** RESTARTING → RUNNING. */
  restartMs: PositiveMillis.default(120_000),
  /** RESIZING → RUNNING. */
  resizeMs: PositiveMillis.default(60_000),
  /** TERMINATING → TERMINATED. */
  terminateMs: PositiveMillis.default(30_000),
  /** DRIVER_NOT_RESPONDING → DRIVER_HEALTHY after a driver crash. */
  driverRecoveryMs: PositiveMillis.default(60_000),
  /** DRIVER_NOT_RESPONDING → DRIVER_HEALTHY in a GC-pause blip (no state loss). */
  gcPauseMs: PositiveMillis.default(5_000),
  /** A job run (or repair) from RUNNING to TERMINATED. */
  runMs: PositiveMillis.default(120_000),
});
export type Timings = z.infer<typeof TimingsSchema>;

const Paths = z.array(z.string().startsWith('/', 'must start with "/"')).min(1).optional();
/** Which requests a fault hits: path prefixes, the share of them, and how many times at most. */
const requestFault = {
  /** Prefixes of request paths. @default every `/api/` path */
  paths: Paths,
  /** Probability that a matching request is hit. @default 1 */
  share: z.number().min(0).max(1).default(1),
  /** Hit at most this many requests, then switch off. @default unlimited */
  count: z.number().int().positive().optional(),
};

export const FaultsSchema = z.strictObject({
  /** 429 (or the given status) with `Retry-After` and `{"error_code":"REQUEST_LIMIT_EXCEEDED"}`. */
  throttle: z
    .strictObject({
      ...requestFault,
      retryAfterSeconds: z.number().int().nonnegative().max(3600).default(1),
      status: z.union([z.literal(429), z.literal(400), z.literal(503)]).default(429),
      errorCode: z
        .enum(['REQUEST_LIMIT_EXCEEDED', 'RESOURCE_EXHAUSTED', 'TEMPORARILY_UNAVAILABLE'])
        .default('REQUEST_LIMIT_EXCEEDED'),
    })
    .nullable()
    .optional(),
  /** Real milliseconds added before answering. */
  latency: z
    .strictObject({
      paths: Paths,
      ms: z.number().int().nonnegative().max(120_000),
      jitterMs: z.number().int().nonnegative().max(120_000).default(0),
    })
    .nullable()
    .optional(),
  /** 5xx answers; `html: true` sends an HTML page (as a proxy would) instead of a JSON body. */
  serverErrors: z
    .strictObject({
      ...requestFault,
      status: z.number().int().min(500).max(599).default(500),
      html: z.boolean().default(false),
    })
    .nullable()
    .optional(),
  /** The socket is destroyed after the request arrived: no answer at all. */
  dropConnections: z.strictObject(requestFault).nullable().optional(),
  /** The next `count` starts go PENDING → TERMINATING → TERMINATED with this reason. */
  failNextStarts: z
    .strictObject({
      count: z.number().int().positive(),
      reason: TerminationReasonSeedSchema,
      /** Only starts of these clusters. @default every cluster */
      clusterIds: z.array(z.string().min(1)).min(1).optional(),
    })
    .nullable()
    .optional(),
  /**
   * Node types without capacity: starting a cluster that uses one fails with the reason
   * (@default AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE / CLOUD_FAILURE); upsizing adds no nodes.
   */
  unavailableNodeTypes: z
    .array(
      z.strictObject({
        nodeTypeId: z.string().min(1),
        reason: TerminationReasonSeedSchema.default({
          code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE',
          type: 'CLOUD_FAILURE',
        }),
      }),
    )
    .nullable()
    .optional(),
});
export type FaultsConfig = z.infer<typeof FaultsSchema>;
export type FaultsInput = z.input<typeof FaultsSchema>;

export const ScenarioSchema = z.strictObject({
  description: z.string().optional(),
  /** Seed of the generator and of fault shares. @default 1 */
  seed: z.number().int().nonnegative().optional(),
  timings: TimingsSchema.partial().optional(),
  clusters: z.array(ClusterSeedSchema).default([]),
  /** One generator or a list of them; a single object is read as a list of one (errors say `generate.0.…`). */
  generate: z.preprocess(
    (value) => (value === undefined || Array.isArray(value) ? value : [value]),
    z.array(GenerateSchema).default([]),
  ),
  jobs: z.array(JobSeedSchema).default([]),
  pools: z.array(PoolSeedSchema).default([]),
  policies: z.array(PolicySeedSchema).default([]),
  limits: z
    .strictObject({
      /** Cluster launches (starts, restarts, restarting edits) per simulated minute in the workspace. */
      clusterLaunchesPerMinute: z.number().int().positive(),
      /** 429, or 400 as Databricks also answers `REQUEST_LIMIT_EXCEEDED`. @default 429 */
      status: z.union([z.literal(429), z.literal(400)]).default(429),
      retryAfterSeconds: z.number().int().nonnegative().max(3600).default(60),
    })
    .optional(),
  faults: FaultsSchema.optional(),
});
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

export const FailClusterSchema = TerminationReasonSeedSchema;
/** A user acting on a cluster from the admin endpoint (terminate, start, edit). */
export const UserActionSchema = z.strictObject({
  user: z.string().min(1).default('someone@example.com'),
  /** For an edit: the attributes to set (`null` removes one). */
  attributes: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.unknown()).optional(),
});
export type UserActionInput = z.input<typeof UserActionSchema>;
export const AdvanceClockSchema = z.strictObject({
  advanceMs: z
    .number()
    .int()
    .nonnegative()
    .max(30 * 86_400_000)
    .optional(),
  timeScale: z.number().min(0).max(1_000_000).optional(),
});

/** Validates with a schema; the error names every offending field. */
export function parseScenarioPart<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ScenarioError(`invalid ${what}`, describeIssues(result.error));
  return result.data;
}

export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const scenario = parseScenarioPart(ScenarioSchema, value, source);
  const ids = new Set<string>();
  scenario.clusters.forEach((cluster, index) => {
    if (cluster.cluster_id === undefined) return;
    if (ids.has(cluster.cluster_id)) {
      throw new ScenarioError(`invalid ${source}`, [
        `clusters.${index}.cluster_id: duplicates ${cluster.cluster_id}`,
      ]);
    }
    ids.add(cluster.cluster_id);
  });
  return scenario;
}

export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(
      `cannot read scenario ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`scenario ${path} is not JSON: ${(error as Error).message}`);
  }
  return parseScenario(json, `scenario ${path}`);
}

/** The demo scenario shipped with the simulator (used when no `--scenario` is given). */
export const DEMO_SCENARIO_PATH = fileURLToPath(new URL('./scenarios/demo.json', import.meta.url));
