/**
 * One incident, one ticket, one recovery: the path every detector (webhook intake, poller) takes after
 * it has a failure signal — classify → ticket exactly once → circuit breakers → start the workflow.
 * Dependencies are injected as the narrow interfaces this module uses.
 */

import { breakerScopes } from './breaker.ts';
import { classifySignal } from './classifier/classify.ts';
import type { Classification } from './classifier/types.ts';
import type { Action } from './error-types.ts';
import {
  AWAITING_APPROVAL,
  approvalRequired,
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  type Lease,
  QUEUED,
  type SlotRequest,
} from './fleet.ts';
import { type OutageClass, outageClassOf } from './outage.ts';
import {
  childOf,
  claimsProbe,
  HELD_BY_OUTAGE,
  heldMessage,
  holdAsChild,
  type OutageGate,
  type OutageRole,
  outageRoleOf,
} from './outage-path.ts';
import type { Playbook, PlaybookTable } from './playbooks.ts';
import { START_PENDING } from './recovery-status.ts';
import { type FailureSignal, incidentAliases } from './signal.ts';
import { describeTarget, type Silence, silenceFor, silenceScopesFor } from './silence.ts';
import type {
  AuditEvent,
  OccurrenceMark,
  OpeningStatus,
  OpenTicketGuarded,
  OpenTicketInput,
  OpenTicketResult,
  OpenTicketSilenced,
  Ticket,
  TicketRef,
  TransitionInput,
  TransitionResult,
} from './ticket.ts';

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

const STARTED_MESSAGES: Readonly<Record<Action, string>> = {
  restart_cluster: 'Cluster restart initiated',
  restart_with_different_instance_type: 'Cluster restart with a fallback instance type initiated',
  restart_with_on_demand: 'Cluster restart on on-demand capacity initiated',
  rollback_config: 'Configuration rollback initiated',
  retry_with_backoff: 'Cluster start scheduled after a back-off',
  repair_run: 'Job run repair initiated',
  escalate: 'Escalated for manual intervention',
};

/** Takes a failure signal through classification, ticketing, breakers and the workflow start. */
export async function openIncident(signal: FailureSignal, deps: IncidentDeps): Promise<IncidentOutcome> {
  const classification = classifySignal(signal, deps.playbooks);
  const log = { incidentKey: signal.incidentKey, clusterId: signal.clusterId, source: signal.source };
  if (
    !classification.isFailure ||
    classification.errorType === undefined ||
    classification.action === undefined
  ) {
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
  const recovery = planRecovery(action, playbook, deps.autoRemediationEnabled);
  // A failure of a cloud or service class is counted in its window first: it may belong to an outage.
  let outage =
    recovery.kind === 'start' || recovery.kind === 'escalate'
      ? await outageRoleOf(signal, classification, deps.outages, recovery.kind === 'escalate')
      : undefined;
  const heldPlan = (role: Extract<OutageRole, { kind: 'held' }>): Plan => ({
    kind: 'hold',
    recoveryStatus: HELD_BY_OUTAGE,
    message: heldMessage(role.outageId, role.outageClass),
  });
  const planned: Plan = outage?.kind === 'held' ? heldPlan(outage) : recovery;
  const now = (deps.clock ?? Date.now)();
  // An active recovery takes a slot of its workspace's cap in the ticket's own write (no extra call).
  const capSlot =
    planned.kind === 'start' && playbook.mode === 'active' && deps.cap !== undefined
      ? deps.cap.request(signal.workspaceId, playbook)
      : undefined;
  const subject = { workspaceId: signal.workspaceId, clusterId: signal.clusterId, errorType };
  const scopes = breakerScopes(subject);
  const open = (plan: Plan, silenceScopes: readonly string[]) =>
    deps.tickets.openTicketUnlessSilenced(
      {
        incidentKey: signal.incidentKey,
        // Until it is escalated or started, a ticket that needs either waits as start_pending, so that the
        // reconciler finishes the job if this invocation dies half-way.
        recoveryStatus: plan.kind === 'hold' ? plan.recoveryStatus : START_PENDING,
        workspaceId: signal.workspaceId,
        ...optional('clusterId', signal.clusterId),
        ...optional('clusterName', signal.clusterName),
        ...optional('jobId', signal.job?.jobId),
        ...optional('runId', signal.job?.runId),
        source: signal.source,
        errorType,
        category: classification.category ?? 'unknown',
        action,
        reason: classification.reason,
        ...optional('terminationCode', classification.code),
        ...optional('terminationType', classification.type),
        detectedAt: new Date(signal.observedAt).toISOString(),
        ...optional('clusterClaim', clusterClaimOf(signal)),
        ...optional('status', plan.kind === 'hold' ? plan.ticketStatus : undefined),
        ...optional('silenceId', plan.kind === 'hold' ? plan.silenceId : undefined),
        ...optional(
          'outageId',
          plan.recoveryStatus === HELD_BY_OUTAGE && outage?.kind === 'held'
            ? outage.outageId
            : plan.kind === 'start' && outage?.kind === 'probe'
              ? outage.outage.outageId
              : undefined,
        ),
        ...optional('outageProbe', plan.kind === 'start' && outage?.kind === 'probe' ? true : undefined),
        ...optional(
          'approvalDeadline',
          plan.kind === 'hold' && plan.recoveryStatus === AWAITING_APPROVAL
            ? new Date(
                now + (playbook.approval_timeout ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS) * 1000,
              ).toISOString()
            : undefined,
        ),
        ...(plan.kind === 'start' && capSlot !== undefined ? { capSlot } : {}),
        ...(plan.kind === 'start' && outage?.kind === 'free' && outage.guard !== undefined
          ? { guardItem: outage.guard }
          : {}),
        aliasKeys: incidentAliases({ ...signal, code: classification.code }),
        // Closed breakers and unsilenced scopes are checked in the same write; only a breaker that is not
        // closed or a silence in force costs more.
        ...(plan.kind === 'start' ? { breakerScopes: scopes } : {}),
        audit: {
          event: 'ticket_opened',
          actor: deps.actor,
          // The signal is kept so that the reconciler can start the workflow later with the same input.
          details: { classification, signal, playbookMode: playbook.mode },
        },
      },
      // A held child is checked too: its release would start it, so a silence must hold it instead.
      plan.kind === 'start' || plan.recoveryStatus === HELD_BY_OUTAGE ? silenceScopes : [],
    );
  let plan = planned;
  let opened = await open(
    plan,
    (planned.kind === 'start' || planned.recoveryStatus === HELD_BY_OUTAGE) && deps.silences !== undefined
      ? silenceScopesFor(subject)
      : [],
  );
  // An outage of the failure's class opened while it was counted: it joins it, held (and the hold is
  // checked against silences like a start).
  const joinIfGuarded = async (result: typeof opened): Promise<typeof opened> => {
    if (result.outcome !== 'guarded') return result;
    const outageId = result.item?.outageId;
    const outageClass = outageClassOf(classification);
    if (outageId === undefined || outageClass === undefined)
      throw new Error('an outage guard failed without an outage');
    outage = { kind: 'held', outageId, outageClass };
    plan = heldPlan(outage);
    return open(plan, deps.silences !== undefined ? silenceScopesFor(subject) : []);
  };
  opened = await joinIfGuarded(opened);
  if (opened.outcome === 'silenced') {
    // A silence marker of the failure's scopes is in force (nothing was written): only now are the
    // silences read, to name the one that holds the ticket.
    const silence = silenceFor(
      (await deps.silences?.active()) ?? [],
      subject,
      // Whether the automation may act is decided when it would act, not when the failure was seen.
      (deps.clock ?? Date.now)(),
    );
    plan = silencedPlan(silence) ?? (outage?.kind === 'held' ? heldPlan(outage) : planned);
    opened = await joinIfGuarded(await open(plan, []));
  }
  if (opened.outcome === 'silenced') throw new Error('a ticket opened without silence checks was silenced');
  if (opened.outcome === 'guarded') throw new Error('a ticket opened without a guard was guarded');
  if (opened.outcome === 'duplicate') {
    const ticket = opened.ticket;
    deps.logger.info('duplicate of an open incident', { ...log, ticketId: ticket.ticketId, via: opened.via });
    deps.metrics?.count('DuplicateSignals');
    // News the ticket has not heard from this source joins it as an occurrence (counted and audited);
    // a repeat of what it knows — a replay, a retried delivery, the poller's next run — costs no write.
    // Nothing is started either way.
    if (opened.news !== undefined)
      await deps.tickets.recordOccurrence(
        ticket.ticketId,
        {
          event: 'occurrence',
          actor: deps.actor,
          details: {
            via: opened.via,
            source: signal.source,
            kind: signal.kind,
            incidentKey: signal.incidentKey,
            errorType,
            ...optional('code', classification.code),
            ...optional('runId', signal.job?.runId),
            observedAt: new Date(signal.observedAt).toISOString(),
          },
        },
        opened.news,
      );
    return {
      status: 'duplicate',
      classification,
      ticket,
      ...optional('recoveryStatus', ticket.recoveryStatus),
      actionsTaken: [],
      message: `Already handled by ticket ${ticket.ticketId}${ticket.status === undefined ? '' : ` (${ticket.status})`}`,
    };
  }
  const ticket = opened.ticket;
  deps.metrics?.count('TicketsOpened');
  if (ticket.outageId !== undefined && outage !== undefined && outage.kind !== 'free') {
    const held = await linkToOutage(ticket, outage, deps);
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

  if (ticket.recoveryStatus === QUEUED) {
    const message = `Recovery queued: ${capSlot?.cap ?? 0} recoveries are already under way in workspace ${signal.workspaceId} (its blast-radius cap); it starts when one ends`;
    deps.logger.info('recovery queued by the blast-radius cap', { ...log, ticketId: ticket.ticketId });
    deps.metrics?.count('RecoveriesQueued');
    return { status: 'success', classification, ticket, recoveryStatus: QUEUED, actionsTaken: [], message };
  }
  if (plan.kind === 'hold') {
    const awaiting = plan.recoveryStatus === AWAITING_APPROVAL;
    if (awaiting) deps.metrics?.count('ApprovalsRequested');
    deps.logger.info(plan.message, { ...log, ticketId: ticket.ticketId });
    return {
      status: 'success',
      classification,
      ticket,
      recoveryStatus: plan.recoveryStatus,
      actionsTaken: [],
      message: awaiting
        ? `${plan.message}: rca approve ${ticket.ticketId}, or rca deny ${ticket.ticketId} --reason TEXT`
        : plan.message,
    };
  }
  if (plan.kind === 'escalate') {
    const escalated = await escalate(deps, ticket, plan.recoveryStatus, plan.message, {
      event: 'escalated',
      actor: deps.actor,
      details: { reason: plan.message },
    });
    return {
      status: 'escalated',
      classification,
      ticket: escalated,
      recoveryStatus: plan.recoveryStatus,
      actionsTaken: [],
      message: plan.message,
    };
  }
  return startRecovery(signal, classification, ticket, playbook, scopes, opened.breakersClosed, deps);
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

/**
 * One open incident per cluster: a cluster failure takes its cluster's claim; a job failure no
 * cluster explains only checks it (it keeps its run key, but joins the cluster's open incident).
 */
export function clusterClaimOf(
  signal: Pick<FailureSignal, 'workspaceId' | 'clusterId' | 'kind'>,
): { scope: string; mode: 'take' | 'check' } | undefined {
  if (signal.clusterId === undefined) return undefined;
  return {
    scope: `${signal.workspaceId}#${signal.clusterId}`,
    mode: signal.kind === 'job_failure' ? 'check' : 'take',
  };
}

type Plan =
  | {
      readonly kind: 'hold' | 'escalate';
      readonly recoveryStatus: string;
      readonly message: string;
      /** The status the ticket is opened in (`silenced`); `open` when absent. */
      readonly ticketStatus?: OpeningStatus;
      readonly silenceId?: string;
    }
  | { readonly kind: 'start'; readonly recoveryStatus: 'start_pending' };

/** A failure an operator's silence covers is held: ticketed, naming the silence, nothing started. */
function silencedPlan(silence: Silence | undefined): Plan | undefined {
  if (silence === undefined) return undefined;
  return {
    kind: 'hold',
    recoveryStatus: SILENCED,
    ticketStatus: SILENCED,
    silenceId: silence.silenceId,
    message: `Failure ticketed; automation is silenced for ${describeTarget(silence)} until ${silence.until} (${silence.silenceId}: ${silence.reason})`,
  };
}

/** The status (and recovery status) of a ticket held by a silence. */
export const SILENCED = 'silenced' satisfies OpeningStatus;

function planRecovery(action: Action, playbook: Playbook, autoRemediationEnabled: boolean): Plan {
  if (!autoRemediationEnabled) {
    return {
      kind: 'hold',
      recoveryStatus: 'disabled',
      message: 'Failure ticketed; automatic remediation is disabled (AUTO_REMEDIATION_ENABLED=false)',
    };
  }
  if (action === 'escalate') {
    return {
      kind: 'escalate',
      recoveryStatus: 'not_applicable',
      message: 'No safe automatic action; escalated for manual intervention',
    };
  }
  if (!playbook.enabled) {
    return {
      kind: 'escalate',
      recoveryStatus: 'disabled',
      message: 'The playbook for this error type is disabled; escalated for manual intervention',
    };
  }
  if (approvalRequired(playbook)) {
    return {
      kind: 'hold',
      recoveryStatus: AWAITING_APPROVAL,
      message: `Failure ticketed; the ${action} recovery waits for an operator's approval`,
    };
  }
  return { kind: 'start', recoveryStatus: 'start_pending' };
}

async function startRecovery(
  signal: FailureSignal,
  classification: Classification,
  ticket: Ticket,
  playbook: Playbook,
  scopes: readonly string[],
  breakersClosed: boolean,
  deps: IncidentDeps,
): Promise<IncidentOutcome> {
  const errorType = ticket.errorType;
  // Closed breakers were checked in the ticket's own write; only otherwise are they asked (and a
  // half-open one may hand this ticket its probe).
  const gate = breakersClosed
    ? { allowed: true, results: [] }
    : await deps.breakers.acquireAll(scopes, ticket.ticketId);
  if (!gate.allowed) {
    const blocked = gate.results.find((r) => r.scope === gate.blockedBy);
    const message = `Circuit breaker open for ${gate.blockedBy}: manual intervention required`;
    deps.logger.warn('recovery blocked by a circuit breaker', {
      ticketId: ticket.ticketId,
      scope: gate.blockedBy,
      reason: blocked?.reason,
    });
    deps.metrics?.count('RecoveriesBlocked');
    await deps.cap?.release(ticket.workspaceId, ticket.ticketId);
    const escalated = await escalate(deps, ticket, 'blocked', message, {
      event: 'recovery_blocked',
      actor: deps.actor,
      details: { scope: gate.blockedBy, reason: blocked?.reason },
    });
    return {
      status: 'escalated',
      classification,
      ticket: escalated,
      recoveryStatus: 'blocked',
      actionsTaken: [],
      message,
    };
  }

  const input: RecoveryInput = {
    ticketId: ticket.ticketId,
    workspaceId: signal.workspaceId,
    ...optional('clusterId', signal.clusterId),
    ...optional('jobId', signal.job?.jobId),
    ...optional('runId', signal.job?.runId),
    errorType,
    action: ticket.action,
    playbook,
    signal,
  };
  return startWorkflow(input, classification, ticket, deps, { recordStart: deps.markStarted ?? true });
}

/**
 * Starts the workflow for a ticket that is `start_pending` and moves it to in_progress. Shared with
 * the reconciler, which calls it again for tickets whose first start failed.
 */
export async function startWorkflow(
  input: RecoveryInput,
  classification: Classification,
  ticket: Ticket,
  deps: Pick<IncidentDeps, 'tickets' | 'workflow' | 'logger' | 'metrics' | 'actor'>,
  options: { readonly recordStart: boolean } = { recordStart: true },
): Promise<IncidentOutcome> {
  // An operator's retry gets an execution of its own: the name of an ended execution cannot be reused.
  const executionName = executionNameFor(ticket.ticketId, ticket.retries);
  const shadow = input.playbook.mode === 'shadow';
  let started: { executionId: string; alreadyStarted: boolean };
  try {
    started = await deps.workflow.start(
      executionName,
      ticket.retries === undefined ? input : { ...input, retry: ticket.retries },
    );
  } catch (error) {
    deps.logger.error('the recovery workflow could not be started; the reconciler will retry', {
      ticketId: ticket.ticketId,
      error: (error as Error).message,
    });
    deps.metrics?.count('WorkflowStartFailures');
    return {
      status: 'error',
      classification,
      ticket,
      recoveryStatus: 'start_pending',
      actionsTaken: [],
      message: `Ticket ${ticket.ticketId} opened but recovery could not be started yet; it will be retried`,
      retryable: true,
    };
  }
  const recoveryStatus = shadow ? 'shadow' : 'in_progress';
  let current = ticket;
  if (options.recordStart)
    try {
      const moved = await deps.tickets.transition(ticket.ticketId, {
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
            mode: input.playbook.mode,
          },
        },
      });
      current = moved.ticket;
    } catch (error) {
      // The workflow may already have moved the ticket on; it owns it from here.
      deps.logger.warn('ticket not moved to in_progress after the workflow started', {
        ticketId: ticket.ticketId,
        error: (error as Error).message,
      });
    }
  deps.metrics?.count('RecoveriesStarted');
  deps.logger.info('recovery workflow started', {
    ticketId: ticket.ticketId,
    executionName,
    action: input.action,
  });
  const verb = STARTED_MESSAGES[input.action];
  return {
    status: 'success',
    classification,
    ticket: current,
    recoveryStatus,
    actionsTaken: [input.action],
    message: shadow ? `Shadow mode: ${verb.toLowerCase()} would be run; nothing was changed` : verb,
  };
}

async function escalate(
  deps: IncidentDeps,
  ticket: Ticket,
  recoveryStatus: string,
  reason: string,
  audit: AuditEvent,
): Promise<Ticket> {
  const moved = await deps.tickets.transition(ticket.ticketId, {
    from: ['open'],
    to: 'escalated',
    patch: { recoveryStatus, escalationReason: reason },
    audit,
  });
  deps.metrics?.count('TicketsEscalated');
  return moved.ticket;
}

/** Step Functions execution names allow 80 characters of [A-Za-z0-9-_]; ticket ids fit as they are. */
export function executionNameFor(ticketId: string, retry?: number): string {
  const suffix = retry === undefined || retry === 0 ? '' : `-retry-${retry}`;
  return `${ticketId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - suffix.length)}${suffix}`;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
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
