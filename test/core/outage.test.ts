import { describe, expect, it } from 'vitest';
import { classifyTermination } from '../../functions/core/classifier/classify.ts';
import {
  correlate,
  heldChildVerdict,
  type OutageRule,
  outageClassOf,
  outageRuleOf,
  parseOutageConfig,
  probeVerdict,
} from '../../functions/core/outage.ts';

describe('the outage class of a failure, from the classifier', () => {
  it.each([
    ['AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', 'CLOUD_FAILURE', 'capacity'],
    ['GCP_INSUFFICIENT_CAPACITY', 'CLOUD_FAILURE', 'capacity'],
    ['INSUFFICIENT_INSTANCE_CAPACITY', 'CLOUD_FAILURE', 'capacity'],
    ['CLOUD_PROVIDER_RESOURCE_STOCKOUT', 'CLOUD_FAILURE', 'stockout'],
    ['CLOUD_PROVIDER_LAUNCH_FAILURE', 'CLOUD_FAILURE', 'cloud_provider'],
    ['CLOUD_PROVIDER_SHUTDOWN', 'CLOUD_FAILURE', 'cloud_provider'],
    ['WORKSPACE_UPDATE', 'SERVICE_FAULT', 'workspace_update'],
    ['CERT_ROTATION', 'SERVICE_FAULT', 'certificate_rotation'],
    ['MAINTENANCE_MODE', 'SERVICE_FAULT', 'workspace_update'],
    ['CONTROL_PLANE_CONNECTION_FAILURE', 'CLOUD_FAILURE', 'network'],
    ['DRIVER_UNREACHABLE', 'CLOUD_FAILURE', undefined],
    ['SPOT_INSTANCE_TERMINATION', 'CLOUD_FAILURE', undefined],
    ['INSTANCE_POOL_MAX_CAPACITY_REACHED', 'CLIENT_ERROR', undefined],
    ['CLOUD_PROVIDER_RESOURCE_STOCKOUT_DUE_TO_MISCONFIG', 'CLIENT_ERROR', undefined],
    ['AWS_RESOURCE_QUOTA_EXCEEDED', 'CLIENT_ERROR', undefined],
    ['CONTROL_PLANE_CONNECTION_FAILURE_DUE_TO_MISCONFIG', 'CLIENT_ERROR', undefined],
  ])('puts %s (%s) in class %s', (code, type, expected) => {
    // Prepare
    const classification = classifyTermination({ code, type });

    // Act
    const outageClass = outageClassOf(classification);

    // Assess
    expect(outageClass).toBe(expected);
  });
});

describe('the outage class of workspace maintenance named by free text (no code)', () => {
  it.each([
    ['DatabricksWorkspaceMaintenance', 'workspace_update'],
    ['DatabricksServiceFault', undefined],
  ] as const)('puts %s in class %s', (errorType, expected) => {
    // Act
    const outageClass = outageClassOf({ errorType, category: 'service' });

    // Assess
    expect(outageClass).toBe(expected);
  });
});

const RULE: OutageRule = { enabled: true, threshold: 5, windowMs: 600_000 };
const NOW = Date.parse('2026-11-30T12:00:00Z');
const members = (ages: readonly number[]) =>
  ages.map((age, i) => ({ clusterId: `c${i}`, at: NOW - age * 1000 }));

describe('correlate', () => {
  it.each([
    ['four failures', members([1, 2, 3, 4]), undefined, undefined, 'none'],
    ['five failures within the window', members([1, 2, 3, 4, 5]), undefined, undefined, 'open'],
    ['five failures, one just inside the window', members([1, 2, 3, 4, 600]), undefined, undefined, 'open'],
    ['five failures, one just outside the window', members([1, 2, 3, 4, 601]), undefined, undefined, 'none'],
    [
      'five failures, one before the last outage ended',
      members([1, 2, 3, 4, 30]),
      undefined,
      NOW - 20_000,
      'none',
    ],
    ['one failure while an outage is open', members([1]), 'OUT-1', undefined, 'join'],
  ])('decides %s: %s', (_name, window, outageId, resetAt, expected) => {
    // Act
    const decision = correlate(
      {
        members: window,
        ...(outageId === undefined ? {} : { outageId }),
        ...(resetAt === undefined ? {} : { resetAt }),
      },
      RULE,
      NOW,
    );

    // Assess
    expect(decision.kind).toBe(expected);
  });
});

describe('probeVerdict', () => {
  const opened = new Date(NOW - 60_000).toISOString();
  it.each([
    ['released', 'RCA-1', 'closed recovered', 'done'],
    ['probing', undefined, undefined, 'pick_probe'],
    ['probing', 'RCA-1', 'open', 'wait'],
    ['probing', 'RCA-1', 'in_progress', 'wait'],
    ['probing', 'RCA-1', 'closed recovered', 'release'],
    ['probing', 'RCA-1', 'closed recovered_restore_pending', 'release'],
    ['probing', 'RCA-1', 'closed resolved_without_action', 'next_probe'],
    ['probing', 'RCA-1', 'closed denied', 'next_probe'],
    ['probing', 'RCA-1', 'escalated', 'escalate'],
    ['probing', 'RCA-1', 'suppressed', 'escalate'],
    ['probing', 'RCA-1', undefined, 'escalate'],
  ] as const)('outage %s with probe %s (%s): %s', (status, probeTicketId, probe, expected) => {
    // Prepare
    const [probeStatus, recoveryStatus] = probe?.split(' ') ?? [];

    // Act
    const verdict = probeVerdict(
      { status, openedAt: opened, ...(probeTicketId === undefined ? {} : { probeTicketId }) },
      probeStatus === undefined
        ? undefined
        : { status: probeStatus, ...(recoveryStatus === undefined ? {} : { recoveryStatus }) },
      NOW,
      30_000,
    );

    // Assess
    expect(verdict).toBe(expected);
  });

  it.each([
    ['opened longer ago than the grace period', 60_000, 'escalate'],
    ['opened a moment ago', 10_000, 'wait'],
  ] as const)(
    'escalates an outage whose failures escalate (nothing to probe), %s: %s',
    (_when, age, expected) => {
      // Act
      const verdict = probeVerdict(
        { status: 'probing', openedAt: new Date(NOW - age).toISOString(), escalates: true },
        undefined,
        NOW,
        30_000,
      );

      // Assess
      expect(verdict).toBe(expected);
    },
  );

  it.each([
    ['held since longer than the grace period', 60_000, 'start_probe'],
    ['held a moment ago', 10_000, 'wait'],
  ] as const)('starts a named probe still held (%s): %s', (_when, heldFor, expected) => {
    // Act
    const verdict = probeVerdict(
      { status: 'probing', openedAt: opened, probeTicketId: 'RCA-1' },
      { status: 'open', recoveryStatus: 'held_by_outage', updatedAt: new Date(NOW - heldFor).toISOString() },
      NOW,
      30_000,
    );

    // Assess
    expect(verdict).toBe(expected);
  });

  it('waits for the opener to name its probe during the grace period', () => {
    // Act
    const verdict = probeVerdict(
      { status: 'probing', openedAt: new Date(NOW - 10_000).toISOString() },
      undefined,
      NOW,
      30_000,
    );

    // Assess
    expect(verdict).toBe('wait');
  });
});

describe('heldChildVerdict', () => {
  it.each([
    ['probing', 'hold'],
    ['released', 'release'],
    ['resolved', 'release'],
    ['escalated', 'escalate'],
    [undefined, 'escalate'],
  ] as const)('holds, releases or escalates a child of a %s outage: %s', (status, expected) => {
    // Act
    const verdict = heldChildVerdict(status === undefined ? undefined : { status });

    // Assess
    expect(verdict).toBe(expected);
  });
});

describe('OUTAGE_CORRELATION', () => {
  it.each([
    [undefined, 'prod', { enabled: true, threshold: 5, windowMs: 600_000 }],
    ['{"default": {"threshold": 3}}', 'prod', { enabled: true, threshold: 3, windowMs: 600_000 }],
    [
      '{"default": {"threshold": 3}, "workspaces": {"prod": {"windowMinutes": 30}}}',
      'prod',
      { enabled: true, threshold: 3, windowMs: 1_800_000 },
    ],
    [
      '{"workspaces": {"prod": {"enabled": false}}}',
      'prod',
      { enabled: false, threshold: 5, windowMs: 600_000 },
    ],
    [
      '{"workspaces": {"prod": {"enabled": false}}}',
      'dev',
      { enabled: true, threshold: 5, windowMs: 600_000 },
    ],
  ])('reads %s for %s', (raw, workspaceId, expected) => {
    // Act
    const rule = outageRuleOf(parseOutageConfig(raw), workspaceId);

    // Assess
    expect(rule).toEqual(expected);
  });

  it.each([
    ['not json', 'must be JSON'],
    ['{"default": {"threshold": 1}}', 'threshold'],
    ['{"default": {"windowMinutes": 0}}', 'windowMinutes'],
    ['{"defualt": {}}', 'defualt'],
  ])('refuses %s naming the problem', (raw, says) => {
    // Act
    const parse = () => parseOutageConfig(raw);

    // Assess
    expect(parse).toThrow(says);
  });
});
