/**
 * The intake's business decision for one authenticated, parsed webhook body: recognise it, enrich job
 * failures from Databricks (the seed's "Method 1"), and hand failure signals to the incident path.
 */
import { isFailureTermination, sameFailureCode } from '../core/classifier/classify.ts';
import type { Classification } from '../core/classifier/types.ts';
import { ValidationError } from '../core/errors.ts';
import { parseInbound } from '../core/inbound.ts';
import { type IncidentDeps, type IncidentOutcome, openIncident } from '../core/incident.ts';
import {
  analyzeJobNotification,
  clusterIdsToRead,
  ignoredJobEvent,
  jobIdsOf,
  NO_FAILED_RUN,
} from '../core/job-notification.ts';
import type { JobRunAnalysis } from '../core/job-run.ts';
import type { ClusterDetails, ClusterEvent, ClusterEventsResponse, Run } from '../core/schemas/databricks.ts';
import type { JobNotification, SeedClusterEvent } from '../core/schemas/inbound.ts';
import type { FailureSignal } from '../core/signal.ts';
import { signalFromClusterEvent, signalFromJobRun } from '../core/signal-builders.ts';
import { DatabricksApiError, isNotFound } from '../databricks/errors.ts';

/** The Databricks reads the intake makes; satisfied by `DatabricksClient`. */
export interface DatabricksReader {
  getCluster(clusterId: string, options?: { deadline?: number }): Promise<ClusterDetails>;
  getRun(runId: string, query?: Record<string, never>, options?: { deadline?: number }): Promise<Run>;
  listClusterEvents(
    request: {
      readonly cluster_id: string;
      readonly order?: 'ASC' | 'DESC';
      readonly event_types?: readonly string[];
      readonly page_size?: number;
    },
    options?: { deadline?: number },
  ): Promise<ClusterEventsResponse>;
}

export interface IntakeDeps extends IncidentDeps {
  /** Configured workspace ids. */
  readonly workspaceIds: readonly string[];
  /** Databricks' numeric workspace id → configured id, for workspaces that declare theirs. */
  readonly workspaceAliases?: Readonly<Record<string, string>>;
  readonly databricks: (workspaceId: string) => DatabricksReader;
  readonly clock: () => number;
  /** Absolute deadline (epoch ms) for Databricks calls made for this request. */
  readonly deadline?: () => number;
  /** Pauses between re-reads of a TERMINATING cluster. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Whether an error from Databricks means "not found" (the run or cluster id is wrong). */
  readonly isNotFound: (error: unknown) => boolean;
}

/** A job run or cluster named by the payload does not exist in the workspace. */
export class UnknownResourceError extends Error {
  override readonly name = 'UnknownResourceError';
}

/** Databricks could not be asked; the delivery should be retried. */
export class UpstreamUnavailableError extends Error {
  override readonly name = 'UpstreamUnavailableError';
}

/** At most this many clusters are read to explain one job failure. */
const MAX_CLUSTERS_PER_RUN = 10;

export async function processWebhook(
  body: unknown,
  pathWorkspaceId: string | undefined,
  deps: IntakeDeps,
): Promise<IncidentOutcome> {
  const inbound = parseInbound(body);
  switch (inbound.kind) {
    case 'connectivity_test':
      return ignored('Connectivity test received; the endpoint is reachable and authenticated');
    case 'cluster_event': {
      const workspaceId = resolveWorkspace(
        inbound.payload.workspace_id,
        pathWorkspaceId,
        deps.workspaceIds,
        deps.workspaceAliases,
      );
      const signal = await enrichClusterEvent(inbound.payload, workspaceId, deps);
      return openIncident(signal, deps);
    }
    case 'job_notification': {
      const notification = inbound.payload;
      const ignoredWhy = ignoredJobEvent(notification.event_type);
      if (ignoredWhy !== undefined) return ignored(ignoredWhy);
      const workspaceId = resolveWorkspace(
        notification.workspace_id,
        pathWorkspaceId,
        deps.workspaceIds,
        deps.workspaceAliases,
      );
      const signal = await signalFromNotification(notification, workspaceId, deps);
      if (signal === undefined) return ignored(NO_FAILED_RUN);
      return openIncident(signal, deps);
    }
  }
}

function ignored(message: string): IncidentOutcome {
  const classification: Classification = {
    isFailure: false,
    reason: message,
    basis: 'observation',
    confidence: 1,
  };
  return { status: 'ignored', classification, actionsTaken: [], message };
}

/**
 * Picks the workspace. A job notification's `workspace_id` is Databricks' numeric workspace id: it is
 * mapped to the configured workspace that declares it (`databricksWorkspaceId`); a configured id is
 * accepted as it is. A workspace named in the path wins over an unmapped payload id. With one
 * workspace that declares no Databricks id, every payload id is taken to mean it. Anything else that
 * cannot be resolved is the caller's mistake (4xx), never a guess.
 */
export function resolveWorkspace(
  fromPayload: string | undefined,
  fromPath: string | undefined,
  configured: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string {
  const known = (id: string | undefined): id is string => id !== undefined && configured.includes(id);
  const payload = fromPayload === undefined ? undefined : (aliases[fromPayload] ?? fromPayload);
  if (fromPath !== undefined) {
    if (!known(fromPath)) {
      throw new ValidationError('unknown workspace', [
        `workspace: '${fromPath}' in the path is not configured (configured: ${configured.join(', ')})`,
      ]);
    }
    if (known(payload) && payload !== fromPath) {
      throw new ValidationError('conflicting workspace', [
        `workspace_id: '${fromPayload}' is workspace '${payload}', which does not match the workspace '${fromPath}' in the path`,
      ]);
    }
    return fromPath;
  }
  if (payload === undefined) {
    const only = configured.length === 1 ? configured[0] : undefined;
    if (only !== undefined) return only;
    throw new ValidationError('workspace required', [
      `workspace_id: several workspaces are configured (${configured.join(', ')}); send workspace_id or POST to /databricks-monitor/{workspace}`,
    ]);
  }
  if (known(payload)) return payload;
  const only = configured.length === 1 ? configured[0] : undefined;
  if (only !== undefined && Object.keys(aliases).length === 0) return only;
  throw new ValidationError('unknown workspace', [
    `workspace_id: '${fromPayload}' is not configured (configured: ${configured.join(', ')}); set databricksWorkspaceId on its workspace or POST to /databricks-monitor/{workspace}`,
  ]);
}

/**
 * A custom cluster event is anchored on what Databricks says about the termination it reports, so
 * that every delivery of it — before, during and after the recovery — gets the same incident key:
 * 1. the cluster (`clusters/get`) is TERMINATED with that termination: its `terminated_time`, the
 *    poller's and the job path's key too;
 * 2. else the `terminated_time` the event carries;
 * 3. else the newest `TERMINATING` event in `clusters/events` with that termination (the cluster was
 *    started again since, or is still terminating): its timestamp. That event is read in case 1 and
 *    2 too: its key is kept as the ticket's alias, so a replay after the recovery started the
 *    cluster again joins the same ticket, even after it closed;
 * 4. only when Databricks has no trace of it, a 15-minute bucket.
 * The cluster must exist: a cluster `clusters/get` does not know is a 422 and opens nothing. The
 * workspace is always the one the intake resolved, never the body's `workspace_id`.
 */
async function enrichClusterEvent(
  event: SeedClusterEvent,
  workspaceId: string,
  deps: IntakeDeps,
): Promise<FailureSignal> {
  const now = deps.clock();
  const client = deps.databricks(workspaceId);
  const clusterId = event.cluster.cluster_id;
  // Both reads at once: one round trip. The TERMINATING event is read even when terminated_time is
  // known: the ticket then keeps that event's key as an alias, so a replay after the recovery started
  // the cluster again (no terminated_time any more) joins it.
  const [cluster, terminatingAt] = await Promise.all([
    readOrExplain(() => readSettledCluster(client, clusterId, deps), deps, `cluster ${clusterId}`),
    event.event === 'cluster.restarting' ? undefined : terminationEventTime(client, event, deps),
  ]);
  const adopt = event.event !== 'cluster.restarting' && isSameTermination(event, cluster);
  const terminatedTime = (adopt ? cluster.terminated_time : undefined) ?? event.cluster.terminated_time;
  return signalFromClusterEvent(
    {
      ...event,
      cluster: {
        ...event.cluster,
        cluster_name: event.cluster.cluster_name ?? cluster.cluster_name,
        cluster_source: event.cluster.cluster_source ?? cluster.cluster_source,
        terminated_time: terminatedTime,
        termination_reason:
          event.cluster.termination_reason ?? (adopt ? cluster.termination_reason : undefined),
      },
    },
    { workspaceId, now, ...(terminatingAt === undefined ? {} : { terminatingAt }) },
  );
}

/** TERMINATING events read to find the one an event reports. */
const TERMINATING_EVENTS_READ = 10;

/**
 * The time of the newest `TERMINATING` event whose reason is the event's termination (same code, or
 * an alias meaning the same error type; any failure when the event names no code). Undefined when
 * there is none; a Databricks fault here is transient (503), never a guess.
 */
async function terminationEventTime(
  client: DatabricksReader,
  event: SeedClusterEvent,
  deps: IntakeDeps,
): Promise<number | undefined> {
  const match = await newestTermination(client, event.cluster.cluster_id, deps, (reason) =>
    sameReason(event, reason),
  );
  return match?.timestamp;
}

/** The newest `TERMINATING` event of a cluster whose reason `accept`s, from the last few. */
async function newestTermination(
  client: DatabricksReader,
  clusterId: string,
  deps: IntakeDeps,
  accept: (reason: { code?: string; type?: string }, at: number) => boolean,
): Promise<ClusterEvent | undefined> {
  const page = await readOrExplain(
    () =>
      client.listClusterEvents(
        {
          cluster_id: clusterId,
          order: 'DESC',
          event_types: ['TERMINATING'],
          page_size: TERMINATING_EVENTS_READ,
        },
        callOptions(deps),
      ),
    deps,
    `cluster ${clusterId}`,
  );
  return page.events.find((e) => {
    const reason = e.details?.reason;
    return e.timestamp !== undefined && reason !== undefined && accept(reason, e.timestamp);
  });
}

function isSameTermination(event: SeedClusterEvent, cluster: ClusterDetails): boolean {
  const reason = cluster.termination_reason;
  if (cluster.state !== 'TERMINATED' || cluster.terminated_time === undefined) return false;
  return reason !== undefined && sameReason(event, reason);
}

/** Whether a termination reason Databricks reports is the one the event describes. */
function sameReason(event: SeedClusterEvent, reason: { code?: string; type?: string }): boolean {
  if (reason.type === 'SUCCESS') return false;
  const sent = event.cluster.termination_reason?.code;
  return sent === undefined || sameFailureCode(sent, reason.code);
}

/** Re-reads of a TERMINATING cluster before settling for what is known (its terminated_time is the key). */
const SETTLE_READS = 4;
const SETTLE_PAUSE_MS = 1500;

/**
 * Reads a cluster; while it is TERMINATING (no `terminated_time` yet), reads it again a few times
 * within the request's deadline, so that the incident is keyed as the poller will key it.
 */
async function readSettledCluster(
  client: DatabricksReader,
  clusterId: string,
  deps: IntakeDeps,
): Promise<ClusterDetails> {
  let cluster = await client.getCluster(clusterId, callOptions(deps));
  for (let i = 0; i < SETTLE_READS && cluster.state === 'TERMINATING'; i++) {
    if (deps.deadline !== undefined && deps.deadline() - Date.now() < 2 * SETTLE_PAUSE_MS) break;
    await (deps.sleep ?? defaultSleep)(SETTLE_PAUSE_MS);
    cluster = await client.getCluster(clusterId, callOptions(deps));
  }
  return cluster;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function signalFromNotification(
  notification: JobNotification,
  workspaceId: string,
  deps: IntakeDeps,
): Promise<FailureSignal | undefined> {
  const client = deps.databricks(workspaceId);
  const { runId } = jobIdsOf(notification);
  const run = await readOrExplain(() => client.getRun(runId, {}, callOptions(deps)), deps, `run ${runId}`);
  const clusters: ClusterDetails[] = [];
  for (const clusterId of clusterIdsToRead(notification, run).slice(0, MAX_CLUSTERS_PER_RUN)) {
    try {
      clusters.push(await readSettledCluster(client, clusterId, deps));
    } catch (error) {
      if (!deps.isNotFound(error))
        throw new UpstreamUnavailableError(`clusters/get ${clusterId}: ${(error as Error).message}`);
      deps.logger.warn('cluster of a failed task no longer exists', { clusterId });
    }
  }
  const analysis = analyzeJobNotification(notification, run, clusters);
  if (analysis === undefined) return undefined;
  const anchored = await anchorClusterCause(analysis, run, clusters, client, deps);
  return signalFromJobRun(anchored.analysis, {
    workspaceId,
    now: deps.clock(),
    ...(anchored.terminatingAt === undefined ? {} : { terminatingAt: anchored.terminatingAt }),
  });
}

/** Run termination codes that blame the cluster the run ran on. */
const CLUSTER_RUN_CODES: ReadonlySet<string> = new Set(['CLUSTER_ERROR', 'DRIVER_ERROR', 'CLOUD_FAILURE']);
/** How far around the run a cluster termination may lie to be the one that failed it. */
const RUN_WINDOW_SLACK_MS = 5 * 60_000;

/**
 * A job failure is anchored on the cluster termination Databricks recorded, like a cluster event:
 * - the cluster is still TERMINATED (the run analysis found the cause): its TERMINATING event's time
 *   is kept too, so the ticket has the same alias a custom event's would;
 * - the cluster was started again since (the recovery is under way, or over) while the run blames
 *   its cluster: the TERMINATING event within the run's time is the cause, so the notification
 *   joins that termination's incident instead of becoming a run-keyed job failure.
 */
async function anchorClusterCause(
  analysis: JobRunAnalysis,
  run: Run,
  clusters: readonly ClusterDetails[],
  client: DatabricksReader,
  deps: IntakeDeps,
): Promise<{ analysis: JobRunAnalysis; terminatingAt?: number }> {
  const cause = analysis.clusterCause;
  if (cause?.kind === 'driver_loss') return { analysis };
  const clusterId = cause?.cluster.cluster_id ?? analysis.clusterIds[0];
  const code = analysis.job.terminationCode;
  if (clusterId === undefined) return { analysis };
  if (cause === undefined && (code === undefined || !CLUSTER_RUN_CODES.has(code))) return { analysis };
  const from = (run.start_time ?? 0) - RUN_WINDOW_SLACK_MS;
  const to = run.end_time !== undefined && run.end_time > 0 ? run.end_time + RUN_WINDOW_SLACK_MS : Infinity;
  let event: ClusterEvent | undefined;
  try {
    event = await newestTermination(client, clusterId, deps, (reason, at) =>
      cause === undefined
        ? isFailureTermination(reason) && at >= from && at <= to
        : reason.code === cause.cluster.termination_reason?.code,
    );
  } catch (error) {
    if (error instanceof UnknownResourceError) return { analysis };
    throw error;
  }
  if (event?.timestamp === undefined) return { analysis };
  if (cause !== undefined) return { analysis, terminatingAt: event.timestamp };
  const current = clusters.find((c) => c.cluster_id === clusterId);
  const { terminated_time: _gone, state: _now, ...rest } = current ?? { cluster_id: clusterId };
  const cluster: ClusterDetails = { ...rest, termination_reason: event.details?.reason };
  return {
    analysis: { ...analysis, clusterCause: { kind: 'termination', cluster } },
    terminatingAt: event.timestamp,
  };
}

async function readOrExplain<T>(read: () => Promise<T>, deps: IntakeDeps, what: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (deps.isNotFound(error)) throw new UnknownResourceError(`${what} does not exist in the workspace`);
    // A 400 other than "does not exist": Databricks refuses the id itself; delivering again never helps.
    if (error instanceof DatabricksApiError && error.status === 400) {
      throw new UnknownResourceError(`${what} is refused by Databricks: ${error.message}`);
    }
    throw new UpstreamUnavailableError(`Databricks could not be read (${what}): ${(error as Error).message}`);
  }
}

function callOptions(deps: IntakeDeps): { deadline?: number } {
  return deps.deadline === undefined ? {} : { deadline: deps.deadline() };
}

/** The workspace part of the intake's dependencies, from the configured workspace clients. */
export function workspaceDeps(
  clients: WorkspaceRegistry,
): Pick<IntakeDeps, 'workspaceIds' | 'workspaceAliases' | 'databricks' | 'isNotFound'> {
  return {
    workspaceIds: clients.ids(),
    workspaceAliases: clients.aliases(),
    databricks: (id) => clients.get(id),
    isNotFound,
  };
}

/** What `WorkspaceClients` offers the intake. */
export interface WorkspaceRegistry {
  ids(): string[];
  aliases(): Record<string, string>;
  get(workspaceId: string): DatabricksReader;
}
