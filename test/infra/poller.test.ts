import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { Notifications } from '../../lib/constructs/notifications.ts';
import { Poller, type PollerProps } from '../../lib/constructs/poller.ts';
import { Storage } from '../../lib/constructs/storage.ts';
import { nagFindings, testApp, testRegistry } from './cdk-app.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:recovery';

function pollerIn(stack: Stack, props: Partial<PollerProps> = {}, withStateMachine = true) {
  const storage = new Storage(stack, 'Storage');
  const workspaces = testRegistry(stack, storage);
  const notifications = new Notifications(stack, 'Notifications');
  const poller = new Poller(stack, 'Poller', {
    workspaces,
    storage,
    notifications,
    ...(withStateMachine
      ? { stateMachine: StateMachine.fromStateMachineArn(stack, 'Recovery', STATE_MACHINE_ARN) }
      : {}),
    ...props,
  });
  return { poller, storage, notifications };
}

/** Every IAM policy statement of the template. */
/**
 * The statements of the function's policies: not the schedule's (which may start the poll workflow)
 * nor the workflow's execution role's (invoke, log delivery, tracing).
 */
function statements(template: Template): { Action: string | string[]; Resource: unknown }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => !/EventsRole|^Poller(LogDeliveryPolicy|TracingPolicy|InvokeTaskFunction)/.test(id))
    .flatMap(([, resource]) => resource.Properties.PolicyDocument.Statement);
}

const actionsOf = (statement: { Action: string | string[] }): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('Poller', () => {
  it('starts an Express poll workflow every 5 minutes, without retries, whose function has 4 minutes per workspace', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { poller } = pollerIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: stack.resolve(poller.stateMachine.stateMachineArn),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      DefinitionSubstitutions: { PollFunctionArn: stack.resolve(poller.function.lambdaFunction.functionArn) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 240,
      MemorySize: 512,
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
    });
    // Nothing invokes the function asynchronously any more: the state machine calls it.
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  it.each([
    [Duration.minutes(10), undefined, 'rate(10 minutes)', 285, '300'],
    [Duration.minutes(1), undefined, 'rate(1 minute)', 50, '60'],
    [Duration.minutes(5), Duration.minutes(2), 'rate(5 minutes)', 120, '300'],
  ])(
    'runs on a schedule of %s with the timeout it allows',
    (schedule, timeout, expression, seconds, period) => {
      // Prepare
      const stack = new Stack(testApp(), 'Test');

      // Act
      pollerIn(stack, { schedule, ...(timeout === undefined ? {} : { timeout }) });

      // Assess
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: expression });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: seconds,
        Environment: { Variables: Match.objectLike({ POLL_PERIOD_SECONDS: period }) },
      });
    },
  );

  it.each([
    [undefined, 10],
    [25, 25],
  ])('polls at most %s (default 10) workspaces at once', (maxConcurrency, expected) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { poller } = pollerIn(stack, maxConcurrency === undefined ? {} : { maxConcurrency });

    // Assess
    const resource = Object.values(
      Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'),
    )[0];
    const body = stack.resolve(resource?.Properties.DefinitionString) as unknown;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    expect(text).toContain(`"MaxConcurrency": ${expected}`);
    expect(poller.definitionSubstitutions).toHaveProperty('PollFunctionArn');
  });

  it('configures the function with its table, workspaces, state machine and knobs', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { storage } = pollerIn(stack, {
      autoRemediationEnabled: false,
      pollerConfig: { overlapSeconds: 900, reconcileBatchSize: 10 },
      breakerConfig: { failureThreshold: 5 },
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: stack.resolve(storage.table.tableName),
          STATE_MACHINE_ARN: STATE_MACHINE_ARN,
          WORKSPACE_CACHE_SECONDS: '60',
          AUTO_REMEDIATION_ENABLED: 'false',
          POLLER_CONFIG: JSON.stringify({ overlapSeconds: 900, reconcileBatchSize: 10 }),
          BREAKER_CONFIG: JSON.stringify({ failureThreshold: 5 }),
          POWERTOOLS_METRICS_NAMESPACE: 'DatabricksClusterRecovery',
          POWERTOOLS_SERVICE_NAME: 'databricks-cluster-recovery',
        }),
      },
    });
  });

  it('grants reading the workspace credentials under their prefix, the table, and starting and describing recoveries', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { storage } = pollerIn(stack);

    // Assess
    const all = statements(Template.fromStack(stack));
    const resourcesFor = (action: string) =>
      JSON.stringify(all.filter((statement) => actionsOf(statement).includes(action)).map((s) => s.Resource));
    const secrets = resourcesFor('secretsmanager:GetSecretValue');
    expect(secrets).toContain(':secret:databricks/*');
    expect(secrets).not.toContain('secret:*');
    expect(resourcesFor('states:StartExecution')).toBe(JSON.stringify([STATE_MACHINE_ARN]));
    expect(resourcesFor('states:DescribeExecution')).toContain(':execution:recovery:*');
    expect(resourcesFor('dynamodb:Query')).toContain(JSON.stringify(stack.resolve(storage.table.tableArn)));
    const wildcards = all
      .filter((s) => JSON.stringify(s.Resource) === '"*"')
      .flatMap(actionsOf)
      .sort();
    expect(wildcards).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('neither configures nor grants Step Functions without a state machine', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    pollerIn(stack, {}, false);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: Match.absent() }) },
    });
    expect(
      statements(template)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('states:')),
    ).toEqual([]);
  });

  it('raises an alarm on a failed run, on a poller that stops running, on a workspace that keeps failing and on one that keeps falling behind', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { poller } = pollerIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    const machine = stack.resolve(poller.stateMachine.stateMachineArn);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut' }),
        Match.objectLike({
          Id: 'failed',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              Namespace: 'AWS/States',
              MetricName: 'ExecutionsFailed',
              Dimensions: [{ Name: 'StateMachineArn', Value: machine }],
            }),
            Period: 300,
          }),
        }),
        Match.objectLike({
          Id: 'timedOut',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsTimedOut' }) }),
        }),
      ]),
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsStarted',
      Dimensions: [{ Name: 'StateMachineArn', Value: machine }],
      Statistic: 'Sum',
      Period: 900,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'DatabricksClusterRecovery',
      MetricName: 'WorkspaceErrors',
      Dimensions: [{ Name: 'service', Value: 'databricks-cluster-recovery' }],
      Period: 300,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'DatabricksClusterRecovery',
      MetricName: 'WorkspacesIncomplete',
      Dimensions: [{ Name: 'service', Value: 'databricks-cluster-recovery' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('sends its alarms to the notification topic, which CloudWatch may publish to for them only', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { poller, notifications } = pollerIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    const topic = stack.resolve(notifications.topic.topicArn);
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.values(alarms).map((alarm) => alarm.Properties.AlarmActions)).toEqual([
      [topic],
      [topic],
      [topic],
      [topic],
    ]);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({
              ArnLike: {
                'aws:SourceArn': [
                  stack.resolve(poller.errorsAlarm.alarmArn),
                  stack.resolve(poller.notRunningAlarm.alarmArn),
                  stack.resolve(poller.workspaceErrorsAlarm.alarmArn),
                  stack.resolve(poller.workspacesIncompleteAlarm.alarmArn),
                ],
              },
            }),
          }),
        ]),
      }),
    });
  });

  it('adds no cdk-nag finding', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    pollerIn(stack);

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });

  it('adds no cdk-nag finding of its own with a state machine built in the same stack', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const stateMachine = new StateMachine(stack, 'Workflow', {
      definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Done')),
    });
    pollerIn(stack, { stateMachine }, false);

    // Act
    const findings = nagFindings(stack).filter((finding) => finding.includes(' at Test/Poller/'));

    // Assess
    expect(findings).toEqual([]);
  });

  it('still reports a wildcard that a later grant adds to the function', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const { poller } = pollerIn(stack);
    poller.function.lambdaFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([
      'AwsSolutions-IAM5[Resource::*] at Test/Poller/Function/ServiceRole/DefaultPolicy/Resource',
    ]);
  });

  it.each([
    ['a Map concurrency of 0', { maxConcurrency: 0 }, /maxConcurrency must be a whole number from 1 to 1000/],
    [
      'a timeout past the Express workflow',
      { schedule: Duration.minutes(10), timeout: Duration.minutes(6) },
      /at most 285 s/,
    ],
    ['a schedule in seconds', { schedule: Duration.seconds(90) }, /whole number of minutes/],
    [
      'a timeout as long as the schedule',
      { timeout: Duration.minutes(5) },
      /must be shorter than the schedule/,
    ],
    [
      'an unknown poller knob',
      { pollerConfig: { overlapMinutes: 5 } },
      /pollerConfig is invalid.*overlapMinutes/,
    ],
    ['a bad breaker config', { breakerConfig: { failureThreshold: 0 } }, /breakerConfig is invalid/],
    ['an unknown playbook', { playbookOverrides: { NoSuchError: {} } }, /playbookOverrides are invalid/],
  ])('refuses %s at synthesis with an error that says what to fix', (_name, props, message) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const build = () => pollerIn(stack, props as Partial<PollerProps>);

    // Assess
    expect(build).toThrow(message);
  });
});
