#!/usr/bin/env node
/**
 * `npm run bench`, intake section: the real intake handler in-process on DynamoDB Local, the
 * simulator in a child process. Prints, by command, the AWS calls per event (DynamoDB commands counted
 * by an SDK middleware, StartExecution by the starter; the API key is cached, as in Lambda), the
 * Databricks calls per event, p50/p99 latency over BENCH_INTAKE_EVENTS sequential events, and
 * events/s at concurrency 20.
 *
 * Environment: BENCH_INTAKE_EVENTS (2000).
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RecoveryInput } from '../functions/core/incident.ts';
import { loadPlaybooks } from '../functions/core/playbooks.ts';
import { createIntakeHandler } from '../functions/intake/app.ts';
import { workspaceDeps } from '../functions/intake/webhook.ts';
import { BreakerRepository } from '../functions/store/breakers.ts';
import { SilenceRepository } from '../functions/store/silences.ts';
import { createTable } from '../functions/store/table-definition.ts';
import { TicketRepository } from '../functions/store/tickets.ts';
import { lambdaContext, toApiGatewayEvent } from '../lib/local/api-gateway.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import {
  type BenchSimulator,
  benchWorkspaceClients,
  localDynamoClient,
  startBenchSimulator,
} from './support.ts';

const EVENTS = Number(process.env.BENCH_INTAKE_EVENTS ?? 2000);
const CONCURRENCY = 20;
const JOBS = 200;
const HOUR = 3_600_000;

const clusterId = (set: string, i: number) => `1130-${set}-${String(i).padStart(6, '0')}`;

function scenario(now: number): unknown {
  const failed = (id: string, i: number) => ({
    cluster_id: id,
    cluster_name: id,
    cluster_source: 'UI',
    state: 'TERMINATED',
    terminated_time: now - HOUR + i,
    termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
  });
  const sets = ['seqnew', 'burstn'];
  return {
    description: `Intake benchmark: ${2 * EVENTS + JOBS} failed clusters`,
    seed: 11,
    clusters: [
      ...sets.flatMap((set) => Array.from({ length: EVENTS }, (_, i) => failed(clusterId(set, i), i))),
      ...Array.from({ length: JOBS }, (_, i) => failed(clusterId('jobrun', i), i)),
    ],
    jobs: Array.from({ length: JOBS }, (_, i) => ({
      job_id: 700_000 + i,
      name: `bench-job-${i}`,
      tasks: [{ task_key: 't', existing_cluster_id: clusterId('jobrun', i) }],
      runs: [
        {
          run_id: 900_000 + i,
          result_state: 'FAILED',
          termination_details: { code: 'CLUSTER_ERROR', type: 'CLOUD_FAILURE' },
        },
      ],
    })),
  };
}

const clusterEvent = (id: string) =>
  JSON.stringify({
    event: 'cluster.terminated',
    cluster: { cluster_id: id, termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'CLIENT_ERROR' } },
  });

interface Measured {
  readonly name: string;
  readonly events: number;
  readonly statuses: Record<string, number>;
  readonly aws: Record<string, number>;
  readonly databricks: number;
  readonly latencies: number[];
  readonly wallMs: number;
  /** Durations of the DynamoDB commands and of the Databricks reads made meanwhile. */
  readonly storeMs: number[];
  readonly databricksMs: number[];
}

/** The intake's Databricks reads, each timed. */
function timedReads(
  deps: ReturnType<typeof workspaceDeps>,
  time: <T>(call: () => Promise<T>) => Promise<T>,
): ReturnType<typeof workspaceDeps> {
  return {
    ...deps,
    databricks: (id) => {
      const reader = deps.databricks(id);
      return {
        getCluster: (...args) => time(() => reader.getCluster(...args)),
        getRun: (...args) => time(() => reader.getRun(...args)),
        listClusterEvents: (...args) => time(() => reader.listClusterEvents(...args)),
      };
    },
  };
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

/** What the benchmark counts: AWS commands by name, and each DynamoDB command's and each Databricks read's own duration. */
interface Counters {
  readonly aws: Map<string, number>;
  readonly storeMs: number[];
  readonly databricksMs: number[];
}

const timed = async <T>(into: number[], call: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await call();
  } finally {
    into.push(performance.now() - t0);
  }
};

/** Counts and times every command `client` sends. */
function countCommands(client: DynamoDBClient, counters: Counters): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counters.aws.set(name, (counters.aws.get(name) ?? 0) + 1);
      return timed(counters.storeMs, () => next(args));
    },
    { step: 'initialize', name: 'countCommands' },
  );
}

/** The real intake handler over the benchmark's table and workspace; sends a body, answers its status. */
function benchIntake(
  sim: BenchSimulator,
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  counters: Counters,
): (body: string) => Promise<number> {
  const apiKey = randomBytes(24).toString('hex');
  const workflow = {
    start: async (name: string, _input: RecoveryInput) => {
      counters.aws.set('StartExecution', (counters.aws.get('StartExecution') ?? 0) + 1);
      return { executionId: `bench:${name}`, alreadyStarted: false };
    },
  };
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const handler = createIntakeHandler({
    loadKeys: async () => ({ current: apiKey, basic_username: 'databricks' }),
    tickets: new TicketRepository({ client: documentClient, tableName }),
    breakers: new BreakerRepository({ client: documentClient, tableName }),
    // As in AWS: the ticket write checks the silence markers; the silences are read only if one is in force.
    silences: new SilenceRepository({ client: documentClient, tableName }),
    workflow,
    playbooks: loadPlaybooks({}),
    autoRemediationEnabled: true,
    ...timedReads(workspaceDeps(benchWorkspaceClients(sim)), (call) => timed(counters.databricksMs, call)),
    clock: Date.now,
    actor: 'intake',
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Bench', serviceName: 'intake' }),
  });
  return async (body) => {
    const event = toApiGatewayEvent({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body,
    });
    const res = (await handler(event, lambdaContext('intake'))) as APIGatewayProxyResult;
    return res.statusCode;
  };
}

/** Sends `bodies` through `send` with `concurrency` callers: answers, calls, latencies and throughput. */
async function measure(
  send: (body: string) => Promise<number>,
  sim: BenchSimulator,
  counters: Counters,
  name: string,
  bodies: readonly string[],
  concurrency = 1,
): Promise<Measured> {
  counters.aws.clear();
  counters.storeMs.length = 0;
  counters.databricksMs.length = 0;
  await sim.admin('DELETE', 'stats');
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      const t0 = performance.now();
      const status = await send(body);
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  const stats = (await sim.admin('GET', 'stats')) as { requests: Record<string, number> };
  const databricksCalls = Object.values(stats.requests).reduce((a, b) => a + b, 0);
  return {
    name,
    events: bodies.length,
    statuses,
    aws: Object.fromEntries(counters.aws),
    databricks: databricksCalls,
    latencies: latencies.sort((a, b) => a - b),
    wallMs,
    storeMs: [...counters.storeMs].sort((a, b) => a - b),
    databricksMs: [...counters.databricksMs].sort((a, b) => a - b),
  };
}

async function main(): Promise<void> {
  const dynamo = await startDynamoDbLocal();
  // Stopped if it cannot start: its child process would keep the benchmark from exiting.
  const sim = await startBenchSimulator('intake-bench', scenario(Date.now())).catch(
    async (error: unknown) => {
      await dynamo.stop();
      throw error;
    },
  );
  const dynamoClient = localDynamoClient(dynamo.endpoint);
  const counters: Counters = { aws: new Map(), storeMs: [], databricksMs: [] };
  countCommands(dynamoClient, counters);
  try {
    const tableName = 'intake-bench';
    await createTable(dynamoClient, tableName);
    counters.aws.clear();
    const documentClient = DynamoDBDocumentClient.from(dynamoClient);
    const send = benchIntake(sim, documentClient, tableName, counters);
    // Warm up: connections, JIT, the workspace token.
    for (let i = 0; i < 50; i++) await send('{"event":"test"}');
    const run = (name: string, bodies: readonly string[], concurrency?: number) =>
      measure(send, sim, counters, name, bodies, concurrency);

    const seqNew = Array.from({ length: EVENTS }, (_, i) => clusterEvent(clusterId('seqnew', i)));
    const jobNotifications = Array.from({ length: JOBS }, (_, i) =>
      JSON.stringify({
        event_type: 'jobs.on_failure',
        run: { run_id: 900_000 + i },
        job: { job_id: 700_000 + i },
      }),
    );
    const results = [
      await run('new incident (cluster event)', seqNew),
      await run('duplicate (same events again)', seqNew),
      await run('job notification (new, cluster cause)', jobNotifications),
      await run(
        'connectivity test',
        Array.from({ length: EVENTS }, () => '{"event":"test"}'),
      ),
    ];
    const burst = await run(
      `new incidents at concurrency ${CONCURRENCY}`,
      Array.from({ length: EVENTS }, (_, i) => clusterEvent(clusterId('burstn', i))),
      CONCURRENCY,
    );
    const floor = await storeFloor(documentClient, tableName, CONCURRENCY);
    process.stdout.write(reportLines(results, burst, floor).join('\n'));
  } finally {
    dynamoClient.destroy();
    await dynamo.stop();
    await sim.stop();
  }
}

function reportLines(
  results: readonly Measured[],
  burst: Measured,
  floor: Awaited<ReturnType<typeof storeFloor>>,
): string[] {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
  const perEvent = (m: Measured) =>
    Object.entries(m.aws)
      .map(([command, n]) => `${command} ${fmt(n / m.events)}`)
      .join(' + ') || 'none';
  const total = (m: Measured) => Object.values(m.aws).reduce((a, b) => a + b, 0) / m.events;
  return [
    '',
    `Intake benchmark: real handler in-process, DynamoDB Local, simulator in a child process`,
    '',
    ...[...results, burst].flatMap((m) => [
      `${m.name} — ${m.events} events, answers ${JSON.stringify(m.statuses)}`,
      `  AWS calls/event:        ${fmt(total(m))} (${perEvent(m)})`,
      `  Databricks calls/event: ${fmt(m.databricks / m.events)}`,
      `  latency p50 / p99:      ${fmt(percentile(m.latencies, 50))} ms / ${fmt(percentile(m.latencies, 99))} ms`,
      `    one DynamoDB call:    ${fmt(percentile(m.storeMs, 50))} ms / ${fmt(percentile(m.storeMs, 99))} ms`,
      `    one Databricks read:  ${fmt(percentile(m.databricksMs, 50))} ms / ${fmt(percentile(m.databricksMs, 99))} ms`,
      `  throughput:             ${fmt((m.events / m.wallMs) * 1000)} events/s`,
    ]),
    `DynamoDB Local alone — the new-incident transaction's shape (5 puts, 3 condition checks), ${floor.n} times:`,
    `  sequential:             ${fmt(floor.sequential)} transactions/s`,
    `  at concurrency ${CONCURRENCY}:       ${fmt(floor.concurrent)} transactions/s (the ceiling for new incidents/s here)`,
    '',
    `Goals: ≤ 2 AWS calls per new incident: ${fmt(total(results[0] as Measured))}${total(results[0] as Measured) <= 2 ? ' ✓' : ' ✗'}; ` +
      `p99 ≤ 10 ms: ${fmt(percentile((results[0] as Measured).latencies, 99))} ms; ` +
      `≥ 500 events/s at concurrency ${CONCURRENCY}: ${fmt((burst.events / burst.wallMs) * 1000)}`,
    '',
  ];
}

/**
 * What DynamoDB Local itself sustains for a transaction shaped like the intake's new-incident write,
 * sequentially and at `concurrency`: no intake, no Databricks. The intake cannot open tickets faster
 * than its store commits them, so this is its ceiling on this machine.
 */
async function storeFloor(
  client: DynamoDBDocumentClient,
  tableName: string,
  concurrency: number,
): Promise<{ n: number; sequential: number; concurrent: number }> {
  const n = 1000;
  // Sizes as the intake writes them: the audit entry carries the signal and its classification, the
  // ticket is in the status index.
  const put = (pk: string, sk: string, conditional: boolean, extra: Record<string, string> = {}) => ({
    Put: {
      TableName: tableName,
      Item: { pk, sk, ...extra },
      ...(conditional ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
    },
  });
  const check = (pk: string) => ({
    ConditionCheck: {
      TableName: tableName,
      Key: { pk, sk: 'STATE' },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  });
  const write = (key: string) =>
    client.send(
      new TransactWriteCommand({
        TransactItems: [
          put(`FLOOR_INCIDENT#${key}`, 'INCIDENT', true),
          put(`FLOOR_CLUSTER#${key}`, 'CLAIM', true),
          put(`FLOOR_TICKET#${key}`, 'TICKET', true, {
            gsi1pk: 'FLOOR_STATUS#open',
            gsi1sk: key,
            detail: 'x'.repeat(600),
          }),
          put(`FLOOR_TICKET#${key}`, 'AUDIT#0', false, { detail: 'x'.repeat(1500) }),
          put('FLOOR_RECONCILE', key, false),
          check('FLOOR_BREAKER#cluster'),
          check('FLOOR_BREAKER#error-type'),
          check('FLOOR_SILENCE#cluster'),
        ],
      }),
    );
  const rate = async (run: string, workers: number) => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < n) await write(`${run}-${next++}`);
      }),
    );
    return (n / (performance.now() - started)) * 1000;
  };
  await rate('warm', 1);
  return { n, sequential: await rate('seq', 1), concurrent: await rate('conc', concurrency) };
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run bench (intake): ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
