import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  connectionFromOutputs,
  readStackConnection,
  resolveConnection,
  type StackConnection,
  type StackOutput,
} from '../../lib/cli/stack-outputs.ts';
import { RecoveryStack } from '../../lib/stack.ts';
import { testApp } from '../infra/cdk-app.ts';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

interface Deployment {
  readonly region: string;
  readonly urlSuffix: string;
  readonly apiId: string;
}

/**
 * What CloudFormation would resolve the synthesized outputs to in a deployment: Ref, Fn::Join,
 * Fn::Select and Fn::Split over the template's own resources (an API's Ref is its id, a stage's its
 * name, anything else its logical id).
 */
function resolve(
  value: Json,
  resources: Record<string, { Type: string; Properties?: Record<string, Json> }>,
  at: Deployment,
): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return String(value);
  const [fn, args] = Object.entries(value)[0] ?? ['', null];
  const all = (list: Json) => (list as Json[]).map((item) => resolve(item, resources, at));
  switch (fn) {
    case 'Ref': {
      const pseudo: Record<string, string> = {
        'AWS::Region': at.region,
        'AWS::URLSuffix': at.urlSuffix,
        'AWS::Partition': 'aws',
        'AWS::AccountId': '111122223333',
      };
      const name = String(args);
      const resource = resources[name];
      if (pseudo[name] !== undefined) return pseudo[name];
      if (resource?.Type === 'AWS::ApiGateway::RestApi') return at.apiId;
      if (resource?.Type === 'AWS::ApiGateway::Stage') return String(resource.Properties?.StageName);
      return name;
    }
    case 'Fn::Join': {
      const [separator, parts] = args as [string, Json[]];
      return all(parts).join(separator);
    }
    case 'Fn::Split': {
      const [separator, source] = args as [string, Json];
      return JSON.stringify(resolve(source, resources, at).split(separator));
    }
    case 'Fn::Select': {
      const [index, list] = args as [number, Json];
      return (JSON.parse(resolve(list, resources, at)) as string[])[index] ?? '';
    }
    default:
      return JSON.stringify(value);
  }
}

describe("rca --stack: the operations URL and region from the stack's outputs", () => {
  let template: ReturnType<Template['toJSON']>;
  beforeAll(() => {
    template = Template.fromStack(new RecoveryStack(testApp(), 'Ops')).toJSON();
  });

  /** The outputs DescribeStacks would return for the synthesized template, deployed as `at` says. */
  const outputsAt = (at: Deployment): StackOutput[] =>
    Object.entries(template.Outputs as Record<string, { Value: Json }>).map(([key, output]) => ({
      OutputKey: key,
      OutputValue: resolve(output.Value, template.Resources, at),
    }));

  it.each([
    { region: 'eu-west-1', urlSuffix: 'amazonaws.com', apiId: 'a1b2c3d4e5' },
    { region: 'us-east-2', urlSuffix: 'amazonaws.com', apiId: 'zz99yy88xx' },
    { region: 'cn-north-1', urlSuffix: 'amazonaws.com.cn', apiId: 'q1w2e3r4t5' },
  ])('reads the stage URL and $region from the synthesized outputs', (at) => {
    // Prepare
    const outputs = outputsAt(at);

    // Act
    const connection = connectionFromOutputs('DatabricksClusterRecovery', outputs);

    // Assess
    expect(connection).toEqual({
      url: `https://${at.apiId}.execute-api.${at.region}.${at.urlSuffix}/prod`,
      region: at.region,
    });
  });

  it.each([
    {
      name: 'a stack without the operations output',
      drop: /^OperationsUrl/,
      replace: undefined,
      says: 'has no OperationsUrl output',
    },
    {
      name: 'an operations output that is not an API Gateway URL',
      drop: undefined,
      replace: 'http://localhost:8000/',
      says: 'is not an API Gateway URL',
    },
  ])('refuses $name, saying what to do', ({ drop, replace, says }) => {
    // Prepare
    const outputs = outputsAt({ region: 'eu-west-1', urlSuffix: 'amazonaws.com', apiId: 'a1b2c3d4e5' })
      .filter((o) => drop === undefined || !drop.test(o.OutputKey ?? ''))
      .map((o) =>
        replace !== undefined && /^OperationsUrl/.test(o.OutputKey ?? '')
          ? { ...o, OutputValue: replace }
          : o,
      );

    // Act
    const read = () => connectionFromOutputs('Other', outputs);

    // Assess
    expect(read).toThrow(says);
  });
});

describe('where rca connects', () => {
  beforeEach(() => {
    for (const name of ['RCA_URL', 'RCA_STACK', 'AWS_REGION']) vi.stubEnv(name, undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const found: StackConnection = {
    url: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod',
    region: 'eu-west-1',
  };

  it.each([
    { given: { url: 'http://localhost:8000', key: 'k'.repeat(20) }, reads: [], url: 'http://localhost:8000' },
    { given: {}, reads: [['DatabricksClusterRecovery', undefined]], url: found.url },
    {
      given: { stack: 'Recovery-Staging', region: 'eu-west-1' },
      reads: [['Recovery-Staging', 'eu-west-1']],
      url: found.url,
    },
  ])('connects to $url given $given', async ({ given, reads, url }) => {
    // Prepare
    const calls: [string, string | undefined][] = [];

    // Act
    const connection = await resolveConnection(given, async (stackName, region) => {
      calls.push([stackName, region]);
      return found;
    });

    // Assess
    expect(connection.url).toBe(url);
    expect(calls).toEqual(reads);
  });

  it.each([
    { given: { url: 'http://localhost:8000', stack: 'X' }, says: 'give --url or --stack, not both' },
    { given: { key: 'k'.repeat(20) }, says: 'give its --url too' },
  ])('refuses $given as bad usage', async ({ given, says }) => {
    // Act
    const attempt = resolveConnection(given, async () => found);

    // Assess
    await expect(attempt).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining(says) });
  });
});

describe('reading the stack without a region', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('says to give --region, before any AWS call', async () => {
    // Prepare: no region anywhere the default chain looks
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(name, undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(import.meta.dirname, 'no-such-aws-config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(import.meta.dirname, 'no-such-aws-credentials'));

    // Act
    const attempt = readStackConnection('DatabricksClusterRecovery');

    // Assess
    await expect(attempt).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('--region'),
    });
  });
});
