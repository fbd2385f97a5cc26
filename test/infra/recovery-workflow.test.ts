import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type CfnPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { Notifications } from '../../lib/constructs/notifications.ts';
import { RecoveryWorkflow, type RecoveryWorkflowProps } from '../../lib/constructs/recovery-workflow.ts';
import { Storage } from '../../lib/constructs/storage.ts';
import { nagFindings, testApp, testRegistry } from './cdk-app.ts';

function workflowIn(stack: Stack, props: Partial<RecoveryWorkflowProps> = {}) {
  const storage = new Storage(stack, 'Storage');
  const workspaces = testRegistry(stack, storage);
  const notifications = new Notifications(stack, 'Notifications');
  const workflow = new RecoveryWorkflow(stack, 'RecoveryWorkflow', {
    storage,
    notifications,
    workspaces,
    ...props,
  });
  return { workflow, storage, notifications };
}

/** Every IAM policy statement of the template, with the logical id of its policy. */
function statements(template: Template): { policy: string; Action: string | string[]; Resource: unknown }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, resource]) =>
    resource.Properties.PolicyDocument.Statement.map((statement: Record<string, unknown>) => ({
      policy,
      ...statement,
    })),
  );
}

const actionsOf = (statement: { Action: string | string[] }): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('RecoveryWorkflow', () => {
  it('deploys the ASL file as a Standard state machine with the task function substituted', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { workflow } = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      DefinitionString: Match.stringLikeRegexp('"StartAt": "Remediate"'),
      DefinitionSubstitutions: {
        RecoveryTaskFunctionArn: stack.resolve(workflow.taskFunction.lambdaFunction.functionArn),
      },
    });
  });

  it('logs every execution event with its data to a log group with a retention, and traces with X-Ray', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { workflow } = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: stack.resolve(workflow.logGroup.logGroupArn) } },
        ],
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 90,
    });
  });

  it('lets the state machine invoke exactly the task function, in a policy without wildcard', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { workflow } = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    const invokes = statements(template).filter((statement) =>
      actionsOf(statement).includes('lambda:InvokeFunction'),
    );
    expect(invokes).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: stack.resolve(workflow.taskFunction.lambdaFunction.functionArn),
      }),
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'lambda:InvokeFunction' })] },
      Roles: [stack.resolve(workflow.role.roleName)],
    });
  });

  it('lets the task function start executions of exactly its own state machine, in a policy of its own on its role', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { workflow } = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    const starts = statements(template).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('states:')),
    );
    expect(starts).toEqual([
      {
        policy: stack.resolve((workflow.startQueuedPolicy.node.defaultChild as CfnPolicy).logicalId),
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: stack.resolve(workflow.stateMachine.stateMachineArn),
      },
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'states:StartExecution' })] },
      Roles: [stack.resolve(workflow.taskFunction.role.roleName)],
    });
  });

  it.each([
    ['the defaults', {}, { AUTO_REMEDIATION_ENABLED: 'true' }, ['PLAYBOOK_OVERRIDES']],
    [
      'remediation off and an override',
      {
        autoRemediationEnabled: false,
        playbookOverrides: { DatabricksDriverNotResponding: { max_attempts: 2 } },
      },
      {
        AUTO_REMEDIATION_ENABLED: 'false',
        PLAYBOOK_OVERRIDES: JSON.stringify({ DatabricksDriverNotResponding: { max_attempts: 2 } }),
      },
      [],
    ],
  ])(
    'tells the task function what starting a queued recovery decides with: %s',
    (_name, props, expected, absent) => {
      // Prepare
      const stack = new Stack(testApp(), 'Test');

      // Act
      const { workflow } = workflowIn(stack, props as Partial<RecoveryWorkflowProps>);

      // Assess
      const fn =
        Template.fromStack(stack).findResources('AWS::Lambda::Function')[
          stack.resolve((workflow.taskFunction.lambdaFunction.node.defaultChild as CfnFunction).logicalId)
        ];
      const variables = fn?.Properties.Environment.Variables as Record<string, string>;
      expect(variables).toMatchObject(expected);
      for (const name of absent) expect(variables).not.toHaveProperty(name);
    },
  );

  it.each([
    [
      'the table',
      'TABLE_NAME',
      ['dynamodb:Query', 'dynamodb:PutItem'],
      (r: ReturnType<typeof workflowIn>) => r.storage.table.tableArn,
    ],
    [
      'the topic',
      'NOTIFICATION_TOPIC_ARN',
      ['sns:Publish'],
      (r: ReturnType<typeof workflowIn>) => r.notifications.topic.topicArn,
    ],
  ])('grants the task function %s by name and tells it where in %s', (_name, variable, actions, arnOf) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const resources = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [variable]: Match.anyValue() }) },
    });
    const arn = JSON.stringify(stack.resolve(arnOf(resources)));
    const granted = statements(template).filter((statement) =>
      JSON.stringify(statement.Resource).includes(arn),
    );
    expect(granted.flatMap(actionsOf)).toEqual(expect.arrayContaining(actions));
  });

  it('grants reading the workspace credentials under their prefix and reads the workspaces from the registry', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    const reads = statements(template).filter((statement) =>
      actionsOf(statement).includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(reads)).toContain(':secret:databricks/*');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DATABRICKS_WORKSPACES: Match.absent(), WORKSPACE_CACHE_SECONDS: '60' }),
      },
    });
  });

  it('grants the Slack webhook secret and sets SLACK_WEBHOOK_SECRET_ARN only when one is given', () => {
    // Prepare
    const withSlack = new Stack(testApp(), 'WithSlack');
    const withoutSlack = new Stack(testApp(), 'WithoutSlack');

    // Act
    workflowIn(withSlack, {
      slackWebhookSecret: Secret.fromSecretNameV2(withSlack, 'Slack', 'recovery/slack-webhook'),
    });
    workflowIn(withoutSlack);

    // Assess
    Template.fromStack(withSlack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SLACK_WEBHOOK_SECRET_ARN: Match.anyValue() }) },
    });
    expect(JSON.stringify(statements(Template.fromStack(withSlack)))).toContain(
      'secret:recovery/slack-webhook-??????',
    );
    const functions = Template.fromStack(withoutSlack).findResources('AWS::Lambda::Function');
    expect(JSON.stringify(functions)).not.toContain('SLACK_WEBHOOK_SECRET_ARN');
  });

  it.each([
    ['ExecutionsFailed', 'failedAlarm'],
    ['ExecutionsTimedOut', 'timedOutAlarm'],
  ] as const)('alarms on %s to the notification topic', (metricName, field) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { workflow, notifications } = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: stack.resolve(workflow.stateMachine.stateMachineArn) }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(notifications.topic.topicArn)],
    });
    expect(workflow[field]).toBeDefined();
  });

  it('lets CloudWatch publish the alarms to the encrypted topic, for these alarms only', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const { workflow } = workflowIn(stack);

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({
              ArnLike: {
                'aws:SourceArn': [
                  stack.resolve(workflow.failedAlarm.alarmArn),
                  stack.resolve(workflow.timedOutAlarm.alarmArn),
                ],
              },
            }),
          }),
        ]),
      }),
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      }),
    });
  });

  it('adds no cdk-nag finding', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    workflowIn(stack, {
      slackWebhookSecret: Secret.fromSecretNameV2(stack, 'Slack', 'recovery/slack-webhook'),
    });

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });

  it('still reports a wildcard that a later grant adds to the execution role', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const { workflow } = workflowIn(stack);
    workflow.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([
      'AwsSolutions-IAM5[Resource::*] at Test/RecoveryWorkflow/Role/DefaultPolicy/Resource',
    ]);
  });

  it.each([
    ['a bad breaker config', { breakerConfig: { failureThreshold: 0 } }, /breakerConfig is invalid/],
    [
      'a bad playbook override',
      { playbookOverrides: { DatabricksDriverNotResponding: { max_attempts: 0 } } },
      /playbookOverrides are invalid/,
    ],
  ])('refuses %s at synthesis with an error that says what to fix', (_name, props, message) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    const build = () => workflowIn(stack, props as Partial<RecoveryWorkflowProps>);

    // Assess
    expect(build).toThrow(message);
  });
});
