import { describe, expect, it } from 'vitest';
import { childOf, heldMessage } from '../../functions/core/outage-path.ts';

describe('heldMessage', () => {
  it.each([
    { outageClass: 'capacity', words: 'capacity' },
    { outageClass: 'certificate_rotation', words: 'certificate rotation' },
    { outageClass: 'workspace_update', words: 'workspace update' },
  ] as const)('tells how a child of a $outageClass outage recovers', ({ outageClass, words }) => {
    // Act
    const message = heldMessage('OUT-20261130-1-ab', outageClass);

    // Assess
    expect(message).toBe(
      `Failure ticketed; held by outage OUT-20261130-1-ab (${words}): nothing is started while it holds; it recovers through the blast-radius cap once the outage's probe recovers (or rca outage resolve OUT-20261130-1-ab), or is escalated together with the outage`,
    );
  });
});

describe('childOf', () => {
  const ticket = {
    ticketId: 'RCA-20261130-0001',
    errorType: 'DatabricksResourceExhausted',
    reason: 'cloud provider out of capacity',
    detectedAt: '2026-11-30T12:00:00.000Z',
  };
  it.each([
    {
      name: 'a ticket with its cluster and code',
      fields: {
        clusterId: 'c1',
        clusterName: 'etl',
        terminationCode: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE',
      },
      role: 'held',
      kept: { clusterId: 'c1', clusterName: 'etl', code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE' },
    },
    {
      name: 'a ticket with a cluster id only',
      fields: { clusterId: 'c2' },
      role: 'probe',
      kept: { clusterId: 'c2' },
    },
    { name: 'a ticket without a cluster', fields: {}, role: 'running', kept: {} },
  ] as const)('keeps the evidence of $name as a $role child', ({ fields, role, kept }) => {
    // Act
    const child = childOf({ ...ticket, ...fields }, role);

    // Assess
    expect(child).toStrictEqual({
      ticketId: 'RCA-20261130-0001',
      errorType: 'DatabricksResourceExhausted',
      reason: 'cloud provider out of capacity',
      detectedAt: '2026-11-30T12:00:00.000Z',
      role,
      ...kept,
    });
    expect(Object.keys(child)).not.toContain('terminationCode');
  });
});
