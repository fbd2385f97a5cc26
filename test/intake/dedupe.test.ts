import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useHarmLedger } from '../support/harms.ts';
import { createIntakeHarness, fixture, type IntakeHarness } from '../support/intake-harness.ts';

describe('intake: one incident, one ticket, one recovery', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  it('turns 50 concurrent identical deliveries into exactly one ticket and one StartExecution', async () => {
    // Prepare
    const payload = fixture('seed/test1-driver-unreachable.json');

    // Act
    const responses = await Promise.all(Array.from({ length: 50 }, () => h.post(payload)));

    // Assess
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(200));
    const ids = new Set(responses.map((r) => r.body.ticket_id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.body.status === 'success')).toHaveLength(1);
    expect(responses.filter((r) => r.body.status === 'duplicate')).toHaveLength(49);
    expect(h.workflow.starts.filter((s) => ids.has(s.name))).toHaveLength(1);
    const tickets = (await h.items()).filter((item) => item.sk === 'TICKET');
    expect(tickets).toHaveLength(1);
  });

  it('recognises the same failure arriving as a job webhook and then as a cluster event', async () => {
    // Prepare
    const startsBefore = h.workflow.starts.length;

    // Act
    const viaJob = await h.post({
      event_type: 'jobs.on_failure',
      run: { run_id: 455644833 },
      job: { job_id: 11223344 },
    });
    const viaEvent = await h.post({
      event: 'cluster.terminated',
      cluster: {
        cluster_id: '0923-164208-meows279',
        cluster_name: 'Shared Orders ETL',
        state: 'TERMINATED',
        termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
      },
    });

    // Assess
    expect(viaJob.body.status).toBe('success');
    expect(viaEvent.body).toMatchObject({
      status: 'duplicate',
      ticket_id: viaJob.body.ticket_id,
      actions_taken: [],
    });
    expect(h.workflow.starts.length).toBe(startsBefore + 1);
  });

  it('recognises the same failure arriving first as a cluster event and then as a task-level job webhook', async () => {
    // Prepare
    await h.simulator.admin.loadScenario({
      clusters: [
        {
          cluster_id: '0404-040404-order2nd',
          state: 'TERMINATED',
          terminated_time: 1764400000000,
          termination_reason: { code: 'DRIVER_UNRESPONSIVE', type: 'SERVICE_FAULT' },
        },
      ],
      jobs: [
        {
          job_id: 42,
          name: 'order-2nd',
          tasks: [{ task_key: 't', existing_cluster_id: '0404-040404-order2nd' }],
          runs: [
            {
              run_id: 4242,
              result_state: 'FAILED',
              termination_details: { code: 'DRIVER_ERROR', type: 'INTERNAL_ERROR' },
            },
          ],
        },
      ],
    });

    // Act
    const viaEvent = await h.post({
      event: 'cluster.terminated',
      cluster: {
        cluster_id: '0404-040404-order2nd',
        termination_reason: { code: 'DRIVER_UNRESPONSIVE', type: 'SERVICE_FAULT' },
      },
    });
    const viaTask = await h.post({
      event_type: 'jobs.on_failure',
      task: { task_key: 't' },
      run: { run_id: 99, parent_run_id: 4242 },
      job: { job_id: 42 },
    });

    // Assess
    expect(viaEvent.body.status).toBe('success');
    expect(viaTask.body).toMatchObject({ status: 'duplicate', ticket_id: viaEvent.body.ticket_id });
  });
});
