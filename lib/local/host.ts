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
import { parseApiKeys } from '../../functions/intake/auth.ts';
import { workspaceDeps } from '../../functions/intake/webhook.ts';
import { createOpsHandler, operatorKey as operatorKeyAuth } from '../../functions/ops/app.ts';
import type { RetryBatchLimits } from '../../functions/ops/service.ts';
import { DEFAULT_POLLER_OPTIONS } from '../../functions/poller/config.ts';
import { drainOnSlotFreed, outageDepsOf } from '../../functions/poller/fleet.ts';
import { settleProbe } from '../../functions/poller/outage.ts';
import type { Notifier } from '../../functions/shared/notify.ts';
import { functionWiring, operationsDeps, startDeps } from '../../functions/shared/wiring.ts';
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
import { createLocalWorkflowRunner } from './workflow-runner.ts';

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
}

export interface LocalHost extends LocalDeps {
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
  const playbooks = loadPlaybooks(options.playbookOverrides ?? {});
  const apiKeyGenerated = options.apiKey === undefined;
  // Hex, not base64url: a key starting with '-' is taken for an option on a command line
  // (`rca … --key -x…` fails with a usage error, one generated key in 32).
  const apiKey = options.apiKey ?? randomBytes(24).toString('hex');
  const keys = parseApiKeys(JSON.stringify({ current: apiKey, basic_username: LOCAL_BASIC_USERNAME }));
  const operatorKey = options.operatorKey ?? randomBytes(24).toString('hex');
  if (operatorKey === apiKey) {
    throw new ConfigurationError(
      'the operator key must differ from the webhook key (RCA_OPERATOR_KEY vs RCA_API_KEY)',
    );
  }

  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
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

    let simulator: RunningSimulator | undefined;
    let host: string;
    let token: string;
    if (options.databricks !== undefined) {
      ({ host, token } = options.databricks);
    } else {
      simulator = await startSimulator({
        scenario: await loadScenarioFile(options.scenarioPath ?? DEMO_SCENARIO_PATH),
        timeScale: options.timeScale ?? 60,
      });
      const running = simulator;
      cleanups.push(() => running.close());
      host = simulator.url;
      token = simulator.token;
    }
    // Local mode reads its secrets from memory (filled from the environment), not Secrets Manager.
    const secrets = memorySecrets(
      { [DATABRICKS_SECRET]: JSON.stringify({ token }), [KEYS_SECRET]: JSON.stringify(keys) },
      // A workspace added with `rca workspaces add --secret local/databricks/<name>` (e.g. a second
      // `rca simulator --token <the banner's token>`) authenticates with the same token.
      { prefix: LOCAL_SECRET_PREFIX, value: JSON.stringify({ token }) },
    );
    // The same builders as the Lambda entries (functions/shared/wiring.ts), with local values.
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
      logger,
    });
    const { tickets, breakers, cap, outages } = wiring;
    const { databricks, registry, sync } = wiring.workspaces;
    // The deployment seeds the registry from the CDK context; local mode seeds it with its workspace.
    await registry.put(
      { id: WORKSPACE_ID, host, credentialsSecretName: DATABRICKS_SECRET },
      { actor: 'local', source: 'context' },
    );
    await sync();
    const restores = new RestoreRepository(wiring.table);
    const silences = new SilenceRepository(wiring.table);
    const autoRemediationEnabled = options.autoRemediationEnabled ?? true;
    const notifications = new NotificationLedger(wiring.table);
    const deps: LocalDeps = {
      cap,
      outages,
      tableName,
      documentClient,
      tickets,
      breakers,
      restores,
      silences,
      databricks,
      registry,
      syncWorkspaces: sync,
      playbooks,
      logger,
    };
    const drainDeps = () =>
      startDeps(
        { ...wiring, silences },
        {
          workflow,
          playbooks,
          autoRemediationEnabled,
          logger,
          actor: 'workflow',
          options: DEFAULT_POLLER_OPTIONS,
        },
      );
    const workflow: WorkflowStarter & WorkflowInspector =
      options.workflow === undefined
        ? createLocalWorkflowRunner({
            deps: {
              tickets,
              breakers,
              restores,
              databricks,
              logger,
              notifications,
              cap,
              // A slot given back starts the workspace's next queued recovery at once.
              onSlotFreed: drainOnSlotFreed(drainDeps),
              // The end of an outage's probe releases (or escalates) its held children at once.
              outages: {
                settleProbe: (outageId: string) =>
                  settleProbe(outageId, {
                    ...outageDepsOf({ ...drainDeps(), notifications }, 0),
                    notifier: (workflow as unknown as { notifier: Notifier }).notifier,
                  }),
              },
            },
            // Waits shrink by the simulator's factor, so simulated clusters and the workflow agree on time.
            timeScale: simulator === undefined ? 1 : (options.timeScale ?? 60),
          })
        : await options.workflow(deps);
    if ('close' in workflow && typeof workflow.close === 'function') {
      const runner = workflow as { close(): unknown };
      cleanups.push(async () => {
        await runner.close();
      });
    }

    const intakeHandler = createIntakeHandler({
      loadKeys: async () => keys,
      tickets,
      breakers,
      silences,
      cap,
      outages,
      workflow,
      playbooks,
      autoRemediationEnabled,
      ...workspaceDeps(databricks),
      clock: Date.now,
      actor: 'intake',
      logger,
      metrics: new Metrics({
        namespace: 'DatabricksClusterRecoveryLocal',
        serviceName: 'intake',
        // Metrics are not published locally; their warnings about empty batches would only be noise.
        logger: { ...console, warn: () => undefined },
      }),
    }) as unknown as ProxyHandler;
    const operations = createOpsHandler({
      ...operationsDeps(wiring, {
        workflow,
        playbooks,
        autoRemediationEnabled,
        options: DEFAULT_POLLER_OPTIONS,
        logger,
        secrets,
        prefixes: { acting: LOCAL_SECRET_PREFIX },
      }),
      ...(options.retryBatch === undefined ? {} : { retryBatch: options.retryBatch }),
      authorize: operatorKeyAuth(operatorKey),
      logger,
    }) as unknown as ProxyHandler;
    const intake = withWorkspaces(sync, intakeHandler);
    // One local server stands in for both APIs; in AWS the /ops resources are IAM-authorized.
    const handler: ProxyHandler = (event, context) =>
      (event.resource.startsWith('/ops/') ? operations : intake)(event, context);

    const api = await startLocalApi({ port: options.port ?? 8000, handler, functionName: 'intake' });
    cleanups.push(() => api.close());
    const sim = simulator;
    const poller = startPollerLoop(deps, workflow, {
      intervalSeconds: options.pollIntervalSeconds,
      autoRemediationEnabled: options.autoRemediationEnabled,
      // The poller compares Databricks timestamps with its clock: the simulator's, when it runs faster.
      ...(sim === undefined ? {} : { clock: () => sim.admin.now() }),
    });
    cleanups.push(() => poller.stop());
    return {
      ...deps,
      url: api.url,
      apiKey,
      apiKeyGenerated,
      operatorKey,
      ...(simulator === undefined ? {} : { simulator }),
      dynamoDb,
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
