/**
 * The bundles carry a leaner X-Ray SDK than the package's index (lib/bundling/esbuild.ts): a function
 * bundled that way still sends its traces, with the AWS call data of the SDK's whitelist, and still
 * logs and emits its metrics — run here as Lambda runs it, against DynamoDB Local and a UDP socket
 * standing in for the X-Ray daemon.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BUNDLE_BUDGET_BYTES,
  esbuildOptions,
  PROJECT_ROOT,
  trimXrayResource,
} from '../../lib/bundling/esbuild.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

interface XraySubsegment {
  readonly name: string;
  readonly namespace?: string;
  readonly trace_id: string;
  readonly aws?: Record<string, unknown>;
  readonly fault?: boolean;
  readonly error?: boolean;
}

describe('a function bundled as the functions are', () => {
  // Inside the project, so that the bundle's `@aws-sdk/*` resolve as the runtime's do on Lambda.
  const outdir = join(PROJECT_ROOT, 'cdk.out', `test-bundle-${randomBytes(4).toString('hex')}`);
  let daemon: Socket;
  let table: TestTable;
  beforeAll(async () => {
    mkdirSync(outdir, { recursive: true });
    // Lambda's /var/task holds no package.json: index.js is CommonJS there, as here.
    writeFileSync(join(outdir, 'package.json'), '{"type": "commonjs"}\n');
    await build(esbuildOptions({ entry: 'test/support/traced-function.ts', outdir, sourceMap: false }));
    daemon = createSocket('udp4');
    daemon.bind(0, '127.0.0.1');
    await once(daemon, 'listening');
    table = await createTestTable('bundle');
  });
  afterAll(async () => {
    daemon.close();
    await table.destroy();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('sends its subsegments to the X-Ray daemon, logs and emits its metrics', async () => {
    // Prepare
    const traceId = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
    const subsegments: XraySubsegment[] = [];
    daemon.on('message', (datagram: Buffer) => {
      // `{"format":"json","version":1}` then the (sub)segment, one per datagram.
      const [, body] = datagram.toString('utf8').split('\n');
      if (body !== undefined) subsegments.push(JSON.parse(body) as XraySubsegment);
    });
    const script = `
      const context = { functionName: 'traced', functionVersion: '$LATEST', memoryLimitInMB: '256',
        awsRequestId: 'request-1', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:traced',
        getRemainingTimeInMillis: () => 10000 };
      require(process.argv[1]).handler({ tableName: process.argv[2] }, context).then((status) => {
        process.stdout.write(JSON.stringify({ result: status }) + '\\n');
      });`;

    // Act
    const child = spawn(process.execPath, ['-e', script, join(outdir, 'index.js'), table.tableName], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: 'traced',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        LAMBDA_TASK_ROOT: '/var/task',
        _HANDLER: 'index.handler',
        _X_AMZN_TRACE_ID: `Root=${traceId};Parent=53995c3f42cd8ad8;Sampled=1`,
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
        // DynamoDB Local keeps one database per access key; not secrets.
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        POWERTOOLS_SERVICE_NAME: 'bundle-test',
        POWERTOOLS_METRICS_NAMESPACE: 'BundleTest',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    // The daemon's datagrams may trail the process's exit by a moment.
    for (let wait = 0; wait < 50 && subsegments.length < 2; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual({ result: 'absent' });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'item read',
        service: 'bundle-test',
        function_request_id: 'request-1',
        cold_start: true,
        xray_trace_id: traceId,
      }),
    );
    const metricNames = lines.flatMap((line) =>
      (
        (line._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] })?.CloudWatchMetrics ?? []
      ).flatMap((directive) => directive.Metrics.map((metric) => metric.Name)),
    );
    expect(metricNames).toEqual(expect.arrayContaining(['ColdStart', 'ItemsRead']));
    expect(subsegments.every((subsegment) => subsegment.trace_id === traceId)).toBe(true);
    expect(subsegments.map((subsegment) => subsegment.name)).toEqual(
      expect.arrayContaining(['## index.handler', 'DynamoDB']),
    );
    // The call data the SDK's whitelist names for GetItem, kept in the bundle's trimmed copy.
    expect(subsegments.find((subsegment) => subsegment.name === 'DynamoDB')).toMatchObject({
      namespace: 'aws',
      aws: { operation: 'GetItem', table_name: table.tableName, region: 'us-east-1' },
    });
  });

  it('carries the whitelist of the AWS services the functions call, and no other', () => {
    // Prepare
    const bundle = readFileSync(join(outdir, 'index.js'), 'utf8');

    // Act
    const whitelisted = ['dynamodb', 'sns', 'sqs', 'lambda', 's3', 'sagemakerruntime'].filter((service) =>
      bundle.includes(`${service}:{operations:`),
    );

    // Assess
    expect(whitelisted).toEqual(['dynamodb', 'sns']);
  });

  it("keeps the whitelist's entry of every DynamoDB and SNS command the functions send", () => {
    // Prepare
    const full = JSON.parse(
      readFileSync(
        join(PROJECT_ROOT, 'node_modules/aws-xray-sdk-core/dist/lib/resources/aws_whitelist.json'),
        'utf8',
      ),
    ) as { services: Record<string, { operations: Record<string, unknown> }> };
    const sources = execFileSync(
      'grep',
      ['-rhoE', '--exclude=table-definition.ts', 'new [A-Za-z]+Command\\(', 'functions'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      },
    );
    const lower = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
    // The table's creation (store/table-definition.ts) is local mode's and the tests', never a Lambda's.
    // The document client's commands name the operations without `Item`.
    const documentClient: Record<string, string> = {
      Get: 'GetItem',
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      BatchGet: 'BatchGetItem',
    };
    const sent = new Set(
      [...sources.matchAll(/new ([A-Za-z]+)Command\(/g)].map((m) =>
        lower(documentClient[m[1] ?? ''] ?? m[1] ?? ''),
      ),
    );

    // Act
    const trimmed = trimXrayResource('aws_whitelist.json', full) as typeof full;

    // Assess
    for (const service of ['dynamodb', 'sns']) {
      const described = Object.keys(full.services[service]?.operations ?? {}).filter((op) => sent.has(op));
      expect(described.length).toBeGreaterThan(0);
      expect(Object.keys(trimmed.services[service]?.operations ?? {}).sort()).toEqual(described.sort());
    }
  });

  it('loads a client built on first use with require, which finds the runtime SDK as Lambda does', () => {
    // Prepare
    const bundle = readFileSync(join(outdir, 'index.js'), 'utf8');

    // Act
    const imports = bundle.match(/\bimport\(/g) ?? [];
    const requires = bundle.match(/require\("@aws-sdk\/client-dynamodb"\)/g) ?? [];

    // Assess
    expect(imports).toEqual([]);
    expect(requires.length).toBeGreaterThan(0);
  });
});

/** Every Lambda entry: the stack bundles each file of `functions/handlers/` into a function of its own. */
const ENTRIES = readdirSync(join(PROJECT_ROOT, 'functions', 'handlers'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `functions/handlers/${file}`);

/** One entry bundled as `cdk synth` stages it, kept in memory; built once for all the tests below. */
const inMemory = new Map<string, ReturnType<typeof bundleInMemory>>();
async function bundleInMemory(entry: string) {
  const options = esbuildOptions({ entry, outdir: join(PROJECT_ROOT, 'cdk.out'), sourceMap: false });
  const result = await build({ ...options, write: false, metafile: true });
  const output = result.metafile.outputs[relative(PROJECT_ROOT, options.outfile ?? '')];
  return {
    bytes: result.outputFiles.find((file) => file.path === options.outfile)?.contents.byteLength,
    inputs: Object.entries(output?.inputs ?? {}).map(([input, { bytesInOutput }]) => ({
      input,
      bytesInOutput,
    })),
  };
}
const bundled = (entry: string): ReturnType<typeof bundleInMemory> => {
  const cached = inMemory.get(entry) ?? bundleInMemory(entry);
  inMemory.set(entry, cached);
  return cached;
};

describe('the bundle of every Lambda entry', () => {
  // The operations function imports the classifier (through the ticket store) and never classifies.
  it.each([
    { entry: 'functions/handlers/ops.ts', carried: false },
    { entry: 'functions/handlers/poller.ts', carried: true },
    { entry: 'functions/handlers/workflow.ts', carried: true },
    { entry: 'functions/handlers/intake.ts', carried: true },
  ])(
    'carries the classifier tables only where it classifies: $entry → $carried',
    async ({ entry, carried }) => {
      // Prepare
      const table =
        /^functions\/core\/classifier\/(termination-codes|free-text|job-codes|launch-parameters)\.ts$/;

      // Act
      const { inputs } = await bundled(entry);

      // Assess
      expect(inputs.filter(({ input }) => table.test(input))).toHaveLength(carried ? 4 : 0);
    },
  );

  it.each(ENTRIES)('keeps %s within the bundle budget', async (entry) => {
    // Prepare
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

    // Act
    const { bytes, inputs } = await bundled(entry);

    // Assess
    const largest = inputs
      .sort((a, b) => b.bytesInOutput - a.bytesInOutput)
      .slice(0, 8)
      .map(({ input, bytesInOutput }) => `${input} ${kb(bytesInOutput)}`);
    expect(bytes).toBeDefined();
    expect(
      bytes,
      `${entry}: ${kb(bytes ?? 0)}; its largest inputs: ${largest.join(', ')}`,
    ).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });
});
