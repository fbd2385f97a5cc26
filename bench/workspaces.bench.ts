#!/usr/bin/env node
/**
 * `npm run bench -- --workspaces 100 --clusters 10000`: one run of the real poll workflow
 * (`poll.asl.json` on aws-local-stepfunctions) over N simulated workspaces of M clusters each, with
 * the benchmark workspace's incidents in each: 6 failures to ticket (4 cloud terminations, a stuck
 * start, a failed job cluster) and 2 driver crashes that heal by themselves (not to be ticketed). The workspaces live in the registry (DynamoDB Local); each workflow step runs in one of
 * `--workers` warm child processes standing in for Lambda containers, so the peak RSS of each poll
 * invocation is measured as Lambda reports it (the container's peak so far). All simulated
 * workspaces are served by one simulator process, one port each.
 *
 * Prints the wall time, list calls per workspace, peak RSS per invocation, failures found vs
 * injected and tickets opened, then one JSON line.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WorkspaceStepResult } from '../functions/poller/steps.ts';
import { createTable } from '../functions/store/table-definition.ts';
import { WorkspaceRepository } from '../functions/store/workspaces.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { runLocalPoll } from '../lib/local/poll-workflow.ts';
import { ROOT } from './support.ts';

/**
 * Failures to ticket in each workspace: 4 cloud terminations, a start stuck for an hour, a failed job
 * cluster. Its 2 driver crashes are healed by the simulator after 60 s (DRIVER_HEALTHY), which the
 * detection rules rightly leave alone: they must not be ticketed.
 */
const DUE_PER_WORKSPACE = 6;

const { values } = parseArgs({
  options: {
    workspaces: { type: 'string', default: '10' },
    clusters: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '4' },
  },
});
const workspaces = Number(values.workspaces);
const clusters = Number(values.clusters);
const workers = Number(values.workers);

interface Reply {
  readonly id: number;
  readonly output?: unknown;
  readonly error?: { name: string; message: string };
  readonly maxRssKb: number;
}

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
  const pool: ChildProcess[] = [];
  try {
    const dynamoClient = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      // DynamoDB Local accepts any credentials; these are not secrets.
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const tableName = 'workspaces-bench';
    await createTable(dynamoClient, tableName);
    const registry = new WorkspaceRepository({
      client: DynamoDBDocumentClient.from(dynamoClient),
      tableName,
    });
    for (const [i, url] of sims.urls.entries()) {
      const id = `ws-${String(i).padStart(3, '0')}`;
      await registry.put(
        { id, host: url, credentialsSecretName: `databricks/${id}` },
        { actor: 'bench', source: 'operator' },
      );
    }
    const setupMs = performance.now() - setupStarted;

    // Warm containers: started (and their code loaded) before the run, as Lambda keeps them.
    const env = {
      ...process.env,
      BENCH_DYNAMODB_ENDPOINT: dynamo.endpoint,
      BENCH_TABLE: tableName,
      BENCH_TOKEN: token,
      BENCH_CLOCK_OFFSET_MS: String(sims.now - Date.now()),
    };
    for (let i = 0; i < workers; i++) {
      const worker = fork(join(ROOT, 'bench/poll-worker.ts'), {
        env,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await new Promise((resolve) => worker.once('message', resolve));
      pool.push(worker);
    }
    const idle = [...pool];
    const waiting: ((worker: ChildProcess) => void)[] = [];
    const take = () =>
      new Promise<ChildProcess>((resolve) => {
        const worker = idle.pop();
        if (worker !== undefined) resolve(worker);
        else waiting.push(resolve);
      });
    const give = (worker: ChildProcess) => {
      const next = waiting.shift();
      if (next !== undefined) next(worker);
      else idle.push(worker);
    };
    let nextId = 0;
    const rssKb: number[] = [];
    const invoke = async (input: unknown): Promise<unknown> => {
      const worker = await take();
      const id = nextId++;
      try {
        const reply = await new Promise<Reply>((resolve) => {
          const listener = (message: Reply) => {
            if (message.id !== id) return;
            worker.off('message', listener);
            resolve(message);
          };
          worker.on('message', listener);
          worker.send({ id, input });
        });
        if ((input as { step?: string }).step === 'workspace') rssKb.push(reply.maxRssKb);
        if (reply.error !== undefined)
          throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
        return reply.output;
      } finally {
        give(worker);
      }
    };

    const started = performance.now();
    const run = await runLocalPoll({} as never, {
      maxConcurrency: workers,
      invoke: (input) => invoke(input),
    });
    const wallMs = performance.now() - started;

    const results = run.results.filter((r): r is WorkspaceStepResult => 'status' in r);
    const listCalls = results.map((r) => r.listCalls);
    const found = results.reduce((sum, r) => sum + r.failuresDetected, 0);
    const tickets = results.reduce((sum, r) => sum + r.ticketsOpened, 0);
    const sortedRss = [...rssKb].sort((a, b) => a - b);
    const mb = (kb: number | undefined) => Math.round((kb ?? 0) / 1024);
    const durations = results.map((r) => r.durationMs).sort((a, b) => a - b);
    const summary = {
      workspaces,
      clustersPerWorkspace: clusters,
      clusters: workspaces * clusters,
      workers,
      status: run.status,
      wallMs: Math.round(wallMs),
      setupMs: Math.round(setupMs),
      complete: results.filter((r) => r.status === 'complete').length,
      failedOrCaught: run.results.length - results.filter((r) => r.status === 'complete').length,
      listCallsPerWorkspace: {
        min: Math.min(...listCalls),
        max: Math.max(...listCalls),
        expected: Math.ceil(clusters / 100),
      },
      eventCallsTotal: results.reduce((sum, r) => sum + r.eventCalls, 0),
      workspaceMs: { median: durations[Math.floor(durations.length / 2)] ?? 0, max: durations.at(-1) ?? 0 },
      peakRssMbPerInvocation: {
        median: mb(sortedRss[Math.floor(sortedRss.length / 2)]),
        max: mb(sortedRss.at(-1)),
      },
      failuresDue: workspaces * DUE_PER_WORKSPACE,
      foundPerCompleteWorkspace: (() => {
        const found = results.filter((r) => r.status === 'complete').map((r) => r.failuresDetected);
        return { min: Math.min(...found), max: Math.max(...found) };
      })(),
      failuresFound: found,
      ticketsOpened: tickets,
      simulatorProcessRssMb: Math.round(sims.rss / 1048576),
    };
    const out = process.stdout;
    out.write(
      `\nPoll workflow over ${workspaces} workspaces × ${clusters} clusters (${workers} warm containers, Map concurrency ${workers})\n`,
    );
    out.write(
      `  wall time                 ${(wallMs / 1000).toFixed(1)} s (setup ${(setupMs / 1000).toFixed(1)} s not counted)\n`,
    );
    out.write(`  workspaces complete       ${summary.complete} / ${workspaces}\n`);
    out.write(
      `  list calls per workspace  ${summary.listCallsPerWorkspace.min}–${summary.listCallsPerWorkspace.max} (⌈${clusters}/100⌉ = ${summary.listCallsPerWorkspace.expected})\n`,
    );
    out.write(
      `  one workspace's poll      median ${summary.workspaceMs.median} ms, max ${summary.workspaceMs.max} ms\n`,
    );
    out.write(
      `  peak RSS per invocation   median ${summary.peakRssMbPerInvocation.median} MB, max ${summary.peakRssMbPerInvocation.max} MB\n`,
    );
    out.write(
      `  failures found / due ${found} / ${summary.failuresDue} (+ ${workspaces * 2} self-healed driver crashes, rightly not ticketed), tickets opened ${tickets}\n`,
    );
    out.write(`${JSON.stringify(summary)}\n`);
    if (run.status !== 'SUCCEEDED' || found !== summary.failuresDue || tickets !== found)
      process.exitCode = 1;
  } finally {
    for (const worker of pool) worker.kill();
    sims.child.kill();
    await dynamo.stop();
  }
}

await main();
