import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterEventsRequest, ListClustersQuery } from '../../functions/databricks/client.ts';
import { toApiError } from '../../functions/databricks/errors.ts';
import { DRIVER_HEAL_GRACE_MS } from '../../functions/poller/detect.ts';
import type { ClusterReader } from '../../functions/poller/poll-deps.ts';
import { useHarmLedger } from '../support/harms.ts';
import {
  CLOUD_SHUTDOWN,
  createPollerHarness,
  MINUTE,
  type PollerHarness,
  type PollerHarnessOptions,
} from './harness.ts';

const EVENTS = 'POST /api/2.1/clusters/events';
const DAY = 24 * 60 * MINUTE;

/** A 403 on `clusters/events`, as Databricks answers it for a cluster the principal may not see. */
const forbidden = () =>
  toApiError({
    status: 403,
    body: JSON.stringify({ error_code: 'PERMISSION_DENIED', message: 'User is not authorized' }),
    operation: 'POST /api/2.1/clusters/events',
  });

describe('poller progress', () => {
  let h: PollerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  useHarmLedger(() => h?.simulators());

  async function harness(options: PollerHarnessOptions = {}): Promise<PollerHarness> {
    h = await createPollerHarness(options);
    return h;
  }

  /** The workspace's Databricks client with some calls replaced. */
  function readerOf(harnessed: PollerHarness, workspaceId: string, around: Partial<ClusterReader>) {
    const real = harnessed.databricks.get(workspaceId);
    return {
      listClusters: around.listClusters ?? real.listClusters.bind(real),
      listClusterEvents: around.listClusterEvents ?? real.listClusterEvents.bind(real),
    };
  }

  /** Crashes the drivers of new RUNNING clusters one minute apart, the last listed first. */
  async function crashOneMinuteApart(harnessed: PollerHarness, count: number): Promise<number[]> {
    const ids = Array.from({ length: count }, (_, i) => `0302-120000-crash${String(i + 1).padStart(3, '0')}`);
    harnessed.sim().admin.loadScenario({
      clusters: ids.toReversed().map((cluster_id) => ({ cluster_id, state: 'RUNNING' })),
    });
    const lossTimes: number[] = [];
    for (const id of ids) {
      harnessed.advance(MINUTE);
      harnessed.sim().admin.crashDriver(id);
      lossTimes.push(harnessed.clock());
    }
    harnessed.advance(DRIVER_HEAL_GRACE_MS);
    return lossTimes;
  }

  it('moves the cursor to just before the oldest driver loss left unchecked, and checks the rest oldest first', async () => {
    // Prepare
    const hh = await harness({ config: { maxEventChecksPerWorkspace: 2 } });
    await hh.poll();
    const lossTimes = await crashOneMinuteApart(hh, 5);
    hh.sim().admin.resetStats();

    // Act
    const runs = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) hh.advance(5 * MINUTE);
      const run = await hh.poll();
      runs.push({ ...run.report.workspaces[0], cursor: (await hh.cursors.get('ws-a'))?.polledUntil });
    }

    // Assess
    expect(runs.map((r) => r.eventCalls)).toEqual([2, 2, 1]);
    expect(runs.map((r) => r.status)).toEqual(['incomplete', 'incomplete', 'complete']);
    expect(runs[0]?.cursor).toBe((lossTimes[2] ?? 0) - 1);
    expect(runs[1]?.cursor).toBe((lossTimes[4] ?? 0) - 1);
    expect(runs[2]?.cursor).toBe(hh.clock());
    const tickets = await hh.allTickets();
    expect(tickets.map((t) => t.incidentKey.split('#').at(-1)).sort()).toEqual(lossTimes.map(String));
    expect(hh.requests()[EVENTS]).toBe(5);
  });

  it('reads the events of a stuck start once, and not again while it stays stuck', async () => {
    // Prepare
    const hh = await harness();
    hh.sim().admin.loadScenario({
      clusters: [
        { cluster_id: '0302-110000-stuck001', state: 'PENDING', start_time: hh.clock() - 45 * MINUTE },
      ],
    });
    await hh.poll();
    hh.sim().admin.resetStats();

    // Act
    const later = [];
    for (let i = 0; i < 3; i++) {
      hh.advance(5 * MINUTE);
      later.push((await hh.poll()).report.workspaces[0]);
    }

    // Assess
    expect(await hh.allTickets()).toHaveLength(1);
    expect(hh.requests()[EVENTS]).toBeUndefined();
    expect(later.map((w) => w?.outcomes.duplicate)).toEqual([0, 0, 0]);
  });

  it('sets aside a driver loss whose events always fail after three runs, so that the cursor moves past it', async () => {
    // Prepare
    const hh = await harness();
    await hh.poll();
    hh.advance(5 * MINUTE);
    hh.sim().admin.crashDriver('0302-110000-crash001');
    const lossTime = Number(hh.sim().admin.cluster('0302-110000-crash001')?.last_state_loss_time);
    hh.advance(10_000);
    let eventCalls = 0;
    const reader = readerOf(hh, 'ws-a', {
      listClusterEvents: async (request: ClusterEventsRequest) => {
        eventCalls++;
        throw request.cluster_id === '0302-110000-crash001' ? forbidden() : new Error('unexpected call');
      },
    });

    // Act
    const runs = [];
    for (let i = 0; i < 4; i++) {
      if (i > 0) hh.advance(5 * MINUTE);
      const run = await hh.poll({ databricks: () => reader });
      runs.push({ ...run, cursor: await hh.cursors.get('ws-a') });
    }

    // Assess
    expect(runs.map((r) => r.report.workspaces[0]?.status)).toEqual([
      'incomplete',
      'incomplete',
      'incomplete',
      'complete',
    ]);
    expect(runs[0]?.cursor?.polledUntil).toBe(lossTime - 1);
    expect(runs[1]?.cursor?.polledUntil).toBe(lossTime - 1);
    expect(runs[2]?.cursor?.polledUntil).toBe(hh.clock() - 5 * MINUTE);
    expect(runs[2]?.metrics.get('ItemsSetAside')).toBe(1);
    expect(runs[2]?.cursor?.memory?.setAside).toEqual({
      [`state_loss#0302-110000-crash001#${lossTime}`]: {
        at: expect.any(String),
        runs: 3,
        error: expect.stringContaining('PERMISSION_DENIED'),
      },
    });
    expect(eventCalls).toBe(3);
    expect(await hh.allTickets()).toEqual([]);
  });

  it('does not hold the cursor back for a stuck start whose events cannot be read', async () => {
    // Prepare
    const hh = await harness();
    hh.sim().admin.loadScenario({
      clusters: [
        { cluster_id: '0302-110000-stuck001', state: 'PENDING', start_time: hh.clock() - 45 * MINUTE },
      ],
    });
    const reader = readerOf(hh, 'ws-a', {
      listClusterEvents: async () => {
        throw forbidden();
      },
    });

    // Act
    const { report } = await hh.poll({ databricks: () => reader });

    // Assess
    expect(report.workspaces[0]).toMatchObject({
      status: 'incomplete',
      cursorAdvanced: true,
      polledUntil: hh.clock(),
    });
    expect(report.workspaces[0]?.problems[0]).toMatch(/stuck#0302-110000-stuck001.*PERMISSION_DENIED/);
  });

  it('after a long outage, tickets nothing older than maxCatchUp and says what it skipped', async () => {
    // Prepare
    const hh = await harness();
    await hh.cursors.advance('ws-a', hh.clock() - 3 * DAY);
    hh.sim().admin.loadScenario({
      clusters: [
        {
          cluster_id: '0302-110000-twodays1',
          state: 'TERMINATED',
          terminated_time: hh.clock() - 2 * DAY,
          termination_reason: CLOUD_SHUTDOWN,
        },
        {
          cluster_id: '0302-110000-recent01',
          state: 'TERMINATED',
          terminated_time: hh.clock() - 60 * MINUTE,
          termination_reason: CLOUD_SHUTDOWN,
        },
      ],
    });

    // Act
    const { metrics } = await hh.poll();

    // Assess
    expect((await hh.allTickets()).map((t) => t.clusterId)).toEqual(['0302-110000-recent01']);
    expect(hh.workflow.starts).toHaveLength(1);
    expect(metrics.get('CatchUpLimited')).toBe(1);
    expect(metrics.get('CatchUpSkipped')).toBe(3 * DAY + 10 * MINUTE - 6 * 60 * MINUTE);
  });

  it('lets one workspace hold at most half of the concurrent Databricks calls', async () => {
    // Prepare
    const hh = await harness({ workspaces: ['ws-a', 'ws-b'], config: { maxConcurrentRequests: 4 } });
    await hh.poll();
    await crashOneMinuteApart(hh, 6);
    let inFlight = 0;
    let most = 0;
    const slow = readerOf(hh, 'ws-a', {
      listClusterEvents: async (request: ClusterEventsRequest) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 30));
          return await hh.databricks.get('ws-a').listClusterEvents(request);
        } finally {
          inFlight--;
        }
      },
    });

    // Act
    const { report } = await hh.poll({
      databricks: (id) => (id === 'ws-a' ? slow : hh.databricks.get(id)),
    });

    // Assess
    expect(report.workspaces.map((w) => w.status)).toEqual(['complete', 'complete']);
    expect(report.workspaces[0]?.eventCalls).toBe(6);
    expect(most).toBe(2);
  });

  it('gives every Databricks call a deadline of its own (45 s by default), well inside the run', async () => {
    // Prepare
    const hh = await harness();
    hh.sim().admin.crashDriver('0302-110000-crash001');
    hh.advance(10_000);
    const budgets: number[] = [];
    const reader = readerOf(hh, 'ws-a', {
      listClusters: async (query: ListClustersQuery, options) => {
        budgets.push((options?.deadline ?? Number.POSITIVE_INFINITY) - Date.now());
        return hh.databricks.get('ws-a').listClusters(query, options);
      },
      listClusterEvents: async (request: ClusterEventsRequest, options) => {
        budgets.push((options?.deadline ?? Number.POSITIVE_INFINITY) - Date.now());
        return hh.databricks.get('ws-a').listClusterEvents(request, options);
      },
    });

    // Act
    await hh.poll({ databricks: () => reader, timeLeft: () => 10 * 60_000 });

    // Assess
    expect(budgets).toHaveLength(2);
    for (const budget of budgets) {
      expect(budget).toBeGreaterThan(40_000);
      expect(budget).toBeLessThanOrEqual(45_000);
    }
  });

  it('reports a workspace whose call waited in the queue until the run ran out of time as incomplete, not failed', async () => {
    // Prepare
    const hh = await harness({ workspaces: ['ws-a', 'ws-b'], config: { maxConcurrentRequests: 1 } });
    let timeUp = false;
    let first = true;
    const reader = (id: string) =>
      readerOf(hh, id, {
        listClusters: async (query: ListClustersQuery, options) => {
          if (first) {
            // The first list call takes the only permit until the run's time is up.
            first = false;
            await new Promise((resolve) => setTimeout(resolve, 50));
            timeUp = true;
          }
          return hh.databricks.get(id).listClusters(query, options);
        },
      });

    // Act
    const { report, metrics } = await hh.poll({
      databricks: reader,
      timeLeft: () => (timeUp ? 0 : 60_000),
    });

    // Assess
    expect(report.workspaces.map((w) => w.status).sort()).toEqual(['complete', 'incomplete']);
    expect(report.workspaces.find((w) => w.status === 'incomplete')?.problems[0]).toMatch(/time is up/);
    expect(metrics.get('WorkspaceErrors')).toBe(0);
  });
});
