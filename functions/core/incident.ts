/**
 * One incident, one ticket, one recovery: the path every detector (webhook intake, poller) takes after
 * it has a failure signal — classify → ticket exactly once → the incident plan
 * (`core/incident-plan.ts`) → circuit breakers → start the workflow (`core/recovery-start.ts`).
 * Dependencies are injected as the narrow interfaces this module uses; they are the ports of the
 * reconciler's deferred start too.
 */

import { classifySignal } from './classifier/classify.ts';
import type { Classification } from './classifier/types.ts';
import type { Action } from './error-types.ts';
import { AWAITING_APPROVAL, type Lease, QUEUED, type SlotRequest } from './fleet.ts';
import { type Failure, isFailure, openTicketOnce } from './incident-opening.ts';
import type { Plan, RecoveryFacts } from './incident-plan.ts';
import { compact } from './json.ts';
import type { OutageClass } from './outage.ts';
import {
  childOf,
  claimsProbe,
  HELD_BY_OUTAGE,
  heldMessage,
  holdAsChild,
  type OutageGate,
  type OutageRole,
} from './outage-path.ts';
import type { Playbook, PlaybookTable } from './playbooks.ts';
import { askBreakers, followPlan, launchWorkflow, recoveryInputOf } from './recovery-start.ts';
import type { FailureSignal } from './signal.ts';
import type { Silence } from './silence.ts';
import type {
  AuditEvent,
  OccurrenceMark,
  OpenTicketGuarded,
  OpenTicketInput,
  OpenTicketResult,
  OpenTicketSilenced,
  Ticket,
  TicketRef,
  TransitionInput,
  TransitionResult,
} from './ticket.ts';

// Kept importable from here for the modules that start recoveries (see core/recovery-start.ts).
export { executionNameFor, startWorkflow } from './recovery-start.ts';

export interface TicketStore {
  openTicket(input: OpenTicketInput): Promise<OpenTicketResult>;
  /** `openTicket`, unless a silence of one of the scopes is in force (then nothing is written). */
  openTicketUnlessSilenced(
    input: OpenTicketInput,
    silenceScopes: readonly string[],
  ): Promise<OpenTicketResult | OpenTicketSilenced | OpenTicketGuarded>;
  transition(ticketId: string, input: TransitionInput): Promise<TransitionResult>;
  /** Attaches a further signal about an open incident to its ticket (counted and audited). */
  recordOccurrence(ticketId: string, event: AuditEvent, news?: OccurrenceMark): Promise<void>;
}

export interface BreakerGate {
  acquireAll(
    scopes: readonly string[],
    ticketId: string,
  ): Promise<{
    readonly allowed: boolean;
    readonly blockedBy?: string;
    readonly results: readonly { reason: string; scope: string }[];
  }>;
}

/** What the workflow receives; also what the reconciler rebuilds from a ticket. */
export interface RecoveryInput {
  readonly ticketId: string;
  readonly workspaceId: string;
  readonly clusterId?: string;
  readonly jobId?: string;
  readonly runId?: string;
  readonly errorType: string;
  readonly action: Action;
  readonly playbook: Playbook;
  readonly signal: FailureSignal;
  /** How many times an operator re-drove the ticket (`rca retry`); names a fresh execution. */
  readonly retry?: number;
}

/** The silences in force; read only when a silence marker of the failure's scopes is in force. */
export interface SilenceReader {
  active(): Promise<readonly Silence[]>;
}

export interface WorkflowStarter {
  /** Starts the recovery; a second start with the same name is a no-op that reports `alreadyStarted`. */
  start(
    name: string,
    input: RecoveryInput,
  ): Promise<{ readonly executionId: string; readonly alreadyStarted: boolean }>;
}

export interface IncidentLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface IncidentMetrics {
  count(name: string, value?: number): void;
}

/** The blast-radius cap (`RecoveryCap`): how many recoveries of a workspace may change clusters at once. */
export interface CapGate {
  capOf(workspaceId: string): number;
  request(workspaceId: string, playbook: Playbook): SlotRequest;
  acquire(
    request: SlotRequest,
    ticketId: string,
    executionName: string,
  ): Promise<'acquired' | 'held' | 'full'>;
  /** Gives a slot back (a recovery that will not run after all); a no-op without one. */
  release(workspaceId: string, ticketId: string, acquiredAt?: number): Promise<boolean>;
  list(): Promise<Lease[]>;
}

export interface IncidentDeps {
  readonly tickets: TicketStore;
  readonly breakers: BreakerGate;
  readonly workflow: WorkflowStarter;
  readonly playbooks: PlaybookTable;
  /** The seed's AUTO_REMEDIATION_ENABLED: false tickets failures and starts nothing. */
  readonly autoRemediationEnabled: boolean;
  /** Operators' silences: a failure they cover is ticketed `silenced` and nothing is started. */
  readonly silences?: SilenceReader;
  /** The blast-radius cap; without it recoveries are not capped. */
  readonly cap?: CapGate;
  /** Outage correlation (`core/outage.ts`); without it no failure is held by an outage. */
  readonly outages?: OutageGate;
  /** @default Date.now */
  readonly clock?: () => number;
  readonly logger: IncidentLogger;
  readonly metrics?: IncidentMetrics;
  /** Who records the audit entries: `intake` or `poller`. */
  readonly actor: string;
  /**
   * Whether the ticket is moved to in_progress right after StartExecution. The intake says no: the
   * workflow moves it when it takes over, so a new incident costs two AWS calls. @default true
   */
  readonly markStarted?: boolean;
}

/** The seed's response vocabulary. */
export type OutcomeStatus = 'success' | 'duplicate' | 'ignored' | 'escalated' | 'error';

export interface IncidentOutcome {
  readonly status: OutcomeStatus;
  readonly classification: Classification;
  readonly ticket?: Ticket | TicketRef;
  readonly recoveryStatus?: string;
  readonly actionsTaken: readonly string[];
  readonly message: string;
  /** The workflow could not be started: the ticket waits for the reconciler and the caller should retry. */
  readonly retryable?: boolean;
}
/** Takes a failure signal through classification, ticketing, breakers and the workflow start. */
export async function openIncident(signal: FailureSignal, deps: IncidentDeps): Promise<IncidentOutcome> {
  const classification = classifySignal(signal, deps.playbooks);
  const log = { incidentKey: signal.incidentKey, clusterId: signal.clusterId, source: signal.source };
  if (!isFailure(classification)) {
    deps.logger.info('signal is not a failure', { ...log, reason: classification.reason });
    deps.metrics?.count('SignalsIgnored');
    return { status: 'ignored', classification, actionsTaken: [], message: classification.reason };
  }
  const { errorType, action } = classification;
  const playbook = deps.playbooks[errorType];
  deps.logger.info('failure detected', { ...log, errorType, action, code: classification.code });
  deps.logger.info('playbook selected', {
    ...log,
    errorType,
    action,
    enabled: playbook.enabled,
    mode: playbook.mode,
    maxAttempts: playbook.max_attempts,
    timeoutSeconds: playbook.timeout_seconds,
  });
  const facts: RecoveryFacts = {
    stage: 'opening',
    action,
    playbook,
    autoRemediationEnabled: deps.autoRemediationEnabled,
  };
  const opening = await openTicketOnce(signal, classification, facts, deps);
  const { opened } = opening;
  if (opened.outcome === 'duplicate') return recordDuplicate(signal, classification, opened, deps);
  const ticket = opened.ticket;
  deps.metrics?.count('TicketsOpened');
  if (ticket.outageId !== undefined && opening.outage !== undefined && opening.outage.kind !== 'free') {
    const held = await linkToOutage(ticket, opening.outage, deps);
    // Another ticket became the probe first (this run was slower than the reconciler's grace): held.
    if (held !== undefined) {
      const message = heldMessage(ticket.outageId, held.outageClass);
      deps.logger.info(message, { ...log, ticketId: ticket.ticketId });
      return {
        status: 'success',
        classification,
        ticket: held.ticket,
        recoveryStatus: HELD_BY_OUTAGE,
        actionsTaken: [],
        message,
      };
    }
  }

  // The ticket's write took the cap's slot, and checked the closed breakers and the silences: what is
  // left of the plan is the breakers that are not closed and the workflow's start.
  const known: RecoveryFacts =
    ticket.recoveryStatus === QUEUED
      ? { ...opening.facts, capFull: { workspaceId: signal.workspaceId, cap: opening.capSlot?.cap ?? 0 } }
      : opening.facts;
  const { plan, outcome } = await followPlan(known, {
    breakers: () => askBreakers(ticket, opened.breakersClosed, deps),
    start: () =>
      launchWorkflow(recoveryInputOf(ticket, playbook, signal), classification, ticket, deps, {
        recordStart: deps.markStarted ?? true,
      }),
  });
  // Started, or waiting start_pending for the reconciler: the start's outcome says which.
  if (outcome !== undefined) return outcome;
  return writeVerdict(plan, ticket, { classification, log, capSlot: opening.capSlot }, deps);
}

/**
 * Writes the plan's verdict on a ticket that does not start now: escalated (a slot its write took is
 * given back), or queued for a slot of the cap, or held (disabled, approval, silence, outage).
 */
async function writeVerdict(
  plan: Plan,
  ticket: Ticket,
  opening: {
    readonly classification: Classification;
    readonly log: Record<string, unknown>;
    readonly capSlot?: SlotRequest;
  },
  deps: IncidentDeps,
): Promise<IncidentOutcome> {
  const { classification, log } = opening;
  if (plan.kind === 'start' || plan.kind === 'wait')
    throw new Error('a recovery planned to start has no start');
  const { recoveryStatus, message } = plan;
  if (plan.kind === 'escalate') {
    if (opening.capSlot !== undefined) await deps.cap?.release(ticket.workspaceId, ticket.ticketId);
    const moved = await deps.tickets.transition(ticket.ticketId, {
      from: ['open'],
      to: 'escalated',
      patch: { recoveryStatus, escalationReason: message },
      audit: { event: plan.event, actor: deps.actor, details: plan.details },
    });
    deps.metrics?.count('TicketsEscalated');
    return {
      status: 'escalated',
      classification,
      ticket: moved.ticket,
      recoveryStatus,
      actionsTaken: [],
      message,
    };
  }
  // Queued for a slot of the cap, or held (disabled, approval, silence, outage).
  const awaiting = recoveryStatus === AWAITING_APPROVAL;
  if (plan.kind === 'queue') {
    deps.logger.info('recovery queued by the blast-radius cap', { ...log, ticketId: ticket.ticketId });
    deps.metrics?.count('RecoveriesQueued');
  } else {
    if (awaiting) deps.metrics?.count('ApprovalsRequested');
    deps.logger.info(message, { ...log, ticketId: ticket.ticketId });
  }
  return {
    status: 'success',
    classification,
    ticket,
    recoveryStatus,
    actionsTaken: [],
    message: awaiting
      ? `${message}: rca approve ${ticket.ticketId}, or rca deny ${ticket.ticketId} --reason TEXT`
      : message,
  };
}

/**
 * A duplicate of an open incident: news the ticket has not heard from this source joins it as an
 * occurrence (counted and audited); a repeat of what it knows — a replay, a retried delivery, the
 * poller's next run — costs no write. Nothing is started either way.
 */
async function recordDuplicate(
  signal: FailureSignal,
  classification: Failure,
  opened: Extract<OpenTicketResult, { outcome: 'duplicate' }>,
  deps: IncidentDeps,
): Promise<IncidentOutcome> {
  const ticket = opened.ticket;
  deps.logger.info('duplicate of an open incident', {
    incidentKey: signal.incidentKey,
    clusterId: signal.clusterId,
    source: signal.source,
    ticketId: ticket.ticketId,
    via: opened.via,
  });
  deps.metrics?.count('DuplicateSignals');
  if (opened.news !== undefined)
    await deps.tickets.recordOccurrence(
      ticket.ticketId,
      {
        event: 'occurrence',
        actor: deps.actor,
        details: compact({
          via: opened.via,
          source: signal.source,
          kind: signal.kind,
          incidentKey: signal.incidentKey,
          errorType: classification.errorType,
          code: classification.code,
          runId: signal.job?.runId,
          observedAt: new Date(signal.observedAt).toISOString(),
        }),
      },
      opened.news,
    );
  return compact({
    status: 'duplicate',
    classification,
    ticket,
    recoveryStatus: ticket.recoveryStatus,
    actionsTaken: [],
    message: `Already handled by ticket ${ticket.ticketId}${ticket.status === undefined ? '' : ` (${ticket.status})`}`,
  });
}

/**
 * Records the new ticket on its outage: a held child, or the probe (whose failure opened the outage:
 * it also links the failures counted before it, which started on their own, so that their closing
 * does not notify once each). Failures here are logged: the reconciler picks a probe for an outage
 * without one, and releases or escalates held children by their outage's status.
 */
async function linkToOutage(
  ticket: Ticket,
  role: Exclude<OutageRole, { kind: 'free' }>,
  deps: IncidentDeps,
): Promise<{ readonly ticket: Ticket; readonly outageClass: OutageClass } | undefined> {
  const outageId = ticket.outageId as string;
  try {
    if (role.kind === 'held') {
      await deps.outages?.addChild(outageId, childOf(ticket, 'held'));
      deps.metrics?.count('ChildrenHeld');
      return undefined;
    }
    const outages = deps.outages as OutageGate;
    // Only the probe's claimant starts it: a slower opener finds another child named, and waits held.
    const claimed = await claimsProbe(outages, outageId, ticket.ticketId);
    const held = claimed ? undefined : await holdAsChild(ticket, outageId, { ...deps, outages });
    if (held === undefined) await outages.addChild(outageId, childOf(ticket, 'probe'));
    else deps.metrics?.count('ChildrenHeld');
    deps.metrics?.count('OutagesOpened');
    deps.logger.warn('outage opened', {
      outageId,
      workspaceId: ticket.workspaceId,
      outageClass: role.outage.outageClass,
      ...(held === undefined ? { probeTicketId: ticket.ticketId } : { heldTicketId: ticket.ticketId }),
    });
    // Failures counted before it were ticketed on their own, each recorded in the window in its
    // ticket's write on the condition that no outage was open: reading the window after the outage
    // opened finds every one of them (a later one joined the outage instead).
    for (const member of await (deps.outages?.ownTickets(ticket.workspaceId, role.outage.outageClass) ??
      [])) {
      if (member.ticketId === undefined || member.ticketId === ticket.ticketId) continue;
      const ticketId = member.ticketId;
      // The ticket keeps its status (open while it waits to start, or in_progress): only the link is added.
      const link = (status: 'open' | 'in_progress') =>
        deps.tickets.transition(ticketId, {
          from: [status],
          to: status,
          patch: { outageId },
          audit: { event: 'outage_linked', actor: deps.actor, details: { outageId, role: 'running' } },
        });
      // It may move from open to in_progress meanwhile (its start): try both, twice.
      let moved: TransitionResult | undefined;
      for (const status of ['in_progress', 'open', 'in_progress', 'open'] as const) {
        moved = await link(status).catch(() => undefined);
        if (moved !== undefined) break;
      }
      if (moved !== undefined) await deps.outages?.addChild(outageId, childOf(moved.ticket, 'running'));
    }
    return held === undefined ? undefined : { ticket: held, outageClass: role.outage.outageClass };
  } catch (error) {
    deps.logger.error('the ticket could not be recorded on its outage; the reconciler settles it', {
      ticketId: ticket.ticketId,
      outageId,
      error: (error as Error).message,
    });
  }
  return undefined;
}

/** The outcome of a recovery execution, as the reconciler needs it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'NOT_FOUND';

export interface ExecutionDescription {
  readonly status: ExecutionStatus;
  /** The execution's output (parsed JSON), when it succeeded. */
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Epoch ms. */
  readonly stopDate?: number;
}

/** Looks up a recovery execution by its name (the ticket id). */
export interface WorkflowInspector {
  describe(executionName: string): Promise<ExecutionDescription>;
}
