/**
 * The poller Lambda as a middy handler: observability middleware first, the run last. Built from
 * injected dependencies; `functions/handlers/poller.ts` wires it from the environment for AWS.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { PollerMetrics } from './poll-deps.ts';
import { assertSomethingPolled, type PollerDeps, type PollReport, runPoll } from './run.ts';
import { type PollStepDeps, runPollStep } from './steps.ts';

export interface PollerAppDeps extends Omit<PollerDeps, 'timeLeft' | 'metrics' | 'logger'> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer?: Tracer;
}

/** What the invocation returns (and logs): counts, not clusters. */
export interface PollSummary {
  readonly durationMs: number;
  readonly workspaces: readonly {
    readonly workspaceId: string;
    readonly status: string;
    readonly clustersListed: number;
    readonly failuresDetected: number;
    readonly ticketsOpened: number;
    readonly cursorAdvanced: boolean;
  }[];
  readonly reconcile?: PollReport['reconcile'];
  readonly problems: readonly string[];
}

export function summarise(report: PollReport): PollSummary {
  return {
    durationMs: report.durationMs,
    workspaces: report.workspaces.map((w) => ({
      workspaceId: w.workspaceId,
      status: w.status,
      clustersListed: w.clustersListed,
      failuresDetected: w.failuresDetected,
      ticketsOpened: w.outcomes.success + w.outcomes.escalated + w.outcomes.error,
      cursorAdvanced: w.cursorAdvanced,
    })),
    ...(report.reconcile === undefined ? {} : { reconcile: report.reconcile }),
    problems: report.problems,
  };
}

export function createPollerHandler(deps: PollerAppDeps) {
  const metrics = pollerMetrics(deps.metrics);

  const run = async (_event: ScheduledEvent, context: Context): Promise<PollSummary> => {
    const report = await runPoll({
      ...deps,
      metrics,
      timeLeft: () => context.getRemainingTimeInMillis(),
    });
    const summary = summarise(report);
    deps.logger.info('poll finished', { ...summary });
    // A run that reached no workspace at all is an error, for the Errors alarm; partial failures
    // are in the metrics (WorkspaceErrors, WorkspacesIncomplete).
    assertSomethingPolled(report);
    return summary;
  };

  return observed(deps, run);
}

export interface PollStepAppDeps extends Omit<PollStepDeps, 'metrics' | 'logger'> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer?: Tracer;
}

/**
 * The poll workflow's task function (`state-machines/poll.asl.json`): one handler for its three
 * steps (list, one workspace, reconcile), observability middleware first.
 */
export function createPollStepHandler(deps: PollStepAppDeps) {
  const metrics = pollerMetrics(deps.metrics);
  const run = (event: unknown, context: Context): Promise<unknown> =>
    runPollStep(event, { ...deps, metrics }, () => context.getRemainingTimeInMillis());
  return observed(deps, run);
}

/** The poller's counters and timings as Powertools metrics. */
function pollerMetrics(metrics: Metrics): PollerMetrics {
  return {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
  };
}

/**
 * Observability middleware first — the trace (when a tracer is given), the logger's Lambda context,
 * the metrics flushed after each invocation with the cold start — and `run` last.
 */
function observed<E, R>(
  deps: { readonly logger: Logger; readonly metrics: Metrics; readonly tracer?: Tracer },
  run: (event: E, context: Context) => Promise<R>,
) {
  const handler = middy<E, R>();
  if (deps.tracer !== undefined) handler.use(captureLambdaHandler(deps.tracer, { captureResponse: false }));
  return handler
    .use(injectLambdaContext(deps.logger, { clearState: true, logEvent: false }))
    .use(logMetrics(deps.metrics, { captureColdStartMetric: true }))
    .handler(run);
}
