import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { tableDefinition } from '../../functions/store/table-definition.ts';
import { RecoveryStack } from '../../lib/stack.ts';
import { nagFindings, testApp } from './cdk-app.ts';

function synthesise(): { readonly stack: RecoveryStack; readonly template: Template } {
  const stack = new RecoveryStack(testApp(), 'RecoveryStack');
  return { stack, template: Template.fromStack(stack) };
}

describe('RecoveryStack storage', () => {
  it('keys the one table on pk/sk and indexes gsi1 on gsi1pk/gsi1sk with every attribute projected', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayEquals([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('declares the keys, index and billing of the table DynamoDB Local is created with', () => {
    // Prepare
    const local = tableDefinition('any-name');

    // Act
    const { template } = synthesise();

    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: local.BillingMode,
      KeySchema: local.KeySchema,
      AttributeDefinitions: Match.arrayEquals(local.AttributeDefinitions ?? []),
      GlobalSecondaryIndexes: local.GlobalSecondaryIndexes,
    });
  });

  it('bills on demand, keeps point-in-time recovery, expires items on expires_at and encrypts with the AWS-managed key', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
      TableName: Match.absent(),
    });
  });

  it('retains the table when the stack is deleted or the table replaced', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('RecoveryStack secrets and notifications', () => {
  it('lets CloudFormation generate a current intake key of 48 characters beside an empty previous key and the Basic username', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: JSON.stringify({ previous: '', basic_username: 'databricks' }),
        GenerateStringKey: 'current',
        PasswordLength: 48,
      }),
      SecretString: Match.absent(),
      Name: Match.absent(),
    });
  });

  it('encrypts the notification topic with a rotating customer-managed key', () => {
    // Act
    const { template } = synthesise();

    // Assess
    const keys = Object.keys(
      template.findResources('AWS::KMS::Key', { Properties: { EnableKeyRotation: true } }),
    );
    expect(keys).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keys[0], 'Arn'] },
      TopicName: Match.absent(),
    });
  });

  it('denies every topic request made without TLS', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      }),
    });
  });
});

describe('RecoveryStack health function', () => {
  it('runs on Node.js 24 on ARM64 with a 30 s timeout, active tracing and the Powertools settings', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 30,
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
      FunctionName: Match.absent(),
      Environment: {
        Variables: {
          NODE_OPTIONS: Match.absent(),
          POWERTOOLS_SERVICE_NAME: 'databricks-cluster-recovery',
          POWERTOOLS_METRICS_NAMESPACE: 'DatabricksClusterRecovery',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          SERVICE_VERSION: Match.stringLikeRegexp('^\\d+\\.\\d+\\.\\d+'),
        },
      },
    });
  });

  it('logs to a log group of its own kept for one month', () => {
    // Act
    const { template } = synthesise();

    // Assess
    const logGroups = Object.keys(
      template.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } }),
    );
    expect(logGroups).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: logGroups[0] } },
    });
  });

  it('is granted only writing its logs and traces, through no managed policy', () => {
    // Act
    const { stack, template } = synthesise();

    // Assess
    const role = stack.resolve(stack.healthFunction.role.roleName);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([role]) },
    });
    const actions = Object.values(policies)
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .flatMap((statement: { Action: string | string[] }) => statement.Action)
      .sort();
    expect(actions).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    // The one role with a managed policy is CDK's AwsCustomResource function that seeds the workspace
    // registry at deployment (AWSLambdaBasicExecutionRole, acknowledged for cdk-nag).
    const managed = Object.keys(
      template.findResources('AWS::IAM::Role', { Properties: { ManagedPolicyArns: Match.anyValue() } }),
    );
    expect(managed).toEqual([expect.stringMatching(/^AWS679f53fac002430cb0da5b7982bd2287ServiceRole/)]);
  });

  it('is told of no table, secret or topic, since it may use none', () => {
    // Act
    const { template } = synthesise();

    // Assess
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    const names = Object.keys(fn?.Properties.Environment.Variables);
    expect(names).toContain('SERVICE_VERSION');
    expect(names.filter((name) => /TABLE|SECRET|TOPIC/.test(name))).toEqual([]);
  });
});

describe('RecoveryStack audit', () => {
  it('leaves no AwsSolutions or Serverless finding unfixed or unacknowledged', () => {
    // Prepare
    const { stack } = synthesise();

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });

  it('reports a finding nobody acknowledged', () => {
    // Prepare
    const probe = new Stack(testApp(), 'Probe');
    new Topic(probe, 'PlainTopic');

    // Act
    const findings = nagFindings(probe);

    // Assess
    expect(findings).toContain('AwsSolutions-SNS3 at Probe/PlainTopic/Resource');
  });

  it('synthesises without CDK warnings or errors', () => {
    // Prepare
    const { stack } = synthesise();

    // Act
    const annotations = [
      ...Annotations.fromStack(stack).findWarning('*', Match.anyValue()),
      ...Annotations.fromStack(stack).findError('*', Match.anyValue()),
    ];

    // Assess
    expect(annotations).toEqual([]);
  });
});

describe('RecoveryStack synthesis with bundling', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'recovery-cdk-out-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles the health handler offline into one CommonJS file that answers with the deployed version', () => {
    // Prepare
    const app = testApp({ bundle: true, outdir });
    const stack = new RecoveryStack(app, 'Bundled');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

    // Act
    const template = app.synth().getStackByName(stack.stackName).template;
    const [fn] = Object.values(Template.fromJSON(template).findResources('AWS::Lambda::Function'));
    const bundle = pathToFileURL(join(outdir, fn?.Metadata['aws:asset:path'], 'index.js')).href;
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '--eval',
        `const { default: { handler } } = await import('${bundle}'); console.log(JSON.stringify(await handler()));`,
      ],
      { env: { PATH: process.env.PATH, SERVICE_VERSION: '1.2.3' }, encoding: 'utf8' },
    );

    // Assess
    expect(JSON.parse(output)).toEqual({
      status: 'ok',
      service: 'databricks-cluster-recovery',
      version: '1.2.3',
    });
  });
});
