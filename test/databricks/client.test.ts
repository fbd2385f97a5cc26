import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { patAuth } from '../../functions/databricks/auth.ts';
import { DatabricksClient } from '../../functions/databricks/client.ts';
import {
  DatabricksApiError,
  DatabricksConnectionError,
  DatabricksDeadlineExceededError,
  DatabricksInvalidStateError,
  DatabricksNotFoundError,
  DatabricksResponseError,
  DatabricksThrottledError,
  DatabricksTimeoutError,
  DatabricksUnauthenticatedError,
} from '../../functions/databricks/errors.ts';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { fixture, startTestSimulator } from '../simulator/support.ts';
import { clientFor, failure } from './support.ts';

const RUNNING = '0115-110000-running1';
const STOPPED = '0115-110000-stopped2';
const JOB_CLUSTER = '0115-110000-jobclus3';
const GET = 'GET /api/2.1/clusters/get';
const START = 'POST /api/2.1/clusters/start';

describe('DatabricksClient clusters/list against the simulator', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startTestSimulator({ scenario: fixture('generated-1200.json') as object });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('sends filter_by as repeated dotted query parameters', async () => {
    // Prepare
    const { client } = clientFor(sim);
    const byState = (sim.admin.state() as { clusters: { byState: Record<string, number> } }).clusters.byState;
    const matching = (byState.TERMINATED ?? 0) + (byState.PENDING ?? 0);

    // Act
    const page = await client.listClusters({
      page_size: 100,
      filter_by: { cluster_states: ['TERMINATED', 'PENDING'] },
    });

    // Assess
    expect(matching).toBeGreaterThan(0);
    expect(page.clusters.length).toBe(Math.min(matching, 100));
    expect(page.clusters.every((c) => c.state === 'TERMINATED' || c.state === 'PENDING')).toBe(true);
  });
});

describe('DatabricksClient calls against the simulator', () => {
  let sim: RunningSimulator;
  beforeEach(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('gets a cluster with its int64 spark_context_id exact', async () => {
    // Prepare
    const { client } = clientFor(sim);
    const raw = await (
      await fetch(`${sim.url}/api/2.1/clusters/get?cluster_id=${RUNNING}`, {
        headers: { authorization: `Bearer ${sim.token}` },
      })
    ).text();
    const digits = /"spark_context_id":(\d+)/.exec(raw)?.[1];

    // Act
    const cluster = await client.getCluster(RUNNING);

    // Assess
    expect(digits).toMatch(/^\d{19}$/);
    expect(cluster.spark_context_id).toBe(digits);
    expect(cluster).toMatchObject({
      cluster_id: RUNNING,
      state: 'RUNNING',
      cluster_source: 'UI',
      num_workers: 2,
    });
    expect(cluster.spec).toBeDefined();
  });

  it('starts, updates and restarts a cluster', async () => {
    // Prepare
    const { client } = clientFor(sim);

    // Act
    await client.startCluster(STOPPED);
    const pending = await client.getCluster(STOPPED);
    sim.admin.advance(180_000);
    await client.updateCluster({
      cluster_id: STOPPED,
      update_mask: ['num_workers'],
      cluster: { num_workers: 6 },
    });
    sim.admin.advance(120_000);
    await client.restartCluster(STOPPED, { restartUser: 'rca@example.com' });
    sim.admin.advance(120_000);
    const final = await client.getCluster(STOPPED);
    const events = await client.listAllClusterEvents({ cluster_id: STOPPED, order: 'ASC', page_size: 2 });

    // Assess
    expect(pending.state).toBe('PENDING');
    expect(final).toMatchObject({
      state: 'RUNNING',
      node_type_id: 'r5d.2xlarge',
      num_workers: 6,
      spark_version: '14.3.x-scala2.12',
    });
    expect(events.map((e) => e.type).slice(3)).toEqual([
      'STARTING',
      'RUNNING',
      'EDITED',
      'RESTARTING',
      'RUNNING',
      'RESTARTING',
      'RUNNING',
    ]);
  });

  it('reads every event across token pages, newest first, and stops at maxEvents', async () => {
    // Prepare
    const { client } = clientFor(sim);
    for (let i = 0; i < 4; i++) {
      await client.restartCluster(RUNNING);
      sim.admin.advance(120_000);
    }

    // Act
    const all = await client.listAllClusterEvents({ cluster_id: RUNNING, page_size: 3 });
    const few = await client.listAllClusterEvents({ cluster_id: RUNNING, page_size: 3 }, { maxEvents: 4 });
    const onePage = await client.listClusterEvents({ cluster_id: RUNNING, page_size: 500 });

    // Assess
    expect(all).toEqual(onePage.events);
    expect(all.length).toBe(10);
    expect(few).toEqual(all.slice(0, 4));
  });

  it('merges runs/get pages: 250 tasks in 3 calls', async () => {
    // Prepare
    sim.admin.loadScenario({
      jobs: [
        {
          job_id: 31337,
          name: 'Wide',
          tasks: Array.from({ length: 250 }, (_, i) => ({
            task_key: `task_${i}`,
            existing_cluster_id: RUNNING,
          })),
          runs: [{ run_id: '9007199254740993', result_state: 'FAILED' }],
        },
      ],
    });
    sim.admin.resetStats();
    const { client } = clientFor(sim);

    // Act
    const run = await client.getRun('9007199254740993', { include_history: true });

    // Assess
    expect(run.run_id).toBe('9007199254740993');
    expect(run.tasks).toHaveLength(250);
    expect(new Set(run.tasks?.map((t) => t.task_key)).size).toBe(250);
    expect(run.has_more).toBe(false);
    expect(run.next_page_token).toBeUndefined();
    expect(run.tasks?.[249]?.cluster_instance?.cluster_id).toBe(RUNNING);
    expect(sim.admin.stats().requests['GET /api/2.2/jobs/runs/get']).toBe(3);
  });

  it('repairs a run twice, passing latest_repair_id the second time', async () => {
    // Prepare
    const { client } = clientFor(sim);

    // Act
    const first = await client.repairRun({ run_id: '5550001', rerun_all_failed_tasks: true });
    sim.admin.advance(120_000);
    const refused = await failure(client.repairRun({ run_id: '5550001', rerun_tasks: ['ingest'] }));
    const second = await client.repairRun({
      run_id: '5550001',
      rerun_tasks: ['ingest'],
      latest_repair_id: first.repair_id,
    });
    const run = await client.getRun('5550001', { include_history: true });

    // Assess
    expect(first.repair_id).toMatch(/^\d+$/);
    expect(refused).toBeInstanceOf(DatabricksApiError);
    expect((refused as DatabricksApiError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(second.repair_id).not.toBe(first.repair_id);
    expect(run.repair_history?.map((r) => r.id)).toEqual([
      expect.any(String),
      first.repair_id,
      second.repair_id,
    ]);
  });

  it('launches run-now with a generated idempotency token that makes a repeat return the same run', async () => {
    // Prepare
    const { client } = clientFor(sim);

    // Act
    const first = await client.runNow({ job_id: 778899 });
    const repeat = await client.runNow({ job_id: '778899', idempotency_token: first.idempotency_token });

    // Assess
    expect(first.idempotency_token).toMatch(/^[0-9a-f-]{36}$/);
    expect(repeat.run_id).toBe(first.run_id);
    expect(first.number_in_job).toBe('2');
  });

  it.each([
    [
      'a missing cluster',
      (c: DatabricksClient) => c.getCluster('nope-1'),
      DatabricksNotFoundError,
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'a missing run',
      (c: DatabricksClient) => c.getRun(424242),
      DatabricksNotFoundError,
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'a start of a running cluster',
      (c: DatabricksClient) => c.startCluster(RUNNING),
      DatabricksInvalidStateError,
      400,
      'INVALID_STATE',
    ],
    [
      'a restart of a terminated cluster',
      (c: DatabricksClient) => c.restartCluster(STOPPED),
      DatabricksInvalidStateError,
      400,
      'INVALID_STATE',
    ],
    [
      'a start of a job cluster',
      (c: DatabricksClient) => c.startCluster(JOB_CLUSTER),
      DatabricksApiError,
      400,
      'INVALID_PARAMETER_VALUE',
    ],
  ])('maps %s to its error class', async (_name, act, errorClass, status, errorCode) => {
    // Prepare
    const { client } = clientFor(sim);

    // Act
    const error = await failure(act(client));

    // Assess
    expect(error).toBeInstanceOf(errorClass);
    expect((error as Error).constructor).toBe(errorClass);
    expect(error).toMatchObject({ status, errorCode, attempts: 1 });
  });

  it('reports INVALID_STATE with state PENDING when someone else is already starting the cluster', async () => {
    // Prepare
    const { client } = clientFor(sim);

    // Act
    const results = await Promise.allSettled([client.startCluster(STOPPED), client.startCluster(STOPPED)]);

    // Assess
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(DatabricksInvalidStateError);
    expect(rejected[0]?.reason).toMatchObject({ state: 'PENDING' });
  });

  it('maps a wrong token to DatabricksUnauthenticatedError after one fresh try', async () => {
    // Prepare
    const { client } = clientFor(sim, { auth: patAuth('dapi-not-the-token') });

    // Act
    const error = await failure(client.getCluster(RUNNING));

    // Assess
    expect(error).toBeInstanceOf(DatabricksUnauthenticatedError);
    expect((error as Error).message).not.toContain('dapi-not-the-token');
    expect(sim.admin.stats().requests[GET]).toBe(2);
  });

  it('honours Retry-After on 429 and succeeds once the throttling stops', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { count: 2, retryAfterSeconds: 2 } });
    const { client, clock } = clientFor(sim);

    // Act
    const cluster = await client.getCluster(RUNNING);

    // Assess
    expect(cluster.cluster_id).toBe(RUNNING);
    expect(clock.sleeps).toEqual([2_000, 2_000]);
    expect(sim.admin.stats().requests[GET]).toBe(3);
  });

  it('retries a 400 REQUEST_LIMIT_EXCEEDED and a 503 even for a start', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { count: 1, status: 400, retryAfterSeconds: 1 } });
    sim.admin.setFaults({ serverErrors: { count: 1, status: 503, paths: ['/api/2.1/clusters/start'] } });
    const { client, clock } = clientFor(sim);

    // Act
    await client.startCluster(STOPPED);

    // Assess
    expect(sim.admin.cluster(STOPPED)?.state).toBe('PENDING');
    expect(sim.admin.stats().requests[START]).toBe(3);
    expect(clock.sleeps).toEqual([1_000, 1_000]);
  });

  it.each([
    [1, 1, []],
    [2, 2, [1_000]],
  ])(
    'gives a throttled start back after %i attempt(s) when the caller backs off itself',
    async (throttledAttempts, requests, sleeps) => {
      // Prepare
      sim.admin.setFaults({
        throttle: { count: 5, retryAfterSeconds: 1, paths: ['/api/2.1/clusters/start'] },
      });
      const { client, clock } = clientFor(sim);

      // Act
      const error = await failure(client.startCluster(STOPPED, { throttledAttempts }));

      // Assess
      expect(error).toBeInstanceOf(DatabricksThrottledError);
      expect(error).toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED', attempts: requests });
      expect(sim.admin.stats().requests[START]).toBe(requests);
      expect(clock.sleeps).toEqual(sleeps);
      expect(sim.admin.cluster(STOPPED)?.state).toBe('TERMINATED');
    },
  );

  it('does not retry when Retry-After would end past the deadline, and gives the server wait to the caller', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { retryAfterSeconds: 30 } });
    const { client, clock } = clientFor(sim);

    // Act
    const error = await failure(client.getCluster(RUNNING, { deadline: clock.now() + 10_000 }));

    // Assess
    expect(error).toBeInstanceOf(DatabricksThrottledError);
    expect(error).toMatchObject({ retryAfterMs: 30_000, attempts: 1 });
    expect(clock.sleeps).toEqual([]);
    expect(sim.admin.stats().requests[GET]).toBe(1);
  });

  it('keeps retrying throttled calls with growing waits until the deadline', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { retryAfterSeconds: 0 } });
    const { client, clock } = clientFor(sim, { random: () => 0.999, retry: { defaultThrottleDelayMs: 0 } });
    const started = clock.now();

    // Act
    const error = await failure(client.getCluster(RUNNING, { deadline: started + 3_000 }));

    // Assess
    expect(error).toBeInstanceOf(DatabricksThrottledError);
    expect(clock.sleeps).toEqual([249, 499, 999]);
    expect(clock.now() - started).toBeLessThan(3_000);
  });

  it('answers within the deadline when the server is slow', async () => {
    // Prepare
    sim.admin.setFaults({ latency: { ms: 1_000 } });
    const { client } = clientFor(sim, { clock: undefined });
    const started = Date.now();

    // Act
    const error = await failure(client.getCluster(RUNNING, { deadline: started + 150 }));

    // Assess
    expect(error).toBeInstanceOf(DatabricksDeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(600);
  });

  it('takes a deadline that is not a whole millisecond', async () => {
    // Prepare
    const { client } = clientFor(sim, { clock: undefined });

    // Act
    const cluster = await client.getCluster(RUNNING, { deadline: Date.now() + 5_000.5 });

    // Assess
    expect(cluster.cluster_id).toBe(RUNNING);
  });

  it('retries a read after an attempt timeout but not a start', async () => {
    // Prepare
    sim.admin.setFaults({ latency: { ms: 300 } });
    const { client } = clientFor(sim, { attemptTimeoutMs: 60 });

    // Act
    const read = await failure(client.getCluster(RUNNING, { deadline: Date.now() + 400 }));
    const write = await failure(client.startCluster(STOPPED, { deadline: Date.now() + 400 }));

    // Assess
    expect(read).toBeInstanceOf(DatabricksTimeoutError);
    expect((read as DatabricksTimeoutError).attempts).toBeGreaterThan(1);
    expect(write).toBeInstanceOf(DatabricksTimeoutError);
    expect((write as DatabricksTimeoutError).attempts).toBe(1);
  });

  it.each([
    ['500 JSON', 500, false],
    ['502 HTML', 502, true],
    ['504 JSON', 504, false],
  ])('retries a read after %s and succeeds', async (_name, status, html) => {
    // Prepare
    sim.admin.setFaults({ serverErrors: { count: 2, status, html } });
    const { client, clock } = clientFor(sim);

    // Act
    const cluster = await client.getCluster(RUNNING);

    // Assess
    expect(cluster.cluster_id).toBe(RUNNING);
    expect(sim.admin.stats().requests[GET]).toBe(3);
    expect(clock.sleeps).toEqual([125, 250]);
  });

  it('logs retries without the token', async () => {
    // Prepare
    sim.admin.setFaults({ serverErrors: { count: 2, status: 503 } });
    const lines: string[] = [];
    const { client } = clientFor(sim, {
      logger: { warn: (message, attributes) => lines.push(`${message} ${JSON.stringify(attributes)}`) },
    });

    // Act
    await client.getCluster(RUNNING);

    // Assess
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('"errorCode":"TEMPORARILY_UNAVAILABLE"');
    expect(lines.join('\n')).not.toContain(sim.token);
  });

  it('does not retry a plain 500 on a start (the start may have happened)', async () => {
    // Prepare
    sim.admin.setFaults({ serverErrors: { count: 1, status: 500 } });
    const { client } = clientFor(sim);

    // Act
    const error = await failure(client.startCluster(STOPPED));

    // Assess
    expect(error).toBeInstanceOf(DatabricksApiError);
    expect(error).toMatchObject({ status: 500, errorCode: 'INTERNAL_ERROR', attempts: 1 });
    expect(sim.admin.stats().requests[START]).toBe(1);
  });

  it('retries a read over dropped connections', async () => {
    // Prepare
    sim.admin.setFaults({ dropConnections: { count: 2 } });
    const { client } = clientFor(sim);

    // Act
    const cluster = await client.getCluster(RUNNING);

    // Assess
    expect(cluster.cluster_id).toBe(RUNNING);
    expect(sim.admin.stats().statuses.drop).toBe(2);
  });

  it('surfaces a dropped connection on a start as possibly sent, without retrying', async () => {
    // Prepare
    sim.admin.setFaults({ dropConnections: { count: 1 } });
    const { client } = clientFor(sim);

    // Act
    const error = await failure(client.startCluster(STOPPED));

    // Assess
    expect(error).toBeInstanceOf(DatabricksConnectionError);
    expect(error).toMatchObject({ requestMayHaveBeenSent: true, attempts: 1 });
  });

  it('retries even a start when the connection is refused (nothing was sent)', async () => {
    // Prepare
    const port = sim.port;
    await sim.close();
    const client = new DatabricksClient({
      host: `http://127.0.0.1:${port}`,
      auth: patAuth('dapi-unused-token'),
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });

    // Act
    const error = await failure(client.startCluster(STOPPED));
    sim = await startTestSimulator();

    // Assess
    expect(error).toBeInstanceOf(DatabricksConnectionError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', requestMayHaveBeenSent: false, attempts: 3 });
  });

  it('stops when the caller aborts', async () => {
    // Prepare
    sim.admin.setFaults({ latency: { ms: 500 } });
    const { client } = clientFor(sim);
    const controller = new AbortController();

    // Act
    const pending = failure(client.getCluster(RUNNING, { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('caller gave up')), 20);
    const error = await pending;

    // Assess
    expect((error as Error).message).toBe('caller gave up');
  });
});

describe('DatabricksClient response validation', () => {
  it('rejects a 2xx body that does not have the expected shape', async () => {
    // Prepare
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"state": "RUNNING"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new DatabricksClient({
      host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      auth: patAuth('dapi-unused-token'),
    });

    // Act
    const error = await failure(client.getCluster('x'));
    await new Promise((resolve) => server.close(resolve));

    // Assess
    expect(error).toBeInstanceOf(DatabricksResponseError);
    expect((error as DatabricksResponseError).issues.join()).toContain('cluster_id');
  });
});
