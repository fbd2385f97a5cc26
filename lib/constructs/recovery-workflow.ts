import { readFileSync } from 'node:fs';
import { Duration, Names, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RECOVERY_DEFINITION_PATH } from '../state-machine-definitions.ts';
import type { IntakeBreakerConfig } from './intake-api.ts';
import type { Notifications } from './notifications.ts';
import { RecoveryFunction } from './recovery-function.ts';
import { settingsEnvironment } from './settings.ts';
import { grantExecutionRole } from './state-machine-role.ts';
import type { Storage } from './storage.ts';
import type { WorkspaceRegistry } from './workspace-registry.ts';

/** Properties of {@link RecoveryWorkflow}. */
export interface RecoveryWorkflowProps {
  /** The table the tickets and breakers live in. */
  readonly storage: Storage;

  /** The topic recoveries, escalations and the workflow's alarms are announced on. */
  readonly notifications: Notifications;

  /** The workspace registry: the workspaces the workflow may act on, and their credentials. */
  readonly workspaces: WorkspaceRegistry;

  /**
   * A secret holding a Slack incoming webhook URL (the URL itself, or `{"webhookUrl": "…"}`).
   * @default - notifications go to the SNS topic only
   */
  readonly slackWebhookSecret?: ISecret;

  /**
   * Circuit breaker settings (`BREAKER_CONFIG`): must match the intake's, since the intake checks
   * the breakers the workflow records on.
   * @default - the defaults of `functions/core/breaker.ts`
   */
  readonly breakerConfig?: IntakeBreakerConfig;

  /**
   * Whether recoveries are started at all (`AUTO_REMEDIATION_ENABLED`): the task function starts the
   * queued recoveries a finished one's slot frees. Give the intake and the poller the same.
   * @default true
   */
  readonly autoRemediationEnabled?: boolean;

  /**
   * Playbook overrides keyed by error type (`PLAYBOOK_OVERRIDES`), validated at synthesis: the queued
   * recoveries the task function starts run with them. Give the intake and the poller the same ones.
   * @default - the default playbooks
   */
  readonly playbookOverrides?: Readonly<Record<string, unknown>>;

  /**
   * How long the state machine's execution history log and the task function's logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The recovery workflow: a Standard state machine defined by `state-machines/recovery.asl.json`
 * (remediate → wait → verify → close, retry with back-off, or escalate) and the one task function
 * every Task state invokes. The state machine logs every event to its own log group, is traced
 * with X-Ray, may invoke exactly the task function, and raises alarms on the notification topic
 * when an execution fails or times out.
 */
export class RecoveryWorkflow extends Construct {
  /** The state machine; the intake and the poller start executions named after ticket ids. */
  public readonly stateMachine: StateMachine;

  /** The function behind every Task state (`{ step, state }` in, the next state out). */
  public readonly taskFunction: RecoveryFunction;

  /**
   * The state machine's execution role. Grant it more here (`addToPrincipalPolicy`): the
   * state machine's own `role` property is a read-only view of it.
   */
  public readonly role: Role;

  /** Where the state machine logs its executions (level ALL, with execution data). */
  public readonly logGroup: LogGroup;

  /**
   * Lets the task function start executions of this state machine, and nothing else: Close and
   * Escalate start the workspace's next queued recoveries when they give a slot of the cap back.
   */
  public readonly startQueuedPolicy: Policy;

  /** Fires when an execution fails: its ticket may be left unresolved until the reconciler runs. */
  public readonly failedAlarm: Alarm;

  /** Fires when an execution hits the state machine's TimeoutSeconds. */
  public readonly timedOutAlarm: Alarm;

  /** What each `${Placeholder}` of the definition becomes. */
  public readonly definitionSubstitutions: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: RecoveryWorkflowProps) {
    super(scope, id);

    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;

    this.taskFunction = new RecoveryFunction(this, 'TaskFunction', {
      entry: 'functions/handlers/workflow.ts',
      description:
        'Runs the steps of the recovery workflow: remediate, check health, restore, close, escalate',
      // Databricks calls stop 5 s before this. The Task state's own timeout (90 s) is longer, so a
      // function that runs out of time reaches the state machine as Sandbox.Timedout / Lambda.Unknown,
      // which every Task retries (States.Timeout is only the backstop of a hung invocation).
      timeout: Duration.seconds(60),
      logRetention,
      synchronousCaller: 'the recovery state machine (Task states with Retry and Catch)',
      // What the start path of a queued recovery decides with, as the intake and the poller do.
      environment: settingsEnvironment(this, props),
    });
    const fn = this.taskFunction.lambdaFunction;
    props.storage.grantReadWriteData(fn);
    props.notifications.grantPublish(fn);
    props.workspaces.grantCredentials(this.taskFunction, 'act');
    if (props.slackWebhookSecret !== undefined) {
      fn.addEnvironment('SLACK_WEBHOOK_SECRET_ARN', props.slackWebhookSecret.secretArn);
      props.slackWebhookSecret.grantRead(fn);
    }

    // Under /aws/vendedlogs/ so that log delivery does not grow the account's CloudWatch Logs resource
    // policy (capped at 5,120 characters) with every deployment; named after the stack, so two
    // deployments never collide.
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${Names.uniqueId(this).slice(-24)}`,
      retention: logRetention,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.definitionSubstitutions = { RecoveryTaskFunctionArn: fn.functionArn };
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: 'Databricks cluster recovery: remediate, wait, verify, close or escalate',
      definitionBody: DefinitionBody.fromString(readFileSync(RECOVERY_DEFINITION_PATH, 'utf8')),
      definitionSubstitutions: { ...this.definitionSubstitutions },
      stateMachineType: StateMachineType.STANDARD,
      // The statements CDK would add for logging and tracing are granted below, each in a policy of
      // its own, so that nothing lands in a default policy whose wildcard is acknowledged.
      role: this.role.withoutPolicyUpdates(),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });
    grantExecutionRole(this, this.role, fn, this.stateMachine);

    // The function cannot name the state machine in its environment (the definition names the
    // function: a cycle), so Close and Escalate pass `$$.StateMachine.Id` in the task event. The grant
    // names this one state machine, in a policy of its own that nothing the state machine needs waits for.
    this.startQueuedPolicy = new Policy(this, 'StartQueuedRecoveriesPolicy', {
      roles: [this.taskFunction.role],
      statements: [
        new PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [this.stateMachine.stateMachineArn],
        }),
      ],
    });

    this.failedAlarm = this.alarm(
      'ExecutionsFailedAlarm',
      'ExecutionsFailed',
      'A recovery execution failed; its ticket may be left unresolved until the poller reconciles it',
    );
    this.timedOutAlarm = this.alarm(
      'ExecutionsTimedOutAlarm',
      'ExecutionsTimedOut',
      'A recovery execution timed out; its ticket may be left unresolved until the poller reconciles it',
    );
    props.notifications.sendAlarms([this.failedAlarm, this.timedOutAlarm]);
  }

  private alarm(
    id: string,
    metricName: 'ExecutionsFailed' | 'ExecutionsTimedOut',
    description: string,
  ): Alarm {
    const metric =
      metricName === 'ExecutionsFailed'
        ? this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' })
        : this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' });
    return new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
