import { Aws, CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import {
  AuthorizationType,
  type IResource,
  LambdaIntegration,
  type Method,
  type RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { IntakeBreakerConfig } from './intake-api.ts';
import { RecoveryFunction } from './recovery-function.ts';
import { settingsEnvironment } from './settings.ts';
import type { Storage } from './storage.ts';
import type { WorkspaceRegistry } from './workspace-registry.ts';

/** Properties of {@link OperationsApi}. */
export interface OperationsApiProps {
  /** The REST API the `/ops` routes are added to (the intake's). */
  readonly api: RestApi;
  /** The table of tickets, breakers and silences. */
  readonly storage: Storage;
  /** The workspace registry `rca workspaces` changes, `rca doctor` checks and `rca silence list` reads clusters from. */
  readonly workspaces: WorkspaceRegistry;
  /** The recovery workflow `rca retry` starts. */
  readonly stateMachine: IStateMachine;
  /** @default true */
  readonly autoRemediationEnabled?: boolean;
  /** The intake's playbook overrides, so the doctor and retries see the same playbooks. @default none */
  readonly playbookOverrides?: Readonly<Record<string, unknown>>;
  /** @default the defaults of `functions/core/breaker.ts` */
  readonly breakerConfig?: IntakeBreakerConfig;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
}

/** The operations routes, as API Gateway resources under `/ops`, with their methods. */
const ROUTES: readonly (readonly [path: string, methods: readonly string[]])[] = [
  ['tickets', ['GET']],
  ['tickets/{id}', ['GET']],
  ['tickets/{id}/retry', ['POST']],
  ['tickets/{id}/approve', ['POST']],
  ['tickets/{id}/deny', ['POST']],
  ['retry-disabled', ['POST']],
  ['breakers', ['GET', 'POST']],
  ['silences', ['GET', 'POST']],
  ['silences/{id}', ['DELETE']],
  ['outages', ['GET']],
  ['outages/{id}', ['GET']],
  ['outages/{id}/resolve', ['POST']],
  ['report', ['GET']],
  ['doctor', ['GET']],
  ['workspaces', ['GET', 'POST']],
  ['workspaces/{id}', ['DELETE']],
  ['workspaces/{id}/check', ['GET']],
];

/**
 * The operators' API beside the webhook: `/ops/...` routes on the intake's REST API, every method
 * IAM-authorized (SigV4), proxied to a function of their own. The webhook's key can never reach
 * them: API Gateway refuses any request not signed by an IAM principal allowed `execute-api:Invoke`
 * on them — the {@link OperationsApi.operatorPolicy} grants exactly that.
 */
export class OperationsApi extends Construct {
  /** The function behind every `/ops` route. */
  public readonly function: RecoveryFunction;
  /** Attach to the operators' roles or users: invoke the `/ops` routes, nothing else. */
  public readonly operatorPolicy: ManagedPolicy;
  /** The methods, for tests and further acknowledgements. */
  public readonly methods: readonly Method[];

  constructor(scope: Construct, id: string, props: OperationsApiProps) {
    super(scope, id);
    this.function = new RecoveryFunction(this, 'Function', {
      entry: 'functions/handlers/ops.ts',
      description: 'Operations API: tickets, retries, breakers, silences, report and doctor for on-call',
      timeout: Duration.seconds(25),
      logRetention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      synchronousCaller: 'API Gateway (operators, IAM-signed)',
      environment: settingsEnvironment(this, props),
    });
    const fn = this.function.lambdaFunction;
    props.storage.grantReadWriteData(fn);
    props.workspaces.configureOperations(this.function);
    fn.addEnvironment('STATE_MACHINE_ARN', props.stateMachine.stateMachineArn);
    props.stateMachine.grantStartExecution(fn);

    const integration = new LambdaIntegration(fn);
    const ops = props.api.root.addResource('ops');
    const methods: Method[] = [];
    for (const [path, verbs] of ROUTES) {
      let resource: IResource = ops;
      for (const part of path.split('/')) resource = resource.getResource(part) ?? resource.addResource(part);
      for (const verb of verbs) {
        methods.push(resource.addMethod(verb, integration, { authorizationType: AuthorizationType.IAM }));
      }
    }
    this.methods = methods;
    for (const method of methods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'The operations routes are IAM-authorized (SigV4): operators are IAM principals with the operator policy, not Cognito users.',
      });
    }

    const stage = props.api.deploymentStage.stageName;
    this.operatorPolicy = new ManagedPolicy(this, 'OperatorPolicy', {
      description: 'Lets on-call use the rca operations commands: invoke the /ops routes of the recovery API',
      statements: [
        new PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [props.api.arnForExecuteApi('*', '/ops/*', stage)],
        }),
        // `rca --stack NAME` reads the operations URL from this stack's outputs.
        new PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [Aws.STACK_ID] }),
      ],
    });
    Validations.of(this.operatorPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<IntakeApi6BE964B1>/<IntakeApiDeploymentStageprod20E34BC0>/*/ops/*]',
      reason:
        'The wildcard covers the methods and paths under /ops of this one API and stage (ticket ids and silence ids are path parameters); nothing outside /ops.',
    });

    new CfnOutput(this, 'Url', {
      description: 'rca --url: the operations commands sign their requests to /ops with your AWS credentials',
      value: props.api.urlForPath('/'),
    });
    new CfnOutput(this, 'OperatorPolicyArn', {
      description: 'Attach to on-call roles to use rca tickets, retry, breakers, silence, report and doctor',
      value: this.operatorPolicy.managedPolicyArn,
    });
  }
}
