/**
 * The recovery workflow wired to real parts: the REAL ASL file run by the local runner, the real task
 * handlers, DynamoDB Local (a fresh table), the Databricks simulator over HTTP (time scaled down), the
 * real incident path that opens tickets and starts executions, and an in-memory notifier.
 */

import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { BreakerConfig } from '../../functions/core/breaker.ts';
import { ERROR_TYPES } from '../../functions/core/error-types.ts';
import { type RecoveryCapConfig, RecoveryCapConfigSchema } from '../../functions/core/fleet.ts';
import {
  executionNameFor,
  type IncidentOutcome,
  openIncident,
  type RecoveryInput,
  startWorkflow,
} from '../../functions/core/incident.ts';
import { type OutageConfig, OutageConfigSchema } from '../../functions/core/outage.ts';
import { loadPlaybooks, type Playbook } from '../../functions/core/playbooks.ts';
import { recoveryInputOf } from '../../functions/core/recovery-start.ts';
import type { ClusterDetails } from '../../functions/core/schemas/databricks.ts';
import type { FailureSignal, SignalKind } from '../../functions/core/signal.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import type { AuditEntry, Ticket } from '../../functions/core/ticket.ts';
import { DatabricksClient, patAuth, WorkspaceClients } from '../../functions/databricks/index.ts';
import { DEFAULT_POLLER_OPTIONS } from '../../functions/poller/config.ts';
import { type DrainDeps, drainOnSlotFreed, outageDepsOf } from '../../functions/poller/fleet.ts';
import { settleProbe } from '../../functions/poller/outage.ts';
import type { PollerMetrics } from '../../functions/poller/poll-deps.ts';
import { type ReconcileReport, reconcile, type StartDeps } from '../../functions/poller/reconcile.ts';
import { MemoryNotifier, type Notifier } from '../../functions/shared/notify.ts';
import { freedSlotStartDeps } from '../../functions/shared/wiring.ts';
import { BreakerRepository } from '../../functions/store/breakers.ts';
import { NotificationLedger } from '../../functions/store/notifications.ts';
import { OutageCorrelator } from '../../functions/store/outage-correlator.ts';
import { OutageRepository } from '../../functions/store/outages.ts';
import { RecoveryCap, RecoveryCapRepository } from '../../functions/store/recovery-cap.ts';
import { RestoreRepository } from '../../functions/store/restores.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { TicketLifecycle, TicketRepository } from '../../functions/store/tickets.ts';
import type { FreedSlot, WorkflowDatabricks, WorkflowDeps } from '../../functions/workflow/deps.ts';
import { createLocalWorkflowRunner, type LocalExecution } from '../../lib/local/workflow-runner.ts';
import { type FaultsInput, startSimulator } from '../../lib/simulator/index.ts';
import { createTestTable } from '../support/dynamodb.ts';
import { useHarmLedger } from '../support/harms.ts';

export const WORKSPACE = 'default';
export const DATABRICKS_SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:dbx-workflow-AbCdEf';
/** Simulated seconds per real second, for the simulator and the workflow alike: a 3-minute start takes 0.3 s. */
export const TIME_SCALE = 600;

/**
 * Every playbook gets generous bounds in tests (a day, an hour per health check), so that a loaded
 * machine — each real millisecond is 0.6 simulated seconds — never turns a slow task into a timeout.
 * Tests about timeouts set their own. These suites test what a recovery does, so the approval gate
 * (required by default for rollbacks and node-type fallbacks) is off: test/workflow/approval.test.ts
 * tests the gate.
 */
const TEST_BOUNDS = { timeout_seconds: 86_400, health_check_timeout: 3600, approval: 'off' };

function withTestBounds(overrides: unknown): Record<string, unknown> {
  const given = (overrides ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(ERROR_TYPES.map((type) => [type, { ...TEST_BOUNDS, ...given[type] }]));
}

const SCENARIO = JSON.parse(
  readFileSync(new URL('../fixtures/workflow/scenario.json', import.meta.url), 'utf8'),
);

/** A hook run before a Databricks client method (to time a fault or play another process). */
export type CallHook = (call: {
  readonly method: string;
  readonly args: readonly unknown[];
  readonly count: number;
}) => void | Promise<void>;

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

export interface WorkflowHarnessOptions {
  readonly breakerConfig?: Partial<BreakerConfig>;
  readonly notifier?: Notifier;
  /** More secrets the Secrets Manager mock answers, by ARN. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Wraps the breakers the workflow's tasks use (not the intake's), e.g. to make a write fail once. */
  readonly workflowBreakers?: (breakers: BreakerRepository) => WorkflowDeps['breakers'];
  /**
   * The blast-radius cap: the incident path takes slots, Close and Escalate give them back and start
   * the next queued ticket (as the task Lambda and the reconciler do). @default not capped
   */
  readonly cap?: Partial<RecoveryCapConfig>;
  /**
   * Outage correlation: the incident path counts failures and holds children, the workflow's Close and
   * Escalate settle a probe's outage, the reconciler announces and settles outages. @default off
   */
  readonly outages?: Partial<OutageConfig>;
  /**
   * Changes the start path a freed slot drains the queue through (the task Lambda's, built by
   * `freedSlotStartDeps` on the state machine the task event names), e.g. to make a call fail.
   */
  readonly drain?: (deps: StartDeps) => StartDeps;
  /**
   * Operators' silences: the incident path checks them at the opening, the reconciler and the queue's
   * drain read them again before a deferred start. @default none
   */
  readonly silences?: boolean;
}

export interface Recovery {
  readonly outcome: IncidentOutcome;
  readonly ticket: Ticket;
  readonly audit: readonly AuditEntry[];
  readonly execution: LocalExecution;
  readonly status: string;
  readonly output: Record<string, unknown>;
}

export async function createWorkflowHarness(options: WorkflowHarnessOptions = {}) {
  const table = await createTestTable('workflow');
  const simulator = await startSimulator({ scenario: SCENARIO, timeScale: TIME_SCALE });
  const secrets = mockClient(SecretsManagerClient);
  secrets
    .on(GetSecretValueCommand, { SecretId: DATABRICKS_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ token: simulator.token }) });
  for (const [arn, value] of Object.entries(options.secrets ?? {})) {
    secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: value });
  }
  const workspaces = new WorkspaceClients({
    workspaces: [{ id: WORKSPACE, host: simulator.url, credentialsSecretArn: DATABRICKS_SECRET_ARN }],
    secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    // Two attempts per call and no real waits: the state machine's Retry takes over from there.
    retry: { maxAttempts: 2, baseDelayMs: 2, maxDelayMs: 5, defaultThrottleDelayMs: 2 },
  });
  /** A client of our own, for the tests' "someone else" and for reading results. */
  const direct = new DatabricksClient({ host: simulator.url, auth: patAuth(simulator.token) });
  const tickets = new TicketRepository({ client: table.documentClient, tableName: table.tableName });
  const breakers = new BreakerRepository({
    client: table.documentClient,
    tableName: table.tableName,
    ...(options.breakerConfig === undefined ? {} : { config: options.breakerConfig }),
  });
  const restores = new RestoreRepository({ client: table.documentClient, tableName: table.tableName });
  const notifier = options.notifier ?? new MemoryNotifier();
  const logs: LogLine[] = [];
  const logger = {
    info: (message: string, ...extra: Record<string, unknown>[]) =>
      logs.push({ level: 'info', message, attributes: Object.assign({}, ...extra) }),
    warn: (message: string, ...extra: Record<string, unknown>[]) =>
      logs.push({ level: 'warn', message, attributes: Object.assign({}, ...extra) }),
    error: (message: string, ...extra: Record<string, unknown>[]) =>
      logs.push({ level: 'error', message, attributes: Object.assign({}, ...extra) }),
  };
  const cap =
    options.cap === undefined
      ? undefined
      : new RecoveryCap(
          new RecoveryCapRepository({ client: table.documentClient, tableName: table.tableName }),
          RecoveryCapConfigSchema.parse(options.cap),
        );
  const outages =
    options.outages === undefined
      ? undefined
      : new OutageCorrelator(
          new OutageRepository({ client: table.documentClient, tableName: table.tableName }),
          OutageConfigSchema.parse(options.outages),
        );
  const silences = options.silences
    ? new SilenceRepository({ client: table.documentClient, tableName: table.tableName })
    : undefined;
  const ledger = new NotificationLedger({ client: table.documentClient, tableName: table.tableName });
  const metricCounts = new Map<string, number>();
  const startDeps = (playbookOverrides: unknown = {}): DrainDeps => ({
    tickets,
    breakers,
    workflow: runner,
    playbooks: loadPlaybooks(withTestBounds(playbookOverrides)),
    autoRemediationEnabled: true,
    logger,
    metrics: {
      count: (name, value = 1) => metricCounts.set(name, (metricCounts.get(name) ?? 0) + value),
      milliseconds: () => undefined,
    },
    actor: 'poller',
    clock: Date.now,
    options: DEFAULT_POLLER_OPTIONS,
    ...(cap === undefined ? {} : { cap }),
    ...(outages === undefined ? {} : { outages }),
    ...(silences === undefined ? {} : { silences }),
  });
  const outageDeps = () => outageDepsOf({ ...startDeps(), notifier, notifications: ledger }, 0);
  const count = (name: string, value = 1) => metricCounts.set(name, (metricCounts.get(name) ?? 0) + value);
  /** The slots Close and Escalate gave back, in order, as the task reported them to the drain. */
  const freedSlots: FreedSlot[] = [];
  // The task Lambda's wiring (functions/handlers/workflow.ts): the queue drains on the state machine
  // the task event names (`$$.StateMachine.Id`), which here is the runner's and no other.
  const freedStart = freedSlotStartDeps(
    {
      // As the task Lambda builds it: the store that opens no ticket.
      tickets: new TicketLifecycle({ client: table.documentClient, tableName: table.tableName }),
      breakers,
      ...(cap === undefined ? {} : { cap }),
      ...(outages === undefined ? {} : { outages }),
      ...(silences === undefined ? {} : { silences }),
    },
    {
      playbooks: loadPlaybooks(withTestBounds({})),
      autoRemediationEnabled: true,
      logger,
      actor: 'workflow',
      options: DEFAULT_POLLER_OPTIONS,
      metrics: { count },
    },
    (stateMachineArn) => {
      if (stateMachineArn === runner.stateMachineArn) return runner;
      throw Object.assign(new Error(`State Machine Does Not Exist: '${stateMachineArn}'`), {
        name: 'StateMachineDoesNotExist',
      });
    },
  );
  const drainDeps = (freed: FreedSlot): StartDeps => {
    freedSlots.push(freed);
    const deps = freedStart(freed);
    return options.drain?.(deps) ?? deps;
  };
  const hooks = new Map<string, CallHook[]>();
  const counts = new Map<string, number>();
  const intercepted = (client: WorkflowDatabricks): WorkflowDatabricks =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return async (...args: unknown[]) => {
          const count = (counts.get(property) ?? 0) + 1;
          counts.set(property, count);
          for (const hook of hooks.get(property) ?? []) await hook({ method: property, args, count });
          return value.apply(target, args);
        };
      },
    });
  const runner = createLocalWorkflowRunner({
    deps: {
      tickets,
      breakers: options.workflowBreakers?.(breakers) ?? breakers,
      restores,
      databricks: (id) => intercepted(workspaces.get(id)),
      notifier,
      notifications: ledger,
      logger,
      metrics: { count },
      ...(cap === undefined ? {} : { cap, onSlotFreed: drainOnSlotFreed(drainDeps) }),
      ...(outages === undefined
        ? {}
        : { outages: { settleProbe: (outageId: string) => settleProbe(outageId, outageDeps()) } }),
    },
    timeScale: TIME_SCALE,
  });

  async function finish(outcome: IncidentOutcome): Promise<Recovery> {
    const ticketId = outcome.ticket?.ticketId;
    if (ticketId === undefined) throw new Error(`no ticket was opened: ${outcome.message}`);
    const description = await runner.wait(ticketId);
    const found = await tickets.getTicket(ticketId);
    const execution = runner.execution(ticketId);
    if (found === undefined || execution === undefined)
      throw new Error(`ticket ${ticketId} or its execution is missing`);
    return {
      outcome,
      ticket: found.ticket,
      audit: found.audit,
      execution,
      status: description.status,
      output: (description.output ?? {}) as Record<string, unknown>,
    };
  }

  async function openWith(fields: RecoveryFields): Promise<{ ticket: Ticket; input: RecoveryInput }> {
    const playbooks = loadPlaybooks(withTestBounds({}));
    const playbook = { ...playbooks[fields.errorType as keyof typeof playbooks], ...fields.playbook };
    const signal: FailureSignal = {
      source: 'job_notification',
      kind: fields.runId === undefined ? 'termination' : 'job_failure',
      workspaceId: WORKSPACE,
      observedAt: Date.now(),
      incidentKey: `${WORKSPACE}#test#${Date.now()}#${Math.random()}`,
      ...(fields.clusterId === undefined ? {} : { clusterId: fields.clusterId }),
      ...fields.signal,
    } as FailureSignal;
    const opened = await tickets.openTicket({
      incidentKey: signal.incidentKey,
      recoveryStatus: 'start_pending',
      workspaceId: WORKSPACE,
      ...(fields.clusterId === undefined ? {} : { clusterId: fields.clusterId }),
      ...(fields.jobId === undefined ? {} : { jobId: fields.jobId }),
      ...(fields.runId === undefined ? {} : { runId: fields.runId }),
      source: signal.source,
      errorType: fields.errorType as Ticket['errorType'],
      category: 'job',
      action: fields.action,
      reason: 'opened by the test',
    });
    if (opened.outcome !== 'created')
      throw new Error(`the test's ticket was a duplicate of ${opened.ticket.ticketId}`);
    return { ticket: opened.ticket, input: recoveryInputOf(opened.ticket, playbook, signal) };
  }

  return {
    table,
    simulator,
    direct,
    tickets,
    breakers,
    restores,
    notifier,
    runner,
    logs,
    cap,
    outages,
    silences,
    /** What settling an outage needs (the operations API's `rca outage resolve` calls the same). */
    outageDeps,
    /** EMF metric counts of the reconciler, the queue's drain and the workflow's tasks. */
    metricCounts,
    freedSlots,

    /** One pass of the poller's real reconciler over this harness's table, runner and cap. */
    reconcile(playbookOverrides: unknown = {}): Promise<ReconcileReport> {
      const base = startDeps(playbookOverrides);
      return reconcile({
        ...base,
        ...(outages === undefined ? {} : { notifier, notifications: ledger }),
        inspector: runner,
        positions: {
          getReconcilePosition: async () => undefined,
          setReconcilePosition: async () => undefined,
        },
        options: { ...DEFAULT_POLLER_OPTIONS, reconcileGraceMs: 0 },
        budget: { hasTime: () => true, deadline: () => Date.now() + 60_000 },
        metrics: base.metrics as PollerMetrics,
      });
    },

    /** Runs `hook` before every call of a client method until `clearHooks`. */
    before(method: keyof WorkflowDatabricks, hook: CallHook): void {
      hooks.set(method, [...(hooks.get(method) ?? []), hook]);
    },

    /** Arms simulator faults right before the `nth` next call of a method (counting from now). */
    faultBefore(method: keyof WorkflowDatabricks, nth: number, faults: FaultsInput): void {
      const start = counts.get(method) ?? 0;
      let armed = false;
      this.before(method, ({ count }) => {
        if (!armed && count - start >= nth) {
          armed = true;
          simulator.admin.setFaults(faults);
        }
      });
    },

    /** Removes every hook and restarts the call counts the hooks see. */
    clearHooks(): void {
      hooks.clear();
      counts.clear();
    },

    cluster(clusterId: string): Promise<ClusterDetails> {
      return direct.getCluster(clusterId);
    },

    /**
     * The poller's path: the cluster as Databricks shows it now becomes a signal, which goes
     * through classification, the ticket, the breakers and the workflow start; then waits for the
     * execution to end.
     */
    async recoverCluster(
      clusterId: string,
      kind: SignalKind = 'termination',
      playbookOverrides: unknown = {},
    ): Promise<Recovery> {
      return finish(await this.failCluster(clusterId, playbookOverrides, kind));
    },

    /** The poller's path for the cluster as Databricks shows it now; does not wait for the workflow. */
    async failCluster(
      clusterId: string,
      playbookOverrides: unknown = {},
      kind: SignalKind = 'termination',
    ): Promise<IncidentOutcome> {
      const cluster = await direct.getCluster(clusterId);
      const signal = signalFromCluster(cluster, kind, 'poller', { workspaceId: WORKSPACE, now: Date.now() });
      return this.handle(signal, playbookOverrides);
    },

    /** The incident path for any signal; does not wait for the workflow. */
    handle(signal: FailureSignal, playbookOverrides: unknown = {}): Promise<IncidentOutcome> {
      return openIncident(signal, {
        tickets,
        breakers,
        workflow: runner,
        playbooks: loadPlaybooks(withTestBounds(playbookOverrides)),
        autoRemediationEnabled: true,
        logger,
        actor: 'poller',
        ...(cap === undefined ? {} : { cap }),
        ...(outages === undefined ? {} : { outages }),
        ...(silences === undefined ? {} : { silences }),
        metrics: {
          count: (name, value = 1) => metricCounts.set(name, (metricCounts.get(name) ?? 0) + value),
        },
      });
    },

    /**
     * Opens a ticket and starts the workflow with a hand-made recovery input (a job run repair,
     * an action the classifier would not pick), the way the reconciler restarts a ticket.
     */
    async recoverWith(fields: RecoveryFields): Promise<Recovery> {
      const { ticket, input } = await openWith(fields);
      const outcome = await startWorkflow(
        input,
        { isFailure: true, reason: 'test', basis: 'default', confidence: 1 },
        ticket,
        { tickets, workflow: runner, logger, actor: 'test' },
      );
      return finish(outcome);
    },

    /**
     * Opens a ticket and starts its execution directly, leaving the ticket `open`: the intake's
     * own move to in_progress lost the race (or never ran), so the workflow takes the ticket over.
     */
    async recoverWithoutIntake(fields: RecoveryFields): Promise<Recovery> {
      const { ticket, input } = await openWith(fields);
      await runner.start(executionNameFor(ticket.ticketId), input);
      return finish({
        status: 'success',
        classification: { isFailure: true, reason: 'test', basis: 'default', confidence: 1 },
        ticket,
        actionsTaken: [],
        message: 'started by the test, without the intake',
      });
    },

    /** Mutating cluster calls the simulator received, e.g. `{ 'POST /api/2.1/clusters/start': 1 }`. */
    mutations(): Record<string, number> {
      const requests = simulator.admin.stats().requests;
      return Object.fromEntries(
        Object.entries(requests).filter(([key]) =>
          /\/(start|restart|edit|update|resize|delete|runs\/repair|run-now)$/.test(key),
        ),
      );
    },

    async close(): Promise<void> {
      await runner.close();
      secrets.restore();
      await simulator.close();
      await table.destroy();
    },
  };
}

export type WorkflowHarness = Awaited<ReturnType<typeof createWorkflowHarness>>;

/** A hand-made recovery: the fields of its input, with playbook and signal overrides. */
export type RecoveryFields = Omit<RecoveryInput, 'ticketId' | 'workspaceId' | 'playbook' | 'signal'> & {
  readonly playbook?: Partial<Playbook>;
  readonly signal?: Partial<FailureSignal>;
};

/** The audit events of a recovery, in order. */
export const events = (recovery: Recovery): string[] => recovery.audit.map((entry) => entry.event);

/**
 * The hooks every workflow test file uses: one harness for the file, closed at the end, with faults,
 * call hooks and request counts cleared before each test. `assign` receives the harness once built.
 */
export function useWorkflowHarness(
  assign: (harness: WorkflowHarness) => void,
  options: WorkflowHarnessOptions = {},
): void {
  let harness: WorkflowHarness | undefined;
  beforeAll(async () => {
    harness = await createWorkflowHarness(options);
    assign(harness);
  });
  useHarmLedger(() => harness?.simulator);
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(() => {
    harness?.clearHooks();
    harness?.simulator.admin.clearFaults();
    harness?.simulator.admin.resetStats();
  });
}
