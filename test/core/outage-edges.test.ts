/**
 * The outage decisions at their edges (the grace period to the millisecond, the class rule's facts,
 * the configuration's precedence) and the words of the outage's one notification and its escalation.
 */
import { describe, expect, it } from 'vitest';
import {
  type Outage,
  type OutageChild,
  outageClassOf,
  outageRuleOf,
  outageSummary,
  parseOutageConfig,
  probeVerdict,
} from '../../functions/core/outage.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const GRACE = 30_000;
const ago = (ms: number) => new Date(NOW - ms).toISOString();

describe('outageClassOf: the cloud rule needs a cloud failure at start-up or in the infrastructure', () => {
  it.each([
    { type: 'CLOUD_FAILURE', category: 'startup', outageClass: 'cloud_provider' },
    { type: 'CLOUD_FAILURE', category: 'infrastructure', outageClass: 'cloud_provider' },
    { type: 'CLOUD_FAILURE', category: 'driver', outageClass: undefined },
    { type: 'SERVICE_FAULT', category: 'startup', outageClass: undefined },
    { type: 'CLIENT_ERROR', category: 'infrastructure', outageClass: undefined },
  ] as const)(
    'puts a $type failure of category $category in class $outageClass',
    ({ type, category, outageClass }) => {
      // Act
      const found = outageClassOf({
        errorType: 'DatabricksClusterTerminated',
        category,
        code: 'SOME_CODE',
        type,
      });

      // Assess
      expect(found).toBe(outageClass);
    },
  );
});

describe('probeVerdict at the end of the grace period', () => {
  it.each([
    { name: 'an outage opened exactly the grace period ago', openedFor: GRACE, verdict: 'pick_probe' },
    { name: 'an outage opened a millisecond less ago', openedFor: GRACE - 1, verdict: 'wait' },
  ] as const)('picks a probe for $name: $verdict', ({ openedFor, verdict }) => {
    // Act
    const found = probeVerdict({ status: 'probing', openedAt: ago(openedFor) }, undefined, NOW, GRACE);

    // Assess
    expect(found).toBe(verdict);
  });

  it.each([
    { name: 'held exactly the grace period', probe: { updatedAt: ago(GRACE) }, verdict: 'start_probe' },
    { name: 'held a millisecond less', probe: { updatedAt: ago(GRACE - 1) }, verdict: 'wait' },
    { name: 'unchanged since its outage opened long ago', probe: {}, verdict: 'start_probe' },
    {
      name: 'in progress (its start went through) long ago',
      probe: { status: 'in_progress', updatedAt: ago(10 * GRACE) },
      verdict: 'wait',
    },
  ] as const)('starts a named probe $name: $verdict', ({ probe, verdict }) => {
    // Act
    const found = probeVerdict(
      { status: 'probing', openedAt: ago(10 * GRACE), probeTicketId: 'RCA-1' },
      { status: 'open', recoveryStatus: 'held_by_outage', ...probe },
      NOW,
      GRACE,
    );

    // Assess
    expect(found).toBe(verdict);
  });
});

describe('OUTAGE_CORRELATION precedence and messages', () => {
  it.each([
    {
      raw: '   ',
      workspaceId: 'prod',
      rule: { enabled: true, threshold: 5, windowMs: 600_000 },
    },
    {
      raw: '{"default": {"enabled": false}, "workspaces": {"prod": {"enabled": true}}}',
      workspaceId: 'prod',
      rule: { enabled: true, threshold: 5, windowMs: 600_000 },
    },
    {
      raw: '{"default": {"enabled": false}, "workspaces": {"prod": {"enabled": true}}}',
      workspaceId: 'dev',
      rule: { enabled: false, threshold: 5, windowMs: 600_000 },
    },
    {
      raw: '{"default": {"threshold": 3, "windowMinutes": 20}, "workspaces": {"prod": {"threshold": 7}}}',
      workspaceId: 'prod',
      rule: { enabled: true, threshold: 7, windowMs: 1_200_000 },
    },
  ])('reads $raw for $workspaceId', ({ raw, workspaceId, rule }) => {
    // Act
    const found = outageRuleOf(parseOutageConfig(raw), workspaceId);

    // Assess
    expect(found).toEqual(rule);
  });

  it('names every problem of a bad value', () => {
    // Act
    const parse = () => parseOutageConfig('{"default": {"threshold": 1, "windowMinutes": 0}}');

    // Assess
    expect(parse).toThrow(
      'OUTAGE_CORRELATION: default.threshold: Too small: expected number to be >=2; default.windowMinutes: Too small: expected number to be >=1',
    );
  });
});

describe('outageSummary', () => {
  const child = (ticketId: string, fields: Partial<OutageChild> = {}): OutageChild => ({
    ticketId,
    errorType: 'DatabricksResourceExhausted',
    reason: 'out of capacity',
    detectedAt: ago(60_000),
    role: 'held',
    ...fields,
  });
  const outage = (fields: Partial<Outage> = {}): Outage => ({
    outageId: 'OUT-20261130-1-ab',
    workspaceId: 'prod',
    outageClass: 'certificate_rotation',
    status: 'probing',
    openedAt: ago(60_000),
    threshold: 5,
    windowMinutes: 10,
    members: ['c1', 'c2'],
    children: [child('RCA-1'), child('RCA-2')],
    version: 1,
    ...fields,
  });
  const HEAD =
    '2 clusters of workspace prod failed with certificate rotation (5+ within 10 min): one outage, OUT-20261130-1-ab';

  it.each([
    {
      name: 'a probing outage with its probe',
      fields: { probeTicketId: 'RCA-1' },
      summary: `${HEAD}. Automated recoveries of the class are held; one probe recovers first (RCA-1), and the others follow through the blast-radius cap when it recovers. Resolve it by hand: rca outage resolve OUT-20261130-1-ab`,
    },
    {
      name: 'a probing outage before its probe is named',
      fields: {},
      summary: `${HEAD}. Automated recoveries of the class are held; one probe recovers first, and the others follow through the blast-radius cap when it recovers. Resolve it by hand: rca outage resolve OUT-20261130-1-ab`,
    },
    {
      name: 'an outage of one cluster',
      fields: { children: [child('RCA-1')], outageClass: 'capacity' },
      summary:
        '1 cluster of workspace prod failed with capacity (5+ within 10 min): one outage, OUT-20261130-1-ab. Automated recoveries of the class are held; one probe recovers first, and the others follow through the blast-radius cap when it recovers. Resolve it by hand: rca outage resolve OUT-20261130-1-ab',
    },
    {
      name: 'an outage resolved as it opened',
      fields: { status: 'resolved', reason: 'cloud back' },
      summary: `${HEAD}. It is resolved (cloud back): the held recoveries follow through the blast-radius cap, each re-reading its cluster first.`,
    },
    {
      name: 'an outage released without a reason',
      fields: { status: 'released' },
      summary: `${HEAD}. It is released (no reason): the held recoveries follow through the blast-radius cap, each re-reading its cluster first.`,
    },
  ] as const)('announces $name', ({ fields, summary }) => {
    // Act
    const text = outageSummary(outage(fields), 'opened');

    // Assess
    expect(text).toBe(summary);
  });

  it.each([
    {
      name: 'with the reason and each child by name, id or neither, code or type',
      fields: {
        reason: 'probe escalated',
        children: [
          child('RCA-1', { clusterId: 'c1', clusterName: 'etl', code: 'CERT_ROTATION' }),
          child('RCA-2', { clusterId: 'c2' }),
          child('RCA-3'),
        ],
      },
      summary:
        '3 clusters of workspace prod failed with certificate rotation (5+ within 10 min): one outage, OUT-20261130-1-ab. The probe failed (probe escalated); every held recovery is escalated. Children: RCA-1 etl CERT_ROTATION: out of capacity; RCA-2 c2 DatabricksResourceExhausted: out of capacity; RCA-3  DatabricksResourceExhausted: out of capacity',
    },
    {
      name: 'without a reason',
      fields: { status: 'escalated', children: [child('RCA-1', { clusterId: 'c1' })] },
      summary:
        '1 cluster of workspace prod failed with certificate rotation (5+ within 10 min): one outage, OUT-20261130-1-ab. The probe failed (no reason); every held recovery is escalated. Children: RCA-1 c1 DatabricksResourceExhausted: out of capacity',
    },
  ] as const)('escalates $name', ({ fields, summary }) => {
    // Act
    const text = outageSummary(outage(fields), 'escalated');

    // Assess
    expect(text).toBe(summary);
  });
});
