import { CfnOutput, Duration, RemovalPolicies, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { readRecoveryConfig, seedWorkspaces } from './config.ts';
import { IntakeApi } from './constructs/intake-api.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Notifications } from './constructs/notifications.ts';
import { OperationsApi } from './constructs/operations-api.ts';
import { Poller } from './constructs/poller.ts';
import { RecoveryFunction } from './constructs/recovery-function.ts';
import { RecoveryWorkflow } from './constructs/recovery-workflow.ts';
import { IntakeSecrets } from './constructs/secrets.ts';
import { Storage } from './constructs/storage.ts';
import { WorkspaceRegistry } from './constructs/workspace-registry.ts';

/** Databricks cluster failure detection and recovery. Composes the constructs; holds no resource of its own. */
export class RecoveryStack extends Stack {
  /** Tickets, incidents, breakers and poll cursors. */
  public readonly storage: Storage;

  /** The API keys the intake accepts. */
  public readonly intakeSecrets: IntakeSecrets;

  /** Where tickets, recoveries and escalations are announced. */
  public readonly notifications: Notifications;

  /** Answers which build is deployed; has no access to anything. */
  public readonly healthFunction: RecoveryFunction;

  /** The workspace registry, seeded from the CDK context `databricksWorkspaces` (see `lib/config.ts`). */
  public readonly workspaces: WorkspaceRegistry;

  /** The HTTP intake: `POST /databricks-monitor` (and `/{workspace}`). */
  public readonly intake: IntakeApi;
  /** The operators' IAM-authorized `/ops` routes beside the webhook. */
  public readonly operations: OperationsApi;

  /** The recovery state machine and its task function. */
  public readonly recoveryWorkflow: RecoveryWorkflow;

  /** Lists every cluster every 5 minutes, tickets failures and reconciles unfinished recoveries. */
  public readonly poller: Poller;

  /** The dashboard and the seed's three alerts. */
  public readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, {
      description: 'Detects and recovers failed Databricks clusters',
      ...props,
    });

    const config = readRecoveryConfig(this);
    // The intake, the operations API and the poller act on the same settings.
    const settings = {
      autoRemediationEnabled: config.autoRemediationEnabled,
      playbookOverrides: config.playbookOverrides,
      breakerConfig: config.breakerConfig,
    };
    this.storage = new Storage(this, 'Storage');
    this.intakeSecrets = new IntakeSecrets(this, 'IntakeSecrets');
    this.notifications = new Notifications(this, 'Notifications');
    this.healthFunction = new RecoveryFunction(this, 'HealthFunction', {
      entry: 'functions/handlers/health.ts',
      description: 'Reports the service name and the deployed version',
      synchronousCaller: 'operators and post-deployment smoke tests (lambda invoke, RequestResponse)',
    });

    this.workspaces = this.workspaceRegistry(config);
    this.recoveryWorkflow = new RecoveryWorkflow(this, 'RecoveryWorkflow', {
      storage: this.storage,
      notifications: this.notifications,
      workspaces: this.workspaces,
      breakerConfig: config.breakerConfig,
      autoRemediationEnabled: config.autoRemediationEnabled,
      playbookOverrides: config.playbookOverrides,
      ...(config.slackWebhookSecretName === undefined
        ? {}
        : {
            slackWebhookSecret: Secret.fromSecretNameV2(this, 'SlackWebhook', config.slackWebhookSecretName),
          }),
    });
    this.intake = new IntakeApi(this, 'Intake', {
      workspaces: this.workspaces,
      storage: this.storage,
      secrets: this.intakeSecrets,
      stateMachine: this.recoveryWorkflow.stateMachine,
      ...settings,
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      firewall: config.wafEnabled ?? true,
      ...(config.wafRateLimit === undefined ? {} : { firewallRateLimit: config.wafRateLimit }),
    });
    this.operations = new OperationsApi(this, 'Operations', {
      api: this.intake.api,
      storage: this.storage,
      workspaces: this.workspaces,
      stateMachine: this.recoveryWorkflow.stateMachine,
      ...settings,
    });
    this.poller = new Poller(this, 'Poller', {
      workspaces: this.workspaces,
      storage: this.storage,
      stateMachine: this.recoveryWorkflow.stateMachine,
      notifications: this.notifications,
      ...(config.pollIntervalMinutes === undefined
        ? {}
        : { schedule: Duration.minutes(config.pollIntervalMinutes) }),
      ...settings,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      notifications: this.notifications,
      stateMachine: this.recoveryWorkflow.stateMachine,
      intakeApi: this.intake.api,
      logGroups: [
        this.intake.function.logGroup,
        this.poller.function.logGroup,
        this.poller.logGroup,
        this.recoveryWorkflow.taskFunction.logGroup,
      ],
    });

    this.wireFleetSafety(config);
    this.applyDataRemovalPolicy(config.retainData ?? true);
    this.addOutputs();
  }

  /** The workspace registry, seeded from the context's workspaces. */
  private workspaceRegistry(config: ReturnType<typeof readRecoveryConfig>): WorkspaceRegistry {
    return new WorkspaceRegistry(this, 'Workspaces', {
      storage: this.storage,
      seed: seedWorkspaces(this, config),
      ...(config.databricksSecretPrefix === undefined ? {} : { secretPrefix: config.databricksSecretPrefix }),
      ...(config.databricksReadOnlySecretPrefix === undefined
        ? {}
        : { readOnlySecretPrefix: config.databricksReadOnlySecretPrefix }),
    });
  }

  /**
   * Fleet safety (blast-radius cap, approval gate): every function that starts, ends or reconciles
   * a recovery reads the same `RECOVERY_CAP`; the poller announces approvals waiting and timed out
   * on the notification topic.
   */
  private wireFleetSafety(config: ReturnType<typeof readRecoveryConfig>): void {
    const functions = [
      this.intake.function,
      this.poller.function,
      this.recoveryWorkflow.taskFunction,
      this.operations.function,
    ];
    if (config.recoveryCap !== undefined) {
      for (const fn of functions)
        fn.lambdaFunction.addEnvironment('RECOVERY_CAP', JSON.stringify(config.recoveryCap));
    }
    // Outage correlation: the intake and the poller count failures, the poller and the workflow task
    // settle outages, the operations function resolves them.
    if (config.outageCorrelation !== undefined) {
      for (const fn of functions)
        fn.lambdaFunction.addEnvironment('OUTAGE_CORRELATION', JSON.stringify(config.outageCorrelation));
    }
    const poller = this.poller.function.lambdaFunction;
    poller.addEnvironment('NOTIFICATION_TOPIC_ARN', this.notifications.topic.topicArn);
    this.notifications.grantPublish(poller);
  }

  /**
   * What `cdk destroy` does with the stack's data: the table (tickets and their audit trail), the
   * notification topic's KMS key and every log group. Retained by default, so that an accidental
   * destroy or a replacement loses no history; `retainData=false` (test and throw-away stacks) deletes
   * them with the stack (the key after AWS KMS's 7-day minimum waiting period). API Gateway's account
   * logging role and setting are retained either way: other APIs of the account log through them.
   */
  private applyDataRemovalPolicy(retain: boolean): void {
    RemovalPolicies.of(this).apply(retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY, {
      applyToResourceTypes: ['AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::Logs::LogGroup'],
    });
  }

  /** What an operator needs after a deployment, as stack outputs (`cdk deploy` prints them). */
  private addOutputs(): void {
    const keys = this.intakeSecrets.apiKeys;
    new CfnOutput(this, 'IntakeKeySecretName', {
      description:
        'The Secrets Manager secret holding the intake API keys (current, previous, basic_username)',
      value: keys.secretName,
    });
    new CfnOutput(this, 'ReadIntakeKeyCommand', {
      description: 'Prints the secret with the current API key; the key is the HTTP Basic password',
      value: `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${keys.secretArn} --query SecretString --output text`,
    });
    new CfnOutput(this, 'TableName', {
      description: 'The DynamoDB table of tickets, audit trail, breakers and poll cursors',
      value: this.storage.table.tableName,
    });
    new CfnOutput(this, 'StateMachineArn', {
      description: 'The recovery workflow (Step Functions)',
      value: this.recoveryWorkflow.stateMachine.stateMachineArn,
    });
  }
}
