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
  const settlement = settlementOf(execution, executionName);
  const close = settlement.decision === 'closed';
  const reason =
    close || settlement.reason.length <= MAX_REASON_CHARS
      ? settlement.reason
      : `${settlement.reason.slice(0, MAX_REASON_CHARS - 1)}…`;
  const moved = await moveTicket(
    deps,
    ticket,
    ['in_progress'],
    settlement.decision,
    { recoveryStatus: settlement.recoveryStatus, ...(close ? {} : { escalationReason: reason }) },
    {
      event: 'workflow_reconciled',
      actor: deps.actor,
      details: { ...executionDetails(execution), decision: settlement.decision, reason },
    },
  );
  if (!moved) return;
  if (close) report.closed++;
  else {
    report.escalated++;
    deps.metrics.count('TicketsEscalated');
  }
  await settleBreakers(deps, ticket, settlement.breakers);
}

type Settlement =
  | {
      readonly decision: 'closed';
      readonly recoveryStatus: 'recovered';
      readonly reason?: string;
      readonly breakers: 'success';
    }
  | {
      readonly decision: 'escalated';
      readonly recoveryStatus: string;
      readonly reason: string;
      readonly breakers: 'failure' | 'release';
    };

/**
 * What an ended execution means for its ticket still in_progress, and for the ticket's breakers: closed
 * when its output says the recovery succeeded; escalated otherwise — a failure of the recovery when the
 * execution failed, timed out or was aborted, nothing known (the probe given back) when it ended without
 * saying how the recovery went or is gone.
 */
export function settlementOf(execution: ExecutionDescription, executionName: string): Settlement {
  if (execution.status === 'SUCCEEDED') {
    const verdict = workflowVerdict(execution.output);
    if (verdict.close)
      return { decision: 'closed', recoveryStatus: 'recovered', reason: verdict.reason, breakers: 'success' };
    return {
      decision: 'escalated',
      recoveryStatus: 'unconfirmed',
      reason:
        verdict.reason ??
        'The recovery workflow ended without closing the ticket or saying how the recovery went',
      breakers: 'release',
    };
  }
  if (ENDED_WITH_ERROR.has(execution.status)) {
    const what = [execution.error, execution.cause]
      .filter((part) => part !== undefined && part !== '')
      .join(': ');
    return {
      decision: 'escalated',
      recoveryStatus: execution.status.toLowerCase(),
      reason: `The recovery workflow ended ${execution.status}${what === '' ? '' : ` (${what})`}`,
      breakers: 'failure',
    };
  }
  return {
    decision: 'escalated',
    recoveryStatus: 'execution_missing',
    reason: `The recovery execution ${executionName} no longer exists (its history has expired or it never started)`,
    breakers: 'release',
  };
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

function executionDetails(execution: ExecutionDescription): Record<string, unknown> {
  return {
    executionStatus: execution.status,
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(execution.cause === undefined ? {} : { cause: execution.cause.slice(0, MAX_REASON_CHARS) }),
    ...(execution.stopDate === undefined ? {} : { stoppedAt: new Date(execution.stopDate).toISOString() }),
  };
}
