import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { call, fixture, SIM_START, startTestSimulator } from './support.ts';

const RUNNING = '0115-110000-running1';
const STOPPED = '0115-110000-stopped2';
const JOB_CLUSTER = '0115-110000-jobclus3';

describe('simulated cluster state machine', () => {
  let sim: RunningSimulator;

  beforeEach(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
  });
  afterEach(async () => {
    await sim.close();
  });

  const get = async (id: string) => (await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${id}`)).body;
  const post = (op: string, body: unknown) => call(sim, 'POST', `/api/2.1/clusters/${op}`, body);
  const events = async (id: string) =>
    (await post('events', { cluster_id: id, order: 'ASC', page_size: 500 })).body.events as {
      type: string;
      details: Record<string, unknown>;
      timestamp: number;
    }[];

  it('starts a terminated cluster: PENDING, then RUNNING with new driver timestamps and Spark context', async () => {
    // Prepare
    const before = await get(STOPPED);

    // Act
    const started = await post('start', { cluster_id: STOPPED });
    const pending = await get(STOPPED);
    sim.admin.advance(180_000);
    const running = await get(STOPPED);

    // Assess
    expect(started).toMatchObject({ status: 200, body: {} });
    expect(before).toMatchObject({
      state: 'TERMINATED',
      termination_reason: { code: 'INACTIVITY', type: 'SUCCESS' },
    });
    expect(pending.state).toBe('PENDING');
    expect(pending.termination_reason).toBeUndefined();
    expect(pending.terminated_time).toBeUndefined();
    expect(running.state).toBe('RUNNING');
    expect(running.last_restarted_time).toBe(SIM_START + 180_000);
    expect(running.last_state_loss_time).toBe(SIM_START + 180_000);
    expect(running.spark_context_id).not.toBe(before.spark_context_id);
    expect(running.executors).toHaveLength(2);
    expect((await events(STOPPED)).slice(-2).map((e) => e.type)).toEqual(['STARTING', 'RUNNING']);
  });

  it('keeps a cluster PENDING until its start time has fully elapsed', async () => {
    // Prepare
    await post('start', { cluster_id: STOPPED });

    // Act
    sim.admin.advance(179_999);
    const almost = await get(STOPPED);
    sim.admin.advance(1);
    const done = await get(STOPPED);

    // Assess
    expect(almost.state).toBe('PENDING');
    expect(done.state).toBe('RUNNING');
  });

  it.each([
    ['RUNNING', RUNNING, 'Running'],
    ['PENDING', STOPPED, 'Pending'],
  ])('refuses to start a %s cluster with 400 INVALID_STATE', async (_state, id, word) => {
    // Prepare
    if (id === STOPPED) await post('start', { cluster_id: STOPPED });

    // Act
    const answer = await post('start', { cluster_id: id });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error_code: 'INVALID_STATE',
      message: `Cluster ${id} is in unexpected state ${word}.`,
    });
  });

  it('lets only one of two concurrent starts win; the loser gets INVALID_STATE … Pending', async () => {
    // Act
    const answers = await Promise.all([
      post('start', { cluster_id: STOPPED }),
      post('start', { cluster_id: STOPPED }),
    ]);

    // Assess
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 400]);
    const loser = answers.find((a) => a.status === 400);
    expect(loser?.body).toMatchObject({
      error_code: 'INVALID_STATE',
      message: expect.stringContaining('Pending'),
    });
    expect((await events(STOPPED)).filter((e) => e.type === 'STARTING')).toHaveLength(1);
  });

  it.each([
    ['start', { cluster_id: 'nope-123' }],
    ['restart', { cluster_id: 'nope-123' }],
    ['resize', { cluster_id: 'nope-123', num_workers: 3 }],
    ['edit', { cluster_id: 'nope-123', spark_version: '15.4.x-scala2.12' }],
    ['events', { cluster_id: 'nope-123' }],
  ])(
    'answers %s on a missing cluster with 400 INVALID_PARAMETER_VALUE "does not exist"',
    async (op, body) => {
      // Act
      const answer = await post(op, body);

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        error_code: 'INVALID_PARAMETER_VALUE',
        message: 'Cluster nope-123 does not exist',
      });
    },
  );

  it('answers get on a missing cluster with 400, not 404', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.1/clusters/get?cluster_id=nope-123');

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('restarts a running cluster: RESTARTING, then RUNNING with a new Spark context', async () => {
    // Prepare
    const before = await get(RUNNING);

    // Act
    const answer = await post('restart', { cluster_id: RUNNING });
    const restarting = await get(RUNNING);
    sim.admin.advance(120_000);
    const after = await get(RUNNING);

    // Assess
    expect(answer.status).toBe(200);
    expect(restarting.state).toBe('RESTARTING');
    expect(after.state).toBe('RUNNING');
    expect(after.spark_context_id).not.toBe(before.spark_context_id);
    expect(after.last_restarted_time).toBe(SIM_START + 120_000);
    expect((await events(RUNNING)).slice(-2).map((e) => e.type)).toEqual(['RESTARTING', 'RUNNING']);
  });

  it.each(['restart', 'resize'])('refuses to %s a terminated cluster with INVALID_STATE', async (op) => {
    // Act
    const answer = await post(op, { cluster_id: STOPPED, num_workers: 4 });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_STATE');
  });

  it('resizes a running cluster: RESIZING, then RUNNING with the new size and an UPSIZE_COMPLETED event', async () => {
    // Act
    const answer = await post('resize', { cluster_id: RUNNING, num_workers: 5 });
    const resizing = await get(RUNNING);
    sim.admin.advance(60_000);
    const after = await get(RUNNING);

    // Assess
    expect(answer.status).toBe(200);
    expect(resizing).toMatchObject({ state: 'RESIZING', num_workers: 5 });
    expect(after.state).toBe('RUNNING');
    expect(after.executors).toHaveLength(5);
    const log = await events(RUNNING);
    expect(log.at(-2)).toMatchObject({
      type: 'RESIZING',
      details: { current_num_workers: 2, target_num_workers: 5 },
    });
    expect(log.at(-1)).toMatchObject({
      type: 'UPSIZE_COMPLETED',
      details: { current_num_workers: 5, target_num_workers: 5 },
    });
  });

  it.each([
    ['both a size and an autoscale range', { num_workers: 3, autoscale: { min_workers: 1, max_workers: 4 } }],
    ['neither', {}],
    ['an inverted autoscale range', { autoscale: { min_workers: 5, max_workers: 2 } }],
  ])('rejects a resize with %s', async (_name, size) => {
    // Act
    const answer = await post('resize', { cluster_id: RUNNING, ...size });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it.each([
    ['start', { cluster_id: JOB_CLUSTER }],
    ['edit', { cluster_id: JOB_CLUSTER, spark_version: '15.4.x-scala2.12', num_workers: 8 }],
    ['update', { cluster_id: JOB_CLUSTER, update_mask: 'num_workers', cluster: { num_workers: 8 } }],
  ])('refuses to %s a job cluster', async (op, body) => {
    // Act
    const answer = await post(op, body);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(answer.body.message).toContain('job clusters cannot be');
    expect((await get(JOB_CLUSTER)).state).toBe('TERMINATED');
  });

  it('edits a running cluster: replaces its spec, records EDITED with previous attributes, restarts it', async () => {
    // Prepare
    const edit = {
      cluster_id: RUNNING,
      spark_version: '16.0.x-scala2.12',
      node_type_id: 'i3.2xlarge',
      num_workers: 3,
    };

    // Act
    const answer = await post('edit', edit);
    const restarting = await get(RUNNING);
    sim.admin.advance(120_000);
    const after = await get(RUNNING);

    // Assess
    expect(answer.status).toBe(200);
    expect(restarting.state).toBe('RESTARTING');
    expect(after).toMatchObject({
      state: 'RUNNING',
      spark_version: '16.0.x-scala2.12',
      node_type_id: 'i3.2xlarge',
    });
    expect(after.spark_conf).toBeUndefined();
    expect(after.autotermination_minutes).toBeUndefined();
    const edited = (await events(RUNNING)).find((e) => e.type === 'EDITED');
    expect(edited?.details).toMatchObject({
      previous_attributes: { spark_version: '15.4.x-scala2.12', node_type_id: 'i3.xlarge' },
      attributes: { spark_version: '16.0.x-scala2.12' },
      previous_cluster_size: { num_workers: 2 },
      cluster_size: { num_workers: 3 },
    });
  });

  it('edits a terminated cluster without starting it', async () => {
    // Act
    const answer = await post('edit', {
      cluster_id: STOPPED,
      spark_version: '15.4.x-scala2.12',
      num_workers: 1,
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(await get(STOPPED)).toMatchObject({
      state: 'TERMINATED',
      num_workers: 1,
      spark_version: '15.4.x-scala2.12',
    });
  });

  it('rejects an edit without spark_version', async () => {
    // Act
    const answer = await post('edit', { cluster_id: RUNNING, num_workers: 4 });

    // Assess
    expect(answer).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'Missing required field: spark_version' },
    });
  });

  it('refuses to edit a cluster that is starting', async () => {
    // Prepare
    await post('start', { cluster_id: STOPPED });

    // Act
    const answer = await post('edit', { cluster_id: STOPPED, spark_version: '15.4.x-scala2.12' });

    // Assess
    expect(answer.body.error_code).toBe('INVALID_STATE');
  });

  it('updates only the fields named in the mask', async () => {
    // Act
    const answer = await post('update', {
      cluster_id: RUNNING,
      update_mask: 'num_workers,autotermination_minutes',
      cluster: { num_workers: 6, node_type_id: 'ignored.xlarge' },
    });
    sim.admin.advance(120_000);
    const after = await get(RUNNING);

    // Assess
    expect(answer.status).toBe(200);
    expect(after).toMatchObject({
      num_workers: 6,
      node_type_id: 'i3.xlarge',
      spark_conf: { 'spark.sql.shuffle.partitions': '64' },
    });
    expect(after.autotermination_minutes).toBeUndefined();
  });

  it('rejects an update mask naming a read-only field', async () => {
    // Act
    const answer = await post('update', {
      cluster_id: RUNNING,
      update_mask: 'state',
      cluster: { state: 'RUNNING' },
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('state');
  });

  it('terminates on delete: TERMINATING with USER_REQUEST, then TERMINATED with terminated_time', async () => {
    // Act
    await post('delete', { cluster_id: RUNNING });
    const terminating = await get(RUNNING);
    sim.admin.advance(30_000);
    const terminated = await get(RUNNING);

    // Assess
    expect(terminating).toMatchObject({
      state: 'TERMINATING',
      termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS' },
    });
    expect(terminated).toMatchObject({ state: 'TERMINATED', terminated_time: SIM_START + 30_000 });
    expect(terminated.driver).toBeUndefined();
    expect((await events(RUNNING)).at(-1)).toMatchObject({
      type: 'TERMINATING',
      details: { reason: { code: 'USER_REQUEST' } },
    });
  });

  it('keeps the real shape: int64 spark_context_id as a JSON number, spec only on get, default tags', async () => {
    // Act
    const response = await fetch(`${sim.url}/api/2.1/clusters/get?cluster_id=${RUNNING}`, {
      headers: { authorization: `Bearer ${sim.token}` },
    });
    const text = await response.text();
    const cluster = await get(RUNNING);

    // Assess
    expect(text).toMatch(/"spark_context_id":\d{19}[,}]/);
    expect(cluster.spark_context_id).toMatch(/^\d{19}$/);
    expect(cluster.spec).toMatchObject({ spark_version: '15.4.x-scala2.12', num_workers: 2 });
    expect(cluster.default_tags).toEqual({
      Vendor: 'Databricks',
      Creator: 'rca-simulator@example.com',
      ClusterName: 'Interactive Analytics',
      ClusterId: RUNNING,
    });
  });
});
