import { ERROR_TYPE_INFO, type ErrorType } from '../core/error-types.ts';
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import { evidenceOf, hasValues, sameValue } from './cluster-config.ts';
import type { ConfigDecision, Decision, PlanContext } from './decision.ts';
import {
  firstAllowed,
  isPoolCluster,
  nodeTypeFallback,
  onDemandFallback,
  plainStart,
  poolFallback,
} from './fallbacks.ts';
import type { ConfigChange, RecoveryInput } from './model.ts';

const DRIVER_TYPES: ReadonlySet<string> = new Set<ErrorType>([
  'DatabricksDriverNotResponding',
  'DatabricksDriverOutOfMemory',
]);

const STARTING_STATES = new Set(['PENDING', 'RESTARTING', 'RESIZING']);

/** A rollback undoes only an edit made this shortly before the failure: an older one is not its cause. */
export const ROLLBACK_WINDOW_MS = 60 * 60_000;

/**
 * Identity and security attributes: a rollback never reverts them (an admin's deliberate change); a
 * failure after such an edit is escalated with the diff.
 */
export const SECURITY_FIELDS: readonly string[] = [
  'data_security_mode',
  'single_user_name',
  'policy_id',
  'aws_attributes.instance_profile_arn',
  'gcp_attributes.google_service_account',
  'azure_attributes.log_analytics_info',
];

/** Whether the decision needs the cluster's recent EDITED/RUNNING events. */
export function needsEditHistory(ctx: Omit<PlanContext, 'editHistory' | 'pollSeconds'>): boolean {
  return (
    ctx.input.action === 'rollback_config' && !rolledBackAlready(ctx) && ctx.cluster.state === 'TERMINATED'
  );
}

/** The bad edit was rolled back by this recovery: never roll back twice (that would undo the rollback). */
function rolledBackAlready(ctx: Pick<PlanContext, 'state' | 'changes'>): boolean {
  return ctx.state.rolledBack === true || (ctx.changes ?? []).some((change) => change.kind === 'rollback');
}

export function planClusterRemediation(ctx: PlanContext): Decision {
  const { input, cluster } = ctx;
  if (cluster.cluster_source === 'JOB') {
    if (input.runId !== undefined) return { kind: 'repair_run' };
    return {
      kind: 'escalate',
      reason: `cluster ${cluster.cluster_id} is a job cluster: it can be neither started nor edited, and the incident names no run to repair`,
      evidence: evidenceOf(cluster),
    };
  }
  const state = cluster.state ?? 'UNKNOWN';
  if (STARTING_STATES.has(state)) {
    return { kind: 'wait', description: `the cluster is already ${state}; waiting for it to come up` };
  }
  if (state === 'TERMINATING') {
    return {
      kind: 'delay',
      seconds: ctx.pollSeconds,
      description: 'the cluster is TERMINATING; waiting until it is TERMINATED to start it',
    };
  }
  if (state === 'RUNNING') {
    if (needsRestart(ctx))
      return { kind: 'restart', description: 'restarted the RUNNING cluster whose driver was lost' };
    return { kind: 'none', description: 'the cluster is RUNNING again; verifying its health' };
  }
  if (state !== 'TERMINATED') {
    return {
      kind: 'escalate',
      reason: `cluster ${cluster.cluster_id} is in state ${state}, from which no safe automatic action exists`,
      evidence: evidenceOf(cluster),
    };
  }
  const earlier = changeOfThisAttempt(ctx);
  if (earlier !== undefined) return changeAgain(ctx, earlier);
  switch (input.action) {
    case 'restart_with_different_instance_type':
      if (isPoolCluster(cluster)) return poolFallback(ctx);
      return firstAllowed(ctx, [nodeTypeFallback, onDemandFallback], 'no fallback node type is left');
    case 'restart_with_on_demand':
      if (isPoolCluster(cluster)) return poolFallback(ctx);
      return firstAllowed(
        ctx,
        [onDemandFallback, nodeTypeFallback],
        'the cluster already uses on-demand capacity',
      );
    case 'rollback_config':
      return rollback(ctx);
    case 'repair_run':
      return input.runId === undefined ? plainStart(ctx) : { kind: 'repair_run' };
    case 'escalate':
      return escalation(input, cluster);
    default:
      return plainStart(ctx);
  }
}

/** The escalation for an `escalate` action: no safe automatic action, with the evidence. */
export function escalation(
  input: RecoveryInput,
  cluster?: ClusterDetails,
  events: readonly ClusterEvent[] = [],
): Extract<Decision, { kind: 'escalate' }> {
  const info = ERROR_TYPE_INFO[input.errorType as ErrorType];
  return {
    kind: 'escalate',
    reason: `no safe automatic action for ${input.errorType}${info ? ` (${info.description})` : ''}; a human must fix the cause`,
    evidence: cluster === undefined ? {} : evidenceOf(cluster, events),
  };
}

function needsRestart(ctx: PlanContext): boolean {
  const { input, state, cluster } = ctx;
  if (state.lastFailure?.kind === 'driver_unresponsive') return true;
  const driverIncident = input.signal.kind === 'driver_loss' || DRIVER_TYPES.has(input.errorType);
  if (!driverIncident) return false;
  // Someone restarted it after the driver was lost: nothing left to do but verify.
  // Issue 10: for a termination (a replayed seed event after its ticket closed), the termination's
  // own time counts as the loss, so a cluster started since is never restarted. Kept minimal: the
  // workflow guards of issue 11 cover the general case.
  const lostAt = input.signal.lastStateLossTime ?? input.signal.terminatedTime ?? input.signal.terminatingAt;
  const restartedAt = cluster.last_restarted_time;
  return !(lostAt !== undefined && restartedAt !== undefined && restartedAt > lostAt);
}

/** Whether the decision is a fresh fallback for a cluster with a policy: read it (one call) and decide again. */
export function needsPolicy(
  ctx: Pick<PlanContext, 'cluster' | 'state' | 'changes' | 'policy'>,
  decision: Decision,
): boolean {
  return (
    decision.kind === 'fallback' &&
    ctx.policy === undefined &&
    (ctx.cluster.policy_id ?? '') !== '' &&
    changeOfThisAttempt(ctx) === undefined
  );
}

function rollback(ctx: PlanContext): Decision {
  const { cluster, input } = ctx;
  if (rolledBackAlready(ctx)) return plainStart(ctx, 'the bad edit was rolled back already');
  const history = ctx.editHistory ?? [];
  const edit = history[0];
  const previous = edit?.type === 'EDITED' ? edit.details?.previous_attributes : undefined;
  if (edit === undefined || previous === undefined) {
    const editedBefore = history.some((event) => event.type === 'EDITED');
    return {
      kind: 'escalate',
      reason: editedBefore
        ? `${input.errorType}: the cluster ran after its last edit, so the edit is not the cause; the configuration must be fixed by hand (no blind retry)`
        : `${input.errorType}: the cluster has no recent edit to roll back; the configuration must be fixed by hand (no blind retry)`,
      evidence: evidenceOf(cluster),
    };
  }
  const failedAt = cluster.terminated_time ?? ctx.now;
  if (
    failedAt !== undefined &&
    edit.timestamp !== undefined &&
    failedAt - edit.timestamp > ROLLBACK_WINDOW_MS
  ) {
    return {
      kind: 'escalate',
      reason: `${input.errorType}: the last edit (${new Date(edit.timestamp).toISOString()}) was made more than ${ROLLBACK_WINDOW_MS / 60_000} minutes before the failure, so it is not rolled back; the configuration must be fixed by hand (no blind retry)`,
      evidence: evidenceOf(cluster),
    };
  }
  const attributes = edit.details?.attributes ?? {};
  const changed = Object.keys({ ...previous, ...attributes })
    .filter((key) => !sameValue(previous[key], attributes[key]))
    .sort();
  const security = securityChanges(previous, attributes);
  if (security.length > 0) {
    return {
      kind: 'escalate',
      reason: `${input.errorType}: the last edit${edit.details?.user ? ` by ${edit.details.user}` : ''} changed identity or security settings (${security
        .map((change) => change.field)
        .join(', ')}), which are never rolled back automatically; a human must decide`,
      evidence: { ...evidenceOf(cluster), edit_diff: security, edited_at: edit.timestamp },
    };
  }
  if (changed.includes('spark_version') && typeof previous.spark_version !== 'string') {
    return {
      kind: 'escalate',
      reason: `${input.errorType}: the last edit's previous attributes lack spark_version, so they cannot be restored safely`,
      evidence: { ...evidenceOf(cluster), previous_attributes: previous },
    };
  }
  const values: Record<string, unknown> = {};
  for (const key of changed) if (previous[key] !== undefined) values[key] = previous[key];
  // ClusterAttributes carry no size: a resize that came with the edit is in the *_cluster_size fields.
  const size = sizeBefore(edit);
  const fields = [...new Set([...changed, ...(size === undefined ? [] : SIZE_FIELDS)])].sort();
  if (size !== undefined) Object.assign(values, size);
  if (fields.length === 0) {
    return {
      kind: 'escalate',
      reason: `${input.errorType}: the last edit changed nothing that can be rolled back; the configuration must be fixed by hand (no blind retry)`,
      evidence: evidenceOf(cluster),
    };
  }
  const named = [...changed, ...(size === undefined ? [] : ['size'])];
  return {
    kind: 'rollback',
    description: `rolled back the edit of ${new Date(edit.timestamp ?? 0).toISOString()}${
      edit.details?.user ? ` by ${edit.details.user}` : ''
    } (${named.join(', ')}) and started the cluster`,
    fields,
    values,
  };
}

const SIZE_FIELDS = ['autoscale', 'num_workers'];

/** The identity and security fields an edit changed, with their values before and after. */
export function securityChanges(
  previous: Readonly<Record<string, unknown>>,
  attributes: Readonly<Record<string, unknown>>,
): { readonly field: string; readonly before: unknown; readonly after: unknown }[] {
  return SECURITY_FIELDS.flatMap((path) => {
    const before = valueAt(previous, path);
    const after = valueAt(attributes, path);
    return sameValue(before, after) ? [] : [{ field: path, before: before ?? null, after: after ?? null }];
  });
}

function valueAt(source: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = source;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The size before an edit, when the edit changed it (`previous_cluster_size` vs `cluster_size`). */
function sizeBefore(edit: ClusterEvent): Record<string, unknown> | undefined {
  const details = edit.details as Record<string, unknown> | undefined;
  const before = details?.previous_cluster_size as Record<string, unknown> | undefined;
  if (before === undefined || sameValue(before, details?.cluster_size)) return undefined;
  if (before.autoscale !== undefined) return { autoscale: before.autoscale };
  if (before.num_workers !== undefined) return { num_workers: before.num_workers };
  return undefined;
}

/** The newest configuration change this attempt recorded, if any (the step is being retried). */
function changeOfThisAttempt(ctx: Pick<PlanContext, 'changes' | 'state'>): ConfigChange | undefined {
  return (ctx.changes ?? []).filter((change) => change.attempt === ctx.state.attempt).at(-1);
}

/**
 * A change an earlier try of this step recorded: on the cluster already → only start it; not there
 * (the call failed) → the very same change again. Deciding afresh would take the fallback for the
 * original, or roll back our own rollback.
 */
function changeAgain(ctx: PlanContext, change: ConfigChange): ConfigDecision {
  const applied = hasValues(ctx.cluster, change);
  const original = change.kind === 'rollback' ? undefined : (ctx.state.original ?? change.original);
  return {
    kind: change.kind,
    description: applied
      ? `${change.description} (the change was made by an earlier try)`
      : change.description,
    fields: change.fields,
    values: change.values,
    ...(original === undefined ? {} : { original }),
    applied,
  };
}
