/**
 * The shared AWS clients bound every request in time, so that a hung connection fails the task with
 * a retryable TimeoutError instead of running the Lambda into its own timeout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_HTTP_TIMEOUTS, awsHttpHandler, lazyClient } from '../../functions/shared/aws.ts';
import { documentClient } from '../../functions/shared/aws-dynamodb.ts';
import { secretsManager } from '../../functions/shared/aws-secrets.ts';
import { stepFunctionsClient } from '../../functions/shared/aws-sfn.ts';
import { snsClient } from '../../functions/shared/aws-sns.ts';
import { isTransient } from '../../functions/workflow/errors.ts';

/** What a client's request handler resolves its options to (the handler reads them the same way). */
async function optionsOf(handler: unknown): Promise<Record<string, unknown>> {
  return (await (handler as { configProvider: Promise<Record<string, unknown>> }).configProvider) ?? {};
}

describe('shared AWS clients', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    // Accepts connections and never answers.
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    ['DynamoDB', async () => documentClient],
    ['Secrets Manager', async () => secretsManager],
    ['Step Functions', () => stepFunctionsClient().client()],
    ['SNS', () => snsClient().client()],
  ])('gives every %s request a connection and a request timeout that throw', async (_name, built) => {
    // Prepare
    const client = await built();

    // Act
    const options = await optionsOf(client.config.requestHandler);

    // Assess
    expect(options).toMatchObject({
      connectionTimeout: AWS_HTTP_TIMEOUTS.connectionTimeout,
      requestTimeout: AWS_HTTP_TIMEOUTS.requestTimeout,
      socketTimeout: AWS_HTTP_TIMEOUTS.requestTimeout,
      throwOnRequestTimeout: true,
    });
    expect(AWS_HTTP_TIMEOUTS.requestTimeout).toBeGreaterThan(0);
    // Three SDK attempts must fit well inside the task function's 60 s.
    expect(3 * (AWS_HTTP_TIMEOUTS.connectionTimeout + AWS_HTTP_TIMEOUTS.requestTimeout)).toBeLessThan(30_000);
  });

  it('fails a silent request by its socket timeout alone, as a runtime SDK that only warns on requestTimeout would', async () => {
    // Prepare
    const { throwOnRequestTimeout: _throw, ...options } = awsHttpHandler({
      connectionTimeout: 200,
      requestTimeout: 200,
    });
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: { ...options, requestTimeout: 60_000 },
    });

    // Act
    const started = Date.now();
    const error = await client.send(new ListTablesCommand({})).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(5000);
    client.destroy();
  });

  it('fails a request that gets no answer with a TimeoutError, which the workflow retries', async () => {
    // Prepare
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: awsHttpHandler({ connectionTimeout: 200, requestTimeout: 200 }),
    });

    // Act
    const started = Date.now();
    const sending = client.send(new ListTablesCommand({}));

    // Assess
    const error = await sending.catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(isTransient(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    client.destroy();
  });
});

describe('a client built on its first request', () => {
  it('builds once, on the first request, passes every request on, and builds again after a failed build', async () => {
    // Prepare
    const builds: string[] = [];
    const sent: unknown[] = [];
    let failNext = true;
    const client = lazyClient(async () => {
      builds.push('build');
      if (failNext) {
        failNext = false;
        throw new Error('module not found');
      }
      return { send: async (command: unknown) => sent.push(command) };
    });

    // Act
    const beforeAnyRequest = builds.length;
    const failed = await client.send('first').catch((error: unknown) => (error as Error).message);
    await client.send('second');
    await client.send('third');

    // Assess
    expect(beforeAnyRequest).toBe(0);
    expect(failed).toBe('module not found');
    expect(builds).toEqual(['build', 'build']);
    expect(sent).toEqual(['second', 'third']);
  });
});
