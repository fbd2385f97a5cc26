#!/usr/bin/env node
/**
 * `npm run bench`, second part: what Lambda runs, not the TypeScript sources.
 *
 * 1. Synthesises the app with bundling (the local esbuild, as `cdk synth` does) into `cdk.out/bench`.
 * 2. Per function: the bundle's bytes, and its cold init — the time a fresh Node.js process takes to
 *    load the bundle (and the runtime's AWS SDK it requires), with the function's environment and the
 *    Lambda variables set; the median of BENCH_INIT_RUNS fresh processes.
 * 3. The bundled poller, invoked in a process of its own like Lambda would, over 10,000 and 50,000
 *    simulated clusters (simulator in another process, DynamoDB Local, local stand-ins for Secrets
 *    Manager and Step Functions): peak RSS of that process, wall time, Databricks calls.
 *
 * The bundle is loaded from inside the project, so `@aws-sdk/*` resolves to the project's SDK the way
 * it resolves to the runtime's on Lambda. Environment: BENCH_INIT_RUNS (7), BENCH_POLLER_CLUSTERS
 * ("10000,50000"; empty skips the poller runs: `BENCH_POLLER_CLUSTERS= node bench/bundles.bench.ts`
 * measures the bundles alone).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { createTable } from '../functions/store/table-definition.ts';
import { WorkspaceRepository } from '../functions/store/workspaces.ts';
import { BUNDLE_BUDGET_BYTES, METAFILE } from '../lib/bundling/esbuild.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { RecoveryStack } from '../lib/stack.ts';
import { lambdaNodeFlags } from './lambda.ts';
import { injectFailures, localDynamoClient, ROOT, scenario, startBenchSimulator } from './support.ts';

const INIT_RUNS = Number(process.env.BENCH_INIT_RUNS ?? 7);
const POLLER_CLUSTERS = (process.env.BENCH_POLLER_CLUSTERS ?? '10000,50000')
  .split(',')
  .filter((total) => total.trim() !== '')
  .map(Number);
const GOAL_BYTES = BUNDLE_BUDGET_BYTES;
const GOAL_INIT_MS = 150;
const GOAL_RSS_MB_AT_10K = 150;
/** The memory the poller's peak RSS is measured for: the smallest that holds it (the stack deploys 512 MB). */
const POLLER_MEMORY_MB = 256;
export const REGION = 'us-east-1';
export const ACCOUNT = '111111111111';

/** What Lambda sets in every function's environment, so that the libraries take their Lambda paths. */
export const LAMBDA_ENV = {
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION,
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  LAMBDA_TASK_ROOT: '/var/task',
  _HANDLER: 'index.handler',
  // Not secrets: nothing is called during init, and the stand-ins below accept anything.
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
};

export interface BundledFunction {
  readonly name: string;
  readonly bundle: string;
  readonly environment: Record<string, string>;
}

/** Synthesises the app like `cdk synth` (the context of cdk.json included) and lists its functions. */
export function synthesise(): BundledFunction[] {
  const outdir = join(ROOT, 'cdk.out', 'bench');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context?: object };
  const app = new App({
    outdir,
    context: {
      ...cdkJson.context,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:enable-path-metadata': true,
    },
  });
  const stack = new RecoveryStack(app, 'Bench');
  // Lambda's /var/task holds no package.json, so index.js is CommonJS there; here the project's
  // "type": "module" would apply to it.
  writeFileSync(join(outdir, 'package.json'), '{"type": "commonjs"}\n');
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<
      string,
      { Type: string; Metadata?: Record<string, string>; Properties?: FunctionProps }
    >;
  };
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => {
      const path = resource.Metadata?.['aws:cdk:path'] ?? '';
      const assetPath = resource.Metadata?.['aws:asset:path'] ?? '';
      return {
        name: path.split('/')[1] ?? path,
        bundle: join(outdir, assetPath, 'index.js'),
        environment: Object.fromEntries(
          Object.entries(resource.Properties?.Environment?.Variables ?? {}).map(([key, value]) => [
            key,
            standIn(value),
          ]),
        ),
      };
    });
}

interface FunctionProps {
  readonly Environment?: { readonly Variables?: Record<string, unknown> };
}

/** A CloudFormation value with a plausible stand-in for every reference (ARNs, names). */
function standIn(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (node['Fn::Join'] !== undefined) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(standIn).join(separator);
  }
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (typeof node.Ref === 'string')
    return pseudo[node.Ref] ?? `arn:aws:bench:${REGION}:${ACCOUNT}:${node.Ref}`;
  const getAtt = node['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt !== undefined) return `arn:aws:bench:${REGION}:${ACCOUNT}:${getAtt[0]}`;
  return JSON.stringify(value);
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/**
 * Milliseconds a fresh process takes to load a bundle: the wall time, and the CPU time the process spent
 * meanwhile (all its threads), which a busy machine inflates far less.
 */
function coldInit(fn: BundledFunction): [wall: number, cpu: number] {
  const script =
    'const c = process.cpuUsage(); const t = performance.now(); require(process.argv[1]); const w = performance.now() - t; const u = process.cpuUsage(c); process.stdout.write(JSON.stringify([w, (u.user + u.system) / 1000]));';
  const child = spawnSync(process.execPath, ['-e', script, fn.bundle], {
    env: { ...LAMBDA_ENV, ...fn.environment },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`loading ${fn.name} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as [number, number];
}

/**
 * How busy the machine is, in the cold init's own terms: the milliseconds a fresh process takes to
 * start and exit doing nothing (`node -e ''`). A shared, loaded machine inflates it and every cold
 * init alike.
 */
function bareStart(): number {
  const started = performance.now();
  const child = spawnSync(process.execPath, ['-e', ''], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`node -e '' failed:\n${child.stderr}`);
  return performance.now() - started;
}

/**
 * `runs` cold inits of every function and as many bare starts, taken round by round (one of each per
 * round), so that a burst of load on a shared machine weighs on all of them alike.
 */
function measureColdInits(
  functions: readonly BundledFunction[],
  runs: number,
): { inits: Map<BundledFunction, { wall: number[]; cpu: number[] }>; bare: number[] } {
  const inits = new Map(functions.map((fn) => [fn, { wall: [] as number[], cpu: [] as number[] }]));
  const bare: number[] = [];
  for (let round = 0; round < runs; round++) {
    for (const [fn, samples] of inits) {
      const [wall, cpu] = coldInit(fn);
      samples.wall.push(wall);
      samples.cpu.push(cpu);
    }
    bare.push(bareStart());
  }
  return { inits, bare };
}

/** The function's name in the stack; CDK's own provider function (AwsCustomResource) says so. */
function displayName(fn: BundledFunction): string {
  return /^AWS[0-9a-f]{32}$/.test(fn.name) ? 'AwsCustomResource (CDK)' : fn.name;
}

/** The bundle's five largest parts (a package, or a directory of ours) from its metafile, if it has one. */
function largestParts(fn: BundledFunction): string | undefined {
  const path = join(dirname(fn.bundle), METAFILE);
  if (!existsSync(path)) return undefined;
  const metafile = JSON.parse(readFileSync(path, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const parts = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
      const part = pkg ?? input.split('/').slice(0, -1).join('/');
      parts.set(part, (parts.get(part) ?? 0) + bytesInOutput);
    }
  }
  return [...parts]
    .sort(([, a], [, b]) => b - a)
    .slice(0, 5)
    .map(([part, bytes]) => `${part} ${(bytes / 1024).toFixed(1)} KB`)
    .join(' · ');
}

/**
 * Stand-ins for the two AWS services the poller calls besides DynamoDB (which runs locally for
 * real): Secrets Manager's GetSecretValue and Step Functions' StartExecution / DescribeExecution.
 */
export async function startAwsStandIn(secret: string): Promise<{ endpoint: string; server: Server }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const input = body === '' ? {} : (JSON.parse(body) as Record<string, string>);
      const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:bench:${input.name ?? 'x'}`;
      const answers: Record<string, unknown> = {
        'secretsmanager.GetSecretValue': { ARN: input.SecretId, Name: 'bench', SecretString: secret },
        'AWSStepFunctions.StartExecution': { executionArn: arn, startDate: Date.now() / 1000 },
        'AWSStepFunctions.DescribeExecution': {
          executionArn: input.executionArn,
          stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:bench`,
          status: 'RUNNING',
          startDate: Date.now() / 1000,
        },
      };
      const answer = answers[target];
      response.writeHead(answer === undefined ? 400 : 200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(answer ?? { __type: 'UnknownOperationException', message: target }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface PollerRun {
  readonly clusters: number;
  readonly maxRssMb: number;
  readonly afterLoadMb: number;
  readonly wallMs: number;
  readonly summary: {
    readonly workspaces: readonly { status: string; clustersListed: number; failuresDetected: number }[];
  };
  readonly requests: Record<string, number>;
}

/**
 * The environment of the bundled poll function as Lambda gives it, its AWS calls sent to DynamoDB
 * Local (`tableName` at `dynamoEndpoint`) and to the stand-in for Secrets Manager and Step Functions.
 */
export function pollerEnvironment(
  poller: BundledFunction,
  tableName: string,
  dynamoEndpoint: string,
  awsEndpoint: string,
): Record<string, string> {
  return {
    ...LAMBDA_ENV,
    ...poller.environment,
    TABLE_NAME: tableName,
    STATE_MACHINE_ARN: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:bench`,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    // DynamoDB Local keeps one database per access key: the one the table was created with.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: awsEndpoint,
    AWS_ENDPOINT_URL_SFN: awsEndpoint,
    // No X-Ray daemon here, and no trace header per invocation: the Tracer would only complain.
    POWERTOOLS_TRACE_ENABLED: 'false',
  };
}

// Peak RSS from /proc/self/status (VmHWM, this address space's high-water mark): getrusage's maxRSS
// would also count the copy of this (much larger) bench process the child was forked from.
const BUNDLED_POLLER_SCRIPT = `
  const peakRssKb = () => {
    try {
      const match = /VmHWM:\\s+(\\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
      if (match) return Number(match[1]);
    } catch {}
    return process.resourceUsage().maxRSS;
  };
  const { handler } = require(process.argv[1]);
  const afterLoadKb = peakRssKb();
  const started = performance.now();
  const context = {
    functionName: 'bench-poller', functionVersion: '$LATEST', memoryLimitInMB: '${POLLER_MEMORY_MB}', awsRequestId: 'bench',
    invokedFunctionArn: 'arn:aws:lambda:${REGION}:${ACCOUNT}:function:bench-poller',
    getRemainingTimeInMillis: () => Math.floor(240000 - (performance.now() - started)),
  };
  handler({ step: 'workspace', workspaceId: 'bench', deadline: Date.now() + 240000 }, context).then((result) => {
    const summary = { workspaces: [result] };
    const wallMs = performance.now() - started;
    process.stdout.write('\\nBENCH-RESULT ' + JSON.stringify({ summary, wallMs, maxRssKb: peakRssKb(), afterLoadKb }) + '\\n');
  }, (error) => {
    process.stderr.write('the poller failed: ' + error.name + ': ' + error.message + '\\n');
    process.exitCode = 1;
  });`;

interface BundledPollerResult {
  readonly summary: PollerRun['summary'];
  readonly wallMs: number;
  readonly maxRssKb: number;
  readonly afterLoadKb: number;
}

/** Runs the bundled poll function once in a process of its own, with Lambda's V8 heap flags (bench/lambda.ts). */
async function invokeBundledPoller(
  poller: BundledFunction,
  env: Record<string, string>,
): Promise<BundledPollerResult> {
  const args = [...lambdaNodeFlags(POLLER_MEMORY_MB), '-e', BUNDLED_POLLER_SCRIPT, poller.bundle];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = output.split('\n').find((l) => l.startsWith('BENCH-RESULT '));
  if (code !== 0 || line === undefined)
    throw new Error(`the bundled poller failed (${code}):\n${output.slice(-2000)}`);
  return JSON.parse(line.slice('BENCH-RESULT '.length)) as BundledPollerResult;
}

/** One invocation of the bundled poll function (the Map's step for one workspace) over `total` simulated clusters. */
async function runBundledPoller(
  poller: BundledFunction,
  total: number,
  dynamoEndpoint: string,
): Promise<PollerRun> {
  // Real time (the bundled poller reads the real clock), so terminations must be quick to settle.
  const base = scenario(Date.now(), total) as { timings: object };
  // Real time: the bundled poller reads the real clock, so the simulator's must be the same.
  const sim = await startBenchSimulator(
    'bundled-poller-bench',
    { ...base, timings: { ...base.timings, terminateMs: 200 } },
    1,
  );
  const aws = await startAwsStandIn(JSON.stringify({ token: sim.token }));
  const tableName = `bench-poller-${total}`;
  const dynamo = localDynamoClient(dynamoEndpoint);
  try {
    await createTable(dynamo, tableName);
    // The workspace is read from the registry, as in AWS.
    await new WorkspaceRepository({ client: DynamoDBDocumentClient.from(dynamo), tableName }).put(
      { id: 'bench', host: sim.url, credentialsSecretName: 'databricks/bench' },
      { actor: 'bench', source: 'operator' },
    );
    // The drivers crash after their clusters started, the failures happen before the poll.
    await sleep(1000);
    await injectFailures(sim);
    await sleep(500);
    await sim.admin('DELETE', 'stats');

    const result = await invokeBundledPoller(poller, {
      ...pollerEnvironment(poller, tableName, dynamoEndpoint, aws.endpoint),
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(POLLER_MEMORY_MB),
      POWERTOOLS_LOG_LEVEL: 'WARN',
    });
    const stats = (await sim.admin('GET', 'stats')) as { requests: Record<string, number> };
    return {
      clusters: total,
      maxRssMb: result.maxRssKb / 1024,
      afterLoadMb: result.afterLoadKb / 1024,
      wallMs: result.wallMs,
      summary: result.summary,
      requests: stats.requests,
    };
  } finally {
    dynamo.destroy();
    aws.server.close();
    await sim.stop();
  }
}

async function main(): Promise<void> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out('');
  out('Bundles (what Lambda runs): synthesising with bundling …');
  // The bundler then writes each bundle's metafile beside it: what the bundle is made of.
  process.env.BUNDLE_METAFILE = '1';
  const functions = synthesise();
  const loadBefore = loadavg()[0] ?? 0;
  const { inits, bare } = measureColdInits(functions, INIT_RUNS);
  const loadAfter = loadavg()[0] ?? 0;
  out('');
  out(
    `${'function'.padEnd(22)} ${'bundle'.padStart(10)}  ${'cold init: wall ms, median (min)'.padStart(32)}  ${'CPU ms, median (min)'.padStart(22)}`,
  );
  let failed = false;
  for (const fn of functions) {
    const bytes = statSync(fn.bundle).size;
    const { wall, cpu } = inits.get(fn) ?? { wall: [], cpu: [] };
    const ms = median(wall);
    const verdict = [
      bytes <= GOAL_BYTES ? '' : `✗ > ${GOAL_BYTES / 1024} KB`,
      ms <= GOAL_INIT_MS
        ? ''
        : `✗ > ${GOAL_INIT_MS} ms of wall time${median(cpu) <= GOAL_INIT_MS ? ` (CPU ≤ ${GOAL_INIT_MS} ms)` : ''}`,
    ].filter((mark) => mark !== '');
    out(
      `${displayName(fn).padEnd(22)} ${`${(bytes / 1024).toFixed(1)} KB`.padStart(10)}  ${`${ms.toFixed(1)} (${Math.min(...wall).toFixed(1)})`.padStart(32)}  ${`${median(cpu).toFixed(1)} (${Math.min(...cpu).toFixed(1)})`.padStart(22)}  ${verdict.length === 0 ? '✓' : verdict.join(' ')}`,
    );
    const parts = largestParts(fn);
    if (parts !== undefined) out(`${' '.repeat(4)}largest parts: ${parts}`);
  }
  out(
    `  (index.js of each asset; goals ≤ ${GOAL_BYTES / 1024} KB and ≤ ${GOAL_INIT_MS} ms of wall time to load it, the runtime's AWS SDK clients included;`,
  );
  out(
    `   ${INIT_RUNS} fresh processes per function, taken in turn; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${availableParallelism()} cores)`,
  );
  out(
    `  baseline: a bare \`node -e ''\` starts and exits in ${median(bare).toFixed(1)} ms (median, min ${Math.min(...bare).toFixed(1)}), taken in turn with them: on a busy machine read the wall times against it, and the CPU times, which the load inflates far less`,
  );

  if (POLLER_CLUSTERS.length === 0) return;
  const poller = functions.find((fn) => fn.name === 'Poller');
  if (poller === undefined) throw new Error('no Poller function in the synthesised stack');
  const dynamo = await startDynamoDbLocal();
  try {
    out('');
    out('The bundled poller, one scheduled invocation in a process of its own:');
    for (const total of POLLER_CLUSTERS) {
      const run = await runBundledPoller(poller, total, dynamo.endpoint);
      const workspace = run.summary.workspaces[0];
      const list = run.requests['GET /api/2.1/clusters/list'] ?? 0;
      const events = run.requests['POST /api/2.1/clusters/events'] ?? 0;
      const rssOk = total > 10_000 || run.maxRssMb <= GOAL_RSS_MB_AT_10K;
      if (!rssOk || workspace?.status !== 'complete') failed = true;
      out(
        `  ${String(total).padStart(6)} clusters: peak RSS ${run.maxRssMb.toFixed(1)} MB (${run.afterLoadMb.toFixed(1)} MB once loaded)${total <= 10_000 ? (rssOk ? ` ✓ (≤ ${GOAL_RSS_MB_AT_10K})` : ` ✗ (> ${GOAL_RSS_MB_AT_10K})`) : ''}, ${(run.wallMs / 1000).toFixed(2)} s, ${workspace?.clustersListed} listed, ${list} list calls, ${events} events calls, ${workspace?.failuresDetected} failures detected, ${workspace?.status}`,
      );
    }
  } finally {
    await dynamo.stop();
  }
  out('');
  if (failed) process.exitCode = 1;
}

// Run as a script (`npm run bench`); imported, it lends its synthesis and stand-ins to the others.
if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`npm run bench (bundles): ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
