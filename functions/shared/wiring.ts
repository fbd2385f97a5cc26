/**
 * What a function is built from, written once. The Lambda entries (`functions/handlers/`) read their
 * values from the environment (`…FromEnv`); the local host (`lib/local/host.ts`, `npm start`) passes
 * its own (DynamoDB Local, the simulator's workspace, the local workflow runner) to the same builders.
 *
 * Each builder is small and takes only what it builds from, so that an entry imports only the AWS
 * clients and modules it uses: the bundles are measured (`bench/bundles.bench.ts`), and a builder an
 * entry does not call is left out of its bundle.
 */
import { ConfigurationError } from '../core/errors.ts';
import type { CapGate, SilenceReader, WorkflowStarter } from '../core/incident.ts';
import { loadPlaybooks, type PlaybookTable } from '../core/playbooks.ts';
import type { CredentialAccess } from '../core/workspace.ts';
import * as z from '../core/zod.ts';
import { syncWorkspaces, WorkspaceDirectory } from '../databricks/registry.ts';
import { type SecretsReader, WorkspaceClients } from '../databricks/workspaces.ts';
import type { OpsAppDeps } from '../ops/app.ts';
import type { WorkspaceOpsDeps } from '../ops/workspaces.ts';
import type { PollerOptions } from '../poller/config.ts';
import type { StartDeps } from '../poller/reconcile.ts';
import { BreakerRepository } from '../store/breakers.ts';
import type { DocumentClient } from '../store/dynamo.ts';
import { OperationsLog } from '../store/operations-log.ts';
import { type OutageCorrelator, outageCorrelatorOf } from '../store/outage-correlator.ts';
import { type RecoveryCap, recoveryCapOf } from '../store/recovery-cap.ts';
import { SilenceRepository } from '../store/silences.ts';
import { TicketQueries } from '../store/ticket-queries.ts';
import { type TicketLifecycle, TicketRepository } from '../store/tickets.ts';
import { WorkspaceRepository } from '../store/workspaces.ts';
import type { FreedSlot } from '../workflow/deps.ts';
import { stepFunctionsClient } from './aws-sfn.ts';
import { snsClient } from './aws-sns.ts';
import { booleanEnv, jsonEnv, optionalEnv, requireEnv } from './env.ts';
import { SnsNotifier } from './notify.ts';
import { StepFunctionsWorkflowStarter } from './recovery-starter.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** What every function is configured with. */
export interface FunctionConfig {
  /** The single table (`TABLE_NAME`). */
  readonly tableName: string;
  /** Circuit breaker settings (`BREAKER_CONFIG`). @default the breaker's defaults */
  readonly breakerConfig?: Readonly<Record<string, number>>;
  /** The blast-radius cap as `RECOVERY_CAP` gives it. @default 5 recoveries per workspace at once */
  readonly recoveryCap?: string | undefined;
  /** Outage correlation as `OUTAGE_CORRELATION` gives it. @default 5 failures of one class within 10 minutes */
  readonly outageCorrelation?: string | undefined;
  /** How long the workspace registry is cached (`WORKSPACE_CACHE_SECONDS`, default 60 s). */
  readonly workspaceCacheMs: number;
}

/** A missing or malformed variable fails at cold start with a message naming it (see `env.ts`). */
export function functionConfigFromEnv(env: Env = process.env): FunctionConfig {
  return {
    tableName: requireEnv('TABLE_NAME', env),
    breakerConfig: jsonEnv('BREAKER_CONFIG', z.record(z.string(), z.number()), {}, env),
    recoveryCap: optionalEnv('RECOVERY_CAP', env),
    outageCorrelation: optionalEnv('OUTAGE_CORRELATION', env),
    workspaceCacheMs:
      jsonEnv('WORKSPACE_CACHE_SECONDS', z.number().check(z.int(), z.gte(0), z.lte(3600)), 60, env) * 1000,
  };
}

/** What the incident path decides with: the intake, the poller and the operations API. */
export interface IncidentPolicy {
  readonly playbooks: PlaybookTable;
  readonly autoRemediationEnabled: boolean;
}

export function incidentPolicyFromEnv(env: Env = process.env): IncidentPolicy {
  return {
    playbooks: loadPlaybooks(jsonEnv('PLAYBOOK_OVERRIDES', z.unknown(), {}, env)),
    autoRemediationEnabled: booleanEnv('AUTO_REMEDIATION_ENABLED', true, env),
  };
}

/** The table as every repository takes it. */
export interface Table {
  readonly client: DocumentClient;
  readonly tableName: string;
  /** The time the repositories write and compare with. @default Date.now (local mode: the simulator's) */
  readonly clock?: () => number;
}

/** The workspaces of a function: the registry read through a cache, one Databricks client per workspace. */
export interface RegistryWorkspaces {
  readonly databricks: WorkspaceClients;
  readonly registry: WorkspaceRepository;
  readonly directory: WorkspaceDirectory;
  /** Brings `databricks` up to the cached registry; call at the start of every invocation. */
  readonly sync: () => Promise<void>;
}

/** What every function builds first: the repositories they all use and the workspaces. */
export interface FunctionWiring {
  readonly table: Table;
  readonly tickets: TicketRepository;
  readonly breakers: BreakerRepository;
  readonly cap: RecoveryCap;
  /** Outage correlation: the incident path counts and holds failures of one class through it. */
  readonly outages: OutageCorrelator;
  readonly workspaces: RegistryWorkspaces;
}

export interface FunctionWiringOptions {
  readonly documentClient: DocumentClient;
  readonly config: FunctionConfig;
  /** Which of a workspace's credentials the function reads with (the intake: read-only where registered). */
  readonly access: CredentialAccess;
  readonly secrets: SecretsReader;
  readonly logger: { warn(message: string, attributes: Record<string, unknown>): void };
  /** One clock for every repository, the cap and the correlation window. @default Date.now */
  readonly clock?: () => number;
}

export function functionWiring(options: FunctionWiringOptions): FunctionWiring {
  const wiring = sharedWiring(options);
  return { ...wiring, tickets: new TicketRepository(wiring.table) };
}

/**
 * `functionWiring` but the tickets: a function that opens none (the workflow task) builds a
 * `TicketLifecycle` beside it, and its bundle leaves the incident path's opening out.
 */
export function sharedWiring(options: FunctionWiringOptions): Omit<FunctionWiring, 'tickets'> {
  const { config } = options;
  const table: Table = {
    client: options.documentClient,
    tableName: config.tableName,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  };
  const registry = new WorkspaceRepository(table);
  const directory = new WorkspaceDirectory({
    registry,
    access: options.access,
    maxAgeMs: config.workspaceCacheMs,
  });
  const databricks = new WorkspaceClients({
    workspaces: [],
    secrets: options.secrets,
    logger: { warn: (message, attributes) => options.logger.warn(message, attributes ?? {}) },
  });
  return {
    table,
    breakers: new BreakerRepository({
      ...table,
      ...(config.breakerConfig === undefined ? {} : { config: config.breakerConfig }),
    }),
    cap: recoveryCapOf(table.client, table.tableName, config.recoveryCap, table.clock),
    outages: outageCorrelatorOf(table.client, table.tableName, config.outageCorrelation, table.clock),
    workspaces: { databricks, registry, directory, sync: syncWorkspaces(directory, databricks) },
  };
}

/** Lets the Tracer see an AWS client once it is built. @default not traced */
type Prepare = <C>(client: C) => C;

/** Starts recoveries on the state machine (`STATE_MACHINE_ARN`), its client built on the first start. */
export function recoveryStarter(stateMachineArn: string, prepare?: Prepare): StepFunctionsWorkflowStarter {
  return new StepFunctionsWorkflowStarter(stepFunctionsClient(prepare), stateMachineArn);
}

/** Notifies on the topic, its SNS client built on the first notification. */
export function topicNotifier(topicArn: string, prepare?: Prepare): SnsNotifier {
  return new SnsNotifier(snsClient(prepare), topicArn);
}

export interface StartOptions extends IncidentPolicy {
  readonly workflow: WorkflowStarter;
  readonly logger: StartDeps['logger'];
  /** Who writes the audit entries of a start. */
  readonly actor: string;
  readonly options: Pick<PollerOptions, 'startPendingMaxAgeMs'>;
  /** EMF counts of a start or an outage's release. @default none published */
  readonly metrics?: { count(name: string, value?: number): void };
}

/** What starting a start_pending ticket outside the poll needs: an operator's retry, a freed slot. */
export function startDeps(
  wiring: Pick<FunctionWiring, 'breakers'> & {
    readonly tickets: StartDeps['tickets'];
    readonly cap?: CapGate;
    readonly outages?: OutageCorrelator;
    /** Read before a deferred start: a silence that came into force meanwhile holds it. */
    readonly silences?: SilenceReader;
    /** @default Date.now (local mode: the simulator's clock) */
    readonly clock?: () => number;
  },
  start: StartOptions,
): StartDeps {
  return {
    tickets: wiring.tickets,
    breakers: wiring.breakers,
    workflow: start.workflow,
    playbooks: start.playbooks,
    autoRemediationEnabled: start.autoRemediationEnabled,
    logger: start.logger,
    metrics: { count: (name, value) => start.metrics?.count(name, value), milliseconds: () => undefined },
    actor: start.actor,
    clock: wiring.clock ?? Date.now,
    options: start.options,
    ...(wiring.cap === undefined ? {} : { cap: wiring.cap }),
    ...(wiring.outages === undefined ? {} : { outages: wiring.outages }),
    ...(wiring.silences === undefined ? {} : { silences: wiring.silences }),
  };
}

/**
 * The start path of a slot freed by the workflow task's Close or Escalate: `startDeps` with the
 * workflow on the state machine the task named (`$$.StateMachine.Id`; the task function cannot have
 * it in its environment, the state machine's definition names the function), one starter per ARN.
 * A task event without it (an execution of an older definition) throws: the reconciler drains then.
 */
export function freedSlotStartDeps(
  wiring: Omit<Parameters<typeof startDeps>[0], 'tickets'> & { readonly tickets: TicketLifecycle },
  start: Omit<StartOptions, 'workflow'>,
  starterOn: (stateMachineArn: string) => WorkflowStarter,
): (freed: FreedSlot) => StartDeps {
  // The start path (drainQueue, reconcileStart, startWorkflow) reads, lists, moves and audits tickets
  // and never opens one: the task's TicketLifecycle is all it calls (the tests drain through one too).
  const tickets = wiring.tickets as unknown as StartDeps['tickets'];
  const starters = new Map<string, WorkflowStarter>();
  return ({ stateMachineArn }) => {
    if (stateMachineArn === undefined)
      throw new ConfigurationError('the task event names no state machine (stateMachineArn) to start on');
    let workflow = starters.get(stateMachineArn);
    if (workflow === undefined) {
      workflow = starterOn(stateMachineArn);
      starters.set(stateMachineArn, workflow);
    }
    return startDeps({ ...wiring, tickets }, { ...start, workflow });
  };
}

export interface OperationsOptions extends Omit<StartOptions, 'actor'> {
  /** The secrets a probe of a workspace being added reads its acting credential from. */
  readonly secrets: SecretsReader;
  /** The secret names `rca workspaces add` accepts. */
  readonly prefixes: WorkspaceOpsDeps['prefixes'];
}

/** The operations API's dependencies, but for its logger and how it authorizes a caller. */
export function operationsDeps(
  wiring: Omit<FunctionWiring, 'cap' | 'outages'> & {
    readonly cap?: CapGate;
    readonly outages?: OutageCorrelator;
  },
  options: OperationsOptions,
): Omit<OpsAppDeps, 'authorize' | 'logger'> {
  const { table, workspaces } = wiring;
  const log = new OperationsLog(table);
  const silences = new SilenceRepository(table);
  return {
    tickets: wiring.tickets,
    queries: new TicketQueries(table),
    breakers: wiring.breakers,
    silences,
    log,
    start: startDeps({ ...wiring, silences, clock: table.clock }, { ...options, actor: 'operator' }),
    playbooks: options.playbooks,
    autoRemediationEnabled: options.autoRemediationEnabled,
    workspaceIds: workspaces.databricks.ids(),
    databricks: (id) => workspaces.databricks.get(id),
    clock: table.clock ?? Date.now,
    workspaces: {
      registry: workspaces.registry,
      log,
      prefixes: options.prefixes,
      // A workspace being added is not in the cache yet: a client of its own, with its acting secret.
      probe: (config) =>
        new WorkspaceClients({ workspaces: [config], secrets: options.secrets }).get(config.id),
      changed: async () => {
        await workspaces.directory.refresh();
        await workspaces.sync();
      },
    },
  };
}
