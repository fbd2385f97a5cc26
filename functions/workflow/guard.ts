/**
 * The guard before every mutating call: is the incident's failure still the cluster's present
 * condition, and is the cluster ours to touch? Pure: the caller reads the cluster afresh (and, when
 * `needsDriverEvents` says so, its driver events) on each attempt and step, and calls this before
 * any start, restart or update. Only `act` lets a mutating call through.
 *
 * | fresh cluster                                        | incident / recovery                 | verdict                          |
 * |------------------------------------------------------|-------------------------------------|----------------------------------|
 * | `cluster_source` PIPELINE, PIPELINE_MAINTENANCE, SQL, MODELS | any                          | escalate: owned, nothing changed |
 * | `cluster_source` JOB                                 | any                                 | act (runs only: `jobs/runs/repair`) |
 * | TERMINATED/TERMINATING by a SUCCESS-type termination | any                                 | resolved: stopped by its owner / auto-terminated / job ended |
 * | TERMINATED, same `terminated_time` as the incident   | termination                         | act (unless idle, below)         |
 * | TERMINATED, later non-SUCCESS termination            | this recovery acted already         | act: its own attempt failed      |
 * | TERMINATED, later non-SUCCESS termination            | same class of failure               | act                              |
 * | TERMINATED, later non-SUCCESS termination            | another class                       | escalate with the evidence       |
 * | TERMINATED, all-purpose, idle past its autotermination window when it failed | nothing done yet | resolved: would have stopped anyway |
 * | TERMINATED (non-SUCCESS)                             | driver loss, nothing done yet       | resolved: superseded (the termination is its own incident) |
 * | RUNNING                                              | driver loss: restarted since        | resolved: restarted by someone else |
 * | RUNNING                                              | driver loss: DRIVER_HEALTHY after it | resolved: healed by Databricks  |
 * | RUNNING                                              | driver loss older than `recentMs`   | resolved: healed by Databricks (stale) |
 * | RUNNING                                              | driver loss, driver still unhealthy | act (restart)                    |
 * | RUNNING with a healthy driver                        | termination, nothing done yet       | resolved: someone brought it back |
 * | anything else (PENDING, RESTARTING, RESIZING, TERMINATING non-SUCCESS, RUNNING after our action) | | act: the plan waits or verifies without a mutating call |
 */
import { classifyTermination } from '../core/classifier/classify.ts';
import { ERROR_TYPE_INFO, type ErrorType } from '../core/error-types.ts';
import type { ClusterDetails, ClusterEvent } from '../core/schemas/databricks.ts';
import type { FailureSignal } from '../core/signal.ts';

/** Cluster sources whose lifecycle another Databricks service owns (api-facts §2.2). */
export const OWNED_SOURCES: ReadonlySet<string> = new Set([
  'JOB',
  'PIPELINE',
  'PIPELINE_MAINTENANCE',
  'SQL',
  'MODELS',
]);

/** All-purpose clusters: the only ones the automation may start, restart or update. */
const ALL_PURPOSE_SOURCES: ReadonlySet<string> = new Set(['UI', 'API']);

export type Resolution =
  /** The owner stopped it, it auto-terminated or its job ended: the failure is gone. */
  | 'stopped_by_owner'
  /** RUNNING and healthy again, brought back by someone else. */
  | 'already_running'
  /** Databricks healed the driver itself. */
  | 'healed_by_databricks'
  /** Idle longer than its autotermination window when it failed: it would have stopped anyway. */
  | 'idle'
  /** A driver loss the cluster's later termination superseded (that termination is its own incident). */
  | 'superseded';

export type GuardVerdict =
  | { readonly kind: 'act' }
  | { readonly kind: 'resolved'; readonly resolution: Resolution; readonly reason: string }
  | { readonly kind: 'escalate'; readonly reason: string };

/** What the driver's events say since a time: the latest DRIVER_NOT_RESPONDING and DRIVER_HEALTHY. */
export interface DriverEvents {
  readonly lastNotResponding?: number;
  readonly lastHealthy?: number;
}

export interface GuardInput {
  readonly signal: Pick<
    FailureSignal,
    'kind' | 'terminatedTime' | 'lastStateLossTime' | 'terminationReason' | 'observedAt'
  >;
  readonly errorType: string;
  readonly cluster: ClusterDetails;
  /** This recovery made a remediation already (an earlier attempt or step). */
  readonly acted: boolean;
  /** The driver's events since the loss (or since the last start), when `needsDriverEvents` asked. */
  readonly driver?: DriverEvents;
  /** Now, on the Databricks clock as far as the workflow can tell (epoch ms). */
  readonly now: number;
  /** A driver loss older than this is not acted on: Databricks recovered it or it is history. */
  readonly recentMs: number;
}

const SUCCESS_WORDS: Readonly<Record<string, string>> = {
  USER_REQUEST: 'its owner stopped it',
  INACTIVITY: 'it auto-terminated after inactivity',
  JOB_FINISHED: 'its job finished',
};

/** Whether the decision needs the driver's events (one `clusters/events` call). */
export function needsDriverEvents(input: Omit<GuardInput, 'driver'>): boolean {
  const { cluster } = input;
  if (OWNED_SOURCES.has(cluster.cluster_source ?? '') || cluster.state !== 'RUNNING') return false;
  if (isDriverIncident(input)) return !restartedSinceLoss(input);
  return !input.acted;
}

/** The time from which the driver's health is judged: the loss, or the cluster's last (re)start. */
export function driverEventsSince(input: Omit<GuardInput, 'driver'>): number | undefined {
  if (isDriverIncident(input)) return lossTime(input);
  return input.cluster.last_restarted_time ?? input.cluster.start_time;
}

export function guard(input: GuardInput): GuardVerdict {
  const { cluster } = input;
  const source = cluster.cluster_source ?? '';
  if (OWNED_SOURCES.has(source)) {
    if (source === 'JOB') return { kind: 'act' };
    return {
      kind: 'escalate',
      reason: `cluster ${cluster.cluster_id} belongs to ${source} (cluster_source read just now): the service that owns it recovers it; nothing was changed`,
    };
  }
  const state = cluster.state ?? 'UNKNOWN';
  const reason = cluster.termination_reason;
  if ((state === 'TERMINATED' || state === 'TERMINATING') && reason?.type === 'SUCCESS') {
    const why = SUCCESS_WORDS[reason.code ?? ''] ?? `it ended normally (${reason.code ?? 'SUCCESS'})`;
    const user = reason.parameters?.username;
    return {
      kind: 'resolved',
      resolution: 'stopped_by_owner',
      reason: `the cluster is ${state} because ${why}${user ? ` (${user})` : ''}; the failure is no longer its condition, so it is left stopped`,
    };
  }
  if (state === 'TERMINATED') return terminated(input);
  if (state === 'RUNNING') return running(input);
  return { kind: 'act' };
}

function terminated(input: GuardInput): GuardVerdict {
  const { cluster, signal, acted } = input;
  const code = cluster.termination_reason?.code ?? 'UNKNOWN';
  if (isDriverIncident(input) && !acted) {
    return {
      kind: 'resolved',
      resolution: 'superseded',
      reason: `the driver loss was followed by a termination (${code}); that termination is an incident of its own, so this one changes nothing`,
    };
  }
  const at = cluster.terminated_time;
  const sameTermination =
    signal.terminatedTime === undefined || at === undefined || at <= signal.terminatedTime;
  if (!sameTermination && !acted && classOf(cluster) !== incidentClass(input)) {
    return {
      kind: 'escalate',
      reason: `the cluster terminated again at ${iso(at)} for another reason (${code}) than the incident's; that is not the failure this recovery was started for`,
    };
  }
  if (!acted) {
    const idle = idleBeyondAutotermination(cluster);
    if (idle !== undefined) return { kind: 'resolved', resolution: 'idle', reason: idle };
  }
  return { kind: 'act' };
}

function running(input: GuardInput): GuardVerdict {
  const { cluster, driver, acted } = input;
  if (isDriverIncident(input)) {
    const loss = lossTime(input);
    if (restartedSinceLoss(input)) {
      return {
        kind: 'resolved',
        resolution: 'already_running',
        reason: `the cluster was restarted at ${iso(cluster.last_restarted_time)}, after the driver loss at ${iso(loss)}; it is RUNNING`,
      };
    }
    if (driver?.lastHealthy !== undefined && (loss === undefined || driver.lastHealthy >= loss)) {
      if (driver.lastNotResponding === undefined || driver.lastHealthy >= driver.lastNotResponding) {
        return {
          kind: 'resolved',
          resolution: 'healed_by_databricks',
          reason: `Databricks recovered the driver itself (DRIVER_HEALTHY at ${iso(driver.lastHealthy)} after the loss at ${iso(loss)}); a restart would cut off everything attached to the cluster`,
        };
      }
    }
    if (loss !== undefined && input.now - loss > input.recentMs) {
      return {
        kind: 'resolved',
        resolution: 'healed_by_databricks',
        reason: `the driver loss at ${iso(loss)} is older than ${Math.round(input.recentMs / 60_000)} minutes and the cluster is RUNNING; it is not restarted on old news`,
      };
    }
    return { kind: 'act' };
  }
  if (acted) return { kind: 'act' };
  if (driver?.lastNotResponding !== undefined && (driver.lastHealthy ?? 0) < driver.lastNotResponding) {
    // RUNNING, but its driver is not responding now: the plan verifies (no mutating call) and the
    // health check decides.
    return { kind: 'act' };
  }
  return {
    kind: 'resolved',
    resolution: 'already_running',
    reason:
      'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
  };
}

/** Driver incidents: a driver loss on a RUNNING cluster, or a job run that lost its driver. */
function isDriverIncident(input: Pick<GuardInput, 'signal' | 'errorType'>): boolean {
  return (
    input.signal.kind === 'driver_loss' ||
    (input.signal.kind === 'job_failure' && input.errorType === 'DatabricksDriverNotResponding')
  );
}

function lossTime(input: Pick<GuardInput, 'signal' | 'cluster'>): number | undefined {
  return input.signal.lastStateLossTime ?? input.cluster.last_state_loss_time;
}

function restartedSinceLoss(input: Pick<GuardInput, 'signal' | 'cluster'>): boolean {
  const loss = lossTime(input);
  const restarted = input.cluster.last_restarted_time;
  return loss !== undefined && restarted !== undefined && restarted > loss;
}

/** The failure class of the cluster's current termination: the category its error type belongs to. */
function classOf(cluster: ClusterDetails): string | undefined {
  const errorType = classifyTermination(cluster.termination_reason, {
    state: cluster.state,
    stateMessage: cluster.state_message,
  }).errorType;
  return errorType === undefined ? undefined : ERROR_TYPE_INFO[errorType].category;
}

function incidentClass(input: Pick<GuardInput, 'signal' | 'errorType'>): string | undefined {
  const reason = input.signal.terminationReason;
  if (reason?.code !== undefined) {
    const errorType = classifyTermination(reason).errorType;
    if (errorType !== undefined) return ERROR_TYPE_INFO[errorType].category;
  }
  return ERROR_TYPE_INFO[input.errorType as ErrorType]?.category;
}

/**
 * An all-purpose cluster that had been idle longer than its autotermination window when it failed
 * would have stopped by now anyway: starting it only costs money. Undefined when that cannot be
 * told (no autotermination, no `last_activity_time`).
 */
export function idleBeyondAutotermination(cluster: ClusterDetails): string | undefined {
  const minutes = cluster.autotermination_minutes;
  const activity = cluster.last_activity_time;
  const at = cluster.terminated_time;
  if (!ALL_PURPOSE_SOURCES.has(cluster.cluster_source ?? 'UI')) return undefined;
  if (minutes === undefined || minutes <= 0 || activity === undefined || at === undefined) return undefined;
  const idleMs = at - activity;
  if (idleMs <= minutes * 60_000) return undefined;
  return `the cluster had been idle for ${Math.round(idleMs / 60_000)} minutes when it failed, longer than its autotermination window (${minutes} minutes): it would have stopped anyway, so it is not started`;
}

/** The latest DRIVER_NOT_RESPONDING and DRIVER_HEALTHY at or after `since`. */
export function driverEventsOf(events: readonly ClusterEvent[], since: number | undefined): DriverEvents {
  let lastNotResponding: number | undefined;
  let lastHealthy: number | undefined;
  for (const event of events) {
    const at = event.timestamp;
    if (at === undefined || (since !== undefined && at < since)) continue;
    if (event.type === 'DRIVER_NOT_RESPONDING') lastNotResponding = Math.max(lastNotResponding ?? at, at);
    if (event.type === 'DRIVER_HEALTHY') lastHealthy = Math.max(lastHealthy ?? at, at);
  }
  return {
    ...(lastNotResponding === undefined ? {} : { lastNotResponding }),
    ...(lastHealthy === undefined ? {} : { lastHealthy }),
  };
}

/** Event types the driver's health is read from. */
export const DRIVER_EVENT_TYPES = ['DRIVER_NOT_RESPONDING', 'DRIVER_HEALTHY'] as const;

function iso(time: number | undefined): string {
  return time === undefined ? 'an unknown time' : new Date(time).toISOString();
}
