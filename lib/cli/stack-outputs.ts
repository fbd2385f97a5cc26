/**
 * `rca --stack NAME`: the operations commands find the deployed API in the stack's CloudFormation
 * outputs instead of `--url`. The AWS call is one DescribeStacks with the default credential chain;
 * what is read from its outputs (`connectionFromOutputs`) is pure, and tested on the outputs of the
 * template `cdk synth` produces.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { optionalEnv } from '../../functions/shared/env.ts';
import { CliError, connectionFrom, EXIT, type OpsConnection } from './ops-client.ts';

/** The stack name `cdk deploy` uses without the `stackName` context key (bin/app.ts). */
export const DEFAULT_STACK_NAME = 'DatabricksClusterRecovery';

/** One output as DescribeStacks returns it. */
export interface StackOutput {
  readonly OutputKey?: string;
  readonly OutputValue?: string;
}

export interface StackConnection {
  /** The API's base URL (the stage URL, without a trailing slash). */
  readonly url: string;
  /** The region in the URL, which the SigV4 signature names. */
  readonly region: string;
}

/**
 * The operations URL output (`OperationsUrl` + the hash CDK appends to construct outputs) and the
 * region its host names.
 */
export function connectionFromOutputs(stackName: string, outputs: readonly StackOutput[]): StackConnection {
  const output = outputs.find((o) => /^OperationsUrl([0-9A-F]{8})?$/.test(o.OutputKey ?? ''));
  if (output?.OutputValue === undefined) {
    throw new CliError(
      `stack ${stackName} has no OperationsUrl output: is it this project's stack, deployed at a version with the operations API? (outputs: ${outputs.map((o) => o.OutputKey).join(', ') || 'none'})`,
      EXIT.failed,
    );
  }
  const url = output.OutputValue.replace(/\/+$/, '');
  const region = /^https:\/\/[^/]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\//.exec(`${url}/`)?.[1];
  if (region === undefined) {
    throw new CliError(
      `stack ${stackName}'s OperationsUrl is not an API Gateway URL (${url}); pass --url and --region instead`,
      EXIT.failed,
    );
  }
  return { url, region };
}

/** Reads the stack's outputs (DescribeStacks) in `region` (else the default chain's region). */
export async function readStackConnection(stackName: string, region?: string): Promise<StackConnection> {
  const client = new CloudFormationClient({
    ...(region === undefined ? {} : { region }),
    credentials: fromNodeProviderChain(),
  });
  try {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return connectionFromOutputs(stackName, Stacks[0]?.Outputs ?? []);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const { name, message } = error as Error;
    if (name === 'ValidationError' && /does not exist/.test(message)) {
      throw new CliError(
        `stack ${stackName} does not exist in ${region ?? 'the default region'}: name it with --stack and its region with --region (or AWS_REGION)`,
        EXIT.notFound,
      );
    }
    if (
      /credential|token|AccessDenied|not authorized|UnrecognizedClient|InvalidClientTokenId/i.test(
        `${name} ${message}`,
      )
    ) {
      throw new CliError(
        `cannot read stack ${stackName} (${message}): configure AWS credentials allowed cloudformation:DescribeStacks, or pass --url`,
        EXIT.auth,
      );
    }
    if (/region/i.test(message)) {
      throw new CliError(
        `cannot read stack ${stackName} (${message}): give --region or AWS_REGION, or --url (and --key for npm start)`,
        EXIT.usage,
      );
    }
    throw new CliError(`cannot read stack ${stackName} (${message}); pass --url instead`, EXIT.unavailable);
  } finally {
    client.destroy();
  }
}

/**
 * Where the commands connect: `--url` (or RCA_URL) as given; otherwise the stack's outputs — `--stack`,
 * else RCA_STACK, else the default stack name — signed with AWS credentials.
 */
export async function resolveConnection(
  values: { url?: unknown; key?: unknown; region?: unknown; stack?: unknown },
  readStack: (stackName: string, region?: string) => Promise<StackConnection> = readStackConnection,
): Promise<OpsConnection> {
  const url = typeof values.url === 'string' ? values.url : optionalEnv('RCA_URL');
  if (url !== undefined && url !== '') {
    if (typeof values.stack === 'string') throw new CliError('give --url or --stack, not both', EXIT.usage);
    return connectionFrom(values);
  }
  if (typeof values.key === 'string') {
    throw new CliError(
      '--key is the operator key of npm start: give its --url too (http://localhost:8000)',
      EXIT.usage,
    );
  }
  const stackName =
    (typeof values.stack === 'string' ? values.stack : optionalEnv('RCA_STACK')) ?? DEFAULT_STACK_NAME;
  const region = typeof values.region === 'string' ? values.region : optionalEnv('AWS_REGION');
  const found = await readStack(stackName, region);
  return { url: found.url, region: found.region };
}
