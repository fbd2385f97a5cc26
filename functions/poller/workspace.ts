/**
 * One workspace's poll: list every cluster page by page, keep the few that need attention, look the
 * ambiguous ones up in their events, record each failure through the incident path, and only then
 * move the workspace's cursor.
 */
import { handleSignal, type IncidentDeps, type OutcomeStatus } from '../core/incident.ts';
import type {
  ClusterDetails,
  ClusterEventsResponse,
  ListClustersResponse,
} from '../core/schemas/databricks.ts';
import type { FailureSignal } from '../core/signal.ts';
import type { CallOptions, ClusterEventsRequest, ListClustersQuery } from '../databricks/client.ts';
import type { AdvanceResult, PollCursor } from '../store/cursors.ts';
import type { PollerOptions } from './config.ts';
import {
  assessCluster,
  type ClusterFinding,
  type DetectionWindow,
  enteredStateAt,
  explainStateLoss,
  jobOfCluster,
  pollerSignal,
  RESTART_EVENT_TYPES,
  START_EVENT_TYPES,
} from './detect.ts';
import { type Semaphore, settleAll } from './limit.ts';

/** The two Databricks calls the poller makes; `DatabricksClient` satisfies it. */
export interface ClusterReader {
  listClusters(query: ListClustersQuery, options?: CallOptions): Promise<ListClustersResponse>;
  listClusterEvents(request: ClusterEventsRequest, options?: CallOptions): Promise<ClusterEventsResponse>;
}

export interface CursorStore {
  get(workspaceId: string): Promise<PollCursor | undefined>;
  advance(
    workspaceId: string,
    polledUntil: number,
    details?: Readonly<Record<string, unknown>>,
  ): Promise<AdvanceResult>;
}

/** Counters the poller emits (Powertools Metrics in the Lambda). */
export interface PollerMetrics {
  count(name: string, value?: number): void;
  milliseconds(name: string, value: number): void;
}

/** Time left for a phase of the run. */
export interface Budget {
  /** Whether a new step may still start. */
  hasTime(): boolean;
  /** Absolute deadline (epoch ms, real clock) to pass to a Databricks call. */
  deadline(): number;
}

export interface WorkspacePollDeps {
  readonly reader: ClusterReader;
  readonly cursors: CursorStore;
  readonly incident: IncidentDeps;
  readonly semaphore: Semaphore;
  readonly options: PollerOptions;
  /** Observation time (epoch ms): compared with Databricks timestamps and stored in the cursor. */
  readonly clock: () => number;
  readonly budget: Budget;
  readonly metrics: PollerMetrics;
}

export type WorkspacePollStatus =
  /** Every failure found was recorded and the cursor moved (or another run had moved it further). */
  | 'complete'
  /** The run stopped early or some failures were not recorded: the cursor stayed. */
  | 'incomplete'
  /** The workspace could not be listed (or its cursor read): the cursor stayed. */
  | 'failed';

export interface WorkspacePollResult {
  readonly workspaceId: string;
  readonly status: WorkspacePollStatus;
  readonly clustersListed: number;
  readonly listCalls: number;
  readonly eventCalls: number;
  /** Failures handed to the incident path. */
  readonly failuresDetected: number;
  /** Driver state losses that a start, a user's restart or a planned update explained. */
  readonly explainedStateLosses: number;
  /** What the incident path answered, per status. */
  readonly outcomes: Readonly<Record<OutcomeStatus, number>>;
  readonly cursorAdvanced: boolean;
  /** The cursor after the poll (epoch ms), when known. */
  readonly polledUntil?: number;
  /** Why the poll is not complete. */
  readonly problems: readonly string[];
}

/** Past this, a state loss event is not taken for the one the list reports. */
const EVENT_SLACK_MS = 60_000;

class StoppedEarly extends Error {
  override readonly name = 'StoppedEarly';
}

export async function pollWorkspace(
  workspaceId: string,
  deps: WorkspacePollDeps,
): Promise<WorkspacePollResult> {
  const { reader, options, budget, metrics, semaphore } = deps;
  const log = deps.incident.logger;
  const startedAt = deps.clock();
  const problems: string[] = [];
  let failed = false;
  let listed = 0;
  let listCalls = 0;
  let eventCalls = 0;
  let explained = 0;
  const signals: FailureSignal[] = [];
  const outcomes: Record<OutcomeStatus, number> = {
    success: 0,
    duplicate: 0,
    ignored: 0,
    escalated: 0,
    error: 0,
  };
  const result = (extra: Partial<WorkspacePollResult> = {}): WorkspacePollResult => ({
    workspaceId,
    status: failed ? 'failed' : problems.length > 0 ? 'incomplete' : 'complete',
    clustersListed: listed,
    listCalls,
    eventCalls,
    failuresDetected: signals.length,
    explainedStateLosses: explained,
    outcomes,
    cursorAdvanced: false,
    problems,
    ...extra,
  });

  let cursor: PollCursor | undefined;
  try {
    cursor = await deps.cursors.get(workspaceId);
  } catch (error) {
    failed = true;
    problems.push(`cannot read the poll cursor: ${describe(error)}`);
    return result();
  }
  const window: DetectionWindow = {
    since: (cursor?.polledUntil ?? startedAt - options.initialLookbackMs) - options.overlapMs,
    now: startedAt,
    stuckAfterMs: options.stuckAfterMs,
  };

  // 1. The list: one call per page of 100, nothing per cluster.
  const findings: ClusterFinding[] = [];
  const seenTokens = new Set<string>();
  let token: string | undefined;
  try {
    do {
      if (!budget.hasTime()) {
        problems.push(`stopped after ${listCalls} list pages: the run's time is up`);
        break;
      }
      const query: ListClustersQuery = {
        page_size: options.pageSize,
        ...(token === undefined ? {} : { page_token: token }),
      };
      const page = await semaphore.run(() => reader.listClusters(query, { deadline: budget.deadline() }));
      listCalls++;
      for (const cluster of page.clusters) {
        listed++;
        const finding = assessCluster(cluster, window);
        if (finding !== undefined) findings.push(finding);
      }
      token = page.next_page_token || undefined;
      if (token !== undefined) {
        if (seenTokens.has(token)) throw new Error('clusters/list repeated a next_page_token');
        seenTokens.add(token);
      }
    } while (token !== undefined);
  } catch (error) {
    failed = true;
    problems.push(`clusters/list failed after ${listCalls} pages: ${describe(error)}`);
    log.error('cannot list the clusters of a workspace', { workspaceId, error: describe(error) });
  }
  metrics.count('ClustersListed', listed);
  metrics.count('ListCalls', listCalls);

  // 2. The ambiguous few: their events decide (bounded per workspace and run).
  let checks = 0;
  const confirm = async (finding: ClusterFinding): Promise<FailureSignal | undefined> => {
    const { cluster } = finding;
    const ctx = { workspaceId, now: startedAt };
    const job = jobOfCluster(cluster);
    if (finding.kind === 'termination') return pollerSignal(cluster, 'termination', ctx, { job });
    if (checks >= options.maxEventChecksPerWorkspace) {
      throw new StoppedEarly(`more than ${options.maxEventChecksPerWorkspace} clusters need their events`);
    }
    checks++;
    if (!budget.hasTime()) throw new StoppedEarly("the run's time is up before every event look-up");
    if (finding.kind === 'driver_loss') {
      const events = await readEvents(cluster, {
        start_time: finding.lossTime - options.restartWindowMs,
        end_time: finding.lossTime + EVENT_SLACK_MS,
        event_types: RESTART_EVENT_TYPES,
        page_size: 100,
      });
      const verdict = explainStateLoss(events, finding.lossTime, EVENT_SLACK_MS);
      if (verdict.explained) {
        explained++;
        log.info('driver state loss explained by a restart', {
          workspaceId,
          clusterId: cluster.cluster_id,
          reason: verdict.reason,
        });
        return undefined;
      }
      return pollerSignal(cluster, 'driver_loss', ctx, { job });
    }
    const events = await readEvents(cluster, { event_types: START_EVENT_TYPES, page_size: 1 });
    const stuckSince = enteredStateAt(events, finding.listedSince);
    if (stuckSince === undefined) {
      log.warn('a starting cluster has no start time; it cannot be checked for being stuck', {
        workspaceId,
        clusterId: cluster.cluster_id,
      });
      return undefined;
    }
    if (startedAt - stuckSince < options.stuckAfterMs) return undefined;
    return pollerSignal(cluster, 'stuck', ctx, { stuckSince, job });
  };
  const readEvents = async (cluster: ClusterDetails, request: Omit<ClusterEventsRequest, 'cluster_id'>) => {
    const page = await semaphore.run(() =>
      reader.listClusterEvents(
        { cluster_id: cluster.cluster_id, order: 'DESC', ...request },
        { deadline: budget.deadline() },
      ),
    );
    eventCalls++;
    return page.events;
  };
  const confirmed = await settleAll(findings, options.maxConcurrentRequests, confirm);
  confirmed.forEach((settled, i) => {
    if (settled.status === 'fulfilled') {
      if (settled.value !== undefined) signals.push(settled.value);
      return;
    }
    const clusterId = findings[i]?.cluster.cluster_id;
    problems.push(`cluster ${clusterId}: ${describe(settled.reason)}`);
    if (!(settled.reason instanceof StoppedEarly)) {
      log.warn('cannot read the events of a cluster', {
        workspaceId,
        clusterId,
        error: describe(settled.reason),
      });
    }
  });
  metrics.count('EventCalls', eventCalls);
  metrics.count('FailuresDetected', signals.length);

  // 3. Record every failure through the same path as the intake.
  const recorded = await settleAll(signals, options.signalConcurrency, async (signal) => {
    if (!budget.hasTime()) throw new StoppedEarly("the run's time is up before every failure was recorded");
    return handleSignal(signal, deps.incident);
  });
  recorded.forEach((settled, i) => {
    if (settled.status === 'fulfilled') {
      outcomes[settled.value.status]++;
      return;
    }
    const key = signals[i]?.incidentKey;
    problems.push(`${key}: ${describe(settled.reason)}`);
    if (!(settled.reason instanceof StoppedEarly)) {
      log.error('a failure could not be recorded', {
        workspaceId,
        incidentKey: key,
        error: describe(settled.reason),
      });
    }
  });

  // 4. The cursor moves only past a batch that is wholly recorded.
  if (failed || problems.length > 0) {
    return result(cursor === undefined ? {} : { polledUntil: cursor.polledUntil });
  }
  try {
    const moved = await deps.cursors.advance(workspaceId, startedAt, {
      clustersListed: listed,
      failuresDetected: signals.length,
    });
    if (moved.advanced) metrics.count('CursorsAdvanced');
    return result({ cursorAdvanced: moved.advanced, polledUntil: moved.cursor.polledUntil });
  } catch (error) {
    problems.push(`cannot advance the poll cursor: ${describe(error)}`);
    return result(cursor === undefined ? {} : { polledUntil: cursor.polledUntil });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
