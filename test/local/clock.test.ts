/**
 * Local mode's one clock: everything `npm start` builds (the stores, the intake, the operations API,
 * the workflow runner and the poller) reads the simulator's clock, so that approval deadlines, the
 * outage window and ticket times are on the timeline of the Databricks times they are compared with.
 * The simulator runs at real speed here and the tests move its clock by hand: nothing waits for
 * real time to pass, and the real time a test takes (seconds) is small beside the minutes it moves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalHost, startLocalHost } from '../../lib/local/host.ts';
import type { TerminationReasonSeed } from '../../lib/simulator/scenario.ts';
import { useHarmLedger } from '../support/harms.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/local');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MUTATION = /\/clusters\/(start|restart|update|edit|resize)$/;
const CAPACITY: TerminationReasonSeed = {
  code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE',
  type: 'CLOUD_FAILURE',
};
const STOCKOUT: TerminationReasonSeed = { code: 'CLOUD_PROVIDER_RESOURCE_STOCKOUT', type: 'CLOUD_FAILURE' };

describe("local mode's one clock: the simulator's", () => {
  let host: LocalHost;
  beforeAll(async () => {
    // Every failure of the tests may start at once: the cap (5 by default) queues none of them.
    vi.stubEnv('RECOVERY_CAP', '{"default": 20}');
    host = await startLocalHost({
      port: 0,
      scenarioPath: join(FIXTURES, 'clock-scenario.json'),
      timeScale: 1,
      pollIntervalSeconds: 0,
      playbookOverrides: JSON.parse(readFileSync(join(FIXTURES, 'clock-playbooks.json'), 'utf8')),
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    vi.unstubAllEnvs();
  }, 90_000);
  useHarmLedger(() => host?.simulator);
  afterAll(async () => {
    await host?.close();
  });

  const admin = () => {
    const sim = host.simulator;
    if (sim === undefined) throw new Error('local mode runs the simulator here');
    return sim.admin;
  };

  /** A running cluster fails (it is TERMINATED a simulated second later), and the webhook is told. */
  async function failAndReport(
    clusterId: string,
    reason: TerminationReasonSeed,
  ): Promise<Record<string, unknown>> {
    admin().failCluster(clusterId, reason);
    admin().advance(1000);
    const res = await fetch(`${host.url}/databricks-monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': host.apiKey },
      body: JSON.stringify({ event: 'cluster.terminated', cluster: { cluster_id: clusterId } }),
    });
    return (await res.json()) as Record<string, unknown>;
  }

  it('escalates an approval nobody gave at its playbook approval_timeout (1 hour) on the simulated timeline', async () => {
    // Prepare: simulated time runs six hours ahead of the wall clock.
    admin().advance(6 * HOUR);
    const failedAt = admin().now();
    const answer = await failAndReport('1130-200001-clockapr1', {
      code: 'DRIVER_UNREACHABLE',
      type: 'CLOUD_FAILURE',
    });
    const id = String(answer.ticket_id);
    const poll = () => host.poller.runOnce();

    // Act
    admin().advance(50 * MINUTE);
    const before = await poll();
    const waiting = (await host.tickets.getTicket(id))?.ticket;
    admin().advance(11 * MINUTE);
    const after = await poll();
    const ticket = (await host.tickets.getTicket(id))?.ticket;

    // Assess
    expect(answer).toMatchObject({ status: 'success', recovery_status: 'awaiting_approval' });
    expect(Date.parse(ticket?.detectedAt ?? '')).toBeGreaterThanOrEqual(failedAt);
    expect(Date.parse(ticket?.detectedAt ?? '')).toBeLessThan(failedAt + MINUTE);
    const deadline = Date.parse(ticket?.approvalDeadline ?? '');
    expect(deadline - failedAt).toBeGreaterThanOrEqual(HOUR);
    expect(deadline - failedAt).toBeLessThan(HOUR + MINUTE);
    expect(before.reconcile?.approvalsTimedOut).toBe(0);
    expect(waiting).toMatchObject({ status: 'open', recoveryStatus: 'awaiting_approval' });
    expect(after.reconcile?.approvalsTimedOut).toBe(1);
    expect(ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'approval_timed_out' });
    const mutations = admin()
      .requestLog()
      .filter((r) => r.clusterId === '1130-200001-clockapr1' && r.method === 'POST' && MUTATION.test(r.path));
    expect(mutations).toEqual([]);
  });

  it.each([
    [
      'opens no outage for 5 capacity failures spread over 12 simulated minutes',
      'capacity',
      [
        '1130-200002-capac001',
        '1130-200003-capac002',
        '1130-200004-capac003',
        '1130-200005-capac004',
        '1130-200006-capac005',
      ],
      CAPACITY,
      3 * MINUTE,
      0,
    ],
    [
      'opens one outage for 5 stockouts within 1 simulated minute',
      'stockout',
      [
        '1130-200007-stock001',
        '1130-200008-stock002',
        '1130-200009-stock003',
        '1130-200010-stock004',
        '1130-200011-stock005',
      ],
      STOCKOUT,
      10_000,
      1,
    ],
  ])(
    '%s (the window: 5 failures within 10 minutes)',
    async (_name, outageClass, clusters, reason, apartMs, outages) => {
      // Act
      const answers: Record<string, unknown>[] = [];
      for (const [i, clusterId] of clusters.entries()) {
        if (i > 0) admin().advance(apartMs);
        answers.push(await failAndReport(clusterId, reason));
      }

      // Assess
      expect(answers.map((a) => a.status)).toEqual(clusters.map(() => 'success'));
      const opened = ((await host.outages?.list()) ?? []).filter((o) => o.outageClass === outageClass);
      expect(opened).toHaveLength(outages);
      if (outages === 1) expect([...(opened[0]?.members ?? [])].sort()).toEqual(clusters);
    },
  );
});
