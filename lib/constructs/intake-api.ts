import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  CfnAccount,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { IntakeFirewall } from './firewall.ts';
import { RecoveryFunction } from './recovery-function.ts';
import type { IntakeSecrets } from './secrets.ts';
import { settingsEnvironment } from './settings.ts';
import type { Storage } from './storage.ts';
import type { WorkspaceRegistry } from './workspace-registry.ts';

/** Circuit breaker settings (`BREAKER_CONFIG`); see `BreakerConfig` in `functions/core/breaker.ts`. */
export interface IntakeBreakerConfig {
  /** @default 3 */
  readonly failureThreshold?: number;
  /** @default 3600 */
  readonly windowSeconds?: number;
  /** @default 1800 */
  readonly cooldownSeconds?: number;
  /** @default 3600 */
  readonly probeTimeoutSeconds?: number;
}

/** Properties of {@link IntakeApi}. */
export interface IntakeApiProps {
  /** The workspace registry: the workspaces whose signals are accepted, and their credentials. */
  readonly workspaces: WorkspaceRegistry;

  /** The table tickets, incidents and breakers are written to. */
  readonly storage: Storage;

  /** The API keys callers authenticate with. */
  readonly secrets: IntakeSecrets;

  /**
   * The recovery workflow the intake starts. Without it the function gets no Step Functions access
   * and no `STATE_MACHINE_ARN`, and fails at cold start: only for stacks whose workflow is not
   * built yet.
   * @default - no workflow
   */
  readonly stateMachine?: IStateMachine;

  /**
   * Whether recoveries are started at all (`AUTO_REMEDIATION_ENABLED`). Off, failures are still
   * ticketed and notified.
   * @default true
   */
  readonly autoRemediationEnabled?: boolean;

  /**
   * Playbook overrides keyed by error type (`PLAYBOOK_OVERRIDES`), validated at synthesis: a bad
   * key fails `cdk synth` with an error naming it.
   * @default - the default playbooks
   */
  readonly playbookOverrides?: Readonly<Record<string, unknown>>;

  /**
   * Circuit breaker settings (`BREAKER_CONFIG`), validated at synthesis.
   * @default - the defaults of `functions/core/breaker.ts`
   */
  readonly breakerConfig?: IntakeBreakerConfig;

  /**
   * Steady-state requests per second the stage accepts before answering 429.
   * @default 50
   */
  readonly throttlingRateLimit?: number;

  /**
   * Requests the stage accepts at once above the rate, for example when one outage fails many
   * jobs together.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;

  /**
   * How long the access logs, the execution error logs and the function's logs are kept. One
   * retention for all three, so a request can be followed from the access log to the function's
   * log lines by its request id for as long as any of them exists; 90 days matches the tickets'
   * audit trail.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;

  /**
   * Whether the stage gets its own AWS WAF web ACL ({@link IntakeFirewall}: body size limit, rate limit
   * per address, AWS managed rule groups). Off, the function's own 64 KiB check is the only body
   * limit, enforced after the function has been invoked.
   * @default true
   */
  readonly firewall?: boolean;

  /**
   * Requests per 5 minutes one address may send before the web ACL blocks it.
   * @default - the default of {@link IntakeFirewallProps.rateLimit}
   */
  readonly firewallRateLimit?: number;

  /**
   * ARN of a regional AWS WAFv2 web ACL of your own to associate with the stage instead of the
   * stack's (for example one managed by AWS Firewall Manager).
   * @default - the stack's own web ACL, unless `firewall` is false
   */
  readonly webAclArn?: string;

  /**
   * Steady-state requests per second the operators' ticket reads (`GET /ops/tickets/{id}`, see
   * `OperationsApi`) may take of the stage's budget: capped well below it so that they can never crowd
   * out Databricks' deliveries.
   * @default 5 (bursts of 10)
   */
  readonly ticketReadRateLimit?: number;

  /**
   * Whether to set the account's API Gateway CloudWatch role, which API Gateway needs to write any
   * log of any REST API in this account and region. Turn it off in accounts that already manage
   * that setting; the role and the setting are retained when the stack is deleted, so other APIs
   * keep logging.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
}

// API Gateway gives up on a Lambda integration after 29 s. The function stops 4 s earlier, so the
// caller always gets the function's own answer (a 503 with Retry-After when Databricks is slow)
// rather than a 504 for a request that may still start a recovery; the handler itself stops calling
// Databricks 3 s before its own timeout.
const FUNCTION_TIMEOUT = Duration.seconds(25);

const STAGE_NAME = 'prod';

// Who called what and how it went. Never a header: the API key and Basic credentials travel in them.
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    method: '$context.httpMethod',
    resourcePath: '$context.resourcePath',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
  }),
);

/**
 * The HTTP intake: a regional REST API with `POST /databricks-monitor` and
 * `POST /databricks-monitor/{workspace}`, proxied to one intake function (ticket reads are on the
 * IAM-authorized operations routes, {@link OperationsApi}). The stage is throttled, traced with X-Ray, and logs access (JSON, no headers) and
 * execution errors to log groups with a retention. Callers are authenticated by the function with
 * the keys in {@link IntakeSecrets}.
 */
export class IntakeApi extends Construct {
  /** The REST API. */
  public readonly api: RestApi;

  /** The function behind every route. */
  public readonly function: RecoveryFunction;

  /** The stage's access log group. */
  public readonly accessLogGroup: LogGroup;

  /** The URL Databricks and custom events post to: `https://…/prod/databricks-monitor`. */
  public readonly url: string;

  /** The stack's web ACL in front of the stage, unless switched off or replaced by `webAclArn`. */
  public readonly firewall?: IntakeFirewall;

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? RetentionDays.THREE_MONTHS;

    this.function = new RecoveryFunction(this, 'Function', {
      entry: 'functions/handlers/intake.ts',
      description: 'Authenticates, validates and tickets Databricks failure signals, and starts recoveries',
      timeout: FUNCTION_TIMEOUT,
      logRetention,
      synchronousCaller: 'API Gateway',
      environment: settingsEnvironment(this, props),
    });
    const fn = this.function.lambdaFunction;
    props.storage.grantReadWriteData(fn);
    props.secrets.grantRead(fn);
    // The intake only reads clusters and runs: it gets the read-only credentials where configured.
    props.workspaces.grantCredentials(this.function, 'read');
    if (props.stateMachine !== undefined) {
      this.grantStartRecovery(props.stateMachine);
    }

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.api = this.restApi(props, logRetention);

    const integration = new LambdaIntegration(fn);
    const monitor = this.api.root.addResource('databricks-monitor');
    const methods = [
      monitor.addMethod('POST', integration),
      monitor.addResource('{workspace}').addMethod('POST', integration),
    ];
    acknowledgeFunctionAuth(methods);
    acknowledgeValidationInFunction(this.api);

    if (props.cloudWatchRole ?? true) {
      this.setAccountCloudWatchRole();
    }
    this.firewall = this.protectStage(props);

    this.url = this.api.urlForPath('/databricks-monitor');
    new CfnOutput(this, 'Url', {
      description: 'POST Databricks job notifications and cluster failure events here',
      value: this.url,
    });
  }

  /** The REST API and its stage: regional, throttled, traced, access and error logs kept. */
  private restApi(props: IntakeApiProps, logRetention: RetentionDays): RestApi {
    const api = new RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-intake`,
      description: 'Receives Databricks job notifications and cluster failure events',
      // Callers are servers (Databricks, schedulers) in or near one region, not browsers worldwide.
      endpointTypes: [EndpointType.REGIONAL],
      // Set below with an inline policy, instead of the AWS-managed policy CDK would attach.
      cloudWatchRole: false,
      deployOptions: {
        stageName: STAGE_NAME,
        description: 'Databricks cluster recovery intake',
        tracingEnabled: true,
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        methodOptions: {
          '/ops/tickets/{id}/GET': {
            throttlingRateLimit: props.ticketReadRateLimit ?? 5,
            throttlingBurstLimit: (props.ticketReadRateLimit ?? 5) * 2,
          },
        },
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: ACCESS_LOG_FORMAT,
        // ERROR only, without data tracing: INFO would log request headers, which carry the keys.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
      },
    });

    const executionLogs = new LogGroup(this, 'ExecutionLogs', {
      // The group API Gateway would otherwise create itself, without any retention.
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${STAGE_NAME}`,
      retention: logRetention,
    });
    api.deploymentStage.node.addDependency(executionLogs);
    return api;
  }

  /**
   * Puts a web ACL in front of the stage: the given `webAclArn`, or the stack's own firewall (which
   * it returns) unless switched off; with neither, acknowledges why the stage goes without.
   */
  private protectStage(props: IntakeApiProps): IntakeFirewall | undefined {
    let firewall: IntakeFirewall | undefined;
    let webAclArn = props.webAclArn;
    if (webAclArn === undefined && (props.firewall ?? true)) {
      firewall = new IntakeFirewall(this, 'Firewall', {
        ...(props.firewallRateLimit === undefined ? {} : { rateLimit: props.firewallRateLimit }),
        maxBodyBytes: 65_536,
      });
      webAclArn = firewall.webAcl.attrArn;
    }
    if (webAclArn === undefined) {
      Validations.of(this.api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'The web ACL was switched off by the operator (context wafEnabled=false): every request is still authenticated by the function with a constant-time key comparison, the stage is throttled, and the function refuses bodies over 64 KiB itself.',
      });
    } else {
      new CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn,
      });
    }
    return firewall;
  }

  /**
   * Lets the function start executions of this one state machine, and tells it which in
   * `STATE_MACHINE_ARN`. Nothing else: the intake never reads an execution back (the execution
   * name derives from the ticket id, so a second start is answered by ExecutionAlreadyExists).
   */
  private grantStartRecovery(stateMachine: IStateMachine): void {
    const fn = this.function.lambdaFunction;
    fn.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
    stateMachine.grantStartExecution(fn);
  }

  /**
   * Sets the account-wide role API Gateway writes CloudWatch logs with. Without it, a stage with
   * access or execution logging cannot be created in an account where nobody set it before.
   */
  private setAccountCloudWatchRole(): void {
    const role = new Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Lets API Gateway write the logs of the REST APIs of this account and region',
      inlinePolicies: {
        WriteLogs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              // The actions of the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy.
              actions: [
                'logs:CreateLogGroup',
                'logs:CreateLogStream',
                'logs:DescribeLogGroups',
                'logs:DescribeLogStreams',
                'logs:PutLogEvents',
                'logs:GetLogEvents',
                'logs:FilterLogEvents',
              ],
              resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`],
            }),
          ],
        }),
      },
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]`,
      reason:
        "API Gateway uses one role per account and region for the logs of every REST API there, in log groups it names after each API's generated id. A role limited to this API's groups would stop the logging of the account's other APIs; the role is limited to the log groups of this account and region.",
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);

    const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    // Retained: deleting this stack must not take the logging of the account's other APIs with it.
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    account.node.addDependency(this.api.node.defaultChild as Construct);
    this.api.deploymentStage.node.addDependency(account);
  }
}

function acknowledgeFunctionAuth(methods: readonly Method[]): void {
  const reason =
    'Databricks notification destinations can send only HTTP Basic credentials, so an IAM or Cognito authorizer would lock Databricks out. The function authenticates every request against the API keys in Secrets Manager (x-api-key or Basic, current and previous key, constant-time comparison).';
  for (const method of methods) {
    Validations.of(method).acknowledge(
      { id: 'AwsSolutions-APIG4', reason },
      { id: 'AwsSolutions-COG4', reason },
    );
  }
}

function acknowledgeValidationInFunction(api: RestApi): void {
  Validations.of(api).acknowledge({
    id: 'AwsSolutions-APIG2',
    reason:
      "The function validates every request after authenticating it, and answers with a 4xx that names the offending field. An API Gateway model would answer unauthenticated callers first, with a bare 'Invalid request body', and reject payload variants the function accepts.",
  });
}
