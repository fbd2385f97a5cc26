import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryInput } from '../../functions/core/incident.ts';
import { DEFAULT_PLAYBOOKS } from '../../functions/core/playbooks.ts';
import { DatabricksClient, patAuth } from '../../functions/databricks/index.ts';
import { MemoryNotifier } from '../../functions/shared/notify.ts';
import { createWorkflowTaskHandler } from '../../functions/workflow/app.ts';
import { lambdaContext } from '../../lib/local/api-gateway.ts';
import { useHarmLedger } from '../support/harms.ts';
import { createWorkflowHarness, WORKSPACE, type WorkflowHarness } from './harness.ts';

describe('recovery task Lambda handler', () => {
  let h: WorkflowHarness;
  let handler: ReturnType<typeof createWorkflowTaskHandler>;
  let opened = 0;

  /** A ticket and the execution input the state machine would pass to the first task. */
  async function inputFor(clusterId: string): Promise<RecoveryInput> {
    opened += 1;
    const { ticket } = await h.tickets.openTicket({
      incidentKey: `${WORKSPACE}#cluster#${clusterId}#app-test#${opened}`,
      recoveryStatus: 'in_progress',
      workspaceId: WORKSPACE,
      clusterId,
      source: 'poller',
      errorType: 'DatabricksClusterTerminated',
      category: 'infrastructure',
      action: 'restart_cluster',
      reason: 'CLOUD_PROVIDER_SHUTDOWN',
    });
    return {
      ticketId: ticket.ticketId,
      workspaceId: WORKSPACE,
      clusterId,
      errorType: 'DatabricksClusterTerminated',
      action: 'restart_cluster',
      playbook: DEFAULT_PLAYBOOKS.DatabricksClusterTerminated,
      signal: {
        source: 'poller',
        kind: 'termination',
        workspaceId: WORKSPACE,
        clusterId,
        observedAt: Date.now(),
        incidentKey: `${WORKSPACE}#cluster#${clusterId}#app-test#${opened}`,
      },
    };
  }

  beforeAll(async () => {
    h = await createWorkflowHarness();
    const client = new DatabricksClient({
      host: h.simulator.url,
      auth: patAuth(h.simulator.token),
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, defaultThrottleDelayMs: 1 },
    });
    handler = createWorkflowTaskHandler({
      tickets: h.tickets,
      breakers: h.breakers,
      databricks: () => client,
      notifier: new MemoryNotifier(),
      clock: Date.now,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'workflow' }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulator);

  it('answers the first step with the next state: the ticket taken over and the cluster started', async () => {
    // Prepare
    const input = await inputFor('0101-000017-api00001');

    // Act
    const state = await handler({ step: 'remediate', state: input }, lambdaContext('workflow'));

    // Assess
    expect(state).toMatchObject({
      outcome: 'verify',
      attempt: 1,
      plan: { primitive: 'start', subject: 'cluster' },
      wait: { seconds: 180 },
    });
    expect(h.simulator.admin.cluster('0101-000017-api00001')?.state).toBe('PENDING');
  });

  it('fails with a TransientError, the name the state machine retries, when Databricks keeps throttling', async () => {
    // Prepare
    const input = await inputFor('0101-000018-api00002');
    h.simulator.admin.setFaults({
      throttle: { paths: ['/api/2.1/clusters/get'], count: 2, retryAfterSeconds: 0 },
    });

    // Act
    const invoking = handler({ step: 'remediate', state: input }, lambdaContext('workflow'));

    // Assess
    await expect(invoking).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('REQUEST_LIMIT_EXCEEDED'),
    });
  });

  it.each([
    ['an unknown step', { step: 'reboot', state: {} }],
    ['a state that is neither an input nor a state', { step: 'check_health', state: { ticketId: 'RCA-1' } }],
    ['no step at all', { state: {} }],
  ])('fails with a TaskInputError, which is caught and never retried, for %s', async (_name, event) => {
    // Act
    const invoking = handler(event, lambdaContext('workflow'));

    // Assess
    await expect(invoking).rejects.toMatchObject({ name: 'TaskInputError' });
  });
});
