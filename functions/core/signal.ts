/**
 * One normalised failure signal: what the intake (custom cluster events, job notifications) and the
 * poller observe becomes this before classification, ticketing and recovery.
 */
import type { TerminationReason } from './schemas/common.ts';

export const SIGNAL_SOURCES = ['cluster_event', 'job_notification', 'poller'] as const;
export type SignalSource = (typeof SIGNAL_SOURCES)[number];

/** What was observed. */
export type SignalKind =
  /** The cluster terminated (or is terminating) with a termination reason. */
  | 'termination'
  /** The cluster failed to start (PENDING → TERMINATING → TERMINATED). */
  | 'start_failure'
  /** The cluster is RUNNING but its driver lost state (crash or unrequested restart). */
  | 'driver_loss'
  /** The cluster has been PENDING or RESTARTING for too long. */
  | 'stuck'
  /** The cluster is restarting (seed `cluster.restarting`); informational unless a reason says otherwise. */
  | 'restarting'
  /** A job run failed and no cluster failure explains it. */
  | 'job_failure';

export interface JobContext {
  readonly jobId: string;
  readonly runId: string;
  readonly jobName?: string;
  readonly taskKeys?: readonly string[];
  /** `status.termination_details` of the run (or failed task). */
  readonly terminationCode?: string;
  readonly terminationType?: string;
  readonly message?: string;
  readonly runPageUrl?: string;
}

export interface FailureSignal {
  readonly source: SignalSource;
  readonly kind: SignalKind;
  readonly workspaceId: string;
  readonly clusterId?: string;
  readonly clusterName?: string;
  readonly clusterState?: string;
  readonly clusterSource?: string;
  readonly stateMessage?: string;
  readonly terminationReason?: TerminationReason;
  /** `terminated_time` of the cluster, when known (epoch ms). */
  readonly terminatedTime?: number;
  /**
   * When no `terminated_time` is known: the timestamp of the `TERMINATING` event in `clusters/events`
   * that reports this termination (epoch ms).
   */
  readonly terminatingAt?: number;
  /** `last_state_loss_time` of the cluster, when known (epoch ms). */
  readonly lastStateLossTime?: number;
  readonly sparkContextId?: string;
  /** For a stuck cluster: when it entered PENDING or RESTARTING (epoch ms). */
  readonly stuckSince?: number;
  readonly job?: JobContext;
  /** When the system observed the signal (epoch ms). */
  readonly observedAt: number;
  /** Identical for every observation of the same incident, whichever path reports it. */
  readonly incidentKey: string;
}

const TERMINATION_LIKE: ReadonlySet<SignalKind> = new Set(['termination', 'start_failure', 'restarting']);

/** Window used to de-duplicate observations that carry no Databricks timestamp (seed events). */
export const INCIDENT_BUCKET_MS = 15 * 60 * 1000;

export type IncidentAnchor = Pick<
  FailureSignal,
  | 'workspaceId'
  | 'clusterId'
  | 'kind'
  | 'terminatedTime'
  | 'terminatingAt'
  | 'lastStateLossTime'
  | 'stuckSince'
  | 'observedAt'
  | 'job'
> & { readonly code?: string | undefined };

/**
 * Further keys of the same incident: a termination keyed on its `terminated_time` whose
 * `TERMINATING` event is known is also known under that event's key (what a replay after the cluster
 * was started again computes).
 */
export function incidentAliases(anchor: IncidentAnchor): string[] {
  if (anchor.terminatedTime === undefined || anchor.terminatingAt === undefined) return [];
  const alias = incidentKey({ ...anchor, terminatedTime: undefined });
  return alias === incidentKey(anchor) ? [] : [alias];
}

/**
 * The incident key. A cluster incident is anchored on the Databricks timestamp that identifies the
 * occurrence — `terminated_time` for a termination (else the time of its `TERMINATING` event),
 * `last_state_loss_time` for a driver loss, the time
 * a stuck cluster entered PENDING or RESTARTING — so the
 * poller, a job notification and a custom event about the same failure agree. Without one (a seed
 * event that omits it) the key falls back on the code and a 15-minute bucket of the observation time.
 * A job failure that no cluster failure explains is keyed on its run.
 */
export function incidentKey(anchor: IncidentAnchor): string {
  const ws = anchor.workspaceId;
  if (anchor.clusterId === undefined) {
    if (anchor.job === undefined) throw new Error('an incident needs a cluster id or a job run');
    return `${ws}#run#${anchor.job.runId}`;
  }
  const cluster = `${ws}#cluster#${anchor.clusterId}`;
  if (anchor.kind === 'driver_loss' && anchor.lastStateLossTime !== undefined) {
    return `${cluster}#state_loss#${anchor.lastStateLossTime}`;
  }
  if (anchor.kind === 'stuck' && anchor.stuckSince !== undefined) {
    return `${cluster}#stuck#${anchor.stuckSince}`;
  }
  if (anchor.kind === 'job_failure' && anchor.job !== undefined) {
    return `${ws}#run#${anchor.job.runId}`;
  }
  if (anchor.terminatedTime !== undefined && anchor.kind !== 'stuck' && anchor.kind !== 'driver_loss') {
    return `${cluster}#terminated#${anchor.terminatedTime}`;
  }
  if (anchor.terminatingAt !== undefined && TERMINATION_LIKE.has(anchor.kind)) {
    return `${cluster}#terminating#${anchor.terminatingAt}`;
  }
  const bucket = Math.floor(anchor.observedAt / INCIDENT_BUCKET_MS);
  // A termination reported as terminated, failed to start or restarting is one incident.
  const kind = TERMINATION_LIKE.has(anchor.kind) ? 'termination' : anchor.kind;
  return `${cluster}#${kind}#${anchor.code ?? 'none'}#b${bucket}`;
}
