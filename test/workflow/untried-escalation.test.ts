import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterScope, errorTypeScope } from '../../functions/core/breaker.ts';
import { createWorkflowHarness, type WorkflowHarness } from './harness.ts';

describe('recovery workflow: an escalation because nothing could be tried', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    // One failure would open a breaker: any count shows.
    h = await createWorkflowHarness({ breakerConfig: { failureThreshold: 1 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['a cluster that no longer exists', { clusterId: '0101-999999-gone0001' }],
    ['an incident that names no cluster and no run', {}],
  ])('never counts %s on a breaker', async (_name, fields) => {
    // Act
    const recovery = await h.recoverWithoutIntake({
      ...fields,
      errorType: 'DatabricksClusterTerminated',
      action: 'restart_cluster',
    });

    // Assess
    expect(recovery.ticket.status).toBe('escalated');
    const scopes = [
      errorTypeScope('DatabricksClusterTerminated'),
      ...('clusterId' in fields ? [clusterScope('default', fields.clusterId)] : []),
    ];
    for (const scope of scopes) {
      const breaker = await h.breakers.get(scope);
      expect(breaker?.state ?? 'closed').toBe('closed');
      expect(breaker?.totalFailures ?? 0).toBe(0);
    }
  });
});
