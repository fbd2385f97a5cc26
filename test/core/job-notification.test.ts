import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobWithContextSchema } from '../../functions/core/decide.ts';
import {
  analyzeJobNotification,
  clusterIdsToRead,
  ignoredJobEvent,
  jobIdsOf,
} from '../../functions/core/job-notification.ts';
import { parseJson } from '../../functions/core/json.ts';
import type { Run } from '../../functions/core/schemas/databricks.ts';
import { JOB_EVENT_TYPES, type JobNotification } from '../../functions/core/schemas/inbound.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const withContext = JobWithContextSchema.parse(
  parseJson(readFileSync(join(FIXTURES, 'classify/job-failure-with-context.json'), 'utf8')),
);
const succeeded: Run = {
  ...withContext.run,
  state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' },
  status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS', type: 'SUCCESS' } },
  tasks: [],
};

describe('ignoredJobEvent', () => {
  it.each(JOB_EVENT_TYPES.map((eventType) => ({ eventType, acted: eventType === 'jobs.on_failure' })))(
    'acts on $eventType: $acted',
    ({ eventType, acted }) => {
      // Act
      const why = ignoredJobEvent(eventType);

      // Assess
      if (acted) expect(why).toBeUndefined();
      else expect(why).toMatch(new RegExp(`^${eventType.replaceAll('.', '\\.')} needs no action: `));
    },
  );
});

describe('jobIdsOf', () => {
  it.each([
    { run: { run_id: '77' }, task: undefined, runId: '77', taskKey: undefined },
    {
      run: { run_id: '78', parent_run_id: '77' },
      task: { task_key: 'ingest' },
      runId: '77',
      taskKey: 'ingest',
    },
  ])('names job run $runId for a notification of run $run.run_id', ({ run, task, runId, taskKey }) => {
    // Prepare
    const notification: JobNotification = {
      event_type: 'jobs.on_failure',
      run,
      job: { job_id: '5', name: 'orders' },
      ...(task === undefined ? {} : { task }),
    };

    // Act
    const ids = jobIdsOf(notification);

    // Assess
    expect(ids).toEqual({ jobId: '5', runId, jobName: 'orders', taskKey });
  });
});

describe('analyzeJobNotification', () => {
  it('finds the cluster failure behind a failed run on the clusters its failed tasks ran on', () => {
    // Prepare
    const { notification, run, clusters } = withContext;

    // Act
    const toRead = clusterIdsToRead(notification, run);
    const analysis = analyzeJobNotification(notification, run, clusters);

    // Assess
    expect(toRead).toEqual(['0923-164208-meows279']);
    expect(analysis?.clusterCause?.cluster.cluster_id).toBe('0923-164208-meows279');
    expect(analysis?.job.runId).toBe('455644833');
  });

  it('finds the cluster failure behind a run that shows no failure itself', () => {
    // Prepare
    const { notification } = withContext;
    const running: Run = { run_id: '455644833', cluster_instance: { cluster_id: 'c1' } };
    const terminated = {
      cluster_id: 'c1',
      state: 'TERMINATED',
      termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'CLOUD_FAILURE' },
    };

    // Act
    const analysis = analyzeJobNotification(notification, running, [terminated]);

    // Assess
    expect(analysis?.failed).toBe(false);
    expect(analysis?.clusterCause).toStrictEqual({ kind: 'termination', cluster: terminated });
  });

  it('needs nothing for a run that shows no failure', () => {
    // Prepare
    const { notification, clusters } = withContext;

    // Act
    const analysis = analyzeJobNotification(notification, succeeded, clusters);

    // Assess
    expect(analysis).toBeUndefined();
  });
});
