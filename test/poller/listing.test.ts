import { afterEach, describe, expect, it } from 'vitest';
import type { ListClustersQuery } from '../../functions/databricks/client.ts';
import { toApiError } from '../../functions/databricks/errors.ts';
import type { CallOptions } from '../../functions/databricks/transport.ts';
import type { WorkspaceMemory } from '../../functions/poller/poll-state.ts';
import type { PollerDeps } from '../../functions/poller/run.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness } from './harness.ts';

const LIST = 'GET /api/2.1/clusters/list';
/** 250 running clusters: three list pages of 100. */
const THREE_PAGES = { seed: 3, generate: { count: 250, states: { RUNNING: 1 } } };

/** A 400 on `clusters/list`, as Databricks answers a page token it does not take. */
const refusedToken = () =>
  toApiError({
    status: 400,
    body: JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid page_token' }),
    operation: 'GET /api/2.1/clusters/list',
  });

describe('poller listing over several runs', () => {
  let h: PollerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  useHarmLedger(() => h?.simulators());

  /**
   * A run whose time runs out once `pages` list pages are in (all the time it needs when undefined),
   * down to `leftAfter` ms; `refuseTokens` answers the first request with a page token 400.
   */
  function run(hh: PollerHarness, pages?: number, refuseTokens = false, leftAfter = 0): Partial<PollerDeps> {
    let calls = 0;
    let refused = !refuseTokens;
    const real = hh.databricks.get('ws-a');
    const reader = {
      listClusters: async (query: ListClustersQuery, options?: CallOptions) => {
        calls++;
        if (!refused && query.page_token !== undefined) {
          refused = true;
          throw refusedToken();
        }
        return real.listClusters(query, options);
      },
      listClusterEvents: real.listClusterEvents.bind(real),
    };
    return {
      databricks: () => reader,
      timeLeft: () => (pages !== undefined && calls >= pages ? leftAfter : 60_000),
    };
  }

  /**
   * A cluster added last fails; with `first`, the cluster listed first too. Returns that one's id and
   * termination time.
   */
  async function fail(hh: PollerHarness, first = false): Promise<{ first: string; firstFailedAt: number }> {
    const firstPage = await hh.databricks.get('ws-a').listClusters({ page_size: 100 });
    const firstId = firstPage.clusters[0]?.cluster_id ?? '';
    hh.sim().admin.loadScenario({ clusters: [{ cluster_id: '0302-120000-lastpage', state: 'RUNNING' }] });
    if (first) hh.sim().admin.failCluster(firstId, CLOUD_SHUTDOWN);
    hh.sim().admin.failCluster('0302-120000-lastpage', CLOUD_SHUTDOWN);
    hh.advance(MINUTE);
    const firstFailedAt = Number((await hh.databricks.get('ws-a').getCluster(firstId)).terminated_time);
    hh.sim().admin.resetStats();
    return { first: firstId, firstFailedAt };
  }

  it('continues a listing the run cut short from the next page, and moves the cursor to where the listing began', async () => {
    // Prepare
    h = await createPollerHarness({ scenario: THREE_PAGES });
    const hh = h;
    await hh.poll();
    hh.advance(5 * MINUTE);
    await fail(hh);
    const listingStart = hh.clock();

    // Act
    const cut = await hh.poll(run(hh, 2));
    const memory = (await hh.cursors.get('ws-a'))?.memory as WorkspaceMemory | undefined;
    hh.advance(5 * MINUTE);
    const rest = await hh.poll();

    // Assess
    expect(cut.report.workspaces[0]).toMatchObject({
      status: 'incomplete',
      listCalls: 2,
      clustersListed: 200,
    });
    expect(cut.report.workspaces[0]?.problems[0]).toMatch(/the next run continues from the next page/);
    expect(memory?.listing).toMatchObject({ startedAt: listingStart, pages: 2 });
    expect(rest.report.workspaces[0]).toMatchObject({
      status: 'complete',
      listCalls: 1,
      clustersListed: 51,
      cursorAdvanced: true,
      polledUntil: listingStart,
    });
    // Three pages in all, none read twice.
    expect(hh.requests()[LIST]).toBe(3);
    expect((await hh.cursors.get('ws-a'))?.memory).not.toHaveProperty('listing');
    expect((await hh.allTickets()).map((t) => t.clusterId)).toContain('0302-120000-lastpage');
  });

  it('lists a new workspace too large for one run over three runs, holding the cursor for a failure it could not record', async () => {
    // Prepare
    h = await createPollerHarness({ scenario: THREE_PAGES });
    const hh = h;
    const { first, firstFailedAt } = await fail(hh, true);

    // Act
    const runs = [];
    for (const pages of [1, 1, undefined]) {
      runs.push((await hh.poll(run(hh, pages))).report.workspaces[0]);
      hh.advance(5 * MINUTE);
    }

    // Assess
    expect(runs.map((w) => w?.status)).toEqual(['incomplete', 'incomplete', 'complete']);
    expect(runs.map((w) => w?.listCalls)).toEqual([1, 1, 1]);
    // The first run found the first failure but had no time left to record it: the cursor waits for it.
    expect(runs[0]?.failuresDetected).toBe(1);
    expect(runs[2]?.polledUntil).toBe(firstFailedAt - 1);
    expect((await hh.allTickets()).map((t) => t.clusterId)).toEqual(['0302-120000-lastpage']);
    const next = await hh.poll();
    expect(next.report.workspaces[0]).toMatchObject({ status: 'complete', listCalls: 3 });
    expect((await hh.allTickets()).map((t) => t.clusterId).sort()).toEqual(
      [first, '0302-120000-lastpage'].sort(),
    );
  });

  it('stops listing while there is time to record what it found, and records it', async () => {
    // Prepare
    h = await createPollerHarness({ scenario: THREE_PAGES });
    const hh = h;
    await hh.poll();
    hh.advance(5 * MINUTE);
    const { first } = await fail(hh, true);

    // Act: after the first page 40 s are left: past the safety margin and the reconciler's reserve
    // (10 + 20 s), 10 s, less than the listing's own reserve.
    const cut = await hh.poll(run(hh, 1, false, 40_000));

    // Assess
    expect(cut.report.workspaces[0]).toMatchObject({
      status: 'incomplete',
      listCalls: 1,
      failuresDetected: 1,
      outcomes: { success: 1 },
    });
    expect((await hh.allTickets()).map((t) => t.clusterId)).toEqual([first]);
  });

  it('lists from the first page when Databricks refuses the saved page token', async () => {
    // Prepare
    h = await createPollerHarness({ scenario: THREE_PAGES });
    const hh = h;
    await hh.poll();
    hh.advance(5 * MINUTE);
    await fail(hh, true);
    await hh.poll(run(hh, 1));
    hh.advance(5 * MINUTE);
    const restart = hh.clock();

    // Act
    const whole = await hh.poll(run(hh, undefined, true));

    // Assess
    expect(whole.report.workspaces[0]).toMatchObject({
      status: 'complete',
      listCalls: 3,
      clustersListed: 251,
      polledUntil: restart,
    });
    expect(whole.metrics.get('ListingRestarted')).toBe(1);
    expect(await hh.allTickets()).toHaveLength(2);
  });
});
