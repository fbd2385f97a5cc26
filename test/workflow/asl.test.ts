import { readFileSync } from 'node:fs';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { OUTCOMES, STEPS } from '../../functions/workflow/model.ts';
import { Notifications } from '../../lib/constructs/notifications.ts';
import { RecoveryWorkflow } from '../../lib/constructs/recovery-workflow.ts';
import { Storage } from '../../lib/constructs/storage.ts';
import { loadLocalDefinition } from '../../lib/local/workflow-runner.ts';
import { RECOVERY_DEFINITION_PATH } from '../../lib/state-machine-definitions.ts';
import { testApp, testRegistry } from '../infra/cdk-app.ts';

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly TimeoutSeconds?: number;
  readonly SecondsPath?: string;
  readonly Choices?: readonly {
    readonly Variable: string;
    readonly StringEquals?: string;
    readonly Next: string;
  }[];
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[]; readonly MaxAttempts?: number }[];
  readonly Catch?: readonly {
    readonly ErrorEquals: readonly string[];
    readonly Next: string;
    readonly ResultPath?: string;
  }[];
}

const TEXT = readFileSync(RECOVERY_DEFINITION_PATH, 'utf8');
const DEFINITION = JSON.parse(TEXT) as {
  StartAt: string;
  QueryLanguage?: string;
  States: Record<string, AslState>;
};
const STATES = Object.entries(DEFINITION.States);
const TASKS = STATES.filter(([, state]) => state.Type === 'Task');
/** Where every failure goes: the escalation task, and the Fail state it falls back on. */
const ESCALATION_PATH = new Set(['Escalate', 'EscalationFailed']);
// biome-ignore lint/suspicious/noTemplateCurlyInString: the ASL placeholder, substituted by CloudFormation
const TASK_FUNCTION_PLACEHOLDER = '${RecoveryTaskFunctionArn}';
/** Lambda service errors, retried at once. */
const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.TooManyRequestsException'];
/**
 * Failures of the task itself worth another try: TransientError from the handlers, and a Lambda that
 * hit its own timeout, which Step Functions reports as Lambda.Unknown or Sandbox.Timedout (the
 * function times out before the Task's TimeoutSeconds, so States.Timeout is only a backstop).
 */
const TASK_FAILURES = ['TransientError', 'Lambda.Unknown', 'Sandbox.Timedout', 'States.Timeout'];

function successors(state: AslState): string[] {
  return [
    ...(state.Next === undefined ? [] : [state.Next]),
    ...(state.Default === undefined ? [] : [state.Default]),
    ...(state.Choices ?? []).map((choice) => choice.Next),
    ...(state.Catch ?? []).map((catcher) => catcher.Next),
  ];
}

describe('the recovery state machine definition', () => {
  it('substitutes every placeholder with the CDK construct, and has no substitution it does not use', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const storage = new Storage(stack, 'Storage');
    new RecoveryWorkflow(stack, 'RecoveryWorkflow', {
      storage,
      notifications: new Notifications(stack, 'Notifications'),
      workspaces: testRegistry(stack, storage),
    });

    // Act
    const [resource] = Object.values(
      Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'),
    );

    // Assess
    const placeholders = [
      ...new Set([...TEXT.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1])),
    ].sort();
    expect(placeholders.length).toBeGreaterThan(0);
    expect(Object.keys(resource?.Properties.DefinitionSubstitutions ?? {}).sort()).toEqual(placeholders);
  });

  it('is JSONPath, which the local runner supports, and a definition aws-local-stepfunctions accepts', () => {
    // Act
    const build = () => new StateMachine(loadLocalDefinition() as never);

    // Assess
    expect(DEFINITION.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(build).not.toThrow();
  });

  it.each(TASKS)('retries the transient errors of Task %s', (_name, state) => {
    // Act
    const retried = (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
    const transient = (state.Retry ?? []).find((retrier) => retrier.ErrorEquals.includes('TransientError'));

    // Assess
    expect(retried).toEqual(expect.arrayContaining(LAMBDA_SERVICE_ERRORS));
    expect(transient?.ErrorEquals).toEqual(expect.arrayContaining(TASK_FAILURES));
    expect(retried).not.toContain('States.ALL');
    for (const retrier of state.Retry ?? []) expect(retrier.MaxAttempts ?? 3).toBeGreaterThanOrEqual(3);
  });

  it('lets the task function time out before its Task state does', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Timeouts');
    const storage = new Storage(stack, 'Storage');
    const workflow = new RecoveryWorkflow(stack, 'RecoveryWorkflow', {
      storage,
      notifications: new Notifications(stack, 'Notifications'),
      workspaces: testRegistry(stack, storage),
    });

    // Act
    const functionTimeout = workflow.taskFunction.lambdaFunction.timeout?.toSeconds() ?? 3;

    // Assess: a Lambda timeout then surfaces as Sandbox.Timedout / Lambda.Unknown, which is retried.
    for (const [, state] of TASKS)
      expect(state.TimeoutSeconds ?? 99_999_999).toBeGreaterThan(functionTimeout);
  });

  it.each(TASKS)(
    'catches every error of Task %s into the escalation path, keeping the state',
    (_name, state) => {
      // Act
      const catchers = state.Catch ?? [];

      // Assess
      expect(catchers.flatMap((catcher) => catcher.ErrorEquals)).toContain('States.ALL');
      for (const catcher of catchers) {
        expect(ESCALATION_PATH.has(catcher.Next)).toBe(true);
        expect(catcher.ResultPath).toBe('$.error');
      }
    },
  );

  it.each(TASKS)(
    'invokes the task function from Task %s with a known step and the whole state',
    (_name, state) => {
      // Assess
      expect(state.Resource).toBe(TASK_FUNCTION_PLACEHOLDER);
      expect(STEPS).toContain(state.Parameters?.step);
      expect(state.Parameters?.['state.$']).toBe('$');
      expect(state.TimeoutSeconds).toBeLessThanOrEqual(900);
    },
  );

  it.each(
    TASKS.map(([name, state]) => {
      const finishes = state.Parameters?.step === 'close' || state.Parameters?.step === 'escalate';
      return [name, finishes ? 'it finishes the recovery' : 'not', state] as const;
    }),
  )('passes the state machine ARN from the context object to Task %s if %s', (_name, finishes, state) => {
    // Assess: Close and Escalate start the next queued recovery on the state machine they run on.
    expect(state.Parameters?.['stateMachineArn.$']).toBe(
      finishes === 'not' ? undefined : '$$.StateMachine.Id',
    );
  });

  it('uses every step of the task function', () => {
    // Act
    const used = new Set(TASKS.map(([, state]) => state.Parameters?.step));

    // Assess
    expect([...used].sort()).toEqual([...STEPS].sort());
  });

  it('routes only on outcomes the task handlers return, and sends any other to the escalation path', () => {
    // Act
    const choices = STATES.filter(([, state]) => state.Type === 'Choice');

    // Assess
    expect(choices.length).toBeGreaterThan(0);
    for (const [, choice] of choices) {
      for (const rule of choice.Choices ?? []) {
        expect(rule.Variable).toBe('$.outcome');
        expect(OUTCOMES).toContain(rule.StringEquals);
      }
      expect(ESCALATION_PATH.has(choice.Default ?? '')).toBe(true);
    }
  });

  it('waits in Wait states for the seconds the handlers chose, never in a Lambda', () => {
    // Act
    const waits = STATES.filter(([, state]) => state.Type === 'Wait');

    // Assess
    expect(waits.map(([name]) => name).sort()).toEqual(['WaitBeforeRemediation', 'WaitForCluster']);
    for (const [, wait] of waits) expect(wait.SecondsPath).toBe('$.wait.seconds');
  });

  it('reaches every state from StartAt, and every path ends', () => {
    // Prepare
    const seen = new Set<string>();
    const queue = [DEFINITION.StartAt];

    // Act
    while (queue.length > 0) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const state = DEFINITION.States[name];
      expect(state, `state ${name}`).toBeDefined();
      queue.push(...successors(state as AslState));
    }

    // Assess
    expect([...seen].sort()).toEqual(Object.keys(DEFINITION.States).sort());
    const ends = STATES.filter(
      ([, state]) => state.End === true || state.Type === 'Succeed' || state.Type === 'Fail',
    ).map(([name]) => name);
    expect(ends.sort()).toEqual(['AlreadyResolved', 'Close', 'Escalate', 'EscalationFailed']);
  });
});
