/**
 * A local stand-in for API Gateway (REST, Lambda proxy integration): an HTTP server on localhost that
 * turns each request into the event API Gateway would send and calls the real handler with it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** The webhook's resources, as API Gateway matches them. */
export const WEBHOOK_RESOURCES = ['/databricks-monitor', '/databricks-monitor/{workspace}'] as const;

/** The operations API's resources (IAM-authorized in AWS, the operator key locally). */
export const OPERATIONS_RESOURCES = [
  '/ops/tickets',
  '/ops/tickets/{id}',
  '/ops/tickets/{id}/retry',
  '/ops/tickets/{id}/approve',
  '/ops/tickets/{id}/deny',
  '/ops/retry-disabled',
  '/ops/breakers',
  '/ops/silences',
  '/ops/silences/{id}',
  '/ops/outages',
  '/ops/outages/{id}',
  '/ops/outages/{id}/resolve',
  '/ops/report',
  '/ops/doctor',
  '/ops/workspaces',
  '/ops/workspaces/{id}',
  '/ops/workspaces/{id}/check',
] as const;

export const RESOURCES = [...WEBHOOK_RESOURCES, ...OPERATIONS_RESOURCES] as const;

/** API Gateway's own payload limit; the handler enforces a much smaller one. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

export interface RequestShape {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: string | Buffer;
  readonly sourceIp?: string;
}

/** Matches a path against the resources: `{ resource, pathParameters }` or undefined (API Gateway's 403/404). */
export function matchResource(
  path: string,
): { resource: string; pathParameters: Record<string, string> | null } | undefined {
  for (const resource of RESOURCES) {
    const names: string[] = [];
    const pattern = resource.replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    const match = new RegExp(`^${pattern}/?$`).exec(path);
    if (match) {
      if (names.length === 0) return { resource, pathParameters: null };
      const params = Object.fromEntries(
        names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]),
      );
      return { resource, pathParameters: params };
    }
  }
  return undefined;
}

/** The REST API proxy event for a request, shaped as API Gateway sends it. */
export function toApiGatewayEvent(request: RequestShape, stage = 'local'): APIGatewayProxyEvent {
  const url = new URL(request.path, 'http://localhost');
  const matched = matchResource(url.pathname);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    multiValueHeaders[name] = values;
    headers[name] = values.join(',');
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    multiQuery[k] = [...(multiQuery[k] ?? []), v];
  }
  const body = request.body;
  const isBinary = Buffer.isBuffer(body) && !isUtf8(body);
  const requestId = randomUUID();
  return {
    resource: matched?.resource ?? url.pathname,
    path: url.pathname,
    httpMethod: request.method.toUpperCase(),
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    pathParameters: matched?.pathParameters ?? null,
    stageVariables: null,
    body:
      body === undefined || body.length === 0 ? null : isBinary ? body.toString('base64') : body.toString(),
    isBase64Encoded: isBinary,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method.toUpperCase(),
      identity: identity(request.sourceIp ?? '127.0.0.1', headers['user-agent']),
      path: `/${stage}${url.pathname}`,
      stage,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: matched?.resource ?? url.pathname,
    },
  };
}

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

function identity(
  sourceIp: string,
  userAgent: string | undefined,
): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent: userAgent ?? null,
    userArn: null,
  };
}

/** A Lambda context with a time budget, as the runtime passes it. */
export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface LocalApiOptions {
  readonly port: number;
  readonly host?: string;
  readonly handler: ProxyHandler;
  readonly functionName?: string;
  readonly onRequest?: (event: APIGatewayProxyEvent, result: APIGatewayProxyResult, ms: number) => void;
}

/** Serves the handler on localhost like API Gateway would; resolves once listening. */
export async function startLocalApi(
  options: LocalApiOptions,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    serve(req, res, options).catch((error: unknown) => {
      // A request the stand-in cannot even turn into an event (a malformed path, a broken socket).
      if (!res.headersSent) {
        const status = error instanceof URIError ? 400 : 502;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message: String((error as Error).message ?? error) }));
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, options: LocalApiOptions): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BYTES) {
      res
        .writeHead(413, { 'content-type': 'application/json' })
        .end('{"message":"Request Entity Too Large"}');
      req.destroy();
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const path = req.url ?? '/';
  if (matchResource(new URL(path, 'http://localhost').pathname) === undefined) {
    // What API Gateway answers for a path no resource matches.
    res
      .writeHead(403, { 'content-type': 'application/json' })
      .end('{"message":"Missing Authentication Token"}');
    return;
  }
  const event = toApiGatewayEvent({
    method: req.method ?? 'GET',
    path,
    headers: req.headers,
    body: Buffer.concat(chunks),
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  });
  const started = Date.now();
  let result: APIGatewayProxyResult;
  try {
    result = await options.handler(event, lambdaContext(options.functionName ?? 'intake'));
  } catch {
    // API Gateway's answer when the integration fails.
    result = { statusCode: 502, body: '{"message": "Internal server error"}' };
  }
  options.onRequest?.(event, result, Date.now() - started);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '');
  res.writeHead(result.statusCode, headers).end(body);
}
