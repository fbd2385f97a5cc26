#!/usr/bin/env node
/**
 * `npm run bench`: one poll over 10,000 simulated clusters (a handful of them failed), on DynamoDB
 * Local, printing the Databricks calls made by endpoint, the wall time and the peak memory; then the
 * next scheduled run's calls, once those failures are ticketed.
 *
 * The simulator runs in a child process, so the memory measured is the poller's (with the AWS SDK and
 * DynamoDB client it needs), not the simulator's 10,000 clusters.
 *
 * Environment: BENCH_CLUSTERS (10000).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadPlaybooks } from '../functions/core/playbooks.ts';
import { resolvePollerOptions } from '../functions/poller/config.ts';
import type { PollerMetrics } from '../functions/poller/poll-deps.ts';
import { runPoll } from '../functions/poller/run.ts';
import { BreakerRepository } from '../functions/store/breakers.ts';
import { CursorRepository } from '../functions/store/cursors.ts';
import { createTable } from '../functions/store/table-definition.ts';
import { TicketRepository } from '../functions/store/tickets.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { RecordingWorkflowStarter } from '../lib/local/recording-workflow.ts';
import {
  type BenchSimulator,
  benchWorkspaceClients,
  injectFailures,
  localDynamoClient,
  scenario,
  startBenchSimulator,
} from './support.ts';

const TOTAL = Number(process.env.BENCH_CLUSTERS ?? 10_000);

interface Stats {
  readonly requests: Record<string, number>;
}

async function main(): Promise<void> {
  const dynamo = await startDynamoDbLocal();
  // Stopped if it cannot start: its child process would keep the benchmark from exiting.
  const sim = await startBenchSimulator('poller-bench', scenario(Date.now(), TOTAL)).catch(
    async (error: unknown) => {
      await dynamo.stop();
      throw error;
    },
  );
  const dynamoClient = localDynamoClient(dynamo.endpoint);
  try {
    await createTable(dynamoClient, 'poller-bench');
    // The failures happen, then a minute passes; the counters start from zero.
    await injectFailures(sim);
    const { now: simNow } = (await sim.admin('POST', 'clock', { advanceMs: 60_000 })) as { now: number };
    await sim.admin('DELETE', 'stats');
    const counts = new Map<string, number>();
    const poller = benchPoller(sim, DynamoDBDocumentClient.from(dynamoClient), counts, simNow - Date.now());

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    const started = performance.now();
    const report = await poller.poll(started);
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const stats = (await sim.admin('GET', 'stats')) as Stats;
    const first = new Map(counts);
    counts.clear();

    // The next scheduled run, five minutes later: what it costs once the failures are ticketed.
    const { now: nextNow } = (await sim.admin('POST', 'clock', { advanceMs: 300_000 })) as { now: number };
    poller.setClockOffset(nextNow - Date.now());
    await sim.admin('DELETE', 'stats');
    const next = await poller.poll(performance.now());
    const nextStats = (await sim.admin('GET', 'stats')) as Stats;
    process.stdout.write(
      reportLines({ report, stats, first, wallMs, peakRss, rssBefore, next, nextStats }).join('\n'),
    );
    if (report.workspaces[0]?.status !== 'complete' || next.workspaces[0]?.status !== 'complete')
      process.exitCode = 1;
  } finally {
    dynamoClient.destroy();
    await dynamo.stop();
    await sim.stop();
  }
}

/** The poll over the benchmark workspace, its metrics counted in `counts`, on the simulator's clock. */
function benchPoller(
  sim: BenchSimulator,
  documentClient: DynamoDBDocumentClient,
  counts: Map<string, number>,
  offset: number,
) {
  const databricks = benchWorkspaceClients(sim);
  const tableName = 'poller-bench';
  const metrics: PollerMetrics = {
    count: (name, value = 1) => counts.set(name, (counts.get(name) ?? 0) + value),
    milliseconds: (name, value) => counts.set(name, value),
  };
  const cursors = new CursorRepository({ client: documentClient, tableName });
  const tickets = new TicketRepository({ client: documentClient, tableName });
  const breakers = new BreakerRepository({ client: documentClient, tableName });
  const workflow = new RecordingWorkflowStarter();
  let clockOffset = offset;
  return {
    setClockOffset: (value: number) => {
      clockOffset = value;
    },
    poll: (started: number) =>
      runPoll({
        workspaceIds: ['bench'],
        databricks: (id) => databricks.get(id),
        cursors,
        tickets,
        breakers,
        workflow,
        playbooks: loadPlaybooks({}),
        autoRemediationEnabled: true,
        options: resolvePollerOptions({}),
        actor: 'poller',
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics,
        clock: () => Date.now() + clockOffset,
        timeLeft: () => 240_000 - (performance.now() - started),
      }),
  };
}

function reportLines(m: {
  readonly report: Awaited<ReturnType<typeof runPoll>>;
  readonly stats: Stats;
  readonly first: ReadonlyMap<string, number>;
  readonly wallMs: number;
  readonly peakRss: number;
  readonly rssBefore: number;
  readonly next: Awaited<ReturnType<typeof runPoll>>;
  readonly nextStats: Stats;
}): string[] {
  const { stats, first, next, nextStats } = m;
  const workspace = m.report.workspaces[0];
  const listCalls = stats.requests['GET /api/2.1/clusters/list'] ?? 0;
  const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
  return [
    '',
    `Poller benchmark: one poll over ${workspace?.clustersListed ?? 0} clusters (${TOTAL} in the workspace)`,
    '',
    'Databricks calls by endpoint:',
    ...Object.entries({ 'GET /api/2.1/clusters/get': 0, ...stats.requests })
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([endpoint, n]) => `  ${endpoint.padEnd(36)} ${String(n).padStart(6)}`),
    `  list calls: ${listCalls}, expected ceil(${TOTAL}/100) = ${Math.ceil(TOTAL / 100)}${listCalls === Math.ceil(TOTAL / 100) ? ' ✓' : ' ✗'}`,
    '',
    `Status:            ${workspace?.status} (cursor advanced: ${workspace?.cursorAdvanced})`,
    `Failures found:    ${workspace?.failuresDetected} (tickets opened: ${first.get('TicketsOpened') ?? 0}, driver losses explained: ${workspace?.explainedStateLosses})`,
    `Wall time:         ${(m.wallMs / 1000).toFixed(2)} s (list ${first.get('ListCalls')} pages, events ${first.get('EventCalls')}, tickets and workflow starts included)`,
    `Peak RSS:          ${mb(m.peakRss)} (before the poll ${mb(m.rssBefore)}; process maxRSS ${mb(process.resourceUsage().maxRSS * 1024)})`,
    `Heap used after:   ${mb(process.memoryUsage().heapUsed)}`,
    '',
    `Next run (5 min later): ${next.workspaces[0]?.status}, list ${nextStats.requests['GET /api/2.1/clusters/list'] ?? 0}, events ${nextStats.requests['POST /api/2.1/clusters/events'] ?? 0} (driver losses and the stuck start already settled), duplicates ${next.workspaces[0]?.outcomes.duplicate ?? 0}`,
    '',
  ];
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
