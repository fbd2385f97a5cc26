import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { resolveBreakerConfig } from '../../functions/core/breaker.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import { type PollerConfig, resolvePollerOptions } from '../../functions/poller/config.ts';
import {
  type DatabricksWorkspace,
  grantDatabricksWorkspaces,
  type IntakeBreakerConfig,
} from './intake-api.ts';
import type { Notifications } from './notifications.ts';
import { RecoveryFunction } from './recovery-function.ts';
import type { Storage } from './storage.ts';

/** Properties of {@link Poller}. */
export interface PollerProps {
  /** The workspaces to poll; at least one. */
  readonly workspaces: readonly DatabricksWorkspace[];

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
   * Longest run. Shorter than the schedule, so that a run ends before the next one starts; the
   * run itself stops starting work shortly before it.
   * @default - one minute less than the schedule, at most 15 minutes
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
 * The poller: an EventBridge schedule (every 5 minutes by default) invoking one function that lists
 * every cluster of every workspace, tickets failures through the same path as the intake, and
 * reconciles tickets whose workflow never started or ended without closing them. Alarms fire when a
 * run fails, when the poller stops running, and when a workspace keeps failing or falling behind.
 */
export class Poller extends Construct {
  /** The poller function. */
  public readonly function: RecoveryFunction;

  /** The schedule that invokes it. */
  public readonly rule: Rule;

  /** A run failed outright (every workspace failed, or the function itself). */
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

    if (props.workspaces.length === 0) {
      throw new Error(`${this.node.path}: configure at least one Databricks workspace`);
    }
    const period = props.schedule ?? Duration.minutes(5);
    const minutes = period.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(`${this.node.path}: schedule must be a whole number of minutes, at least 1`);
    }
    const timeout = props.timeout ?? Duration.seconds(Math.min(15 * 60, (minutes - 1) * 60 || 50));
    if (timeout.toSeconds() >= period.toSeconds()) {
      throw new Error(
        `${this.node.path}: timeout (${timeout.toSeconds()} s) must be shorter than the schedule (${period.toSeconds()} s), so that runs do not overlap`,
      );
    }
    const environment = validConfiguration(this, props);

    this.function = new RecoveryFunction(this, 'Function', {
      entry: 'functions/handlers/poller.ts',
      description: 'Lists every Databricks cluster, tickets failures and reconciles unfinished recoveries',
      timeout,
      memorySize: props.memorySize ?? 512,
      logRetention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      serviceName: SERVICE_NAME,
      metricsNamespace: METRICS_NAMESPACE,
      environment,
    });
    const fn = this.function.lambdaFunction;
    props.storage.grantReadWriteData(fn);
    grantDatabricksWorkspaces(fn, props.workspaces);
    if (props.stateMachine !== undefined) this.grantRecoveries(props.stateMachine);

    // The schedule is the retry: a failed or late run is not repeated, the next one does its work.
    fn.configureAsyncInvoke({
      retryAttempts: 0,
      // A late start must still end before the next scheduled run begins.
      maxEventAge: Duration.seconds(Math.max(60, period.toSeconds() - timeout.toSeconds())),
    });
    this.rule = new Rule(this, 'Schedule', {
      description: `Runs the Databricks cluster poller every ${minutes} minute${minutes === 1 ? '' : 's'}`,
      schedule: Schedule.rate(period),
    });
    this.rule.addTarget(new LambdaTarget(fn, { retryAttempts: 0 }));
    this.acknowledgeScheduledInvocation();

    this.errorsAlarm = new Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'A poller run failed: no workspace could be polled, or the function itself failed. Failures go undetected until a run succeeds.',
      metric: fn.metricErrors({ period, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.notRunningAlarm = new Alarm(this, 'NotRunningAlarm', {
      alarmDescription:
        'The poller has not run for three schedule periods: cluster failures are not being detected.',
      metric: fn.metricInvocations({ period: Duration.minutes(minutes * 3), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data means no invocation at all: exactly what this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.workspaceErrorsAlarm = new Alarm(this, 'WorkspaceErrorsAlarm', {
      alarmDescription:
        'A Databricks workspace could not be polled in three runs in a row (unreachable, 5xx, or credentials); its failures are not being detected.',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'WorkspaceErrors',
        dimensionsMap: { service: SERVICE_NAME },
        period,
        statistic: 'Sum',
      }),
      threshold: 1,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.workspacesIncompleteAlarm = new Alarm(this, 'WorkspacesIncompleteAlarm', {
      alarmDescription:
        'A Databricks workspace was polled incompletely in three runs in a row: detection is falling behind (more candidates than the event budget, runs out of time), or an item keeps failing and is about to be set aside. See the poller log for the workspace and its problems.',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'WorkspacesIncomplete',
        dimensionsMap: { service: SERVICE_NAME },
        period,
        statistic: 'Sum',
      }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.notifications !== undefined)
      props.notifications.sendAlarms([
        this.errorsAlarm,
        this.notRunningAlarm,
        this.workspaceErrorsAlarm,
        this.workspacesIncompleteAlarm,
      ]);
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

  private acknowledgeScheduledInvocation(): void {
    const reason =
      'A scheduled poll carries no data worth keeping: the next run, one period later, lists every cluster again from the unmoved cursor, and incident keys make repeated work harmless. A failed or missing run is reported by the Errors and NotRunning alarms instead.';
    Validations.of(this.function.lambdaFunction).acknowledge(
      { id: 'Serverless-LambdaDLQ', reason },
      { id: 'Serverless-LambdaAsyncFailureDestination', reason },
    );
    Validations.of(this.rule).acknowledge({ id: 'Serverless-EventBusDLQ', reason });
  }
}

/** The function's configuration, validated now so that a bad value fails `cdk synth`, not a run. */
function validConfiguration(scope: Construct, props: PollerProps): Record<string, string> {
  const path = scope.node.path;
  const playbooks = props.playbookOverrides;
  const breakers = props.breakerConfig;
  const poller = props.pollerConfig;
  try {
    if (playbooks !== undefined) loadPlaybooks(playbooks);
  } catch (error) {
    throw new Error(`${path}: playbookOverrides are invalid; ${(error as Error).message}`);
  }
  try {
    if (breakers !== undefined) resolveBreakerConfig(breakers);
  } catch (error) {
    throw new Error(`${path}: breakerConfig is invalid; ${(error as Error).message}`);
  }
  try {
    if (poller !== undefined) resolvePollerOptions(poller);
  } catch (error) {
    throw new Error(`${path}: pollerConfig is invalid; ${(error as Error).message}`);
  }
  const present = (value: object | undefined) => value !== undefined && Object.keys(value).length > 0;
  return {
    AUTO_REMEDIATION_ENABLED: String(props.autoRemediationEnabled ?? true),
    ...(present(playbooks) ? { PLAYBOOK_OVERRIDES: JSON.stringify(playbooks) } : {}),
    ...(present(breakers) ? { BREAKER_CONFIG: JSON.stringify(breakers) } : {}),
    ...(present(poller) ? { POLLER_CONFIG: JSON.stringify(poller) } : {}),
  };
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
