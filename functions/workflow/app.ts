/**
 * The recovery task Lambda as a middy handler: observability middleware first, the step last. Built
 * from injected dependencies; `functions/handlers/workflow.ts` wires it from the environment. Errors
 * are rethrown unchanged: their name (`TransientError`, …) is what the state machine's Retry and
 * Catch match on.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { WorkflowDeps } from './deps.ts';
import { TransientError } from './errors.ts';
import type { RecoveryResult, RecoveryState } from './model.ts';
import { runTask } from './tasks.ts';

export interface WorkflowAppDeps extends Omit<WorkflowDeps, 'logger' | 'metrics' | 'deadline'> {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer?: Tracer;
}

/** Databricks calls stop this long before the Lambda would time out, so the task can still answer. */
const DEADLINE_MARGIN_MS = 5000;

export function createWorkflowTaskHandler(deps: WorkflowAppDeps) {
  const metrics = {
    count: (name: string, value = 1) => deps.metrics.addMetric(name, MetricUnit.Count, value),
  };

  const step = async (event: unknown, context: Context): Promise<RecoveryState | RecoveryResult> => {
    const info = describeEvent(event);
    deps.logger.appendKeys(info);
    try {
      return await runTask(event, {
        ...deps,
        metrics,
        deadline: () => Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS),
      });
    } catch (error) {
      const log = error instanceof TransientError ? deps.logger.warn : deps.logger.error;
      log.call(deps.logger, 'task failed', { error: error as Error });
      throw error;
    }
  };

  const handler = middy<unknown, RecoveryState | RecoveryResult>();
  if (deps.tracer !== undefined) handler.use(captureLambdaHandler(deps.tracer, { captureResponse: false }));
  return handler
    .use(injectLambdaContext(deps.logger, { clearState: true, logEvent: false }))
    .use(logMetrics(deps.metrics))
    .handler(step);
}

/** The step and the ticket, as keys on every log line of the invocation. */
function describeEvent(event: unknown): Record<string, string> {
  const record = (typeof event === 'object' && event !== null ? event : {}) as {
    step?: unknown;
    state?: { ticketId?: unknown; input?: { ticketId?: unknown } };
  };
  const ticketId = record.state?.input?.ticketId ?? record.state?.ticketId;
  return {
    ...(typeof record.step === 'string' ? { step: record.step } : {}),
    ...(typeof ticketId === 'string' ? { ticketId } : {}),
  };
}
