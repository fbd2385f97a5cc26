/**
 * The intake handler wired to real parts: DynamoDB Local (a fresh table), the Databricks simulator
 * over HTTP, Secrets Manager through aws-sdk-client-mock, and a recording workflow starter.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import { WorkspaceClients } from '../../functions/databricks/index.ts';
import { createIntakeHandler } from '../../functions/intake/app.ts';
import { parseApiKeys } from '../../functions/intake/auth.ts';
import { workspaceDeps } from '../../functions/intake/webhook.ts';
import { cachedSecretText } from '../../functions/shared/secret-cache.ts';
import { BreakerRepository } from '../../functions/store/breakers.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { lambdaContext, type RequestShape, toApiGatewayEvent } from '../../lib/local/api-gateway.ts';
import { RecordingWorkflowStarter } from '../../lib/local/recording-workflow.ts';
import { startSimulator } from '../../lib/simulator/index.ts';
import { createTestTable } from './dynamodb.ts';

export const KEYS_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:intake-keys-AbCdEf';
/** The numeric id Databricks gives the test workspace, as job notifications carry it. */
export const DATABRICKS_WORKSPACE_ID = '1234567890123456';
export const DATABRICKS_SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:dbx-default-AbCdEf';
/**
 * The simulated "now" of the intake scenario, a few hours after its clusters terminated: Databricks
 * forgets a cluster 60 days after its termination, so the fixture's times must stay recent.
 */
const SCENARIO_NOW = Date.UTC(2025, 10, 28, 6, 0, 0);
const SCENARIO = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/intake/scenario.json'), 'utf8'),
);

export interface HarnessOptions {
  readonly autoRemediationEnabled?: boolean;
  readonly playbooks?: unknown;
  readonly logger?: Logger;
  /** The intake's clock. @default Date.now */
  readonly clock?: () => number;
  /** Keep the API keys for this many seconds, as the Lambda does (60). @default 0: read on every request */
  readonly keysMaxAgeSeconds?: number;
}

export interface Response {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  readonly body: Record<string, unknown>;
  readonly raw: APIGatewayProxyResult;
}

export const randomKey = (): string => randomBytes(24).toString('hex');

export async function createIntakeHarness(options: HarnessOptions = {}) {
  const table = await createTestTable('intake');
  const awsCalls = countCommands(table.client);
  const simulator = await startSimulator({ scenario: SCENARIO, timeScale: 0, startTime: SCENARIO_NOW });
  const keys = { current: randomKey(), previous: randomKey(), basic_username: 'databricks' };
  const secrets = mockClient(SecretsManagerClient);
  const setKeys = (value: Record<string, unknown>) =>
    secrets
      .on(GetSecretValueCommand, { SecretId: KEYS_SECRET_ARN })
      .resolves({ SecretString: JSON.stringify(value) });
  setKeys(keys);
  secrets
    .on(GetSecretValueCommand, { SecretId: DATABRICKS_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ token: simulator.token }) });
  const secretsClient = new SecretsManagerClient({ region: 'us-east-1' });
  // maxAge 0: every request reads the (mocked) secret, so rotation takes effect at once in tests.
  // As the intake's entry reads its keys (functions/handlers/intake.ts).
  const intakeKeys = cachedSecretText({
    secrets: secretsClient,
    secretId: KEYS_SECRET_ARN,
    maxAgeMs: (options.keysMaxAgeSeconds ?? 0) * 1000,
  });
  const workflow = new RecordingWorkflowStarter();
  const tickets = new TicketRepository({ client: table.documentClient, tableName: table.tableName });
  const breakers = new BreakerRepository({ client: table.documentClient, tableName: table.tableName });
  const databricks = new WorkspaceClients({
    workspaces: [
      {
        id: 'default',
        host: simulator.url,
        credentialsSecretArn: DATABRICKS_SECRET_ARN,
        databricksWorkspaceId: DATABRICKS_WORKSPACE_ID,
      },
    ],
    secrets: secretsClient,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
  });
  const handler = createIntakeHandler({
    loadKeys: async () => parseApiKeys(await intakeKeys()),
    tickets,
    breakers,
    // As in AWS: the ticket write checks the silence markers; the silences are read only if one is in force.
    silences: new SilenceRepository({ client: table.documentClient, tableName: table.tableName }),
    workflow,
    playbooks: loadPlaybooks(options.playbooks ?? {}),
    autoRemediationEnabled: options.autoRemediationEnabled ?? true,
    ...workspaceDeps(databricks),
    clock: options.clock ?? Date.now,
    actor: 'intake',
    logger: options.logger ?? new Logger({ logLevel: 'SILENT' }),
    // A refused body publishes no metric: the warning about an empty batch would only be noise.
    metrics: new Metrics({
      namespace: 'Test',
      serviceName: 'intake',
      logger: { ...console, warn: () => undefined },
    }),
  });

  async function send(request: RequestShape): Promise<Response> {
    const raw = (await handler(toApiGatewayEvent(request), lambdaContext('intake'))) as APIGatewayProxyResult;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.body);
    } catch {
      body = { unparsed: raw.body };
    }
    return { statusCode: raw.statusCode, headers: raw.headers ?? {}, body, raw };
  }

  /** POSTs a JSON payload to the seed's path with the current key. */
  function post(
    payload: unknown,
    headers: Record<string, string> = {},
    path = '/databricks-monitor',
  ): Promise<Response> {
    return send({
      method: 'POST',
      path,
      headers: { 'Content-Type': 'application/json', 'x-api-key': keys.current, ...headers },
      body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  /** Every item in the table (tests compare before and after). */
  async function items(): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await table.documentClient.send(
      new ScanCommand({ TableName: table.tableName, ConsistentRead: true }),
    );
    return Items;
  }

  return {
    handler,
    send,
    post,
    items,
    keys,
    setKeys,
    awsCalls,
    workflow,
    tickets,
    breakers,
    simulator,
    table,
    async close() {
      secrets.restore();
      await simulator.close();
      await table.destroy();
    },
  };
}

/**
 * Records the name of every command a client sends (an SDK middleware at the initialize step), so a
 * test can assert how many AWS calls an event cost. `take()` returns the names since the last take.
 */
export function countCommands(client: { middlewareStack: SmithyStack }) {
  let names: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    take(): string[] {
      const taken = names;
      names = [];
      return taken;
    },
  };
}

type SmithyStack = DynamoDBClient['middlewareStack'];

export type IntakeHarness = Awaited<ReturnType<typeof createIntakeHarness>>;

export const fixture = (path: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures', path), 'utf8'));

/** The documentation's notifications carry placeholder ids (`"run_id": "run_id"`); real ids are digits. */
export function withDigitIds(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (key, value) =>
    ['run_id', 'parent_run_id', 'job_id', 'workspace_id'].includes(key) && !/^\d+$/.test(String(value))
      ? '1234567890'
      : value,
  );
}
