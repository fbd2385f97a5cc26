/**
 * The remediation decision: which Databricks primitive fits the cluster's CURRENT state and kind
 * (api-facts §3, §6.5). Pure: the caller fetches the cluster (and, when asked, its edit history) and
 * carries the decision out.
 *
 * | cluster state          | decision                                                         |
 * |------------------------|------------------------------------------------------------------|
 * | job cluster (JOB)      | repair the run (job clusters can be neither started nor edited)   |
 * | TERMINATED             | start — with a fallback node type / on-demand for capacity and    |
 * |                        | spot failures, after rolling back a bad edit for config errors   |
 * | RUNNING, driver lost   | restart                                                          |
 * | RUNNING otherwise      | nothing: someone brought it back; verify                         |
 * | PENDING / RESTARTING   | nothing: someone else is starting it; verify                     |
 * | TERMINATING            | wait until TERMINATED, then decide again                         |
 * | ERROR / UNKNOWN        | escalate                                                         |
 */
import { ERROR_TYPE_INFO, type ErrorType } from '../core/error-types.ts';
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import type { OriginalConfig, RecoveryInput, RecoveryState } from './model.ts';

export type Decision =
  | { readonly kind: 'escalate'; readonly reason: string; readonly evidence?: Record<string, unknown> }
  | { readonly kind: 'delay'; readonly seconds: number; readonly description: string }
  | { readonly kind: 'start' | 'restart'; readonly description: string }
  | {
      readonly kind: 'fallback';
      readonly description: string;
      /** Fields to change (`clusters/update` mask) and their new values. */
      readonly fields: readonly string[];
      readonly values: Readonly<Record<string, unknown>>;
      readonly original: OriginalConfig;
    }
  | { readonly kind: 'rollback'; readonly description: string; readonly attributes: Record<string, unknown> }
  | { readonly kind: 'wait' | 'none'; readonly description: string }
  | { readonly kind: 'repair_run' };

const DRIVER_TYPES: ReadonlySet<string> = new Set<ErrorType>([
  'DatabricksDriverNotResponding',
  'DatabricksDriverOutOfMemory',
]);

const STARTING_STATES = new Set(['PENDING', 'RESTARTING', 'RESIZING']);

/** Availability values meaning spot/preemptible capacity, and their on-demand counterparts. */
const ON_DEMAND_FOR: Readonly<Record<string, { readonly attribute: string; readonly value: string }>> = {
  SPOT: { attribute: 'aws_attributes', value: 'ON_DEMAND' },
  SPOT_WITH_FALLBACK: { attribute: 'aws_attributes', value: 'ON_DEMAND' },
  SPOT_AZURE: { attribute: 'azure_attributes', value: 'ON_DEMAND_AZURE' },
  SPOT_WITH_FALLBACK_AZURE: { attribute: 'azure_attributes', value: 'ON_DEMAND_AZURE' },
  PREEMPTIBLE_GCP: { attribute: 'gcp_attributes', value: 'ON_DEMAND_GCP' },
  PREEMPTIBLE_WITH_FALLBACK_GCP: { attribute: 'gcp_attributes', value: 'ON_DEMAND_GCP' },
};

export interface PlanContext {
  readonly input: RecoveryInput;
  readonly state: Pick<
    RecoveryState,
    'attempt' | 'lastFailure' | 'failedNodeTypes' | 'rolledBack' | 'original'
  >;
  readonly cluster: ClusterDetails;
  /**
   * The latest `EDITED`/`RUNNING` events, newest first, when the action needs the edit history
   * (`rollback_config`); undefined when it was not looked up.
   */
  readonly editHistory?: readonly ClusterEvent[];
  /** Seconds to wait for a TERMINATING cluster before deciding again. */
  readonly pollSeconds: number;
}

/** Whether the decision needs the cluster's recent EDITED/RUNNING events. */
export function needsEditHistory(
  input: RecoveryInput,
  state: PlanContext['state'],
  cluster: ClusterDetails,
): boolean {
  return input.action === 'rollback_config' && state.rolledBack !== true && cluster.state === 'TERMINATED';
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
  switch (input.action) {
    case 'restart_with_different_instance_type':
      return (
        nodeTypeFallback(ctx) ?? onDemandFallback(ctx) ?? plainStart(ctx, 'no fallback node type is left')
      );
    case 'restart_with_on_demand':
      return (
        onDemandFallback(ctx) ??
        nodeTypeFallback(ctx) ??
        plainStart(ctx, 'the cluster already uses on-demand capacity')
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

function plainStart(ctx: PlanContext, why?: string): Decision {
  const retry = ctx.state.attempt > 1 ? ` (attempt ${ctx.state.attempt})` : '';
  return {
    kind: 'start',
    description: `started the TERMINATED cluster${retry}${why === undefined ? '' : `; ${why}`}`,
  };
}

function needsRestart(ctx: PlanContext): boolean {
  const { input, state, cluster } = ctx;
  if (state.lastFailure?.kind === 'driver_unresponsive') return true;
  const driverIncident = input.signal.kind === 'driver_loss' || DRIVER_TYPES.has(input.errorType);
  if (!driverIncident) return false;
  // Someone restarted it after the driver was lost: nothing left to do but verify.
  const lostAt = input.signal.lastStateLossTime;
  const restartedAt = cluster.last_restarted_time;
  return !(lostAt !== undefined && restartedAt !== undefined && restartedAt > lostAt);
}

function nodeTypeFallback(ctx: PlanContext): Decision | undefined {
  const { cluster, input, state } = ctx;
  const current = cluster.node_type_id;
  if (current === undefined) return undefined;
  const failed = new Set([...(state.failedNodeTypes ?? []), current]);
  const originalType = state.original?.values.node_type_id;
  const next = input.playbook.fallback_node_types.find((type) => !failed.has(type) && type !== originalType);
  if (next === undefined) return undefined;
  const fields = ['node_type_id'];
  const values: Record<string, unknown> = { node_type_id: next };
  // A driver on the same node type would hit the same shortage; a deliberately different one stays.
  if (cluster.driver_node_type_id !== undefined && cluster.driver_node_type_id === current) {
    fields.push('driver_node_type_id');
    values.driver_node_type_id = next;
  }
  return {
    kind: 'fallback',
    description: `switched node type ${current} → ${next} and started the cluster`,
    fields,
    values,
    original: mergeOriginal(state.original, originalOf(cluster, fields)),
  };
}

function onDemandFallback(ctx: PlanContext): Decision | undefined {
  const { cluster, state } = ctx;
  for (const attribute of ['aws_attributes', 'azure_attributes', 'gcp_attributes'] as const) {
    const current = (cluster.spec?.[attribute] ?? cluster[attribute]) as Record<string, unknown> | undefined;
    const availability = current?.availability;
    if (typeof availability !== 'string') continue;
    const target = ON_DEMAND_FOR[availability];
    if (target === undefined || target.attribute !== attribute) continue;
    const next = { ...current, availability: target.value };
    return {
      kind: 'fallback',
      description: `switched ${attribute}.availability ${availability} → ${target.value} and started the cluster`,
      fields: [attribute],
      values: { [attribute]: next },
      original: mergeOriginal(state.original, originalOf(cluster, [attribute])),
    };
  }
  return undefined;
}

function rollback(ctx: PlanContext): Decision {
  const { cluster, state, input } = ctx;
  if (state.rolledBack === true) return plainStart(ctx, 'the bad edit was rolled back already');
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
  if (typeof previous.spark_version !== 'string') {
    return {
      kind: 'escalate',
      reason: `${input.errorType}: the last edit's previous attributes lack spark_version, so they cannot be restored safely`,
      evidence: { ...evidenceOf(cluster), previous_attributes: previous },
    };
  }
  const changed = Object.keys({ ...previous, ...(edit?.details?.attributes ?? {}) })
    .filter((key) => JSON.stringify(previous[key]) !== JSON.stringify(edit?.details?.attributes?.[key]))
    .sort();
  return {
    kind: 'rollback',
    description: `rolled back the edit of ${new Date(edit.timestamp ?? 0).toISOString()}${
      edit.details?.user ? ` by ${edit.details.user}` : ''
    }${changed.length > 0 ? ` (${changed.join(', ')})` : ''} and started the cluster`,
    attributes: previous,
  };
}

/** The values of `fields` as the user configured them (`spec`, else the cluster itself). */
function originalOf(cluster: ClusterDetails, fields: readonly string[]): OriginalConfig {
  const source = (cluster.spec ?? cluster) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const value = source[field] ?? (cluster as Record<string, unknown>)[field];
    if (value !== undefined) values[field] = value;
  }
  return { fields: [...fields], values };
}

function mergeOriginal(earlier: OriginalConfig | undefined, now: OriginalConfig): OriginalConfig {
  if (earlier === undefined) return now;
  const fields = [...new Set([...earlier.fields, ...now.fields])];
  // The earliest value of a field is the original one.
  return { fields, values: { ...now.values, ...earlier.values } };
}

/** What a human needs to see about a cluster that is escalated. */
export function evidenceOf(
  cluster: ClusterDetails,
  events: readonly ClusterEvent[] = [],
): Record<string, unknown> {
  const initScripts = events.find((event) => event.type === 'INIT_SCRIPTS_FINISHED')?.details?.init_scripts;
  return {
    cluster_id: cluster.cluster_id,
    ...(cluster.cluster_name === undefined ? {} : { cluster_name: cluster.cluster_name }),
    state: cluster.state,
    ...(cluster.state_message ? { state_message: cluster.state_message } : {}),
    ...(cluster.termination_reason === undefined ? {} : { termination_reason: cluster.termination_reason }),
    ...(initScripts === undefined ? {} : { init_scripts: initScripts }),
  };
}
