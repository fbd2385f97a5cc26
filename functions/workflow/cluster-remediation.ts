/**
 * Carries out the planner's decision on the cluster (`plan.ts`), after the guard let it through:
 * start, restart, or `clusters/update` of exactly the decided fields then a start. In shadow mode it
 * records what it would have done and changes nothing. Databricks' answers that are not a failure of
 * the recovery — a refused change, the workspace's launch limit, someone else changing the cluster
 * between our read and our call — end in a new decision, never in a blind retry.
 */

import { launchThrottleSeconds } from '../core/playbooks.ts';
import type { ClusterDetails } from '../core/schemas/databricks.ts';
import { DatabricksApiError, DatabricksThrottledError, isInvalidState } from '../databricks/errors.ts';
import { CONFIG_REFUSED_EVENT, recordChange, refusedValues } from './config-changes.ts';
import type { ConfigDecision, Decision } from './decision.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
import type { Primitive, RecoveryState } from './model.ts';
import { backOff, delay, remediationStarted, shadow } from './outcomes.ts';
import { audit, callOptions, escalateWith, without } from './support.ts';

/** States an INVALID_STATE answer may name when someone else is already bringing the cluster up. */
const ALREADY_STARTING = new Set(['PENDING', 'RESTARTING', 'RESIZING', 'RUNNING']);

/** The decisions that call Databricks (or, for `wait` and `none`, go straight to verifying). */
type ActingDecision = Exclude<Decision, { kind: 'escalate' | 'delay' | 'backoff' | 'repair_run' }>;

export async function carryOut(
  state: RecoveryState,
  decision: Exclude<Decision, { kind: 'repair_run' }>,
  cluster: ClusterDetails,
  client: WorkflowDatabricks,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const now = deps.clock();
  if (decision.kind === 'escalate') return escalateWith(state, decision.reason, decision.evidence);
  if ('skippedByPolicy' in decision && decision.skippedByPolicy !== undefined) {
    await audit(deps, state, 'fallback_skipped_by_policy', {
      attempt: state.attempt,
      policyId: cluster.policy_id,
      skipped: decision.skippedByPolicy,
    });
  }
  if (state.input.playbook.mode === 'shadow') return shadow(state, wouldHaveDone(decision), deps);
  if (decision.kind === 'delay') return delay(state, decision.seconds, decision.description, now, deps);
  if (decision.kind === 'backoff') {
    deps.logger.info('remediation backs off first', {
      ticketId: state.input.ticketId,
      description: decision.description,
    });
    return backOff(state, now, deps);
  }
  return act(state, decision, cluster, client, now, deps);
}

/** Makes the decision's calls and records the remediation as started. */
async function act(
  state: RecoveryState,
  decision: ActingDecision,
  cluster: ClusterDetails,
  client: WorkflowDatabricks,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const config = isConfigDecision(decision) ? decision : undefined;
  const changes = config === undefined ? undefined : { ...config.values };
  const extra: Partial<RecoveryState> =
    config?.kind === 'rollback'
      ? { rolledBack: true }
      : config?.original === undefined
        ? {}
        : { original: config.original };
  // The fallback is put back once after a failed restore: the state no longer carries it afterwards.
  const current = decision.kind === 'reapply' ? without(state, 'fallback') : state;
  let primitive: Primitive;
  let description = decision.description;
  try {
    const called = await callDatabricks(state, decision, cluster, client, deps);
    if (typeof called !== 'string') return refused(state, called.decision, called.refusal, now, deps);
    primitive = called;
  } catch (error) {
    if (isLaunchThrottle(error)) return launchThrottled({ ...current, ...extra }, error, now, deps);
    if (!isInvalidState(error)) throw error;
    // Someone else changed the cluster between our read and our call (api-facts §6.5).
    if (error.state === undefined || !ALREADY_STARTING.has(error.state)) {
      // What was recorded or changed before the refusal stays known when deciding again.
      return delay(
        { ...current, ...extra },
        state.input.playbook.health_check_interval_seconds,
        `the cluster changed state (${error.state ?? 'unknown'}) before it could be acted on; deciding again`,
        now,
        deps,
      );
    }
    primitive = 'wait';
    description = `someone else is already starting the cluster (INVALID_STATE: ${error.state}); waiting for it`;
  }
  // A resize does not restart the cluster: last_restarted_time stays, so there is no restart to wait for.
  const restarts = !(decision.kind === 'wait' && cluster.state === 'RESIZING');
  return remediationStarted(
    without(current, 'launchThrottles'),
    { primitive, description, cluster, now, restarts, ...(changes === undefined ? {} : { changes }) },
    extra,
    deps,
  );
}

function isConfigDecision(decision: ActingDecision): decision is ConfigDecision {
  return decision.kind === 'fallback' || decision.kind === 'rollback' || decision.kind === 'reapply';
}

/**
 * The Databricks calls of a decision, and the primitive they amount to. Launch calls hand a
 * REQUEST_LIMIT_EXCEEDED back at once: the wait it asks for is minutes (`launchThrottled`). A
 * configuration change Databricks refused comes back as the refusal.
 */
async function callDatabricks(
  state: RecoveryState,
  decision: ActingDecision,
  cluster: ClusterDetails,
  client: WorkflowDatabricks,
  deps: WorkflowDeps,
): Promise<Primitive | { readonly decision: ConfigDecision; readonly refusal: DatabricksApiError }> {
  const clusterId = cluster.cluster_id;
  const options = { ...callOptions(deps), throttledAttempts: 1 };
  switch (decision.kind) {
    case 'start':
      await client.startCluster(clusterId, options);
      return 'start';
    case 'restart':
      await client.restartCluster(clusterId, options);
      return 'restart';
    case 'wait':
    case 'none':
      return decision.kind;
  }
  if (decision.applied !== true) {
    await recordChange(state, decision, deps);
    try {
      await client.updateCluster(
        { cluster_id: clusterId, update_mask: decision.fields, cluster: decision.values },
        options,
      );
    } catch (error) {
      if (!isRefusal(error)) throw error;
      return { decision, refusal: error };
    }
  }
  // An update of a RUNNING cluster restarts it; a TERMINATED one takes it at the next start.
  if (cluster.state === 'TERMINATED') await client.startCluster(clusterId, options);
  else if (decision.applied === true) return 'none';
  return decision.kind === 'rollback' ? 'rollback_start' : 'fallback_start';
}

/** The decision as "what would have been done", for shadow mode. */
function wouldHaveDone(decision: Exclude<Decision, { kind: 'escalate' | 'repair_run' }>): string {
  const text = decision.description;
  if (decision.kind === 'delay' || decision.kind === 'wait' || decision.kind === 'none')
    return `waited: ${text}`;
  return text;
}

/** A 400 that is not about the cluster's state: Databricks refused the change itself (a pool, a policy). */
function isRefusal(error: unknown): error is DatabricksApiError {
  return (
    error instanceof DatabricksApiError &&
    error.status === 400 &&
    !isInvalidState(error) &&
    !isLaunchThrottle(error)
  );
}

/**
 * Databricks' limit on cluster launches (api-facts §6.2: a token bucket per workspace that refills over
 * minutes, answered `REQUEST_LIMIT_EXCEEDED` with 429 or 400). Seconds of client retries only drain it
 * again, so a launch call gets it back at once and the workflow waits minutes.
 */
function isLaunchThrottle(error: unknown): error is DatabricksThrottledError {
  return error instanceof DatabricksThrottledError && error.errorCode === 'REQUEST_LIMIT_EXCEEDED';
}

/**
 * Databricks refused a configuration change (400): it is recorded as refused — never as a change
 * made — and its values are never tried again; the remediation decides again at once.
 */
async function refused(
  state: RecoveryState,
  decision: ConfigDecision,
  error: DatabricksApiError,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  await audit(deps, state, CONFIG_REFUSED_EVENT, {
    kind: decision.kind,
    attempt: state.attempt,
    fields: [...decision.fields],
    values: decision.values,
    errorCode: error.errorCode,
    message: error.apiMessage,
  });
  deps.logger.warn('Databricks refused a configuration change; it is not tried again', {
    ticketId: state.input.ticketId,
    fields: decision.fields,
    errorCode: error.errorCode,
    message: error.apiMessage,
  });
  const next: RecoveryState = {
    ...state,
    refused: [...(state.refused ?? []), ...refusedValues(decision)],
  };
  return delay(
    next,
    1,
    `Databricks refused ${decision.description} (${error.errorCode}); deciding again`,
    now,
    deps,
  );
}

/**
 * Databricks refused a launch for the workspace's launch limit: wait the playbook's
 * `launch_throttle_backoff` (minutes, growing with each refusal in a row), or longer if Databricks asked
 * for longer. It costs no attempt: nothing was tried on the cluster. The next Remediate reads the
 * cluster again and decides afresh (a recorded configuration change is finished then).
 */
async function launchThrottled(
  state: RecoveryState,
  error: DatabricksThrottledError,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const refusals = (state.launchThrottles ?? 0) + 1;
  const seconds = Math.max(
    launchThrottleSeconds(state.input.playbook, refusals),
    Math.ceil((error.retryAfterMs ?? 0) / 1000),
  );
  await audit(deps, state, 'launch_throttled', { attempt: state.attempt, refusals, seconds });
  deps.metrics?.count('LaunchesThrottled');
  return delay(
    { ...state, launchThrottles: refusals },
    seconds,
    `Databricks refused the launch (REQUEST_LIMIT_EXCEEDED, ${refusals} in a row); waiting ${seconds} s for the workspace's launch limit`,
    now,
    deps,
  );
}
