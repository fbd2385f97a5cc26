import { afterEach, describe, expect, it } from 'vitest';
import { DRIVER_HEAL_GRACE_MS } from '../../functions/poller/detect.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness } from './harness.ts';

const LIST = 'GET /api/2.1/clusters/list';
const GET = 'GET /api/2.1/clusters/get';
const EVENTS = 'POST /api/2.1/clusters/events';

describe('poller runs', () => {
  let h: PollerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  useHarmLedger(() => h?.simulators());

  it('keeps polling one workspace while another answers 5xx, and leaves the failing one its cursor', async () => {
    // Prepare
    h = await createPollerHarness({ workspaces: ['ws-a', 'ws-b'] });
    h.sim('ws-b').admin.setFaults({ serverErrors: { status: 500 } });
    h.sim('ws-a').admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.sim('ws-b').admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.advance(MINUTE);

    // Act
    const broken = await h.poll();
    h.sim('ws-b').admin.clearFaults();
    h.advance(5 * MINUTE);
    const healed = await h.poll();

    // Assess
    expect(broken.report.workspaces).toMatchObject([
      { workspaceId: 'ws-a', status: 'complete', cursorAdvanced: true, outcomes: { success: 1 } },
      { workspaceId: 'ws-b', status: 'failed', cursorAdvanced: false, failuresDetected: 0 },
    ]);
    expect(broken.report.workspaces[1]?.problems[0]).toMatch(/clusters\/list failed/);
    expect(broken.metrics.get('WorkspaceErrors')).toBe(1);
    expect(broken.metrics.get('WorkspacesPolled')).toBe(1);
    expect(healed.report.workspaces).toMatchObject([
      { workspaceId: 'ws-a', status: 'complete', outcomes: { duplicate: 1 } },
      { workspaceId: 'ws-b', status: 'complete', cursorAdvanced: true, outcomes: { success: 1 } },
    ]);
    expect(healed.metrics.get('WorkspaceErrors')).toBe(0);
    expect((await h.allTickets()).map((t) => t.workspaceId).sort()).toEqual(['ws-a', 'ws-b']);
  });

  it('does not advance the cursor when the run stops early, and finds the failure on the next run', async () => {
    // Prepare
    h = await createPollerHarness({
      scenario: { seed: 3, generate: { count: 250, states: { RUNNING: 1 } } },
    });
    const harness = h;
    await harness.poll();
    const cursorBefore = await harness.cursors.get('ws-a');
    harness
      .sim()
      .admin.loadScenario({ clusters: [{ cluster_id: '0302-120000-lastpage', state: 'RUNNING' }] });
    harness.sim().admin.failCluster('0302-120000-lastpage', CLOUD_SHUTDOWN);
    harness.advance(5 * MINUTE);
    harness.sim().admin.resetStats();
    // The Lambda's time runs out once the first page is in.
    const timeLeft = () => ((harness.requests()[LIST] ?? 0) >= 1 ? 0 : 60_000);

    // Act
    const stopped = await harness.poll({ timeLeft });
    const cursorAfterStop = await harness.cursors.get('ws-a');
    const resumed = await harness.poll();

    // Assess
    expect(stopped.report.workspaces[0]).toMatchObject({
      status: 'incomplete',
      listCalls: 1,
      clustersListed: 100,
      cursorAdvanced: false,
    });
    expect(stopped.report.workspaces[0]?.problems[0]).toMatch(/time is up/);
    expect(stopped.report.reconcile?.stoppedEarly).toBe(true);
    expect(stopped.metrics.get('WorkspacesIncomplete')).toBe(1);
    expect(cursorAfterStop?.polledUntil).toBe(cursorBefore?.polledUntil);
    expect(resumed.report.workspaces[0]).toMatchObject({ status: 'complete', cursorAdvanced: true });
    expect(await harness.allTickets()).toMatchObject([{ clusterId: '0302-120000-lastpage' }]);
  });

  it('leaves failures older than the first look-back to people, not to automation', async () => {
    // Prepare
    h = await createPollerHarness();
    h.sim().admin.loadScenario({
      clusters: [
        {
          cluster_id: '0302-090000-recent01',
          state: 'TERMINATED',
          terminated_time: h.clock() - 30 * MINUTE,
          termination_reason: { code: 'COMMUNICATION_LOST', type: 'CLOUD_FAILURE' },
        },
      ],
    });

    // Act
    await h.poll();

    // Assess
    expect((await h.allTickets()).map((t) => t.clusterId)).toEqual(['0302-090000-recent01']);
  });

  it.each([
    [1, 1],
    [100, 1],
    [101, 2],
    [1000, 10],
  ])('lists %i clusters in %i calls and reads nothing per healthy cluster', async (count, calls) => {
    // Prepare
    h = await createPollerHarness({
      scenario: {
        seed: 5,
        generate: { count, states: { RUNNING: 3, TERMINATED: 1 }, sources: { UI: 3, JOB: 1 } },
      },
    });
    h.sim().admin.resetStats();

    // Act
    const { report, metrics } = await h.poll();

    // Assess
    expect(report.workspaces[0]).toMatchObject({
      status: 'complete',
      clustersListed: count,
      failuresDetected: 0,
    });
    expect(h.requests()).toEqual({ [LIST]: calls });
    expect(metrics.get('ListCalls')).toBe(calls);
    expect(metrics.get('ClustersListed')).toBe(count);
  });

  it('reads the events of the unexplained driver loss only, among a thousand clusters', async () => {
    // Prepare
    h = await createPollerHarness({
      scenario: {
        seed: 5,
        // A crashed driver that does not come back by itself.
        timings: { driverRecoveryMs: 86_400_000 },
        generate: { count: 1000, states: { RUNNING: 3, TERMINATED: 1 } },
      },
    });
    await h.poll();
    h.sim().admin.loadScenario({ clusters: [{ cluster_id: '0302-120000-crash002', state: 'RUNNING' }] });
    h.advance(5 * MINUTE);
    h.sim().admin.crashDriver('0302-120000-crash002');
    h.advance(DRIVER_HEAL_GRACE_MS);
    h.sim().admin.resetStats();

    // Act
    await h.poll();

    // Assess
    expect(h.requests()).toEqual({ [LIST]: 11, [EVENTS]: 1 });
    expect(h.requests()[GET]).toBeUndefined();
    expect(await h.allTickets()).toMatchObject([{ clusterId: '0302-120000-crash002' }]);
  });
});
