import { readFileSync } from 'node:fs';
import { Arn, ArnFormat, Duration, Names, Stack, Validations } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  type IStateMachine,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PollerConfig } from '../../functions/poller/config.ts';
import { POLL_DEFINITION_PATH } from '../state-machine-definitions.ts';
import { alarm, functionMetric } from './alarms.ts';
import type { IntakeBreakerConfig } from './intake-api.ts';
import type { Notifications } from './notifications.ts';
import { RecoveryFunction } from './recovery-function.ts';
import { settingsEnvironment } from './settings.ts';
import { grantExecutionRole } from './state-machine-role.ts';
import type { Storage } from './storage.ts';
import type { WorkspaceRegistry } from './workspace-registry.ts';

/** Properties of {@link Poller}. */
export interface PollerProps {
  /** The workspace registry: the workspaces to poll, read at every run, and their credentials. */
  readonly workspaces: WorkspaceRegistry;

  /**
   * Workspaces polled at once by the workflow's Map, each in an invocation of its own.
   * @default 10
   */
  readonly maxConcurrency?: number;

  /** The table tickets, incidents, breakers and poll cursors live in. */
  readonly storage: Storage;

  /**
   * The recovery workflow the poller starts (and whose executions the reconciler reads). Without it
   * the function gets no Step Functions access and no `STATE_MACHINE_ARN`, and fails at cold start:
   * only for stacks whose workflow is not built yet.
   * @default - no workflow
   */
  readonly stateMachine?: IStateMachine;

  /**
   * Where the poller's alarms are announced.
   * @default - the alarms notify nobody; they are visible in CloudWatch only
   */
  readonly notifications?: Notifications;

  /**
   * How often the poller runs: a rate in whole minutes.
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;

  /**
   * Longest invocation (one workspace's poll). Shorter than the schedule; every invocation also
   * stops at the run's deadline, 20 s before the next run is due (an Express workflow ends within 5
   * minutes, so longer schedules still poll within 5 minutes).
   * @default - one minute less than the schedule, at most 285 seconds
   */
  readonly timeout?: Duration;

  /**
   * Memory, which also sets the CPU share that parses the cluster lists.
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * Whether recoveries are started at all (`AUTO_REMEDIATION_ENABLED`).
   * @default true
   */
  readonly autoRemediationEnabled?: boolean;

  /**
   * Playbook overrides keyed by error type (`PLAYBOOK_OVERRIDES`), validated at synthesis. Give the
   * intake the same ones.
   * @default - the default playbooks
   */
  readonly playbookOverrides?: Readonly<Record<string, unknown>>;

  /**
   * Circuit breaker settings (`BREAKER_CONFIG`), validated at synthesis. Give the intake and the
   * workflow the same ones.
   * @default - the defaults of `functions/core/breaker.ts`
   */
  readonly breakerConfig?: IntakeBreakerConfig;

  /**
   * Poller knobs (`POLLER_CONFIG`, durations in seconds: overlap, stuck threshold, reconcile batch
   * size, …; see `functions/poller/config.ts`), validated at synthesis.
   * @default - the defaults of `functions/poller/config.ts`
   */
  readonly pollerConfig?: PollerConfig;

  /**
   * How long the function's logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

// The function's Powertools settings, stated here so that the WorkspaceErrors and WorkspacesIncomplete
// alarms read the metrics the function writes.
const SERVICE_NAME = 'databricks-cluster-recovery';
const METRICS_NAMESPACE = 'DatabricksClusterRecovery';

/**
 * The poller: an EventBridge schedule (every 5 minutes by default) starting an Express poll workflow
 * (`state-machines/poll.asl.json`) that reads the workspace registry, polls each workspace in an
 * invocation of its own (a Map with bounded concurrency, per-workspace retries and results: lists
 * every cluster, tickets failures through the same path as the intake), then reconciles once tickets
 * whose recovery never started or ended without closing them. Alarms fire when a run fails, when the
 * poller stops running, and when a workspace keeps failing or falling behind.
 */
export class Poller extends Construct {
  /** The poll function: the workflow's three steps. */
  public readonly function: RecoveryFunction;

  /** The poll workflow (Express). */
  public readonly stateMachine: StateMachine;

  /** The poll workflow's execution log. */
  public readonly logGroup: LogGroup;

  /** What each `${Placeholder}` of the definition becomes. */
  public readonly definitionSubstitutions: Readonly<Record<string, string>>;

  /** The schedule that starts it. */
  public readonly rule: Rule;

  /** A run failed or timed out (no workspace could be polled, the registry could not be read). */
  public readonly errorsAlarm: Alarm;

  /** No run in three schedule periods: nothing detects cluster failures. */
  public readonly notRunningAlarm: Alarm;

  /** A workspace failed in three runs in a row (unreachable, credentials, 5xx). */
  public readonly workspaceErrorsAlarm: Alarm;

  /**
   * A workspace's poll was incomplete in three runs in a row: detection is falling behind (more
   * candidates than the event budget, runs out of time) or an item keeps failing until it is set aside.
   */
  public readonly workspacesIncompleteAlarm: Alarm;

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);
    const { period, minutes, timeout, maxConcurrency } = validSchedule(this, props);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;

    this.function = new RecoveryFunction(this, 'Function', {
      entry: 'functions/handlers/poller.ts',
      description:
        'The poll workflow: lists the workspaces, polls one workspace per invocation, reconciles unfinished recoveries',
      timeout,
      memorySize: props.memorySize ?? 512,
      synchronousCaller: 'the poll state machine (Task states with Retry and Catch)',
      logRetention,
      serviceName: SERVICE_NAME,
      metricsNamespace: METRICS_NAMESPACE,
      environment: {
        ...settingsEnvironment(this, props),
        POLL_PERIOD_SECONDS: String(Math.min(300, period.toSeconds())),
      },
    });
    const fn = this.function.lambdaFunction;
    props.storage.grantReadWriteData(fn);
    props.workspaces.grantCredentials(this.function, 'act');
    if (props.stateMachine !== undefined) this.grantRecoveries(props.stateMachine);

    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${Names.uniqueId(this).slice(-24)}`,
      retention: logRetention,
    });
    this.definitionSubstitutions = { PollFunctionArn: fn.functionArn };
    this.stateMachine = this.pollWorkflow(maxConcurrency);

    this.rule = this.schedule(period, minutes);

    this.errorsAlarm = alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'A poll run failed or timed out: no workspace could be polled, or the registry could not be read. Failures go undetected until a run succeeds.',
      metric: new MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ statistic: 'Sum' }),
          timedOut: this.stateMachine.metricTimedOut({ statistic: 'Sum' }),
        },
        period,
      }),
    });
    this.notRunningAlarm = alarm(this, 'NotRunningAlarm', {
      alarmDescription:
        'The poller has not run for three schedule periods: cluster failures are not being detected.',
      metric: this.stateMachine.metricStarted({ period: Duration.minutes(minutes * 3), statistic: 'Sum' }),
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data means no invocation at all: exactly what this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.workspaceErrorsAlarm = alarm(this, 'WorkspaceErrorsAlarm', {
      alarmDescription:
        'A Databricks workspace could not be polled in three runs in a row (unreachable, 5xx, or credentials); its failures are not being detected.',
      metric: functionMetric(METRICS_NAMESPACE, SERVICE_NAME, 'WorkspaceErrors', period),
      evaluationPeriods: 3,
    });
    this.workspacesIncompleteAlarm = alarm(this, 'WorkspacesIncompleteAlarm', {
      alarmDescription:
        'A Databricks workspace was polled incompletely in three runs in a row: detection is falling behind (more candidates than the event budget, runs out of time), or an item keeps failing and is about to be set aside. See the poller log for the workspace and its problems.',
      metric: functionMetric(METRICS_NAMESPACE, SERVICE_NAME, 'WorkspacesIncomplete', period),
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    });
    if (props.notifications !== undefined)
      props.notifications.sendAlarms([
        this.errorsAlarm,
        this.notRunningAlarm,
        this.workspaceErrorsAlarm,
        this.workspacesIncompleteAlarm,
      ]);
  }

  /** The Express poll workflow, with an execution role that may invoke only the poll function. */
  private pollWorkflow(maxConcurrency: number): StateMachine {
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    const stateMachine = new StateMachine(this, 'StateMachine', {
      comment:
        'Databricks cluster poll: every registered workspace in its own invocation, then the reconciler',
      definitionBody: DefinitionBody.fromString(pollDefinition(maxConcurrency)),
      definitionSubstitutions: { ...this.definitionSubstitutions },
      // Express: a run every 5 minutes costs per request and duration, not per state transition.
      stateMachineType: StateMachineType.EXPRESS,
      role: role.withoutPolicyUpdates(),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });
    grantExecutionRole(this, role, this.function.lambdaFunction, stateMachine);
    return stateMachine;
  }

  /**
   * Lets the function start recoveries on this one state machine and read back its executions, and
   * tells it which in `STATE_MACHINE_ARN`.
   */
  private grantRecoveries(stateMachine: IStateMachine): void {
    const fn = this.function.lambdaFunction;
    fn.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
    stateMachine.grantStartExecution(fn);

    // Execution names are ticket ids, unknown at deployment: the execution ARNs can only be named
    // with a wildcard, kept in a policy of its own and acknowledged for exactly that resource.
    const executionsArn = `${executionArnPrefix(stateMachine)}:*`;
    const executions = new Policy(this, 'DescribeRecoveriesPolicy', {
      roles: [this.function.role],
      statements: [
        new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionsArn] }),
      ],
    });
    Validations.of(executions).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenReference(Stack.of(this).resolve(executionsArn))}]`,
      reason:
        'The reconciler reads states:DescribeExecution of the executions of the one recovery state machine; their names are ticket ids, which do not exist at deployment. This policy holds nothing else.',
    });
  }

  /** The rule that starts the poll workflow every `period`. */
  private schedule(period: Duration, minutes: number): Rule {
    // The schedule is the retry: a failed or late run is not repeated, the next one does its work.
    const rule = new Rule(this, 'Schedule', {
      description: `Runs the Databricks cluster poll workflow every ${minutes} minute${minutes === 1 ? '' : 's'}`,
      schedule: Schedule.rate(period),
    });
    rule.addTarget(new SfnStateMachine(this.stateMachine, { retryAttempts: 0 }));
    const reason =
      'A scheduled poll carries no data worth keeping: the next run, one period later, lists every cluster again from the unmoved cursor, and incident keys make repeated work harmless. A failed or missing run is reported by the Errors and NotRunning alarms instead.';
    Validations.of(rule).acknowledge({ id: 'Serverless-EventBusDLQ', reason });
    return rule;
  }
}

/** The schedule, the timeout and the Map's concurrency, checked against each other at synthesis. */
function validSchedule(scope: Construct, props: PollerProps) {
  const path = scope.node.path;
  const period = props.schedule ?? Duration.minutes(5);
  const minutes = period.toMinutes({ integral: false });
  if (!Number.isInteger(minutes) || minutes < 1) {
    throw new Error(`${path}: schedule must be a whole number of minutes, at least 1`);
  }
  const timeout = props.timeout ?? Duration.seconds(Math.min(285, (minutes - 1) * 60 || 50));
  const maxConcurrency = props.maxConcurrency ?? 10;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 1000) {
    throw new Error(`${path}: maxConcurrency must be a whole number from 1 to 1000`);
  }
  if (timeout.toSeconds() >= period.toSeconds()) {
    throw new Error(
      `${path}: timeout (${timeout.toSeconds()} s) must be shorter than the schedule (${period.toSeconds()} s), so that runs do not overlap`,
    );
  }
  if (timeout.toSeconds() > 285) {
    throw new Error(`${path}: timeout must be at most 285 s, inside the Express workflow's 5 minutes`);
  }
  return { period, minutes, timeout, maxConcurrency };
}

/**
 * A resolved CloudFormation value as cdk-nag names it in a finding (`arn:<AWS::Partition>:…`,
 * `<Logical.Attribute>`), so that an acknowledgement names exactly one resource.
 */
function flattenReference(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    const join = node['Fn::Join'] as [string, unknown[]] | undefined;
    if (join !== undefined) return join[1].map(flattenReference).join(join[0]);
    if ('Fn::Sub' in node) return flattenReference(node['Fn::Sub']);
    const getAtt = node['Fn::GetAtt'] as [unknown, unknown] | undefined;
    if (getAtt !== undefined) return `<${flattenReference(getAtt[0])}.${flattenReference(getAtt[1])}>`;
    if ('Ref' in node) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

/** `arn:…:execution:<state machine name>`, the prefix of every execution ARN of `stateMachine`. */
function executionArnPrefix(stateMachine: IStateMachine): string {
  return Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The definition with the Map's MaxConcurrency set (the file holds the default, 10). */
function pollDefinition(maxConcurrency: number): string {
  const definition = JSON.parse(readFileSync(POLL_DEFINITION_PATH, 'utf8')) as {
    States: Record<string, Record<string, unknown>>;
  };
  const map = definition.States.PollWorkspaces;
  if (map === undefined) throw new Error('poll.asl.json has no PollWorkspaces state');
  map.MaxConcurrency = maxConcurrency;
  return JSON.stringify(definition, null, 2);
}
