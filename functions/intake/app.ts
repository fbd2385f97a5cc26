/**
 * The intake Lambda as a middy handler: middleware first (observability, headers, errors, auth, body),
 * the route last. Built from injected dependencies so that tests and the local host run exactly this
 * handler; `functions/handlers/intake.ts` wires it from the environment for AWS.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import type { IncidentOutcome } from '../core/incident.ts';
import { isTransient } from '../workflow/errors.ts';
import type { ApiKeys } from './auth.ts';
import { apiKeyAuth, errorResponses, HttpError, jsonBody, jsonResponse, type ParsedEvent } from './http.ts';
import {
  type IntakeDeps,
  processWebhook,
  UnknownResourceError,
  UpstreamUnavailableError,
} from './webhook.ts';

export interface IntakeAppDeps extends Omit<IntakeDeps, 'logger' | 'metrics' | 'deadline'> {
  readonly loadKeys: () => Promise<ApiKeys>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer?: Tracer;
}

/** Databricks calls stop this long before the Lambda would time out, so the response still goes out. */
const DEADLINE_MARGIN_MS = 3000;

/** The seed's response shape. */
export function toResponseBody(outcome: IncidentOutcome): Record<string, unknown> {
  return {
    status: outcome.status,
    ticket_id: outcome.ticket?.ticketId ?? null,
    error_type: outcome.classification.errorType ?? null,
    recovery_status: outcome.recoveryStatus ?? 'not_applicable',
    actions_taken: outcome.actionsTaken,
    message: outcome.message,
  };
}

const NETWORK_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/** A fault of AWS (throttling, contention, a 5xx, the network) that a later delivery can get past. */
function isTransientFault(error: unknown): boolean {
  if (isTransient(error)) return true;
  return NETWORK_ERRORS.has(String((error as { code?: unknown } | undefined)?.code ?? ''));
}

export function createIntakeHandler(deps: IntakeAppDeps) {
  const metrics = {
    count: (name: string, value = 1) => deps.metrics.addMetric(name, MetricUnit.Count, value),
  };

  const route = async (event: ParsedEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const deadline = () =>
      Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
    if ((event.resource ?? '').startsWith('/databricks-monitor') && event.httpMethod === 'POST') {
      metrics.count('WebhooksReceived');
      const outcome = await processWebhook(event.parsedBody, event.pathParameters?.workspace, {
        ...deps,
        logger: deps.logger,
        metrics,
        deadline,
        // The workflow moves the ticket to in_progress when it takes over: two AWS calls per incident.
        markStarted: false,
      });
      if (outcome.retryable) {
        return jsonResponse(503, toResponseBody(outcome), { 'retry-after': '30' });
      }
      return jsonResponse(200, toResponseBody(outcome));
    }
    throw new HttpError(405, `${event.httpMethod} ${event.resource} is not supported`);
  };

  const handler = middy<ParsedEvent, APIGatewayProxyResult>();
  if (deps.tracer !== undefined) handler.use(captureLambdaHandler(deps.tracer, { captureResponse: false }));
  return handler
    .use(injectLambdaContext(deps.logger, { clearState: true, logEvent: false }))
    .use(logMetrics(deps.metrics))
    .use(httpHeaderNormalizer())
    .use(
      errorResponses(deps.logger, (error) => {
        if (error instanceof UnknownResourceError) return { statusCode: 422, message: error.message };
        if (error instanceof UpstreamUnavailableError || isTransientFault(error)) {
          return {
            statusCode: 503,
            message:
              error instanceof UpstreamUnavailableError
                ? 'Databricks is unavailable; deliver again later'
                : 'storage is busy or unavailable; deliver again later',
            headers: { 'retry-after': '60' },
          };
        }
        return undefined;
      }),
    )
    .use(apiKeyAuth(deps.loadKeys))
    .use(jsonBody())
    .handler(route);
}
