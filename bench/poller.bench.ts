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
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadPlaybooks } from '../functions/core/playbooks.ts';
import { type SecretsReader, WorkspaceClients } from '../functions/databricks/index.ts';
import { resolvePollerOptions } from '../functions/poller/config.ts';
import type { PollerMetrics } from '../functions/poller/poll-deps.ts';
import { runPoll } from '../functions/poller/run.ts';
import { BreakerRepository } from '../functions/store/breakers.ts';
import { CursorRepository } from '../functions/store/cursors.ts';
import { createTable } from '../functions/store/table-definition.ts';
import { TicketRepository } from '../functions/store/tickets.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { RecordingWorkflowStarter } from '../lib/local/recording-workflow.ts';
import { CRASHED, FAILED, scenario, startSimulatorProcess } from './support.ts';

const TOTAL = Number(process.env.BENCH_CLUSTERS ?? 10_000);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'poller-bench-'));
  const token = `dapi${randomBytes(16).toString('hex')}`;
  const scenarioPath = join(dir, 'scenario.json');
  writeFileSync(scenarioPath, JSON.stringify(scenario(Date.now(), TOTAL)));
  const sim = await startSimulatorProcess(scenarioPath, token);
  const dynamo = await startDynamoDbLocal();
  const dynamoClient = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    // DynamoDB Local accepts any credentials; these are not secrets.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await createTable(dynamoClient, 'poller-bench');
    const documentClient = DynamoDBDocumentClient.from(dynamoClient);

    // The failures happen, then a minute passes; the counters start from zero.
    for (const id of FAILED) {
      await sim.admin('POST', `clusters/${id}/fail`, {
        code: 'CLOUD_PROVIDER_SHUTDOWN',
        type: 'CLOUD_FAILURE',
      });
    }
    for (const id of CRASHED) await sim.admin('POST', `clusters/${id}/crash-driver`);
    const { now: simNow } = (await sim.admin('POST', 'clock', { advanceMs: 60_000 })) as { now: number };
    await sim.admin('DELETE', 'stats');
    const offset = simNow - Date.now();

    const secrets: SecretsReader = {
      send: (async (_command: GetSecretValueCommand) => ({
        SecretString: JSON.stringify({ token }),
      })) as unknown as SecretsReader['send'],
    };
    const databricks = new WorkspaceClients({
      workspaces: [{ id: 'bench', host: sim.url, credentialsSecretArn: 'local/bench' }],
      secrets,
    });
    const tableName = 'poller-bench';
    const counts = new Map<string, number>();
    const metrics: PollerMetrics = {
      count: (name, value = 1) => counts.set(name, (counts.get(name) ?? 0) + value),
      milliseconds: (name, value) => counts.set(name, value),
    };

    const cursors = new CursorRepository({ client: documentClient, tableName });
    const tickets = new TicketRepository({ client: documentClient, tableName });
    const breakers = new BreakerRepository({ client: documentClient, tableName });
    const workflow = new RecordingWorkflowStarter();
    let clockOffset = offset;
    const poll = (started: number) =>
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
      });

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    const started = performance.now();
    const report = await poll(started);
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const stats = (await sim.admin('GET', 'stats')) as { requests: Record<string, number> };
    const first = new Map(counts);
    counts.clear();

    // The next scheduled run, five minutes later: what it costs once the failures are ticketed.
    const { now: nextNow } = (await sim.admin('POST', 'clock', { advanceMs: 300_000 })) as { now: number };
    clockOffset = nextNow - Date.now();
    await sim.admin('DELETE', 'stats');
    const next = await poll(performance.now());
    const nextStats = (await sim.admin('GET', 'stats')) as { requests: Record<string, number> };
    const workspace = report.workspaces[0];
    const listCalls = stats.requests['GET /api/2.1/clusters/list'] ?? 0;
    const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
    const lines = [
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
      `Wall time:         ${(wallMs / 1000).toFixed(2)} s (list ${first.get('ListCalls')} pages, events ${first.get('EventCalls')}, tickets and workflow starts included)`,
      `Peak RSS:          ${mb(peakRss)} (before the poll ${mb(rssBefore)}; process maxRSS ${mb(process.resourceUsage().maxRSS * 1024)})`,
      `Heap used after:   ${mb(process.memoryUsage().heapUsed)}`,
      '',
      `Next run (5 min later): ${next.workspaces[0]?.status}, list ${nextStats.requests['GET /api/2.1/clusters/list'] ?? 0}, events ${nextStats.requests['POST /api/2.1/clusters/events'] ?? 0} (driver losses and the stuck start already settled), duplicates ${next.workspaces[0]?.outcomes.duplicate ?? 0}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (workspace?.status !== 'complete' || next.workspaces[0]?.status !== 'complete') process.exitCode = 1;
  } finally {
    dynamoClient.destroy();
    await dynamo.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
