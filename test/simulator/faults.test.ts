import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { call, fixture, SIM_START, startTestSimulator } from './support.ts';

const RUNNING = '0115-110000-running1';
const STOPPED = '0115-110000-stopped2';
const SPOT = '0115-110000-spotfb04';

describe('simulator fault switches', () => {
  let sim: RunningSimulator;
  const get = async (id: string) => (await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${id}`)).body;
  const start = (id: string) => call(sim, 'POST', '/api/2.1/clusters/start', { cluster_id: id });

  beforeEach(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('makes a running cluster fail with the given code and type: TERMINATING, then TERMINATED', async () => {
    // Act
    sim.admin.failCluster(RUNNING, {
      code: 'DRIVER_UNREACHABLE',
      type: 'SERVICE_FAULT',
      parameters: { databricks_error_message: 'Driver unreachable for 300 s' },
    });
    const terminating = await get(RUNNING);
    sim.admin.advance(30_000);
    const terminated = await get(RUNNING);

    // Assess
    expect(terminating).toMatchObject({
      state: 'TERMINATING',
      termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
      state_message: 'Driver unreachable for 300 s',
    });
    expect(terminated).toMatchObject({ state: 'TERMINATED', terminated_time: SIM_START + 30_000 });
    expect(terminated.termination_reason.parameters).toEqual({
      databricks_error_message: 'Driver unreachable for 300 s',
    });
  });

  it('crashes a driver: still RUNNING, new last_state_loss_time and spark_context_id, DRIVER_NOT_RESPONDING recorded', async () => {
    // Prepare
    sim.admin.advance(5_000);
    const before = await get(RUNNING);

    // Act
    sim.admin.crashDriver(RUNNING);
    const after = await get(RUNNING);
    const log = await call(sim, 'POST', '/api/2.1/clusters/events', { cluster_id: RUNNING, page_size: 1 });

    // Assess
    expect(after.state).toBe('RUNNING');
    expect(after.last_state_loss_time).toBe(SIM_START + 5_000);
    expect(after.last_state_loss_time).not.toBe(before.last_state_loss_time);
    expect(after.spark_context_id).not.toBe(before.spark_context_id);
    expect(log.body.events[0]).toMatchObject({ type: 'DRIVER_NOT_RESPONDING', timestamp: SIM_START + 5_000 });
  });

  it('fails the next N starts with the given reason (PENDING → TERMINATING → TERMINATED), then starts normally', async () => {
    // Prepare
    sim.admin.setFaults({
      failNextStarts: {
        count: 2,
        reason: {
          code: 'CLOUD_PROVIDER_LAUNCH_FAILURE',
          type: 'CLOUD_FAILURE',
          parameters: { aws_api_error_code: 'InstanceLimitExceeded' },
        },
      },
    });
    const outcomes: string[] = [];

    // Act
    for (let attempt = 0; attempt < 3; attempt++) {
      await start(STOPPED);
      outcomes.push((await get(STOPPED)).state);
      sim.admin.advance(60_000);
      outcomes.push((await get(STOPPED)).state);
      sim.admin.advance(180_000);
      const settled = await get(STOPPED);
      outcomes.push(`${settled.state}:${settled.termination_reason?.code ?? '-'}`);
    }

    // Assess
    expect(outcomes).toEqual([
      'PENDING',
      'TERMINATING',
      'TERMINATED:CLOUD_PROVIDER_LAUNCH_FAILURE',
      'PENDING',
      'TERMINATING',
      'TERMINATED:CLOUD_PROVIDER_LAUNCH_FAILURE',
      'PENDING',
      'PENDING',
      'RUNNING:-',
    ]);
  });

  it('fails starts only of the named clusters when clusterIds is given', async () => {
    // Prepare
    sim.admin.setFaults({
      failNextStarts: {
        count: 1,
        clusterIds: ['someone-else'],
        reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
      },
    });

    // Act
    await start(STOPPED);
    sim.admin.advance(180_000);

    // Assess
    expect((await get(STOPPED)).state).toBe('RUNNING');
  });

  it('makes a node type unavailable: a start on it fails with a capacity code, another type starts', async () => {
    // Prepare
    sim.admin.setFaults({ unavailableNodeTypes: [{ nodeTypeId: 'r5d.2xlarge' }] });

    // Act
    await start(STOPPED);
    sim.admin.advance(60_000 + 30_000);
    const failed = await get(STOPPED);
    await call(sim, 'POST', '/api/2.1/clusters/edit', {
      cluster_id: STOPPED,
      spark_version: '14.3.x-scala2.12',
      node_type_id: 'r5d.4xlarge',
      num_workers: 2,
    });
    await start(STOPPED);
    sim.admin.advance(180_000);
    const fallback = await get(STOPPED);

    // Assess
    expect(failed).toMatchObject({
      state: 'TERMINATED',
      termination_reason: {
        code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE',
        type: 'CLOUD_FAILURE',
        parameters: { aws_api_error_code: 'InsufficientInstanceCapacity' },
      },
    });
    expect(fallback.state).toBe('RUNNING');
  });

  it('adds no nodes when a running cluster upsizes onto an unavailable node type', async () => {
    // Prepare
    sim.admin.setFaults({
      unavailableNodeTypes: [
        {
          nodeTypeId: 'm5d.2xlarge',
          reason: { code: 'CLOUD_PROVIDER_RESOURCE_STOCKOUT', type: 'CLOUD_FAILURE' },
        },
      ],
    });

    // Act
    await call(sim, 'POST', '/api/2.1/clusters/resize', {
      cluster_id: SPOT,
      autoscale: { min_workers: 6, max_workers: 10 },
    });
    sim.admin.advance(60_000);
    const log = await call(sim, 'POST', '/api/2.1/clusters/events', { cluster_id: SPOT, page_size: 1 });

    // Assess
    expect((await get(SPOT)).state).toBe('RUNNING');
    expect(log.body.events[0]).toMatchObject({
      type: 'UPSIZE_COMPLETED',
      details: {
        current_num_workers: 2,
        target_num_workers: 6,
        reason: { code: 'CLOUD_PROVIDER_RESOURCE_STOCKOUT' },
      },
    });
  });

  it.each([
    [429, 'REQUEST_LIMIT_EXCEEDED'],
    [400, 'REQUEST_LIMIT_EXCEEDED'],
    [503, 'TEMPORARILY_UNAVAILABLE'],
  ] as const)('throttles with %i, Retry-After and error_code %s', async (status, errorCode) => {
    // Prepare
    sim.admin.setFaults({ throttle: { status, errorCode, retryAfterSeconds: 7, count: 1 } });

    // Act
    const throttled = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`);
    const next = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`);

    // Assess
    expect(throttled.status).toBe(status);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(throttled.body).toMatchObject({ error_code: errorCode, message: expect.any(String) });
    expect(next.status).toBe(200);
  });

  it('throttles about the configured share of calls', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { share: 0.3 } });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++)
      statuses.push((await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`)).status);

    // Assess
    const throttled = statuses.filter((s) => s === 429).length;
    expect(throttled).toBeGreaterThan(35);
    expect(throttled).toBeLessThan(85);
    expect(sim.admin.stats().faultsFired.throttle).toBe(throttled);
  });

  it('throttles only the paths it names', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { paths: ['/api/2.1/clusters/start'] } });

    // Act
    const read = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`);
    const write = await start(STOPPED);

    // Assess
    expect(read.status).toBe(200);
    expect(write.status).toBe(429);
  });

  it.each([
    [500, false, 'application/json'],
    [503, false, 'application/json'],
    [502, true, 'text/html; charset=utf-8'],
  ])('answers %i (html: %s) when server errors are switched on', async (status, html, contentType) => {
    // Prepare
    sim.admin.setFaults({ serverErrors: { status, html, count: 1 } });

    // Act
    const failed = await fetch(`${sim.url}/api/2.1/clusters/get?cluster_id=${RUNNING}`, {
      headers: { authorization: `Bearer ${sim.token}` },
    });
    const body = await failed.text();
    const next = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`);

    // Assess
    expect(failed.status).toBe(status);
    expect(failed.headers.get('content-type')).toBe(contentType);
    expect(html ? body : JSON.parse(body).error_code).toMatch(
      html ? /<pre>.+<\/pre>/ : /INTERNAL_ERROR|TEMPORARILY_UNAVAILABLE/,
    );
    expect(next.status).toBe(200);
  });

  it('drops connections: the client sees the socket close without an answer', async () => {
    // Prepare
    sim.admin.setFaults({ dropConnections: { count: 1 } });

    // Act
    const dropped = await fetch(`${sim.url}/api/2.1/clusters/get?cluster_id=${RUNNING}`, {
      headers: { authorization: `Bearer ${sim.token}` },
    }).then(
      () => 'answered',
      (error: Error) => `failed: ${(error.cause as { code?: string } | undefined)?.code ?? error.message}`,
    );
    const next = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`);

    // Assess
    expect(dropped).toMatch(/^failed: /);
    expect(next.status).toBe(200);
    expect(sim.admin.stats().statuses.drop).toBe(1);
  });

  it('adds latency to every answer', async () => {
    // Prepare
    sim.admin.setFaults({ latency: { ms: 120 } });

    // Act
    const started = performance.now();
    await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`);
    const elapsed = performance.now() - started;

    // Assess
    expect(elapsed).toBeGreaterThanOrEqual(115);
  });

  it('switches one fault off with null and leaves the others on', async () => {
    // Prepare
    sim.admin.setFaults({ throttle: { count: 5 }, latency: { ms: 10 } });

    // Act
    sim.admin.setFaults({ throttle: null });

    // Assess
    expect((await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${RUNNING}`)).status).toBe(200);
    expect(sim.admin.state().faults).toMatchObject({ throttle: null, latency: { ms: 10 } });
  });
});
