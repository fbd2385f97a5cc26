/**
 * Settling outages (`core/outage.ts`): what happens when an outage's probe ends, when an operator
 * resolves it, and what the reconciler's pass checks every run.
 *
 * - release (the probe recovered, or `rca outage resolve`): the outage ends, and each held child goes
 *   to the blast-radius cap's queue (`queued`), from which it starts as slots free through the normal
 *   start path: remediation switch, playbook, breakers, the workflow, whose guard reads the cluster
 *   again before any change. A held child is never started any other way.
 * - escalate (the probe failed): the outage ends escalated with every child's evidence, each held
 *   child is escalated (nothing was changed on it), and one notification goes out for them all.
 * - the reconciler's pass: an outage's opening is announced once; an outage without a probe gets one
 *   (its oldest held child) after the grace period; a probe that ended while nobody was looking is
 *   settled; a child still held by an outage that ended is released or escalated by its status.
 *
 * Called by the workflow's Close and Escalate (the probe's end), the reconciler and the operations API.
 */
import { QUEUED } from '../core/fleet.ts';
import {
  HELD_BY_OUTAGE,
  heldChildVerdict,
  OUTAGE_ESCALATED,
  type Outage,
  outageSummary,
  probeVerdict,
} from '../core/outage.ts';
import { childOf, type OutageStore } from '../core/outage-path.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import type {
  Ticket,
  TicketPage,
  TicketWithAudit,
  TransitionInput,
  TransitionResult,
} from '../core/ticket.ts';
import type { Notifier } from '../shared/notify.ts';
import type { NotificationLedger } from '../store/notifications.ts';

export interface OutageDeps {
  readonly outages: OutageStore;
  readonly tickets: {
    getTicket(ticketId: string): Promise<TicketWithAudit | undefined>;
    transition(ticketId: string, input: TransitionInput): Promise<TransitionResult>;
    listMarked?(recoveryStatus: string, limit?: number, cursor?: string): Promise<TicketPage>;
  };
  readonly notifier?: Notifier;
  readonly notifications?: Pick<NotificationLedger, 'claim' | 'release'>;
  readonly logger: {
    info(message: string, ...extra: Record<string, unknown>[]): void;
    warn(message: string, ...extra: Record<string, unknown>[]): void;
  };
  readonly metrics?: { count(name: string, value?: number): void };
  /** The operations log: releases, escalations and resolutions are written there. @default none */
  readonly log?: {
    append(entry: {
      event: string;
      actor: string;
      subject: string;
      details?: Record<string, unknown>;
    }): Promise<unknown>;
  };
  readonly actor: string;
  readonly clock: () => number;
  /** How long an outage may be without a probe before the reconciler picks one. */
  readonly graceMs: number;
  /** Starts a start_pending ticket the reconciler's way (a probe the reconciler picked). */
  readonly startPending?: (ticketId: string) => Promise<void>;
  /** Starts a workspace's queued tickets while its cap has free slots. */
  readonly drain?: (workspaceId: string) => Promise<void>;
}

export interface OutageReport {
  released: number;
  escalated: number;
  probesPicked: number;
  childrenSettled: number;
}

/** The outage's probe ended (Close or Escalate of its workflow, or the reconciler saw it resolved). */
export async function settleProbe(outageId: string, deps: OutageDeps): Promise<void> {
  const outage = await deps.outages.get(outageId);
  if (outage === undefined) return;
  await settleOutage(outage, deps, { released: 0, escalated: 0, probesPicked: 0, childrenSettled: 0 });
}

async function settleOutage(outage: Outage, deps: OutageDeps, report: OutageReport): Promise<void> {
  const probe =
    outage.probeTicketId === undefined
      ? undefined
      : (await deps.tickets.getTicket(outage.probeTicketId))?.ticket;
  const verdict = probeVerdict(outage, probe, deps.clock(), deps.graceMs);
  if (verdict === 'release') {
    if (await releaseOutage(outage, 'released', deps, { reason: `its probe ${probe?.ticketId} recovered` }))
      report.released++;
  } else if (verdict === 'escalate' && outage.escalates === true) {
    const why = `the playbook of its failures escalates: there is no automated recovery to probe, so a person decides for all ${outage.children.length} at once`;
    if (await escalateOutage(outage, why, deps)) report.escalated++;
  } else if (verdict === 'escalate') {
    const why = probe?.escalationReason ?? `its probe ${outage.probeTicketId} is ${probe?.status ?? 'gone'}`;
    if (await escalateOutage(outage, `the probe ${outage.probeTicketId} failed: ${why}`, deps))
      report.escalated++;
  } else if (verdict === 'pick_probe') {
    if (await pickProbe(outage, deps)) report.probesPicked++;
  } else if (verdict === 'next_probe' && probe !== undefined) {
    if (await nextProbe(outage, probe, deps)) report.probesPicked++;
  } else if (verdict === 'start_probe' && probe !== undefined) {
    // Named as the probe, but the run that named it ended before it moved it: start it now.
    if (await startProbe(outage, probe, deps)) report.probesPicked++;
  }
}

/**
 * Ends the outage as `released` (its probe recovered) or `resolved` (an operator) and sends its held
 * children to the cap's queue. False when it had ended already.
 */
export async function releaseOutage(
  outage: Outage,
  to: 'released' | 'resolved',
  deps: OutageDeps,
  details: { readonly reason?: string; readonly resolvedBy?: string },
): Promise<Outage | undefined> {
  // Only an outage still probing holds children: an escalated one escalated them, and its window
  // counts new failures already (ending it again would reset that count).
  const ended = await deps.outages.end(outage.outageId, ['probing'], to, details);
  if (ended === undefined) return undefined;
  deps.metrics?.count('OutagesReleased');
  deps.logger.warn(`outage ${to}`, { outageId: outage.outageId, ...details });
  await audit(deps, `outage_${to}`, details.resolvedBy ?? deps.actor, ended, details.reason);
  // Announced once: by the reconciler while it probes, or now if the probe was quicker.
  await notifyOutage(ended, 'opened', deps);
  for (const child of await heldChildren(outage.outageId, deps)) await releaseChild(child, ended, deps);
  await deps
    .drain?.(outage.workspaceId)
    .catch((error: Error) =>
      deps.logger.warn('the released recoveries wait for the reconciler', { error: error.message }),
    );
  return ended;
}

/** Ends the outage escalated: every held child is escalated with the outage, one notification. */
export async function escalateOutage(outage: Outage, reason: string, deps: OutageDeps): Promise<boolean> {
  const ended = await deps.outages.end(outage.outageId, ['probing'], 'escalated', { reason });
  if (ended === undefined) return false;
  deps.metrics?.count('OutagesEscalated');
  deps.logger.warn('outage escalated', { outageId: outage.outageId, reason });
  const held = await heldChildren(outage.outageId, deps);
  const withHeld = await withEvidenceOf(ended, held, deps);
  await audit(deps, 'outage_escalated', deps.actor, withHeld, reason);
  for (const child of held) await escalateChild(child, withHeld, deps);
  await notifyOutage(withHeld, 'escalated', deps);
  return true;
}

/**
 * The outage with the evidence of every held child it escalates: a child whose ticket was written
 * held but whose evidence was not recorded yet (it joined as the probe failed) is recorded now, so
 * that the evidence given with the escalation names every child escalated with it.
 */
async function withEvidenceOf(outage: Outage, held: readonly Ticket[], deps: OutageDeps): Promise<Outage> {
  const known = new Set(outage.children.map((c) => c.ticketId));
  const missing = held.filter((t) => !known.has(t.ticketId)).map((t) => childOf(t, 'held'));
  for (const child of missing) await deps.outages.addChild(outage.outageId, child).catch(() => undefined);
  return missing.length === 0 ? outage : { ...outage, children: [...outage.children, ...missing] };
}

async function audit(
  deps: OutageDeps,
  event: string,
  actor: string,
  outage: Outage,
  reason: string | undefined,
): Promise<void> {
  await deps.log
    ?.append({
      event,
      actor,
      subject: outage.outageId,
      details: {
        workspaceId: outage.workspaceId,
        outageClass: outage.outageClass,
        ...(reason === undefined ? {} : { reason }),
        children: outage.children.map((c) => c.ticketId),
      },
    })
    .catch(() => undefined);
}

async function releaseChild(child: Ticket, outage: Outage, deps: OutageDeps): Promise<boolean> {
  const moved = await move(deps, child, 'open', {
    patch: { recoveryStatus: QUEUED },
    audit: {
      event: 'outage_released',
      actor: deps.actor,
      details: { outageId: outage.outageId, outageStatus: outage.status },
    },
  });
  if (moved) deps.metrics?.count('RecoveriesQueued');
  return moved;
}

async function escalateChild(child: Ticket, outage: Outage, deps: OutageDeps): Promise<boolean> {
  const reason = `Outage ${outage.outageId} escalated (${outage.reason ?? 'its probe failed'}); this recovery was held and nothing was changed`;
  const moved = await move(deps, child, 'escalated', {
    patch: { recoveryStatus: OUTAGE_ESCALATED, escalationReason: reason },
    audit: {
      event: 'outage_escalated',
      actor: deps.actor,
      details: { outageId: outage.outageId, reason, evidence: outage.children },
    },
  });
  if (moved) deps.metrics?.count('TicketsEscalated');
  return moved;
}

/** The reconciler picks the oldest held child as the probe of an outage that has none. */
async function pickProbe(outage: Outage, deps: OutageDeps): Promise<boolean> {
  const [child] = await heldChildren(outage.outageId, deps);
  if (child === undefined) {
    // Nothing is held: nothing waits for a probe.
    return (await releaseOutage(outage, 'released', deps, { reason: 'no recovery was held' })) !== undefined;
  }
  if (!(await deps.outages.claimProbe(outage.outageId, child.ticketId))) return false;
  return startProbe(outage, child, deps);
}

/**
 * The probe closed without a verified recovery (its failure was gone, or nothing was done): that proves
 * nothing about the outage's class of failure, so the oldest held child probes next. With nothing
 * held, nothing waits for a probe and the outage ends released.
 */
async function nextProbe(outage: Outage, previous: Ticket, deps: OutageDeps): Promise<boolean> {
  const closed = `its probe ${previous.ticketId} closed ${previous.recoveryStatus ?? ''} without a verified recovery`;
  const [child] = await heldChildren(outage.outageId, deps);
  if (child === undefined)
    return (
      (await releaseOutage(outage, 'released', deps, { reason: `${closed}, and no recovery was held` })) !==
      undefined
    );
  if (!(await deps.outages.replaceProbe(outage.outageId, previous.ticketId, child.ticketId))) return false;
  deps.metrics?.count('OutageProbesReplaced');
  await audit(deps, 'outage_probe_replaced', deps.actor, outage, `${closed}; ${child.ticketId} probes next`);
  return startProbe(outage, child, deps);
}

/** Moves the outage's named probe from held to start_pending and starts it the reconciler's way. */
async function startProbe(outage: Outage, probe: Ticket, deps: OutageDeps): Promise<boolean> {
  const moved = await move(deps, probe, 'open', {
    patch: { recoveryStatus: START_PENDING, outageProbe: true },
    audit: { event: 'outage_probe', actor: deps.actor, details: { outageId: outage.outageId } },
  });
  if (!moved) return false;
  // Its evidence on the outage names it the probe (it joined as a held child).
  await deps.outages.addChild(outage.outageId, childOf(probe, 'probe'));
  deps.logger.info('outage probe picked', { outageId: outage.outageId, ticketId: probe.ticketId });
  await deps.startPending?.(probe.ticketId);
  return true;
}

/** The tickets still held by the outage, oldest first (the marker partition of `held_by_outage`). */
async function heldChildren(outageId: string | undefined, deps: OutageDeps): Promise<Ticket[]> {
  const list = deps.tickets.listMarked?.bind(deps.tickets);
  if (list === undefined) return [];
  const held: Ticket[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(HELD_BY_OUTAGE, 100, cursor);
    held.push(...page.tickets.filter((t) => outageId === undefined || t.outageId === outageId));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return held;
}

async function move(
  deps: OutageDeps,
  ticket: Ticket,
  to: 'open' | 'escalated',
  input: Pick<TransitionInput, 'patch' | 'audit'>,
): Promise<boolean> {
  try {
    await deps.tickets.transition(ticket.ticketId, {
      from: ['open'],
      to,
      expectedVersion: ticket.version,
      ...input,
    });
    return true;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TicketStateError' || name === 'TicketConflictError') return false;
    throw error;
  }
}

/**
 * The reconciler's outage pass: announce new outages once, settle probes, pick missing ones, and
 * settle children held by outages that ended.
 */
export async function reconcileOutages(
  deps: OutageDeps,
  hasTime: () => boolean = () => true,
): Promise<OutageReport> {
  const report: OutageReport = { released: 0, escalated: 0, probesPicked: 0, childrenSettled: 0 };
  const outages = new Map<string, Outage>();
  for (const outage of await deps.outages.list()) {
    outages.set(outage.outageId, outage);
    if (outage.status !== 'probing' || !hasTime()) continue;
    // One that escalates after its grace period tells of itself once, when it escalates.
    if (outage.escalates !== true) await notifyOutage(outage, 'opened', deps);
    await settleOutage(outage, deps, report);
  }
  for (const child of await heldChildren(undefined, deps)) {
    if (!hasTime()) break;
    const outage = child.outageId === undefined ? undefined : outages.get(child.outageId);
    const verdict = heldChildVerdict(outage);
    if (verdict === 'hold') continue;
    const now = deps.clock();
    // A child that joined a moment ago may not be listed with its outage yet: leave it a grace period.
    if (now - Date.parse(child.updatedAt) < deps.graceMs) continue;
    const settled =
      verdict === 'release' && outage !== undefined
        ? await releaseChild(child, outage, deps)
        : await escalateChild(child, outage ?? missingOutage(child), deps);
    if (settled) report.childrenSettled++;
  }
  if (report.childrenSettled > 0)
    for (const workspaceId of new Set([...outages.values()].map((o) => o.workspaceId)))
      await deps.drain?.(workspaceId).catch(() => undefined);
  return report;
}

function missingOutage(child: Ticket): Outage {
  return {
    outageId: child.outageId ?? '(none)',
    workspaceId: child.workspaceId,
    outageClass: 'capacity',
    status: 'escalated',
    openedAt: child.detectedAt,
    threshold: 0,
    windowMinutes: 0,
    members: [],
    children: [],
    reason: 'the outage that held it cannot be found',
    version: 0,
  };
}

/** One notification per outage and event (`opened`, `escalated`), recorded in the ledger. */
async function notifyOutage(outage: Outage, what: 'opened' | 'escalated', deps: OutageDeps): Promise<void> {
  if (deps.notifier === undefined) return;
  const key = `outage_${what}`;
  if (deps.notifications !== undefined && !(await deps.notifications.claim(outage.outageId, key))) return;
  try {
    await deps.notifier.notify({
      ticketId: outage.outageId,
      workspaceId: outage.workspaceId,
      clusterName: `${outage.children.length} clusters (${outage.outageClass.replaceAll('_', ' ')})`,
      errorType: outage.children[0]?.errorType ?? outage.outageClass,
      action: 'escalate',
      outcome: what === 'opened' ? 'outage' : 'escalated',
      summary: outageSummary(outage, what),
      attempts: 0,
      breakerChanges: [],
    });
  } catch (error) {
    deps.logger.warn('outage notification failed; tried again next run', {
      outageId: outage.outageId,
      error: (error as Error).message,
    });
    await deps.notifications?.release(outage.outageId, key).catch(() => undefined);
  }
}
