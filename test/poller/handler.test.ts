import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { ScheduledEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import { createPollerHandler } from '../../functions/poller/app.ts';
import { resolvePollerOptions } from '../../functions/poller/config.ts';
import { lambdaContext } from '../../lib/local/api-gateway.ts';
import { useHarmLedger } from '../support/harms.ts';
import { CLOUD_SHUTDOWN, createPollerHarness, MINUTE, type PollerHarness } from './harness.ts';

const scheduledEvent: ScheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: '2026-03-02T12:05:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:000000000000:rule/poller-schedule'],
  detail: {},
};

describe('poller Lambda handler', () => {
  let h: PollerHarness;
  beforeEach(async () => {
    h = await createPollerHarness({ workspaces: ['ws-a', 'ws-b'] });
  });
  afterEach(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulators());

  function handler() {
    return createPollerHandler({
      workspaceIds: ['ws-a', 'ws-b'],
      databricks: (id) => h.databricks.get(id),
      cursors: h.cursors,
      tickets: h.tickets,
      breakers: h.breakers,
      workflow: h.workflow,
      playbooks: loadPlaybooks({}),
      autoRemediationEnabled: true,
      options: resolvePollerOptions({}),
      clock: h.clock,
      actor: 'poller',
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'poller' }),
    });
  }

  it('answers a scheduled event with the counts of the run', async () => {
    // Prepare
    h.sim('ws-a').admin.failCluster('0302-110000-victim01', CLOUD_SHUTDOWN);
    h.advance(MINUTE);

    // Act
    const summary = await handler()(scheduledEvent, lambdaContext('poller', 240_000));

    // Assess
    expect(summary.workspaces).toEqual([
      {
        workspaceId: 'ws-a',
        status: 'complete',
        clustersListed: 7,
        failuresDetected: 1,
        ticketsOpened: 1,
        cursorAdvanced: true,
      },
      {
        workspaceId: 'ws-b',
        status: 'complete',
        clustersListed: 7,
        failuresDetected: 0,
        ticketsOpened: 0,
        cursorAdvanced: true,
      },
    ]);
    expect(summary.reconcile).toMatchObject({ started: 0, executionsChecked: 0 });
  });

  it('fails the invocation when no workspace could be polled, so that the Errors alarm sees it', async () => {
    // Prepare
    for (const id of ['ws-a', 'ws-b']) h.sim(id).admin.setFaults({ serverErrors: { status: 502 } });

    // Act
    const invoking = handler()(scheduledEvent, lambdaContext('poller', 240_000));

    // Assess
    await expect(invoking).rejects.toThrow(/every workspace failed: ws-a .*; ws-b/);
  });

  it('stops within the Lambda time it is given and leaves the cursors for the next run', async () => {
    // Act
    const summary = await handler()(scheduledEvent, lambdaContext('poller', 5_000));

    // Assess
    expect(summary.workspaces.map((w) => [w.status, w.cursorAdvanced])).toEqual([
      ['incomplete', false],
      ['incomplete', false],
    ]);
    expect(await h.cursors.get('ws-a')).toBeUndefined();
  });
});

describe('poller Lambda entry', () => {
  const complete = {
    TABLE_NAME: 'rca-state',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:recovery',
    AWS_REGION: 'us-east-1',
  };
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  function stubEnv(values: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries(values)) vi.stubEnv(name, value);
  }

  it('builds its handler from the environment', async () => {
    // Prepare
    stubEnv(complete);

    // Act
    const entry = await import('../../functions/handlers/poller.ts');

    // Assess
    expect(typeof entry.handler).toBe('function');
  });

  it.each([
    ['TABLE_NAME', { TABLE_NAME: undefined }, /TABLE_NAME is not set/],
    ['STATE_MACHINE_ARN', { STATE_MACHINE_ARN: undefined }, /STATE_MACHINE_ARN is not set/],
    ['WORKSPACE_CACHE_SECONDS', { WORKSPACE_CACHE_SECONDS: '"soon"' }, /WORKSPACE_CACHE_SECONDS/],
    ['POLL_PERIOD_SECONDS', { POLL_PERIOD_SECONDS: '5' }, /POLL_PERIOD_SECONDS/],
    [
      'POLLER_CONFIG',
      { POLLER_CONFIG: '{"overlapMinutes": 5}' },
      /invalid poller configuration.*overlapMinutes/,
    ],
  ])('fails at cold start with a message naming a bad %s', async (_name, values, message) => {
    // Prepare
    stubEnv({ ...complete, ...values });

    // Act
    const loading = import('../../functions/handlers/poller.ts');

    // Assess
    await expect(loading).rejects.toThrow(message);
  });
});
