/**
 * The stack at the edge of a real account: the web ACL and its body limit, the throttles, the two
 * Databricks credentials and who may read which, the outputs an operator needs, and what `cdk destroy`
 * keeps.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RecoveryStack } from '../../lib/stack.ts';
import { nagFindings, testApp } from './cdk-app.ts';

const WORKSPACE = {
  id: 'prod',
  host: 'https://dbc-1234.cloud.databricks.com',
  credentialsSecretName: 'databricks/prod',
};

function synthesise(context: Record<string, unknown> = {}): { stack: RecoveryStack; template: Template } {
  const stack = new RecoveryStack(testApp({ context }), 'EdgeStack');
  return { stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };

/** The Databricks credentials (as JSON text of their ARNs) the role of the function whose logical id starts with `prefix` may read. */
function secretsReadBy(template: Template, prefix: string): string[] {
  const functions = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
  const [, fn] = Object.entries(functions).find(([id]) => id.startsWith(prefix)) ?? [];
  if (fn === undefined) throw new Error(`no function ${prefix}`);
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
  return Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(
      (policy) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] })
          .Statement,
    )
    .filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue'))
    .flatMap((statement) => (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]))
    .map((resource) => JSON.stringify(resource))
    .filter((arn) => arn.includes(':secret:databricks'));
}

describe('the web ACL', () => {
  it('guards the stage by default with a 64 KiB body limit, a rate limit per address and three AWS managed rule groups', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      AssociationConfig: { RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_64' } } },
      Rules: [
        Match.objectLike({
          Name: 'BodySizeLimit',
          Priority: 0,
          Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 413 }) } },
          Statement: {
            SizeConstraintStatement: Match.objectLike({
              FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
              ComparisonOperator: 'GT',
              Size: 65_536,
            }),
          },
        }),
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 429 }) } },
          Statement: {
            RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 },
          },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' },
          },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: {
              VendorName: 'AWS',
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: [
                { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
                { Name: 'NoUserAgent_HEADER', ActionToUse: { Count: {} } },
              ],
            },
          },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' },
          },
        }),
      ],
    });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.anyValue(),
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IntakeFirewallWebAcl'), 'Arn'] },
    });
  });

  it.each([
    ['wafRateLimit', { wafRateLimit: 1200 }, 1200],
    ['wafRateLimit given as text with -c', { wafRateLimit: '600' }, 600],
  ])('takes its rate limit from the context %s', (_name, context, limit) => {
    // Act
    const { template } = synthesise(context);

    // Assess
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([
        Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: limit }) } }),
      ]),
    });
  });

  it.each([[false], ['false']])(
    'is left out with wafEnabled=%j, and the stack stays nag-clean',
    (wafEnabled) => {
      // Act
      const { stack, template } = synthesise({ wafEnabled });

      // Assess
      template.resourceCountIs('AWS::WAFv2::WebACL', 0);
      template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
      expect(nagFindings(stack)).toEqual([]);
    },
  );

  it('refuses a rate limit WAF would refuse, naming the context key', () => {
    // Act
    const synthesising = () => synthesise({ wafRateLimit: 5 });

    // Assess
    expect(synthesising).toThrow(/wafRateLimit/);
  });
});

describe('the stage throttles', () => {
  it('caps ticket reads at 5 requests per second so that they never crowd out deliveries (50 per second, bursts of 100)', () => {
    // Act
    const { template } = synthesise();

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
        Match.objectLike({
          HttpMethod: 'GET',
          ResourcePath: '/~1ops~1tickets~1{id}',
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
        }),
      ]),
    });
  });
});

describe('the two Databricks credentials', () => {
  it('confines the intake to the read-only prefix when one is configured, and the workflow and the poller to the acting one', () => {
    // Prepare
    const workspaces = [{ ...WORKSPACE, readOnlyCredentialsSecretName: 'databricks-read/prod' }];

    // Act
    const { stack, template } = synthesise({
      databricksWorkspaces: workspaces,
      databricksReadOnlySecretPrefix: 'databricks-read/',
    });

    // Assess
    expect(secretsReadBy(template, 'IntakeFunction')).toEqual([
      expect.stringContaining(':secret:databricks-read/*'),
    ]);
    for (const fn of ['PollerFunction', 'RecoveryWorkflowTaskFunction', 'OperationsFunction']) {
      expect(secretsReadBy(template, fn)).toEqual([expect.stringContaining(':secret:databricks/*')]);
    }
    expect(nagFindings(stack)).toEqual([]);
  });

  it('refuses a seeded workspace whose read-only secret is missing or outside the read-only prefix', () => {
    // Act
    const missing = () =>
      synthesise({ databricksWorkspaces: [WORKSPACE], databricksReadOnlySecretPrefix: 'databricks-read/' });
    const outside = () =>
      synthesise({
        databricksWorkspaces: [{ ...WORKSPACE, readOnlyCredentialsSecretName: 'databricks/prod-read' }],
        databricksReadOnlySecretPrefix: 'databricks-read/',
      });

    // Assess
    expect(missing).toThrow(/workspace 'prod': readOnlyCredentialsSecretName: required/);
    expect(outside).toThrow(/readOnlyCredentialsSecretName: must start with 'databricks-read\/'/);
  });

  it('lets the intake read under the acting prefix when no read-only prefix is configured, and says so', () => {
    // Act
    const { stack, template } = synthesise({ databricksWorkspaces: [WORKSPACE] });

    // Assess
    expect(secretsReadBy(template, 'IntakeFunction')).toEqual([
      expect.stringContaining(':secret:databricks/*'),
    ]);
    const notes = stack.node.metadata
      .filter((entry) => entry.type === 'aws:cdk:info')
      .map((entry) => entry.data);
    expect(notes.join('\n')).toMatch(/prod without readOnlyCredentialsSecretName/);
  });
});

describe('the outputs', () => {
  it.each([
    ['IntakeUrl', 'POST Databricks job notifications'],
    ['IntakeKeySecretName', 'intake API keys'],
    ['ReadIntakeKeyCommand', 'current API key'],
    ['TableName', 'DynamoDB table'],
    ['StateMachineArn', 'recovery workflow'],
    ['TopicArn', 'Subscribe'],
  ])('include %s', (name, description) => {
    // Act
    const { template } = synthesise();

    // Assess
    const outputs = template.findOutputs('*');
    const [, output] = Object.entries(outputs).find(([id]) => id.includes(name)) ?? [];
    expect(output?.Description).toContain(description);
  });

  it('print the exact command that reads the intake key', () => {
    // Act
    const { template } = synthesise();

    // Assess
    const command = JSON.stringify(template.findOutputs('ReadIntakeKeyCommand').ReadIntakeKeyCommand?.Value);
    expect(command).toContain('aws secretsmanager get-secret-value --region ');
    expect(command).toContain(' --secret-id ');
    expect(command).toMatch(/"Ref":"IntakeSecretsApiKeys[0-9A-F]+"/);
  });
});

describe('what cdk destroy keeps', () => {
  it.each([
    ['by default', {}, 'Retain'],
    ['with retainData=true', { retainData: true }, 'Retain'],
    ['with retainData=false', { retainData: 'false' }, 'Delete'],
  ])('%s: the table, the topic key and every log group are %s', (_name, context, policy) => {
    // Act
    const { template } = synthesise(context);

    // Assess
    for (const type of ['AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::Logs::LogGroup']) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.DeletionPolicy).toBe(policy);
    }
  });

  it('keeps the account-wide API Gateway logging role and setting even with retainData=false', () => {
    // Act
    const { template } = synthesise({ retainData: false });

    // Assess
    template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ Description: Match.stringLikeRegexp('API Gateway write the logs') }),
    });
  });
});
