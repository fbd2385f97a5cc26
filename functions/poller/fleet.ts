/**
 * The reconciler's fleet-safety pass (after its start_pending and in_progress passes):
 * 1. slots of the blast-radius cap whose execution ended without giving them back (crashed, stopped,
 *    timed out), whose ticket is resolved, or past their expiry, are reclaimed;
 * 2. `queued` tickets take the free slots, oldest first, and are started the reconciler's way;
 * 3. `awaiting_approval` tickets are announced once, and escalate when nobody approved them by their
 *    playbook's `approval_timeout`.
 * `drainQueue` is also what the workflow calls when its Close or Escalate gave a slot back.
 */
import { APPROVAL_TIMED_OUT, AWAITING_APPROVAL, QUEUED } from '../core/fleet.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import { CapFullError, RESOLVED_STATUSES, type Ticket, TicketStateError } from '../core/ticket.ts';
import type { NotificationOutcome } from '../shared/notify.ts';
import type { PollerOptions } from './config.ts';
import { type OutageDeps, reconcileOutages } from './outage.ts';
import {
  emptyReport,
  type MutableReport,
  type ReconcileDeps,
  reconcileStart,
  type StartDeps,
  startPendingTicket,
} from './reconcile.ts';
import { moveTicket } from './ticket-moves.ts';
import type { Budget } from './workspace.ts';

const RUNNING_OR_UNKNOWN = new Set(['RUNNING']);

export async function reconcileFleet(deps: ReconcileDeps, report: MutableReport): Promise<void> {
  if (deps.cap !== undefined) await reclaimSlots(deps, report);
  if (deps.outages !== undefined) {
    const outages = await reconcileOutages(outageDepsOf(deps, deps.options.reconcileGraceMs), () =>
      deps.budget.hasTime(),
    );
    report.outagesReleased = outages.released;
    report.outagesEscalated = outages.escalated;
  }
  if (deps.cap !== undefined) await drainQueue(deps, report);
  await settleApprovals(deps, report);
  deps.metrics.count('CapSlotsReclaimed', report.slotsReclaimed);
}

/** Gives back every slot no running recovery needs any more (see the module comment). */
export async function reclaimSlots(
  deps: Pick<ReconcileDeps, 'cap' | 'tickets' | 'inspector' | 'clock' | 'budget' | 'logger' | 'actor'> & {
    readonly options: Pick<PollerOptions, 'reconcileGraceMs'>;
  },
  report: MutableReport,
): Promise<void> {
  const cap = deps.cap;
  if (cap === undefined) return;
  for (const lease of await cap.list()) {
    for (const slot of lease.slots) {
      if (!deps.budget.hasTime()) {
        report.stoppedEarly = true;
        return;
      }
      const now = deps.clock();
      let reason: string | undefined;
      let ticket: Ticket | undefined;
      if (slot.expiresAt <= now) {
        reason = `the slot expired at ${new Date(slot.expiresAt).toISOString()}`;
      } else {
        ticket = (await deps.tickets.getTicket(slot.ticketId))?.ticket;
        if (ticket === undefined) reason = 'its ticket does not exist';
        else if (RESOLVED_STATUSES.includes(ticket.status)) reason = `its ticket is ${ticket.status}`;
        else if (ticket.status === 'in_progress') {
          const execution = await deps.inspector.describe(slot.executionName);
          if (!RUNNING_OR_UNKNOWN.has(execution.status))
            reason = `its execution ${slot.executionName} is ${execution.status}`;
        } else if (
          ticket.recoveryStatus !== START_PENDING &&
          now - slot.acquiredAt >= deps.options.reconcileGraceMs
        ) {
          // Open and not about to start (queued again, held, awaiting approval): it runs nothing.
          reason = `its ticket is open with recovery status ${ticket.recoveryStatus}`;
        }
      }
      if (reason === undefined) continue;
      if (!(await cap.release(lease.workspaceId, slot.ticketId, slot.acquiredAt))) continue;
      report.slotsReclaimed++;
      deps.logger.warn('blast-radius slot reclaimed', {
        workspaceId: lease.workspaceId,
        ticketId: slot.ticketId,
        executionName: slot.executionName,
        reason,
      });
      if (ticket !== undefined || reason.startsWith('the slot expired')) {
        await deps.tickets
          .appendAudit?.(slot.ticketId, {
            event: 'cap_slot_reclaimed',
            actor: deps.actor,
            details: { workspaceId: lease.workspaceId, executionName: slot.executionName, reason },
          })
          ?.catch(() => undefined);
      }
    }
  }
}

export type DrainDeps = StartDeps & { readonly budget?: Budget };

/**
 * Starts `queued` tickets, oldest first, while their workspace has free slots: each takes its slot
 * in the same write that makes it start_pending again, then goes down the reconciler's start path
 * (remediation switch, playbook, breakers, workflow). `workspaceId` limits it to one workspace.
 */
export async function drainQueue(
  deps: DrainDeps,
  report: MutableReport,
  workspaceId?: string,
): Promise<void> {
  const cap = deps.cap;
  const list = deps.tickets.listMarked?.bind(deps.tickets);
  if (cap === undefined || list === undefined) return;
  const full = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await list(QUEUED, 100, cursor);
    for (const ticket of page.tickets) {
      if (deps.budget !== undefined && !deps.budget.hasTime()) {
        report.stoppedEarly = true;
        return;
      }
      if (workspaceId !== undefined && ticket.workspaceId !== workspaceId) continue;
      if (full.has(ticket.workspaceId)) continue;
      const playbook = deps.playbooks[ticket.errorType];
      try {
        await deps.tickets.transition(ticket.ticketId, {
          from: ['open'],
          to: 'open',
          expectedVersion: ticket.version,
          patch: { recoveryStatus: START_PENDING },
          capSlot: cap.request(ticket.workspaceId, playbook),
          audit: {
            event: 'recovery_dequeued',
            actor: deps.actor,
            details: { workspaceId: ticket.workspaceId, cap: cap.capOf(ticket.workspaceId) },
          },
        });
      } catch (error) {
        if (error instanceof CapFullError) {
          full.add(ticket.workspaceId);
          continue;
        }
        if (error instanceof TicketStateError || (error as Error).name === 'TicketConflictError') continue;
        throw error;
      }
      report.dequeued++;
      deps.metrics.count('RecoveriesDequeued');
      await reconcileStart(ticket.ticketId, deps, report);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/**
 * What a workflow's Close or Escalate calls after giving its slot back: the workspace's oldest queued
 * tickets start at once instead of at the next reconciler run. `deps` builds the start path for the
 * freed slot (in AWS: a starter on the state machine the task named); it stops starting more at the
 * slot's `deadline`. A throw is the caller's to log: the queue is then the reconciler's.
 */
export function drainOnSlotFreed<F extends { readonly workspaceId: string; readonly deadline?: number }>(
  deps: (freed: F) => DrainDeps,
): (freed: F) => Promise<void> {
  return async (freed) => {
    const base = deps(freed);
    const deadline = freed.deadline;
    const drain: DrainDeps =
      deadline === undefined || base.budget !== undefined
        ? base
        : { ...base, budget: { hasTime: () => Date.now() < deadline, deadline: () => deadline } };
    const report = emptyReport();
    await drainQueue(drain, report, freed.workspaceId);
    if (report.dequeued > 0 || report.stoppedEarly)
      drain.logger.info('queued recoveries started after a slot was freed', {
        workspaceId: freed.workspaceId,
        dequeued: report.dequeued,
        started: report.started,
        startFailures: report.startFailures,
        escalatedBeforeStart: report.escalatedBeforeStart,
        stoppedEarly: report.stoppedEarly,
      });
  };
}

/**
 * What settling outages needs, from the reconciler's (or the local host's) start dependencies: a probe
 * the reconciler picks starts the reconciler's way, and released children are drained into free slots.
 */
export function outageDepsOf(
  deps: DrainDeps & Pick<ReconcileDeps, 'notifier' | 'notifications'>,
  graceMs: number,
  options: { readonly drain?: boolean } = {},
): OutageDeps {
  return {
    outages: deps.outages as NonNullable<DrainDeps['outages']>,
    tickets: deps.tickets as OutageDeps['tickets'],
    ...(deps.notifier === undefined ? {} : { notifier: deps.notifier }),
    ...(deps.notifications === undefined ? {} : { notifications: deps.notifications }),
    logger: deps.logger,
    metrics: deps.metrics,
    actor: deps.actor,
    clock: deps.clock,
    graceMs,
    startPending: async (ticketId) => {
      await startPendingTicket(ticketId, deps);
    },
    ...(options.drain === false
      ? {}
      : { drain: (workspaceId: string) => drainQueue(deps, emptyReport(), workspaceId) }),
  };
}

/** Announces each approval waiting (once) and escalates those whose `approvalDeadline` passed. */
export async function settleApprovals(deps: ReconcileDeps, report: MutableReport): Promise<void> {
  const list = deps.tickets.listMarked?.bind(deps.tickets);
  if (list === undefined) return;
  let cursor: string | undefined;
  do {
    const page = await list(AWAITING_APPROVAL, 100, cursor);
    for (const ticket of page.tickets) {
      if (!deps.budget.hasTime()) {
        report.stoppedEarly = true;
        return;
      }
      const deadline = Date.parse(ticket.approvalDeadline ?? '');
      if (Number.isNaN(deadline) || deps.clock() < deadline) {
        await notifyOnce(deps, ticket, 'awaiting_approval', approvalSummary(ticket));
        continue;
      }
      const reason = `No operator approved the ${ticket.action} recovery by ${ticket.approvalDeadline} (the playbook's approval_timeout); nothing was changed`;
      const moved = await moveTicket(
        deps,
        ticket,
        ['open'],
        'escalated',
        { recoveryStatus: APPROVAL_TIMED_OUT, escalationReason: reason },
        { event: 'approval_timed_out', actor: deps.actor, details: { reason } },
      );
      if (!moved) continue;
      report.approvalsTimedOut++;
      deps.metrics.count('ApprovalsTimedOut');
      deps.metrics.count('TicketsEscalated');
      await notifyOnce(deps, ticket, 'escalated', reason);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/** What the operator needs to decide, and the commands. */
export function approvalSummary(ticket: Ticket): string {
  return (
    `The ${ticket.action} recovery (${ticket.errorType}: ${ticket.reason}) waits for approval until ` +
    `${ticket.approvalDeadline ?? 'its timeout'}. Approve: rca approve ${ticket.ticketId}. ` +
    `Deny: rca deny ${ticket.ticketId} --reason TEXT. Evidence: rca ticket ${ticket.ticketId}`
  );
}

async function notifyOnce(
  deps: Pick<ReconcileDeps, 'notifier' | 'notifications' | 'logger'>,
  ticket: Ticket,
  outcome: NotificationOutcome,
  summary: string,
): Promise<void> {
  if (deps.notifier === undefined) return;
  const key = `${outcome}#approval`;
  if (deps.notifications !== undefined && !(await deps.notifications.claim(ticket.ticketId, key))) return;
  try {
    await deps.notifier.notify({
      ticketId: ticket.ticketId,
      workspaceId: ticket.workspaceId,
      ...(ticket.clusterId === undefined ? {} : { clusterId: ticket.clusterId }),
      ...(ticket.clusterName === undefined ? {} : { clusterName: ticket.clusterName }),
      errorType: ticket.errorType,
      action: ticket.action,
      outcome,
      summary,
      attempts: 0,
      breakerChanges: [],
    });
  } catch (error) {
    deps.logger.warn('approval notification failed; tried again next run', {
      ticketId: ticket.ticketId,
      error: (error as Error).message,
    });
    await deps.notifications?.release(ticket.ticketId, key).catch(() => undefined);
  }
}
