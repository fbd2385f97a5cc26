import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecoveryStack } from '../../lib/stack.ts';
import { nagFindings, seededWorkspaces, testApp } from './cdk-app.ts';

const NAMESPACE = 'DatabricksClusterRecovery';
const SERVICE = [{ Name: 'service', Value: 'databricks-cluster-recovery' }];

describe('RecoveryStack monitoring', () => {
  let stack: RecoveryStack;
  let template: Template;
  beforeAll(() => {
    stack = new RecoveryStack(
      testApp({
        context: {
          slackWebhookSecretName: 'rca/slack-webhook',
          pollIntervalMinutes: 10,
          databricksWorkspaces: [
            {
              id: 'prod',
              host: 'https://dbc-1234.cloud.databricks.com',
              credentialsSecretName: 'databricks/prod',
              databricksWorkspaceId: '1234567890123456',
            },
          ],
        },
      }),
      'RecoveryStack',
    );
    template = Template.fromStack(stack);
  });

  it("alarms when more than 5 failures are ticketed in an hour (the seed's alert 1)", () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: 'TicketsOpened',
      Dimensions: SERVICE,
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("alarms when a circuit breaker opens (the seed's alert 2)", () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CircuitBreakersOpened',
      Dimensions: SERVICE,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("alarms on every escalation, from the intake, the workflow or the reconciler (the seed's alert 3)", () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(intake, 0) + FILL(workflow, 0) + FILL(reconciler, 0)' }),
        Match.objectLike({
          Id: 'intake',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'TicketsEscalated' }) }),
        }),
        Match.objectLike({
          Id: 'workflow',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RecoveriesEscalated' }) }),
        }),
        Match.objectLike({
          Id: 'reconciler',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ReconciledEscalations' }) }),
        }),
      ]),
      Threshold: 1,
    });
  });

  it('alarms when the webhook API answers 5xx', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  it('sends the alerts to the notification topic', () => {
    // Prepare
    const topicRef = stack.resolve(stack.notifications.topic.topicArn);

    // Act
    const alarms = [
      stack.monitoring.highFailureRateAlarm,
      stack.monitoring.breakerOpenedAlarm,
      stack.monitoring.manualInterventionAlarm,
      stack.monitoring.intakeErrorsAlarm,
    ].map((alarm) => template.toJSON().Resources[stack.getLogicalId(alarm.node.defaultChild as never)]);

    // Assess
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
  });

  it("queries failures by error type over the functions' logs on the dashboard (the seed's query)", () => {
    // Act
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardBody);

    // Assess
    expect(Object.keys(dashboards)).toHaveLength(1);
    expect(body).toContain('stats count(*) as failures, avg(ackSeconds) as avg_ack_seconds');
    expect(body).toContain('ticket closed');
  });

  it('gives the intake the recovery state machine to start, and nothing more of Step Functions', () => {
    // Prepare
    const stateMachineRef = stack.resolve(stack.recoveryWorkflow.stateMachine.stateMachineArn);
    const intakeRole = stack.getLogicalId(stack.intake.function.role.node.defaultChild as never);

    // Act
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(intakeRole),
    );
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
    );
    const sfn = statements.filter((s) => JSON.stringify(s.Action).includes('states:'));

    // Assess
    expect(sfn).toEqual([
      expect.objectContaining({ Action: 'states:StartExecution', Resource: stateMachineRef }),
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ STATE_MACHINE_ARN: stateMachineRef, TABLE_NAME: Match.anyValue() }),
      },
      Handler: Match.anyValue(),
    });
  });

  it('runs the poller on the interval given in context', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
  });

  it('lets the workflow read the Slack webhook secret named in context', () => {
    // Assess
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('rca/slack-webhook');
  });

  it("seeds the registry with each workspace's Databricks id, so notifications map to it", () => {
    // Act
    const seeded = seededWorkspaces(template);

    // Assess
    expect(seeded.map((workspace) => workspace.databricksWorkspaceId)).toContain('1234567890123456');
  });

  it('rejects two workspaces that declare the same Databricks workspace id, naming the key', () => {
    // Prepare
    const workspace = { host: 'https://dbc-1.cloud.databricks.com', databricksWorkspaceId: '123' };
    const app = testApp({
      context: {
        databricksWorkspaces: [
          { ...workspace, id: 'a', credentialsSecretName: 'databricks/a' },
          { ...workspace, id: 'b', credentialsSecretName: 'databricks/b' },
        ],
      },
    });

    // Act / Assess
    expect(() => new RecoveryStack(app, 'Duplicate')).toThrow(/databricksWorkspaceId values must be unique/);
  });

  it('outputs the notification topic, so that operators can subscribe to it', () => {
    // Assess
    expect(Object.values(template.toJSON().Outputs ?? {}).map((o) => JSON.stringify(o))).toContainEqual(
      expect.stringContaining('NotificationsTopic'),
    );
  });

  it('leaves no cdk-nag finding unfixed or unacknowledged', () => {
    // Assess
    expect(nagFindings(stack)).toEqual([]);
  });
});
