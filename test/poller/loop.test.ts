import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import type { PollReport } from '../../functions/poller/run.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { WorkspaceRepository } from '../../functions/store/workspaces.ts';
import type { LocalDeps } from '../../lib/local/host.ts';
import { describePoller, pollIntervalFromEnv, startPollerLoop } from '../../lib/local/poller-loop.ts';
import { DEMO_SCENARIO_PATH, type ScenarioInput } from '../../lib/simulator/index.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness, T0 } from './harness.ts';

describe('local poller loop', () => {
  let h: PollerHarness;
  let deps: LocalDeps;
  beforeEach(async () => {
    h = await createPollerHarness();
    deps = {
      tableName: h.table.tableName,
      documentClient: h.table.documentClient,
      tickets: h.tickets,
      breakers: h.breakers,
      restores: h.restores,
      silences: new SilenceRepository({ client: h.table.documentClient, tableName: h.table.tableName }),
      databricks: h.databricks,
      registry: new WorkspaceRepository({ client: h.table.documentClient, tableName: h.table.tableName }),
      // The harness's clients are configured already: nothing to bring up to date.
      syncWorkspaces: async () => undefined,
      playbooks: loadPlaybooks({}),
      logger: new Logger({ logLevel: 'SILENT' }),
    };
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await h?.close();
  });
  useHarmLedger(() => h?.simulators());

  it('polls on its schedule until stopped, and tickets what it finds', async () => {
    // Prepare
    h.sim().admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.advance(MINUTE);
    const reports: PollReport[] = [];
    let twoRuns: () => void = () => undefined;
    const ranTwice = new Promise<void>((resolve) => {
      twoRuns = resolve;
    });

    // Act
    const loop = startPollerLoop(deps, h.workflow, {
      intervalSeconds: 0.05,
      clock: h.clock,
      onRun: (report) => {
        reports.push(report);
        if (reports.length === 2) twoRuns();
      },
    });
    await ranTwice;
    await loop.stop();
    const afterStop = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Assess
    expect(reports.slice(0, 2).map((r) => r.workspaces[0]?.outcomes)).toMatchObject([
      { success: 1 },
      { success: 0, duplicate: 1 },
    ]);
    expect(reports).toHaveLength(afterStop);
    expect(await h.allTickets()).toMatchObject([{ clusterId: '0302-110000-victim01', source: 'poller' }]);
  });

  it('logs one INFO line per run: clusters seen, failures found, tickets opened, calls made', async () => {
    // Prepare
    h.sim().admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.advance(MINUTE);
    const info = vi.spyOn(deps.logger, 'info');
    const loop = startPollerLoop(deps, h.workflow, { intervalSeconds: 0, clock: h.clock });

    // Act
    const report = await loop.runOnce();
    await loop.stop();

    // Assess
    const calls = (report.workspaces[0]?.listCalls ?? 0) + (report.workspaces[0]?.eventCalls ?? 0);
    const lines = info.mock.calls.filter(([message]) => String(message).startsWith('poller run:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[0]).toBe(
      `poller run: ${report.workspaces[0]?.clustersListed} clusters seen, 1 failure found, 1 ticket opened, ${calls} Databricks call${calls === 1 ? '' : 's'} made`,
    );
    expect(lines[0]?.[1]).toMatchObject({ failuresFound: 1, ticketsOpened: 1, databricksCalls: calls });
  });

  it.each([
    ['on', 30, T0 + 30_000, 'on, every 30 s; next run at 12:00:30 UTC (the first looks back 60 min)'],
    ['off', 0, undefined, 'off (POLL_INTERVAL_SECONDS=0)'],
  ])(
    'describes the poller as %s for the banner, with its next run',
    (_state, intervalSeconds, next, line) => {
      // Act
      const described = describePoller({ intervalSeconds, nextRunAt: () => next });

      // Assess
      expect(described).toBe(line);
    },
  );

  it('does not run at all with an interval of 0, yet polls on demand', async () => {
    // Prepare
    const loop = startPollerLoop(deps, h.workflow, { intervalSeconds: 0, clock: h.clock });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cursorBefore = await h.cursors.get('ws-a');

    // Act
    const report = await loop.runOnce();
    await loop.stop();

    // Assess
    expect(loop.intervalSeconds).toBe(0);
    expect(cursorBefore).toBeUndefined();
    expect(report.workspaces[0]?.status).toBe('complete');
  });

  it.each([
    [undefined, 30],
    ['5', 5],
    ['0', 0],
  ])('reads POLL_INTERVAL_SECONDS=%s as %i seconds', (value, seconds) => {
    // Prepare
    vi.stubEnv('POLL_INTERVAL_SECONDS', value);

    // Act
    const interval = pollIntervalFromEnv();

    // Assess
    expect(interval).toBe(seconds);
  });

  it('rejects a POLL_INTERVAL_SECONDS that is not a number of seconds', () => {
    // Prepare
    vi.stubEnv('POLL_INTERVAL_SECONDS', 'often');

    // Act
    const reading = () => pollIntervalFromEnv();

    // Assess
    expect(reading).toThrow(/POLL_INTERVAL_SECONDS must be a number >= 0, not 'often'/);
  });
});

describe("local mode's demo scenario", () => {
  let h: PollerHarness | undefined;
  afterEach(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulators());

  it("puts its cloud failure inside the poller's first look-back, and only that failure", async () => {
    // Prepare
    const demo = JSON.parse(readFileSync(DEMO_SCENARIO_PATH, 'utf8')) as ScenarioInput;
    h = await createPollerHarness({ scenario: demo });

    // Act
    const { report } = await h.poll();

    // Assess
    expect(report.workspaces[0]).toMatchObject({ status: 'complete', failuresDetected: 1 });
    expect(await h.allTickets()).toMatchObject([
      { clusterId: '0301-112233-crash4ab', errorType: expect.any(String), source: 'poller' },
    ]);
    expect(h.workflow.starts).toHaveLength(1);
  });
});
