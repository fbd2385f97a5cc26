/** Turns each input (custom cluster event, job run, cluster details) into a FailureSignal. */
import type { JobRunAnalysis } from './job-run.ts';
import type { ClusterDetails } from './schemas/databricks.ts';
import type { ClusterEventType, SeedClusterEvent } from './schemas/inbound.ts';
import {
  type FailureSignal,
  incidentKey,
  type JobContext,
  type SignalKind,
  type SignalSource,
} from './signal.ts';

export interface SignalContext {
  readonly workspaceId: string;
  /** Epoch ms of the observation. */
  readonly now: number;
  /** The time of the termination's `TERMINATING` event, when the intake looked it up. */
  readonly terminatingAt?: number;
}

const KIND_BY_EVENT: Readonly<Record<ClusterEventType, SignalKind>> = {
  'cluster.terminated': 'termination',
  'cluster.failed_to_start': 'start_failure',
  'cluster.restarting': 'restarting',
};

type SignalFields = Omit<FailureSignal, 'incidentKey'>;

/** The free-text classifier reads the first 4,000 characters; more is never needed. */
const MAX_MESSAGE_CHARS = 4000;

function withKey(fields: SignalFields): FailureSignal {
  return {
    ...fields,
    incidentKey: incidentKey({
      ...fields,
      code: fields.terminationReason?.code ?? fields.job?.terminationCode,
    }),
  };
}

/** Copies the optional cluster fields a signal carries, leaving absent ones out. */
function clusterFields(cluster: Partial<ClusterDetails>): Partial<SignalFields> {
  const out: Record<string, unknown> = {
    clusterId: cluster.cluster_id,
    clusterName: cluster.cluster_name,
    clusterState: cluster.state,
    clusterSource: cluster.cluster_source,
    // Signals are stored in the audit trail and passed to Step Functions (256 KB): keep messages short.
    stateMessage: cluster.state_message?.slice(0, MAX_MESSAGE_CHARS),
    // Only the fields a termination reason has: nothing else from the outside is kept.
    terminationReason: reasonFields(cluster.termination_reason),
    terminatedTime: cluster.terminated_time,
    lastStateLossTime: cluster.last_state_loss_time,
    sparkContextId: cluster.spark_context_id,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<SignalFields>;
}

function reasonFields(reason: ClusterDetails['termination_reason']): FailureSignal['terminationReason'] {
  if (reason === undefined) return undefined;
  const kept = { code: reason.code, type: reason.type, parameters: reason.parameters };
  return Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined));
}

/** Sender clocks may be off; a timestamp further than this from ours is not trusted. */
const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/** The sender's timestamp when it is plausible, else the time we observed the event. */
function plausibleTime(sent: number | undefined, now: number): number {
  return sent !== undefined && Math.abs(sent - now) <= MAX_CLOCK_SKEW_MS ? sent : now;
}

/** A seed custom cluster event. Its timestamp (when sent) anchors de-duplication of redeliveries. */
export function signalFromClusterEvent(event: SeedClusterEvent, ctx: SignalContext): FailureSignal {
  return withKey({
    source: 'cluster_event',
    kind: KIND_BY_EVENT[event.event],
    // Always the workspace the intake resolved: the body's workspace_id is Databricks' numeric id.
    workspaceId: ctx.workspaceId,
    observedAt: plausibleTime(event.timestamp, ctx.now),
    ...clusterFields(event.cluster),
    ...(ctx.terminatingAt === undefined ? {} : { terminatingAt: ctx.terminatingAt }),
  });
}

/** What a detector knows beyond the cluster itself. */
export interface SignalExtra {
  /** For a stuck cluster: when it entered PENDING or RESTARTING. */
  readonly stuckSince?: number | undefined;
  /** For a job cluster: its run, so that the workflow can repair it. */
  readonly job?: JobContext | undefined;
}

/** A cluster as `clusters/get` or `clusters/list` returns it, observed in a given kind of trouble. */
export function signalFromCluster(
  cluster: ClusterDetails,
  kind: SignalKind,
  source: SignalSource,
  ctx: SignalContext,
  extra: SignalExtra = {},
): FailureSignal {
  return withKey({
    source,
    kind,
    workspaceId: ctx.workspaceId,
    observedAt: ctx.now,
    ...clusterFields(cluster),
    ...(extra.stuckSince === undefined ? {} : { stuckSince: extra.stuckSince }),
    ...(extra.job === undefined ? {} : { job: extra.job }),
  });
}

/** A failed job run after enrichment: its cluster failure if one caused it, else a job failure. */
export function signalFromJobRun(analysis: JobRunAnalysis, ctx: SignalContext): FailureSignal {
  const cause = analysis.clusterCause;
  if (cause !== undefined) {
    return withKey({
      source: 'job_notification',
      kind: cause.kind,
      workspaceId: ctx.workspaceId,
      observedAt: ctx.now,
      ...clusterFields(cause.cluster),
      ...(ctx.terminatingAt === undefined ? {} : { terminatingAt: ctx.terminatingAt }),
      job: analysis.job,
    });
  }
  const clusterId = analysis.clusterIds[0];
  return withKey({
    source: 'job_notification',
    kind: 'job_failure',
    workspaceId: ctx.workspaceId,
    observedAt: ctx.now,
    ...(clusterId === undefined ? {} : { clusterId }),
    job: analysis.job,
  });
}
