import type {
  ExecutionDescription,
  RecoveryInput,
  WorkflowInspector,
  WorkflowStarter,
} from '../../functions/core/incident.ts';

export interface RecordedStart {
  readonly name: string;
  readonly input: RecoveryInput;
  readonly at: number;
}

/**
 * A stand-in for Step Functions' StartExecution in local mode and tests, with the one behaviour the
 * intake relies on: a second start under the same execution name does not start anything.
 */
export class RecordingWorkflowStarter implements WorkflowStarter, WorkflowInspector {
  /** Outcomes tests assign to recorded executions; a recorded one without is RUNNING. */
  readonly outcomes = new Map<string, ExecutionDescription>();
  readonly starts: RecordedStart[] = [];
  /** Makes the next N starts fail, as an unavailable Step Functions would. */
  failNext = 0;
  readonly #names = new Set<string>();

  async start(name: string, input: RecoveryInput): Promise<{ executionId: string; alreadyStarted: boolean }> {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('Step Functions is unavailable (simulated)'), {
        name: 'ServiceUnavailable',
      });
    }
    const executionId = `local:execution:recovery:${name}`;
    if (this.#names.has(name)) return { executionId, alreadyStarted: true };
    this.#names.add(name);
    this.starts.push({ name, input, at: Date.now() });
    return { executionId, alreadyStarted: false };
  }

  async describe(executionName: string): Promise<ExecutionDescription> {
    if (!this.#names.has(executionName)) return { status: 'NOT_FOUND' };
    return this.outcomes.get(executionName) ?? { status: 'RUNNING' };
  }
}
