/**
 * The poll workflow's steps (`state-machines/poll.asl.json`), one per Task state:
 *
 * | step        | input                                   | does                                   | output |
 * |-------------|-----------------------------------------|----------------------------------------|--------|
 * | `list`      | `{ startedAt }` (the execution's start) | reads the registry (cached)            | `{ workspaces: [{ workspaceId, deadline }] }` |
 * | `workspace` | `{ workspaceId, deadline }`             | polls that one workspace, its restores | its result (calls, failures, tickets, duration) |
 * | `reconcile` | `{ results }` (the Map's)               | counts the run, the reconciler once     | the run's summary; fails when every workspace failed |
 *
 * `deadline` (epoch ms) is when the run must have ended: the period after the execution's start,
 * less a margin, so that a run ends before the next is due, however late its Map reaches a workspace.
 */
import * as z from '../core/zod.ts';
import { DEFAULT_POLLER_OPTIONS } from './config.ts';
import type { WorkspacePollResult } from './poll-state.ts';
import type { ReconcileReport } from './reconcile.ts';
import {
  assertSomethingPolled,
  countWorkspaces,
  failedWorkspace,
  type PollerDeps,
  pollOneWorkspace,
  reconcileOnce,
} from './run.ts';

export const PollStepSchema = z.discriminatedUnion('step', [
  z.strictObject({ step: z.literal('list'), startedAt: z.optional(z.string()) }),
  z.strictObject({
    step: z.literal('workspace'),
    workspaceId: z.string().check(z.minLength(1), z.maxLength(64)),
    deadline: z.number().check(z.int(), z.positive()),
  }),
  z.strictObject({ step: z.literal('reconcile'), results: z.array(z.record(z.string(), z.unknown())) }),
]);
export type PollStep = z.infer<typeof PollStepSchema>;

/** One workspace's line in the run: what the Map collects. */
export interface WorkspaceStepResult {
  readonly workspaceId: string;
  readonly status: WorkspacePollResult['status'] | 'skipped';
  readonly clustersListed: number;
  readonly listCalls: number;
  readonly eventCalls: number;
  readonly failuresDetected: number;
  readonly ticketsOpened: number;
  readonly durationMs: number;
  readonly cursorAdvanced: boolean;
  readonly problems: readonly string[];
}

export interface RunSummary {
  readonly workspaces: number;
  readonly complete: number;
  readonly incomplete: number;
  readonly failed: number;
  readonly skipped: number;
  readonly clustersListed: number;
  readonly failuresDetected: number;
  readonly ticketsOpened: number;
  readonly reconcile?: ReconcileReport;
  readonly problems: readonly string[];
}

export interface PollStepDeps extends Omit<PollerDeps, 'workspaceIds' | 'timeLeft'> {
  /** The registry's workspaces (a cached read). */
  readonly workspaceIds: () => Promise<readonly string[]>;
  /** The period between runs, ms: the run's deadline is this after its start, less `marginMs`. */
  readonly periodMs: number;
  /** @default 20_000 */
  readonly marginMs?: number;
  /** Sees each workspace's full result (local mode and tests; the Map keeps only the summary). */
  readonly onWorkspace?: (result: WorkspacePollResult) => void;
}

/** Runs one step. `invocationTimeLeft` is the Lambda's remaining time. */
export async function runPollStep(
  input: unknown,
  deps: PollStepDeps,
  invocationTimeLeft: () => number,
): Promise<unknown> {
  const step = PollStepSchema.parse(input);
  switch (step.step) {
    case 'list': {
      const started = step.startedAt === undefined ? Date.now() : Date.parse(step.startedAt);
      const deadline =
        (Number.isFinite(started) ? started : Date.now()) + deps.periodMs - (deps.marginMs ?? 20_000);
      const ids = await deps.workspaceIds();
      return { workspaces: ids.map((workspaceId) => ({ workspaceId, deadline })) };
    }
    case 'workspace':
      return pollWorkspaceStep(step.workspaceId, step.deadline, deps, invocationTimeLeft);
    case 'reconcile':
      return reconcileStep(step.results, deps, invocationTimeLeft);
  }
}

async function pollWorkspaceStep(
  workspaceId: string,
  deadline: number,
  deps: PollStepDeps,
  invocationTimeLeft: () => number,
): Promise<WorkspaceStepResult> {
  const began = Date.now();
  const options = deps.options ?? DEFAULT_POLLER_OPTIONS;
  const timeLeft = () => Math.min(invocationTimeLeft(), deadline - Date.now());
  if (timeLeft() <= options.safetyMarginMs) {
    // The Map reached it too late (or a retry came after the run's time): the next run polls it.
    return { ...summarise(failedWorkspace(workspaceId, 'no time left in this run'), 0), status: 'skipped' };
  }
  const result = await pollOneWorkspace({ ...deps, timeLeft }, workspaceId);
  deps.onWorkspace?.(result);
  const summary = summarise(result, Date.now() - began);
  if (result.status === 'failed') throw new WorkspacePollFailedError(workspaceId, summary);
  return summary;
}

async function reconcileStep(
  raw: readonly Record<string, unknown>[],
  deps: PollStepDeps,
  invocationTimeLeft: () => number,
): Promise<RunSummary> {
  const results = raw.map(stepResult);
  countWorkspaces(deps, results.filter((r) => r.status !== 'skipped') as never);
  const problems: string[] = [];
  const reconciled = await reconcileOnce({ ...deps, timeLeft: invocationTimeLeft }, problems);
  const count = (status: WorkspaceStepResult['status']) => results.filter((r) => r.status === status).length;
  const sum = (key: 'clustersListed' | 'failuresDetected' | 'ticketsOpened') =>
    results.reduce((total, r) => total + r[key], 0);
  const summary: RunSummary = {
    workspaces: results.length,
    complete: count('complete'),
    incomplete: count('incomplete'),
    failed: count('failed'),
    skipped: count('skipped'),
    clustersListed: sum('clustersListed'),
    failuresDetected: sum('failuresDetected'),
    ticketsOpened: sum('ticketsOpened'),
    ...(reconciled === undefined ? {} : { reconcile: reconciled }),
    problems,
  };
  deps.logger.info('poll run finished', { ...summary });
  // A run that reached no workspace at all fails its execution, for the ExecutionsFailed alarm.
  assertSomethingPolled({ workspaces: results.filter((r) => r.status !== 'skipped') as never });
  return summary;
}

/** A workspace whose poll failed: the Map's retry for it, then its Catch records the result. */
export class WorkspacePollFailedError extends Error {
  override readonly name = 'WorkspacePollFailed';
  readonly result: WorkspaceStepResult;
  constructor(workspaceId: string, result: WorkspaceStepResult) {
    super(`workspace ${workspaceId}: ${result.problems[0] ?? 'failed'}`);
    this.result = result;
  }
}

function summarise(result: WorkspacePollResult, durationMs: number): WorkspaceStepResult {
  return {
    workspaceId: result.workspaceId,
    status: result.status,
    clustersListed: result.clustersListed,
    listCalls: result.listCalls,
    eventCalls: result.eventCalls,
    failuresDetected: result.failuresDetected,
    ticketsOpened: result.outcomes.success + result.outcomes.escalated + result.outcomes.error,
    durationMs,
    cursorAdvanced: result.cursorAdvanced,
    problems: result.problems.slice(0, 5),
  };
}

/**
 * A Map result back into a line: a workspace's own output, or what its Catch recorded
 * (`{ workspaceId, error: { Error, Cause } }`) once its retries were spent.
 */
function stepResult(raw: Record<string, unknown>): WorkspaceStepResult {
  const workspaceId = typeof raw.workspaceId === 'string' ? raw.workspaceId : 'unknown';
  if (typeof raw.status === 'string') return raw as unknown as WorkspaceStepResult;
  const error = (raw.error ?? {}) as { Error?: string; Cause?: string };
  return {
    ...summarise(failedWorkspace(workspaceId, `${error.Error ?? 'Error'}: ${error.Cause ?? 'unknown'}`), 0),
    status: 'failed',
  };
}
