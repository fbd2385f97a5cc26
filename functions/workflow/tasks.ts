/**
 * The one entry point of the task handlers: `{ step, state }` in, the next state (or, for the last
 * step, the execution's result) out. The Lambda handler and the local runner both call it, so the
 * state machine runs exactly this code in AWS and on a laptop.
 *
 * One function with a `step` field rather than one Lambda per Task: every step needs the same
 * grants (table, Databricks credentials, topic), so splitting would multiply cold starts, bundles
 * and log groups without narrowing any permission.
 */
import { describeError, parseWith } from '../core/errors.ts';
import type { WorkflowDeps } from './deps.ts';
import { asTaskError, TaskInputError } from './errors.ts';
import { close, escalate } from './finish.ts';
import { checkHealth } from './health.ts';
import { type RecoveryResult, type RecoveryState, readState, TaskEventSchema } from './model.ts';
import { remediate } from './remediate.ts';
import { restoreConfig } from './restore.ts';
import { takeOver } from './take-over.ts';

export async function runTask(event: unknown, deps: WorkflowDeps): Promise<RecoveryState | RecoveryResult> {
  let parsed: ReturnType<typeof TaskEventSchema.parse>;
  try {
    parsed = parseWith(TaskEventSchema, event, 'task event');
  } catch (error) {
    throw new TaskInputError((error as Error).message);
  }
  try {
    const read = readState(parsed.state);
    if ('input' in read) {
      // The execution input: the first task, or a Catch of the first task's failure.
      if (parsed.step === 'escalate') {
        const state = await initialState(read.input, deps);
        const result = await escalate(
          read.error === undefined ? state : { ...state, error: read.error },
          deps,
        );
        await releaseSlot(read.input, parsed.stateMachineArn, deps);
        return result;
      }
      if (parsed.step !== 'remediate') {
        throw new TaskInputError(`step ${parsed.step} needs a recovery state, not the execution input`);
      }
      const state = await takeOver(read.input, deps);
      return state.outcome === 'verify' ? await remediate(state, deps) : state;
    }
    const state = read.state;
    switch (parsed.step) {
      case 'remediate':
        return await remediate(state, deps);
      case 'check_health':
        return await checkHealth(state, deps);
      case 'restore_config':
        return await restoreConfig(state, deps);
      case 'close': {
        const result = await close(state, deps);
        await releaseSlot(state.input, parsed.stateMachineArn, deps);
        return result;
      }
      case 'escalate': {
        const result = await escalate(state, deps);
        await releaseSlot(state.input, parsed.stateMachineArn, deps);
        return result;
      }
    }
  } catch (error) {
    throw asTaskError(error);
  }
}

/**
 * The recovery is over: its slot of the blast-radius cap goes back (a retried task finds none and
 * does nothing), and the workspace's oldest queued tickets start on the state machine the task runs
 * on. The ticket is resolved already: a drain that fails is logged and counted (`QueueDrainFailures`),
 * never the step's failure, and the reconciler drains the queue at its next run.
 */
async function releaseSlot(
  input: RecoveryState['input'],
  stateMachineArn: string | undefined,
  deps: WorkflowDeps,
): Promise<void> {
  if (deps.cap === undefined) return;
  const released = await deps.cap.release(input.workspaceId, input.ticketId);
  if (!released) return;
  deps.metrics?.count('CapSlotsReleased');
  if (deps.onSlotFreed === undefined) return;
  const deadline = deps.deadline?.();
  try {
    await deps.onSlotFreed({
      workspaceId: input.workspaceId,
      ...(stateMachineArn === undefined ? {} : { stateMachineArn }),
      ...(deadline === undefined ? {} : { deadline }),
    });
  } catch (error) {
    deps.metrics?.count('QueueDrainFailures');
    deps.logger.warn('the next queued recovery could not be started; the reconciler will', {
      workspaceId: input.workspaceId,
      ticketId: input.ticketId,
      error: describeError(error),
    });
  }
}

/** A state for an execution that failed before its first task produced one. */
async function initialState(input: RecoveryState['input'], deps: WorkflowDeps): Promise<RecoveryState> {
  const now = deps.clock();
  return {
    input,
    attempt: 1,
    startedAt: now,
    deadlineAt: now,
    phase: 'remediate',
    outcome: 'escalate',
    wait: { seconds: 1 },
  };
}
