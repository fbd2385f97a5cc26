/**
 * The poller wired to real parts: DynamoDB Local (a fresh table), one Databricks simulator per
 * workspace on a manual clock, the recording workflow starter, and every repository on the
 * simulated clock so that tests move time with `advance`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { IncidentDeps } from '../../functions/core/incident.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import type { Ticket } from '../../functions/core/ticket.ts';
import { isNotFound, type SecretsReader, WorkspaceClients } from '../../functions/databricks/index.ts';
import { processWebhook } from '../../functions/intake/webhook.ts';
import { type PollerConfig, resolvePollerOptions } from '../../functions/poller/config.ts';
import type { PollerMetrics } from '../../functions/poller/poll-deps.ts';
import { type PollerDeps, type PollReport, runPoll } from '../../functions/poller/run.ts';
import type { PollStepDeps } from '../../functions/poller/steps.ts';
import { BreakerRepository } from '../../functions/store/breakers.ts';
import { CursorRepository } from '../../functions/store/cursors.ts';
import { RestoreRepository } from '../../functions/store/restores.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { type LocalPollOptions, type LocalPollRun, runLocalPoll } from '../../lib/local/poll-workflow.ts';
import { RecordingWorkflowStarter } from '../../lib/local/recording-workflow.ts';
import { type RunningSimulator, type ScenarioInput, startSimulator } from '../../lib/simulator/index.ts';
import { createTestTable } from '../support/dynamodb.ts';

/** Simulated time at the start of every test: 2026-03-02T12:00:00Z. */
export const T0 = Date.parse('2026-03-02T12:00:00.000Z');
export const MINUTE = 60_000;

export const fixture = (path: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures', path), 'utf8'));

export const WORKSPACE_SCENARIO = fixture('poller/workspace.json') as ScenarioInput;

export interface PollerHarnessOptions {
  /** @default ['ws-a'] */
  readonly workspaces?: readonly string[];
  /** Loaded into every workspace's simulator. @default the poller workspace fixture */
  readonly scenario?: ScenarioInput;
  readonly autoRemediationEnabled?: boolean;
  /** Poller knobs, in seconds as operators give them. */
  readonly config?: PollerConfig;
}

export interface PollRun {
  readonly report: PollReport;
  /** Counters the run emitted. */
  readonly metrics: ReadonlyMap<string, number>;
}

const silent = new Logger({ logLevel: 'SILENT' });

export async function createPollerHarness(options: PollerHarnessOptions = {}) {
  const ids = options.workspaces ?? ['ws-a'];
  const table = await createTestTable('poller');
  const simulators = new Map<string, RunningSimulator>();
  for (const id of ids) {
    simulators.set(
      id,
      await startSimulator({ scenario: options.scenario ?? WORKSPACE_SCENARIO, timeScale: 0, startTime: T0 }),
    );
  }
  const sim = (id = ids[0] ?? 'ws-a'): RunningSimulator => {
    const found = simulators.get(id);
    if (found === undefined) throw new Error(`no simulator for workspace ${id}`);
    return found;
  };
  const clock = () => sim().admin.now();
  const secretArn = (id: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:dbx-${id}-AbCdEf`;
  const secrets: SecretsReader = {
    send: (async (command: GetSecretValueCommand) => {
      const id = ids.find((candidate) => secretArn(candidate) === command.input.SecretId);
      if (id === undefined)
        throw Object.assign(new Error('no such secret'), { name: 'ResourceNotFoundException' });
      return { SecretString: JSON.stringify({ token: sim(id).token }) };
    }) as unknown as SecretsReader['send'],
  };
  const databricks = new WorkspaceClients({
    workspaces: ids.map((id) => ({ id, host: sim(id).url, credentialsSecretArn: secretArn(id) })),
    secrets,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
  });
  const repositoryOptions = { client: table.documentClient, tableName: table.tableName, clock };
  const tickets = new TicketRepository(repositoryOptions);
  const breakers = new BreakerRepository(repositoryOptions);
  const cursors = new CursorRepository(repositoryOptions);
  const restores = new RestoreRepository(repositoryOptions);
  const workflow = new RecordingWorkflowStarter();
  const playbooks = loadPlaybooks({});
  const autoRemediationEnabled = options.autoRemediationEnabled ?? true;

  const incidentDeps = (actor: string, metrics?: PollerMetrics) =>
    ({
      tickets,
      breakers,
      workflow,
      playbooks,
      autoRemediationEnabled,
      logger: silent,
      ...(metrics === undefined ? {} : { metrics }),
      actor,
    }) satisfies IncidentDeps;

  /** Counters a run emits, and the metrics that count them. */
  function counting() {
    const counts = new Map<string, number>();
    const metrics: PollerMetrics = {
      count: (name, value = 1) => counts.set(name, (counts.get(name) ?? 0) + value),
      milliseconds: (name, value) => counts.set(name, value),
    };
    return { counts, metrics };
  }

  /** What a poller run needs, the same for a run in process and a run of the poll workflow. */
  const runDeps = (metrics: PollerMetrics) => ({
    ...incidentDeps('poller', metrics),
    databricks: (id: string) => databricks.get(id),
    cursors,
    restores,
    metrics,
    clock,
    options: resolvePollerOptions(options.config ?? {}),
  });

  /** One poller run; `overrides` replace any dependency (time left, options, workflow, …). */
  async function poll(overrides: Partial<PollerDeps> = {}): Promise<PollRun> {
    const { counts, metrics } = counting();
    const report = await runPoll({
      ...runDeps(metrics),
      workspaceIds: ids,
      timeLeft: () => 60_000,
      ...overrides,
    });
    return { report, metrics: counts };
  }

  /**
   * One run of the real poll workflow (`poll.asl.json` on aws-local-stepfunctions), each step in
   * process like `poll`, with the same dependencies.
   */
  async function pollWorkflow(
    overrides: Partial<PollStepDeps> = {},
    localOptions: LocalPollOptions = {},
  ): Promise<LocalPollRun & { readonly metrics: ReadonlyMap<string, number> }> {
    const { counts, metrics } = counting();
    const run = await runLocalPoll(
      { ...runDeps(metrics), workspaceIds: async () => ids, periodMs: 300_000, ...overrides },
      { invocationTimeoutMs: 60_000, ...localOptions },
    );
    return { ...run, metrics: counts };
  }

  /** A Databricks job notification through the intake's own code path (auth and HTTP aside). */
  function webhook(payload: unknown, workspaceId = ids[0]) {
    return processWebhook(payload, workspaceId, {
      ...incidentDeps('intake'),
      workspaceIds: ids,
      databricks: (id) => databricks.get(id),
      clock,
      isNotFound,
    });
  }

  /** Moves every workspace's simulated clock forward together. */
  function advance(ms: number): void {
    for (const simulator of simulators.values()) simulator.admin.advance(ms);
  }

  async function allTickets(): Promise<Ticket[]> {
    const { Items = [] } = await table.documentClient.send(
      new ScanCommand({ TableName: table.tableName, ConsistentRead: true }),
    );
    return Items.filter((item) => item.sk === 'TICKET') as unknown as Ticket[];
  }

  /** Requests the simulator of `workspaceId` answered, per `METHOD path`. */
  function requests(workspaceId = ids[0]): Record<string, number> {
    return sim(workspaceId).admin.stats().requests;
  }

  return {
    /** Every workspace's simulator (for the harm ledger). */
    simulators: () => simulators.values(),
    poll,
    pollWorkflow,
    webhook,
    advance,
    allTickets,
    requests,
    sim,
    clock,
    databricks,
    tickets,
    breakers,
    cursors,
    restores,
    workflow,
    table,
    async close() {
      for (const simulator of simulators.values()) await simulator.close();
      await table.destroy();
    },
  };
}

export type PollerHarness = Awaited<ReturnType<typeof createPollerHarness>>;

export const CLOUD_SHUTDOWN = {
  code: 'CLOUD_PROVIDER_SHUTDOWN',
  type: 'CLOUD_FAILURE',
  parameters: { aws_instance_state_reason: 'Server.ScheduledStop' },
} as const;
