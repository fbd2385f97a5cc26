#!/usr/bin/env node
/**
 * `npm run bench -- --workspaces 100 --clusters 10000 [--workers 4] [--memory 256]
 * [--page-latency-ms 0] [--runs 1]`: runs of the real poll workflow (`poll.asl.json` on
 * aws-local-stepfunctions), back to back, over N simulated workspaces of M clusters each, with the benchmark workspace's incidents in each: 6 failures to ticket (4 cloud
 * terminations, a stuck start, a failed job cluster) and 2 driver crashes that heal by themselves
 * (not to be ticketed).
 *
 * What runs each step is what Lambda runs: the poll function's BUNDLE as `cdk synth` builds it, its
 * handler invoked in one of `--workers` warm containers (bench/lambda.ts: processes started with the
 * V8 flags Lambda gives a function of `--memory` MB, kept from one invocation to the next), with the
 * function's environment; the workspaces in the registry (DynamoDB Local), stand-ins for Secrets
 * Manager and Step Functions. All simulated workspaces are served by one simulator process, one port
 * each, every clusters/list page taking `--page-latency-ms` more (Databricks' own time per page: with
 * it a workspace too large for one run shows its listing continued by the next). Map concurrency =
 * workers.
 *
 * Prints the wall time, list calls per workspace, the peak RSS of each poll invocation (the
 * container's high-water mark, reset when the invocation starts: what the invocation held at most,
 * whatever earlier ones left) and of each container over its life, failures found vs injected,
 * tickets opened, the load average, then one JSON line. Exits 1 unless the run succeeded with every
 * injected failure ticketed once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WorkspaceStepResult } from '../functions/poller/steps.ts';
import { createTable } from '../functions/store/table-definition.ts';
import { WorkspaceRepository } from '../functions/store/workspaces.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { type LocalPollRun, runLocalPoll } from '../lib/local/poll-workflow.ts';
import { pollerEnvironment, startAwsStandIn, synthesise } from './bundles.bench.ts';
import { type ContainerPool, type InvocationMemory, startContainers } from './lambda.ts';
import { localDynamoClient, ROOT } from './support.ts';

/**
 * Failures to ticket in each workspace: 4 cloud terminations, a start stuck for an hour, a failed job
 * cluster. Its 2 driver crashes are healed by the simulator after 60 s (DRIVER_HEALTHY), which the
 * detection rules rightly leave alone: they must not be ticketed.
 */
const DUE_PER_WORKSPACE = 6;
/** The poll function's timeout for a 5-minute schedule (lib/constructs/poller.ts). */
const INVOCATION_TIMEOUT_MS = 240_000;
/** The issue's goal for one poll invocation. */
const GOAL_RSS_MB = 150;

const { values } = parseArgs({
  options: {
    workspaces: { type: 'string', default: '10' },
    clusters: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '4' },
    memory: { type: 'string', default: '256' },
    'page-latency-ms': { type: 'string', default: '0' },
    runs: { type: 'string', default: '1' },
  },
});
const workspaces = Number(values.workspaces);
const clusters = Number(values.clusters);
const workers = Number(values.workers);
const memoryMb = Number(values.memory);
const pageLatencyMs = Number(values['page-latency-ms']);
const runs = Number(values.runs);

async function startSimulators(
  token: string,
): Promise<{ child: ChildProcess; urls: string[]; now: number; rss: number }> {
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=8192',
      join(ROOT, 'bench/multi-simulator.ts'),
      String(workspaces),
      String(clusters),
      token,
      String(pageLatencyMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  const ready = await new Promise<{ urls: string[]; now: number; rss: number }>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const line = /READY (.*)\n/.exec(output)?.[1];
      if (line !== undefined) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`the simulators exited (${code}) before listening`)));
  });
  return { child, ...ready };
}

async function main(): Promise<void> {
  const token = `dapi${randomBytes(16).toString('hex')}`;
  const setupStarted = performance.now();
  const sims = await startSimulators(token);
  const dynamo = await startDynamoDbLocal();
  let pool: ContainerPool | undefined;
  let aws: Awaited<ReturnType<typeof startAwsStandIn>> | undefined;
  try {
    const dynamoClient = localDynamoClient(dynamo.endpoint);
    const tableName = 'workspaces-bench';
    await createTable(dynamoClient, tableName);
    await registerWorkspaces(dynamoClient, tableName, sims.urls);
    // The poll function as Lambda runs it: its bundle, in warm containers loaded before the run.
    const poller = synthesise().find((fn) => fn.name === 'Poller');
    if (poller === undefined) throw new Error('no Poller function in the synthesised stack');
    aws = await startAwsStandIn(JSON.stringify({ token }));
    pool = await startContainers(
      poller.bundle,
      workers,
      memoryMb,
      pollerEnvironment(poller, tableName, dynamo.endpoint, aws.endpoint),
    );
    const setupMs = performance.now() - setupStarted;
    const executions = await runPolls(pool);
    const found = executions.reduce((sum, e) => sum + e.failuresFound, 0);
    const tickets = executions.reduce((sum, e) => sum + e.ticketsOpened, 0);
    const last = executions.at(-1);
    const summary = {
      workspaces,
      clustersPerWorkspace: clusters,
      clusters: workspaces * clusters,
      workers,
      memoryMb,
      pageLatencyMs,
      setupMs: Math.round(setupMs),
      runs: executions,
      failuresDue: workspaces * DUE_PER_WORKSPACE,
      failuresFound: found,
      ticketsOpened: tickets,
      simulatorProcessRssMb: Math.round(sims.rss / 1048576),
    };
    printSummary(executions, summary, setupMs);
    const whole = last?.status === 'SUCCEEDED' && last.complete === workspaces;
    // Every injected failure ticketed once (found once, when there is one run).
    const once = tickets === summary.failuresDue && (runs > 1 || found === tickets);
    if (!whole || !once) process.exitCode = 1;
  } finally {
    pool?.stop();
    aws?.server.close();
    sims.child.kill();
    await dynamo.stop();
  }
}

/** One registry entry per simulated workspace, as `rca workspaces add` writes it. */
async function registerWorkspaces(client: DynamoDBClient, tableName: string, urls: readonly string[]) {
  const registry = new WorkspaceRepository({ client: DynamoDBDocumentClient.from(client), tableName });
  for (const [i, url] of urls.entries()) {
    const id = `ws-${String(i).padStart(3, '0')}`;
    await registry.put(
      { id, host: url, credentialsSecretName: `databricks/${id}` },
      { actor: 'bench', source: 'operator' },
    );
  }
}

/** `--runs` executions back to back, as the schedule starts them (each with its own deadline). */
async function runPolls(pool: ContainerPool): Promise<Execution[]> {
  const memory: InvocationMemory[] = [];
  const invoke = async (input: unknown): Promise<unknown> => {
    const reply = await pool.invoke(input, INVOCATION_TIMEOUT_MS);
    if ((input as { step?: string }).step === 'workspace') memory.push(reply.memory);
    if (reply.error !== undefined)
      throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
    return reply.output;
  };
  const executions: Execution[] = [];
  for (let i = 0; i < runs; i++) {
    const loadBefore = loadavg()[0] ?? 0;
    const started = performance.now();
    memory.length = 0;
    const run = await runLocalPoll({} as never, {
      maxConcurrency: workers,
      invocationTimeoutMs: INVOCATION_TIMEOUT_MS,
      invoke: (input) => invoke(input),
    });
    executions.push(
      summarise(run, performance.now() - started, [...memory], [loadBefore, loadavg()[0] ?? 0]),
    );
  }
  return executions;
}

/** The runs' figures, readable, then the summary as one JSON line. */
function printSummary(
  executions: readonly Execution[],
  summary: { readonly failuresDue: number; readonly failuresFound: number; readonly ticketsOpened: number },
  setupMs: number,
): void {
  const out = process.stdout;
  const found = summary.failuresFound;
  const tickets = summary.ticketsOpened;
  out.write(
    `\nPoll workflow over ${workspaces} workspaces × ${clusters} clusters (the bundled poll function in ${workers} warm ${memoryMb} MB containers, Map concurrency ${workers}${pageLatencyMs > 0 ? `; ${pageLatencyMs} ms per clusters/list page` : ''}; setup ${(setupMs / 1000).toFixed(1)} s not counted)\n`,
  );
  for (const [i, e] of executions.entries()) {
    if (runs > 1) out.write(` run ${i + 1} of ${runs}\n`);
    out.write(`  wall time                 ${(e.wallMs / 1000).toFixed(1)} s (${e.status})\n`);
    out.write(
      `  workspaces complete       ${e.complete} / ${workspaces}${e.incomplete > 0 ? ` (${e.incomplete} incomplete)` : ''}\n`,
    );
    out.write(
      `  list calls per workspace  ${e.listCallsPerWorkspace.min}–${e.listCallsPerWorkspace.max} (⌈${clusters}/100⌉ = ${Math.ceil(clusters / 100)})\n`,
    );
    out.write(`  one workspace's poll      median ${e.workspaceMs.median} ms, max ${e.workspaceMs.max} ms\n`);
    out.write(
      `  peak RSS per invocation   median ${e.peakRssMbPerInvocation.median} MB, max ${e.peakRssMbPerInvocation.max} MB ${e.peakRssMbPerInvocation.max <= GOAL_RSS_MB ? '✓' : '✗'} (goal ≤ ${GOAL_RSS_MB} MB; ${memoryMb} MB function, Lambda's V8 flags${e.peakRssResettable ? '' : "; the container's peak so far: the high-water mark cannot be reset here"})\n`,
    );
    out.write(
      `  containers                loaded ${e.loadedRssMb.max} MB; peak over their life ${e.containerPeakRssMb.max} MB after up to ${e.invocationsPerContainer} invocations each\n`,
    );
    out.write(`  failures found / tickets  ${e.failuresFound} / ${e.ticketsOpened}\n`);
    out.write(`  load average              ${e.loadAverage.before} before, ${e.loadAverage.after} after\n`);
    for (const [state, count] of Object.entries(e.retries))
      out.write(`  retried                   ${state} × ${count}\n`);
    for (const problem of e.problems) out.write(`  not complete              ${problem.slice(0, 300)}\n`);
  }
  out.write(
    `  failures found / due ${found} / ${summary.failuresDue}${runs > 1 ? ' (a failure still listed is found again by later runs, as a duplicate)' : ''} (+ ${workspaces * 2} self-healed driver crashes, rightly not ticketed), tickets opened ${tickets}\n`,
  );
  out.write(`${JSON.stringify(summary)}\n`);
}

/** One execution's figures. */
interface Execution {
  readonly status: LocalPollRun['status'];
  readonly wallMs: number;
  readonly loadAverage: { readonly before: number; readonly after: number };
  readonly complete: number;
  readonly incomplete: number;
  readonly failedOrCaught: number;
  readonly listCallsPerWorkspace: { readonly min: number; readonly max: number; readonly total: number };
  readonly eventCallsTotal: number;
  readonly workspaceMs: Spread;
  readonly peakRssMbPerInvocation: Spread;
  readonly peakRssResettable: boolean;
  readonly containerPeakRssMb: Spread;
  readonly loadedRssMb: Spread;
  readonly heapTotalMbAfterInvocation: Spread;
  readonly invocationsPerContainer: number;
  readonly failuresFound: number;
  readonly ticketsOpened: number;
  /** Task retries the state machine made, per state. */
  readonly retries: Readonly<Record<string, number>>;
  /** The first problems of workspaces not complete (at most 5). */
  readonly problems: readonly string[];
}

interface Spread {
  readonly median: number;
  readonly max: number;
}

function summarise(
  run: LocalPollRun,
  wallMs: number,
  memory: readonly InvocationMemory[],
  [before, after]: readonly number[],
): Execution {
  const results = run.results.filter((r): r is WorkspaceStepResult => 'status' in r);
  const listCalls = results.map((r) => r.listCalls);
  const count = (status: WorkspaceStepResult['status']) => results.filter((r) => r.status === status).length;
  const spread = (values: readonly number[], scale = 1): Spread => {
    const sorted = [...values].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return { median: Math.round(median / scale), max: Math.round((sorted.at(-1) ?? 0) / scale) };
  };
  return {
    status: run.status,
    wallMs: Math.round(wallMs),
    loadAverage: { before: round1(before ?? 0), after: round1(after ?? 0) },
    complete: count('complete'),
    incomplete: count('incomplete'),
    failedOrCaught: run.results.length - count('complete') - count('incomplete'),
    listCallsPerWorkspace: {
      min: Math.min(...listCalls),
      max: Math.max(...listCalls),
      total: listCalls.reduce((sum, n) => sum + n, 0),
    },
    eventCallsTotal: results.reduce((sum, r) => sum + r.eventCalls, 0),
    workspaceMs: spread(results.map((r) => r.durationMs)),
    peakRssMbPerInvocation: spread(
      memory.map((m) => m.peakKb),
      1024,
    ),
    peakRssResettable: memory.every((m) => m.resettable),
    containerPeakRssMb: spread(
      memory.map((m) => m.containerPeakKb),
      1024,
    ),
    loadedRssMb: spread(
      memory.map((m) => m.loadedKb),
      1024,
    ),
    heapTotalMbAfterInvocation: spread(
      memory.map((m) => m.heapTotal),
      1048576,
    ),
    invocationsPerContainer: Math.max(...memory.map((m) => m.invocations)),
    failuresFound: results.reduce((sum, r) => sum + r.failuresDetected, 0),
    ticketsOpened: results.reduce((sum, r) => sum + r.ticketsOpened, 0),
    retries: run.retries,
    problems: run.results
      .filter((r) => !('status' in r) || r.status !== 'complete')
      .slice(0, 5)
      .map((r) =>
        'status' in r
          ? `${r.workspaceId} ${r.status}: ${r.problems[0] ?? ''}`
          : `${r.workspaceId}: ${JSON.stringify(r.error)}`,
      ),
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

await main();
