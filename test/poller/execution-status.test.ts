import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { StepFunctionsWorkflowStarter } from '../../functions/shared/recovery-starter.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:recovery';

/** A Step Functions client that answers every DescribeExecution with `status`. */
function describing(status: string | undefined) {
  const calls: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      calls.push(command);
      return { status, stopDate: undefined };
    },
  };
  return { starter: new StepFunctionsWorkflowStarter(client as never, STATE_MACHINE_ARN), calls };
}

describe('StepFunctionsWorkflowStarter.describe', () => {
  it.each([
    ['RUNNING', 'RUNNING'],
    ['PENDING_REDRIVE', 'RUNNING'],
    ['SUCCEEDED', 'SUCCEEDED'],
    ['FAILED', 'FAILED'],
    ['TIMED_OUT', 'TIMED_OUT'],
    ['ABORTED', 'ABORTED'],
    ['A_STATUS_ADDED_LATER', 'RUNNING'],
  ])('reports an execution %s as %s', async (sfnStatus, expected) => {
    // Prepare
    const { starter, calls } = describing(sfnStatus);

    // Act
    const described = await starter.describe('ticket-1');

    // Assess
    expect(described.status).toBe(expected);
    expect(calls[0]).toBeInstanceOf(DescribeExecutionCommand);
  });
});
