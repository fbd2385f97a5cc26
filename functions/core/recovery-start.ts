/**
 * Starting a recovery whose ticket exists: the steps of the incident plan (`core/incident-plan.ts`)
 * that come after the ticket — the silences and the cap when a deferred start must ask them again,
 * the circuit breakers, the recovery input and the workflow's start. The opening of an incident
 * (`openIncident`) and the reconciler's deferred start both follow it; each writes the plan's verdict
 * its own way (a new ticket, or a move of a waiting one).
 */
import { breakerScopes } from './breaker.ts';
import type { Classification } from './classifier/types.ts';
import type { Action } from './error-types.ts';
import type { IncidentDeps, IncidentOutcome, RecoveryInput } from './incident.ts';
import { asksSilence, needsCapSlot, type Plan, planRecovery, type RecoveryFacts } from './incident-plan.ts';
import { compact } from './json.ts';
import type { Playbook } from './playbooks.ts';
import type { FailureSignal } from './signal.ts';
import type { Silence } from './silence.ts';
import type { AuditEntry, Ticket } from './ticket.ts';

const STARTED_MESSAGES: Readonly<Record<Action, string>> = {
  restart_cluster: 'Cluster restart initiated',
  restart_with_different_instance_type: 'Cluster restart with a fallback instance type initiated',
  restart_with_on_demand: 'Cluster restart on on-demand capacity initiated',
  rollback_config: 'Configuration rollback initiated',
  retry_with_backoff: 'Cluster start scheduled after a back-off',
  repair_run: 'Job run repair initiated',
  escalate: 'Escalated for manual intervention',
};

/** An attempt to start the workflow: its outcome, and what row 9 of the plan reads when it failed. */
export interface StartAttempt {
  readonly outcome: IncidentOutcome;
  readonly failure?: RecoveryFacts['startFailure'];
}

/** How the plan's facts are learnt after the ticket exists; a step the ticket's write took is absent. */
export interface PlanSteps {
  /** The silence in force now (a deferred start: it may have come into force while the recovery waited). */
  readonly silence?: () => Promise<Silence | undefined>;
  /** Takes a slot of the workspace's cap (a deferred start); what says it is full, or undefined. */
  readonly slot?: () => Promise<RecoveryFacts['capFull']>;
  /** Asks the circuit breakers; what blocked the recovery, or undefined. */
  readonly breakers: () => Promise<RecoveryFacts['blocked']>;
  /** Starts the workflow. */
  readonly start: () => Promise<StartAttempt>;
}

/**
 * Follows the plan from the facts known when the ticket exists, through the steps, up to the workflow's
 * start. Returns the plan that holds in the end (`start` once started) and the start's outcome, if any.
 */
export async function followPlan(
  facts: RecoveryFacts,
  steps: PlanSteps,
): Promise<{ readonly plan: Plan; readonly outcome?: IncidentOutcome }> {
  let known = facts;
  if (steps.silence !== undefined && asksSilence(known)) known = { ...known, silence: await steps.silence() };
  if (steps.slot !== undefined && needsCapSlot(known)) known = { ...known, capFull: await steps.slot() };
  if (planRecovery(known).kind === 'start') known = { ...known, blocked: await steps.breakers() };
  if (planRecovery(known).kind !== 'start') return { plan: planRecovery(known) };
  const { outcome, failure } = await steps.start();
  return { plan: planRecovery({ ...known, startFailure: failure }), outcome };
}

/**
 * The breakers' step: closed breakers may already have been checked in the ticket's own write; only
 * otherwise are they asked (and a half-open one may hand this ticket its probe).
 */
export async function askBreakers(
  ticket: Ticket,
  breakersClosed: boolean,
  deps: Pick<IncidentDeps, 'breakers' | 'logger' | 'metrics'>,
): Promise<RecoveryFacts['blocked']> {
  if (breakersClosed) return undefined;
  const gate = await deps.breakers.acquireAll(breakerScopes(ticket), ticket.ticketId);
  if (gate.allowed) return undefined;
  const reason = gate.results.find((r) => r.scope === gate.blockedBy)?.reason;
  deps.logger.warn('recovery blocked by a circuit breaker', {
    ticketId: ticket.ticketId,
    scope: gate.blockedBy,
    reason,
  });
  deps.metrics?.count('RecoveriesBlocked');
  return { scope: gate.blockedBy, reason };
}

/** What the workflow receives: the ticket's subject, its playbook, and the signal that opened it. */
export function recoveryInputOf(ticket: Ticket, playbook: Playbook, signal: FailureSignal): RecoveryInput {
  const { ticketId, workspaceId, clusterId, jobId, runId, errorType, action } = ticket;
  return compact({ ticketId, workspaceId, clusterId, jobId, runId, errorType, action, playbook, signal });
}

/**
 * What `openIncident` keeps in the ticket_opened audit entry so that a deferred start can rebuild the
 * recovery input; undefined when the entry does not hold it.
 */
export function openedContext(
  audit: readonly AuditEntry[],
): { readonly classification: Classification; readonly signal: FailureSignal } | undefined {
  const opened = audit.find((entry) => entry.event === 'ticket_opened')?.details as
    | { readonly classification?: Classification; readonly signal?: FailureSignal }
    | undefined;
  return opened?.signal === undefined || opened.classification === undefined
    ? undefined
    : (opened as { readonly classification: Classification; readonly signal: FailureSignal });
}

type StartWorkflowDeps = Pick<IncidentDeps, 'tickets' | 'workflow' | 'logger' | 'metrics' | 'actor'>;

/**
 * Starts the workflow for a ticket that is `start_pending` and moves it to in_progress. Shared with
 * the reconciler, which calls it again for tickets whose first start failed.
 */
export async function startWorkflow(
  input: RecoveryInput,
  classification: Classification,
  ticket: Ticket,
  deps: StartWorkflowDeps,
  options: { readonly recordStart: boolean } = { recordStart: true },
): Promise<IncidentOutcome> {
  return (await launchWorkflow(input, classification, ticket, deps, options)).outcome;
}

/** `startWorkflow`, with the StartExecution error when it failed (the plan's row 9 reads it). */
export async function launchWorkflow(
  input: RecoveryInput,
  classification: Classification,
  ticket: Ticket,
  deps: StartWorkflowDeps,
  options: { readonly recordStart: boolean },
): Promise<StartAttempt> {
  // An operator's retry gets an execution of its own: the name of an ended execution cannot be reused.
  const executionName = executionNameFor(ticket.ticketId, ticket.retries);
  const { ticketId } = ticket;
  let started: { executionId: string; alreadyStarted: boolean };
  try {
    started = await deps.workflow.start(
      executionName,
      ticket.retries === undefined ? input : { ...input, retry: ticket.retries },
    );
  } catch (error) {
    deps.logger.error('the recovery workflow could not be started; the reconciler will retry', {
      ticketId,
      error: (error as Error).message,
    });
    deps.metrics?.count('WorkflowStartFailures');
    return {
      outcome: {
        status: 'error',
        classification,
        ticket,
        recoveryStatus: 'start_pending',
        actionsTaken: [],
        message: `Ticket ${ticketId} opened but recovery could not be started yet; it will be retried`,
        retryable: true,
      },
      failure: { error, errorName: (error as Error).name },
    };
  }
  const mode = input.playbook.mode;
  const recoveryStatus = mode === 'shadow' ? 'shadow' : 'in_progress';
  let current = ticket;
  if (options.recordStart)
    try {
      const moved = await deps.tickets.transition(ticketId, {
        from: ['open'],
        to: 'in_progress',
        patch: { recoveryStatus, executionName },
        audit: {
          event: 'workflow_started',
          actor: deps.actor,
          details: {
            executionName,
            executionId: started.executionId,
            alreadyStarted: started.alreadyStarted,
            mode,
          },
        },
      });
      current = moved.ticket;
    } catch (error) {
      // The workflow may already have moved the ticket on; it owns it from here.
      deps.logger.warn('ticket not moved to in_progress after the workflow started', {
        ticketId,
        error: (error as Error).message,
      });
    }
  deps.metrics?.count('RecoveriesStarted');
  deps.logger.info('recovery workflow started', { ticketId, executionName, action: input.action });
  const verb = STARTED_MESSAGES[input.action];
  return {
    outcome: {
      status: 'success',
      classification,
      ticket: current,
      recoveryStatus,
      actionsTaken: [input.action],
      message:
        mode === 'shadow' ? `Shadow mode: ${verb.toLowerCase()} would be run; nothing was changed` : verb,
    },
  };
}

/** Step Functions execution names allow 80 characters of [A-Za-z0-9-_]; ticket ids fit as they are. */
export function executionNameFor(ticketId: string, retry?: number): string {
  const suffix = retry === undefined || retry === 0 ? '' : `-retry-${retry}`;
  return `${ticketId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - suffix.length)}${suffix}`;
}
