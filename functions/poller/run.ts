/**
 * One poller run: every configured workspace in parallel (each isolated from the others' failures,
 * all sharing a small budget of concurrent Databricks calls, each holding at most half of it), then
 * the reconciler, all inside the Lambda's remaining time.
 */
import { describeError } from '../core/errors.ts';
import type { BreakerGate, IncidentDeps, WorkflowInspector, WorkflowStarter } from '../core/incident.ts';
import { DEFAULT_POLLER_OPTIONS, type PollerOptions } from './config.ts';
import { Semaphore } from './limit.ts';
import type { Budget, ClusterReader, CursorStore, PollerMetrics } from './poll-deps.ts';
import type { WorkspacePollResult } from './poll-state.ts';
import {
  type BreakerRecorder,
  type ReconcileDeps,
  type ReconcilePositionStore,
  type ReconcileReport,
  type ReconcileTickets,
  reconcile,
} from './reconcile.ts';
import { applyPendingRestores, type RestoreClient, type RestoreStore } from './restore.ts';
import { pollWorkspace } from './workspace.ts';

export interface PollerDeps
  extends Omit<IncidentDeps, 'tickets' | 'breakers' | 'workflow' | 'metrics'>,
    Pick<ReconcileDeps, 'notifier' | 'notifications'> {
  readonly workspaceIds: readonly string[];
  /** The Databricks client of a workspace. */
  readonly databricks: (workspaceId: string) => ClusterReader & Partial<RestoreClient>;
  readonly cursors: CursorStore & ReconcilePositionStore;
  readonly tickets: IncidentDeps['tickets'] & ReconcileTickets;
  readonly breakers: BreakerGate & BreakerRecorder;
  readonly workflow: WorkflowStarter & WorkflowInspector;
  /** Restores waiting for their cluster's next natural termination (applied by the poller). */
  readonly restores?: RestoreStore;
  readonly metrics: PollerMetrics;
  /** Observation time (epoch ms), compared with Databricks timestamps. @default Date.now */
  readonly clock?: () => number;
  /** Milliseconds left before the run must have ended (the Lambda's remaining time). */
  readonly timeLeft: () => number;
  /** @default DEFAULT_POLLER_OPTIONS */
  readonly options?: PollerOptions;
}

export interface PollReport {
  /** Epoch ms (observation clock). */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly workspaces: readonly WorkspacePollResult[];
  /** Absent when the reconciler itself failed (see `problems`). */
  readonly reconcile?: ReconcileReport;
  /** Run-level problems: a failed reconciler. Workspace problems are in `workspaces`. */
  readonly problems: readonly string[];
}

/** Every workspace of the run failed: nothing was detected at all. */
export class PollFailedError extends Error {
  override readonly name = 'PollFailedError';
}

export async function runPoll(deps: PollerDeps): Promise<PollReport> {
  const options = deps.options ?? DEFAULT_POLLER_OPTIONS;
  const clock = deps.clock ?? Date.now;
  const began = Date.now();
  const startedAt = clock();
  const semaphore = new Semaphore(options.maxConcurrentRequests);
  const incident = incidentDeps(deps, clock);
  // Detection leaves the reconciler its reserve; both stop a safety margin before the deadline.
  const detectionBudget = budget(deps.timeLeft, options.safetyMarginMs + options.reconcileReserveMs);

  const settled = await Promise.allSettled(
    // async: a workspace whose client cannot even be built fails alone.
    deps.workspaceIds.map(async (workspaceId) =>
      pollWorkspace(workspaceId, {
        reader: deps.databricks(workspaceId),
        cursors: deps.cursors,
        incident,
        semaphore,
        options,
        clock,
        budget: detectionBudget,
        metrics: deps.metrics,
      }),
    ),
  );
  const workspaces = settled.map((outcome, i): WorkspacePollResult => {
    if (outcome.status === 'fulfilled') return outcome.value;
    return failedWorkspace(deps.workspaceIds[i] ?? 'unknown', outcome.reason);
  });
  countWorkspaces(deps, workspaces);

  const problems: string[] = [];
  if (deps.restores !== undefined) {
    for (const workspaceId of deps.workspaceIds) {
      await restorePending(deps, deps.restores, workspaceId, problems);
    }
  }
  const reconciled = await reconcileOnce(deps, problems);
  return finishReport(deps.metrics, began, {
    startedAt,
    workspaces,
    ...(reconciled === undefined ? {} : { reconcile: reconciled }),
    problems,
  });
}

/** A run's report: its wall-clock duration since `began`, also counted as `PollDuration`. */
export function finishReport(
  metrics: Pick<PollerMetrics, 'milliseconds'>,
  began: number,
  run: Omit<PollReport, 'durationMs'>,
): PollReport {
  const durationMs = Date.now() - began;
  metrics.milliseconds('PollDuration', durationMs);
  const { startedAt, ...rest } = run;
  return { startedAt, durationMs, ...rest };
}

/**
 * One workspace of the poll workflow's Map, in an invocation of its own: detection with the
 * invocation's permits (no other workspace shares them), then its pending restores. The time left is
 * the invocation's; the reconciler runs in a step of its own, so no reserve is kept for it.
 */
export async function pollOneWorkspace(
  deps: Omit<PollerDeps, 'workspaceIds'>,
  workspaceId: string,
): Promise<WorkspacePollResult & { readonly problems: readonly string[] }> {
  const options = deps.options ?? DEFAULT_POLLER_OPTIONS;
  const clock = deps.clock ?? Date.now;
  let result: WorkspacePollResult;
  try {
    result = await pollWorkspace(workspaceId, {
      reader: deps.databricks(workspaceId),
      cursors: deps.cursors,
      incident: incidentDeps(deps, clock),
      semaphore: new Semaphore(options.maxConcurrentRequests),
      options,
      clock,
      budget: budget(deps.timeLeft, options.safetyMarginMs),
      metrics: deps.metrics,
    });
  } catch (error) {
    result = failedWorkspace(workspaceId, error);
  }
  const problems = [...result.problems];
  if (deps.restores !== undefined && result.status !== 'failed') {
    await restorePending(deps, deps.restores, workspaceId, problems);
  }
  return { ...result, problems };
}

/** The reconciler, once per run; a failure is reported in `problems`, never thrown. */
export async function reconcileOnce(
  deps: Omit<PollerDeps, 'workspaceIds' | 'databricks'>,
  problems: string[],
): Promise<ReconcileReport | undefined> {
  const options = deps.options ?? DEFAULT_POLLER_OPTIONS;
  const clock = deps.clock ?? Date.now;
  try {
    return await reconcile({
      ...incidentDeps(deps, clock),
      ...(deps.notifier === undefined ? {} : { notifier: deps.notifier }),
      ...(deps.notifications === undefined ? {} : { notifications: deps.notifications }),
      tickets: deps.tickets,
      breakers: deps.breakers,
      inspector: deps.workflow,
      positions: deps.cursors,
      options,
      clock,
      budget: budget(deps.timeLeft, options.safetyMarginMs),
      metrics: deps.metrics,
    });
  } catch (error) {
    problems.push(`reconciler: ${describeError(error)}`);
    deps.metrics.count('ReconcileErrors');
    deps.logger.error('the reconciler failed', { error: problems.at(-1) });
    return undefined;
  }
}

/** The run's workspace counters, and a warning for each workspace left for the next run. */
export function countWorkspaces(
  deps: Pick<PollerDeps, 'logger' | 'metrics'>,
  workspaces: readonly Pick<WorkspacePollResult, 'workspaceId' | 'status' | 'problems'>[],
): void {
  for (const result of workspaces) {
    if (result.status !== 'complete') {
      deps.logger.warn('workspace poll not complete; its cursor stays for the next run', {
        workspaceId: result.workspaceId,
        status: result.status,
        problems: result.problems.slice(0, 10),
      });
    }
  }
  deps.metrics.count('WorkspacesPolled', workspaces.filter((w) => w.status === 'complete').length);
  deps.metrics.count('WorkspacesIncomplete', workspaces.filter((w) => w.status === 'incomplete').length);
  deps.metrics.count('WorkspaceErrors', workspaces.filter((w) => w.status === 'failed').length);
}

function incidentDeps(
  deps: Omit<PollerDeps, 'workspaceIds' | 'databricks'>,
  clock: () => number,
): IncidentDeps {
  return {
    tickets: deps.tickets,
    breakers: deps.breakers,
    workflow: deps.workflow,
    playbooks: deps.playbooks,
    autoRemediationEnabled: deps.autoRemediationEnabled,
    ...(deps.silences === undefined ? {} : { silences: deps.silences }),
    ...(deps.cap === undefined ? {} : { cap: deps.cap }),
    ...(deps.outages === undefined ? {} : { outages: deps.outages }),
    clock,
    logger: deps.logger,
    metrics: deps.metrics,
    actor: deps.actor,
  };
}

/**
 * Restores waiting for their cluster's next natural termination (see `restore.ts`): one Query per
 * workspace, and calls only for the clusters that have one. A failure is reported, never fatal.
 */
async function restorePending(
  deps: Omit<PollerDeps, 'workspaceIds'>,
  store: RestoreStore,
  workspaceId: string,
  problems: string[],
): Promise<void> {
  try {
    const client = deps.databricks(workspaceId);
    if (client.getCluster === undefined || client.updateCluster === undefined) return;
    const result = await applyPendingRestores({
      workspaceId,
      store,
      client: client as RestoreClient,
      tickets: deps.tickets,
      actor: deps.actor,
      logger: deps.logger,
    });
    if (result.applied > 0) deps.metrics.count('ConfigRestored', result.applied);
  } catch (error) {
    problems.push(`pending restores of ${workspaceId}: ${describeError(error)}`);
    deps.logger.warn('pending restores not applied this run', { workspaceId, error: problems.at(-1) });
  }
}

/** Throws PollFailedError when every workspace failed, so that the invocation counts as an error. */
export function assertSomethingPolled(report: Pick<PollReport, 'workspaces'>): void {
  const failed = report.workspaces.filter((w) => w.status === 'failed');
  if (report.workspaces.length > 0 && failed.length === report.workspaces.length) {
    throw new PollFailedError(
      `every workspace failed: ${failed.map((w) => `${w.workspaceId} (${w.problems[0] ?? 'unknown'})`).join('; ')}`,
    );
  }
}

function budget(timeLeft: () => number, reserveMs: number): Budget {
  return {
    hasTime: () => timeLeft() - reserveMs > 0,
    deadline: () => Date.now() + Math.max(0, timeLeft() - reserveMs),
  };
}

export function failedWorkspace(workspaceId: string, reason: unknown): WorkspacePollResult {
  return {
    workspaceId,
    status: 'failed',
    clustersListed: 0,
    listCalls: 0,
    eventCalls: 0,
    failuresDetected: 0,
    explainedStateLosses: 0,
    outcomes: { success: 0, duplicate: 0, ignored: 0, escalated: 0, error: 0 },
    setAside: 0,
    cursorAdvanced: false,
    problems: [describeError(reason)],
  };
}
