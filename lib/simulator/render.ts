/**
 * What the API answers: a cluster as `clusters/get` and `clusters/list` show it, an event, a job run
 * and its tasks and repairs as `runs/get` shows them. Pure functions of the model's records.
 */
import { idValue, rawNumber } from './json.ts';
import {
  type Json,
  reasonJson,
  type SimCluster,
  type SimEvent,
  type SimRepair,
  type SimRun,
  type SimTask,
  TERMINAL_LIFE_CYCLES,
  USER,
} from './model.ts';
import type { Pools } from './pools.ts';

export function renderCluster(cluster: SimCluster, pools: Pools, detailed: boolean): Json {
  const up = cluster.state === 'RUNNING' || cluster.state === 'RESIZING' || cluster.state === 'RESTARTING';
  // The pool decides a pool cluster's node types; the driver's defaults to the workers' (as Databricks shows them).
  const nodes = {
    ...pick(cluster.config, ['node_type_id', 'driver_node_type_id']),
    ...pools.nodeTypes(cluster.config),
  };
  const out: Json = {
    cluster_id: cluster.id,
    creator_user_name: cluster.creator,
    ...cluster.config,
    ...nodes,
    ...(nodes.node_type_id === undefined
      ? {}
      : { driver_node_type_id: nodes.driver_node_type_id ?? nodes.node_type_id }),
    cluster_source: cluster.source,
    state: cluster.state,
    state_message: cluster.stateMessage,
    start_time: cluster.startTime,
    spark_context_id: rawNumber(cluster.sparkContextId),
    default_tags: {
      Vendor: 'Databricks',
      Creator: cluster.creator,
      ClusterName: String(cluster.config.cluster_name),
      ClusterId: cluster.id,
    },
  };
  if (cluster.terminatedTime !== undefined && cluster.state === 'TERMINATED')
    out.terminated_time = cluster.terminatedTime;
  if (cluster.lastStateLossTime !== undefined) out.last_state_loss_time = cluster.lastStateLossTime;
  if (cluster.lastRestartedTime !== undefined) out.last_restarted_time = cluster.lastRestartedTime;
  if (cluster.lastActivityTime !== undefined) out.last_activity_time = cluster.lastActivityTime;
  if (cluster.terminationReason && (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED')) {
    out.termination_reason = reasonJson(cluster.terminationReason);
  }
  if (cluster.pinned) out.pinned_by_user_name = cluster.creator;
  if (up) {
    const nodeStart = cluster.lastRestartedTime ?? cluster.startTime;
    out.driver = node(cluster, 'driver', nodeStart);
    if (detailed) {
      out.executors = Array.from({ length: cluster.currentWorkers }, (_, i) =>
        node(cluster, `worker-${i}`, nodeStart),
      );
    }
  }
  if (detailed) out.spec = { ...cluster.config };
  return out;
}

export function renderEvent(clusterId: string, event: SimEvent): Json {
  return { cluster_id: clusterId, timestamp: event.timestamp, type: event.type, details: event.details };
}

/** How much of a run's arrays a `runs/get` answer carries (2.2 pages them, 2.1 does not). */
export interface RunView {
  readonly slice: <T>(items: readonly T[]) => T[];
  readonly withHistory: boolean;
}

export function renderRun(run: SimRun, baseUrl: string, view: RunView): Json {
  const { slice, withHistory } = view;
  const single = run.tasks.length === 1 ? run.tasks[0] : undefined;
  const existing = single?.seed.existing_cluster_id;
  return {
    job_id: idValue(run.job.id),
    run_id: idValue(run.id),
    job_run_id: idValue(run.id),
    number_in_job: run.numberInJob,
    original_attempt_run_id: idValue(run.id),
    creator_user_name: USER,
    run_name: run.job.name,
    run_page_url: `${baseUrl}/#job/${run.job.id}/run/${run.id}`,
    run_type: 'JOB_RUN',
    trigger: 'ONE_TIME',
    attempt_number: 0,
    start_time: run.startTime,
    end_time: run.endTime,
    state: {
      life_cycle_state: run.lifeCycle,
      ...(run.result ? { result_state: run.result } : {}),
      state_message: run.stateMessage,
      user_cancelled_or_timedout: false,
    },
    status: {
      state: statusState(run.lifeCycle),
      ...(run.termination && TERMINAL_LIFE_CYCLES.has(run.lifeCycle)
        ? { termination_details: run.termination }
        : {}),
    },
    tasks: slice(run.tasks).map((t) => renderTask(t, baseUrl, run)),
    ...(run.job.jobClusters.length > 0 ? { job_clusters: slice(run.job.jobClusters) } : {}),
    ...(existing ? { cluster_spec: { existing_cluster_id: existing } } : {}),
    ...(single?.clusterInstance ? { cluster_instance: single.clusterInstance } : {}),
    ...(withHistory ? { repair_history: slice(run.repairs).map(renderRepair) } : {}),
  };
}

/**
 * `runs/get` of a task run id: the task run itself, linked to its job run by `job_run_id` (the
 * SDKs' field: "for task runs, the ID of the job run that the task run belongs to").
 */
export function renderTaskRun(run: SimRun, task: SimTask, baseUrl: string): Json {
  const rendered = renderTask(task, baseUrl, run);
  return {
    ...rendered,
    job_id: idValue(run.job.id),
    job_run_id: idValue(run.id),
    original_attempt_run_id: rendered.run_id,
    creator_user_name: USER,
    run_name: task.taskKey,
    run_type: 'JOB_RUN',
    trigger: 'ONE_TIME',
    tasks: [rendered],
    has_more: false,
  };
}

function renderTask(task: SimTask, baseUrl: string, run: SimRun): Json {
  const s = task.seed;
  return {
    run_id: task.runId ? idValue(task.runId) : undefined,
    task_key: task.taskKey,
    ...(s.existing_cluster_id ? { existing_cluster_id: s.existing_cluster_id } : {}),
    ...(s.job_cluster_key ? { job_cluster_key: s.job_cluster_key } : {}),
    ...(s.new_cluster ? { new_cluster: s.new_cluster } : {}),
    ...(s.depends_on ? { depends_on: s.depends_on } : {}),
    state: {
      life_cycle_state: task.lifeCycle,
      ...(task.result ? { result_state: task.result } : {}),
      state_message: task.termination?.message ?? '',
      user_cancelled_or_timedout: false,
    },
    status: {
      state: statusState(task.lifeCycle),
      ...(TERMINAL_LIFE_CYCLES.has(task.lifeCycle)
        ? { termination_details: task.termination ?? { code: 'SUCCESS', type: 'SUCCESS', message: '' } }
        : {}),
    },
    ...(task.clusterInstance ? { cluster_instance: { ...task.clusterInstance } } : {}),
    attempt_number: task.attempt,
    start_time: task.startTime,
    end_time: task.endTime,
    run_page_url: `${baseUrl}/#job/${run.job.id}/run/${task.runId}`,
  };
}

function renderRepair(repair: SimRepair): Json {
  return {
    type: repair.type,
    id: rawNumber(repair.id),
    start_time: repair.startTime,
    end_time: repair.endTime,
    state: {
      life_cycle_state: repair.lifeCycle,
      ...(repair.result ? { result_state: repair.result } : {}),
      state_message: '',
      user_cancelled_or_timedout: false,
    },
    status: { state: statusState(repair.lifeCycle) },
    task_run_ids: repair.taskRunIds.map(rawNumber),
  };
}

function statusState(lifeCycle: string): string {
  return TERMINAL_LIFE_CYCLES.has(lifeCycle) ? 'TERMINATED' : lifeCycle;
}

function pick(config: Json, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) if (typeof config[key] === 'string') out[key] = config[key] as string;
  return out;
}

function node(cluster: SimCluster, name: string, start: number): Json {
  const hash = [...`${cluster.id}/${name}`].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);
  return {
    node_id: `${(hash >>> 0).toString(16).padStart(8, '0')}${cluster.sparkContextId.slice(-8)}`,
    instance_id: `i-0${(hash >>> 0).toString(16).padStart(8, '0')}${cluster.sparkContextId.slice(0, 8)}`,
    private_ip: `10.${(hash >>> 16) & 255}.${(hash >>> 8) & 255}.${hash & 255}`,
    start_timestamp: start,
  };
}
