/**
 * Local mode's stand-in for the EventBridge schedule: the real poll workflow (`poll.asl.json` on
 * aws-local-stepfunctions, its steps in process) every N seconds, over the local host's table,
 * workspace registry and Databricks clients. A run starts only after the previous one ended.
 */

import { ConfigurationError } from '../../functions/core/errors.ts';
import type { WorkflowInspector, WorkflowStarter } from '../../functions/core/incident.ts';
import { type PollerConfig, resolvePollerOptions } from '../../functions/poller/config.ts';
import { failedWorkspace, finishReport, type PollReport } from '../../functions/poller/run.ts';
import type { PollerMetrics, WorkspacePollResult } from '../../functions/poller/workspace.ts';
import { optionalEnv } from '../../functions/shared/env.ts';
import { CursorRepository } from '../../functions/store/cursors.ts';
import type { LocalDeps } from './host.ts';
import { runLocalPoll } from './poll-workflow.ts';

/** The demo's schedule: much shorter than the deployed 5 minutes, so that failures show up quickly. */
export const DEFAULT_POLL_INTERVAL_SECONDS = 30;

export interface PollerLoopOptions {
  /** Seconds between the end of one run and the start of the next; 0 disables the loop. @default POLL_INTERVAL_SECONDS, else 30 */
  readonly intervalSeconds?: number;
  /** @default true */
  readonly autoRemediationEnabled?: boolean;
  /** Poller knobs, as `POLLER_CONFIG` takes them. */
  readonly config?: PollerConfig;
  /** Time budget of one run, like the Lambda's timeout. @default 240 */
  readonly runTimeoutSeconds?: number;
  /** Observation clock, compared with Databricks timestamps. @default deps.clock, else Date.now */
  readonly clock?: () => number;
  /** The Map's MaxConcurrency. @default the definition's */
  readonly maxConcurrency?: number;
  /** Called after every run (tests, the console). */
  readonly onRun?: (report: PollReport) => void;
}

export interface PollerLoop {
  /** Seconds between runs; 0 when the loop is disabled. */
  readonly intervalSeconds: number;
  /** When the next scheduled run starts (epoch ms), or undefined when none is scheduled. */
  nextRunAt(): number | undefined;
  /** Runs the poller now (outside the schedule) and resolves with its report. */
  runOnce(): Promise<PollReport>;
  /** Stops the schedule and waits for a run in progress to end. */
  stop(): Promise<void>;
}

/** `POLL_INTERVAL_SECONDS` (local mode only), else the demo default. */
export function pollIntervalFromEnv(): number {
  const raw = optionalEnv('POLL_INTERVAL_SECONDS');
  if (raw === undefined) return DEFAULT_POLL_INTERVAL_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`POLL_INTERVAL_SECONDS must be a number >= 0, not '${raw}'`);
  }
  return value;
}

export function startPollerLoop(
  deps: LocalDeps,
  workflow: WorkflowStarter & WorkflowInspector,
  options: PollerLoopOptions = {},
): PollerLoop {
  const intervalSeconds = options.intervalSeconds ?? pollIntervalFromEnv();
  if (!Number.isFinite(intervalSeconds) || intervalSeconds < 0) {
    throw new RangeError(`the poll interval must be a number of seconds >= 0, not ${intervalSeconds}`);
  }
  return new PollSchedule(intervalSeconds, localPollRun(deps, workflow, options), deps.logger);
}

type ScheduleLogger = Pick<LocalDeps['logger'], 'error'>;

/** Runs on a schedule, one at a time: a run asked for while one is in progress is that run. */
class PollSchedule implements PollerLoop {
  readonly intervalSeconds: number;
  readonly #run: () => Promise<PollReport>;
  readonly #logger: ScheduleLogger;
  #current: Promise<PollReport> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextRunAt: number | undefined;
  #stopped = false;

  constructor(intervalSeconds: number, run: () => Promise<PollReport>, logger: ScheduleLogger) {
    this.intervalSeconds = intervalSeconds;
    this.#run = run;
    this.#logger = logger;
    // Like an EventBridge schedule, the first run comes one interval after the start.
    if (intervalSeconds > 0) this.#schedule(intervalSeconds * 1000);
  }

  nextRunAt(): number | undefined {
    return this.#nextRunAt;
  }

  runOnce(): Promise<PollReport> {
    if (this.#current !== undefined) return this.#current;
    const run = this.#run().finally(() => {
      this.#current = undefined;
    });
    this.#current = run;
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#nextRunAt = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#current?.catch(() => undefined);
  }

  #schedule(delayMs: number): void {
    this.#nextRunAt = undefined;
    if (this.#stopped) return;
    this.#nextRunAt = Date.now() + delayMs;
    this.#timer = setTimeout(() => {
      this.#nextRunAt = undefined;
      this.runOnce()
        .catch((error: unknown) =>
          this.#logger.error('local poll failed', { error: (error as Error).message }),
        )
        .finally(() => this.#schedule(this.intervalSeconds * 1000));
    }, delayMs);
    // The loop alone must not keep the process alive.
    this.#timer.unref();
  }
}

/** One run of the poll workflow with the loop's settings, logged in one line. */
function localPollRun(
  deps: LocalDeps,
  workflow: WorkflowStarter & WorkflowInspector,
  options: PollerLoopOptions,
): () => Promise<PollReport> {
  const clock = options.clock ?? deps.clock;
  // Local mode has no CloudWatch: the counters only feed the log line of each run.
  const counters = new Map<string, number>();
  const run: LocalRun = {
    budgetMs: (options.runTimeoutSeconds ?? 240) * 1000,
    metrics: {
      count: (name, value = 1) => counters.set(name, (counters.get(name) ?? 0) + value),
      milliseconds: (name, value) => counters.set(name, value),
    },
    pollerOptions: resolvePollerOptions(options.config ?? {}),
    cursors: new CursorRepository({ client: deps.documentClient, tableName: deps.tableName, clock }),
    autoRemediationEnabled: options.autoRemediationEnabled ?? true,
    ...(clock === undefined ? {} : { clock }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
  };
  return async () => {
    counters.clear();
    const report = await pollThroughWorkflow(deps, workflow, run);
    logRun(deps.logger, report, counters);
    options.onRun?.(report);
    return report;
  };
}

/** The log line of a run, with its figures as attributes. */
function logRun(
  logger: LocalDeps['logger'],
  report: PollReport,
  counters: ReadonlyMap<string, number>,
): void {
  logger.info(pollSummary(report, counters), {
    clustersSeen: counters.get('ClustersListed') ?? 0,
    failuresFound: counters.get('FailuresDetected') ?? 0,
    ticketsOpened: counters.get('TicketsOpened') ?? 0,
    databricksCalls: databricksCalls(report),
    reconciledStarts: counters.get('ReconciledStarts') ?? 0,
    reconciledEscalations: counters.get('ReconciledEscalations') ?? 0,
    workspaceErrors: counters.get('WorkspaceErrors') ?? 0,
    durationMs: report.durationMs,
  });
}

/** What every run of a loop shares. */
interface LocalRun {
  readonly budgetMs: number;
  readonly metrics: PollerMetrics;
  readonly pollerOptions: ReturnType<typeof resolvePollerOptions>;
  readonly cursors: CursorRepository;
  readonly autoRemediationEnabled: boolean;
  readonly clock?: () => number;
  readonly maxConcurrency?: number;
}

/** One run of the poll workflow, reported like the single-invocation poller reported it. */
async function pollThroughWorkflow(
  deps: LocalDeps,
  workflow: WorkflowStarter & WorkflowInspector,
  run: LocalRun,
): Promise<PollReport> {
  const began = Date.now();
  const startedAt = (run.clock ?? Date.now)();
  const full = new Map<string, WorkspacePollResult>();
  const local = await runLocalPoll(
    {
      workspaceIds: async () => {
        await deps.syncWorkspaces();
        return [...deps.databricks.ids()];
      },
      databricks: (id) => deps.databricks.get(id),
      // The run's deadline: its budget after the start (the list step takes off a 20 s margin).
      periodMs: run.budgetMs + 20_000,
      cursors: run.cursors,
      tickets: deps.tickets,
      breakers: deps.breakers,
      restores: deps.restores,
      workflow,
      playbooks: deps.playbooks,
      autoRemediationEnabled: run.autoRemediationEnabled,
      silences: deps.silences,
      ...(deps.cap === undefined ? {} : { cap: deps.cap }),
      ...(deps.outages === undefined ? {} : { outages: deps.outages }),
      options: run.pollerOptions,
      actor: 'poller',
      logger: deps.logger,
      metrics: run.metrics,
      onWorkspace: (result) => full.set(result.workspaceId, result),
      ...(run.clock === undefined ? {} : { clock: run.clock }),
    },
    {
      invocationTimeoutMs: run.budgetMs,
      ...(run.maxConcurrency === undefined ? {} : { maxConcurrency: run.maxConcurrency }),
    },
  );
  const workspaces = local.results.map(
    (result) =>
      full.get(result.workspaceId) ??
      failedWorkspace(
        result.workspaceId,
        'error' in result ? JSON.stringify(result.error) : result.problems[0],
      ),
  );
  return finishReport(run.metrics, began, {
    startedAt,
    workspaces,
    ...(local.summary?.reconcile === undefined ? {} : { reconcile: local.summary.reconcile }),
    problems: local.summary?.problems ?? [local.error ?? 'the poll workflow failed'],
  });
}

/** Databricks calls the run's workspace polls made (list and events pages). */
function databricksCalls(report: PollReport): number {
  return report.workspaces.reduce((sum, w) => sum + w.listCalls + w.eventCalls, 0);
}

/** The one line each local run logs: what it saw, found, opened, and what it cost. */
export function pollSummary(report: PollReport, counters: ReadonlyMap<string, number>): string {
  const n = (name: string) => counters.get(name) ?? 0;
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `poller run: ${plural(n('ClustersListed'), 'cluster')} seen, ${plural(n('FailuresDetected'), 'failure')} found, ${plural(n('TicketsOpened'), 'ticket')} opened, ${plural(databricksCalls(report), 'Databricks call')} made`;
}

/** For the banner: whether the poller is on, how often it runs, when it runs next and how far it looks back first. */
export function describePoller(
  poller: Pick<PollerLoop, 'intervalSeconds' | 'nextRunAt'>,
  config: PollerConfig = {},
): string {
  const next = poller.nextRunAt();
  if (poller.intervalSeconds === 0 || next === undefined) return 'off (POLL_INTERVAL_SECONDS=0)';
  const lookback = Math.round(resolvePollerOptions(config).initialLookbackMs / 60_000);
  return `on, every ${poller.intervalSeconds} s; next run at ${new Date(next).toISOString().slice(11, 19)} UTC (the first looks back ${lookback} min)`;
}
