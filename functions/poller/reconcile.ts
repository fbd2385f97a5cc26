/**
 * The reconciler: the poller's second job. It starts the workflow of tickets whose first start
 * failed (`start_pending`) by the incident plan's deferred start (`core/incident-plan.ts`), settles
 * tickets still `in_progress` whose execution has ended without closing them
 * (`reconcile-executions.ts`), then runs the fleet-safety pass (`fleet.ts`). Work per run is bounded;
 * what is left waits for the next run.
 */

import type { BreakerOutcomeStore } from '../core/breaker.ts';
import { describeError } from '../core/errors.ts';
import type { BreakerGate, CapGate, IncidentDeps, WorkflowInspector } from '../core/incident.ts';
import type { Plan } from '../core/incident-plan.ts';
import { claimsProbe, holdAsChild } from '../core/outage-path.ts';
import type { Playbook } from '../core/playbooks.ts';
import {
  askBreakers,
  executionNameFor,
  followPlan,
  launchWorkflow,
  openedContext,
  type PlanSteps,
  recoveryInputOf,
} from '../core/recovery-start.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import { silenceFor } from '../core/silence.ts';
import type { AuditEvent, Ticket, TicketPage, TicketStatus, TicketWithAudit } from '../core/ticket.ts';
import type { Notifier } from '../shared/notify.ts';
import type { NotificationLedger } from '../store/notifications.ts';
import type { PollerOptions } from './config.ts';
import { reconcileFleet } from './fleet.ts';
import { reconcileExecution } from './reconcile-executions.ts';
import { moveTicket, settleBreakers } from './ticket-moves.ts';
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
  const run: Run = {
    deps,
    report,
    settled: (ticket) => now - Date.parse(ticket.updatedAt) >= deps.options.reconcileGraceMs,
    batch: deps.options.reconcileBatchSize,
  };
  // 1. Tickets whose workflow never started.
  await startPendingPass(run);
  // 2. Tickets in progress whose execution may have ended; resumes where the last run stopped.
  await executionsPass(run);
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

/** One reconciler run: its dependencies, its report, which tickets are past the grace period, its batch. */
interface Run {
  readonly deps: ReconcileDeps;
  readonly report: MutableReport;
  /** Not changed for the grace period: its writer is done with it (or gone). */
  readonly settled: (ticket: Ticket) => boolean;
  readonly batch: number;
}

/** Starts up to a batch of start_pending tickets older than the grace period. */
async function startPendingPass({ deps, report, settled, batch }: Run): Promise<void> {
  let examined = 0;
  let cursor: string | undefined;
  pending: while (examined < batch) {
    if (outOfTime(deps, report)) break;
    const page = await deps.tickets.listStartPending(batch - examined, cursor);
    for (const ticket of page.tickets) {
      if (outOfTime(deps, report)) break pending;
      examined++;
      if (!settled(ticket)) continue;
      await attempt(deps, report, ticket, 'start_pending', () =>
        reconcileStart(ticket.ticketId, deps, report),
      );
    }
    cursor = page.cursor;
    if (cursor === undefined || page.tickets.length === 0) break;
  }
}

/** Looks at up to a batch of in_progress tickets' executions, from where the last run stopped. */
async function executionsPass({ deps, report, settled, batch }: Run): Promise<void> {
  const startPosition = await deps.positions.getReconcilePosition();
  let position = startPosition;
  // A run that started mid-list goes round to the beginning once at the end of the list.
  let canWrap = startPosition !== undefined;
  let pages = 0;
  progress: while (report.executionsChecked < batch && pages < batch) {
    if (outOfTime(deps, report)) break;
    pages++;
    const page = await deps.tickets.listByStatus('in_progress', batch - report.executionsChecked, position);
    for (const ticket of page.tickets) {
      // The page is done again next run: the position stays before it.
      if (outOfTime(deps, report)) break progress;
      if (!settled(ticket)) continue;
      report.executionsChecked++;
      await attempt(deps, report, ticket, 'in_progress', () => reconcileExecution(ticket, deps, report));
    }
    position = page.cursor;
    if (position === undefined || page.tickets.length === 0) {
      position = undefined;
      if (!canWrap) break;
      canWrap = false;
    }
  }
  if (position !== startPosition) await deps.positions.setReconcilePosition(position);
}

/** Whether the run's time is up; the report says it stopped early then. */
function outOfTime(deps: Pick<ReconcileDeps, 'budget'>, report: MutableReport): boolean {
  if (deps.budget.hasTime()) return false;
  report.stoppedEarly = true;
  return true;
}

/** One ticket's reconciliation; its failure is a problem of the run, not the end of it. */
async function attempt(
  deps: ReconcileDeps,
  report: MutableReport,
  ticket: Ticket,
  status: 'start_pending' | 'in_progress',
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    report.problems.push(`${ticket.ticketId}: ${describeError(error)}`);
    deps.logger.error(`cannot reconcile a${status === 'in_progress' ? 'n' : ''} ${status} ticket`, {
      ticketId: ticket.ticketId,
      error: describeError(error),
    });
  }
}

/**
 * Starts one start_pending ticket the way the reconciler does (the incident plan's deferred start:
 * remediation switch, playbook, silences, cap, breakers, then the workflow, which carries the guard);
 * used by an operator's `rca retry` and approval, and by an outage's probe.
 */
export async function startPendingTicket(ticketId: string, deps: StartDeps): Promise<ReconcileReport> {
  const report = emptyReport();
  await reconcileStart(ticketId, deps, report);
  return report;
}

/**
 * The deferred start of one start_pending ticket: the incident plan (`core/incident-plan.ts`) at stage
 * `deferred`, from the ticket as it is now. What differs from the opening is in the plan's table: the
 * input is rebuilt from the ticket_opened entry, the silences and the cap are asked again, a failed
 * start escalates when it can never succeed or has failed for too long.
 */
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
  const context = openedContext(found.audit);
  const facts = {
    stage: 'deferred',
    inputLost: context === undefined,
    action: ticket.action,
    playbook: deps.playbooks[ticket.errorType],
    autoRemediationEnabled: deps.autoRemediationEnabled,
  } as const;
  // Without its context (row 0) the plan escalates the ticket before any step runs.
  const { plan } = await followPlan(facts, deferredSteps(ticket, facts.playbook, context, deps));
  await writeDeferred(plan, ticket, deps, report);
}

/** How a deferred start learns the plan's facts: everything is asked again, the ticket already exists. */
function deferredSteps(
  ticket: Ticket,
  playbook: Playbook,
  context: ReturnType<typeof openedContext>,
  deps: StartDeps,
): PlanSteps {
  const { silences, cap } = deps;
  return {
    // A silence that came into force while the recovery waited (start_pending, queued, held by its
    // outage) holds it still: nothing is started on what operators silenced; a human decides.
    silence: silences && (async () => silenceFor(await silences.active(), ticket, deps.clock())),
    // A recovery that changes clusters needs a slot of its workspace's cap (it may hold one already).
    slot:
      cap &&
      (async () => {
        const executionName = executionNameFor(ticket.ticketId, ticket.retries);
        const slot = await cap.acquire(
          cap.request(ticket.workspaceId, playbook),
          ticket.ticketId,
          executionName,
        );
        return slot === 'full'
          ? { workspaceId: ticket.workspaceId, cap: cap.capOf(ticket.workspaceId) }
          : undefined;
      }),
    breakers: () => askBreakers(ticket, false, deps),
    start: async () => {
      if (context === undefined) throw new Error('a recovery without its input was started');
      const input = recoveryInputOf(ticket, playbook, context.signal);
      const started = await launchWorkflow(input, context.classification, ticket, deps, {
        recordStart: true,
      });
      const { failure } = started;
      if (failure === undefined) return started;
      const wait = {
        why: describeError(failure.error),
        ageMs: deps.clock() - Date.parse(ticket.detectedAt),
        maxAgeMs: deps.options.startPendingMaxAgeMs,
      };
      return { ...started, failure: { ...failure, ...wait } };
    },
  };
}

/**
 * Writes the deferred start's plan on its ticket, unless another writer moved the ticket meanwhile. A
 * ticket that will not run now gives back its slot of the cap and the half-open probe the intake's
 * first attempt may have claimed.
 */
async function writeDeferred(
  plan: Plan,
  ticket: Ticket,
  deps: StartDeps,
  report: MutableReport,
): Promise<void> {
  if (plan.kind === 'start' || plan.kind === 'wait') {
    report[plan.kind === 'start' ? 'started' : 'startFailures']++;
    return;
  }
  const escalate = plan.kind === 'escalate';
  const moved = await moveTicket(
    deps,
    ticket,
    ['open'],
    escalate ? 'escalated' : 'open',
    { recoveryStatus: plan.recoveryStatus, ...(escalate ? { escalationReason: plan.message } : {}) },
    { event: plan.event, actor: deps.actor, details: plan.details },
  );
  if (!moved) return;
  if (plan.kind === 'queue') {
    report.queued++;
    deps.metrics.count('RecoveriesQueued');
    return;
  }
  if (escalate) {
    report.escalatedBeforeStart++;
    deps.metrics.count('TicketsEscalated');
  } else report.held++;
  await deps.cap?.release(ticket.workspaceId, ticket.ticketId);
  await settleBreakers(deps, ticket, 'release');
}
