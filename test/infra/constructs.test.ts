import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type Grant, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { Notifications } from '../../lib/constructs/notifications.ts';
import { RecoveryFunction } from '../../lib/constructs/recovery-function.ts';
import { IntakeSecrets } from '../../lib/constructs/secrets.ts';
import { Storage } from '../../lib/constructs/storage.ts';
import { nagFindings, testApp } from './cdk-app.ts';

const ENTRY = 'functions/handlers/health.ts';

function functionIn(stack: Stack, props: Partial<ConstructorParameters<typeof RecoveryFunction>[2]> = {}) {
  return new RecoveryFunction(stack, 'Worker', { entry: ENTRY, synchronousCaller: 'the tests', ...props });
}

describe('RecoveryFunction', () => {
  it('lets a function override the timeout, memory, log level and retention, and add configuration', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');

    // Act
    functionIn(stack, {
      timeout: Duration.minutes(2),
      memorySize: 512,
      logLevel: 'DEBUG',
      logRetention: RetentionDays.THREE_MONTHS,
      environment: { AUTO_REMEDIATION_ENABLED: 'false' },
    });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 120,
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'DEBUG', AUTO_REMEDIATION_ENABLED: 'false' }),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('keeps the dead-letter rule in force for a function not declared synchronous', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    new RecoveryFunction(stack, 'Poller', { entry: ENTRY });

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual(['Serverless-LambdaDLQ at Test/Poller/Function/Resource']);
  });

  it('reports a wildcard that a grant adds to the default policy, despite the tracing acknowledgement', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const fn = functionIn(stack);
    fn.lambdaFunction.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([
      'AwsSolutions-IAM5[Resource::*] at Test/Worker/ServiceRole/DefaultPolicy/Resource',
    ]);
  });
});

interface GrantCase {
  readonly resource: string;
  readonly variable: string;
  readonly actions: readonly string[];
  readonly grant: (stack: Stack, fn: RecoveryFunction) => Grant;
}

const GRANTS: readonly GrantCase[] = [
  {
    resource: 'the table',
    variable: 'TABLE_NAME',
    actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    grant: (stack, fn) => new Storage(stack, 'Storage').grantReadWriteData(fn.lambdaFunction),
  },
  {
    resource: 'the intake keys',
    variable: 'INTAKE_SECRET_ARN',
    actions: ['secretsmanager:GetSecretValue'],
    grant: (stack, fn) => new IntakeSecrets(stack, 'IntakeSecrets').grantRead(fn.lambdaFunction),
  },
  {
    resource: 'the notification topic',
    variable: 'NOTIFICATION_TOPIC_ARN',
    actions: ['sns:Publish', 'kms:Decrypt', 'kms:GenerateDataKey'],
    grant: (stack, fn) => new Notifications(stack, 'Notifications').grantPublish(fn.lambdaFunction),
  },
];

describe('grants', () => {
  it.each(GRANTS)('tells a function granted $resource where it is in $variable', ({ variable, grant }) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const fn = functionIn(stack);

    // Act
    grant(stack, fn);

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [variable]: Match.anyValue() }) },
    });
  });

  it.each(GRANTS)('allows a function granted $resource the actions it needs', ({ actions, grant }) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const fn = functionIn(stack);

    // Act
    grant(stack, fn);

    // Assess
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    const allowed = statements.flatMap((statement: { Action: string | string[] }) => statement.Action);
    expect(allowed).toEqual(expect.arrayContaining([...actions]));
  });

  it.each(GRANTS)('adds no cdk-nag finding when a function is granted $resource', ({ grant }) => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const fn = functionIn(stack);
    grant(stack, fn);

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });

  it('grants the table and the named index gsi1, not every index', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Test');
    const storage = new Storage(stack, 'Storage');

    // Act
    storage.grantReadWriteData(functionIn(stack).lambdaFunction);

    // Assess
    const tableArn = stack.resolve(storage.table.tableArn);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:Query']),
            Resource: [tableArn, { 'Fn::Join': ['', [tableArn, '/index/gsi1']] }],
          }),
        ]),
      }),
    });
  });
});
