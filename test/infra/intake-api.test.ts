import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { IntakeApi, type IntakeApiProps } from '../../lib/constructs/intake-api.ts';
import { IntakeSecrets } from '../../lib/constructs/secrets.ts';
import { Storage } from '../../lib/constructs/storage.ts';
import { RecoveryStack } from '../../lib/stack.ts';
import { nagFindings, seededWorkspaces, testApp, testRegistry } from './cdk-app.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:recovery';
const WEB_ACL_ARN = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/intake/0a1b2c3d';

type Resource = { readonly Type: string; readonly Properties: Record<string, unknown>; DependsOn?: string[] };

interface Built {
  readonly stack: Stack;
  readonly intake: IntakeApi;
  readonly template: Template;
}

interface BuiltWithParts extends Built {
  readonly storage: Storage;
  readonly secrets: IntakeSecrets;
}

type PropsIn = Partial<IntakeApiProps> | ((stack: Stack) => Partial<IntakeApiProps>);

/** An intake for two workspaces, one secret imported by name and one by complete ARN. */
function build(propsIn: PropsIn = {}): BuiltWithParts {
  const stack = new Stack(testApp(), 'Test');
  const props = typeof propsIn === 'function' ? propsIn(stack) : propsIn;
  const storage = new Storage(stack, 'Storage');
  const secrets = new IntakeSecrets(stack, 'IntakeSecrets');
  const intake = new IntakeApi(stack, 'Intake', {
    // Unseeded: the seeding custom resource is the registry's business (test/infra/workspace-registry.test.ts).
    workspaces: testRegistry(stack, storage, {}),
    storage,
    secrets,
    ...props,
  });
  return { stack, intake, storage, secrets, template: Template.fromStack(stack) };
}

function withStateMachine(): Built {
  return build((stack) => ({
    stateMachine: StateMachine.fromStateMachineArn(stack, 'Recovery', STATE_MACHINE_ARN),
  }));
}

function resources(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

function functionResource({ stack, intake, template }: Built): Resource {
  const id = stack.getLogicalId(intake.function.lambdaFunction.node.defaultChild as CfnFunction);
  return template.toJSON().Resources[id] as Resource;
}

function environment(built: Built): Record<string, unknown> {
  const env = functionResource(built).Properties.Environment as { Variables: Record<string, unknown> };
  return env.Variables;
}

/** Every statement of every policy attached to the intake function's role. */
function functionStatements({ stack, intake, template }: Built): Record<string, unknown>[] {
  const role = stack.resolve(intake.function.role.roleName);
  return Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([role]) } }),
  ).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** Renders `Fn::Join`, `Ref` and `Fn::GetAtt` values as text, with `<Ref>` for each reference. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, unknown>;
  if (typeof intrinsic.Ref === 'string') return `<${intrinsic.Ref}>`;
  const getAtt = intrinsic['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt !== undefined) return `<${getAtt.join('.')}>`;
  const join = intrinsic['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map(render).join(join[0]);
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The method at `path` (resource path parts under the root), found by walking the resource tree. */
function methodAt({ stack, intake, template }: Built, httpMethod: string, path: readonly string[]) {
  let parent: unknown = stack.resolve(intake.api.restApiRootResourceId);
  for (const part of path) {
    const child = resources(template, 'AWS::ApiGateway::Resource').find(
      ([, resource]) =>
        resource.Properties.PathPart === part &&
        JSON.stringify(resource.Properties.ParentId) === JSON.stringify(parent),
    );
    if (child === undefined) return undefined;
    parent = { Ref: child[0] };
  }
  return resources(template, 'AWS::ApiGateway::Method').find(
    ([, method]) =>
      method.Properties.HttpMethod === httpMethod &&
      JSON.stringify(method.Properties.ResourceId) === JSON.stringify(parent),
  )?.[1];
}

const ROUTES = [
  { route: 'POST /databricks-monitor', httpMethod: 'POST', path: ['databricks-monitor'] },
  {
    route: 'POST /databricks-monitor/{workspace}',
    httpMethod: 'POST',
    path: ['databricks-monitor', '{workspace}'],
  },
] as const;

describe('IntakeApi routes', () => {
  it.each(ROUTES)(
    'sends $route to the intake function through a Lambda proxy integration',
    ({ httpMethod, path }) => {
      // Prepare
      const built = build();
      const functionId = built.stack.getLogicalId(
        built.intake.function.lambdaFunction.node.defaultChild as CfnFunction,
      );

      // Act
      const method = methodAt(built, httpMethod, path);

      // Assess
      expect(method?.Properties).toMatchObject({
        AuthorizationType: 'NONE',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(JSON.stringify(method?.Properties.Integration)).toContain(functionId);
    },
  );

  it('serves no other method', () => {
    // Act
    const { template } = build();

    // Assess
    template.resourceCountIs('AWS::ApiGateway::Method', ROUTES.length);
  });

  it('lets API Gateway invoke the function only for the two webhook routes of its own stage', () => {
    // Act
    const { template } = build();

    // Assess
    const sourceArns = resources(template, 'AWS::Lambda::Permission')
      .map(([, permission]) => render(permission.Properties.SourceArn))
      .filter((arn) => !arn.includes('/test-invoke-stage/'));
    expect(sourceArns.map((arn) => arn.replace(/^.*\/<[^>]+>\//, ''))).toEqual([
      'POST/databricks-monitor',
      'POST/databricks-monitor/*',
    ]);
  });

  it('outputs the URL Databricks posts to', () => {
    // Act
    const { stack, intake, template } = build();

    // Assess
    const stageName = render(stack.resolve(intake.api.deploymentStage.stageName));
    expect(render(stack.resolve(intake.url))).toMatch(/^https:\/\/.+\.execute-api\./);
    expect(render(stack.resolve(intake.url))).toMatch(new RegExp(`/${stageName}/databricks-monitor$`));
    template.hasOutput('*', { Value: stack.resolve(intake.url) });
  });
});

describe('IntakeApi stage', () => {
  it.each([
    { limits: 'the defaults', props: {}, rate: 50, burst: 100 },
    { limits: 'its props', props: { throttlingRateLimit: 5, throttlingBurstLimit: 10 }, rate: 5, burst: 10 },
  ])('throttles every method with $limits', ({ props, rate, burst }) => {
    // Act
    const { template } = build(props);

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: rate,
          ThrottlingBurstLimit: burst,
        }),
      ]),
    });
  });

  it('writes JSON access logs with the request fields and no header to its access log group', () => {
    // Prepare
    const { stack, intake, template } = build();

    // Act
    const [[, stage]] = resources(template, 'AWS::ApiGateway::Stage') as [[string, Resource]];

    // Assess
    const setting = stage.Properties.AccessLogSetting as { DestinationArn: unknown; Format: string };
    // The log group's ARN without the ':*' suffix of its Arn attribute (feature flag
    // @aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard).
    const logGroupId = stack.getLogicalId(intake.accessLogGroup.node.defaultChild as CfnElement);
    expect(JSON.stringify(setting.DestinationArn)).toContain(`":log-group:",{"Ref":"${logGroupId}"}`);
    expect(JSON.stringify(setting.DestinationArn)).not.toContain(':*');
    const format = JSON.parse(setting.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      method: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      responseLength: '$context.responseLength',
      requestTime: '$context.requestTime',
    });
    expect(
      Object.values(format).filter((value) => /header|authorization|apikey|\$input/i.test(value)),
    ).toEqual([]);
  });

  it('traces with X-Ray and logs execution errors only, without request data', () => {
    // Act
    const { template } = build();

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      ]),
    });
  });

  it.each([
    { retention: 'the default 90 days', props: {}, days: 90 },
    { retention: 'a chosen retention', props: { logRetention: RetentionDays.ONE_YEAR }, days: 365 },
  ])('keeps the access logs, execution logs and function logs for $retention', ({ props, days }) => {
    // Act
    const { template } = build(props);

    // Assess
    const retentions = resources(template, 'AWS::Logs::LogGroup').map(
      ([, group]) => group.Properties.RetentionInDays,
    );
    expect(retentions).toEqual([days, days, days]);
  });

  it('creates the execution log group before the stage, so API Gateway does not create one without retention', () => {
    // Prepare
    const { stack, intake, template } = build();

    // Act
    const [[groupId, group]] = resources(template, 'AWS::Logs::LogGroup').filter(([, g]) =>
      JSON.stringify(g.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
    ) as [[string, Resource]];

    // Assess
    expect(render(group.Properties.LogGroupName)).toBe(
      `API-Gateway-Execution-Logs_<${stack.resolve(intake.api.restApiId).Ref}>/prod`,
    );
    template.hasResource('AWS::ApiGateway::Stage', { DependsOn: Match.arrayWith([groupId]) });
  });

  it('is regional and named after its stack, so the app can be deployed twice', () => {
    // Act
    const { template } = build();

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'Test-intake',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('sets the account CloudWatch role with an inline policy and keeps it when the stack goes', () => {
    // Act
    const { template } = build();

    // Assess
    const [[roleId]] = resources(template, 'AWS::IAM::Role').filter(([, role]) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'),
    ) as [[string, Resource]];
    template.hasResource('AWS::ApiGateway::Account', {
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } },
      DeletionPolicy: 'Retain',
    });
    template.hasResource('AWS::IAM::Role', {
      Properties: Match.objectLike({ ManagedPolicyArns: Match.absent(), Policies: Match.anyValue() }),
      DeletionPolicy: 'Retain',
    });
  });

  it('leaves the account CloudWatch role alone when told to', () => {
    // Act
    const { template } = build({ cloudWatchRole: false });

    // Assess
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(
      resources(template, 'AWS::IAM::Role').filter(([, role]) =>
        JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'),
      ),
    ).toEqual([]);
  });

  it.each([
    { webAcl: 'the given web ACL', props: { webAclArn: WEB_ACL_ARN }, count: 1, ownAcls: 0 },
    { webAcl: 'its own web ACL', props: {}, count: 1, ownAcls: 1 },
    { webAcl: 'no web ACL', props: { firewall: false }, count: 0, ownAcls: 0 },
  ])('associates $webAcl with the stage', ({ props, count, ownAcls }) => {
    // Act
    const { stack, intake, template } = build(props);

    // Assess
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', count);
    template.resourceCountIs('AWS::WAFv2::WebACL', ownAcls);
    if (count > 0) {
      template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
        WebACLArn: ownAcls > 0 ? stack.resolve(intake.firewall?.webAcl.attrArn) : WEB_ACL_ARN,
        ResourceArn: stack.resolve(intake.api.deploymentStage.stageArn),
      });
    }
  });
});

describe('IntakeApi function', () => {
  it("runs for 25 s at most, under API Gateway's 29 s integration timeout", () => {
    // Act
    const built = build();

    // Assess
    expect(functionResource(built).Properties).toMatchObject({
      Timeout: 25,
      TracingConfig: { Mode: 'Active' },
    });
    for (const [, method] of resources(built.template, 'AWS::ApiGateway::Method')) {
      const integration = method.Properties.Integration as { TimeoutInMillis?: number };
      expect(integration.TimeoutInMillis ?? 29_000).toBeGreaterThan(25_000);
    }
  });

  it('reads its workspaces from the registry, not the environment, and only the credentials under the secret prefix', () => {
    // Act
    const built = build();

    // Assess
    const variables = environment(built);
    expect(variables.DATABRICKS_WORKSPACES).toBeUndefined();
    expect(variables.WORKSPACE_CACHE_SECONDS).toBe('60');
    const reads = functionStatements(built).filter((statement) =>
      JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads.map((statement) => render(statement.Resource))).toContain(
      'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:databricks/*',
    );
  });

  it('tells the function its table and its API keys', () => {
    // Act
    const variables = environment(build());

    // Assess
    expect(Object.keys(variables)).toEqual(expect.arrayContaining(['TABLE_NAME', 'INTAKE_SECRET_ARN']));
  });

  it('allows reading only the workspace credentials (by their name prefix) and the API keys from Secrets Manager', () => {
    // Prepare
    const built = build();
    const keysArn = render(built.stack.resolve(built.secrets.apiKeys.secretArn));

    // Act
    const statements = functionStatements(built).filter((statement) =>
      list(statement.Action).some((action) => String(action).startsWith('secretsmanager:')),
    );

    // Assess
    expect([...new Set(statements.flatMap((statement) => list(statement.Action)))].sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    const secretResources = statements.flatMap((statement) => list(statement.Resource)).map((r) => render(r));
    expect(secretResources.sort()).toEqual(
      [
        keysArn,
        'arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:databricks/*',
      ].sort(),
    );
  });

  it('allows only the listed item actions on the table and its gsi1 index', () => {
    // Prepare
    const built = build();
    const tableArn = built.stack.resolve(built.storage.table.tableArn);

    // Act
    const statements = functionStatements(built).filter((statement) =>
      list(statement.Action).some((action) => String(action).startsWith('dynamodb:')),
    );

    // Assess
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Resource).toEqual([tableArn, { 'Fn::Join': ['', [tableArn, '/index/gsi1']] }]);
    expect(list(statements[0]?.Action)).not.toContain('dynamodb:Scan');
  });

  it('allows starting executions of the given state machine only, and names it in STATE_MACHINE_ARN', () => {
    // Act
    const built = withStateMachine();

    // Assess
    const statesStatements = functionStatements(built).filter((statement) =>
      list(statement.Action).some((action) => String(action).startsWith('states:')),
    );
    expect(statesStatements).toEqual([
      expect.objectContaining({ Action: 'states:StartExecution', Resource: STATE_MACHINE_ARN }),
    ]);
    expect(environment(built).STATE_MACHINE_ARN).toBe(STATE_MACHINE_ARN);
  });

  it('gets no Step Functions access and no STATE_MACHINE_ARN without a state machine', () => {
    // Act
    const built = build();

    // Assess
    const actions = functionStatements(built).flatMap((statement) => list(statement.Action));
    expect(actions.filter((action) => String(action).startsWith('states:'))).toEqual([]);
    expect(environment(built)).not.toHaveProperty('STATE_MACHINE_ARN');
  });

  it('names the resource of every permission (the credentials by their name prefix) except the X-Ray ones, which have none', () => {
    // Act
    const statements = functionStatements(withStateMachine());

    // Assess
    const credentials = /:secret:databricks\/\*$/;
    const unnamed = statements.filter((statement) =>
      list(statement.Resource).some(
        (resource) => render(resource).includes('*') && !credentials.test(render(resource)),
      ),
    );
    expect(unnamed.flatMap((statement) => list(statement.Action)).sort()).toEqual([
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it.each([
    { setting: 'on by default', props: {}, value: 'true' },
    { setting: 'off when disabled', props: { autoRemediationEnabled: false }, value: 'false' },
  ])('tells the function that auto-remediation is $setting', ({ props, value }) => {
    // Act
    const variables = environment(build(props));

    // Assess
    expect(variables.AUTO_REMEDIATION_ENABLED).toBe(value);
  });

  it('passes valid playbook overrides and breaker settings to the function as JSON', () => {
    // Prepare
    const playbookOverrides = { DatabricksClusterTerminated: { timeout_seconds: 3600, max_attempts: 2 } };
    const breakerConfig = { failureThreshold: 5, cooldownSeconds: 600 };

    // Act
    const variables = environment(build({ playbookOverrides, breakerConfig }));

    // Assess
    expect(JSON.parse(String(variables.PLAYBOOK_OVERRIDES))).toEqual(playbookOverrides);
    expect(JSON.parse(String(variables.BREAKER_CONFIG))).toEqual(breakerConfig);
  });

  it('sets neither PLAYBOOK_OVERRIDES nor BREAKER_CONFIG when there is nothing to override', () => {
    // Act
    const variables = environment(build());

    // Assess
    expect(Object.keys(variables)).not.toEqual(expect.arrayContaining(['PLAYBOOK_OVERRIDES']));
    expect(Object.keys(variables)).not.toEqual(expect.arrayContaining(['BREAKER_CONFIG']));
  });
});

describe('IntakeApi synthesis-time validation', () => {
  it.each([
    {
      problem: 'an unknown error type',
      overrides: { DatabricksNoSuchFailure: {} },
      key: 'DatabricksNoSuchFailure',
    },
    {
      problem: 'a negative timeout',
      overrides: { DatabricksClusterTerminated: { timeout_seconds: -1 } },
      key: 'DatabricksClusterTerminated.timeout_seconds',
    },
    {
      problem: 'an unknown knob',
      overrides: { DatabricksOutOfDisk: { timeout: 60 } },
      key: 'DatabricksOutOfDisk',
    },
    {
      problem: 'a retry of a configuration error',
      overrides: { DatabricksConfigurationError: { action: 'restart_cluster' } },
      key: 'DatabricksConfigurationError.action',
    },
  ])('fails on playbook overrides with $problem, naming $key', ({ overrides, key }) => {
    // Act
    const act = () => build({ playbookOverrides: overrides });

    // Assess
    expect(act).toThrow(new RegExp(`playbookOverrides are invalid;[\\s\\S]*${key.replace('.', '\\.')}`));
  });

  it.each([
    { problem: 'a misspelt key', config: { failureTreshold: 3 }, key: 'failureTreshold' },
    { problem: 'a zero cooldown', config: { cooldownSeconds: 0 }, key: 'cooldownSeconds' },
    { problem: 'a fractional threshold', config: { failureThreshold: 2.5 }, key: 'failureThreshold' },
  ])('fails on breaker settings with $problem, naming $key', ({ config, key }) => {
    // Act
    const act = () => build({ breakerConfig: config });

    // Assess
    expect(act).toThrow(new RegExp(`breakerConfig is invalid;.*${key}`));
  });

  it('refuses a seeded workspace whose secret lies outside the prefix, naming the workspace', () => {
    // Act
    const act = () =>
      build((stack) => ({
        workspaces: testRegistry(stack, new Storage(stack, 'OtherStorage'), {
          seed: [
            {
              id: 'prod',
              host: 'https://dbc-prod.cloud.databricks.com',
              credentialsSecretName: 'other/prod',
            },
          ],
        }),
      }));

    // Assess
    expect(act).toThrow(/workspace 'prod': credentialsSecretName: must start with 'databricks\/'/);
  });
});

describe('IntakeApi audit', () => {
  it.each([
    { variant: 'without a state machine', build: () => build() },
    { variant: 'with a state machine', build: withStateMachine },
    { variant: 'with a web ACL', build: () => build({ webAclArn: WEB_ACL_ARN }) },
    { variant: 'without the account CloudWatch role', build: () => build({ cloudWatchRole: false }) },
  ])('leaves no AwsSolutions or Serverless finding unacknowledged $variant', ({ build: make }) => {
    // Prepare
    const { stack } = make();

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([]);
  });

  it('reports a wildcard that a later grant adds to the intake function', () => {
    // Prepare
    const { stack, intake } = build();
    intake.function.lambdaFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );

    // Act
    const findings = nagFindings(stack);

    // Assess
    expect(findings).toEqual([
      'AwsSolutions-IAM5[Resource::*] at Test/Intake/Function/ServiceRole/DefaultPolicy/Resource',
    ]);
  });
});

describe('RecoveryStack intake configuration from CDK context', () => {
  const WORKSPACES = [
    { id: 'prod', host: 'https://dbc-prod.cloud.databricks.com', credentialsSecretName: 'databricks/prod' },
    { id: 'dev', host: 'https://dbc-dev.cloud.databricks.com', credentialsSecretName: 'databricks/dev' },
  ];

  function stackWith(context: Record<string, unknown>): RecoveryStack {
    return new RecoveryStack(testApp({ context }), 'RecoveryStack');
  }

  function stackEnvironment(stack: RecoveryStack): Record<string, unknown> {
    return environment({ stack, intake: stack.intake, template: Template.fromStack(stack) });
  }

  it.each([
    { form: 'a JSON array (cdk.json)', value: WORKSPACES },
    { form: 'JSON text (-c databricksWorkspaces=...)', value: JSON.stringify(WORKSPACES) },
  ])('reads the workspaces from $form and seeds the registry with them', ({ value }) => {
    // Act
    const stack = stackWith({ databricksWorkspaces: value });

    // Assess
    const seeded = seededWorkspaces(Template.fromStack(stack));
    expect(seeded).toEqual(
      WORKSPACES.map(({ id, host, credentialsSecretName }) => ({
        pk: 'WORKSPACES',
        sk: `WORKSPACE#${id}`,
        id,
        host,
        credentialsSecretName,
        source: 'context',
        updatedBy: 'deployment (CDK context databricksWorkspaces)',
      })),
    );
    expect(Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('example workspace'))).toEqual(
      [],
    );
  });

  it('stands in the example workspace when none is configured, and says so', () => {
    // Act
    const stack = stackWith({});

    // Assess
    const workspaces = seededWorkspaces(Template.fromStack(stack));
    expect(workspaces.map((workspace) => workspace.id)).toEqual(['example']);
    expect(
      Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('databricksWorkspaces')),
    ).toHaveLength(1);
  });

  it.each([
    {
      problem: 'a local simulator',
      value: [{ ...WORKSPACES[0], host: 'http://localhost:8001' }],
      key: 'databricksWorkspaces.0.host: must use https: the function runs in AWS',
    },
    {
      problem: 'plain http',
      value: [{ ...WORKSPACES[0], host: 'http://dbc-prod.cloud.databricks.com' }],
      key: 'databricksWorkspaces.0.host',
    },
    {
      problem: 'an id with a space',
      value: [{ ...WORKSPACES[0], id: 'my prod' }],
      key: 'databricksWorkspaces.0.id',
    },
    {
      problem: 'a missing secret name',
      value: [{ id: 'prod', host: 'https://dbc-prod.cloud.databricks.com' }],
      key: 'databricksWorkspaces.0.credentialsSecretName',
    },
    {
      problem: 'a secret value instead of a name',
      value: [{ ...WORKSPACES[0], token: 'not-a-real-token' }],
      key: 'databricksWorkspaces.0',
    },
    { problem: 'duplicate ids', value: [WORKSPACES[0], WORKSPACES[0]], key: 'databricksWorkspaces' },
    { problem: 'an empty list', value: [], key: 'databricksWorkspaces' },
    { problem: 'broken JSON text', value: '[{"id": "prod",', key: 'databricksWorkspaces' },
  ])('fails on workspaces with $problem, naming $key', ({ value, key }) => {
    // Act
    const act = () => stackWith({ databricksWorkspaces: value });

    // Assess
    expect(act).toThrow(/context databricksWorkspaces /);
    expect(act).toThrow(key);
  });

  it.each([
    { form: 'a boolean', value: false },
    { form: 'text (-c autoRemediationEnabled=false)', value: 'false' },
  ])('turns auto-remediation off from $form', ({ value }) => {
    // Act
    const stack = stackWith({ autoRemediationEnabled: value });

    // Assess
    expect(stackEnvironment(stack).AUTO_REMEDIATION_ENABLED).toBe('false');
  });

  it('fails on an autoRemediationEnabled that is not a boolean', () => {
    // Act
    const act = () => stackWith({ autoRemediationEnabled: 'sometimes' });

    // Assess
    expect(act).toThrow(/context autoRemediationEnabled.*autoRemediationEnabled/);
  });

  it('passes playbook overrides from context to the function', () => {
    // Prepare
    const overrides = { DatabricksSpotInstanceLost: { max_attempts: 1 } };

    // Act
    const stack = stackWith({ playbookOverrides: JSON.stringify(overrides) });

    // Assess
    expect(JSON.parse(String(stackEnvironment(stack).PLAYBOOK_OVERRIDES))).toEqual(overrides);
  });

  it('fails synthesis on bad playbook overrides from context, naming the key', () => {
    // Act
    const act = () => stackWith({ playbookOverrides: { DatabricksClusterTerminated: { max_attempts: 0 } } });

    // Assess
    expect(act).toThrow(/DatabricksClusterTerminated\.max_attempts/);
  });

  it('leaves the account CloudWatch role alone when the context says so', () => {
    // Act
    const stack = stackWith({ apiGatewayCloudWatchRole: 'false' });

    // Assess
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});
