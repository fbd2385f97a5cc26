import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DRIVER_HEAL_GRACE_MS } from '../../functions/poller/detect.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness, T0 } from './harness.ts';

const VICTIM = '0302-110000-victim01';
const EVENTS = 'POST /api/2.1/clusters/events';
const GET = 'GET /api/2.1/clusters/get';

describe('poller detection against the simulator and DynamoDB Local', () => {
  let h: PollerHarness;
  beforeEach(async () => {
    h = await createPollerHarness();
  });
  afterEach(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulators());

  it('leaves a workspace of healthy clusters and an old failure alone, and sets its cursor', async () => {
    // Act
    const { report } = await h.poll();

    // Assess
    expect(report.workspaces).toMatchObject([
      {
        workspaceId: 'ws-a',
        status: 'complete',
        failuresDetected: 0,
        cursorAdvanced: true,
        polledUntil: h.clock(),
      },
    ]);
    expect(await h.allTickets()).toEqual([]);
    expect(h.requests()[EVENTS]).toBeUndefined();
  });

  it('finds a termination between two polls once', async () => {
    // Prepare
    await h.poll();
    h.advance(5 * MINUTE);
    h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
    h.advance(MINUTE);
    const terminatedTime = h.sim().admin.cluster(VICTIM)?.terminated_time;

    // Act
    const second = await h.poll();
    h.advance(5 * MINUTE);
    const third = await h.poll();

    // Assess
    expect(second.report.workspaces[0]?.outcomes).toMatchObject({ success: 1, duplicate: 0 });
    expect(third.report.workspaces[0]?.outcomes).toMatchObject({ success: 0, duplicate: 1 });
    const tickets = await h.allTickets();
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({
      incidentKey: `ws-a#cluster#${VICTIM}#terminated#${terminatedTime}`,
      source: 'poller',
      status: 'in_progress',
      terminationCode: 'CLOUD_PROVIDER_SHUTDOWN',
    });
    expect(h.workflow.starts.map((s) => s.name)).toEqual([tickets[0]?.ticketId]);
    expect(second.metrics.get('TicketsOpened')).toBe(1);
    expect(third.metrics.get('DuplicateSignals')).toBe(1);
  });

  it('tickets a failure it finds during an operator silence as silenced, and starts nothing', async () => {
    // Prepare
    const silences = new SilenceRepository({
      client: h.table.documentClient,
      tableName: h.table.tableName,
      clock: () => h.sim().admin.now(),
    });
    await h.poll();
    const silence = await silences.add({
      clusterId: VICTIM,
      until: h.sim().admin.now() + 60 * MINUTE,
      reason: 'maintenance',
      createdBy: 'test',
    });
    h.advance(5 * MINUTE);
    h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
    h.advance(MINUTE);

    // Act
    const run = await h.poll({ silences });

    // Assess
    expect(run.report.workspaces[0]?.outcomes).toMatchObject({ success: 1 });
    expect(await h.allTickets()).toEqual([
      expect.objectContaining({
        status: 'silenced',
        recoveryStatus: 'silenced',
        silenceId: silence.silenceId,
      }),
    ]);
    expect(h.workflow.starts).toEqual([]);
  });

  it('finds a termination still TERMINATING at one poll on the next', async () => {
    // Prepare
    await h.poll();
    h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
    const whileTerminating = await h.poll();
    h.advance(5 * MINUTE);

    // Act
    const next = await h.poll();

    // Assess
    expect(whileTerminating.report.workspaces[0]?.failuresDetected).toBe(0);
    expect(next.report.workspaces[0]?.outcomes.success).toBe(1);
  });

  it('finds a termination that became visible late, inside the overlap before the cursor', async () => {
    // Prepare
    await h.poll();
    h.advance(5 * MINUTE);
    h.sim().admin.loadScenario({
      clusters: [
        {
          cluster_id: '0302-110000-latevis1',
          state: 'TERMINATED',
          terminated_time: h.clock() - 7 * MINUTE,
          termination_reason: { code: 'SPOT_INSTANCE_TERMINATION', type: 'CLOUD_FAILURE' },
        },
      ],
    });

    // Act
    const { report } = await h.poll();

    // Assess
    expect(report.workspaces[0]?.outcomes.success).toBe(1);
    expect((await h.allTickets())[0]).toMatchObject({ clusterId: '0302-110000-latevis1' });
  });

  it.each(['webhook first', 'poller first'])(
    'opens one ticket for a termination reported by a job webhook and by the poller (%s)',
    async (order) => {
      // Prepare
      await h.poll();
      h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
      h.advance(MINUTE);
      const notification = { event_type: 'jobs.on_failure', run: { run_id: 9001 }, job: { job_id: 556677 } };

      // Act
      const [first, second] =
        order === 'webhook first'
          ? [await h.webhook(notification), (await h.poll()).report.workspaces[0]?.outcomes]
          : [(await h.poll()).report.workspaces[0]?.outcomes, await h.webhook(notification)];

      // Assess
      if (order === 'webhook first') {
        expect(first).toMatchObject({ status: 'success' });
        expect(second).toMatchObject({ success: 0, duplicate: 1 });
      } else {
        expect(first).toMatchObject({ success: 1, duplicate: 0 });
        expect(second).toMatchObject({ status: 'duplicate' });
      }
      const tickets = await h.allTickets();
      expect(tickets).toHaveLength(1);
      expect(tickets[0]?.source).toBe(order === 'webhook first' ? 'job_notification' : 'poller');
      expect(h.workflow.starts).toHaveLength(1);
    },
  );

  it.each([
    [
      'a user termination',
      { code: 'USER_REQUEST', type: 'SUCCESS', parameters: { username: 'ana@example.com' } },
    ],
    [
      'an inactivity auto-termination',
      { code: 'INACTIVITY', type: 'SUCCESS', parameters: { inactivity_duration_min: '60' } },
    ],
  ] as const)('ignores %s', async (_label, reason) => {
    // Prepare
    await h.poll();
    h.sim().admin.failCluster('0302-110000-usrterm1', reason);
    h.advance(MINUTE);

    // Act
    const { report } = await h.poll();

    // Assess
    expect(h.sim().admin.cluster('0302-110000-usrterm1')?.state).toBe('TERMINATED');
    expect(report.workspaces[0]).toMatchObject({ status: 'complete', failuresDetected: 0 });
    expect(await h.allTickets()).toEqual([]);
  });

  it('detects a driver loss on a running cluster, confirmed by one events call', async () => {
    // Prepare
    await h.poll();
    h.advance(5 * MINUTE);
    h.sim().admin.crashDriver('0302-110000-crash001');
    const lossTime = h.sim().admin.cluster('0302-110000-crash001')?.last_state_loss_time;
    // Past the time Databricks is given to heal a driver by itself (this one does not come back).
    h.advance(DRIVER_HEAL_GRACE_MS);
    h.sim().admin.resetStats();

    // Act
    const { report } = await h.poll();

    // Assess
    expect(h.sim().admin.cluster('0302-110000-crash001')?.state).toBe('RUNNING');
    expect(report.workspaces[0]?.outcomes.success).toBe(1);
    expect(await h.allTickets()).toMatchObject([
      {
        clusterId: '0302-110000-crash001',
        incidentKey: `ws-a#cluster#0302-110000-crash001#state_loss#${lossTime}`,
        errorType: 'DatabricksDriverNotResponding',
        action: 'restart_cluster',
      },
    ]);
    expect(h.requests()[EVENTS]).toBe(1);
  });

  it.each([
    ['RESTARTING at poll time', 'RESTARTING', -30 * MINUTE, -5 * MINUTE],
    ['RUNNING again after a restart that came after the loss', 'RUNNING', -MINUTE, -4 * MINUTE],
  ] as const)(
    'confirms by its events a driver loss on a cluster %s',
    async (_label, state, restartedAgo, lostAgo) => {
      // Prepare
      await h.poll();
      h.advance(5 * MINUTE);
      h.sim().admin.loadScenario({
        clusters: [
          {
            cluster_id: '0302-110000-autorec1',
            state,
            start_time: T0 - 24 * 60 * MINUTE,
            last_restarted_time: h.clock() + restartedAgo,
            last_state_loss_time: h.clock() + lostAgo,
          },
        ],
      });
      h.sim().admin.resetStats();

      // Act
      const { report } = await h.poll();

      // Assess
      expect(h.requests()[EVENTS]).toBe(1);
      expect(report.workspaces[0]?.outcomes.success).toBe(1);
      expect(await h.allTickets()).toMatchObject([
        {
          clusterId: '0302-110000-autorec1',
          incidentKey: `ws-a#cluster#0302-110000-autorec1#state_loss#${h.clock() + lostAgo}`,
        },
      ]);
    },
  );

  it('does not take a user restart for a driver loss', async () => {
    // Prepare
    await h.poll();
    h.advance(5 * MINUTE);
    h.sim().admin.userRestart('0302-110000-restart1', { user: 'data.engineer@example.com' });
    h.advance(3 * MINUTE);
    h.sim().admin.resetStats();

    // Act
    const { report } = await h.poll();

    // Assess
    const cluster = h.sim().admin.cluster('0302-110000-restart1');
    expect(cluster?.state).toBe('RUNNING');
    expect(cluster?.last_state_loss_time).toBeGreaterThan(T0 + 5 * MINUTE);
    expect(report.workspaces[0]).toMatchObject({ status: 'complete', failuresDetected: 0 });
    expect(await h.allTickets()).toEqual([]);
    expect(h.requests()[EVENTS]).toBeUndefined();
  });

  it.each([
    ['45 minutes ago', 45, 1],
    ['5 minutes ago', 5, 0],
  ])(
    'judges a cluster PENDING since %s against the 20-minute threshold',
    async (_label, minutes, expected) => {
      // Prepare
      const startTime = h.clock() - minutes * MINUTE;
      h.sim().admin.loadScenario({
        clusters: [{ cluster_id: '0302-110000-stuck001', state: 'PENDING', start_time: startTime }],
      });

      // Act
      const first = await h.poll();
      h.advance(5 * MINUTE);
      const second = await h.poll();

      // Assess
      expect(h.sim().admin.cluster('0302-110000-stuck001')?.state).toBe('PENDING');
      expect(first.report.workspaces[0]?.outcomes.success).toBe(expected);
      const tickets = await h.allTickets();
      expect(tickets).toHaveLength(expected);
      if (expected === 1) {
        expect(tickets[0]).toMatchObject({
          incidentKey: `ws-a#cluster#0302-110000-stuck001#stuck#${startTime}`,
          errorType: 'DatabricksClusterStartFailure',
        });
        // Ticketed once: the next poll neither reads its events nor records a duplicate.
        expect(second.report.workspaces[0]).toMatchObject({
          status: 'complete',
          eventCalls: 0,
          outcomes: { duplicate: 0 },
        });
      }
    },
  );

  it('ties a job cluster failure to its run so that the workflow repairs the run', async () => {
    // Prepare
    await h.poll();
    h.sim().admin.failCluster('0302-110000-jobclus1', { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' });
    h.advance(MINUTE);

    // Act
    await h.poll();

    // Assess
    expect(await h.allTickets()).toMatchObject([
      { clusterId: '0302-110000-jobclus1', jobId: '778899', runId: '4242', action: 'repair_run' },
    ]);
    expect(h.workflow.starts[0]?.input).toMatchObject({
      jobId: '778899',
      runId: '4242',
      action: 'repair_run',
    });
  });

  it('tickets failures without starting anything when automatic remediation is off', async () => {
    // Prepare
    await h.close();
    h = await createPollerHarness({ autoRemediationEnabled: false });
    await h.poll();
    h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
    h.advance(MINUTE);

    // Act
    await h.poll();

    // Assess
    expect(await h.allTickets()).toMatchObject([{ status: 'open', recoveryStatus: 'disabled' }]);
    expect(h.workflow.starts).toEqual([]);
  });

  it('makes no clusters/get call at all', async () => {
    // Prepare
    h.sim().admin.failCluster(VICTIM, CLOUD_SHUTDOWN);
    h.sim().admin.crashDriver('0302-110000-crash001');
    h.advance(DRIVER_HEAL_GRACE_MS);

    // Act
    await h.poll();

    // Assess
    expect(await h.allTickets()).toHaveLength(2);
    expect(h.requests()[GET]).toBeUndefined();
  });
});
