/**
 * The Databricks reads the workflow's steps share: a cluster, its policy and recent events, a run and
 * the parent run a repair goes to. A resource that no longer exists reads as undefined; any other
 * fault throws (the task is retried).
 */
import { type ClusterPolicy, parsePolicyDefinition } from '../core/cluster-policy.ts';
import type { ClusterDetails, ClusterEvent, Run } from '../core/schemas/databricks.ts';
import { DatabricksApiError, isNotFound, isThrottled } from '../databricks/errors.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
import { callOptions } from './support.ts';

export function readCluster(
  client: WorkflowDatabricks,
  clusterId: string,
  deps: WorkflowDeps,
): Promise<ClusterDetails | undefined> {
  return unlessGone(() => client.getCluster(clusterId, callOptions(deps)));
}

/** A run with its repair history. */
export function readRun(
  client: WorkflowDatabricks,
  runId: string,
  deps: WorkflowDeps,
): Promise<Run | undefined> {
  return unlessGone(() => client.getRun(runId, { include_history: true }, callOptions(deps)));
}

/** What `read` returns, or undefined when Databricks says the resource does not exist. */
async function unlessGone<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The run to repair: a run id read from a job cluster's name may be a task run id, whose repair must
 * go to its parent run (`parent_run_id` of `runs/get`).
 */
export async function readParentRun(
  client: WorkflowDatabricks,
  runId: string,
  deps: WorkflowDeps,
): Promise<{ readonly run: Run; readonly runId: string } | undefined> {
  const run = await readRun(client, runId, deps);
  if (run === undefined) return undefined;
  const parent = (run as { parent_run_id?: unknown }).parent_run_id;
  const parentId = typeof parent === 'number' || typeof parent === 'string' ? String(parent) : undefined;
  if (parentId === undefined || parentId === runId) return { run, runId };
  const parentRun = await readRun(client, parentId, deps);
  return parentRun === undefined ? { run, runId } : { run: parentRun, runId: parentId };
}

/**
 * The cluster's policy, to judge a fallback before it is sent. A policy that no longer exists forbids
 * every edit; one that cannot be read (no permission, a definition that is not JSON) is left to
 * Databricks, whose refusal is recorded as refused. Transient faults throw (the task is retried).
 */
export async function readPolicy(
  client: WorkflowDatabricks,
  policyId: string,
  deps: WorkflowDeps,
): Promise<ClusterPolicy | undefined> {
  try {
    const found = await client.getClusterPolicy(policyId, callOptions(deps));
    const definition = parsePolicyDefinition(found.definition, found.policy_family_definition_overrides);
    if (definition !== undefined) {
      return { policyId, ...(found.name === undefined ? {} : { name: found.name }), definition };
    }
    deps.logger.warn('the cluster policy definition is not a JSON object; fallbacks are left to Databricks', {
      policyId,
    });
    return undefined;
  } catch (error) {
    if (isNotFound(error)) return { policyId, gone: true };
    if (error instanceof DatabricksApiError && error.status < 500 && !isThrottled(error)) {
      deps.logger.warn('the cluster policy cannot be read; fallbacks are left to Databricks', {
        policyId,
        errorCode: error.errorCode,
      });
      return undefined;
    }
    throw error;
  }
}

/** The newest events of the given types (one page, newest first). */
export async function recentEvents(
  client: WorkflowDatabricks,
  clusterId: string,
  types: readonly string[],
  deps: WorkflowDeps,
  startTime?: number,
): Promise<ClusterEvent[]> {
  const page = await client.listClusterEvents(
    {
      cluster_id: clusterId,
      event_types: types,
      order: 'DESC',
      page_size: 25,
      ...(startTime === undefined ? {} : { start_time: startTime }),
    },
    callOptions(deps),
  );
  return page.events;
}
