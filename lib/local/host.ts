/**
 * Local mode: the intake's real handler behind a local API Gateway, on DynamoDB Local and the
 * Databricks simulator (or a real workspace when DATABRICKS_HOST and DATABRICKS_TOKEN are set).
 * Nothing here is a copy of production logic: it only builds the dependencies differently.
 */

import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '../../functions/core/errors.ts';
import type { WorkflowInspector, WorkflowStarter } from '../../functions/core/incident.ts';
import { loadPlaybooks, type PlaybookTable } from '../../functions/core/playbooks.ts';
import type { SecretsReader, WorkspaceClients } from '../../functions/databricks/index.ts';
import { withWorkspaces } from '../../functions/databricks/registry.ts';
import { createIntakeHandler } from '../../functions/intake/app.ts';
import { type ApiKeys, parseApiKeys } from '../../functions/intake/auth.ts';
import { workspaceDeps } from '../../functions/intake/webhook.ts';
import { createOpsHandler, operatorKey as operatorKeyAuth } from '../../functions/ops/app.ts';
import type { RetryBatchLimits } from '../../functions/ops/service.ts';
import { DEFAULT_POLLER_OPTIONS } from '../../functions/poller/config.ts';
import { drainOnSlotFreed, outageDepsOf } from '../../functions/poller/fleet.ts';
import { settleProbe } from '../../functions/poller/outage.ts';
import {
  type FunctionWiring,
  functionWiring,
  operationsDeps,
  startDeps,
} from '../../functions/shared/wiring.ts';
import type { BreakerRepository } from '../../functions/store/breakers.ts';
import { NotificationLedger } from '../../functions/store/notifications.ts';
import type { OutageCorrelator } from '../../functions/store/outage-correlator.ts';
import type { RecoveryCap } from '../../functions/store/recovery-cap.ts';
import { RestoreRepository } from '../../functions/store/restores.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { createTable } from '../../functions/store/table-definition.ts';
import type { TicketRepository } from '../../functions/store/tickets.ts';
import type { WorkspaceRepository } from '../../functions/store/workspaces.ts';
import {
  DEMO_SCENARIO_PATH,
  loadScenarioFile,
  type RunningSimulator,
  startSimulator,
} from '../simulator/index.ts';
import { type ProxyHandler, startLocalApi } from './api-gateway.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { LocalLogFormatter } from './log-format.ts';
import { type PollerLoop, startPollerLoop } from './poller-loop.ts';
import { createLocalWorkflowRunner, type LocalWorkflowRunner } from './workflow-runner.ts';

export interface LocalHostOptions {
  /** HTTP port of the API; 0 picks a free one. @default 8000 */
  readonly port?: number;
  /** The API key callers send in `x-api-key`. @default a random one, printed at start */
  readonly apiKey?: string;
  /** The operations API's key (`rca --key`), never the webhook key. @default a random one, printed at start */
  readonly operatorKey?: string;
  /** @default true */
  readonly autoRemediationEnabled?: boolean;
  /** Simulated ms per real ms of the Databricks simulator. @default 60 (a 3-minute start takes 3 s) */
  readonly timeScale?: number;
  /** Scenario file for the simulator. @default the demo scenario */
  readonly scenarioPath?: string;
  /** A real workspace instead of the simulator. */
  readonly databricks?: { readonly host: string; readonly token: string };
  readonly playbookOverrides?: unknown;
  /** Replaces the local workflow runner (the real ASL on aws-local-stepfunctions), e.g. with a recorder. */
  readonly workflow?: (deps: LocalDeps) => Promise<WorkflowStarter & WorkflowInspector>;
  /** Seconds between poller runs; 0 disables the poller. @default POLL_INTERVAL_SECONDS, else 30 */
  readonly pollIntervalSeconds?: number;
  /** What one `rca retry --disabled` call may do. @default RETRY_BATCH, as in AWS */
  readonly retryBatch?: RetryBatchLimits;
  readonly logger?: Logger;
}

/** What the local host built, for the workflow runner and the poller to share. */
export interface LocalDeps {
  readonly tableName: string;
  readonly documentClient: DynamoDBDocumentClient;
  readonly tickets: TicketRepository;
  readonly breakers: BreakerRepository;
  readonly restores: RestoreRepository;
  readonly silences: SilenceRepository;
  readonly databricks: WorkspaceClients;
  /** The workspace registry (seeded with `default`), as `rca workspaces` changes it. */
  readonly registry: WorkspaceRepository;
  /** Brings `databricks` up to the registry (a cached read, refreshed by every change). */
  readonly syncWorkspaces: () => Promise<void>;
  readonly playbooks: PlaybookTable;
  readonly logger: Logger;
  /** The blast-radius cap (`RECOVERY_CAP`, default 5 recoveries per workspace at once). */
  readonly cap?: RecoveryCap;
  /** Outage correlation (`OUTAGE_CORRELATION`, default 5 failures of one class within 10 minutes). */
  readonly outages?: OutageCorrelator;
  /**
   * Local mode's one clock: the stores, the intake, the operations API, the workflow and the poller
   * all read it. The simulator's (faster) clock, or Date.now with a real workspace. @default Date.now
   */
  readonly clock?: () => number;
}

export interface LocalHost extends LocalDeps {
  readonly clock: () => number;
  readonly url: string;
  readonly apiKey: string;
  readonly apiKeyGenerated: boolean;
  /** The local operations API's key (`rca --key`). */
  readonly operatorKey: string;
  readonly simulator?: RunningSimulator;
  readonly dynamoDb: DynamoDbLocal;
  readonly workflow: WorkflowStarter & WorkflowInspector;
  readonly handler: ProxyHandler;
  /** The poller's schedule (interval 0: off), and a run on demand (the soak's last looks). */
  readonly poller: Pick<PollerLoop, 'intervalSeconds' | 'nextRunAt' | 'runOnce'>;
  close(): Promise<void>;
}

const WORKSPACE_ID = 'default';
/** Local mode's secret prefix: every name under it holds the local simulator's (or DATABRICKS_TOKEN's) token. */
export const LOCAL_SECRET_PREFIX = 'local/databricks/';
const DATABRICKS_SECRET = `${LOCAL_SECRET_PREFIX}default`;
const KEYS_SECRET = 'local/intake-keys';
/** The HTTP Basic username, as the deployed stack generates it. */
export const LOCAL_BASIC_USERNAME = 'databricks';

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const logger =
    options.logger ??
    new Logger({ serviceName: 'databricks-cluster-recovery', logFormatter: new LocalLogFormatter() });
  const keys = localKeys(options);
  const cleanups: Cleanups = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const store = await startLocalTable(cleanups);
    const workspace = await startLocalDatabricks(options, cleanups);
    const parts = await buildLocalParts(store, workspace, keys, {
      playbooks: loadPlaybooks(options.playbookOverrides ?? {}),
      autoRemediationEnabled: options.autoRemediationEnabled ?? true,
      logger,
    });
    const workflow =
      options.workflow === undefined
        ? localWorkflowRunner(parts, {
            // Waits shrink by the simulator's factor, so simulated clusters and the workflow agree on time.
            timeScale: workspace.simulator === undefined ? 1 : (options.timeScale ?? 60),
          })
        : await options.workflow(parts.deps);
    if ('close' in workflow && typeof workflow.close === 'function') {
      const runner = workflow as { close(): unknown };
      cleanups.push(async () => {
        await runner.close();
      });
    }
    const handler = localApiHandler(parts, workflow, keys, options.retryBatch);
    const api = await startLocalApi({ port: options.port ?? 8000, handler, functionName: 'intake' });
    cleanups.push(() => api.close());
    const poller = startPollerLoop(parts.deps, workflow, {
      intervalSeconds: options.pollIntervalSeconds,
      autoRemediationEnabled: options.autoRemediationEnabled,
    });
    cleanups.push(() => poller.stop());
    return {
      ...parts.deps,
      clock: parts.clock,
      url: api.url,
      apiKey: keys.apiKey,
      apiKeyGenerated: keys.apiKeyGenerated,
      operatorKey: keys.operatorKey,
      ...(workspace.simulator === undefined ? {} : { simulator: workspace.simulator }),
      dynamoDb: store.dynamoDb,
      workflow,
      handler,
      poller,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What stops what the host started, in the reverse order of the starts. */
type Cleanups = (() => Promise<void>)[];

/** The webhook's key (and the secret it is read from) and the operations API's key. */
interface LocalKeys {
  readonly apiKey: string;
  readonly apiKeyGenerated: boolean;
  readonly keys: ApiKeys;
  readonly operatorKey: string;
}

function localKeys(options: Pick<LocalHostOptions, 'apiKey' | 'operatorKey'>): LocalKeys {
  // Hex, not base64url: a key starting with '-' is taken for an option on a command line
  // (`rca … --key -x…` fails with a usage error, one generated key in 32).
  const apiKey = options.apiKey ?? randomBytes(24).toString('hex');
  const operatorKey = options.operatorKey ?? randomBytes(24).toString('hex');
  if (operatorKey === apiKey) {
    throw new ConfigurationError(
      'the operator key must differ from the webhook key (RCA_OPERATOR_KEY vs RCA_API_KEY)',
    );
  }
  return {
    apiKey,
    apiKeyGenerated: options.apiKey === undefined,
    keys: parseApiKeys(JSON.stringify({ current: apiKey, basic_username: LOCAL_BASIC_USERNAME })),
    operatorKey,
  };
}

/** DynamoDB Local with the deployment's table. */
interface LocalTable {
  readonly dynamoDb: DynamoDbLocal;
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
}

async function startLocalTable(cleanups: Cleanups): Promise<LocalTable> {
  const dynamoDb = await startDynamoDbLocal();
  cleanups.push(() => dynamoDb.stop());
  const dynamoDbClient = new DynamoDBClient({
    endpoint: dynamoDb.endpoint,
    region: 'us-east-1',
    // DynamoDB Local accepts any credentials; these are not secrets.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  cleanups.push(async () => dynamoDbClient.destroy());
  const tableName = 'rca-local';
  await createTable(dynamoDbClient, tableName);
  const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { dynamoDb, documentClient, tableName };
}

/** The workspace local mode recovers: the simulator, or a real one (`options.databricks`). */
interface LocalWorkspace {
  readonly simulator?: RunningSimulator;
  readonly host: string;
  readonly token: string;
}

async function startLocalDatabricks(options: LocalHostOptions, cleanups: Cleanups): Promise<LocalWorkspace> {
  if (options.databricks !== undefined) return options.databricks;
  const simulator = await startSimulator({
    scenario: await loadScenarioFile(options.scenarioPath ?? DEMO_SCENARIO_PATH),
    timeScale: options.timeScale ?? 60,
  });
  cleanups.push(() => simulator.close());
  return { simulator, host: simulator.url, token: simulator.token };
}

/** What the workflow runner and the API handlers are built from, besides the shared LocalDeps. */
interface LocalParts {
  readonly deps: LocalDeps;
  readonly clock: () => number;
  readonly wiring: FunctionWiring;
  readonly secrets: SecretsReader;
  readonly notifications: NotificationLedger;
  readonly autoRemediationEnabled: boolean;
}

/** The functions' dependencies, from the same builders as the Lambda entries, with local values. */
async function buildLocalParts(
  store: LocalTable,
  workspace: LocalWorkspace,
  keys: LocalKeys,
  policy: Pick<LocalDeps, 'playbooks' | 'logger'> & { readonly autoRemediationEnabled: boolean },
): Promise<LocalParts> {
  const { documentClient, tableName } = store;
  const { simulator, token } = workspace;
  // One timeline: approval deadlines, the outage window, the cap's slots, breaker and silence times
  // and ticket timestamps are compared with the Databricks times the simulator reports.
  const clock = simulator === undefined ? Date.now : () => simulator.admin.now();
  // Local mode reads its secrets from memory (filled from the environment), not Secrets Manager.
  const secrets = memorySecrets(
    { [DATABRICKS_SECRET]: JSON.stringify({ token }), [KEYS_SECRET]: JSON.stringify(keys.keys) },
    // A workspace added with `rca workspaces add --secret local/databricks/<name>` (e.g. a second
    // `rca simulator --token <the banner's token>`) authenticates with the same token.
    { prefix: LOCAL_SECRET_PREFIX, value: JSON.stringify({ token }) },
  );
  const wiring = functionWiring({
    documentClient,
    config: {
      tableName,
      recoveryCap: process.env.RECOVERY_CAP,
      outageCorrelation: process.env.OUTAGE_CORRELATION,
      workspaceCacheMs: 5_000,
    },
    access: 'act',
    secrets,
    logger: policy.logger,
    clock,
  });
  const { databricks, registry, sync } = wiring.workspaces;
  // The deployment seeds the registry from the CDK context; local mode seeds it with its workspace.
  await registry.put(
    { id: WORKSPACE_ID, host: workspace.host, credentialsSecretName: DATABRICKS_SECRET },
    { actor: 'local', source: 'context' },
  );
  await sync();
  const deps: LocalDeps = {
    cap: wiring.cap,
    outages: wiring.outages,
    tableName,
    documentClient,
    tickets: wiring.tickets,
    breakers: wiring.breakers,
    restores: new RestoreRepository(wiring.table),
    silences: new SilenceRepository(wiring.table),
    databricks,
    registry,
    syncWorkspaces: sync,
    playbooks: policy.playbooks,
    logger: policy.logger,
    clock,
  };
  const notifications = new NotificationLedger(wiring.table);
  return {
    deps,
    clock,
    wiring,
    secrets,
    notifications,
    autoRemediationEnabled: policy.autoRemediationEnabled,
  };
}

/** The real ASL on aws-local-stepfunctions, its tasks on the local stores, at the simulator's pace. */
function localWorkflowRunner(
  parts: LocalParts,
  options: { readonly timeScale: number },
): LocalWorkflowRunner {
  const { deps, wiring, notifications } = parts;
  const drainDeps = () =>
    startDeps(
      { ...wiring, silences: deps.silences, clock: parts.clock },
      {
        workflow: runner,
        playbooks: deps.playbooks,
        autoRemediationEnabled: parts.autoRemediationEnabled,
        logger: deps.logger,
        actor: 'workflow',
        options: DEFAULT_POLLER_OPTIONS,
      },
    );
  const runner: LocalWorkflowRunner = createLocalWorkflowRunner({
    deps: {
      tickets: deps.tickets,
      breakers: deps.breakers,
      restores: deps.restores,
      databricks: deps.databricks,
      logger: deps.logger,
      notifications,
      cap: wiring.cap,
      clock: parts.clock,
      // A slot given back starts the workspace's next queued recovery at once.
      onSlotFreed: drainOnSlotFreed(drainDeps),
      // The end of an outage's probe releases (or escalates) its held children at once.
      outages: {
        settleProbe: (outageId: string) =>
          settleProbe(outageId, {
            ...outageDepsOf({ ...drainDeps(), notifications }, 0),
            notifier: runner.notifier,
          }),
      },
    },
    timeScale: options.timeScale,
  });
  return runner;
}

/** One local server stands in for both APIs; in AWS the /ops resources are IAM-authorized. */
function localApiHandler(
  parts: LocalParts,
  workflow: WorkflowStarter & WorkflowInspector,
  keys: LocalKeys,
  retryBatch: RetryBatchLimits | undefined,
): ProxyHandler {
  const intake = withWorkspaces(parts.deps.syncWorkspaces, localIntake(parts, workflow, keys.keys));
  const operations = localOperations(parts, workflow, keys.operatorKey, retryBatch);
  return (event, context) => (event.resource.startsWith('/ops/') ? operations : intake)(event, context);
}

function localIntake(
  parts: LocalParts,
  workflow: WorkflowStarter & WorkflowInspector,
  keys: ApiKeys,
): ProxyHandler {
  const { deps } = parts;
  return createIntakeHandler({
    loadKeys: async () => keys,
    tickets: deps.tickets,
    breakers: deps.breakers,
    silences: deps.silences,
    cap: parts.wiring.cap,
    outages: parts.wiring.outages,
    workflow,
    playbooks: deps.playbooks,
    autoRemediationEnabled: parts.autoRemediationEnabled,
    ...workspaceDeps(deps.databricks),
    clock: parts.clock,
    actor: 'intake',
    logger: deps.logger,
    metrics: new Metrics({
      namespace: 'DatabricksClusterRecoveryLocal',
      serviceName: 'intake',
      // Metrics are not published locally; their warnings about empty batches would only be noise.
      logger: { ...console, warn: () => undefined },
    }),
  }) as unknown as ProxyHandler;
}

function localOperations(
  parts: LocalParts,
  workflow: WorkflowStarter & WorkflowInspector,
  operatorKey: string,
  retryBatch: RetryBatchLimits | undefined,
): ProxyHandler {
  const { deps } = parts;
  return createOpsHandler({
    ...operationsDeps(parts.wiring, {
      workflow,
      playbooks: deps.playbooks,
      autoRemediationEnabled: parts.autoRemediationEnabled,
      options: DEFAULT_POLLER_OPTIONS,
      logger: deps.logger,
      secrets: parts.secrets,
      prefixes: { acting: LOCAL_SECRET_PREFIX },
    }),
    ...(retryBatch === undefined ? {} : { retryBatch }),
    authorize: operatorKeyAuth(operatorKey),
    logger: deps.logger,
  }) as unknown as ProxyHandler;
}

/** A SecretsReader answering GetSecretValue from memory; names under `fallback.prefix` hold its value. */
function memorySecrets(
  values: Readonly<Record<string, string>>,
  fallback?: { readonly prefix: string; readonly value: string },
): SecretsReader {
  return {
    send: (async (command: GetSecretValueCommand) => {
      const id = command.input.SecretId ?? '';
      const value =
        values[id] ?? (fallback !== undefined && id.startsWith(fallback.prefix) ? fallback.value : undefined);
      if (value === undefined) {
        throw Object.assign(new Error(`secret ${id} is not configured locally`), {
          name: 'ResourceNotFoundException',
        });
      }
      return { SecretString: value, Name: id };
    }) as unknown as SecretsReader['send'],
  };
}
