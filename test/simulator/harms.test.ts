import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { harmSummary, takeHarms, useHarmLedger } from '../support/harms.ts';
import { admin, call, fixture, SIM_START, startTestSimulator } from './support.ts';

const PLAIN = '0115-000004-plain004';
const PIPELINE = '0115-000007-pipelin7';
const RETIRED = '0115-000008-retired8';
const WENT_IDLE = '0115-000010-inactv10';
const SECURE = '0115-000011-secure11';
const CLOUD_FAILED = '0115-000003-policy03';

type Step = (sim: RunningSimulator) => unknown;
const api =
  (op: string, body: Record<string, unknown>): Step =>
  (sim) =>
    call(sim, 'POST', `/api/2.1/clusters/${op}`, body);
const update = (id: string, cluster: Record<string, unknown>): Step =>
  api('update', { cluster_id: id, update_mask: Object.keys(cluster).join(','), cluster });
const nothing: Step = () => undefined;

let sim: RunningSimulator;
beforeEach(async () => {
  sim = await startTestSimulator({ scenario: fixture('realism.json') as object });
});
afterEach(async () => {
  await sim.close();
});
useHarmLedger(() => sim);

describe('the harm ledger', () => {
  it.each<[string, Step, Step, string[]]>([
    [
      'a start of a cluster its user terminated',
      nothing,
      api('start', { cluster_id: RETIRED }),
      [`start_after_user_termination ${RETIRED}`],
    ],
    [
      'a start of a cluster that went idle',
      nothing,
      api('start', { cluster_id: WENT_IDLE }),
      [`start_after_user_termination ${WENT_IDLE}`, `start_idle_cluster ${WENT_IDLE}`],
    ],
    [
      'a restart of a healthy cluster',
      nothing,
      api('restart', { cluster_id: PLAIN }),
      [`restart_healthy_cluster ${PLAIN}`],
    ],
    [
      'a restart of a cluster whose driver Databricks healed',
      (s) => {
        s.admin.crashDriver(PLAIN);
        s.admin.advance(60_000);
      },
      api('restart', { cluster_id: PLAIN }),
      [`restart_healthy_cluster ${PLAIN}`],
    ],
    [
      'a restart during a GC-pause blip',
      (s) => s.admin.gcPause(PLAIN),
      api('restart', { cluster_id: PLAIN }),
      [`restart_healthy_cluster ${PLAIN}`],
    ],
    [
      'an update that restarts a RUNNING cluster',
      nothing,
      update(PLAIN, { num_workers: 3 }),
      [`restart_of_running_config_change ${PLAIN}`],
    ],
    [
      'a resize of a pipeline cluster',
      nothing,
      api('resize', { cluster_id: PIPELINE, num_workers: 2 }),
      [`mutate_owned_cluster ${PIPELINE}`],
    ],
    [
      'a terminate of a pipeline cluster',
      nothing,
      api('delete', { cluster_id: PIPELINE }),
      [`mutate_owned_cluster ${PIPELINE}`],
    ],
    ...(['data_security_mode', 'single_user_name', 'policy_id'] as const).map(
      (field): [string, Step, Step, string[]] => [
        `an update of ${field}`,
        nothing,
        update(SECURE, { [field]: field === 'data_security_mode' ? 'NONE' : 'other' }),
        [`security_rollback ${SECURE}`],
      ],
    ),
    [
      'an edit that drops the instance profile',
      nothing,
      api('edit', {
        cluster_id: SECURE,
        spark_version: '15.4.x-scala2.12',
        data_security_mode: 'SINGLE_USER',
        single_user_name: 'owner@example.com',
        num_workers: 0,
      }),
      [`security_rollback ${SECURE}`],
    ],
    [
      'a start of a cluster a cloud failure terminated',
      nothing,
      api('start', { cluster_id: CLOUD_FAILED }),
      [],
    ],
    [
      'a restart of a cluster whose driver is still lost',
      (s) => s.admin.crashDriver(PLAIN),
      api('restart', { cluster_id: PLAIN }),
      [],
    ],
    ['an update of a TERMINATED cluster', nothing, update(CLOUD_FAILED, { num_workers: 4 }), []],
    [
      "a user's own start, restart and terminate",
      nothing,
      (s) => {
        s.admin.userStart(RETIRED);
        s.admin.userRestart(PLAIN);
        s.admin.userTerminate(PIPELINE);
      },
      [],
    ],
  ])('records %s', async (_name, prepare, act, expected) => {
    // Prepare
    await prepare(sim);

    // Act
    await act(sim);

    // Assess
    expect(harmSummary(takeHarms(sim))).toEqual(expected);
  });

  it('records the call without blocking it, and answers over HTTP what the admin holds in-process', async () => {
    // Prepare
    const restarted = await call(sim, 'POST', '/api/2.1/clusters/restart', { cluster_id: PLAIN });

    // Act
    const listed = await admin(sim, 'GET', 'harms');
    const inProcess = sim.admin.harms();
    const emptied = await admin(sim, 'DELETE', 'harms');

    // Assess
    expect(restarted.status).toBe(200);
    expect(sim.admin.cluster(PLAIN)?.state).toBe('RESTARTING');
    expect(listed.body).toEqual({
      harms: [
        {
          rule: 'restart_healthy_cluster',
          method: 'POST',
          path: '/api/2.1/clusters/restart',
          cluster_id: PLAIN,
          at: SIM_START,
          detail: 'restart of a RUNNING cluster whose driver is healthy',
        },
      ],
    });
    expect(inProcess).toEqual(listed.body.harms);
    expect(emptied.body).toEqual({ harms: [] });
    expect(sim.admin.harms()).toEqual([]);
  });
});
