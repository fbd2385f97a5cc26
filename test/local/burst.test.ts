/**
 * A burst as Databricks and a custom monitor deliver it: 1,000 deliveries about ten failed clusters,
 * in mixed shapes (with and without terminated_time and workspace_id, failed-to-start, job- and
 * task-level notifications) and mixed authentication, at concurrency 50, against the local host with
 * its real workflow runner, DynamoDB Local and the simulator.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../lib/local/host.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/intake/burst-scenario.json');
const { clusters, jobs, ...scenario } = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
  clusters: {
    cluster_id: string;
    terminated_time: number;
    termination_reason: { code: string; type: string };
  }[];
  jobs: { job_id: number; runs: { run_id: number; start_time?: number; end_time?: number }[] }[];
};
// The failures happened ten minutes ago, each ending the run that was using its cluster.
const NOW = Date.now();
clusters.forEach((cluster, i) => {
  cluster.terminated_time = NOW - 10 * 60_000 + i * 1000;
  for (const run of jobs[i]?.runs ?? []) {
    run.start_time = cluster.terminated_time - 20 * 60_000;
    run.end_time = cluster.terminated_time + 1000;
  }
});
const DELIVERIES = 1000;
const CONCURRENCY = 50;

/** The i-th delivery: one of seven shapes about cluster i % 10. */
function delivery(i: number): unknown {
  const n = i % clusters.length;
  const cluster = clusters[n] as (typeof clusters)[number];
  const job = jobs[n] as (typeof jobs)[number];
  const runId = job.runs[0]?.run_id ?? 0;
  const base = { cluster_id: cluster.cluster_id, termination_reason: cluster.termination_reason };
  switch (Math.floor(i / clusters.length) % 7) {
    case 0:
      return { event: 'cluster.terminated', cluster: base };
    case 1:
      return { event: 'cluster.terminated', cluster: { ...base, terminated_time: cluster.terminated_time } };
    case 2:
      return { event: 'cluster.terminated', workspace_id: '1234567890123456', cluster: base };
    case 3:
      return { event: 'cluster.failed_to_start', cluster: { cluster_id: cluster.cluster_id } };
    case 4:
      return { event_type: 'jobs.on_failure', run: { run_id: runId }, job: { job_id: job.job_id } };
    case 5:
      return {
        event_type: 'jobs.on_failure',
        run: { run_id: String(runId + 1_000_000), parent_run_id: String(runId) },
        job: { job_id: String(job.job_id) },
        task: { task_key: 't' },
      };
    default:
      return {
        event: 'cluster.terminated',
        timestamp: Date.now(),
        cluster: { ...base, state: 'TERMINATED' },
      };
  }
}

describe('local host: a burst of mixed deliveries', () => {
  let host: LocalHost;
  const dir = mkdtempSync(join(tmpdir(), 'burst-'));
  beforeAll(async () => {
    const scenarioPath = join(dir, 'scenario.json');
    writeFileSync(scenarioPath, JSON.stringify({ ...scenario, clusters, jobs }));
    host = await startLocalHost({
      port: 0,
      scenarioPath,
      timeScale: 120,
      pollIntervalSeconds: 0,
      logger: new Logger({ logLevel: 'SILENT' }),
    });
  }, 90_000);
  afterAll(async () => {
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens exactly one ticket per cluster, never answers 5xx, starts each cluster at most once and closes every ticket', async () => {
    // Prepare
    const basic = `Basic ${Buffer.from(`databricks:${host.apiKey}`).toString('base64')}`;
    const send = async (i: number) => {
      const auth = i % 2 === 0 ? { 'x-api-key': host.apiKey } : { authorization: basic };
      const res = await fetch(`${host.url}/databricks-monitor`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(delivery(i)),
      });
      return {
        status: res.status,
        body: (await res.json()) as { ticket_id?: string | null; status?: string; message?: string },
      };
    };
    const answers: Awaited<ReturnType<typeof send>>[] = [];
    const burstStarted = host.simulator?.admin.now() ?? 0;

    // Act
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < DELIVERIES) answers.push(await send(next++));
      }),
    );
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const open = [
        ...(await host.tickets.listByStatus('open')).tickets,
        ...(await host.tickets.listByStatus('in_progress')).tickets,
      ];
      if (open.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const tickets = [
      ...(await host.tickets.listByStatus('closed', 100)).tickets,
      ...(await host.tickets.listByStatus('escalated', 100)).tickets,
      ...(await host.tickets.listByStatus('open', 100)).tickets,
      ...(await host.tickets.listByStatus('in_progress', 100)).tickets,
    ];

    // Assess
    expect(answers).toHaveLength(DELIVERIES);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(answers.filter((a) => a.status !== 200).map((a) => a.status)).toEqual([]);
    // A job notification that arrives after the recovery repaired its run finds the run succeeded:
    // it is answered `ignored` (nothing to do, nothing written). Every other answer names its
    // cluster's one ticket.
    const late = answers.filter((a) => a.body.ticket_id === null || a.body.ticket_id === undefined);
    expect(late.map((a) => a.body)).toEqual(
      late.map(() =>
        expect.objectContaining({ status: 'ignored', message: expect.stringMatching(/no failed run/) }),
      ),
    );
    const answered = new Set(answers.map((a) => a.body.ticket_id).filter((id) => typeof id === 'string'));
    expect(answered.size).toBe(clusters.length);
    expect(tickets.map((t) => t.clusterId).sort()).toEqual(clusters.map((c) => c.cluster_id).sort());
    expect(tickets.map((t) => t.status)).toEqual(Array(clusters.length).fill('closed'));
    const requests = host.simulator?.admin.stats().requests ?? {};
    const starts =
      (requests['POST /api/2.1/clusters/start'] ?? 0) + (requests['POST /api/2.1/clusters/restart'] ?? 0);
    expect(starts).toBeLessThanOrEqual(clusters.length);
    const client = host.databricks.get('default');
    for (const cluster of clusters) {
      const { events } = await client.listClusterEvents({
        cluster_id: cluster.cluster_id,
        event_types: ['STARTING', 'RESTARTING'],
      });
      expect(events.filter((e) => (e.timestamp ?? 0) >= burstStarted)).toHaveLength(1);
    }
  }, 240_000);
});
