/** Small helpers the task handlers share: call options, audit entries, waits and the way out. */
import type { CallOptions } from '../databricks/transport.ts';
import type { WorkflowDeps } from './deps.ts';
import type { Primitive, RecoveryState } from './model.ts';

/**
 * How long a primitive usually takes before a health check can pass (real clusters start in 3–10
 * minutes). The first check waits this long instead of polling from the start: every poll is three
 * billed state transitions.
 */
const SETTLE_SECONDS: Readonly<Record<Primitive, number>> = {
  start: 180,
  fallback_start: 180,
  rollback_start: 180,
  restart: 120,
  restore: 120,
  repair: 120,
  wait: 0,
  none: 1,
};

export function callOptions(deps: WorkflowDeps): CallOptions {
  return deps.deadline === undefined ? {} : { deadline: deps.deadline() };
}

export function actor(deps: WorkflowDeps): string {
  return deps.actor ?? 'workflow';
}

/** Appends an audit entry; the audit trail is evidence, so a failure to write it fails the task. */
export async function audit(
  deps: WorkflowDeps,
  state: Pick<RecoveryState, 'input'>,
  event: string,
  details: Record<string, unknown>,
): Promise<void> {
  await deps.tickets.appendAudit(state.input.ticketId, { event, actor: actor(deps), details });
}

/** Seconds left before the whole recovery must be over. */
export function remainingSeconds(state: Pick<RecoveryState, 'deadlineAt'>, now: number): number {
  return Math.floor((state.deadlineAt - now) / 1000);
}

/**
 * The first wait after a remediation: the primitive's usual duration, at least one poll interval for
 * a plain wait, at most half the health-check window (so at least two checks happen), never past the
 * recovery's deadline.
 */
export function settleSeconds(state: RecoveryState, primitive: Primitive, now: number): number {
  const { health_check_interval_seconds: interval, health_check_timeout: window } = state.input.playbook;
  const wanted = Math.max(SETTLE_SECONDS[primitive], primitive === 'wait' ? interval : 0);
  const capped = Math.min(wanted, Math.max(interval, Math.floor(window / 2)));
  return clampWait(capped, state, now);
}

/** A wait as Step Functions takes it: whole seconds, at least 1, not past the deadline. */
export function clampWait(seconds: number, state: Pick<RecoveryState, 'deadlineAt'>, now: number): number {
  return Math.max(1, Math.min(Math.ceil(seconds), Math.max(1, remainingSeconds(state, now))));
}

/** An escalation before anything could be tried: it never counts on a breaker. */
export function escalateUntried(state: RecoveryState, reason: string): RecoveryState {
  const next = escalateWith(state, reason);
  return { ...next, escalation: { reason, notTried: true } };
}

/** The state that sends the execution to the escalation path. */
export function escalateWith(
  state: RecoveryState,
  reason: string,
  evidence?: Record<string, unknown>,
): RecoveryState {
  return {
    ...state,
    outcome: 'escalate',
    wait: { seconds: 1 },
    escalation: evidence === undefined ? { reason } : { reason, evidence },
  };
}

/** Removes keys from a state (JSON has no undefined: an absent key is how a field is cleared). */
export function without<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  const copy = { ...value };
  for (const key of keys) delete copy[key];
  return copy;
}
