import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type {
  ExecutionDescription,
  ExecutionStatus,
  RecoveryInput,
  WorkflowInspector,
  WorkflowStarter,
} from '../core/incident.ts';

/**
 * Starts the recovery state machine. The execution name derives from the ticket id, so a second
 * start for the same ticket (a retried delivery, the reconciler) is recognised instead of duplicated.
 */
export class StepFunctionsWorkflowStarter implements WorkflowStarter, WorkflowInspector {
  readonly #client: Pick<SFNClient, 'send'>;
  readonly #stateMachineArn: string;

  constructor(client: Pick<SFNClient, 'send'>, stateMachineArn: string) {
    this.#client = client;
    this.#stateMachineArn = stateMachineArn;
  }

  async start(name: string, input: RecoveryInput): Promise<{ executionId: string; alreadyStarted: boolean }> {
    try {
      const out = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return { executionId: out.executionArn ?? this.executionArn(name), alreadyStarted: false };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
        return { executionId: this.executionArn(name), alreadyStarted: true };
      }
      throw error;
    }
  }

  async describe(executionName: string): Promise<ExecutionDescription> {
    try {
      const out = await this.#client.send(
        new DescribeExecutionCommand({ executionArn: this.executionArn(executionName) }),
      );
      return {
        status: (out.status ?? 'RUNNING') as ExecutionStatus,
        ...(out.output === undefined ? {} : { output: JSON.parse(out.output) as unknown }),
        ...(out.error === undefined ? {} : { error: out.error }),
        ...(out.cause === undefined ? {} : { cause: out.cause }),
        ...(out.stopDate === undefined ? {} : { stopDate: out.stopDate.getTime() }),
      };
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist || (error as Error).name === 'ExecutionDoesNotExist') {
        return { status: 'NOT_FOUND' };
      }
      throw error;
    }
  }

  /** `arn:…:stateMachine:<sm>` → `arn:…:execution:<sm>:<name>`. */
  executionArn(name: string): string {
    return `${this.#stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }
}
