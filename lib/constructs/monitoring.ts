import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Notifications } from './notifications.ts';

export interface MonitoringProps {
  /** Where the alarms are sent. */
  readonly notifications: Notifications;
  /** Log groups of the functions whose lines the dashboard queries (intake, poller, workflow task). */
  readonly logGroups: readonly ILogGroup[];
  /** The webhook API: its 5xx answers (Databricks or Step Functions unreachable, a broken deployment) alarm. */
  readonly intakeApi: RestApi;
  /** The recovery state machine, for the executions widget. */
  readonly stateMachine: IStateMachine;
  /**
   * Namespace of the functions' EMF metrics (`POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'DatabricksClusterRecovery'
   */
  readonly metricsNamespace?: string;
  /**
   * The `service` dimension Powertools adds to every metric (`POWERTOOLS_SERVICE_NAME`).
   * @default 'databricks-cluster-recovery'
   */
  readonly serviceName?: string;
  /**
   * Failures per hour above which the "high cluster failure rate" alarm fires (the seed's alert 1).
   * @default 5
   */
  readonly failuresPerHourThreshold?: number;
}

/**
 * The operators' view: a dashboard with the seed's "cluster failures in the last 24 hours" query and
 * the recovery metrics, and the seed's three alerts — a high failure rate, a circuit breaker opened,
 * and recoveries that need manual intervention — sent to the notification topic.
 */
export class Monitoring extends Construct {
  public readonly dashboard: Dashboard;
  /** The seed's alert 1: more than `failuresPerHourThreshold` failures ticketed in an hour. */
  public readonly highFailureRateAlarm: Alarm;
  /** The seed's alert 2: a circuit breaker opened. */
  public readonly breakerOpenedAlarm: Alarm;
  /** The seed's alert 3: an automatic recovery failed or could not run; a human must act. */
  public readonly manualInterventionAlarm: Alarm;
  /** The intake answered 5xx: deliveries are failing (the intake's own errors become 5xx answers, not Lambda errors). */
  public readonly intakeErrorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? 'DatabricksClusterRecovery';
    const service = props.serviceName ?? 'databricks-cluster-recovery';
    const metric = (metricName: string, period = Duration.minutes(5)) =>
      new Metric({ namespace, metricName, dimensionsMap: { service }, statistic: 'Sum', period });

    const threshold = props.failuresPerHourThreshold ?? 5;
    this.highFailureRateAlarm = new Alarm(this, 'HighFailureRateAlarm', {
      alarmDescription: `More than ${threshold} Databricks failures were ticketed in the last hour`,
      metric: metric('TicketsOpened', Duration.hours(1)),
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.breakerOpenedAlarm = new Alarm(this, 'BreakerOpenedAlarm', {
      alarmDescription:
        'A circuit breaker opened: automatic recovery is paused for a cluster or an error type',
      metric: metric('CircuitBreakersOpened'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.manualInterventionAlarm = new Alarm(this, 'ManualInterventionAlarm', {
      alarmDescription:
        'An automatic recovery failed or was not attempted: a ticket is escalated for manual intervention',
      metric: new MathExpression({
        expression: 'FILL(intake, 0) + FILL(workflow, 0) + FILL(reconciler, 0)',
        usingMetrics: {
          intake: metric('TicketsEscalated'),
          workflow: metric('RecoveriesEscalated'),
          reconciler: metric('ReconciledEscalations'),
        },
        period: Duration.minutes(5),
        label: 'Escalations',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.intakeErrorsAlarm = new Alarm(this, 'IntakeErrorsAlarm', {
      alarmDescription: 'The webhook API answered 5xx: deliveries from Databricks are failing',
      metric: props.intakeApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const alarms = [
      this.highFailureRateAlarm,
      this.breakerOpenedAlarm,
      this.manualInterventionAlarm,
      this.intakeErrorsAlarm,
    ];
    props.notifications.sendAlarms(alarms);

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Failures in the last 24 hours by error type (resolved tickets)',
        logGroupNames: props.logGroups.map((group) => group.logGroupName),
        // The seed's dashboard query: failures, and how long acknowledgement and resolution took.
        queryLines: [
          'fields errorType, ackSeconds, resolutionSeconds',
          'filter message in ["ticket closed", "ticket escalated"]',
          'stats count(*) as failures, avg(ackSeconds) as avg_ack_seconds, avg(resolutionSeconds) as avg_resolution_seconds by errorType',
          'sort failures desc',
        ],
        width: 24,
        height: 6,
      }),
      new AlarmStatusWidget({ title: 'Alerts', alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Detection',
        left: [
          metric('TicketsOpened'),
          metric('DuplicateSignals'),
          metric('SignalsIgnored'),
          metric('FailuresDetected'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Recovery',
        left: [
          metric('RecoveriesStarted'),
          metric('RecoveriesSucceeded'),
          metric('RecoveriesEscalated'),
          metric('RecoveriesBlocked'),
          metric('CircuitBreakersOpened'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Poller',
        left: [metric('ClustersListed'), metric('WorkspaceErrors'), metric('ReconciledStarts')],
        width: 12,
      }),
      new GraphWidget({
        title: 'Recovery executions',
        left: [
          props.stateMachine.metricSucceeded({ period: Duration.minutes(5) }),
          props.stateMachine.metricFailed({ period: Duration.minutes(5) }),
          props.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
        ],
        width: 12,
      }),
    );
    // Fleet safety: the blast-radius cap's queue and its reclaimed slots, and the approval gate.
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Blast-radius cap',
        left: [
          metric('RecoveriesQueued'),
          metric('RecoveriesDequeued'),
          metric('CapSlotsReleased'),
          metric('CapSlotsReclaimed'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Approval gate',
        left: [
          metric('ApprovalsRequested'),
          metric('ApprovalsGranted'),
          metric('ApprovalsDenied'),
          metric('ApprovalsTimedOut'),
        ],
        width: 12,
      }),
    );
    // Outage correlation: outages opened, the children they held, how they ended, probes replaced.
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Outage correlation',
        left: [
          metric('OutagesOpened'),
          metric('ChildrenHeld'),
          metric('OutagesReleased'),
          metric('OutagesEscalated'),
          metric('OutageProbesReplaced'),
        ],
        width: 12,
      }),
    );
  }
}
