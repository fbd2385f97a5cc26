/**
 * What every AWS SDK client of the functions shares. The clients themselves are built once per Lambda
 * container, one module each (`aws-dynamodb.ts`, `aws-secrets.ts`, `aws-sfn.ts`, `aws-sns.ts`), so that
 * a function loads only the SDK clients it imports. Endpoints can be redirected (DynamoDB Local,
 * tests) through `AWS_ENDPOINT_URL_*`, which the SDK reads itself.
 *
 * Every request is bounded in time: without a request timeout the SDK waits on a hung connection
 * until the Lambda itself times out, and the task fails with nothing to show for it. A timed-out
 * request fails with a `TimeoutError`, which the SDK retries and the workflow treats as transient.
 */
// Only the options' type: the handler itself is the SDK's own (the runtime's, in Lambda), built by each
// client from these options, so that no copy of it is bundled (about 11 KB of each function's bundle).
import type { NodeHttpHandlerOptions } from '@smithy/node-http-handler';

export interface HttpTimeouts {
  /** Milliseconds to establish the connection. */
  readonly connectionTimeout: number;
  /** Milliseconds for the whole request, once connected. */
  readonly requestTimeout: number;
}

/**
 * Far above these services' usual latency (milliseconds), and small enough that the SDK's three
 * attempts fit well inside the 60 s of the task function.
 */
export const AWS_HTTP_TIMEOUTS: HttpTimeouts = { connectionTimeout: 3000, requestTimeout: 5000 };

/**
 * The request handler's options: a request exceeding `timeouts` fails, whichever version of
 * @smithy/node-http-handler the runtime's SDK carries — `throwOnRequestTimeout` where `requestTimeout`
 * alone would only warn (recent versions), and `socketTimeout`, which fails a request whose connection
 * stays silent that long in every version (older ones read `requestTimeout` that way themselves).
 */
export function awsHttpHandler(timeouts: HttpTimeouts = AWS_HTTP_TIMEOUTS): NodeHttpHandlerOptions {
  return { ...timeouts, socketTimeout: timeouts.requestTimeout, throwOnRequestTimeout: true };
}

/** A client built on its first request; `client()` builds it (once) and returns it. */
export interface LazyClient<C extends { send: unknown }> {
  readonly send: C['send'];
  client(): Promise<C>;
}

/**
 * A client built on its first request, with its SDK module loaded then (`build` imports it): for the
 * clients only some invocations use — Step Functions when a recovery starts, SNS when one ends — so
 * that a cold start which uses neither does not pay loading their modules (6–10 ms of CPU each).
 * A failed build is not kept: the next request builds again.
 */
export function lazyClient<C extends { send: unknown }>(build: () => Promise<C>): LazyClient<C> {
  let built: Promise<C> | undefined;
  const client = (): Promise<C> => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
  const send = (async (...args: unknown[]) => {
    const sdkClient = (await client()) as unknown as { send(...sendArgs: unknown[]): Promise<unknown> };
    return sdkClient.send(...args);
  }) as C['send'];
  return { send, client };
}

/**
 * A `lazyClient` of an SDK client class that `load` imports, with this module's request handler;
 * `prepare` sees it once built (the Tracer's `captureAWSv3Client`).
 */
export function lazySdkClient<C extends { send: unknown }>(
  load: () => Promise<new (config: { requestHandler: NodeHttpHandlerOptions }) => C>,
  prepare: (client: C) => C,
): LazyClient<C> {
  return lazyClient(async () => {
    const Client = await load();
    return prepare(new Client({ requestHandler: awsHttpHandler() }));
  });
}
