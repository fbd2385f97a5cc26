import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../lib/simulator/scenario.ts';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { call, fixture, startTestSimulator } from './support.ts';

const RUN = 5550001;
const CLUSTER = '0115-110000-running1';

/** A job with `count` tasks on one all-purpose cluster and one failed run. */
function wideJob(count: number): ScenarioInput {
  return {
    clusters: [{ cluster_id: 'wide-cluster', state: 'RUNNING' }],
    jobs: [
      {
        job_id: 4242,
        name: 'Wide fan-out',
        tasks: Array.from({ length: count }, (_, i) => ({
          task_key: `t${String(i).padStart(3, '0')}`,
          existing_cluster_id: 'wide-cluster',
        })),
        runs: [{ run_id: '9007199254740993', result_state: 'FAILED' }],
      },
    ],
  };
}

describe('simulated jobs API', () => {
  let sim: RunningSimulator;
  const runsGet = (query: string) => call(sim, 'GET', `/api/2.2/jobs/runs/get?${query}`);
  const repair = (body: Record<string, unknown>) => call(sim, 'POST', '/api/2.2/jobs/runs/repair', body);

  beforeEach(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('reports a run with tasks[].cluster_instance and status.termination_details', async () => {
    // Act
    const answer = await runsGet(`run_id=${RUN}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      run_id: RUN,
      job_id: 778899,
      state: { life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' },
      status: { state: 'TERMINATED', termination_details: { code: 'DRIVER_ERROR', type: 'INTERNAL_ERROR' } },
      has_more: false,
    });
    expect(answer.body.tasks[0]).toMatchObject({
      task_key: 'ingest',
      existing_cluster_id: CLUSTER,
      cluster_instance: { cluster_id: CLUSTER, spark_context_id: expect.stringMatching(/^\d{19}$/) },
      state: { result_state: 'FAILED' },
    });
    expect(answer.body.tasks[1]).toMatchObject({
      task_key: 'transform',
      state: { life_cycle_state: 'SKIPPED', result_state: 'UPSTREAM_FAILED' },
    });
  });

  it('pages tasks at 100 and links the pages with next_page_token', async () => {
    // Prepare
    await sim.close();
    sim = await startTestSimulator({ scenario: wideJob(250) });
    const runId = '9007199254740993';

    // Act
    const keys: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    do {
      const page = (await runsGet(`run_id=${runId}${token ? `&page_token=${token}` : ''}`)).body;
      sizes.push(page.tasks.length);
      keys.push(...page.tasks.map((t: { task_key: string }) => t.task_key));
      expect(page.has_more).toBe(token === undefined || sizes.length < 3);
      expect(String(page.run_id)).toBe(runId);
      token = page.next_page_token;
    } while (token);

    // Assess
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(keys).size).toBe(250);
  });

  it('returns every task at once on the unpaged 2.1 endpoint', async () => {
    // Prepare
    await sim.close();
    sim = await startTestSimulator({ scenario: wideJob(150) });

    // Act
    const answer = await call(sim, 'GET', '/api/2.1/jobs/runs/get?run_id=9007199254740993');

    // Assess
    expect(answer.body.tasks).toHaveLength(150);
  });

  it.each([
    ['an unknown run', 'run_id=123', 'Run 123 does not exist.'],
    ['no run id', '', 'Missing required field: run_id'],
  ])('answers %s with 400 INVALID_PARAMETER_VALUE', async (_name, query, message) => {
    // Act
    const answer = await runsGet(query);

    // Assess
    expect(answer).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message } });
  });

  it('repairs the failed tasks, then requires latest_repair_id for the next repair', async () => {
    // Act
    const first = await repair({ run_id: RUN, rerun_all_failed_tasks: true });
    const whileRunning = await repair({
      run_id: RUN,
      rerun_all_failed_tasks: true,
      latest_repair_id: first.body.repair_id,
    });
    sim.admin.advance(120_000);
    const afterFirst = (await runsGet(`run_id=${RUN}&include_history=true`)).body;
    const missing = await repair({ run_id: RUN, rerun_tasks: ['ingest'] });
    const wrong = await repair({ run_id: RUN, rerun_tasks: ['ingest'], latest_repair_id: 1 });
    const second = await repair({
      run_id: RUN,
      rerun_tasks: ['ingest'],
      latest_repair_id: first.body.repair_id,
    });

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.repair_id).toEqual(expect.any(Number));
    expect(whileRunning.body.error_code).toBe('INVALID_STATE');
    expect(afterFirst).toMatchObject({ state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' } });
    expect(afterFirst.tasks.map((t: { attempt_number: number }) => t.attempt_number)).toEqual([1, 1]);
    expect(afterFirst.repair_history.map((r: { type: string }) => r.type)).toEqual(['ORIGINAL', 'REPAIR']);
    expect(afterFirst.repair_history[1].id).toBe(first.body.repair_id);
    expect(missing).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('latest_repair_id') },
    });
    expect(wrong).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(second.status).toBe(200);
    expect(second.body.repair_id).not.toBe(first.body.repair_id);
  });

  it('starts the terminated all-purpose cluster of a repaired task, as the Jobs service does', async () => {
    // Prepare
    sim.admin.failCluster(CLUSTER, { code: 'SPOT_INSTANCE_TERMINATION', type: 'CLOUD_FAILURE' });
    sim.admin.advance(30_000);

    // Act
    await repair({ run_id: RUN, rerun_all_failed_tasks: true });
    sim.admin.advance(180_000 + 120_000);
    const run = (await runsGet(`run_id=${RUN}`)).body;

    // Assess
    expect(run.state.result_state).toBe('SUCCESS');
    expect(run.tasks[0].cluster_instance.cluster_id).toBe(CLUSTER);
  });

  it('reports CLUSTER_ERROR when a repaired task finds its cluster terminated and unstartable', async () => {
    // Prepare
    sim.admin.setFaults({
      failNextStarts: {
        count: 1,
        reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });
    sim.admin.failCluster(CLUSTER, { code: 'SPOT_INSTANCE_TERMINATION', type: 'CLOUD_FAILURE' });
    sim.admin.advance(30_000);

    // Act
    await repair({ run_id: RUN, rerun_all_failed_tasks: true });
    sim.admin.advance(60_000 + 30_000 + 120_000);
    const run = (await runsGet(`run_id=${RUN}`)).body;

    // Assess
    expect(run.state.result_state).toBe('FAILED');
    expect(run.status.termination_details).toMatchObject({ code: 'CLUSTER_ERROR' });
  });

  it.each([
    ['neither rerun_tasks nor rerun_all_failed_tasks', { run_id: RUN }],
    ['an unknown task key', { run_id: RUN, rerun_tasks: ['nope'] }],
    ['an unknown run', { run_id: 42, rerun_all_failed_tasks: true }],
    [
      'a latest_repair_id on a first repair',
      { run_id: RUN, rerun_all_failed_tasks: true, latest_repair_id: 77 },
    ],
  ])('rejects a repair with %s', async (_name, body) => {
    // Act
    const answer = await repair(body);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('launches a run with run-now and returns the same run for the same idempotency_token', async () => {
    // Act
    const first = await call(sim, 'POST', '/api/2.2/jobs/run-now', {
      job_id: 778899,
      idempotency_token: 'nightly-2026-01-15',
    });
    const again = await call(sim, 'POST', '/api/2.2/jobs/run-now', {
      job_id: 778899,
      idempotency_token: 'nightly-2026-01-15',
    });
    const other = await call(sim, 'POST', '/api/2.2/jobs/run-now', { job_id: 778899 });
    const running = (await runsGet(`run_id=${first.body.run_id}`)).body;
    sim.admin.advance(120_000);
    const done = (await runsGet(`run_id=${first.body.run_id}`)).body;

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ run_id: expect.any(Number), number_in_job: 2 });
    expect(again.body).toEqual(first.body);
    expect(other.body.run_id).not.toBe(first.body.run_id);
    expect(running.state.life_cycle_state).toBe('RUNNING');
    expect(done).toMatchObject({ state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' } });
    expect(done.tasks[0].cluster_instance).toMatchObject({
      cluster_id: CLUSTER,
      spark_context_id: expect.any(String),
    });
  });

  it.each([
    ['an unknown job', { job_id: 1 }, 'Job 1 does not exist.'],
    [
      'a token over 64 characters',
      { job_id: 778899, idempotency_token: 'x'.repeat(65) },
      'idempotency_token must be a string of 1 to 64 characters',
    ],
  ])('rejects run-now for %s', async (_name, body, message) => {
    // Act
    const answer = await call(sim, 'POST', '/api/2.2/jobs/run-now', body);

    // Assess
    expect(answer).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message } });
  });
});
