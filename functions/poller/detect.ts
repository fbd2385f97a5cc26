/**
 * Detection from `clusters/list`, as pure functions. A healthy cluster is decided from its list entry
 * alone; only the few candidates that the list cannot settle (a driver's state loss, a cluster that may
 * be stuck) are looked up in `clusters/events`, and those rules are here too.
 */
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import type { FailureSignal, JobContext, SignalKind } from '../core/signal.ts';
import { type SignalExtra, signalFromCluster } from '../core/signal-builders.ts';

/** What a poll of one workspace compares the clusters with. */
export interface DetectionWindow {
  /** Epoch ms: terminations and driver state losses after this are new (cursor − overlap). */
  readonly since: number;
  /** Epoch ms of the poll, on the Databricks clock as far as the poller can tell. */
  readonly now: number;
  readonly stuckAfterMs: number;
}

export type ClusterFinding =
  /** An unexpected termination: reason type other than SUCCESS, terminated inside the window. */
  | { readonly kind: 'termination'; readonly cluster: ClusterDetails }
  /**
   * RUNNING, RESIZING or RESTARTING, and the driver lost its state inside the window at a time that is
   * not the cluster's start: its events tell whether a user's restart or a start explains it.
   */
  | { readonly kind: 'driver_loss'; readonly cluster: ClusterDetails; readonly lossTime: number }
  /**
   * PENDING or RESTARTING, maybe for too long. `listedSince` is the list's lower bound of when it got
   * there; the events tell the exact time.
   */
  | { readonly kind: 'stuck'; readonly cluster: ClusterDetails; readonly listedSince: number | undefined };

/** States in which a driver can lose its state; RESTARTING may be Databricks recovering a lost driver. */
const LOSS_STATES: ReadonlySet<string> = new Set(['RUNNING', 'RESIZING', 'RESTARTING']);
const STARTING_STATES: ReadonlySet<string> = new Set(['PENDING', 'RESTARTING']);

/**
 * A state loss this close to the cluster's start or last restart is that start: a start loses the
 * driver's state too. Databricks writes both times from the same event, so a few seconds suffice.
 */
export const START_TOLERANCE_MS = 10_000;

/** Looks at one cluster of the list; undefined means healthy (or nothing new). */
export function assessCluster(cluster: ClusterDetails, window: DetectionWindow): ClusterFinding | undefined {
  const state = cluster.state ?? '';
  if (state === 'TERMINATED') {
    const at = cluster.terminated_time;
    // TERMINATING is left for the next poll: the incident key is the terminated_time it will carry.
    if (at === undefined || at <= window.since) return undefined;
    if (cluster.termination_reason?.type === 'SUCCESS') return undefined;
    return { kind: 'termination', cluster };
  }
  if (LOSS_STATES.has(state)) {
    const lossTime = cluster.last_state_loss_time;
    if (lossTime !== undefined && lossTime > window.since && !isStart(cluster, lossTime)) {
      return { kind: 'driver_loss', cluster, lossTime };
    }
  }
  if (STARTING_STATES.has(state)) {
    const listedSince = maxDefined(cluster.start_time, cluster.last_restarted_time);
    // The list's time is a lower bound of when the cluster got there, so a recent one is surely fine.
    if (listedSince !== undefined && window.now - listedSince < window.stuckAfterMs) return undefined;
    return { kind: 'stuck', cluster, listedSince };
  }
  return undefined;
}

/**
 * Whether a state loss at `lossTime` is the cluster's start (or last restart) itself. A loss at any
 * other time — even before the last restart, when Databricks restarted a lost driver itself — is
 * left to the events. Real clusters often lack `last_restarted_time` and keep the `start_time` of
 * their creation, so a freshly started one is a candidate and costs one events call.
 */
export function isStart(cluster: ClusterDetails, lossTime: number): boolean {
  const near = (time: number | undefined) =>
    time !== undefined && Math.abs(lossTime - time) <= START_TOLERANCE_MS;
  if (near(cluster.last_restarted_time)) return true;
  return cluster.start_time !== undefined && lossTime <= cluster.start_time + START_TOLERANCE_MS;
}

/** Event types that mean the cluster was (re)started; the ones `enteredStateAt` reads. */
export const START_EVENT_TYPES = ['CREATING', 'STARTING', 'RESTARTING'] as const;

/** Event types that can explain a driver's state loss, plus RUNNING to see that it came back up in between. */
export const RESTART_EVENT_TYPES = [...START_EVENT_TYPES, 'AUTOMATIC_CLUSTER_UPDATE', 'RUNNING'] as const;

/**
 * When a PENDING or RESTARTING cluster got there: the latest CREATING, STARTING or RESTARTING event,
 * never earlier than the list's lower bound. Stable from one poll to the next, so it anchors the
 * incident key.
 */
export function enteredStateAt(
  events: readonly ClusterEvent[],
  listedSince: number | undefined,
): number | undefined {
  const starts = events
    .filter((e) => (START_EVENT_TYPES as readonly string[]).includes(e.type) && e.timestamp !== undefined)
    .map((e) => e.timestamp as number);
  return maxDefined(listedSince, ...starts);
}

export interface StateLossVerdict {
  /** True when a start, a user's restart or a planned update explains the loss: not a failure. */
  readonly explained: boolean;
  readonly reason: string;
}

/**
 * Decides whether a driver's state loss at `lossTime` was a restart someone asked for. The latest
 * start-like event at or before the loss (within `slackMs`) explains it if a user asked for it
 * (`details.user`, or cause USER_REQUEST), if it was a start or a planned AUTOMATIC_CLUSTER_UPDATE —
 * unless the cluster was RUNNING again in between, or Databricks restarted it itself (AUTORECOVERY).
 */
export function explainStateLoss(
  events: readonly ClusterEvent[],
  lossTime: number,
  slackMs = 60_000,
): StateLossVerdict {
  const timed = events
    .filter((e): e is ClusterEvent & { timestamp: number } => e.timestamp !== undefined)
    .slice()
    .sort((a, b) => a.timestamp - b.timestamp);
  const startTypes: readonly string[] = [...START_EVENT_TYPES, 'AUTOMATIC_CLUSTER_UPDATE'];
  let restart: (ClusterEvent & { timestamp: number }) | undefined;
  for (const event of timed) {
    if (event.timestamp <= lossTime + slackMs && startTypes.includes(event.type)) restart = event;
  }
  if (restart === undefined) {
    return { explained: false, reason: 'no start or restart event precedes the state loss' };
  }
  const since = restart.timestamp;
  const upInBetween = timed.some(
    (e) => e.type === 'RUNNING' && e.timestamp > since && e.timestamp < lossTime - slackMs,
  );
  if (upInBetween) {
    return {
      explained: false,
      reason: `the cluster was RUNNING again after the ${restart.type} event; the state loss came later`,
    };
  }
  const cause = restart.details?.cause;
  const user = restart.details?.user;
  if (cause === 'AUTORECOVERY') {
    return {
      explained: false,
      reason: `Databricks restarted the cluster itself (${restart.type}, AUTORECOVERY)`,
    };
  }
  if (restart.type === 'AUTOMATIC_CLUSTER_UPDATE') {
    return { explained: true, reason: 'a planned automatic cluster update restarted the cluster' };
  }
  if (restart.type !== 'RESTARTING') {
    return { explained: true, reason: `the cluster was started (${restart.type})` };
  }
  if (cause === 'USER_REQUEST' || (user !== undefined && user !== '')) {
    return { explained: true, reason: `restarted on request${user ? ` of ${user}` : ''}` };
  }
  return { explained: false, reason: 'the RESTARTING event names no user and no user request' };
}

/**
 * How long a driver loss is given to heal before it is a failure: Databricks recovers a crashed
 * driver itself within a minute or two (DRIVER_NOT_RESPONDING, then DRIVER_HEALTHY). Until then the
 * poller decides nothing and looks again at its next run (the item holds the cursor).
 */
export const DRIVER_HEAL_GRACE_MS = 3 * 60_000;

/** Event types that tell whether a lost driver came back by itself. */
export const DRIVER_HEALTH_EVENT_TYPES = ['DRIVER_NOT_RESPONDING', 'DRIVER_HEALTHY'] as const;

export type DriverLossVerdict =
  /** A DRIVER_HEALTHY at or after the loss, and after any later DRIVER_NOT_RESPONDING: not a failure. */
  | { readonly kind: 'healed'; readonly reason: string }
  /** Not healed yet, and the loss is recent: look again at the next run. */
  | { readonly kind: 'pending'; readonly reason: string }
  /** Not healed within the grace period: a failure to recover. */
  | { readonly kind: 'unhealthy'; readonly reason: string };

/**
 * A driver loss Databricks already healed is not a failure to restart (restarting would cut off
 * every notebook and job attached to the cluster a second time).
 *
 * | DRIVER_HEALTHY after the loss (and after the last DRIVER_NOT_RESPONDING) | healed    |
 * | none, loss younger than `graceMs`                                          | pending   |
 * | none, loss older                                                           | unhealthy |
 */
export function driverLossVerdict(
  events: readonly ClusterEvent[],
  lossTime: number,
  now: number,
  graceMs = DRIVER_HEAL_GRACE_MS,
): DriverLossVerdict {
  let healthy: number | undefined;
  let silent: number | undefined;
  for (const event of events) {
    const at = event.timestamp;
    if (at === undefined || at < lossTime) continue;
    if (event.type === 'DRIVER_HEALTHY') healthy = Math.max(healthy ?? at, at);
    if (event.type === 'DRIVER_NOT_RESPONDING') silent = Math.max(silent ?? at, at);
  }
  if (healthy !== undefined && (silent === undefined || healthy >= silent)) {
    return {
      kind: 'healed',
      reason: `Databricks recovered the driver itself (DRIVER_HEALTHY at ${new Date(healthy).toISOString()})`,
    };
  }
  if (now - lossTime < graceMs) {
    return { kind: 'pending', reason: 'the driver may still recover by itself; looked at again next run' };
  }
  return {
    kind: 'unhealthy',
    reason: `no DRIVER_HEALTHY within ${Math.round(graceMs / 60_000)} minutes of the loss`,
  };
}

// `job-<job id>-run-<run id>`, the name Databricks gives a job cluster (a suffix may follow).
const JOB_CLUSTER_NAME = /^job-(\d+)-run-(\d+)(?:-|$)/;

/** The job run a job cluster (`cluster_source: JOB`) belongs to, from its name. */
export function jobOfCluster(cluster: ClusterDetails): JobContext | undefined {
  if (cluster.cluster_source !== 'JOB' || cluster.cluster_name === undefined) return undefined;
  const match = JOB_CLUSTER_NAME.exec(cluster.cluster_name);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { jobId: match[1], runId: match[2] };
}

export type PollerSignalExtra = SignalExtra;

/**
 * The poller's failure signal for a cluster, with the same incident key a webhook would derive for
 * the same failure.
 */
export function pollerSignal(
  cluster: ClusterDetails,
  kind: SignalKind,
  ctx: { readonly workspaceId: string; readonly now: number },
  extra: PollerSignalExtra = {},
): FailureSignal {
  return signalFromCluster(cluster, kind, 'poller', ctx, extra);
}

function maxDefined(...values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : Math.max(...defined);
}
