/**
 * The reconciler's pass over tickets still `in_progress`: an execution that ended without closing its
 * ticket (crashed, timed out, aborted, succeeded without saying so, or gone) is settled here — closed or
 * escalated from what the execution says, and recorded on the ticket's breakers.
 */
import type { ExecutionDescription, WorkflowInspector } from '../core/incident.ts';
import { executionNameFor } from '../core/recovery-start.ts';
import type { Ticket } from '../core/ticket.ts';
import type { MutableReport, ReconcileDeps } from './reconcile.ts';
import { moveTicket, settleBreakers } from './ticket-moves.ts';

/** What settling an in_progress ticket needs. */
export type ExecutionDeps = Pick<ReconcileDeps, 'tickets' | 'breakers' | 'logger' | 'metrics' | 'actor'> & {
  readonly inspector: WorkflowInspector;
};

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

/** Settles one in_progress ticket whose execution may have ended (see the module comment). */
export async function reconcileExecution(
  listed: Ticket,
  deps: ExecutionDeps,
  report: MutableReport,
): Promise<void> {
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

async function escalateInProgress(
  deps: ExecutionDeps,
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

function executionDetails(execution: ExecutionDescription): Record<string, unknown> {
  return {
    executionStatus: execution.status,
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(execution.cause === undefined ? {} : { cause: execution.cause.slice(0, MAX_REASON_CHARS) }),
    ...(execution.stopDate === undefined ? {} : { stoppedAt: new Date(execution.stopDate).toISOString() }),
  };
}
