/**
 * The intake's business decision for one authenticated, parsed webhook body: recognise it, enrich job
 * failures from Databricks (the seed's "Method 1"), and hand failure signals to the incident path.
 */
import { TERMINATION_CODE_TABLE } from '../core/classifier/termination-codes.ts';
import type { Classification } from '../core/classifier/types.ts';
import { ValidationError } from '../core/errors.ts';
import { parseInbound } from '../core/inbound.ts';
import { handleSignal, type IncidentDeps, type IncidentOutcome } from '../core/incident.ts';
import { analyzeJobRun } from '../core/job-run.ts';
import type { ClusterDetails, Run } from '../core/schemas/databricks.ts';
import type { JobNotification, SeedClusterEvent } from '../core/schemas/inbound.ts';
import type { FailureSignal } from '../core/signal.ts';
import { signalFromClusterEvent, signalFromJobRun } from '../core/signal-builders.ts';
import { isNotFound } from '../databricks/errors.ts';

/** The Databricks reads the intake makes; satisfied by `DatabricksClient`. */
export interface DatabricksReader {
  getCluster(clusterId: string, options?: { deadline?: number }): Promise<ClusterDetails>;
  getRun(runId: string, query?: Record<string, never>, options?: { deadline?: number }): Promise<Run>;
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
      return handleSignal(signal, deps);
    }
    case 'job_notification': {
      const notification = inbound.payload;
      if (notification.event_type !== 'jobs.on_failure') {
        return ignored(`${notification.event_type} needs no action; only jobs.on_failure is acted on`);
      }
      const workspaceId = resolveWorkspace(
        notification.workspace_id,
        pathWorkspaceId,
        deps.workspaceIds,
        deps.workspaceAliases,
      );
      const signal = await signalFromNotification(notification, workspaceId, deps);
      if (signal === undefined) return ignored('runs/get shows no failed run or task; nothing to do');
      return handleSignal(signal, deps);
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
 * A custom cluster event rarely carries `terminated_time`; reading the cluster supplies it (and the
 * cluster's source, name and, when the event has none, its termination reason) so that the incident
 * key matches the poller's and the job path's. The cluster's termination is adopted only when it is
 * the one the event reports: the cluster is still TERMINATED, with a non-SUCCESS termination whose code is the event's (or means
 * the same error type, as the seed's alias codes do). If the cluster cannot be read, the event is
 * handled with what it says.
 */
async function enrichClusterEvent(
  event: SeedClusterEvent,
  workspaceId: string,
  deps: IntakeDeps,
): Promise<FailureSignal> {
  const now = deps.clock();
  const base = signalFromClusterEvent(event, { workspaceId, now });
  if (event.cluster.terminated_time !== undefined && event.cluster.cluster_source !== undefined) return base;
  let cluster: ClusterDetails;
  try {
    cluster = await readSettledCluster(deps.databricks(workspaceId), event.cluster.cluster_id, deps);
  } catch (error) {
    deps.logger.warn('cluster details unavailable; handling the event as sent', {
      clusterId: event.cluster.cluster_id,
      error: (error as Error).message,
    });
    return base;
  }
  const adopt = event.event !== 'cluster.restarting' && isSameTermination(event, cluster);
  return signalFromClusterEvent(
    {
      ...event,
      cluster: {
        ...event.cluster,
        cluster_name: event.cluster.cluster_name ?? cluster.cluster_name,
        cluster_source: event.cluster.cluster_source ?? cluster.cluster_source,
        terminated_time: event.cluster.terminated_time ?? (adopt ? cluster.terminated_time : undefined),
        termination_reason:
          event.cluster.termination_reason ?? (adopt ? cluster.termination_reason : undefined),
      },
    },
    { workspaceId, now },
  );
}

function isSameTermination(event: SeedClusterEvent, cluster: ClusterDetails): boolean {
  const reason = cluster.termination_reason;
  if (cluster.state !== 'TERMINATED' || cluster.terminated_time === undefined) return false;
  if (reason === undefined || reason.type === 'SUCCESS') return false;
  const sent = event.cluster.termination_reason?.code;
  if (sent === undefined || sent === reason.code) return true;
  const a = TERMINATION_CODE_TABLE[sent];
  const b = reason.code === undefined ? undefined : TERMINATION_CODE_TABLE[reason.code];
  return a?.failure === true && b?.failure === true && a.errorType === b.errorType;
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
  // A task-level notification names the task run; the job run is its parent.
  const runId = notification.run.parent_run_id ?? notification.run.run_id;
  const run = await readOrExplain(() => client.getRun(runId, {}, callOptions(deps)), deps, `run ${runId}`);
  const ids = {
    jobId: notification.job.job_id,
    runId,
    jobName: notification.job.name,
    taskKey: notification.task?.task_key,
  };
  const first = analyzeJobRun(ids, run, []);
  const clusters: ClusterDetails[] = [];
  for (const clusterId of first.clusterIds.slice(0, MAX_CLUSTERS_PER_RUN)) {
    try {
      clusters.push(await readSettledCluster(client, clusterId, deps));
    } catch (error) {
      if (!deps.isNotFound(error))
        throw new UpstreamUnavailableError(`clusters/get ${clusterId}: ${(error as Error).message}`);
      deps.logger.warn('cluster of a failed task no longer exists', { clusterId });
    }
  }
  const analysis = analyzeJobRun(ids, run, clusters);
  if (!analysis.failed && analysis.clusterCause === undefined) return undefined;
  return signalFromJobRun(analysis, { workspaceId, now: deps.clock() });
}

async function readOrExplain<T>(read: () => Promise<T>, deps: IntakeDeps, what: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (deps.isNotFound(error)) throw new UnknownResourceError(`${what} does not exist in the workspace`);
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
