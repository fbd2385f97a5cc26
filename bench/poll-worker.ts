/**
 * A warm "Lambda container" of the poll function for `npm run bench -- --workspaces N`: a child
 * process that runs the poll workflow's steps it is sent (IPC) with the real code — the registry read
 * through its cache, the workspace's poll, DynamoDB Local — and answers each with its result and the
 * process's peak RSS so far (what Lambda reports as Max Memory Used).
 *
 * Environment: BENCH_DYNAMODB_ENDPOINT, BENCH_TABLE, BENCH_TOKEN, BENCH_CLOCK_OFFSET_MS.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadPlaybooks } from '../functions/core/playbooks.ts';
import { syncWorkspaces, WorkspaceDirectory } from '../functions/databricks/registry.ts';
import { type SecretsReader, WorkspaceClients } from '../functions/databricks/workspaces.ts';
import { resolvePollerOptions } from '../functions/poller/config.ts';
import { runPollStep } from '../functions/poller/steps.ts';
import { BreakerRepository } from '../functions/store/breakers.ts';
import { CursorRepository } from '../functions/store/cursors.ts';
import { TicketRepository } from '../functions/store/tickets.ts';
import { WorkspaceRepository } from '../functions/store/workspaces.ts';
import { RecordingWorkflowStarter } from '../lib/local/recording-workflow.ts';

const env = (name: string) => process.env[name] ?? '';
const client = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    endpoint: env('BENCH_DYNAMODB_ENDPOINT'),
    region: 'us-east-1',
    // DynamoDB Local accepts any credentials; these are not secrets.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  }),
);
const tableName = env('BENCH_TABLE');
const offset = Number(env('BENCH_CLOCK_OFFSET_MS'));
const secrets: SecretsReader = {
  send: (async () => ({
    SecretString: JSON.stringify({ token: env('BENCH_TOKEN') }),
  })) as unknown as SecretsReader['send'],
};
const databricks = new WorkspaceClients({ workspaces: [], secrets });
const directory = new WorkspaceDirectory({
  registry: new WorkspaceRepository({ client, tableName }),
  access: 'act',
});
const sync = syncWorkspaces(directory, databricks);
const counts = new Map<string, number>();
const deps = {
  workspaceIds: async () => {
    await sync();
    return [...databricks.ids()];
  },
  databricks: (id: string) => databricks.get(id),
  periodMs: 300_000,
  cursors: new CursorRepository({ client, tableName }),
  tickets: new TicketRepository({ client, tableName }),
  breakers: new BreakerRepository({ client, tableName }),
  workflow: new RecordingWorkflowStarter(),
  playbooks: loadPlaybooks({}),
  autoRemediationEnabled: true,
  options: resolvePollerOptions({}),
  actor: 'poller',
  logger: new Logger({ logLevel: 'SILENT' }),
  metrics: {
    count: (name: string, value = 1) => counts.set(name, (counts.get(name) ?? 0) + value),
    milliseconds: () => undefined,
  },
  clock: () => Date.now() + offset,
};

process.on('message', async (message: { id: number; input: unknown }) => {
  const began = Date.now();
  try {
    await sync();
    const output = await runPollStep(message.input, deps, () => began + 240_000 - Date.now());
    process.send?.({ id: message.id, output, maxRssKb: process.resourceUsage().maxRSS });
  } catch (error) {
    process.send?.({
      id: message.id,
      error: { name: (error as Error).name, message: (error as Error).message },
      maxRssKb: process.resourceUsage().maxRSS,
    });
  }
});
process.send?.({ ready: true });
