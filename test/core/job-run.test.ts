import { describe, expect, it } from 'vitest';
import { analyzeJobRun, isFailedTask } from '../../functions/core/job-run.ts';
import type { ClusterDetails, Run, RunTask } from '../../functions/core/schemas/databricks.ts';

const IDS = { jobId: '5', runId: '77' };
const DRIVER_LOST: ClusterDetails['termination_reason'] = {
  code: 'DRIVER_UNREACHABLE',
  type: 'CLOUD_FAILURE',
};
const failedTask = (fields: Partial<RunTask> = {}): RunTask => ({
  task_key: 'etl',
  state: { life_cycle_state: 'TERMINATED', result_state: 'FAILED' },
  ...fields,
});
const run = (fields: Partial<Run> = {}): Run => ({ run_id: '77', ...fields });
const cluster = (fields: Partial<ClusterDetails> = {}): ClusterDetails => ({
  cluster_id: 'c1',
  state: 'TERMINATED',
  termination_reason: DRIVER_LOST,
  ...fields,
});

describe('isFailedTask', () => {
  it.each<{ name: string; task: RunTask; failed: boolean }>([
    { name: 'an internal error', task: { state: { life_cycle_state: 'INTERNAL_ERROR' } }, failed: true },
    { name: 'a FAILED result', task: { state: { result_state: 'FAILED' } }, failed: true },
    { name: 'a TIMEDOUT result', task: { state: { result_state: 'TIMEDOUT' } }, failed: true },
    {
      name: 'a SUCCESS result',
      task: { state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' } },
      failed: false,
    },
    { name: 'a CANCELED result', task: { state: { result_state: 'CANCELED' } }, failed: false },
    {
      name: 'a terminated status with a failure code',
      task: { status: { state: 'TERMINATED', termination_details: { code: 'RUN_EXECUTION_ERROR' } } },
      failed: true,
    },
    {
      name: 'a terminating status with a failure code',
      task: { status: { state: 'TERMINATING', termination_details: { code: 'RUN_EXECUTION_ERROR' } } },
      failed: false,
    },
    {
      name: 'a terminated status with SUCCESS',
      task: { status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS' } } },
      failed: false,
    },
    {
      name: 'a terminated status the user canceled',
      task: { status: { state: 'TERMINATED', termination_details: { code: 'USER_CANCELED' } } },
      failed: false,
    },
    {
      name: 'a task skipped because an upstream failed',
      task: {
        state: { life_cycle_state: 'SKIPPED', result_state: 'UPSTREAM_FAILED' },
        status: { state: 'TERMINATED', termination_details: { code: 'SKIPPED' } },
      },
      failed: false,
    },
    { name: 'a terminated status without details', task: { status: { state: 'TERMINATED' } }, failed: false },
    { name: 'nothing known', task: {}, failed: false },
  ])('calls a task with $name failed: $failed', ({ task, failed }) => {
    // Act / Assess
    expect(isFailedTask(task)).toBe(failed);
  });
});

describe('analyzeJobRun: whether the run failed', () => {
  it.each<{ name: string; fields: Partial<Run>; failed: boolean }>([
    {
      name: 'a failure code in its status',
      fields: { status: { state: 'TERMINATED', termination_details: { code: 'RUN_EXECUTION_ERROR' } } },
      failed: true,
    },
    {
      name: 'SUCCESS in its status over a FAILED result state',
      fields: {
        status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS' } },
        state: { life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' },
      },
      failed: false,
    },
    {
      name: 'a status without details and a FAILED result',
      fields: { status: { state: 'TERMINATED' }, state: { result_state: 'FAILED' } },
      failed: true,
    },
    { name: 'an internal error', fields: { state: { life_cycle_state: 'INTERNAL_ERROR' } }, failed: true },
    { name: 'a TIMEDOUT result', fields: { state: { result_state: 'TIMEDOUT' } }, failed: true },
    {
      name: 'a SUCCESS result',
      fields: { state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' } },
      failed: false,
    },
    { name: 'a running state', fields: { state: { life_cycle_state: 'RUNNING' } }, failed: false },
    { name: 'nothing known', fields: {}, failed: false },
    { name: 'a failed task only', fields: { tasks: [failedTask()] }, failed: true },
  ])('calls a run with $name failed: $failed', ({ fields, failed }) => {
    // Act
    const analysis = analyzeJobRun(IDS, run(fields), []);

    // Assess
    expect(analysis.failed).toBe(failed);
  });
});

describe('analyzeJobRun: the cluster failure behind the run', () => {
  it.each<{
    name: string;
    task: RunTask;
    found: ClusterDetails;
    cause: 'termination' | 'driver_loss' | undefined;
  }>([
    {
      name: 'its cluster terminated with a failure',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' } }),
      found: cluster(),
      cause: 'termination',
    },
    {
      name: 'its cluster is terminating with a failure',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' } }),
      found: cluster({ state: 'TERMINATING' }),
      cause: 'termination',
    },
    {
      name: 'its cluster was stopped by a user',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' } }),
      found: cluster({ termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS' } }),
      cause: undefined,
    },
    {
      name: 'its cluster terminated without a reason',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' } }),
      found: { cluster_id: 'c1', state: 'TERMINATED' },
      cause: undefined,
    },
    {
      name: 'its cluster runs again, its old reason kept',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' } }),
      found: cluster({ state: 'RUNNING' }),
      cause: undefined,
    },
    {
      name: 'its existing cluster terminated with a failure',
      task: failedTask({ existing_cluster_id: 'c1' }),
      found: cluster(),
      cause: 'termination',
    },
    {
      name: 'its cluster instance, not the existing cluster it names',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' }, existing_cluster_id: 'c9' }),
      found: cluster(),
      cause: 'termination',
    },
    {
      name: 'its driver restarted since it ran',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' } }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2' }),
      cause: 'driver_loss',
    },
    {
      name: 'its driver is the same',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' } }),
      found: cluster({ state: 'RUNNING', spark_context_id: '1' }),
      cause: undefined,
    },
    {
      name: 'its cluster restarting on a new driver',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' } }),
      found: cluster({ state: 'RESTARTING', spark_context_id: '2', termination_reason: undefined }),
      cause: undefined,
    },
    {
      name: 'its existing cluster runs on the driver it ran on',
      task: failedTask({ existing_cluster_id: 'c1' }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2' }),
      cause: undefined,
    },
    {
      name: 'its driver restarted at a time not known',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' }, end_time: 2000 }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2' }),
      cause: 'driver_loss',
    },
    {
      name: 'its driver unknown when it ran',
      task: failedTask({ cluster_instance: { cluster_id: 'c1' } }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2' }),
      cause: undefined,
    },
    {
      name: 'its cluster without a driver now',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' } }),
      found: cluster({ state: 'RUNNING' }),
      cause: undefined,
    },
    {
      name: 'its driver lost before it ended',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' }, end_time: 2000 }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2', last_state_loss_time: 1999 }),
      cause: 'driver_loss',
    },
    {
      name: 'its driver lost as it ended',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' }, end_time: 2000 }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2', last_state_loss_time: 2000 }),
      cause: 'driver_loss',
    },
    {
      name: 'its driver lost after it ended',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' }, end_time: 2000 }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2', last_state_loss_time: 2001 }),
      cause: undefined,
    },
    {
      name: 'its driver lost, its end unknown (0)',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' }, end_time: 0 }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2', last_state_loss_time: 2001 }),
      cause: 'driver_loss',
    },
    {
      name: 'its driver lost, no end time',
      task: failedTask({ cluster_instance: { cluster_id: 'c1', spark_context_id: '1' } }),
      found: cluster({ state: 'RUNNING', spark_context_id: '2', last_state_loss_time: 2001 }),
      cause: 'driver_loss',
    },
  ])('blames the cluster of a failed task when $name: $cause', ({ task, found, cause }) => {
    // Act
    const analysis = analyzeJobRun(IDS, run({ tasks: [task] }), [found]);

    // Assess
    expect(analysis.clusterCause?.kind).toBe(cause);
    if (cause !== undefined)
      expect(analysis.clusterCause).toStrictEqual({ kind: cause, cluster: found, task });
    expect(analysis.clusterIds).toEqual(['c1']);
  });

  it('blames the run cluster, with no task, when no failed task names a cluster', () => {
    // Prepare
    const single = run({
      state: { life_cycle_state: 'INTERNAL_ERROR' },
      tasks: [failedTask()],
      cluster_instance: { cluster_id: 'c1' },
    });

    // Act
    const analysis = analyzeJobRun(IDS, single, [cluster()]);

    // Assess
    expect(analysis.clusterCause).toStrictEqual({ kind: 'termination', cluster: cluster() });
    expect(analysis.clusterIds).toEqual(['c1']);
  });

  it.each<{ name: string; fields: Partial<Run>; clusterIds: string[] }>([
    { name: 'its cluster instance', fields: { cluster_instance: { cluster_id: 'c1' } }, clusterIds: ['c1'] },
    {
      name: 'its existing cluster',
      fields: { cluster_spec: { existing_cluster_id: 'c2' } },
      clusterIds: ['c2'],
    },
    {
      name: 'its cluster instance over its existing cluster',
      fields: { cluster_instance: { cluster_id: 'c1' }, cluster_spec: { existing_cluster_id: 'c2' } },
      clusterIds: ['c1'],
    },
    {
      name: 'the cluster of its failed task over its own',
      fields: { cluster_instance: { cluster_id: 'c1' }, tasks: [failedTask({ existing_cluster_id: 'c3' })] },
      clusterIds: ['c3'],
    },
    {
      name: 'no cluster for a failed task that names none',
      fields: { tasks: [failedTask()] },
      clusterIds: [],
    },
    {
      name: 'each cluster of its failed tasks once',
      fields: {
        tasks: [
          failedTask({ task_key: 'a', existing_cluster_id: 'c1' }),
          failedTask({ task_key: 'b', existing_cluster_id: 'c1' }),
          failedTask({ task_key: 'c', existing_cluster_id: 'c2' }),
          { task_key: 'd', existing_cluster_id: 'c4', state: { result_state: 'SUCCESS' } },
        ],
      },
      clusterIds: ['c1', 'c2'],
    },
  ])('reads $name', ({ fields, clusterIds }) => {
    // Act
    const analysis = analyzeJobRun(IDS, run(fields), []);

    // Assess
    expect(analysis.clusterIds).toEqual(clusterIds);
    expect(analysis).not.toHaveProperty('clusterCause');
  });

  it('does not blame the run cluster for a driver it cannot compare with a task', () => {
    // Prepare
    const single = run({ state: { result_state: 'FAILED' }, cluster_instance: { cluster_id: 'c1' } });

    // Act
    const analysis = analyzeJobRun(IDS, single, [cluster({ state: 'RUNNING', spark_context_id: '2' })]);

    // Assess
    expect(analysis).not.toHaveProperty('clusterCause');
  });

  it('blames the first failed cluster it can read, in the order of the tasks', () => {
    // Prepare
    const tasks = [
      failedTask({ task_key: 'a', existing_cluster_id: 'gone' }),
      failedTask({ task_key: 'b', existing_cluster_id: 'c2' }),
      failedTask({ task_key: 'c', existing_cluster_id: 'c3' }),
    ];
    const clusters = [cluster({ cluster_id: 'c3' }), cluster({ cluster_id: 'c2' })];

    // Act
    const analysis = analyzeJobRun(IDS, run({ tasks }), clusters);

    // Assess
    expect(analysis.clusterCause?.cluster.cluster_id).toBe('c2');
    expect(analysis.clusterCause?.task?.task_key).toBe('b');
  });
});

describe('analyzeJobRun: the job context', () => {
  it.each<{
    name: string;
    ids: typeof IDS & { jobName?: string; taskKey?: string };
    fields: Partial<Run>;
    job: object;
  }>([
    { name: 'ids only', ids: IDS, fields: {}, job: { jobId: '5', runId: '77' } },
    {
      name: 'the notified task when no task failed',
      ids: { ...IDS, jobName: 'orders', taskKey: 'load' },
      fields: {},
      job: { jobId: '5', runId: '77', jobName: 'orders', taskKeys: ['load'] },
    },
    {
      name: 'the failed tasks over the notified one, those without a key left out',
      ids: { ...IDS, taskKey: 'load' },
      fields: {
        tasks: [
          failedTask({ task_key: 'a' }),
          failedTask({ task_key: undefined }),
          failedTask({ task_key: 'b' }),
        ],
      },
      job: { jobId: '5', runId: '77', taskKeys: ['a', 'b'] },
    },
    {
      name: "the run's termination details",
      ids: IDS,
      fields: {
        run_page_url: 'https://example.invalid/run/77',
        status: {
          state: 'TERMINATED',
          termination_details: { code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR', message: 'task failed' },
        },
        state: { state_message: 'run message' },
      },
      job: {
        jobId: '5',
        runId: '77',
        terminationCode: 'RUN_EXECUTION_ERROR',
        terminationType: 'CLIENT_ERROR',
        message: 'task failed',
        runPageUrl: 'https://example.invalid/run/77',
      },
    },
    {
      name: "the first failed task's details when the run has none",
      ids: IDS,
      fields: {
        tasks: [
          failedTask({
            task_key: 'a',
            status: { state: 'TERMINATED', termination_details: { code: 'CLUSTER_ERROR' } },
          }),
          failedTask({
            task_key: 'b',
            status: { state: 'TERMINATED', termination_details: { code: 'RUN_EXECUTION_ERROR' } },
          }),
        ],
      },
      job: { jobId: '5', runId: '77', taskKeys: ['a', 'b'], terminationCode: 'CLUSTER_ERROR' },
    },
    {
      name: "a failed task's state message when the details have none",
      ids: IDS,
      fields: {
        state: { state_message: 'run message' },
        tasks: [
          failedTask({ task_key: 'a' }),
          failedTask({ task_key: 'b', state: { result_state: 'FAILED', state_message: 'task b message' } }),
        ],
      },
      job: { jobId: '5', runId: '77', taskKeys: ['a', 'b'], message: 'task b message' },
    },
    {
      name: "the run's state message when its failed tasks have none",
      ids: IDS,
      fields: {
        state: { state_message: 'run message' },
        tasks: [
          { task_key: 'a', status: { state: 'TERMINATED', termination_details: { code: 'CLUSTER_ERROR' } } },
        ],
      },
      job: {
        jobId: '5',
        runId: '77',
        taskKeys: ['a'],
        terminationCode: 'CLUSTER_ERROR',
        message: 'run message',
      },
    },
    {
      name: "the run's state message, INTERNAL_ERROR as its code",
      ids: IDS,
      fields: { state: { life_cycle_state: 'INTERNAL_ERROR', state_message: 'run message' } },
      job: { jobId: '5', runId: '77', terminationCode: 'INTERNAL_ERROR', message: 'run message' },
    },
    {
      name: 'no empty message',
      ids: IDS,
      fields: { state: { result_state: 'FAILED', state_message: '' } },
      job: { jobId: '5', runId: '77' },
    },
  ])('keeps $name', ({ ids, fields, job }) => {
    // Act
    const analysis = analyzeJobRun(ids, run(fields), []);

    // Assess
    expect(analysis.job).toStrictEqual(job);
  });

  it('bounds the message to 4,000 characters', () => {
    // Prepare
    const long = run({ state: { result_state: 'FAILED', state_message: 'x'.repeat(4001) } });

    // Act
    const analysis = analyzeJobRun(IDS, long, []);

    // Assess
    expect(analysis.job.message).toBe('x'.repeat(4000));
  });
});
