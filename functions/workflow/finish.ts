/**
 * The two ways out of a recovery. `close`: the ticket is closed (its resolution time recorded), a
 * success is recorded on the cluster's and the error type's breakers, and people are told.
 * `escalate`: the ticket is escalated with the reason; a failed remediation records a failure on both
 * breakers (which may open them; the notification says so) — an escalation before anything was
 * changed, or in shadow mode, gives the breakers' probes back because nothing was tried. Both are idempotent: Step Functions may run a task twice, and a
 * breaker this ticket opened in an earlier try is still reported as opened.
 */

import {
  type BreakerChange,
  type BreakerOutcome,
  breakerScopes,
  recordBreakerOutcome,
} from '../core/breaker.ts';
import { describeError } from '../core/errors.ts';
import { type Ticket, TicketStateError } from '../core/ticket.ts';
import { clusterPageUrl, type NotificationOutcome } from '../shared/notify.ts';
import { configText } from './cluster-config.ts';
import type { WorkflowDeps } from './deps.ts';
import type { RecoveryInput, RecoveryResult, RecoveryState } from './model.ts';
import { notifiedByOutage, settleOutageOf } from './outage.ts';
import { actor } from './support.ts';

/** Recovery status of a ticket the guard closed: the failure was gone, nothing was changed. */
export const RESOLVED_WITHOUT_ACTION = 'resolved_without_action';
/** Recovered on a fallback whose original configuration waits for the cluster's next termination. */
export const RESTORE_PENDING_STATUS = 'recovered_restore_pending';

export async function close(state: RecoveryState, deps: WorkflowDeps): Promise<RecoveryResult> {
  if (state.resolution !== undefined) return closeResolved(state, state.resolution, deps);
  const { input } = state;
  const summary = summaryOf(state);
  // Written before the ticket closes (an idempotent put): the poller applies it at the next
  // natural termination, never by restarting the cluster.
  if (state.pendingRestore !== undefined && input.clusterId !== undefined) {
    await deps.restores.put({
      workspaceId: input.workspaceId,
      clusterId: input.clusterId,
      ticketId: input.ticketId,
      original: state.pendingRestore,
      ...(state.fallback === undefined ? {} : { fallback: state.fallback }),
    });
  }
  let ticket: Ticket | undefined;
  try {
    const moved = await deps.tickets.transition(input.ticketId, {
      from: ['open', 'in_progress'],
      to: 'closed',
      patch: {
        recoveryStatus: state.pendingRestore === undefined ? 'recovered' : RESTORE_PENDING_STATUS,
        attempts: state.attempt,
      },
      audit: {
        event: 'recovered',
        actor: actor(deps),
        details: {
          attempt: state.attempt,
          actions: state.actions ?? [],
          ...(state.restore ? { restore: state.restore } : {}),
          ...(state.pendingRestore === undefined ? {} : { pendingRestore: state.pendingRestore }),
        },
      },
    });
    ticket = moved.ticket;
  } catch (error) {
    if (!(error instanceof TicketStateError)) throw error;
    if (error.currentStatus !== 'closed') return leftAlone(state, error.currentStatus, deps);
    // Closed by an earlier run of this task that failed afterwards: finish its work.
    ticket = (await deps.tickets.getTicket(input.ticketId))?.ticket;
  }
  const breakerChanges = await recordOnBreakers(input, 'success', deps);
  // errorType, ackSeconds and resolutionSeconds feed the dashboard's failures-by-error-type query.
  deps.logger.info('ticket closed', {
    ticketId: input.ticketId,
    clusterId: input.clusterId,
    errorType: input.errorType,
    attempts: state.attempt,
    ackSeconds: ticket?.ackSeconds,
    resolutionSeconds: ticket?.resolutionSeconds,
  });
  deps.metrics?.count('RecoveriesSucceeded');
  await notify(state, 'recovered', summary, breakerChanges, ticket, deps);
  await settleOutageOf(ticket, deps);
  return {
    ticketId: input.ticketId,
    status: 'closed',
    outcome: 'recovered',
    attempts: state.attempt,
    breakerChanges,
  };
}

/**
 * The guard found the failure gone before anything (more) was changed: the ticket closes as resolved
 * without action, with the reason. The breakers' probes are given back: nothing was tried, so neither
 * a success nor a failure is recorded.
 */
async function closeResolved(
  state: RecoveryState,
  resolution: NonNullable<RecoveryState['resolution']>,
  deps: WorkflowDeps,
): Promise<RecoveryResult> {
  const { input } = state;
  let ticket: Ticket | undefined;
  try {
    const moved = await deps.tickets.transition(input.ticketId, {
      from: ['open', 'in_progress'],
      to: 'closed',
      patch: { recoveryStatus: RESOLVED_WITHOUT_ACTION, attempts: state.attempt },
      audit: {
        event: RESOLVED_WITHOUT_ACTION,
        actor: actor(deps),
        details: {
          resolution: resolution.kind,
          reason: resolution.reason,
          actions: state.actions ?? [],
        },
      },
    });
    ticket = moved.ticket;
  } catch (error) {
    if (!(error instanceof TicketStateError)) throw error;
    if (error.currentStatus !== 'closed') return leftAlone(state, error.currentStatus, deps);
    ticket = (await deps.tickets.getTicket(input.ticketId))?.ticket;
  }
  const breakerChanges = await recordOnBreakers(input, 'release', deps);
  deps.logger.info('ticket closed without action', {
    ticketId: input.ticketId,
    clusterId: input.clusterId,
    errorType: input.errorType,
    resolution: resolution.kind,
    reason: resolution.reason,
    resolutionSeconds: ticket?.resolutionSeconds,
  });
  deps.metrics?.count('RecoveriesResolvedWithoutAction');
  const done = (state.actions ?? []).length > 0 ? `${(state.actions ?? []).join('; then ')}; then ` : '';
  await notify(
    state,
    'resolved',
    `${capitalise(`${done}nothing (more) was changed: ${resolution.reason}`)}`,
    breakerChanges,
    ticket,
    deps,
  );
  await settleOutageOf(ticket, deps);
  return {
    ticketId: input.ticketId,
    status: 'closed',
    outcome: 'resolved_without_action',
    attempts: state.attempt,
    reason: resolution.reason,
    breakerChanges,
  };
}

export async function escalate(state: RecoveryState, deps: WorkflowDeps): Promise<RecoveryResult> {
  const { input } = state;
  // A shadow playbook changes nothing, so nothing failed either: whatever ended it (an escalation
  // decision, a caught error) is not a failed recovery and must not count on the breakers.
  const shadow = state.outcome === 'shadow' || input.playbook.mode === 'shadow';
  const reason = state.escalation?.reason ?? errorReason(state.error) ?? 'the recovery failed';
  let ticket: Ticket | undefined;
  try {
    const moved = await deps.tickets.transition(input.ticketId, {
      from: ['open', 'in_progress'],
      to: 'escalated',
      patch: {
        recoveryStatus: shadow ? 'shadow' : 'failed',
        escalationReason: reason,
        attempts: shadow ? 0 : state.attempt,
      },
      audit: {
        event: shadow ? 'shadow_escalated' : 'escalated',
        actor: actor(deps),
        details: {
          reason,
          actions: state.actions ?? [],
          ...(state.escalation?.evidence === undefined ? {} : { evidence: state.escalation.evidence }),
          ...(state.error === undefined ? {} : { error: state.error }),
        },
      },
    });
    ticket = moved.ticket;
  } catch (error) {
    if (!(error instanceof TicketStateError)) throw error;
    if (error.currentStatus !== 'escalated') return leftAlone(state, error.currentStatus, deps);
    ticket = (await deps.tickets.getTicket(input.ticketId))?.ticket;
  }
  const breakerChanges = await recordOnBreakers(
    input,
    !shadow && failedRemediation(state) ? 'failure' : 'release',
    deps,
  );
  deps.logger.warn('ticket escalated', {
    ticketId: input.ticketId,
    clusterId: input.clusterId,
    errorType: input.errorType,
    reason,
    shadow,
    ackSeconds: ticket?.ackSeconds,
    resolutionSeconds: ticket?.resolutionSeconds,
  });
  deps.metrics?.count(shadow ? 'ShadowRecoveries' : 'RecoveriesEscalated');
  for (const change of breakerChanges.filter((c) => c.transition === 'opened')) {
    deps.logger.warn('circuit breaker opened', { scope: change.scope, ticketId: input.ticketId });
    deps.metrics?.count('CircuitBreakersOpened');
  }
  await notify(state, shadow ? 'shadow' : 'escalated', reason, breakerChanges, ticket, deps);
  await settleOutageOf(ticket, deps);
  return {
    ticketId: input.ticketId,
    status: 'escalated',
    outcome: shadow ? 'shadow' : 'escalated',
    attempts: shadow ? 0 : state.attempt,
    reason,
    breakerChanges,
  };
}

/** Errors that say the recovery could not be tried at all, not that it failed. */
const NOT_TRIED_ERRORS: ReadonlySet<string> = new Set([
  'DatabricksPermissionDeniedError',
  'DatabricksUnauthenticatedError',
  'DatabricksCredentialsError',
  'DatabricksNotFoundError',
  'ConfigurationError',
]);

/**
 * Only a failed remediation counts on the breakers. An escalation because nothing could be tried —
 * cluster, run or ticket gone, workspace unknown, permission or credentials missing — gives back the
 * probes instead, so that such events can never open a breaker and block real recoveries.
 */
function failedRemediation(state: RecoveryState): boolean {
  return state.escalation?.notTried !== true && !NOT_TRIED_ERRORS.has(state.error?.Error ?? '');
}

/** Someone else resolved the ticket meanwhile (an operator closed or suppressed it): leave it be. */
async function leftAlone(state: RecoveryState, status: string, deps: WorkflowDeps): Promise<RecoveryResult> {
  deps.logger.info('ticket was resolved by someone else; left as it is', {
    ticketId: state.input.ticketId,
    status,
  });
  return {
    ticketId: state.input.ticketId,
    status: 'unchanged',
    outcome: 'already_resolved',
    attempts: state.attempt,
    breakerChanges: [],
  };
}

/** The outcome on the recovery's breakers (`core/breaker.ts` decides the scopes and what changed). */
function recordOnBreakers(
  input: RecoveryInput,
  outcome: BreakerOutcome,
  deps: WorkflowDeps,
): Promise<BreakerChange[]> {
  return recordBreakerOutcome(deps.breakers, breakerScopes(input), input.ticketId, outcome);
}

/** Notifications are best-effort: a failure is logged and audited, and the ticket stays resolved. */
async function notify(
  state: RecoveryState,
  outcome: NotificationOutcome,
  summary: string,
  breakerChanges: readonly BreakerChange[],
  ticket: Ticket | undefined,
  deps: WorkflowDeps,
): Promise<void> {
  const { input } = state;
  let clusterUrl: string | undefined;
  if (input.clusterId !== undefined) {
    try {
      clusterUrl = clusterPageUrl(deps.databricks(input.workspaceId).host, input.clusterId);
    } catch {
      clusterUrl = undefined;
    }
  }
  if (notifiedByOutage(ticket, outcome, deps)) {
    deps.logger.info('left to the outage to notify', {
      ticketId: input.ticketId,
      outageId: ticket?.outageId,
    });
    return;
  }
  const runUrl = input.signal.job?.runPageUrl;
  const once = `${outcome}#${input.retry ?? 0}`;
  if (deps.notifications !== undefined && !(await deps.notifications.claim(input.ticketId, once))) {
    deps.logger.info('notification already sent; not sent again', { ticketId: input.ticketId, outcome });
    return;
  }
  try {
    await deps.notifier.notify({
      ticketId: input.ticketId,
      workspaceId: input.workspaceId,
      ...(input.clusterId === undefined ? {} : { clusterId: input.clusterId }),
      ...(input.signal.clusterName === undefined ? {} : { clusterName: input.signal.clusterName }),
      ...(input.jobId === undefined ? {} : { jobId: input.jobId }),
      ...(input.runId === undefined ? {} : { runId: input.runId }),
      errorType: input.errorType,
      action: input.action,
      outcome,
      summary,
      attempts: outcome === 'shadow' ? 0 : state.attempt,
      ...(clusterUrl === undefined ? {} : { clusterUrl }),
      ...(runUrl === undefined ? {} : { runUrl }),
      ...(ticket?.resolutionSeconds === undefined ? {} : { resolutionSeconds: ticket.resolutionSeconds }),
      breakerChanges,
    });
  } catch (error) {
    deps.logger.error('notification failed', {
      ticketId: input.ticketId,
      error: describeError(error),
    });
    await deps.notifications?.release(input.ticketId, once).catch(() => undefined);
    await deps.tickets
      .appendAudit(input.ticketId, {
        event: 'notification_failed',
        actor: actor(deps),
        details: { outcome, error: error instanceof Error ? error.name : 'unknown' },
      })
      .catch(() => undefined);
  }
}

function summaryOf(state: RecoveryState): string {
  const actions = state.actions ?? [];
  const done = actions.length > 0 ? actions.join('; then ') : 'no action was needed';
  const pending = state.pendingRestore;
  const restore =
    pending !== undefined
      ? `; the original configuration (${configText(pending)}) is put back at the cluster's next termination, never by restarting it`
      : state.restore === 'skipped'
        ? '; the original configuration was not restored'
        : '';
  const attempts = `${state.attempt} attempt${state.attempt === 1 ? '' : 's'}`;
  return `${capitalise(done)}; healthy after ${attempts}${restore}`;
}

function capitalise(text: string): string {
  return text.length === 0 ? text : `${text[0]?.toUpperCase()}${text.slice(1)}`;
}

/**
 * The reason of an error caught by the state machine. Lambda sends the Cause as JSON
 * (`{"errorType","errorMessage",…}`); the local runner as the plain message.
 */
export function errorReason(error: RecoveryState['error']): string | undefined {
  if (error === undefined) return undefined;
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // A plain message.
  }
  return `the recovery stopped on an error: ${error.Error}${message ? `: ${message}` : ''}`;
}
