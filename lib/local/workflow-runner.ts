/**
 * Runs the REAL `state-machines/recovery.asl.json` locally with aws-local-stepfunctions: every Task
 * state is bound to the real task handler (`runTask`), Wait states and retry pauses are shortened by
 * `timeScale`, and the workflow's clock runs `timeScale` times faster so that health-check windows
 * and deadlines keep their meaning. Implements WorkflowStarter and WorkflowInspector, so the intake,
 * local mode and the poller's reconciler use it exactly like Step Functions.
 *
 * ```ts
 * const runner = createLocalWorkflowRunner({ deps: { tickets, breakers, restores, databricks, logger }, timeScale: 60 });
 * await runner.start('RCA-20250102-001', input);   // returns at once; the execution runs in the background
 * await runner.wait('RCA-20250102-001');           // → { status: 'SUCCEEDED', output: {...} }
 * ```
 */
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import type {
  ExecutionDescription,
  ExecutionStatus,
  RecoveryInput,
  WorkflowInspector,
  WorkflowStarter,
} from '../../functions/core/incident.ts';
import { MemoryNotifier, type Notifier } from '../../functions/shared/notify.ts';
import type { WorkflowDatabricks, WorkflowDeps } from '../../functions/workflow/deps.ts';
import { runTask } from '../../functions/workflow/tasks.ts';
import { RECOVERY_DEFINITION_PATH } from '../state-machine-definitions.ts';

/** What `${RecoveryTaskFunctionArn}` becomes locally; never invoked (every Task is bound to a local handler). */
export const LOCAL_TASK_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:recovery-task-local';
/** The state machine's ARN locally: what `$$.StateMachine.Id` gives the Close and Escalate tasks. */
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:recovery-local';

/** The task dependencies; the clock and the notifier have local defaults. */
export interface LocalWorkflowDeps extends Omit<WorkflowDeps, 'clock' | 'databricks' | 'notifier'> {
  /** A client per workspace: a function, or anything with `get(id)` such as `WorkspaceClients`. */
  readonly databricks:
    | ((workspaceId: string) => WorkflowDatabricks)
    | { get(workspaceId: string): WorkflowDatabricks };
  /** @default a MemoryNotifier that logs each message */
  readonly notifier?: Notifier;
  /** @default a clock running `timeScale` times faster than real time */
  readonly clock?: () => number;
}

export interface LocalWorkflowRunnerOptions {
  readonly deps: LocalWorkflowDeps;
  /**
   * Simulated seconds per real second: a Wait of `s` seconds lasts `s / timeScale` real seconds,
   * retry pauses likewise, and the workflow clock runs this much faster. Use the simulator's factor.
   * @default 1 (real time)
   */
  readonly timeScale?: number;
  /** @default RECOVERY_DEFINITION_PATH */
  readonly definitionPath?: string;
  /** Called once per execution when it ends. */
  readonly onFinish?: (name: string, description: ExecutionDescription) => void;
  /**
   * The ARN the context object gives as `$$.StateMachine.Id` (aws-local-stepfunctions takes the
   * context object from its caller), and the prefix of the executions' ARNs.
   * @default LOCAL_STATE_MACHINE_ARN
   */
  readonly stateMachineArn?: string;
}

/** One local execution, with the states it entered (each is one billed transition on AWS). */
export interface LocalExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly input: RecoveryInput;
  readonly startDate: number;
  status: ExecutionStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  stopDate?: number;
  /** Names of the states entered, in order. */
  readonly states: string[];
  /** Task retries made by the state machine (`Retry`), per state. */
  readonly retries: Record<string, number>;
  readonly done: Promise<ExecutionDescription>;
  abort(): void;
}

interface AslState {
  readonly Type: string;
  readonly Seconds?: number;
  readonly SecondsPath?: string;
  readonly Retry?: readonly { readonly IntervalSeconds?: number }[];
}

interface AslDefinition {
  readonly States: Readonly<Record<string, AslState>>;
}

/** Substitutes `${Name}` placeholders the way CloudFormation's DefinitionSubstitutions do. */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`the definition uses \${${key}}, which has no local value`);
    return value;
  });
}

/** Reads the definition and replaces its placeholders with local ARNs. */
export function loadLocalDefinition(path = RECOVERY_DEFINITION_PATH): Record<string, unknown> {
  return JSON.parse(
    substitute(readFileSync(path, 'utf8'), { RecoveryTaskFunctionArn: LOCAL_TASK_FUNCTION_ARN }),
  );
}

export class LocalWorkflowRunner implements WorkflowStarter, WorkflowInspector {
  /** Where messages go when no notifier was given (and the one given otherwise). */
  readonly notifier: Notifier;
  readonly timeScale: number;
  /** What `$$.StateMachine.Id` is in this runner's executions. */
  readonly stateMachineArn: string;
  readonly #deps: WorkflowDeps;
  readonly #definition: AslDefinition;
  readonly #machine: StateMachine;
  readonly #executions = new Map<string, LocalExecution>();
  readonly #onFinish: LocalWorkflowRunnerOptions['onFinish'];

  constructor(options: LocalWorkflowRunnerOptions) {
    const timeScale = options.timeScale ?? 1;
    if (!Number.isFinite(timeScale) || timeScale <= 0)
      throw new RangeError('timeScale must be a positive number');
    this.timeScale = timeScale;
    this.stateMachineArn = options.stateMachineArn ?? LOCAL_STATE_MACHINE_ARN;
    const { databricks, notifier, clock, ...rest } = options.deps;
    this.notifier =
      notifier ??
      new MemoryNotifier((subject, message) =>
        rest.logger.info('notification', { subject, outcome: message.outcome, ticketId: message.ticketId }),
      );
    const origin = Date.now();
    this.#deps = {
      ...rest,
      databricks: typeof databricks === 'function' ? databricks : (id) => databricks.get(id),
      notifier: this.notifier,
      clock: clock ?? (() => Math.floor(origin + (Date.now() - origin) * timeScale)),
    };
    const definition = loadLocalDefinition(options.definitionPath);
    this.#definition = definition as unknown as AslDefinition;
    this.#machine = new StateMachine(definition as never);
    this.#onFinish = options.onFinish;
  }

  async start(name: string, input: RecoveryInput): Promise<{ executionId: string; alreadyStarted: boolean }> {
    const existing = this.#executions.get(name);
    if (existing !== undefined) return { executionId: existing.executionArn, alreadyStarted: true };
    const execution = this.#run(name, input);
    this.#executions.set(name, execution);
    return { executionId: execution.executionArn, alreadyStarted: false };
  }

  async describe(executionName: string): Promise<ExecutionDescription> {
    const execution = this.#executions.get(executionName);
    return execution === undefined ? { status: 'NOT_FOUND' } : describeExecution(execution);
  }

  /** Resolves when the execution has ended (NOT_FOUND at once for an unknown name). */
  async wait(executionName: string): Promise<ExecutionDescription> {
    const execution = this.#executions.get(executionName);
    return execution === undefined ? { status: 'NOT_FOUND' } : execution.done;
  }

  execution(executionName: string): LocalExecution | undefined {
    return this.#executions.get(executionName);
  }

  /** State transitions of an execution so far: the states it entered (Standard workflows bill these). */
  transitions(executionName: string): number {
    return this.#executions.get(executionName)?.states.length ?? 0;
  }

  /** Aborts every running execution and waits for them to stop. */
  async close(): Promise<void> {
    const running = [...this.#executions.values()].filter((execution) => execution.status === 'RUNNING');
    for (const execution of running) execution.abort();
    await Promise.all(running.map((execution) => execution.done));
  }

  #run(name: string, input: RecoveryInput): LocalExecution {
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const run = this.#machine.run(input as never, {
      overrides: this.#overrides(input),
      noThrowOnAbort: true,
      // aws-local-stepfunctions fills in only Execution.Input and StartTime; the rest is ours to give.
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: 'arn:aws:iam::000000000000:role/local' },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineArn.split(':').at(-1) },
      },
    });
    const states: string[] = [];
    const retries: Record<string, number> = {};
    const events = recordEvents(run.eventLogs, states, retries);
    const execution: LocalExecution = {
      name,
      executionArn,
      input,
      startDate: Date.now(),
      status: 'RUNNING',
      states,
      retries,
      abort: () => run.abort(),
      done: undefined as unknown as Promise<ExecutionDescription>,
    };
    (execution as { done: Promise<ExecutionDescription> }).done = settle(execution, run.result)
      .then(() => events)
      .then(() => this.#finish(execution));
    return execution;
  }

  /** Every Task bound to `runTask`; Waits and retry pauses shortened by `timeScale`. */
  #overrides(input: RecoveryInput) {
    let lastTaskOutput: unknown = input;
    const handlers: Record<string, (value: never) => Promise<never>> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number[]> = {};
    for (const [stateName, state] of Object.entries(this.#definition.States)) {
      if (state.Type === 'Task') {
        handlers[stateName] = async (value: never) => {
          const output = await runTask(value, this.#deps);
          lastTaskOutput = output;
          return output as never;
        };
        if (state.Retry !== undefined && this.timeScale !== 1) {
          retries[stateName] = state.Retry.map(
            (retrier) => ((retrier.IntervalSeconds ?? 1) * 1000) / this.timeScale,
          );
        }
      }
      if (state.Type === 'Wait' && this.timeScale !== 1) {
        // Read when the Wait starts: its input is the output of the Task before it (Choice states pass it on).
        Object.defineProperty(waits, stateName, {
          enumerable: true,
          get: () => (waitSeconds(state, lastTaskOutput) * 1000) / this.timeScale,
        });
      }
    }
    return {
      taskResourceLocalHandlers: handlers as never,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    };
  }

  /** Logs the end of an execution and tells `onFinish`. */
  #finish(execution: LocalExecution): ExecutionDescription {
    execution.stopDate = Date.now();
    const description = describeExecution(execution);
    this.#deps.logger.info('recovery workflow finished', {
      executionName: execution.name,
      status: description.status,
      transitions: execution.states.length,
      ...(execution.error === undefined ? {} : { error: execution.error }),
    });
    this.#onFinish?.(execution.name, description);
    return description;
  }
}

/** Collects the states an execution enters and the retries it makes, until its event log ends. */
async function recordEvents(
  eventLogs: ReturnType<StateMachine['run']>['eventLogs'],
  states: string[],
  retries: Record<string, number>,
): Promise<void> {
  for await (const event of eventLogs) {
    if (event.type === 'StateEntered') states.push(event.state.name);
    if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
  }
}

/** Sets the execution's status and output, or its error and cause, once its result is in. */
function settle(execution: LocalExecution, result: Promise<unknown>): Promise<void> {
  return result.then(
    (output) => {
      if (output === null && execution.status === 'RUNNING') {
        execution.status = 'ABORTED';
      } else {
        execution.status = 'SUCCEEDED';
        execution.output = output;
      }
    },
    (error: unknown) => {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      execution.status = (error as Error)?.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
      execution.error = cause instanceof Error ? cause.name : 'Error';
      execution.cause = cause instanceof Error ? cause.message : String(cause);
    },
  );
}

/** The one way to build a local runner: deps in, a WorkflowStarter + WorkflowInspector out. */
export function createLocalWorkflowRunner(options: LocalWorkflowRunnerOptions): LocalWorkflowRunner {
  return new LocalWorkflowRunner(options);
}

function describeExecution(execution: LocalExecution): ExecutionDescription {
  return {
    status: execution.status,
    ...(execution.output === undefined ? {} : { output: execution.output }),
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(execution.cause === undefined ? {} : { cause: execution.cause }),
    ...(execution.stopDate === undefined ? {} : { stopDate: execution.stopDate }),
  };
}

/** The seconds a Wait state would wait for this input (`Seconds`, or a `$.a.b` SecondsPath). */
function waitSeconds(state: AslState, input: unknown): number {
  if (state.Seconds !== undefined) return state.Seconds;
  const path = state.SecondsPath;
  if (path === undefined || !/^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) {
    throw new Error(`the local runner supports Seconds and simple SecondsPath ($.a.b) only, not ${path}`);
  }
  let value: unknown = input;
  for (const key of path.slice(2).split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${path} is ${JSON.stringify(value)}, not a number of seconds`);
  }
  return value;
}
