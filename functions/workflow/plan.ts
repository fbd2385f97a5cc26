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
 * |                        | (a change this attempt made already, before a retry: start only) |
 * | RUNNING, driver lost   | restart                                                          |
 * | RUNNING otherwise      | nothing: someone brought it back; verify                         |
 * | PENDING / RESTARTING   | nothing: someone else is starting it; verify                     |
 * | TERMINATING            | wait until TERMINATED, then decide again                         |
 * | ERROR / UNKNOWN        | escalate                                                         |
 *
 * After a failed restore of the original configuration, the fallback the cluster was healthy on is
 * put back first (once), whatever the action.
 */
import { ERROR_TYPE_INFO, type ErrorType } from '../core/error-types.ts';
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import type { ConfigChange, OriginalConfig, RecoveryInput, RecoveryState } from './model.ts';

/**
 * A configuration change: `clusters/update` of exactly `fields` (never `clusters/edit`, which
 * replaces the whole spec), then a start when the cluster is TERMINATED.
 */
export interface ConfigDecision {
  /** fallback: another node type / on-demand; rollback: undo a bad edit; reapply: the fallback again after a failed restore. */
  readonly kind: 'fallback' | 'rollback' | 'reapply';
  readonly description: string;
  /** The `update_mask`; a field absent from `values` is removed. */
  readonly fields: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
  /** Fallbacks: the configuration before any fallback of this recovery, for the restore. */
  readonly original?: OriginalConfig;
  /** The cluster has these values already (an earlier try of this step made the change): only start it. */
  readonly applied?: boolean;
}

export type Decision =
  | { readonly kind: 'escalate'; readonly reason: string; readonly evidence?: Record<string, unknown> }
  | { readonly kind: 'delay'; readonly seconds: number; readonly description: string }
  | { readonly kind: 'start' | 'restart'; readonly description: string }
  | ConfigDecision
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
    'attempt' | 'lastFailure' | 'failedNodeTypes' | 'rolledBack' | 'original' | 'restore' | 'fallback'
  >;
  readonly cluster: ClusterDetails;
  /**
   * The latest `EDITED`/`RUNNING` events, newest first, when the action needs the edit history
   * (`rollback_config`); undefined when it was not looked up.
   */
  readonly editHistory?: readonly ClusterEvent[];
  /** The configuration changes this recovery recorded so far, oldest first (`CONFIG_CHANGE_EVENT`). */
  readonly changes?: readonly ConfigChange[];
  /** Seconds to wait for a TERMINATING cluster before deciding again. */
  readonly pollSeconds: number;
}

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
  if (ctx.state.restore === 'failed' && ctx.state.fallback !== undefined) {
    return reapply(ctx, ctx.state.fallback, state);
  }
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
  // Issue 10: for a termination (a replayed seed event after its ticket closed), the termination's
  // own time counts as the loss, so a cluster started since is never restarted. Kept minimal: the
  // workflow guards of issue 11 cover the general case.
  const lostAt = input.signal.lastStateLossTime ?? input.signal.terminatedTime ?? input.signal.terminatingAt;
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
  const attributes = edit.details?.attributes ?? {};
  const changed = Object.keys({ ...previous, ...attributes })
    .filter((key) => !sameValue(previous[key], attributes[key]))
    .sort();
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

/** The size before an edit, when the edit changed it (`previous_cluster_size` vs `cluster_size`). */
function sizeBefore(edit: ClusterEvent): Record<string, unknown> | undefined {
  const details = edit.details as Record<string, unknown> | undefined;
  const before = details?.previous_cluster_size as Record<string, unknown> | undefined;
  if (before === undefined || sameValue(before, details?.cluster_size)) return undefined;
  if (before.autoscale !== undefined) return { autoscale: before.autoscale };
  if (before.num_workers !== undefined) return { num_workers: before.num_workers };
  return undefined;
}

/**
 * After a failed restore: the fallback the cluster was healthy on goes back (a RUNNING cluster
 * restarts to take it, a TERMINATED one is started), once a cluster in transition has settled.
 */
function reapply(ctx: PlanContext, fallback: OriginalConfig, clusterState: string): Decision {
  const { cluster } = ctx;
  if (clusterState === 'TERMINATED' || clusterState === 'RUNNING') {
    const shown = fallback.fields
      .map((field) => `${field}=${JSON.stringify(fallback.values[field] ?? null)}`)
      .join(', ');
    return {
      kind: 'reapply',
      description: `put the fallback back (${shown}) after the original configuration failed to come up${
        clusterState === 'TERMINATED' ? ' and started the cluster' : ''
      }`,
      fields: fallback.fields,
      values: fallback.values,
      ...(ctx.state.original === undefined ? {} : { original: ctx.state.original }),
      applied: hasValues(cluster, fallback),
    };
  }
  if (clusterState === 'TERMINATING' || STARTING_STATES.has(clusterState)) {
    return {
      kind: 'delay',
      seconds: ctx.pollSeconds,
      description: `the cluster is ${clusterState} after the failed restore; waiting to put the fallback back`,
    };
  }
  return {
    kind: 'escalate',
    reason: `cluster ${cluster.cluster_id} is in state ${clusterState} after a failed restore of its original configuration`,
    evidence: evidenceOf(cluster),
  };
}

/** The newest configuration change this attempt recorded, if any (the step is being retried). */
function changeOfThisAttempt(ctx: PlanContext): ConfigChange | undefined {
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

/** Whether the cluster's configuration has exactly `values` in `fields` (a field absent from `values`: unset). */
export function hasValues(
  cluster: ClusterDetails,
  config: { readonly fields: readonly string[]; readonly values: Readonly<Record<string, unknown>> },
): boolean {
  const current = originalOf(cluster, config.fields).values;
  return config.fields.every((field) => sameValue(current[field], config.values[field]));
}

/** Deep equality of JSON values, whatever the order of object keys. */
function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : inner,
  );
}

/** The values of `fields` as the user configured them (`spec`, else the cluster itself). */
export function originalOf(cluster: ClusterDetails, fields: readonly string[]): OriginalConfig {
  const source = (cluster.spec ?? cluster) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const field of fields) {
    const value = source[field] ?? (cluster as Record<string, unknown>)[field];
    if (value !== undefined) values[field] = value;
  }
  return { fields: [...fields], values };
}

/** Both configurations' fields; for a field in both, the earlier value (the original one). */
export function mergeOriginal(earlier: OriginalConfig | undefined, now: OriginalConfig): OriginalConfig {
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
