/**
 * Runs the REAL `state-machines/poll.asl.json` locally with aws-local-stepfunctions: its three Task
 * states are bound to the poll function's steps (`runPollStep`), each call an "invocation" with its
 * own time budget, as Lambda gives one. Local mode's schedule, the isolation tests and the benchmark
 * run the poll through it, so they exercise the same Map, retries and catches as AWS.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import {
  type PollStepDeps,
  type RunSummary,
  runPollStep,
  type WorkspaceStepResult,
} from '../../functions/poller/steps.ts';
import { substitute } from './workflow-runner.ts';

/** The state machine definition the CDK construct deploys. */
export const POLL_ASL_PATH = fileURLToPath(new URL('../../state-machines/poll.asl.json', import.meta.url));

/** What `${PollFunctionArn}` becomes locally; never invoked (every Task is bound to a local handler). */
const LOCAL_POLL_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:poll-local';

export interface LocalPollOptions {
  /** The Map's MaxConcurrency. @default the definition's */
  readonly maxConcurrency?: number;
  /** One invocation's time budget (the function's timeout), ms. @default 290_000 */
  readonly invocationTimeoutMs?: number;
  /** Pause before a Task's retry, ms (the definition's intervals are seconds). @default 0 */
  readonly retryDelayMs?: number;
  /**
   * Runs a step in place of `runPollStep` (the benchmark runs each workspace in a process of its
   * own); it receives the step's input and the in-process runner.
   */
  readonly invoke?: (input: unknown, inProcess: (input: unknown) => Promise<unknown>) => Promise<unknown>;
}

export interface LocalPollRun {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** The Reconcile step's output, when the execution succeeded. */
  readonly summary?: RunSummary;
  /** The Map's results, one per workspace, in the registry's order. */
  readonly results: readonly (WorkspaceStepResult | { workspaceId: string; error: unknown })[];
  readonly error?: string;
  /** States entered, in order (Map iterations included). */
  readonly states: readonly string[];
  /** Task retries made by the state machine, per state name. */
  readonly retries: Readonly<Record<string, number>>;
}

export function loadPollDefinition(maxConcurrency?: number): Record<string, unknown> {
  const definition = JSON.parse(
    substitute(readFileSync(POLL_ASL_PATH, 'utf8'), { PollFunctionArn: LOCAL_POLL_FUNCTION_ARN }),
  ) as { States: Record<string, Record<string, unknown>> };
  if (maxConcurrency !== undefined) {
    const map = definition.States.PollWorkspaces;
    if (map !== undefined) map.MaxConcurrency = maxConcurrency;
  }
  return definition;
}

/** One execution of the poll workflow; resolves when it has ended. */
export async function runLocalPoll(
  deps: PollStepDeps,
  options: LocalPollOptions = {},
): Promise<LocalPollRun> {
  const timeoutMs = options.invocationTimeoutMs ?? 290_000;
  const inProcess = (input: unknown) => {
    const began = Date.now();
    return runPollStep(input, deps, () => began + timeoutMs - Date.now());
  };
  const invoke = async (input: unknown) =>
    (options.invoke === undefined ? inProcess(input) : options.invoke(input, inProcess)) as never;
  const definition = loadPollDefinition(options.maxConcurrency);
  const machine = new StateMachine(definition as never);
  let results: LocalPollRun['results'] = [];
  const delay = options.retryDelayMs ?? 0;
  const run = machine.run({} as never, {
    overrides: {
      taskResourceLocalHandlers: {
        ListWorkspaces: invoke,
        PollWorkspace: invoke,
        Reconcile: async (input: unknown) => {
          results = ((input as { results?: unknown[] }).results ?? []) as never;
          return invoke(input);
        },
      },
      retryIntervalOverrides: { ListWorkspaces: delay, PollWorkspace: delay, Reconcile: delay },
    },
    context: {
      Execution: {
        Id: 'arn:aws:states:us-east-1:000000000000:express:poll-local:run',
        Name: 'run',
        StartTime: new Date().toISOString(),
        RoleArn: 'arn:aws:iam::000000000000:role/local',
      },
    } as never,
  });
  const states: string[] = [];
  const retries: Record<string, number> = {};
  const events = (async () => {
    for await (const event of run.eventLogs) {
      if (event.type === 'StateEntered') states.push(event.state.name);
      if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
    }
  })();
  try {
    const summary = (await run.result) as unknown as RunSummary;
    await events;
    return { status: 'SUCCEEDED', summary, results, states, retries };
  } catch (error) {
    await events.catch(() => undefined);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return {
      status: 'FAILED',
      results,
      error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
      states,
      retries,
    };
  }
}
