/**
 * The data the recovery state machine carries from state to state, and the event each Task sends to
 * the task Lambda. Everything is plain JSON: Step Functions passes it through `$`.
 *
 * Each task returns the whole next state; Choice states route on `outcome` and Wait states read
 * `wait.seconds` (`SecondsPath`), so the ASL holds no business rule.
 */

import { ACTIONS } from '../core/error-types.ts';
import type { RecoveryInput } from '../core/incident.ts';
import type { Playbook } from '../core/playbooks.ts';
import type { FailureSignal } from '../core/signal.ts';
import * as z from '../core/zod.ts';
import { TaskInputError } from './errors.ts';
import type { Resolution } from './guard.ts';

/** Task steps, one per Task state of the ASL (`Parameters.step`). */
export const STEPS = ['remediate', 'check_health', 'restore_config', 'close', 'escalate'] as const;
export type Step = (typeof STEPS)[number];

/**
 * Where the state machine goes next:
 * - `verify`: a remediation is under way (or none was needed) → wait, then check health.
 * - `delay`: wait, then remediate again without spending an attempt (TERMINATING cluster, back-off
 *   before a job repair, a run still in progress).
 * - `pending`: not healthy yet, still within the health-check window → wait, check again.
 * - `retry`: the attempt failed and the budget allows another → back off, remediate again.
 * - `restore`: healthy on a fallback configuration that must be put back.
 * - `healthy`: close the ticket.
 * - `escalate` / `shadow`: hand over to a human (shadow: nothing was changed on purpose).
 * - `skip`: the ticket was already resolved by someone else; touch nothing.
 * - `resolved`: the guard found the failure gone (stopped by its owner, healed by Databricks, back
 *   already…) → close the ticket as resolved without action; nothing was changed.
 */
export const OUTCOMES = [
  'verify',
  'delay',
  'pending',
  'retry',
  'restore',
  'healthy',
  'escalate',
  'shadow',
  'skip',
  'resolved',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The Databricks primitive a remediation used. */
export type Primitive =
  | 'start'
  | 'restart'
  | 'fallback_start'
  | 'rollback_start'
  | 'repair'
  | 'restore'
  | 'wait'
  | 'none';

export interface Plan {
  /** What the health check looks at: the cluster, or the job run that was repaired. */
  readonly subject: 'cluster' | 'run';
  readonly primitive: Primitive;
  /** For people and the audit trail: "started the TERMINATED cluster". */
  readonly description: string;
  /** Workflow clock (epoch ms) when the remediation was made. */
  readonly actedAt: number;
  /** The health check gives up at this time (workflow clock). */
  readonly healthDeadlineAt: number;
  /**
   * `last_restarted_time` of the cluster just before the action (Databricks' clock): a RUNNING
   * cluster counts only once it has (re)started after it. Absent when nothing was done.
   */
  readonly baselineRestartedTime?: number;
  /** The repair this attempt launched (`repair_id`). */
  readonly repairId?: string;
  /** The run repaired or verified (the parent run when the incident named a task run). */
  readonly runId?: string;
  /** Configuration fields this attempt changed, and their new values. */
  readonly changes?: Readonly<Record<string, unknown>>;
}

export interface OriginalConfig {
  readonly fields: readonly string[];
  readonly values: Readonly<Record<string, unknown>>;
}

/** The audit event a configuration change is recorded as, before it is sent to Databricks. */
export const CONFIG_CHANGE_EVENT = 'config_change_requested';

/**
 * A configuration change the workflow asked Databricks for (`clusters/update` of `fields`),
 * recorded in the ticket's audit trail BEFORE the call. A retried task (Step Functions re-runs it
 * with the same input after a throw or a Lambda timeout) reads it back, so it neither loses the
 * original configuration nor mistakes its own rollback for the edit to roll back.
 */
export interface ConfigChange {
  readonly kind: 'fallback' | 'rollback' | 'reapply';
  /** The attempt that made it. */
  readonly attempt: number;
  readonly fields: readonly string[];
  /** The new values; a field of `fields` absent here is removed. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Fallbacks: the configuration before any fallback of this recovery. */
  readonly original?: OriginalConfig;
  readonly description: string;
}

export interface Escalation {
  readonly reason: string;
  /** What a human needs to see: termination reason, failing init scripts, run details… */
  readonly evidence?: Readonly<Record<string, unknown>>;
  /**
   * Nothing could be tried (the cluster, run or ticket is gone, the incident names nothing to act on):
   * not a failed remediation, so it never counts on a breaker.
   */
  readonly notTried?: boolean;
}

/** Why the previous attempt failed, which can change what the next one does. */
export interface AttemptFailure {
  readonly kind: 'terminated' | 'driver_unresponsive' | 'timeout' | 'run_failed';
  readonly reason: string;
}

export interface RecoveryState {
  readonly input: RecoveryInput;
  /** 1-based attempt of the remediation; at most `playbook.max_attempts`. */
  readonly attempt: number;
  /** Workflow clock (epoch ms). */
  readonly startedAt: number;
  /** startedAt + timeout_seconds: the whole recovery ends by then. */
  readonly deadlineAt: number;
  readonly phase: 'remediate' | 'verify' | 'restore';
  readonly outcome: Outcome;
  readonly wait: { readonly seconds: number };
  /** The back-off owed before the first job repair or throttled start has been taken. */
  readonly backedOff?: boolean;
  /** Launches Databricks refused in a row for the workspace's launch limit (REQUEST_LIMIT_EXCEEDED). */
  readonly launchThrottles?: number;
  readonly plan?: Plan;
  /** What the recovery did so far, oldest first (for the ticket and the notification). */
  readonly actions?: readonly string[];
  /**
   * The configuration before a fallback changed it: the fields the fallback touched and their
   * original values (a field absent from `values` was not set).
   */
  readonly original?: OriginalConfig;
  /** Node types that failed to come up during this recovery. */
  readonly failedNodeTypes?: readonly string[];
  /** The bad edit was rolled back already: never roll back twice (that would undo the rollback). */
  readonly rolledBack?: boolean;
  readonly restore?: 'pending' | 'done' | 'failed' | 'skipped';
  /**
   * The fallback configuration the cluster was healthy on, saved by the restore that replaced it:
   * when the restore fails, it is put back once (outside the attempt budget) and then dropped.
   */
  readonly fallback?: OriginalConfig;
  readonly lastFailure?: AttemptFailure;
  readonly escalation?: Escalation;
  /** Set by the guard: the failure is gone, the ticket closes without (further) action. */
  readonly resolution?: { readonly kind: Resolution; readonly reason: string };
  /**
   * A failed run on an all-purpose cluster: `due` once the cluster is healthy (the run is repaired
   * next), `done` once the repair was launched.
   */
  readonly runRepair?: 'due' | 'done';
  /** Fallback changes Databricks refused (400): never recorded as made, never tried again. */
  readonly refused?: readonly { readonly field: string; readonly value: unknown }[];
  /**
   * The original configuration, to be put back at the cluster's next natural termination (never by
   * restarting it): set when the cluster is healthy on a fallback while RUNNING.
   */
  readonly pendingRestore?: OriginalConfig;
  /** Set by a Catch (`ResultPath: $.error`): the error that ended a task after its retries. */
  readonly error?: { readonly Error: string; readonly Cause?: string };
}

/** What Close and Escalate return: the execution's output. */
export interface RecoveryResult {
  readonly ticketId: string;
  readonly status: 'closed' | 'escalated' | 'unchanged';
  readonly outcome: 'recovered' | 'escalated' | 'shadow' | 'already_resolved' | 'resolved_without_action';
  readonly attempts: number;
  readonly reason?: string;
  readonly breakerChanges: readonly { readonly scope: string; readonly transition: string }[];
}

const PlaybookSchema = z.looseObject({
  action: z.enum(ACTIONS),
  timeout_seconds: z.number().check(z.int(), z.positive()),
  health_check_timeout: z.number().check(z.int(), z.positive()),
  health_check_interval_seconds: z.number().check(z.int(), z.positive()),
  max_attempts: z.number().check(z.int(), z.positive()),
  backoff: z.looseObject({
    initial_seconds: z.number().check(z.positive()),
    multiplier: z.number().check(z.gte(1)),
    max_seconds: z.number().check(z.positive()),
  }),
  enabled: z.boolean(),
  mode: z.enum(['active', 'shadow']),
  fallback_node_types: z.array(z.string()),
  restore_original_config: z.boolean(),
});

const OriginalConfigSchema = z.looseObject({
  fields: z.array(z.string()),
  values: z.record(z.string(), z.unknown()),
});

/** A recorded configuration change, read back from the audit trail. */
export const ConfigChangeSchema = z.looseObject({
  kind: z.enum(['fallback', 'rollback', 'reapply']),
  attempt: z.number().check(z.int(), z.positive()),
  fields: z.array(z.string()),
  values: z.record(z.string(), z.unknown()),
  original: z.optional(OriginalConfigSchema),
  description: z.string(),
});

export const RecoveryInputSchema = z.looseObject({
  ticketId: z.string().check(z.minLength(1)),
  workspaceId: z.string().check(z.minLength(1)),
  clusterId: z.optional(z.string().check(z.minLength(1))),
  jobId: z.optional(z.string().check(z.minLength(1))),
  runId: z.optional(z.string().check(z.minLength(1))),
  errorType: z.string().check(z.minLength(1)),
  action: z.enum(ACTIONS),
  playbook: PlaybookSchema,
  signal: z.looseObject({ kind: z.string(), observedAt: z.number() }),
  retry: z.optional(z.number().check(z.int(), z.positive())),
});

const RecoveryStateSchema = z.looseObject({
  input: RecoveryInputSchema,
  attempt: z.number().check(z.int(), z.positive()),
  startedAt: z.number(),
  deadlineAt: z.number(),
  phase: z.enum(['remediate', 'verify', 'restore']),
  outcome: z.string(),
  wait: z.looseObject({ seconds: z.number().check(z.int(), z.nonnegative()) }),
});

/** `arn:<partition>:states:<region>:<account>:stateMachine:<name>`, as `$$.StateMachine.Id` gives it. */
const STATE_MACHINE_ARN = /^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

export const TaskEventSchema = z.strictObject({
  step: z.enum(STEPS),
  /** The execution input (first task) or the state the previous task returned. */
  state: z.looseObject({}),
  /**
   * The state machine running the task (`$$.StateMachine.Id`), sent by Close and Escalate: the
   * queued recoveries their freed slot starts run on it. The task function cannot read it from its
   * environment (the state machine's definition names the function: a cycle).
   */
  stateMachineArn: z.optional(
    z.string().check(z.regex(STATE_MACHINE_ARN, 'must be the ARN of a Step Functions state machine')),
  ),
});
export type TaskEvent = z.infer<typeof TaskEventSchema>;

/**
 * Reads the `state` of a task event: the execution input on the first task, the previous task's
 * state afterwards (possibly with a Catch's `error`). Anything else is a TaskInputError.
 */
export function readState(
  value: Record<string, unknown>,
):
  | { readonly state: RecoveryState }
  | { readonly input: RecoveryInput; readonly error?: RecoveryState['error'] } {
  if (RecoveryStateSchema.safeParse(value).success) return { state: value as unknown as RecoveryState };
  const input = RecoveryInputSchema.safeParse(value);
  if (input.success) {
    const error = value.error as RecoveryState['error'] | undefined;
    return error === undefined
      ? { input: value as unknown as RecoveryInput }
      : { input: value as unknown as RecoveryInput, error };
  }
  const issues = input.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(state)'}: ${issue.message}`);
  throw new TaskInputError(
    `the task state is neither a recovery input nor a recovery state: ${issues.join('; ')}`,
  );
}

export type { FailureSignal, Playbook, RecoveryInput };
