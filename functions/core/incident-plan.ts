/**
 * The incident plan: what happens to a failure's recovery, decided once for both moments it is
 * decided — when the failure's ticket is opened (`openIncident`: the intake and the poller) and when a
 * deferred recovery would start (the reconciler: `start_pending`, `queued`, released by its outage,
 * an operator's `rca retry` or approval). Facts are added as they are learnt; each call re-reads the
 * whole table, first row first.
 *
 * | row | fact                                  | opening                       | deferred start                          |
 * |-----|---------------------------------------|-------------------------------|-----------------------------------------|
 * | 0   | the ticket_opened entry has no signal | —                             | escalate `input_lost`                   |
 * | 1   | AUTO_REMEDIATION_ENABLED=false        | hold `disabled`               | hold `disabled`                         |
 * | 2   | the action is `escalate`              | escalate `not_applicable`     | escalate `not_applicable`               |
 * | 3   | the playbook is disabled              | escalate `disabled`           | escalate `disabled`                     |
 * | 4   | the playbook requires approval        | hold `awaiting_approval`      | — (approved, or asked at opening)       |
 * | 5   | a silence is in force                 | hold `silenced` (ticket too)  | escalate `silenced_while_waiting` (active mode only) |
 * | 6   | an outage of its class holds it       | hold `held_by_outage`, before rows 2–3 | — (released by its outage)     |
 * | 7   | the workspace's cap is full           | queue (`queued`)              | queue (`queued`)                        |
 * | 8   | a circuit breaker is not closed       | escalate `blocked`            | escalate `blocked`                      |
 * | 9   | StartExecution failed                 | wait (`start_pending`)        | escalate `start_failed` if the error is permanent or the ticket older than the bound; else wait |
 * | —   | none of these                         | start                         | start                                   |
 *
 * A silence (row 5) is asked only when it would change the plan: the recovery would start, or would
 * start once its outage releases it (`asksSilence`); an active recovery needs a slot of its workspace's
 * cap (`needsCapSlot`).
 */
import type { Action } from './error-types.ts';
import { AWAITING_APPROVAL, approvalRequired, QUEUED } from './fleet.ts';
import { HELD_BY_OUTAGE, heldMessage, type OutageRole } from './outage-path.ts';
import type { Playbook } from './playbooks.ts';
import { START_PENDING } from './recovery-status.ts';
import { describeTarget, type Silence } from './silence.ts';
import type { OpeningStatus } from './ticket.ts';

/** The status (and recovery status) of a ticket held by a silence. */
export const SILENCED = 'silenced' satisfies OpeningStatus;

/** Where the plan is decided: at the ticket's opening, or when a recovery that waited would start. */
export type PlanStage = 'opening' | 'deferred';

export interface RecoveryFacts {
  readonly stage: PlanStage;
  /** The recovery input cannot be rebuilt from the ticket (deferred only: the opening has the signal). */
  readonly inputLost?: boolean;
  readonly action: Action;
  readonly playbook: Playbook;
  readonly autoRemediationEnabled: boolean;
  /** The silence in force that covers the failure (opening: found after the ticket's write said so). */
  readonly silence?: Silence;
  /** The outage that holds the failure (opening only). */
  readonly outage?: Extract<OutageRole, { kind: 'held' }>;
  /** The workspace's blast-radius cap had no free slot. */
  readonly capFull?: { readonly workspaceId: string; readonly cap: number };
  /** A circuit breaker that is not closed refused the recovery. */
  readonly blocked?: { readonly scope?: string; readonly reason?: string };
  /**
   * StartExecution failed: the error's name and how it reads; at a deferred start, how long the
   * recovery has waited and how long it may.
   */
  readonly startFailure?: {
    readonly error?: unknown;
    readonly errorName?: string;
    readonly why?: string;
    readonly ageMs?: number;
    readonly maxAgeMs?: number;
  };
}

/** A verdict that writes the ticket (held, queued or escalated), with the audit entry that says why. */
interface Verdict {
  readonly recoveryStatus: string;
  readonly message: string;
  readonly event: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type Plan =
  | { readonly kind: 'start'; readonly recoveryStatus: typeof START_PENDING }
  | (Verdict & {
      readonly kind: 'hold';
      /** The status the ticket is opened in (`silenced`); `open` when absent. */
      readonly ticketStatus?: OpeningStatus;
      readonly silenceId?: string;
    })
  | (Verdict & { readonly kind: 'escalate' | 'queue' })
  /** The start failed in a way a later attempt may cure: the ticket stays start_pending. */
  | { readonly kind: 'wait'; readonly recoveryStatus: typeof START_PENDING };

/**
 * StartExecution errors that no retry can cure: the input, the name or the state machine itself is
 * wrong. Anything else (throttling, a 5xx, a network error) is retried on the reconciler's next run.
 */
const PERMANENT_START_ERRORS: ReadonlySet<string> = new Set([
  'InvalidArn',
  'InvalidExecutionInput',
  'InvalidName',
  'StateMachineDeleting',
  'StateMachineDoesNotExist',
  'ValidationException',
]);

/** The plan for what is known so far (see the table in the module comment). */
export function planRecovery(facts: RecoveryFacts): Plan {
  const policy = policyPlan(facts);
  // An outage holds a failure its playbook escalates too (rows 2–3): the outage escalates its children
  // together, with one notification, instead of one by one.
  const heldToEscalate = policy?.kind === 'escalate' && facts.outage !== undefined;
  if (policy !== undefined && !heldToEscalate) return policy;
  if (facts.silence !== undefined && silenceApplies(facts)) return silencedPlan(facts.silence, facts.stage);
  if (facts.outage !== undefined) {
    const { outageId, outageClass } = facts.outage;
    return verdict('hold', HELD_BY_OUTAGE, heldMessage(outageId, outageClass));
  }
  if (facts.capFull !== undefined) {
    const { cap, workspaceId } = facts.capFull;
    return verdict(
      'queue',
      QUEUED,
      `Recovery queued: ${cap} recoveries are already under way in workspace ${workspaceId} (its blast-radius cap); it starts when one ends`,
      { event: 'recovery_queued', details: { cap, workspaceId } },
    );
  }
  if (facts.blocked !== undefined) {
    const { scope, reason } = facts.blocked;
    return verdict('escalate', 'blocked', `Circuit breaker open for ${scope}: manual intervention required`, {
      event: 'recovery_blocked',
      details: { scope, reason },
    });
  }
  if (facts.startFailure !== undefined) return startFailedPlan(facts.startFailure, facts.stage);
  return { kind: 'start', recoveryStatus: START_PENDING };
}

/** Rows 0–4: the recovery's input, the operators' switch, the action and the playbook. */
function policyPlan(facts: RecoveryFacts): Plan | undefined {
  if (facts.inputLost === true) {
    return verdict(
      'escalate',
      'input_lost',
      'The recovery input cannot be rebuilt: the ticket_opened audit entry holds no signal',
    );
  }
  if (!facts.autoRemediationEnabled) {
    return verdict(
      'hold',
      'disabled',
      facts.stage === 'opening'
        ? 'Failure ticketed; automatic remediation is disabled (AUTO_REMEDIATION_ENABLED=false)'
        : 'automatic remediation was switched off before the workflow could start',
    );
  }
  if (facts.action === 'escalate')
    return verdict(
      'escalate',
      'not_applicable',
      'No safe automatic action; escalated for manual intervention',
    );
  if (!facts.playbook.enabled) {
    return verdict(
      'escalate',
      'disabled',
      'The playbook for this error type is disabled; escalated for manual intervention',
    );
  }
  if (facts.stage === 'opening' && approvalRequired(facts.playbook)) {
    return verdict(
      'hold',
      AWAITING_APPROVAL,
      `Failure ticketed; the ${facts.action} recovery waits for an operator's approval`,
    );
  }
  return undefined;
}

/**
 * Row 5 applies to every recovery at its opening, and at a deferred start to an active one only: a
 * shadow recovery changes nothing.
 */
function silenceApplies(facts: RecoveryFacts): boolean {
  return facts.stage === 'opening' || facts.playbook.mode === 'active';
}

/** Whether a silence would change the plan now: it would start, or start once its outage releases it. */
export function asksSilence(facts: RecoveryFacts): boolean {
  const plan = planRecovery(facts);
  return silenceApplies(facts) && (plan.kind === 'start' || plan.recoveryStatus === HELD_BY_OUTAGE);
}

/** A recovery that changes clusters takes a slot of its workspace's cap before it starts. */
export function needsCapSlot(facts: RecoveryFacts): boolean {
  return facts.playbook.mode === 'active' && planRecovery(facts).kind === 'start';
}

/**
 * A failure an operator's silence covers: at its opening it is ticketed `silenced`, naming the silence;
 * a recovery that waited while the silence came into force is escalated: a human decides.
 */
function silencedPlan(silence: Silence, stage: PlanStage): Plan {
  if (stage === 'deferred') {
    return verdict(
      'escalate',
      'silenced_while_waiting',
      `Silence ${silence.silenceId} (${describeTarget(silence)}, until ${silence.until}) came into force while the recovery waited; nothing was changed`,
    );
  }
  return {
    ...verdict(
      'hold',
      SILENCED,
      `Failure ticketed; automation is silenced for ${describeTarget(silence)} until ${silence.until} (${silence.silenceId}: ${silence.reason})`,
    ),
    kind: 'hold',
    ticketStatus: SILENCED,
    silenceId: silence.silenceId,
  };
}

/**
 * Row 9: the ticket waits start_pending for the reconciler's next attempt, unless no attempt can
 * succeed or the attempts have gone on for too long (deferred only: the opening leaves it to them).
 */
function startFailedPlan(failure: NonNullable<RecoveryFacts['startFailure']>, stage: PlanStage): Plan {
  if (stage === 'deferred' && PERMANENT_START_ERRORS.has(failure.errorName ?? '')) {
    return verdict(
      'escalate',
      'start_failed',
      `The recovery workflow cannot be started (${failure.why}); escalated for manual intervention`,
    );
  }
  const { ageMs = 0, maxAgeMs = Number.POSITIVE_INFINITY } = failure;
  if (stage === 'deferred' && ageMs > maxAgeMs) {
    return verdict(
      'escalate',
      'start_failed',
      `The recovery workflow could not be started for more than ${Math.round(maxAgeMs / 60_000)} minutes (last error: ${failure.why}); escalated for manual intervention`,
    );
  }
  return { kind: 'wait', recoveryStatus: START_PENDING };
}

/** A held, queued or escalated verdict; its audit entry (`event`, `details`) says why. */
function verdict(
  kind: 'hold' | 'escalate' | 'queue',
  recoveryStatus: string,
  message: string,
  audit: { readonly event: string; readonly details: Record<string, unknown> } = {
    event: kind === 'hold' ? 'recovery_held' : 'escalated',
    details: { reason: message },
  },
): Extract<Plan, { kind: 'hold' | 'escalate' | 'queue' }> {
  return { kind, recoveryStatus, message, ...audit };
}
