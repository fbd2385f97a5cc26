import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { OPERATIONS_RESOURCES } from '../../lib/local/api-gateway.ts';
import { RecoveryStack } from '../../lib/stack.ts';
import { testApp } from './cdk-app.ts';

function synthesise() {
  const stack = new RecoveryStack(testApp(), 'Ops');
  return { stack, template: Template.fromStack(stack) };
}

type Resource = { readonly Properties: Record<string, unknown> };

/** `GET /ops/tickets/{id}` for every method of the API, from the resource tree. */
function routes(template: Template): Map<string, Resource> {
  const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
  const pathOf = (id: string): string => {
    const resource = resources[id];
    if (resource === undefined) return '';
    const parent = resource.Properties.ParentId as { Ref?: string };
    return `${parent.Ref === undefined ? '' : pathOf(parent.Ref)}/${String(resource.Properties.PathPart)}`;
  };
  const methods = template.findResources('AWS::ApiGateway::Method') as Record<string, Resource>;
  return new Map(
    Object.values(methods).map((method) => {
      const ref = (method.Properties.ResourceId as { Ref?: string }).Ref;
      return [`${String(method.Properties.HttpMethod)} ${ref === undefined ? '/' : pathOf(ref)}`, method];
    }),
  );
}

describe('OperationsApi', () => {
  it('serves every operations route the local stand-in serves, each IAM-authorized and proxied to its own function', () => {
    // Prepare
    const { stack, template } = synthesise();
    const functionId = stack.getLogicalId(
      stack.operations.function.lambdaFunction.node.defaultChild as CfnFunction,
    );

    // Act
    const all = routes(template);
    const ops = [...all].filter(([route]) => route.includes(' /ops/'));

    // Assess
    expect([...new Set(ops.map(([route]) => route.split(' ')[1]))].sort()).toEqual(
      [...OPERATIONS_RESOURCES].sort(),
    );
    for (const [, method] of ops) {
      expect(method.Properties).toMatchObject({
        AuthorizationType: 'AWS_IAM',
        Integration: { Type: 'AWS_PROXY' },
      });
      expect(JSON.stringify(method.Properties.Integration)).toContain(functionId);
    }
  });

  it('leaves only the webhook routes to the webhook key: no ticket read without IAM', () => {
    // Act
    const unauthenticated = [...routes(synthesise().template)]
      .filter(([, method]) => method.Properties.AuthorizationType === 'NONE')
      .map(([route]) => route);

    // Assess
    expect(unauthenticated.sort()).toEqual([
      'POST /databricks-monitor',
      'POST /databricks-monitor/{workspace}',
    ]);
  });

  it("grants operators execute-api:Invoke on the /ops routes of this API and stage only, and this stack's outputs", () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/\\*/ops/\\*$')])],
            },
          }),
          { Action: 'cloudformation:DescribeStacks', Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } },
        ],
      },
    });
    template.hasOutput('*', { Value: { Ref: Match.stringLikeRegexp('OperatorPolicy') } });
  });

  it('gives its function the table, the workspaces and the recovery start, and no intake key', () => {
    // Prepare
    const { stack, template } = synthesise();
    const role = stack.resolve(stack.operations.function.role.roleName);

    // Act
    const statements = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([role]) } }),
    ).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
    );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

    // Assess
    expect(actions).toContain('states:StartExecution');
    expect(actions).toContain('dynamodb:PutItem');
    expect(JSON.stringify(statements)).not.toContain('IntakeSecrets');
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });
});
