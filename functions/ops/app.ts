/**
 * The operations API Lambda as a middy handler: middleware first (logging, headers, errors, operator
 * authentication, body), the route last. It never accepts the webhook key: in AWS API Gateway lets
 * only IAM-signed (SigV4) requests through and this handler takes the caller's ARN from the request
 * context; in `npm start` it accepts only the local operator key.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { TicketConflictError, TicketStateError } from '../core/ticket.ts';
import { safeEqual, UnauthorizedError } from '../intake/auth.ts';
import { errorResponses, HttpError, jsonBody, jsonResponse, type ParsedEvent } from '../intake/http.ts';
import { SilenceNotFoundError } from '../store/silences.ts';
import { isTransient } from '../workflow/errors.ts';
import { approveTicket, denyTicket } from './approval.ts';
import { changeBreaker, listBreakers } from './breakers.ts';
import type { OpsDeps } from './deps.ts';
import { doctor } from './doctor.ts';
import { getOutage, listOutages, outageId, resolveOutage } from './outages.ts';
import { report } from './report.ts';
import { addSilence, listSilences, removeSilence } from './silences.ts';
import { getTicket, listTickets, retryCursor, retryDisabled, retryTicket } from './tickets.ts';
import { type WorkspaceOpsDeps, workspaceRoutes } from './workspaces.ts';

/** Who is calling, or UnauthorizedError. */
export type OperatorAuth = (event: ParsedEvent) => string;

/** In AWS: API Gateway verified the SigV4 signature (IAM authorization); the caller is its ARN. */
export const iamOperator: OperatorAuth = (event) => {
  const arn = event.requestContext?.identity?.userArn;
  if (typeof arn !== 'string' || arn === '') throw new UnauthorizedError('no IAM caller');
  return arn;
};

/** In `npm start`: the local operator key in `x-api-key`, never the webhook's key. */
export function operatorKey(key: string): OperatorAuth {
  if (key.length < 16) throw new Error('the operator key must be at least 16 characters');
  return (event) => {
    const presented = event.headers?.['x-api-key'];
    if (presented === undefined || !safeEqual(presented, key))
      throw new UnauthorizedError('wrong operator key');
    return 'local-operator';
  };
}

export interface OpsAppDeps extends OpsDeps {
  readonly authorize: OperatorAuth;
  readonly logger: Logger;
  /** The workspace registry's routes (`/ops/workspaces`). @default - not served */
  readonly workspaces?: WorkspaceOpsDeps;
  /** Powertools Metrics, flushed after every request (approvals granted and denied). @default none */
  readonly metrics?: Metrics;
}

const TICKET_ID = /^RCA-\d{8}-\d{3,}$/;

type Route = (event: ParsedEvent, actor: string) => Promise<APIGatewayProxyResult>;

export function createOpsHandler(deps: OpsAppDeps) {
  const ticketId = (event: ParsedEvent): string => {
    const id = event.pathParameters?.id;
    if (id === undefined || !TICKET_ID.test(id)) {
      throw new HttpError(400, `ticket id must look like RCA-YYYYMMDD-NNN, not '${id ?? ''}'`);
    }
    return id;
  };
  const query = (event: ParsedEvent, name: string): string | undefined =>
    event.queryStringParameters?.[name] ?? undefined;
  const ok = (body: unknown) => jsonResponse(200, body);

  const routes: Readonly<Record<string, Route>> = {
    'GET /ops/tickets': async (event) =>
      ok({
        tickets: await listTickets(
          {
            ...optional('status', query(event, 'status')),
            ...optional('cluster', query(event, 'cluster')),
            ...optional('since', query(event, 'since')),
          },
          deps,
        ),
      }),
    'GET /ops/tickets/{id}': async (event) => ok(await getTicket(ticketId(event), deps)),
    'POST /ops/tickets/{id}/retry': async (event, actor) =>
      ok(await retryTicket(ticketId(event), actor, deps)),
    'POST /ops/tickets/{id}/approve': async (event, actor) =>
      ok(await approveTicket(ticketId(event), actor, deps)),
    'POST /ops/tickets/{id}/deny': async (event, actor) =>
      ok(await denyTicket(ticketId(event), event.parsedBody, actor, deps)),
    'POST /ops/retry-disabled': async (event, actor) =>
      ok(await retryDisabled(actor, deps, retryCursor(event.parsedBody))),
    'GET /ops/breakers': async () => ok({ breakers: await listBreakers(deps) }),
    'POST /ops/breakers': async (event, actor) =>
      ok({ breaker: await changeBreaker(event.parsedBody, actor, deps) }),
    'GET /ops/silences': async () => ok(await listSilences(deps)),
    'POST /ops/silences': async (event, actor) =>
      jsonResponse(201, { silence: await addSilence(event.parsedBody, actor, deps) }),
    'DELETE /ops/silences/{id}': async (event, actor) =>
      ok(await removeSilence(event.pathParameters?.id ?? '', actor, deps)),
    'GET /ops/outages': async () => ok(await listOutages(deps)),
    'GET /ops/outages/{id}': async (event) => ok(await getOutage(outageId(event.pathParameters?.id), deps)),
    'POST /ops/outages/{id}/resolve': async (event, actor) =>
      ok(await resolveOutage(outageId(event.pathParameters?.id), event.parsedBody, actor, deps)),
    'GET /ops/report': async (event) => ok(await report(query(event, 'hours'), deps)),
    'GET /ops/doctor': async (event) =>
      ok(await doctor(query(event, 'cluster'), query(event, 'workspace'), deps)),
    ...workspaceRoutes(deps.workspaces),
  };

  const route = async (event: ParsedEvent): Promise<APIGatewayProxyResult> => {
    const actor = deps.authorize(event);
    const handler = routes[`${event.httpMethod} ${event.resource}`];
    if (handler === undefined)
      throw new HttpError(405, `${event.httpMethod} ${event.resource} is not supported`);
    deps.logger.info('operation', { route: `${event.httpMethod} ${event.resource}`, actor });
    return handler(event, actor);
  };

  const handler = middy<ParsedEvent, APIGatewayProxyResult>().use(
    injectLambdaContext(deps.logger, { clearState: true, logEvent: false }),
  );
  if (deps.metrics !== undefined) handler.use(logMetrics(deps.metrics));
  return handler
    .use(httpHeaderNormalizer())
    .use(
      errorResponses(deps.logger, (error) => {
        if (error instanceof SilenceNotFoundError) return { statusCode: 404, message: error.message };
        if (error instanceof TicketStateError || error instanceof TicketConflictError)
          return { statusCode: 409, message: `${error.message}; read it again and retry` };
        if (isTransient(error))
          return { statusCode: 503, message: 'storage is busy; try again', headers: { 'retry-after': '5' } };
        return undefined;
      }),
    )
    .use(authenticated(deps.authorize))
    .use(jsonBody())
    .handler(route);
}

/** Refuses unauthenticated calls before the body is even parsed. */
function authenticated(authorize: OperatorAuth): MiddlewareObj<ParsedEvent, APIGatewayProxyResult> {
  return {
    name: 'operatorAuth',
    before: (request) => {
      authorize(request.event);
    },
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
