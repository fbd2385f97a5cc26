import { Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/**
 * What a state machine's execution role may do: invoke its one task function and nothing else,
 * deliver logs, and send traces — three policies, the state machine created only once all exist
 * (Step Functions checks log delivery at creation).
 */
export function grantExecutionRole(
  scope: Construct,
  role: Role,
  taskFunction: LambdaFunction,
  stateMachine: StateMachine,
): void {
  const invoke = new Policy(scope, 'InvokeTaskFunction', {
    roles: [role],
    statements: [
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [taskFunction.functionArn] }),
    ],
  });
  const logDelivery = new Policy(scope, 'LogDeliveryPolicy', {
    roles: [role],
    statements: [
      new PolicyStatement({
        // The actions CDK grants for Step Functions logging (CloudWatch Logs vended log delivery).
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      }),
    ],
  });
  Validations.of(logDelivery).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Step Functions delivers execution logs through CloudWatch Logs vended log delivery, whose actions (logs:CreateLogDelivery, logs:PutResourcePolicy, …) do not support resource-level permissions; this policy holds nothing else.',
  });
  const tracing = new Policy(scope, 'TracingPolicy', {
    roles: [role],
    statements: [
      new PolicyStatement({
        actions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        resources: ['*'],
      }),
    ],
  });
  Validations.of(tracing).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'The X-Ray actions a traced state machine needs do not support resource-level permissions; this policy holds nothing else.',
  });
  const resource = stateMachine.node.defaultChild as Construct;
  for (const policy of [invoke, logDelivery, tracing]) resource.node.addDependency(policy);
}
