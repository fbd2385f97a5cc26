/**
 * The incident path's part of outage correlation (`outage.ts`): before a failure whose recovery would
 * start is ticketed, it is counted in its class's window. Its ticket is then opened as a held child of
 * the open outage, as the outage's probe (this failure made K), or as a failure of its own.
 */

import type { Classification } from './classifier/types.ts';
import {
  type Correlation,
  HELD_BY_OUTAGE,
  type Outage,
  type OutageChild,
  type OutageClass,
  type OutageStatus,
  outageClassOf,
  type WindowMember,
} from './outage.ts';
import type { FailureSignal } from './signal.ts';
import type { OpenTicketInput, Ticket, TransitionInput, TransitionResult } from './ticket.ts';

/** The outages themselves (`OutageRepository` in `store/outages.ts`). */
export interface OutageStore {
  get(outageId: string): Promise<Outage | undefined>;
  list(): Promise<Outage[]>;
  claimProbe(outageId: string, ticketId: string): Promise<boolean>;
  /** Names another probe in place of `from` (still probing); false when it is not `from` any more. */
  replaceProbe(outageId: string, from: string, to: string): Promise<boolean>;
  addChild(outageId: string, child: OutageChild): Promise<void>;
  /** Ends the outage if its status is one of `from`; undefined when it was not. */
  end(
    outageId: string,
    from: readonly OutageStatus[],
    to: OutageStatus,
    details: { readonly reason?: string; readonly resolvedBy?: string },
  ): Promise<Outage | undefined>;
}

/** What counting a failure decided (`correlate` of `outage.ts`, after the window was written). */
export type Counted =
  | {
      readonly kind: 'none';
      readonly count: number;
      /**
       * The ticket's write records the ticket in the window on the condition that no outage is open,
       * so a failure whose outage opened meanwhile is never started on its own (it joins).
       */
      readonly guard?: NonNullable<OpenTicketInput['guardItem']>;
    }
  | Extract<Correlation, { kind: 'join' }>
  | { readonly kind: 'opened'; readonly outage: Outage; readonly members: readonly WindowMember[] };

/** Outage correlation as the incident path, the reconciler and the operations API use it (`OutageCorrelator` in `store/outage-correlator.ts`). */
export interface OutageGate extends OutageStore {
  correlate(
    workspaceId: string,
    outageClass: OutageClass,
    member: WindowMember,
    options?: { readonly escalates?: boolean },
  ): Promise<Counted>;
  /** The failures of the class's window that were ticketed on their own (consistent read). */
  ownTickets(workspaceId: string, outageClass: OutageClass): Promise<readonly WindowMember[]>;
}

export type OutageRole =
  | { readonly kind: 'held'; readonly outageId: string; readonly outageClass: OutageClass }
  | { readonly kind: 'free'; readonly guard?: NonNullable<OpenTicketInput['guardItem']> }
  | {
      readonly kind: 'probe';
      readonly outage: Outage;
    };

/** Counts a failure that would start a recovery in its outage class's window; undefined: not an outage. */
export async function outageRoleOf(
  signal: FailureSignal,
  classification: Classification,
  gate: OutageGate | undefined,
  escalates = false,
): Promise<OutageRole | undefined> {
  const outageClass = outageClassOf(classification);
  if (gate === undefined || outageClass === undefined || signal.clusterId === undefined) return undefined;
  const correlation = await gate.correlate(
    signal.workspaceId,
    outageClass,
    { clusterId: signal.clusterId, at: signal.observedAt, incidentKey: signal.incidentKey },
    { escalates },
  );
  if (correlation.kind === 'join') return { kind: 'held', outageId: correlation.outageId, outageClass };
  // A failure its playbook escalates cannot probe: it is held like the others, and the outage escalates.
  if (correlation.kind === 'opened' && escalates)
    return { kind: 'held', outageId: correlation.outage.outageId, outageClass };
  if (correlation.kind === 'opened') return { kind: 'probe', outage: correlation.outage };
  return { kind: 'free', ...(correlation.guard === undefined ? {} : { guard: correlation.guard }) };
}

/** The hold plan of a child: ticketed, nothing started until the outage's probe recovers. */
export function heldMessage(outageId: string, outageClass: OutageClass): string {
  return `Failure ticketed; held by outage ${outageId} (${outageClass.replaceAll('_', ' ')}): nothing is started while it holds; it recovers through the blast-radius cap once the outage's probe recovers (or rca outage resolve ${outageId}), or is escalated together with the outage`;
}

export { HELD_BY_OUTAGE };

/**
 * Whether this ticket is its outage's probe: it claims the probe, or holds the claim already. Only the
 * claimant starts a probe; an outage opener slower than the reconciler's grace period finds another
 * child named and waits held instead (`holdAsChild`), so that an outage never has two probes.
 */
export async function claimsProbe(
  outages: Pick<OutageStore, 'claimProbe' | 'get'>,
  outageId: string,
  ticketId: string,
): Promise<boolean> {
  if (await outages.claimProbe(outageId, ticketId)) return true;
  return (await outages.get(outageId))?.probeTicketId === ticketId;
}

/**
 * Turns a ticket that would have started as its outage's probe into a held child (another ticket is
 * the probe): `held_by_outage`, not a probe, the cap's slot it took given back, recorded on the outage.
 * Its outage's release or escalation settles it like any held child.
 */
export async function holdAsChild(
  ticket: Ticket,
  outageId: string,
  deps: {
    readonly tickets: { transition(ticketId: string, input: TransitionInput): Promise<TransitionResult> };
    readonly outages: Pick<OutageStore, 'addChild'>;
    readonly cap?: { release(workspaceId: string, ticketId: string): Promise<boolean> };
    readonly actor: string;
  },
): Promise<Ticket> {
  const moved = await deps.tickets.transition(ticket.ticketId, {
    from: ['open'],
    to: 'open',
    expectedVersion: ticket.version,
    patch: { recoveryStatus: HELD_BY_OUTAGE, outageProbe: false },
    audit: {
      event: 'outage_held',
      actor: deps.actor,
      details: { outageId, reason: 'another ticket is the outage probe' },
    },
  });
  await deps.cap?.release(ticket.workspaceId, ticket.ticketId);
  await deps.outages.addChild(outageId, childOf(moved.ticket, 'held'));
  return moved.ticket;
}

/** A child's evidence as its outage keeps it. */
export function childOf(
  ticket: {
    readonly ticketId: string;
    readonly clusterId?: string;
    readonly clusterName?: string;
    readonly errorType: string;
    readonly terminationCode?: string;
    readonly reason: string;
    readonly detectedAt: string;
  },
  role: OutageChild['role'],
): OutageChild {
  return {
    ticketId: ticket.ticketId,
    ...(ticket.clusterId === undefined ? {} : { clusterId: ticket.clusterId }),
    ...(ticket.clusterName === undefined ? {} : { clusterName: ticket.clusterName }),
    errorType: ticket.errorType,
    ...(ticket.terminationCode === undefined ? {} : { code: ticket.terminationCode }),
    reason: ticket.reason,
    detectedAt: ticket.detectedAt,
    role,
  };
}
