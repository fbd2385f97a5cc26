/**
 * The reconciler: the poller's second job. It starts the workflow of tickets whose first start
 * failed (`start_pending`), and settles tickets still `in_progress` whose execution has ended
 * without closing them. Work per run is bounded; what is left waits for the next run.
 */
import { type BreakerOutcomeStore, breakerScopes, recordBreakerOutcome } from '../core/breaker.ts';
import type { Classification } from '../core/classifier/types.ts';
import { QUEUED } from '../core/fleet.ts';
import {
  type BreakerGate,
  type CapGate,
  type ExecutionDescription,
  executionNameFor,
  type IncidentDeps,
  type RecoveryInput,
  startWorkflow,
  type WorkflowInspector,
  type WorkflowStarter,
} from '../core/incident.ts';
import { claimsProbe, holdAsChild } from '../core/outage-path.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import type { FailureSignal } from '../core/signal.ts';
import { describeTarget, silenceFor } from '../core/silence.ts';
import {
  type AuditEvent,
  type Ticket,
  type TicketPage,
  TicketStateError,
  type TicketStatus,
  type TicketWithAudit,
} from '../core/ticket.ts';
import type { Notifier } from '../shared/notify.ts';
import type { NotificationLedger } from '../store/notifications.ts';
import type { PollerOptions } from './config.ts';
import { reconcileFleet } from './fleet.ts';
import type { Budget, PollerMetrics } from './workspace.ts';

export interface ReconcileTickets {
  listStartPending(limit?: number, cursor?: string): Promise<TicketPage>;
  /** Open tickets `queued` or `awaiting_approval` (fleet safety); absent: nothing of the kind is looked for. */
  listMarked?(recoveryStatus: string, limit?: number, cursor?: string): Promise<TicketPage>;
  appendAudit?(ticketId: string, event: AuditEvent): Promise<unknown>;
  listByStatus(status: TicketStatus, limit?: number, cursor?: string): Promise<TicketPage>;
  getTicket(ticketId: string): Promise<TicketWithAudit | undefined>;
}

/** The breakers as the reconciler records settled tickets on them. */
export type BreakerRecorder = BreakerOutcomeStore;

/** Where the pass over in-progress tickets resumes, so that a long list is covered over several runs. */
export interface ReconcilePositionStore {
  getReconcilePosition(): Promise<string | undefined>;
  setReconcilePosition(position: string | undefined): Promise<void>;
}

/** The blast-radius cap as the reconciler uses it. */
export type ReconcileCap = CapGate;

export interface ReconcileDeps extends Omit<IncidentDeps, 'tickets' | 'breakers' | 'metrics'> {
  /** Tells people about approvals waiting and timed out. @default none */ readonly notifier?: Notifier;
  /** Sends each of those notifications once. */
  readonly notifications?: Pick<NotificationLedger, 'claim' | 'release'>;
  readonly tickets: IncidentDeps['tickets'] & ReconcileTickets;
  readonly breakers: BreakerGate & BreakerRecorder;
  readonly inspector: WorkflowInspector;
  readonly positions: ReconcilePositionStore;
  readonly options: PollerOptions;
  readonly clock: () => number;
  readonly budget: Budget;
  readonly metrics: PollerMetrics;
}

/** What starting one start_pending ticket needs (the reconciler, and an operator's `rca retry`). */
export type StartDeps = Pick<
  ReconcileDeps,
  | 'tickets'
  | 'breakers'
  | 'workflow'
  | 'playbooks'
  | 'autoRemediationEnabled'
  | 'logger'
  | 'metrics'
  | 'actor'
  | 'clock'
  | 'cap'
  | 'outages'
  | 'silences'
> & { readonly options: Pick<PollerOptions, 'startPendingMaxAgeMs'> };

export interface ReconcileReport {
  /** start_pending tickets whose workflow was started now. */
  readonly started: number;
  /** start_pending tickets whose start failed again; they stay start_pending. */
  readonly startFailures: number;
  /**
   * start_pending tickets escalated instead (breaker open, playbook disabled, input lost, a start
   * that can never succeed or has failed for too long).
   */
  readonly escalatedBeforeStart: number;
  /** start_pending tickets put on hold because automatic remediation is now off. */
  readonly held: number;
  /** start_pending tickets that found their workspace's blast-radius cap reached: now `queued`. */
  readonly queued: number;
  /** `queued` tickets that got a slot and were started (or escalated by the start path). */
  readonly dequeued: number;
  /** Slots of the cap given back for executions that ended without giving theirs back, or expired. */
  readonly slotsReclaimed: number;
  /** `awaiting_approval` tickets escalated because nobody approved them in time. */
  readonly approvalsTimedOut: number;
  /** Outages whose probe recovered (or that held nothing): their children went to the queue. */
  readonly outagesReleased: number;
  /** Outages whose probe failed: escalated with their held children. */
  readonly outagesEscalated: number;
  /** Executions described. */
  readonly executionsChecked: number;
  readonly closed: number;
  readonly escalated: number;
  readonly stillRunning: number;
  /** The run's time ran out before the batch was done. */
  readonly stoppedEarly: boolean;
  readonly problems: readonly string[];
}

const ENDED_WITH_ERROR: ReadonlySet<string> = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);
const SETTLED_EXECUTION: ReadonlySet<string> = new Set([...ENDED_WITH_ERROR, 'SUCCEEDED', 'NOT_FOUND']);
const CLOSING_WORDS: ReadonlySet<string> = new Set([
  'closed',
  'recovered',
  'resolved',
  'success',
  'succeeded',
]);
const ESCALATING_WORDS: ReadonlySet<string> = new Set([
  'escalated',
  'failed',
  'blocked',
  'timed_out',
  'aborted',
]);
const MAX_REASON_CHARS = 1000;
/**
 * StartExecution errors that no retry can cure: the input, the name or the state machine itself is
 * wrong. Anything else (throttling, a 5xx, a network error) is retried on the next run.
 */
const PERMANENT_START_ERRORS: ReadonlySet<string> = new Set([
  'InvalidArn',
  'InvalidExecutionInput',
  'InvalidName',
  'StateMachineDeleting',
  'StateMachineDoesNotExist',
  'ValidationException',
]);

export function emptyReport(): MutableReport {
  return {
    started: 0,
    startFailures: 0,
    escalatedBeforeStart: 0,
    held: 0,
    queued: 0,
    dequeued: 0,
    slotsReclaimed: 0,
    approvalsTimedOut: 0,
    outagesReleased: 0,
    outagesEscalated: 0,
    executionsChecked: 0,
    closed: 0,
    escalated: 0,
    stillRunning: 0,
    stoppedEarly: false,
    problems: [],
  };
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const report = emptyReport();
  const now = deps.clock();
  const settled = (ticket: Ticket) => now - Date.parse(ticket.updatedAt) >= deps.options.reconcileGraceMs;
  const batch = deps.options.reconcileBatchSize;

  // 1. Tickets whose workflow never started.
  let examined = 0;
  let cursor: string | undefined;
  pending: while (examined < batch) {
    if (!deps.budget.hasTime()) {
      report.stoppedEarly = true;
      break;
    }
    const page = await deps.tickets.listStartPending(batch - examined, cursor);
    for (const ticket of page.tickets) {
      if (!deps.budget.hasTime()) {
        report.stoppedEarly = true;
        break pending;
      }
      examined++;
      if (!settled(ticket)) continue;
      try {
        await reconcileStart(ticket.ticketId, deps, report);
      } catch (error) {
        report.problems.push(`${ticket.ticketId}: ${describe(error)}`);
        deps.logger.error('cannot reconcile a start_pending ticket', {
          ticketId: ticket.ticketId,
          error: describe(error),
        });
      }
    }
    cursor = page.cursor;
    if (cursor === undefined || page.tickets.length === 0) break;
  }

  // 2. Tickets in progress whose execution may have ended; resumes where the last run stopped.
  const startPosition = await deps.positions.getReconcilePosition();
  let position = startPosition;
  // A run that started mid-list goes round to the beginning once at the end of the list.
  let canWrap = startPosition !== undefined;
  let pages = 0;
  progress: while (report.executionsChecked < batch && pages < batch) {
    if (!deps.budget.hasTime()) {
      report.stoppedEarly = true;
      break;
    }
    pages++;
    const page = await deps.tickets.listByStatus('in_progress', batch - report.executionsChecked, position);
    for (const ticket of page.tickets) {
      if (!deps.budget.hasTime()) {
        // The page is done again next run: the position stays before it.
        report.stoppedEarly = true;
        break progress;
      }
      if (!settled(ticket)) continue;
      report.executionsChecked++;
      try {
        await reconcileExecution(ticket, deps, report);
      } catch (error) {
        report.problems.push(`${ticket.ticketId}: ${describe(error)}`);
        deps.logger.error('cannot reconcile an in_progress ticket', {
          ticketId: ticket.ticketId,
          error: describe(error),
        });
      }
    }
    position = page.cursor;
    if (position === undefined || page.tickets.length === 0) {
      position = undefined;
      if (!canWrap) break;
      canWrap = false;
    }
  }
  if (position !== startPosition) await deps.positions.setReconcilePosition(position);

  // 3. Fleet safety: slots of ended executions back, the queue drained into them, approvals timed out.
  await reconcileFleet(deps, report);

  deps.metrics.count('ReconciledStarts', report.started);
  deps.metrics.count('ReconcileStartFailures', report.startFailures);
  deps.metrics.count('ReconciledClosures', report.closed);
  deps.metrics.count('ReconciledEscalations', report.escalated + report.escalatedBeforeStart);
  return report;
}

export type MutableReport = { -readonly [K in keyof ReconcileReport]: ReconcileReport[K] } & {
  problems: string[];
};

/**
 * Starts one start_pending ticket the way the reconciler does (remediation switch, playbook, breakers,
 * then the workflow, which carries the guard); used by an operator's `rca retry`.
 */
export async function startPendingTicket(ticketId: string, deps: StartDeps): Promise<ReconcileReport> {
  const report = emptyReport();
  await reconcileStart(ticketId, deps, report);
  return report;
}

export async function reconcileStart(
  ticketId: string,
  deps: StartDeps,
  report: MutableReport,
): Promise<void> {
  const found = await deps.tickets.getTicket(ticketId);
  const ticket = found?.ticket;
  // The listing may be older than the ticket: someone else may have started or settled it since.
  if (found === undefined || ticket === undefined) return;
  if (ticket.status !== 'open' || ticket.recoveryStatus !== START_PENDING) return;

  const opened = found.audit.find((entry) => entry.event === 'ticket_opened')?.details as
    | { readonly classification?: Classification; readonly signal?: FailureSignal }
    | undefined;
  if (opened?.signal === undefined || opened.classification === undefined) {
    await escalateOpen(
      deps,
      ticket,
      'input_lost',
      'The recovery input cannot be rebuilt: the ticket_opened audit entry holds no signal',
      report,
    );
    return;
  }
  if (!deps.autoRemediationEnabled) {
    const moved = await moveTicket(
      deps,
      ticket,
      ['open'],
      'open',
      { recoveryStatus: 'disabled' },
      {
        event: 'recovery_held',
        actor: deps.actor,
        details: { reason: 'automatic remediation was switched off before the workflow could start' },
      },
    );
    if (moved) {
      report.held++;
      await settleBreakers(deps, ticket, 'release');
      await deps.cap?.release(ticket.workspaceId, ticket.ticketId);
    }
    return;
  }
  const playbook = deps.playbooks[ticket.errorType];
  if (!playbook.enabled || ticket.action === 'escalate') {
    await escalateOpen(
      deps,
      ticket,
      'disabled',
      'The playbook for this error type is disabled; escalated for manual intervention',
      report,
    );
    return;
  }
  // A silence that came into force while the recovery waited (start_pending, queued, held by its
  // outage) holds it still: nothing is started on what operators silenced; a human decides.
  if (deps.silences !== undefined && playbook.mode === 'active') {
    const subject = {
      workspaceId: ticket.workspaceId,
      clusterId: ticket.clusterId,
      errorType: ticket.errorType,
    };
    const silence = silenceFor(await deps.silences.active(), subject, deps.clock());
    if (silence !== undefined) {
      await escalateOpen(
        deps,
        ticket,
        'silenced_while_waiting',
        `Silence ${silence.silenceId} (${describeTarget(silence)}, until ${silence.until}) came into force while the recovery waited; nothing was changed`,
        report,
      );
      return;
    }
  }
  // An outage's probe starts only if it is the probe: an opener that died before claiming it may
  // find another child named by now (an outage never has two probes).
  if (
    ticket.outageProbe === true &&
    ticket.outageId !== undefined &&
    deps.outages !== undefined &&
    !(await claimsProbe(deps.outages, ticket.outageId, ticket.ticketId))
  ) {
    await holdAsChild(ticket, ticket.outageId, { ...deps, outages: deps.outages });
    return;
  }
  // A recovery that changes clusters needs a slot of its workspace's cap (it may hold one already).
  if (deps.cap !== undefined && playbook.mode === 'active') {
    const slot = await deps.cap.acquire(
      deps.cap.request(ticket.workspaceId, playbook),
      ticket.ticketId,
      executionNameFor(ticket.ticketId, ticket.retries),
    );
    if (slot === 'full') {
      const moved = await moveTicket(
        deps,
        ticket,
        ['open'],
        'open',
        { recoveryStatus: QUEUED },
        {
          event: 'recovery_queued',
          actor: deps.actor,
          details: { cap: deps.cap.capOf(ticket.workspaceId), workspaceId: ticket.workspaceId },
        },
      );
      if (moved) {
        report.queued++;
        deps.metrics.count('RecoveriesQueued');
      }
      return;
    }
  }
  const gate = await deps.breakers.acquireAll(breakerScopes(ticket), ticket.ticketId);
  if (!gate.allowed) {
    await escalateOpen(
      deps,
      ticket,
      'blocked',
      `Circuit breaker open for ${gate.blockedBy}: manual intervention required`,
      report,
      'recovery_blocked',
    );
    deps.metrics.count('RecoveriesBlocked');
    return;
  }
  const input: RecoveryInput = {
    ticketId: ticket.ticketId,
    workspaceId: ticket.workspaceId,
    ...(ticket.clusterId === undefined ? {} : { clusterId: ticket.clusterId }),
    ...(ticket.jobId === undefined ? {} : { jobId: ticket.jobId }),
    ...(ticket.runId === undefined ? {} : { runId: ticket.runId }),
    errorType: ticket.errorType,
    action: ticket.action,
    playbook,
    signal: opened.signal,
  };
  // startWorkflow keeps the StartExecution error to itself; the reconciler needs it to decide.
  let startError: unknown;
  const workflow: WorkflowStarter = {
    start: async (name, recoveryInput) => {
      try {
        return await deps.workflow.start(name, recoveryInput);
      } catch (error) {
        startError = error;
        throw error;
      }
    },
  };
  const outcome = await startWorkflow(input, opened.classification, ticket, {
    tickets: deps.tickets,
    workflow,
    logger: deps.logger,
    metrics: deps.metrics,
    actor: deps.actor,
  });
  if (outcome.status === 'success') {
    report.started++;
    return;
  }
  const why = startError === undefined ? 'unknown error' : describe(startError);
  const age = deps.clock() - Date.parse(ticket.detectedAt);
  if (isPermanentStartError(startError)) {
    await escalateOpen(
      deps,
      ticket,
      'start_failed',
      `The recovery workflow cannot be started (${why}); escalated for manual intervention`,
      report,
    );
  } else if (age > deps.options.startPendingMaxAgeMs) {
    await escalateOpen(
      deps,
      ticket,
      'start_failed',
      `The recovery workflow could not be started for more than ${Math.round(deps.options.startPendingMaxAgeMs / 60_000)} minutes (last error: ${why}); escalated for manual intervention`,
      report,
    );
  } else {
    report.startFailures++;
  }
}

function isPermanentStartError(error: unknown): boolean {
  return error instanceof Error && PERMANENT_START_ERRORS.has(error.name);
}

async function reconcileExecution(listed: Ticket, deps: ReconcileDeps, report: MutableReport): Promise<void> {
  // A ticket the workflow moved to in_progress before its starter could record the name: every
  // start uses the name its ticket id gives.
  const executionName = listed.executionName ?? executionNameFor(listed.ticketId);
  const execution = await deps.inspector.describe(executionName);
  // RUNNING, and any status this code does not know, leaves the ticket to its workflow.
  if (!SETTLED_EXECUTION.has(execution.status)) {
    report.stillRunning++;
    return;
  }
  // The index the listing came from is eventually consistent; the workflow may have closed it since.
  const ticket = (await deps.tickets.getTicket(listed.ticketId))?.ticket;
  if (ticket === undefined || ticket.status !== 'in_progress') return;
  const details = executionDetails(execution);

  if (execution.status === 'SUCCEEDED') {
    const verdict = workflowVerdict(execution.output);
    if (verdict.close) {
      const moved = await moveTicket(
        deps,
        ticket,
        ['in_progress'],
        'closed',
        { recoveryStatus: 'recovered' },
        {
          event: 'workflow_reconciled',
          actor: deps.actor,
          details: { ...details, decision: 'closed', reason: verdict.reason },
        },
      );
      if (moved) {
        report.closed++;
        await settleBreakers(deps, ticket, 'success');
      }
      return;
    }
    const reason =
      verdict.reason ??
      'The recovery workflow ended without closing the ticket or saying how the recovery went';
    if (await escalateInProgress(deps, ticket, 'unconfirmed', reason, details)) {
      report.escalated++;
      await settleBreakers(deps, ticket, 'release');
    }
    return;
  }
  if (ENDED_WITH_ERROR.has(execution.status)) {
    const what = [execution.error, execution.cause]
      .filter((part) => part !== undefined && part !== '')
      .join(': ');
    const reason = `The recovery workflow ended ${execution.status}${what === '' ? '' : ` (${what})`}`;
    if (await escalateInProgress(deps, ticket, execution.status.toLowerCase(), reason, details)) {
      report.escalated++;
      await settleBreakers(deps, ticket, 'failure');
    }
    return;
  }
  const reason = `The recovery execution ${executionName} no longer exists (its history has expired or it never started)`;
  if (await escalateInProgress(deps, ticket, 'execution_missing', reason, details)) {
    report.escalated++;
    await settleBreakers(deps, ticket, 'release');
  }
}

/** What a SUCCEEDED execution's output says about the ticket: `ticketStatus`, `status`, `outcome` or `result`. */
export function workflowVerdict(output: unknown): { readonly close: boolean; readonly reason?: string } {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return { close: false };
  const record = output as Record<string, unknown>;
  const text = ['reason', 'message', 'escalationReason']
    .map((key) => record[key])
    .find((v) => typeof v === 'string');
  const reason = typeof text === 'string' ? text : undefined;
  for (const key of ['ticketStatus', 'status', 'outcome', 'result']) {
    const value = record[key];
    if (typeof value !== 'string') continue;
    const word = value.toLowerCase();
    if (CLOSING_WORDS.has(word)) return { close: true, ...(reason === undefined ? {} : { reason }) };
    if (ESCALATING_WORDS.has(word)) {
      return { close: false, reason: reason ?? `The recovery workflow reported '${value}'` };
    }
  }
  return { close: false };
}

async function escalateOpen(
  deps: StartDeps,
  ticket: Ticket,
  recoveryStatus: string,
  reason: string,
  report: MutableReport,
  event = 'escalated',
): Promise<void> {
  const moved = await moveTicket(
    deps,
    ticket,
    ['open'],
    'escalated',
    { recoveryStatus, escalationReason: reason },
    {
      event,
      actor: deps.actor,
      details: { reason },
    },
  );
  if (moved) {
    report.escalatedBeforeStart++;
    deps.metrics.count('TicketsEscalated');
    await deps.cap?.release(ticket.workspaceId, ticket.ticketId);
    // The intake's first attempt may have claimed a half-open probe that will now never run.
    await settleBreakers(deps, ticket, 'release');
  }
}

async function escalateInProgress(
  deps: ReconcileDeps,
  ticket: Ticket,
  recoveryStatus: string,
  reason: string,
  details: Record<string, unknown>,
): Promise<boolean> {
  const escalationReason =
    reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
  const moved = await moveTicket(
    deps,
    ticket,
    ['in_progress'],
    'escalated',
    { recoveryStatus, escalationReason },
    {
      event: 'workflow_reconciled',
      actor: deps.actor,
      details: { ...details, decision: 'escalated', reason: escalationReason },
    },
  );
  if (moved) deps.metrics.count('TicketsEscalated');
  return moved;
}

/** A transition that another writer may have overtaken; false when it did. */
export async function moveTicket(
  deps: StartDeps,
  ticket: Ticket,
  from: readonly TicketStatus[],
  to: TicketStatus,
  patch: Parameters<ReconcileDeps['tickets']['transition']>[1]['patch'],
  audit: AuditEvent,
): Promise<boolean> {
  try {
    await deps.tickets.transition(ticket.ticketId, {
      from,
      to,
      ...(patch === undefined ? {} : { patch }),
      audit,
      expectedVersion: ticket.version,
    });
    return true;
  } catch (error) {
    const name = (error as Error).name;
    if (error instanceof TicketStateError || name === 'TicketConflictError') {
      deps.logger.info('ticket changed meanwhile; the reconciler leaves it', { ticketId: ticket.ticketId });
      return false;
    }
    throw error;
  }
}

/**
 * What a settled ticket means to its breakers. A shadow-mode recovery changed nothing, so like the
 * workflow's own Escalate step it only gives back its probe; so does a ticket settled without the
 * recovery's outcome being known (unconfirmed, execution missing, held, escalated before start).
 */
async function settleBreakers(
  deps: StartDeps,
  ticket: Ticket,
  outcome: 'success' | 'failure' | 'release',
): Promise<void> {
  const what = ticket.recoveryStatus === 'shadow' ? 'release' : outcome;
  const changes = await recordBreakerOutcome(deps.breakers, breakerScopes(ticket), ticket.ticketId, what);
  for (const change of changes.filter((c) => c.transition === 'opened')) {
    // The seed's "circuit breaker opened" alert counts this metric, whoever opened the breaker.
    deps.logger.warn('circuit breaker opened', { scope: change.scope, ticketId: ticket.ticketId });
    deps.metrics.count('CircuitBreakersOpened', 1);
  }
}

function executionDetails(execution: ExecutionDescription): Record<string, unknown> {
  return {
    executionStatus: execution.status,
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(execution.cause === undefined ? {} : { cause: execution.cause.slice(0, MAX_REASON_CHARS) }),
    ...(execution.stopDate === undefined ? {} : { stoppedAt: new Date(execution.stopDate).toISOString() }),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
