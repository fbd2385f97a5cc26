#!/usr/bin/env node
/**
 * `npm run test:aws`: the opt-in integration run against a real AWS account and a real Databricks
 * workspace. Never part of `npm test` or CI (the file is not a `*.test.ts`), and skipped — exit 0 with a
 * message — unless AWS credentials and the variables below are present.
 *
 * 1. deploys a uniquely named stack (`RcaIntegration-<time>-<random>`, `retainData=false`);
 * 2. reads the intake key from the stack's secret and runs `rca smoke` against the deployment with HTTP
 *    Basic, as Databricks sends it, including a real recovery of RCA_AWS_CLUSTER_ID followed to its
 *    closed ticket;
 * 3. destroys the stack, whatever happened.
 *
 * Environment:
 *   RCA_AWS_DATABRICKS_HOST       https://<workspace>.cloud.databricks.com
 *   RCA_AWS_CREDENTIALS_SECRET    name of the acting credential's secret (see docs/deploy.md)
 *   RCA_AWS_READ_ONLY_SECRET      optional: name of the read-only credential's secret
 *   RCA_AWS_CLUSTER_ID            a cluster you are happy to see restarted (it is told it failed)
 *   RCA_AWS_WAIT_SECONDS          how long to follow the recovery (900)
 *   AWS_REGION, and credentials the AWS SDK and the CDK CLI find (profile, SSO, environment)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { main as rca } from '../../lib/cli/main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function skip(reason: string): never {
  process.stdout.write(`test:aws skipped: ${reason}\n`);
  process.exit(0);
}

function cdk(args: readonly string[]): void {
  const result = spawnSync('npx', ['cdk', ...args], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`cdk ${args[0]} failed with exit code ${result.status}`);
}

async function run(): Promise<number> {
  const host = process.env.RCA_AWS_DATABRICKS_HOST;
  const secretName = process.env.RCA_AWS_CREDENTIALS_SECRET;
  const clusterId = process.env.RCA_AWS_CLUSTER_ID;
  if (host === undefined || secretName === undefined || clusterId === undefined) {
    skip(
      'set RCA_AWS_DATABRICKS_HOST, RCA_AWS_CREDENTIALS_SECRET and RCA_AWS_CLUSTER_ID (see docs/deploy.md)',
    );
  }
  const secrets = new SecretsManagerClient({});
  try {
    await secrets.config.credentials();
  } catch {
    skip('no AWS credentials found (profile, SSO or environment)');
  }

  const stackName = `RcaIntegration-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const workspaces = [
    {
      id: 'integration',
      host,
      credentialsSecretName: secretName,
      ...(process.env.RCA_AWS_READ_ONLY_SECRET === undefined
        ? {}
        : { readOnlyCredentialsSecretName: process.env.RCA_AWS_READ_ONLY_SECRET }),
    },
  ];
  const context = [
    '-c',
    `stackName=${stackName}`,
    '-c',
    'retainData=false',
    '-c',
    `databricksWorkspaces=${JSON.stringify(workspaces)}`,
  ];
  const dir = mkdtempSync(join(tmpdir(), 'rca-test-aws-'));
  const outputsFile = join(dir, 'outputs.json');
  process.stdout.write(`test:aws: deploying ${stackName}\n`);
  try {
    cdk(['deploy', stackName, ...context, '--require-approval', 'never', '--outputs-file', outputsFile]);
    const outputs = (JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>)[
      stackName
    ];
    const url = Object.entries(outputs ?? {}).find(([name]) => name.startsWith('IntakeUrl'))?.[1];
    const keySecret = outputs?.IntakeKeySecretName;
    if (url === undefined || keySecret === undefined)
      throw new Error('the stack outputs lack IntakeUrl or IntakeKeySecretName');
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: keySecret }));
    const keys = JSON.parse(SecretString ?? '{}') as { current?: string; basic_username?: string };
    if (keys.current === undefined || keys.basic_username === undefined)
      throw new Error('the intake key secret is incomplete');
    return await rca(
      [
        'smoke',
        '--url',
        url,
        '--key',
        keys.current,
        '--basic-user',
        keys.basic_username,
        '--cluster',
        clusterId,
        '--wait',
        process.env.RCA_AWS_WAIT_SECONDS ?? '900',
      ],
      { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    );
  } finally {
    process.stdout.write(`test:aws: destroying ${stackName}\n`);
    try {
      cdk(['destroy', stackName, ...context, '--force']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`test:aws: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
