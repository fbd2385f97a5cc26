import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { takeHarms, useHarmLedger } from '../support/harms.ts';
import { admin, call, fixture, SIM_START, startTestSimulator } from './support.ts';

const POOL_A = '0115-000001-poolaaa1';
const POOL_B = '0115-000002-poolbbb2';
const GOVERNED = '0115-000003-policy03';
const PLAIN = '0115-000004-plain004';
const IDLE = '0115-000005-idle0005';
const JOB_CLUSTER = '0115-000006-jobclus6';
const RETIRED = '0115-000008-retired8';
const RESTARTED = '0115-000009-restrt09';
const MINUTE = 60_000;
const DAY = 86_400_000;
const START_MS = 180_000;
const RUN_MS = 120_000;
const TERMINATE_MS = 30_000;

let sim: RunningSimulator;
beforeEach(async () => {
  sim = await startTestSimulator({ scenario: fixture('realism.json') as object });
});
afterEach(async () => {
  await sim.close();
});
useHarmLedger(() => sim);

const get = (id: string) => call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${id}`);
const post = (op: string, body: unknown) => call(sim, 'POST', `/api/2.1/clusters/${op}`, body);
const listIds = async (): Promise<string[]> =>
  (await call(sim, 'GET', '/api/2.1/clusters/list')).body.clusters.map(
    (c: { cluster_id: string }) => c.cluster_id,
  );

describe('simulated instance pools', () => {
  it("shows a pool cluster with its pool's node type and its driver pool's", async () => {
    // Act
    const answer = await get(POOL_A);

    // Assess
    expect(answer.body).toMatchObject({
      instance_pool_id: '0115-pool-small',
      driver_instance_pool_id: '0115-pool-drivers',
      node_type_id: 'i3.xlarge',
      driver_node_type_id: 'r5d.2xlarge',
    });
    expect(answer.body.spec.node_type_id).toBeUndefined();
  });

  it.each([
    ['update', 'node_type_id', { update_mask: 'node_type_id', cluster: { node_type_id: 'i3.2xlarge' } }],
    [
      'update',
      'driver_node_type_id',
      { update_mask: 'driver_node_type_id', cluster: { driver_node_type_id: 'i3.2xlarge' } },
    ],
    [
      'edit',
      'node_type_id',
      { spark_version: '15.4.x-scala2.12', instance_pool_id: '0115-pool-small', node_type_id: 'i3.2xlarge' },
    ],
  ])('refuses a clusters/%s that supplies %s for a pool cluster', async (op, field, body) => {
    // Act
    const answer = await post(op, { cluster_id: POOL_A, ...body });

    // Assess
    expect(answer).toMatchObject({
      status: 400,
      body: {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: `The field '${field}' cannot be supplied when an instance pool ID is provided.`,
      },
    });
    expect((await get(POOL_A)).body.spec.node_type_id).toBeUndefined();
  });

  describe('with only the driver from a pool', () => {
    const DRIVER_ONLY_A = '0115-000010-drvonly1';
    const DRIVER_ONLY_B = '0115-000011-drvonly2';
    beforeEach(() => {
      sim.admin.loadScenario({
        pools: [{ instance_pool_id: '0115-pool-one-driver', node_type_id: 'r5d.xlarge', max_capacity: 1 }],
        clusters: [DRIVER_ONLY_A, DRIVER_ONLY_B].map((cluster_id) => ({
          cluster_id,
          state: 'TERMINATED',
          spark_version: '15.4.x-scala2.12',
          node_type_id: 'i3.xlarge',
          driver_instance_pool_id: '0115-pool-one-driver',
          num_workers: 1,
          termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
        })),
      });
    });

    it.each([
      ['driver_node_type_id', 400, { driver_node_type_id: 'i3.2xlarge' }],
      ['node_type_id', 200, { node_type_id: 'i3.2xlarge' }],
    ])('answers an update of %s with %i', async (field, status, cluster) => {
      // Act
      const answer = await post('update', { cluster_id: DRIVER_ONLY_A, update_mask: field, cluster });

      // Assess
      expect(answer.status).toBe(status);
      expect((await get(DRIVER_ONLY_A)).body.driver_node_type_id).toBe('r5d.xlarge');
    });

    it("counts the driver against its pool's capacity", async () => {
      // Prepare
      await post('start', { cluster_id: DRIVER_ONLY_A });
      sim.admin.advance(START_MS);

      // Act
      await post('start', { cluster_id: DRIVER_ONLY_B });
      sim.admin.advance(START_MS + TERMINATE_MS);

      // Assess
      expect((await get(DRIVER_ONLY_B)).body.termination_reason).toMatchObject({
        code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED',
        parameters: { instance_pool_id: '0115-pool-one-driver' },
      });
    });
  });

  it('fails a start beyond the pool capacity with INSTANCE_POOL_MAX_CAPACITY_REACHED, and starts once the pool drains', async () => {
    // Prepare: A holds 2 of the small pool's 3 instances (its driver comes from the driver pool).
    await post('start', { cluster_id: POOL_A });
    sim.admin.advance(START_MS);

    // Act: B needs 2 more (a worker and its driver).
    await post('start', { cluster_id: POOL_B });
    sim.admin.advance(START_MS + TERMINATE_MS);
    const refused = (await get(POOL_B)).body;
    await post('delete', { cluster_id: POOL_A });
    sim.admin.advance(TERMINATE_MS);
    await post('start', { cluster_id: POOL_B });
    sim.admin.advance(START_MS);

    // Assess
    expect(refused).toMatchObject({
      state: 'TERMINATED',
      termination_reason: {
        code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED',
        type: 'CLIENT_ERROR',
        parameters: { instance_pool_id: '0115-pool-small' },
      },
    });
    expect((await get(POOL_B)).body.state).toBe('RUNNING');
  });
});

describe('simulated cluster policies', () => {
  it.each([
    ['a node type outside the allowlist', 400, { node_type_id: 'r5d.4xlarge' }],
    ['spot capacity where on-demand is fixed', 400, { aws_attributes: { availability: 'SPOT' } }],
    ['an allowed node type', 200, { node_type_id: 'i3.2xlarge' }],
  ])('answers an update to %s with %i', async (_name, status, change) => {
    // Act
    const answer = await post('update', {
      cluster_id: GOVERNED,
      update_mask: Object.keys(change).join(','),
      cluster: change,
    });

    // Assess
    expect(answer.status).toBe(status);
    if (status === 400) {
      expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(answer.body.message).toContain('On-demand only (E0631F5C0D000123)');
    }
  });
});

describe('simulated cluster policies API', () => {
  it('answers policies/clusters/get with the definition as a JSON document in a string', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.0/policies/clusters/get?policy_id=E0631F5C0D000123');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      policy_id: 'E0631F5C0D000123',
      name: 'On-demand only',
      is_default: false,
    });
    expect(typeof answer.body.definition).toBe('string');
    expect(JSON.parse(answer.body.definition)).toMatchObject({
      node_type_id: { type: 'allowlist', values: ['i3.xlarge', 'i3.2xlarge'] },
    });
  });

  it.each([
    [
      'an unknown policy',
      '?policy_id=NOPE',
      404,
      'RESOURCE_DOES_NOT_EXIST',
      "Can't find a cluster policy with id: NOPE.",
    ],
    ['no policy id', '', 400, 'INVALID_PARAMETER_VALUE', 'Missing required field: policy_id'],
  ])('answers a get of %s with %i', async (_name, query, status, code, message) => {
    // Act
    const answer = await call(sim, 'GET', `/api/2.0/policies/clusters/get${query}`);

    // Assess
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error_code: code, message });
  });
});

describe('simulated cluster policies of other rule types', () => {
  it.each([
    ['a blocklisted node type', 400, { node_type_id: 'p4d.24xlarge' }],
    ['a size outside the range', 400, { num_workers: 9 }],
    ['a forbidden attribute', 400, { init_scripts: [] }],
    // The regex is anchored at both ends, as Databricks anchors it.
    ['a runtime the regex does not match whole', 400, { spark_version: 'x15.4.x-scala2.12' }],
    [
      'a size inside the range and a runtime the regex matches',
      200,
      { num_workers: 8, spark_version: '16.4.x-scala2.12' },
    ],
  ])('answers an update to %s with %i', async (_name, status, change) => {
    // Act
    const answer = await post('update', {
      cluster_id: '0115-000012-policy12',
      update_mask: Object.keys(change).join(','),
      cluster: change,
    });

    // Assess
    expect(answer.status).toBe(status);
    if (status === 400) expect(answer.body.message).toContain('Small and plain (B0000000000000BB)');
  });
});

describe('simulated cluster attributes', () => {
  it('always returns driver_node_type_id, equal to node_type_id unless set', async () => {
    // Act
    const got = (await get(PLAIN)).body;
    const listed = (await call(sim, 'GET', '/api/2.1/clusters/list')).body.clusters.find(
      (c: { cluster_id: string }) => c.cluster_id === PLAIN,
    );

    // Assess
    expect(got).toMatchObject({ node_type_id: 'm5d.large', driver_node_type_id: 'm5d.large' });
    expect(listed).toMatchObject({ driver_node_type_id: 'm5d.large' });
  });

  it('leaves out last_restarted_time until the cluster is restarted', async () => {
    // Prepare
    const before = (await get(PLAIN)).body;

    // Act
    sim.admin.userRestart(PLAIN);
    sim.admin.advance(120_000);
    const after = (await get(PLAIN)).body;

    // Assess
    expect(before.last_restarted_time).toBeUndefined();
    expect(after.last_restarted_time).toBe(SIM_START + 120_000);
    expect((await get(RESTARTED)).body.last_restarted_time).toBe(SIM_START - 3_600_000);
  });
});

describe('simulated job clusters and owned clusters', () => {
  it.each([
    ['start', { cluster_id: JOB_CLUSTER }, 'started'],
    ['edit', { cluster_id: JOB_CLUSTER, spark_version: '15.4.x-scala2.12' }, 'edited'],
    [
      'update',
      { cluster_id: JOB_CLUSTER, update_mask: 'num_workers', cluster: { num_workers: 3 } },
      'edited',
    ],
  ])('refuses a clusters/%s of a job cluster, and records the attempt', async (op, body, what) => {
    // Act
    const answer = await post(op, body);

    // Assess
    expect(answer).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(answer.body.message).toContain(`job clusters cannot be ${what}`);
    expect(takeHarms(sim).map((h) => [h.rule, h.cluster_id])).toEqual([
      ['mutate_owned_cluster', JOB_CLUSTER],
    ]);
  });

  it('names a job cluster job-<job_id>-run-<task run id> and ends it with JOB_FINISHED when the run ends', async () => {
    // Prepare
    const { run_id: runId } = (await call(sim, 'POST', '/api/2.2/jobs/run-now', { job_id: 5001 })).body;
    const task = (await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).body.tasks[0];
    const clusterId = task.cluster_instance.cluster_id;
    const created = (await get(clusterId)).body;

    // Act
    sim.admin.advance(2 * RUN_MS + TERMINATE_MS);

    // Assess
    expect(created).toMatchObject({
      cluster_source: 'JOB',
      cluster_name: `job-5001-run-${task.run_id}`,
      state: 'PENDING',
    });
    const run = (await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).body;
    expect(run.state.result_state).toBe('SUCCESS');
    expect((await get(clusterId)).body).toMatchObject({
      state: 'TERMINATED',
      termination_reason: { code: 'JOB_FINISHED', type: 'SUCCESS' },
    });
  });

  it('runs the tasks of a job_cluster_key on one shared job cluster', async () => {
    // Act
    const { run_id: runId } = (await call(sim, 'POST', '/api/2.2/jobs/run-now', { job_id: 5002 })).body;
    const run = (await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).body;

    // Assess
    const [extract, load] = run.tasks;
    expect(load.cluster_instance.cluster_id).toBe(extract.cluster_instance.cluster_id);
    expect((await get(extract.cluster_instance.cluster_id)).body.cluster_name).toBe(
      `job-5002-run-${extract.run_id}`,
    );
  });

  it("fails the task with the job cluster's failure, which keeps its own reason", async () => {
    // Prepare
    const { run_id: runId } = (await call(sim, 'POST', '/api/2.2/jobs/run-now', { job_id: 5001 })).body;
    const clusterId = (await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).body.tasks[0]
      .cluster_instance.cluster_id;
    sim.admin.advance(START_MS);

    // Act
    sim.admin.failCluster(clusterId, { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' });
    sim.admin.advance(2 * RUN_MS);

    // Assess
    const run = (await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).body;
    expect(run.tasks[0].status.termination_details).toMatchObject({ code: 'CLUSTER_ERROR' });
    expect((await get(clusterId)).body.termination_reason).toMatchObject({ code: 'DRIVER_UNREACHABLE' });
  });

  it('answers runs/get of a task run id with the task run, linked to its job run by job_run_id', async () => {
    // Prepare
    const { run_id: runId } = (await call(sim, 'POST', '/api/2.2/jobs/run-now', { job_id: 5002 })).body;
    const parent = (await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).body;
    const taskRunId = parent.tasks[1].run_id;

    // Act
    const answer = await call(sim, 'GET', `/api/2.2/jobs/runs/get?run_id=${taskRunId}`);

    // Assess
    expect(parent.job_run_id).toBe(runId);
    expect(answer.body).toMatchObject({
      run_id: taskRunId,
      job_run_id: runId,
      job_id: 5002,
      task_key: 'load',
    });
    expect(answer.body.tasks).toHaveLength(1);
  });

  it('accepts a start of a PIPELINE cluster (and the ledger records it)', async () => {
    // Prepare
    const pipeline = '0115-000007-pipelin7';
    sim.admin.userTerminate(pipeline);
    sim.admin.advance(TERMINATE_MS);

    // Act
    const answer = await post('start', { cluster_id: pipeline });

    // Assess
    expect(answer.status).toBe(200);
    expect(takeHarms(sim).map((h) => h.rule)).toEqual([
      'mutate_owned_cluster',
      'start_after_user_termination',
    ]);
  });
});

describe('simulated retention and permanent deletion', () => {
  it('forgets a permanently deleted cluster on every endpoint', async () => {
    // Act
    const answer = await post('permanent-delete', { cluster_id: PLAIN });

    // Assess
    expect(answer.status).toBe(200);
    expect(await listIds()).not.toContain(PLAIN);
    for (const after of [await get(PLAIN), await post('start', { cluster_id: PLAIN })]) {
      expect(after).toMatchObject({
        status: 400,
        body: { error_code: 'INVALID_PARAMETER_VALUE', message: `Cluster ${PLAIN} does not exist` },
      });
    }
  });

  it('lists a cluster for 30 days after its termination and knows it for 60', async () => {
    // Prepare: terminated 45 days ago.
    const listed = await listIds();
    const known = await get(RETIRED);

    // Act
    sim.admin.advance(16 * DAY);

    // Assess
    expect(listed).not.toContain(RETIRED);
    expect(known.status).toBe(200);
    expect(await get(RETIRED)).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
  });
});

describe('simulated autotermination', () => {
  it('terminates a cluster idle for autotermination_minutes with INACTIVITY, counting from its last command', async () => {
    // Prepare
    sim.admin.advance(29 * MINUTE);
    sim.admin.runCommand(IDLE);
    const touched = (await get(IDLE)).body;

    // Act
    sim.admin.advance(29 * MINUTE);
    const stillUp = (await get(IDLE)).body.state;
    sim.admin.advance(MINUTE + TERMINATE_MS);

    // Assess
    expect(touched.last_activity_time).toBe(SIM_START + 29 * MINUTE);
    expect(stillUp).toBe('RUNNING');
    expect((await get(IDLE)).body).toMatchObject({
      state: 'TERMINATED',
      termination_reason: {
        code: 'INACTIVITY',
        type: 'SUCCESS',
        parameters: { inactivity_duration_min: '30' },
      },
    });
  });

  it('keeps a cluster busy while a job run uses it, and moves last_activity_time to its end', async () => {
    // Prepare
    await call(sim, 'POST', '/api/2.2/jobs/run-now', { job_id: 5003 });

    // Act
    sim.admin.advance(RUN_MS);

    // Assess
    expect((await get(IDLE)).body.last_activity_time).toBe(SIM_START + RUN_MS);
  });
});

describe('simulated driver trouble', () => {
  it.each([
    ['crash-driver', 60_000, true],
    ['gc-pause', 5_000, false],
  ])('heals a %s with DRIVER_HEALTHY after %i ms (state lost: %s)', async (action, healMs, lost) => {
    // Prepare
    const before = (await get(PLAIN)).body;

    // Act
    await admin(sim, 'POST', `clusters/${PLAIN}/${action}`);
    sim.admin.advance(healMs);

    // Assess
    const after = (await get(PLAIN)).body;
    const events = (await post('events', { cluster_id: PLAIN, order: 'ASC' })).body.events;
    const driver = events.filter((e: { type: string }) => e.type.startsWith('DRIVER_'));
    expect(driver.map((e: { type: string; timestamp: number }) => [e.type, e.timestamp])).toEqual([
      ['DRIVER_NOT_RESPONDING', SIM_START],
      ['DRIVER_HEALTHY', SIM_START + healMs],
    ]);
    expect(after.state).toBe('RUNNING');
    expect(after.spark_context_id !== before.spark_context_id).toBe(lost);
    expect(after.last_state_loss_time !== before.last_state_loss_time).toBe(lost);
  });
});

describe('simulated launch rate limit', () => {
  it.each([429, 400] as const)(
    'answers a launch beyond the per-minute limit with %i REQUEST_LIMIT_EXCEEDED and Retry-After',
    async (status) => {
      // Prepare
      sim.admin.loadScenario({ limits: { clusterLaunchesPerMinute: 1, status, retryAfterSeconds: 30 } });
      await post('start', { cluster_id: POOL_A });

      // Act
      const refused = await post('start', { cluster_id: GOVERNED });
      sim.admin.advance(MINUTE);
      const later = await post('start', { cluster_id: GOVERNED });

      // Assess
      expect(refused).toMatchObject({ status, body: { error_code: 'REQUEST_LIMIT_EXCEEDED' } });
      expect(refused.headers.get('retry-after')).toBe('30');
      expect(later.status).toBe(200);
    },
  );
});

describe('simulated user actions', () => {
  it('records a user terminating, starting and editing a cluster under their name, outside the ledger', async () => {
    // Act
    await admin(sim, 'POST', `clusters/${PLAIN}/user-terminate`, { user: 'ana@example.com' });
    sim.admin.advance(TERMINATE_MS);
    const terminated = (await get(PLAIN)).body;
    await admin(sim, 'POST', `clusters/${PLAIN}/user-edit`, {
      user: 'ana@example.com',
      attributes: { num_workers: 4 },
    });
    await admin(sim, 'POST', `clusters/${PLAIN}/user-start`, { user: 'ana@example.com' });

    // Assess
    expect(terminated.termination_reason).toEqual({
      code: 'USER_REQUEST',
      type: 'SUCCESS',
      parameters: { username: 'ana@example.com' },
    });
    const events = (await post('events', { cluster_id: PLAIN, order: 'DESC', page_size: 3 })).body.events;
    expect(events.map((e: { type: string; details: { user?: string } }) => [e.type, e.details.user])).toEqual(
      [
        ['STARTING', 'ana@example.com'],
        ['EDITED', 'ana@example.com'],
        ['TERMINATING', 'ana@example.com'],
      ],
    );
    expect(events[1].details.cluster_size).toEqual({ num_workers: 4 });
  });
});

describe('simulated wire details', () => {
  it('answers clusters/events that names no paging style with next_page, a real total_count and next_page_token', async () => {
    // Prepare: 60 more events than the default page of 50.
    for (let i = 0; i < 30; i++) {
      sim.admin.gcPause(PLAIN);
      sim.admin.advance(5_000);
    }

    // Act
    const unstyled = (await post('events', { cluster_id: PLAIN })).body;
    const tokenStyle = (await post('events', { cluster_id: PLAIN, page_size: 50 })).body;
    const next = (await post('events', unstyled.next_page)).body;

    // Assess
    const total = unstyled.total_count;
    expect(total).toBeGreaterThan(60);
    expect(unstyled.events).toHaveLength(50);
    expect(unstyled.next_page).toMatchObject({ cluster_id: PLAIN, offset: 50, limit: 50 });
    expect(typeof unstyled.next_page_token).toBe('string');
    expect(tokenStyle.total_count).toBe(0);
    expect(tokenStyle.next_page).toBeUndefined();
    expect(next.events).toHaveLength(total - 50);
  });

  it('serves OAuth discovery without authentication', async () => {
    // Act
    const answer = await call(sim, 'GET', '/oidc/.well-known/oauth-authorization-server', undefined, null);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      authorization_endpoint: `${sim.url}/oidc/v1/authorize`,
      token_endpoint: `${sim.url}/oidc/v1/token`,
    });
  });

  it('pages jobs/list at 20 by default with has_more and next_page_token', async () => {
    // Act
    const first = (await call(sim, 'GET', '/api/2.2/jobs/list')).body;
    const second = (await call(sim, 'GET', `/api/2.2/jobs/list?page_token=${first.next_page_token}`)).body;
    const limited = (await call(sim, 'GET', '/api/2.2/jobs/list?limit=5&offset=24')).body;

    // Assess
    expect(first.jobs).toHaveLength(20);
    expect(first.has_more).toBe(true);
    expect(second.jobs).toHaveLength(6);
    expect(second).toMatchObject({ has_more: false });
    expect(second.next_page_token).toBeUndefined();
    expect(limited.jobs.map((j: { job_id: number }) => j.job_id)).toEqual([5121, 5122]);
  });

  it('pages jobs/runs/list newest first at 25', async () => {
    // Act
    const first = (await call(sim, 'GET', '/api/2.2/jobs/runs/list?job_id=5003')).body;
    const second = (
      await call(sim, 'GET', `/api/2.2/jobs/runs/list?job_id=5003&page_token=${first.next_page_token}`)
    ).body;

    // Assess
    expect(first.runs).toHaveLength(25);
    expect(first.runs[0].run_id).toBe(6000029);
    expect(first.has_more).toBe(true);
    expect(second.runs.map((r: { run_id: number }) => r.run_id)).toEqual([
      6000004, 6000003, 6000002, 6000001, 6000000,
    ]);
    expect(second.has_more).toBe(false);
  });

  it.each([
    ['both active_only and completed_only', '/api/2.2/jobs/runs/list?active_only=true&completed_only=true'],
    ['a limit above 25', '/api/2.2/jobs/runs/list?limit=26'],
    ['a page token of another query', '/api/2.2/jobs/list?page_token=eyJvIjoyMCwiZiI6InJ1bnMifQ'],
  ])('refuses a list with %s', async (_name, path) => {
    // Act
    const answer = await call(sim, 'GET', path);

    // Assess
    expect(answer).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
  });
});
