import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  type Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryWidget,
  MathExpression,
  type Metric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { alarm, functionMetric } from './alarms.ts';
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

  /** A Sum of one of the functions' EMF metrics. */
  private readonly metric: (metricName: string, period?: Duration) => Metric;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? 'DatabricksClusterRecovery';
    const service = props.serviceName ?? 'databricks-cluster-recovery';
    this.metric = (metricName, period = Duration.minutes(5)) =>
      functionMetric(namespace, service, metricName, period);
    const metric = this.metric;

    const threshold = props.failuresPerHourThreshold ?? 5;
    this.highFailureRateAlarm = alarm(this, 'HighFailureRateAlarm', {
      alarmDescription: `More than ${threshold} Databricks failures were ticketed in the last hour`,
      metric: metric('TicketsOpened', Duration.hours(1)),
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.breakerOpenedAlarm = alarm(this, 'BreakerOpenedAlarm', {
      alarmDescription:
        'A circuit breaker opened: automatic recovery is paused for a cluster or an error type',
      metric: metric('CircuitBreakersOpened'),
    });
    this.manualInterventionAlarm = alarm(this, 'ManualInterventionAlarm', {
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
    });
    this.intakeErrorsAlarm = alarm(this, 'IntakeErrorsAlarm', {
      alarmDescription: 'The webhook API answered 5xx: deliveries from Databricks are failing',
      metric: props.intakeApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    const alarms = [
      this.highFailureRateAlarm,
      this.breakerOpenedAlarm,
      this.manualInterventionAlarm,
      this.intakeErrorsAlarm,
    ];
    props.notifications.sendAlarms(alarms);

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.addOverview(props.logGroups, alarms);
    this.addActivityGraphs(props.stateMachine);
  }

  /** A half-width graph of some of the functions' metrics. */
  private graph(title: string, metricNames: readonly string[]): GraphWidget {
    return new GraphWidget({ title, left: metricNames.map((name) => this.metric(name)), width: 12 });
  }

  /** The seed's dashboard query and the alarms' states, full width at the top. */
  private addOverview(logGroups: readonly ILogGroup[], alarms: Alarm[]): void {
    this.dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Failures in the last 24 hours by error type (resolved tickets)',
        logGroupNames: logGroups.map((group) => group.logGroupName),
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
  }

  private addActivityGraphs(stateMachine: IStateMachine): void {
    this.dashboard.addWidgets(
      this.graph('Detection', ['TicketsOpened', 'DuplicateSignals', 'SignalsIgnored', 'FailuresDetected']),
      this.graph('Recovery', [
        'RecoveriesStarted',
        'RecoveriesSucceeded',
        'RecoveriesEscalated',
        'RecoveriesBlocked',
        'CircuitBreakersOpened',
      ]),
      this.graph('Poller', ['ClustersListed', 'WorkspaceErrors', 'ReconciledStarts']),
      new GraphWidget({
        title: 'Recovery executions',
        left: [
          stateMachine.metricSucceeded({ period: Duration.minutes(5) }),
          stateMachine.metricFailed({ period: Duration.minutes(5) }),
          stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
        ],
        width: 12,
      }),
    );
    // Fleet safety: the blast-radius cap's queue and its reclaimed slots, and the approval gate.
    this.dashboard.addWidgets(
      this.graph('Blast-radius cap', [
        'RecoveriesQueued',
        'RecoveriesDequeued',
        'CapSlotsReleased',
        'CapSlotsReclaimed',
      ]),
      this.graph('Approval gate', [
        'ApprovalsRequested',
        'ApprovalsGranted',
        'ApprovalsDenied',
        'ApprovalsTimedOut',
      ]),
    );
    // Outage correlation: outages opened, the children they held, how they ended, probes replaced.
    this.dashboard.addWidgets(
      this.graph('Outage correlation', [
        'OutagesOpened',
        'ChildrenHeld',
        'OutagesReleased',
        'OutagesEscalated',
        'OutageProbesReplaced',
      ]),
    );
  }
}
