import type { SFNClient } from '@aws-sdk/client-sfn';
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
    // Loaded when first needed, like the client (see functions/shared/aws-sfn.ts).
    const { StartExecutionCommand } = await import('@aws-sdk/client-sfn');
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
      if ((error as Error).name === 'ExecutionAlreadyExists') {
        return { executionId: this.executionArn(name), alreadyStarted: true };
      }
      throw error;
    }
  }

  async describe(executionName: string): Promise<ExecutionDescription> {
    const { DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
    try {
      const out = await this.#client.send(
        new DescribeExecutionCommand({ executionArn: this.executionArn(executionName) }),
      );
      return {
        status: executionStatus(out.status),
        ...(out.output === undefined ? {} : { output: JSON.parse(out.output) as unknown }),
        ...(out.error === undefined ? {} : { error: out.error }),
        ...(out.cause === undefined ? {} : { cause: out.cause }),
        ...(out.stopDate === undefined ? {} : { stopDate: out.stopDate.getTime() }),
      };
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') {
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

const ENDED: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * The reconciler's view of a Step Functions status. PENDING_REDRIVE is an execution about to run
 * again, and a status added to the API later is not taken for an ended (or missing) execution:
 * both count as RUNNING, so the ticket is left to its workflow and looked at again next run.
 */
function executionStatus(status: string | undefined): ExecutionStatus {
  return status !== undefined && ENDED.has(status) ? (status as ExecutionStatus) : 'RUNNING';
}
