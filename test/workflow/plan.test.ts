import { describe, expect, it } from 'vitest';
import type { ClusterPolicy } from '../../functions/core/cluster-policy.ts';
import type { Action } from '../../functions/core/error-types.ts';
import type { RecoveryInput } from '../../functions/core/incident.ts';
import { DEFAULT_PLAYBOOKS } from '../../functions/core/playbooks.ts';
import type { ClusterDetails, ClusterEvent } from '../../functions/core/schemas/databricks.ts';
import { hasValues, originalOf } from '../../functions/workflow/cluster-config.ts';
import type { Decision, PlanContext } from '../../functions/workflow/decision.ts';
import type { ConfigChange } from '../../functions/workflow/model.ts';
import {
  escalation,
  needsEditHistory,
  needsPolicy,
  planClusterRemediation,
  securityChanges,
} from '../../functions/workflow/plan.ts';

const CLUSTER: ClusterDetails = {
  cluster_id: '0923-164208-meows279',
  cluster_name: 'Shared Orders ETL',
  state: 'TERMINATED',
  cluster_source: 'UI',
  spark_version: '15.4.x-scala2.12',
  node_type_id: 'i3.xlarge',
  last_restarted_time: 1_764_300_000_000,
  termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
};

function context(
  cluster: Partial<ClusterDetails>,
  action: Action = 'restart_cluster',
  more: Partial<Omit<PlanContext, 'cluster' | 'input'>> & { input?: Partial<RecoveryInput> } = {},
): PlanContext {
  const { input, ...rest } = more;
  return {
    input: {
      ticketId: 'RCA-20250102-001',
      workspaceId: 'default',
      clusterId: CLUSTER.cluster_id,
      errorType: 'DatabricksClusterTerminated',
      action,
      playbook: {
        ...DEFAULT_PLAYBOOKS.DatabricksResourceExhausted,
        fallback_node_types: ['m5.xlarge', 'r5.xlarge'],
      },
      signal: {
        source: 'poller',
        kind: 'termination',
        workspaceId: 'default',
        observedAt: 1_764_300_100_000,
        incidentKey: 'default#cluster#x#terminated#1',
      },
      ...input,
    },
    state: { attempt: 1 },
    cluster: { ...CLUSTER, ...cluster },
    pollSeconds: 30,
    ...rest,
  };
}

const edited = (timestamp: number): ClusterEvent => ({
  cluster_id: CLUSTER.cluster_id,
  timestamp,
  type: 'EDITED',
  details: {
    user: 'someone@example.com',
    previous_attributes: { spark_version: '15.4.x-scala2.12', node_type_id: 'i3.xlarge' },
    attributes: { spark_version: '9.9.x-scala2.12', node_type_id: 'i3.xlarge' },
  },
});
const running = (timestamp: number): ClusterEvent => ({
  cluster_id: CLUSTER.cluster_id,
  timestamp,
  type: 'RUNNING',
});

describe('planClusterRemediation', () => {
  it.each([
    ['PENDING', 'wait'],
    ['RESTARTING', 'wait'],
    ['RESIZING', 'wait'],
    ['TERMINATING', 'delay'],
    ['TERMINATED', 'start'],
    ['RUNNING', 'none'],
    ['ERROR', 'escalate'],
    ['UNKNOWN', 'escalate'],
  ])('decides %s → %s for a cluster terminated by the cloud', (state, kind) => {
    // Act
    const decision = planClusterRemediation(context({ state }));

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it.each([
    ['with its run', { runId: '455644833' }, 'repair_run'],
    ['without a run', {}, 'escalate'],
  ])('repairs, never starts, a job cluster %s', (_name, input, kind) => {
    // Act
    const decision = planClusterRemediation(context({ cluster_source: 'JOB' }, 'restart_cluster', { input }));

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it.each([
    [
      'a driver-loss signal not followed by a restart',
      { kind: 'driver_loss', lastStateLossTime: 1_764_300_050_000 },
      'restart',
    ],
    [
      'a driver-loss signal after which someone restarted it',
      { kind: 'driver_loss', lastStateLossTime: 1_764_299_000_000 },
      'none',
    ],
    ['a termination signal (someone already started it)', { kind: 'termination' }, 'none'],
  ])('restarts a RUNNING cluster only for %s', (_name, signal, kind) => {
    // Prepare
    const input = { signal: { ...context({}).input.signal, ...signal } as RecoveryInput['signal'] };

    // Act
    const decision = planClusterRemediation(context({ state: 'RUNNING' }, 'restart_cluster', { input }));

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it('restarts a RUNNING cluster whose driver stopped responding after the last attempt', () => {
    // Act
    const decision = planClusterRemediation(
      context({ state: 'RUNNING' }, 'restart_cluster', {
        state: { attempt: 2, lastFailure: { kind: 'driver_unresponsive', reason: 'again' } },
      }),
    );

    // Assess
    expect(decision.kind).toBe('restart');
  });

  it('falls back to the first node type not tried, switching a driver on the same type too', () => {
    // Act
    const decision = planClusterRemediation(
      context({ driver_node_type_id: 'i3.xlarge' }, 'restart_with_different_instance_type', {
        state: { attempt: 2, failedNodeTypes: ['m5.xlarge'] },
      }),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'fallback',
      fields: ['node_type_id', 'driver_node_type_id'],
      values: { node_type_id: 'r5.xlarge', driver_node_type_id: 'r5.xlarge' },
      original: { fields: ['node_type_id', 'driver_node_type_id'], values: { node_type_id: 'i3.xlarge' } },
    });
  });

  it('keeps the original values of an earlier fallback when a later one changes another field', () => {
    // Prepare
    const original = { fields: ['aws_attributes'], values: { aws_attributes: { availability: 'SPOT' } } };

    // Act
    const decision = planClusterRemediation(
      context({ aws_attributes: { availability: 'ON_DEMAND' } }, 'restart_with_different_instance_type', {
        state: { attempt: 2, original },
      }),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'fallback',
      original: {
        fields: ['aws_attributes', 'node_type_id'],
        values: { aws_attributes: { availability: 'SPOT' }, node_type_id: 'i3.xlarge' },
      },
    });
  });

  it.each([
    ['aws_attributes', 'SPOT_WITH_FALLBACK', 'ON_DEMAND'],
    ['azure_attributes', 'SPOT_AZURE', 'ON_DEMAND_AZURE'],
    ['gcp_attributes', 'PREEMPTIBLE_GCP', 'ON_DEMAND_GCP'],
  ])('moves %s from %s to %s for spot failures, keeping the other attributes', (attribute, from, to) => {
    // Act
    const decision = planClusterRemediation(
      context({ [attribute]: { availability: from, first_on_demand: 1 } }, 'restart_with_on_demand'),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'fallback',
      fields: [attribute],
      values: { [attribute]: { availability: to, first_on_demand: 1 } },
    });
  });

  it('starts as configured when no fallback is left and the cluster is on-demand already', () => {
    // Act
    const decision = planClusterRemediation(
      context({ aws_attributes: { availability: 'ON_DEMAND' } }, 'restart_with_different_instance_type', {
        state: { attempt: 3, failedNodeTypes: ['m5.xlarge', 'r5.xlarge'] },
      }),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'start',
      description: expect.stringContaining('no fallback node type is left'),
    });
  });

  it.each([
    ['the edit is the newest event', [edited(3), running(2)], 'rollback'],
    ['the cluster ran after the edit', [running(3), edited(2)], 'escalate'],
    ['there is no edit at all', [running(1)], 'escalate'],
  ])('rolls back a configuration error only when %s', (_name, editHistory, kind) => {
    // Act
    const decision = planClusterRemediation(context({}, 'rollback_config', { editHistory }));

    // Assess
    expect(decision.kind).toBe(kind);
  });

  it('rolls back to previous_attributes and names what the edit changed', () => {
    // Act
    const decision = planClusterRemediation(
      context({}, 'rollback_config', { editHistory: [edited(1_764_300_000_000)] }),
    );

    // Assess
    expect(decision).toEqual({
      kind: 'rollback',
      description:
        'rolled back the edit of 2025-11-28T03:20:00.000Z by someone@example.com (spark_version) and started the cluster',
      fields: ['spark_version'],
      values: { spark_version: '15.4.x-scala2.12' },
    });
  });

  it.each([
    ['workers to autoscaling', { num_workers: 2 }, { autoscale: { min_workers: 1, max_workers: 9 } }],
    ['autoscaling to workers', { autoscale: { min_workers: 2, max_workers: 8 } }, { num_workers: 20 }],
  ])(
    'rolls back a size the edit changed from %s, which only the *_cluster_size fields carry',
    (_name, before, after) => {
      // Prepare
      const edit = edited(1_764_300_000_000);
      const resized = {
        ...edit,
        details: { ...edit.details, previous_cluster_size: before, cluster_size: after },
      };

      // Act
      const decision = planClusterRemediation(context({}, 'rollback_config', { editHistory: [resized] }));

      // Assess
      expect(decision).toMatchObject({
        kind: 'rollback',
        fields: ['autoscale', 'num_workers', 'spark_version'],
        values: { spark_version: '15.4.x-scala2.12', ...before },
        description: expect.stringContaining('(spark_version, size)'),
      });
    },
  );

  it('escalates an edit that changed nothing it can roll back', () => {
    // Prepare
    const edit = edited(1_764_300_000_000);
    const same = { ...edit, details: { ...edit.details, attributes: edit.details?.previous_attributes } };

    // Act
    const decision = planClusterRemediation(context({}, 'rollback_config', { editHistory: [same] }));

    // Assess
    expect(decision).toMatchObject({
      kind: 'escalate',
      reason: expect.stringContaining('changed nothing that can be rolled back'),
    });
  });

  it.each([
    ['on the cluster already', '15.4.x-scala2.12', true],
    ['not on the cluster (the call failed)', '9.9.x-scala2.12', false],
  ])(
    'finishes a rollback an earlier try of this attempt recorded, %s, instead of rolling back again',
    (_name, sparkVersion, applied) => {
      // Prepare: the newest EDITED event is now the rollback itself.
      const rollback: ConfigChange = {
        kind: 'rollback',
        attempt: 1,
        fields: ['spark_version'],
        values: { spark_version: '15.4.x-scala2.12' },
        description: 'rolled back the edit of … (spark_version) and started the cluster',
      };
      const ownEdit: ClusterEvent = {
        ...edited(4),
        details: {
          previous_attributes: { spark_version: '9.9.x-scala2.12' },
          attributes: { spark_version: '15.4.x-scala2.12' },
        },
      };

      // Act
      const decision = planClusterRemediation(
        context({ spark_version: sparkVersion }, 'rollback_config', {
          changes: [rollback],
          editHistory: [ownEdit, edited(3)],
        }),
      );

      // Assess
      expect(decision).toMatchObject({
        kind: 'rollback',
        values: { spark_version: '15.4.x-scala2.12' },
        applied,
      });
    },
  );

  it('only starts a cluster whose fallback an earlier try of this attempt made, keeping the recorded original', () => {
    // Prepare
    const original = { fields: ['node_type_id'], values: { node_type_id: 'i3.xlarge' } };
    const fallback: ConfigChange = {
      kind: 'fallback',
      attempt: 1,
      fields: ['node_type_id'],
      values: { node_type_id: 'm5.xlarge' },
      original,
      description: 'switched node type i3.xlarge → m5.xlarge and started the cluster',
    };

    // Act
    const decision = planClusterRemediation(
      context({ node_type_id: 'm5.xlarge' }, 'restart_with_different_instance_type', { changes: [fallback] }),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'fallback',
      applied: true,
      original,
      values: { node_type_id: 'm5.xlarge' },
    });
  });

  it('decides afresh in a later attempt, whatever an earlier one changed', () => {
    // Prepare
    const fallback: ConfigChange = {
      kind: 'fallback',
      attempt: 1,
      fields: ['node_type_id'],
      values: { node_type_id: 'm5.xlarge' },
      original: { fields: ['node_type_id'], values: { node_type_id: 'i3.xlarge' } },
      description: 'switched node type i3.xlarge → m5.xlarge and started the cluster',
    };

    // Act
    const decision = planClusterRemediation(
      context({ node_type_id: 'm5.xlarge' }, 'restart_with_different_instance_type', {
        changes: [fallback],
        state: { attempt: 2, failedNodeTypes: ['m5.xlarge'], original: fallback.original },
      }),
    );

    // Assess
    expect(decision).toMatchObject({ kind: 'fallback', values: { node_type_id: 'r5.xlarge' } });
    expect(decision).not.toHaveProperty('applied', true);
  });

  it.each([
    ['backs off first', { attempt: 1 }, {}, { kind: 'backoff' }],
    ['then starts it on the same pool', { attempt: 1, backedOff: true }, {}, { kind: 'start' }],
    ['starts it on the same pool in a later attempt', { attempt: 2 }, {}, { kind: 'start' }],
    [
      'moves it to a configured alternative pool',
      { attempt: 1 },
      { fallback_instance_pool_ids: ['pool-b'] },
      {
        kind: 'fallback',
        fields: ['instance_pool_id', 'driver_instance_pool_id'],
        values: { instance_pool_id: 'pool-b', driver_instance_pool_id: 'pool-b' },
      },
    ],
    [
      'skips an alternative pool Databricks refused',
      { attempt: 1, refused: [{ field: 'instance_pool_id', value: 'pool-b' }] },
      { fallback_instance_pool_ids: ['pool-b'] },
      { kind: 'backoff' },
    ],
  ])(
    'never gives a pool cluster short of capacity another node type: %s',
    (_name, state, playbook, expected) => {
      // Prepare
      const pooled = {
        instance_pool_id: 'pool-a',
        driver_instance_pool_id: 'pool-a',
        node_type_id: 'i3.xlarge',
      };
      const ctx = context(pooled, 'restart_with_different_instance_type', { state });
      const given = { ...ctx, input: { ...ctx.input, playbook: { ...ctx.input.playbook, ...playbook } } };

      // Act
      const decision = planClusterRemediation(given);

      // Assess
      expect(decision).toMatchObject(expected);
      expect(JSON.stringify(decision)).not.toContain('node_type_id');
    },
  );

  it('changes the workers of a cluster whose driver comes from a pool, and leaves the driver alone', () => {
    // Act
    const decision = planClusterRemediation(
      context(
        { driver_instance_pool_id: 'pool-d', driver_node_type_id: 'i3.xlarge' },
        'restart_with_different_instance_type',
      ),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'fallback',
      fields: ['node_type_id'],
      values: { node_type_id: 'm5.xlarge' },
    });
  });

  it('never tries again a node type Databricks refused (a policy)', () => {
    // Act
    const decision = planClusterRemediation(
      context({}, 'restart_with_different_instance_type', {
        state: { attempt: 1, refused: [{ field: 'node_type_id', value: 'm5.xlarge' }] },
      }),
    );

    // Assess
    expect(decision).toMatchObject({ kind: 'fallback', values: { node_type_id: 'r5.xlarge' } });
  });

  it('escalates instead of rolling back an edit made long before the failure', () => {
    // Act
    const decision = planClusterRemediation(
      context({ terminated_time: 1_764_300_000_000 + 2 * 3_600_000 }, 'rollback_config', {
        editHistory: [edited(1_764_300_000_000)],
      }),
    );

    // Assess
    expect(decision).toMatchObject({
      kind: 'escalate',
      reason: expect.stringMatching(/more than 60 minutes before the failure/),
    });
  });

  it.each([
    ['data_security_mode', { data_security_mode: 'SINGLE_USER' }, { data_security_mode: 'USER_ISOLATION' }],
    ['single_user_name', { single_user_name: 'a@example.com' }, { single_user_name: 'b@example.com' }],
    ['policy_id', { policy_id: 'P1' }, {}],
    [
      'aws_attributes.instance_profile_arn',
      { aws_attributes: { instance_profile_arn: 'arn:aws:iam::1:instance-profile/a' } },
      { aws_attributes: { instance_profile_arn: 'arn:aws:iam::1:instance-profile/b' } },
    ],
  ])('never rolls back an edit of %s: escalates with the diff', (field, before, after) => {
    // Prepare
    const edit: ClusterEvent = {
      cluster_id: CLUSTER.cluster_id,
      timestamp: 1_764_300_000_000,
      type: 'EDITED',
      details: {
        user: 'admin@example.com',
        previous_attributes: { spark_version: '15.4.x-scala2.12', ...before },
        attributes: { spark_version: '9.9.x-scala2.12', ...after },
      },
    };

    // Act
    const decision = planClusterRemediation(context({}, 'rollback_config', { editHistory: [edit] }));

    // Assess
    expect(decision).toMatchObject({
      kind: 'escalate',
      evidence: { edit_diff: [expect.objectContaining({ field })] },
    });
  });

  it('never rolls back twice in one recovery', () => {
    // Act
    const decision = planClusterRemediation(
      context({}, 'rollback_config', { editHistory: [edited(3)], state: { attempt: 2, rolledBack: true } }),
    );

    // Assess
    expect(decision.kind).toBe('start');
  });

  it('never rolls back again in a later attempt once a rollback was recorded', () => {
    // Prepare
    const rollback: ConfigChange = {
      kind: 'rollback',
      attempt: 1,
      fields: ['spark_version'],
      values: { spark_version: '15.4.x-scala2.12' },
      description: 'rolled back the edit',
    };

    // Act
    const decision = planClusterRemediation(
      context({}, 'rollback_config', {
        editHistory: [edited(4)],
        changes: [rollback],
        state: { attempt: 2 },
      }),
    );

    // Assess
    expect(decision.kind).toBe('start');
  });

  describe('with the cluster policy', () => {
    const policy = (definition: Record<string, unknown>): ClusterPolicy => ({
      policyId: 'E06216CAA0000360',
      definition: definition as never,
    });
    const allowOnly = (...values: string[]) => ({ type: 'allowlist', values });

    it('skips a fallback node type the policy forbids, says why, and takes the next one', () => {
      // Act
      const decision = planClusterRemediation(
        context(
          { driver_node_type_id: 'i3.xlarge', policy_id: 'E06216CAA0000360' },
          'restart_with_different_instance_type',
          {
            policy: policy({ node_type_id: allowOnly('i3.xlarge', 'r5.xlarge') }),
          },
        ),
      );

      // Assess
      expect(decision).toMatchObject({
        kind: 'fallback',
        values: { node_type_id: 'r5.xlarge', driver_node_type_id: 'r5.xlarge' },
        skippedByPolicy: [
          {
            values: { node_type_id: 'm5.xlarge' },
            why: expect.stringMatching(
              /^node_type_id "m5.xlarge": the policy allows only \["i3.xlarge", "r5.xlarge"\]/,
            ),
          },
        ],
      });
    });

    it("decides the driver on its own when the policy holds it to other types than the workers'", () => {
      // Act
      const decision = planClusterRemediation(
        context({ driver_node_type_id: 'i3.xlarge' }, 'restart_with_different_instance_type', {
          policy: policy({ driver_node_type_id: { type: 'blocklist', values: ['m5.xlarge'] } }),
        }),
      );

      // Assess
      expect(decision).toMatchObject({
        kind: 'fallback',
        fields: ['node_type_id', 'driver_node_type_id'],
        values: { node_type_id: 'm5.xlarge', driver_node_type_id: 'r5.xlarge' },
      });
      expect(decision).not.toHaveProperty('skippedByPolicy');
    });

    it('skips a node type whose driver no fallback type the policy allows could follow', () => {
      // Act
      const decision = planClusterRemediation(
        context({ driver_node_type_id: 'i3.xlarge' }, 'restart_with_different_instance_type', {
          policy: policy({ driver_node_type_id: { type: 'fixed', value: 'i3.xlarge' } }),
        }),
      );

      // Assess
      expect(decision).toMatchObject({ kind: 'escalate' });
    });

    it.each([
      ['fixed', { node_type_id: { type: 'fixed', value: 'i3.xlarge' } }],
      ['regex', { node_type_id: { type: 'regex', pattern: 'i3\\..*' } }],
      ['blocklist', { node_type_id: { type: 'blocklist', values: ['m5.xlarge', 'r5.xlarge'] } }],
    ])('escalates with the evidence when a %s rule forbids every fallback left', (_name, definition) => {
      // Act
      const decision = planClusterRemediation(
        context({ policy_id: 'E06216CAA0000360' }, 'restart_with_different_instance_type', {
          policy: policy(definition),
        }),
      );

      // Assess
      expect(decision).toMatchObject({
        kind: 'escalate',
        reason: expect.stringMatching(/policy E06216CAA0000360 forbids every fallback left/),
        evidence: {
          policy_id: 'E06216CAA0000360',
          fallbacks_forbidden_by_policy: [
            { values: { node_type_id: 'm5.xlarge' } },
            { values: { node_type_id: 'r5.xlarge' } },
          ],
        },
      });
    });

    it('takes the on-demand fallback when the policy forbids every node type, and skips an availability it fixes', () => {
      // Prepare
      const spot = { aws_attributes: { availability: 'SPOT_WITH_FALLBACK' } };

      // Act
      const onDemand = planClusterRemediation(
        context(spot, 'restart_with_different_instance_type', {
          policy: policy({ node_type_id: { type: 'fixed', value: 'i3.xlarge' } }),
        }),
      );
      const nodeType = planClusterRemediation(
        context(spot, 'restart_with_on_demand', {
          policy: policy({ 'aws_attributes.availability': { type: 'fixed', value: 'SPOT_WITH_FALLBACK' } }),
        }),
      );

      // Assess
      expect(onDemand).toMatchObject({
        kind: 'fallback',
        values: { aws_attributes: { availability: 'ON_DEMAND' } },
        skippedByPolicy: [
          { values: { node_type_id: 'm5.xlarge' } },
          { values: { node_type_id: 'r5.xlarge' } },
        ],
      });
      expect(nodeType).toMatchObject({
        kind: 'fallback',
        values: { node_type_id: 'm5.xlarge' },
        skippedByPolicy: [{ values: { aws_attributes: { availability: 'ON_DEMAND' } } }],
      });
    });

    it('backs off on the same pool when the policy forbids the alternative pool, and says why', () => {
      // Act
      const decision = planClusterRemediation(
        context(
          { instance_pool_id: 'pool-a', node_type_id: undefined },
          'restart_with_different_instance_type',
          {
            input: {
              playbook: {
                ...DEFAULT_PLAYBOOKS.DatabricksResourceExhausted,
                fallback_instance_pool_ids: ['pool-b'],
              },
            },
            policy: policy({ instance_pool_id: { type: 'fixed', value: 'pool-a' } }),
          },
        ),
      );

      // Assess
      expect(decision).toMatchObject({
        kind: 'backoff',
        description: expect.stringMatching(/the policy forbids the alternative pools/),
        skippedByPolicy: [{ values: { instance_pool_id: 'pool-b' } }],
      });
    });

    it.each([
      [
        'a fallback for a cluster with a policy',
        { policy_id: 'P' },
        'restart_with_different_instance_type',
        true,
      ],
      ['a fallback for a cluster without a policy', {}, 'restart_with_different_instance_type', false],
      ['a plain start for a cluster with a policy', { policy_id: 'P' }, 'restart_cluster', false],
    ] as const)('reads the policy for %s: %s', (_name, cluster, action, expected) => {
      // Prepare
      const ctx = context(cluster, action);

      // Act
      const needed = needsPolicy(ctx, planClusterRemediation(ctx));

      // Assess
      expect(needed).toBe(expected);
    });

    it('does not read the policy again to finish a change an earlier try of this attempt recorded', () => {
      // Prepare
      const ctx = context({ policy_id: 'P' }, 'restart_with_different_instance_type', {
        changes: [
          {
            kind: 'fallback',
            attempt: 1,
            fields: ['node_type_id'],
            values: { node_type_id: 'm5.xlarge' },
            description: 'switched node type i3.xlarge → m5.xlarge and started the cluster',
          },
        ],
      });

      // Act
      const needed = needsPolicy(ctx, planClusterRemediation(ctx));

      // Assess
      expect(needed).toBe(false);
    });
  });
});

const EVIDENCE = {
  cluster_id: CLUSTER.cluster_id,
  cluster_name: CLUSTER.cluster_name,
  state: 'TERMINATED',
  termination_reason: CLUSTER.termination_reason,
};
const FAILED_AT = 1_764_300_000_000;
const HOUR = 3_600_000;
const STARTED = 'started the TERMINATED cluster';
const playbook = (more: Partial<RecoveryInput['playbook']>) => ({
  input: { playbook: { ...DEFAULT_PLAYBOOKS.DatabricksResourceExhausted, fallback_node_types: [], ...more } },
});
const editOf = (timestamp: number | undefined, details: ClusterEvent['details']): ClusterEvent => ({
  cluster_id: CLUSTER.cluster_id,
  type: 'EDITED',
  ...(timestamp === undefined ? {} : { timestamp }),
  details,
});
const SPARK = { previous_attributes: { spark_version: '15.4.x' }, attributes: { spark_version: '9.9.x' } };
const rollbackWith = (edit: ClusterEvent, more: Partial<ClusterDetails> = {}) =>
  context({ terminated_time: FAILED_AT, ...more }, 'rollback_config', { editHistory: [edit] });

describe('planClusterRemediation: the whole decision at the edge of each rule', () => {
  it.each<[string, PlanContext, Decision]>([
    [
      'escalates a job cluster without a run, with the evidence',
      context({ cluster_source: 'JOB' }),
      {
        kind: 'escalate',
        reason: `cluster ${CLUSTER.cluster_id} is a job cluster: it can be neither started nor edited, and the incident names no run to repair`,
        evidence: EVIDENCE,
      },
    ],
    [
      'waits for a PENDING cluster',
      context({ state: 'PENDING' }),
      { kind: 'wait', description: 'the cluster is already PENDING; waiting for it to come up' },
    ],
    [
      'delays for a TERMINATING cluster by the poll interval',
      context({ state: 'TERMINATING' }),
      {
        kind: 'delay',
        seconds: 30,
        description: 'the cluster is TERMINATING; waiting until it is TERMINATED to start it',
      },
    ],
    [
      'restarts a RUNNING cluster whose driver is lost',
      context({ state: 'RUNNING' }, 'restart_cluster', {
        input: { errorType: 'DatabricksDriverOutOfMemory' },
      }),
      { kind: 'restart', description: 'restarted the RUNNING cluster whose driver was lost' },
    ],
    [
      'only verifies a RUNNING cluster',
      context({ state: 'RUNNING' }),
      { kind: 'none', description: 'the cluster is RUNNING again; verifying its health' },
    ],
    [
      'escalates an ERROR cluster with its state message',
      context({ state: 'ERROR', state_message: 'boom' }),
      {
        kind: 'escalate',
        reason: `cluster ${CLUSTER.cluster_id} is in state ERROR, from which no safe automatic action exists`,
        evidence: { ...EVIDENCE, state: 'ERROR', state_message: 'boom' },
      },
    ],
    [
      'escalates a cluster without a state as UNKNOWN',
      context({ state: undefined, cluster_name: undefined, termination_reason: undefined }),
      {
        kind: 'escalate',
        reason: `cluster ${CLUSTER.cluster_id} is in state UNKNOWN, from which no safe automatic action exists`,
        evidence: { cluster_id: CLUSTER.cluster_id, state: undefined },
      },
    ],
    ['starts on the first attempt', context({}), { kind: 'start', description: STARTED }],
    [
      'starts on a later attempt, naming it',
      context({}, 'restart_cluster', { state: { attempt: 2 } }),
      { kind: 'start', description: `${STARTED} (attempt 2)` },
    ],
    [
      'starts a cluster without a run to repair',
      context({}, 'repair_run'),
      { kind: 'start', description: STARTED },
    ],
    [
      'repairs the run of an all-purpose cluster that names one',
      context({}, 'repair_run', { input: { runId: '77' } }),
      { kind: 'repair_run' },
    ],
    [
      'escalates an escalate action with the error type described',
      context({}, 'escalate'),
      {
        kind: 'escalate',
        reason:
          'no safe automatic action for DatabricksClusterTerminated (the cloud or Databricks terminated a healthy cluster); a human must fix the cause',
        evidence: EVIDENCE,
      },
    ],
    [
      'starts as configured when no node type is left',
      context({}, 'restart_with_different_instance_type', playbook({})),
      { kind: 'start', description: `${STARTED}; no fallback node type is left` },
    ],
    [
      'starts as configured when on demand already and no node type is left',
      context({}, 'restart_with_on_demand', playbook({})),
      { kind: 'start', description: `${STARTED}; the cluster already uses on-demand capacity` },
    ],
    [
      'switches a spot cluster to on demand, keeping its other attributes',
      context({ aws_attributes: { availability: 'SPOT', zone_id: 'auto' } }, 'restart_with_on_demand'),
      {
        kind: 'fallback',
        description: 'switched aws_attributes.availability SPOT → ON_DEMAND and started the cluster',
        fields: ['aws_attributes'],
        values: { aws_attributes: { availability: 'ON_DEMAND', zone_id: 'auto' } },
        original: {
          fields: ['aws_attributes'],
          values: { aws_attributes: { availability: 'SPOT', zone_id: 'auto' } },
        },
      },
    ],
    [
      "reads the availability from the cluster's spec first",
      context(
        { aws_attributes: { availability: 'ON_DEMAND' }, spec: { aws_attributes: { availability: 'SPOT' } } },
        'restart_with_on_demand',
      ),
      {
        kind: 'fallback',
        description: 'switched aws_attributes.availability SPOT → ON_DEMAND and started the cluster',
        fields: ['aws_attributes'],
        values: { aws_attributes: { availability: 'ON_DEMAND' } },
        original: { fields: ['aws_attributes'], values: { aws_attributes: { availability: 'SPOT' } } },
      },
    ],
    [
      'switches a preemptible GCP cluster to on demand',
      context(
        { gcp_attributes: { availability: 'PREEMPTIBLE_GCP' } },
        'restart_with_on_demand',
        playbook({}),
      ),
      {
        kind: 'fallback',
        description:
          'switched gcp_attributes.availability PREEMPTIBLE_GCP → ON_DEMAND_GCP and started the cluster',
        fields: ['gcp_attributes'],
        values: { gcp_attributes: { availability: 'ON_DEMAND_GCP' } },
        original: {
          fields: ['gcp_attributes'],
          values: { gcp_attributes: { availability: 'PREEMPTIBLE_GCP' } },
        },
      },
    ],
    [
      "ignores an availability of another cloud's attribute",
      context({ aws_attributes: { availability: 'SPOT_AZURE' } }, 'restart_with_on_demand', playbook({})),
      { kind: 'start', description: `${STARTED}; the cluster already uses on-demand capacity` },
    ],
    [
      'ignores attributes without an availability',
      context({ aws_attributes: { zone_id: 'auto' } }, 'restart_with_on_demand', playbook({})),
      { kind: 'start', description: `${STARTED}; the cluster already uses on-demand capacity` },
    ],
    [
      'never tries again an on-demand switch Databricks refused',
      context({ aws_attributes: { availability: 'SPOT' } }, 'restart_with_on_demand', {
        ...playbook({}),
        state: { attempt: 1, refused: [{ field: 'aws_attributes', value: { availability: 'ON_DEMAND' } }] },
      }),
      { kind: 'start', description: `${STARTED}; the cluster already uses on-demand capacity` },
    ],
    [
      'moves a driver on the same node type, skipping the original and refused types',
      context({ driver_node_type_id: 'i3.xlarge' }, 'restart_with_different_instance_type', {
        ...playbook({ fallback_node_types: ['i3.xlarge', 'c5.xlarge', 'm5.xlarge', 'r5.xlarge'] }),
        state: {
          attempt: 1,
          original: { fields: ['node_type_id'], values: { node_type_id: 'c5.xlarge' } },
          refused: [{ field: 'node_type_id', value: 'm5.xlarge' }],
        },
      }),
      {
        kind: 'fallback',
        description: 'switched node type i3.xlarge → r5.xlarge and started the cluster',
        fields: ['node_type_id', 'driver_node_type_id'],
        values: { node_type_id: 'r5.xlarge', driver_node_type_id: 'r5.xlarge' },
        original: {
          fields: ['node_type_id', 'driver_node_type_id'],
          values: { node_type_id: 'c5.xlarge', driver_node_type_id: 'i3.xlarge' },
        },
      },
    ],
    [
      'leaves a driver of another node type alone',
      context({ driver_node_type_id: 'r5.2xlarge' }, 'restart_with_different_instance_type'),
      {
        kind: 'fallback',
        description: 'switched node type i3.xlarge → m5.xlarge and started the cluster',
        fields: ['node_type_id'],
        values: { node_type_id: 'm5.xlarge' },
        original: { fields: ['node_type_id'], values: { node_type_id: 'i3.xlarge' } },
      },
    ],
    [
      'moves the driver to its next type when Databricks refused the first one for it',
      context({ driver_node_type_id: 'i3.xlarge' }, 'restart_with_different_instance_type', {
        state: { attempt: 1, refused: [{ field: 'driver_node_type_id', value: 'm5.xlarge' }] },
      }),
      {
        kind: 'fallback',
        description: 'switched node type i3.xlarge → m5.xlarge (driver → r5.xlarge) and started the cluster',
        fields: ['node_type_id', 'driver_node_type_id'],
        values: { node_type_id: 'm5.xlarge', driver_node_type_id: 'r5.xlarge' },
        original: {
          fields: ['node_type_id', 'driver_node_type_id'],
          values: { node_type_id: 'i3.xlarge', driver_node_type_id: 'i3.xlarge' },
        },
      },
    ],
    [
      'takes an empty pool id for no pool',
      context({ instance_pool_id: '' }, 'restart_with_different_instance_type'),
      {
        kind: 'fallback',
        description: 'switched node type i3.xlarge → m5.xlarge and started the cluster',
        fields: ['node_type_id'],
        values: { node_type_id: 'm5.xlarge' },
        original: { fields: ['node_type_id'], values: { node_type_id: 'i3.xlarge' } },
      },
    ],
    [
      'moves a pool cluster and the driver on its pool to the next pool neither current, original nor refused',
      context({ instance_pool_id: 'pool-a', driver_instance_pool_id: 'pool-a' }, 'restart_with_on_demand', {
        ...playbook({ fallback_instance_pool_ids: ['pool-a', 'pool-b', 'pool-c', 'pool-d'] }),
        state: {
          attempt: 1,
          original: { fields: ['instance_pool_id'], values: { instance_pool_id: 'pool-b' } },
          refused: [{ field: 'instance_pool_id', value: 'pool-c' }],
        },
      }),
      {
        kind: 'fallback',
        description: 'moved the cluster from instance pool pool-a to pool-d and started it',
        fields: ['instance_pool_id', 'driver_instance_pool_id'],
        values: { instance_pool_id: 'pool-d', driver_instance_pool_id: 'pool-d' },
        original: {
          fields: ['instance_pool_id', 'driver_instance_pool_id'],
          values: { instance_pool_id: 'pool-b', driver_instance_pool_id: 'pool-a' },
        },
      },
    ],
    [
      'moves a pool cluster without its driver from another pool',
      context(
        { instance_pool_id: 'pool-a', driver_instance_pool_id: 'pool-x' },
        'restart_with_different_instance_type',
        playbook({ fallback_instance_pool_ids: ['pool-b'] }),
      ),
      {
        kind: 'fallback',
        description: 'moved the cluster from instance pool pool-a to pool-b and started it',
        fields: ['instance_pool_id'],
        values: { instance_pool_id: 'pool-b' },
        original: { fields: ['instance_pool_id'], values: { instance_pool_id: 'pool-a' } },
      },
    ],
    [
      'moves a pool cluster without a driver pool of its own',
      context(
        { instance_pool_id: 'pool-a' },
        'restart_with_different_instance_type',
        playbook({ fallback_instance_pool_ids: ['pool-b'] }),
      ),
      {
        kind: 'fallback',
        description: 'moved the cluster from instance pool pool-a to pool-b and started it',
        fields: ['instance_pool_id'],
        values: { instance_pool_id: 'pool-b' },
        original: { fields: ['instance_pool_id'], values: { instance_pool_id: 'pool-a' } },
      },
    ],
    [
      'backs off once for a pool without an alternative',
      context({ instance_pool_id: 'pool-a' }, 'restart_with_different_instance_type'),
      {
        kind: 'backoff',
        description:
          'instance pool pool-a is short of capacity; a pool cluster never gets another node type, so the pool is given time to drain (no alternative pool is configured)',
      },
    ],
    [
      'starts on the same pool after the back-off',
      context({ instance_pool_id: 'pool-a' }, 'restart_with_different_instance_type', {
        state: { attempt: 1, backedOff: true },
      }),
      {
        kind: 'start',
        description: `${STARTED}; on instance pool pool-a again after a back-off (no alternative pool is configured)`,
      },
    ],
    [
      'starts on the same pool in a later attempt',
      context({ instance_pool_id: 'pool-a' }, 'restart_with_different_instance_type', {
        state: { attempt: 2 },
      }),
      {
        kind: 'start',
        description: `${STARTED} (attempt 2); on instance pool pool-a again after a back-off (no alternative pool is configured)`,
      },
    ],
    [
      'escalates a rollback without any edit',
      context({}, 'rollback_config', { editHistory: [running(FAILED_AT - HOUR)] }),
      {
        kind: 'escalate',
        reason:
          'DatabricksClusterTerminated: the cluster has no recent edit to roll back; the configuration must be fixed by hand (no blind retry)',
        evidence: EVIDENCE,
      },
    ],
    [
      'escalates a rollback when the cluster ran after the edit',
      context({}, 'rollback_config', { editHistory: [running(FAILED_AT - 1), edited(FAILED_AT - HOUR)] }),
      {
        kind: 'escalate',
        reason:
          'DatabricksClusterTerminated: the cluster ran after its last edit, so the edit is not the cause; the configuration must be fixed by hand (no blind retry)',
        evidence: EVIDENCE,
      },
    ],
    [
      'escalates a rollback when the edit has no previous attributes',
      rollbackWith(editOf(FAILED_AT - 1, { attributes: { spark_version: '9.9.x' } })),
      {
        kind: 'escalate',
        reason:
          'DatabricksClusterTerminated: the cluster ran after its last edit, so the edit is not the cause; the configuration must be fixed by hand (no blind retry)',
        evidence: EVIDENCE,
      },
    ],
    [
      'rolls back an edit made exactly the window before the failure, without a user',
      rollbackWith(editOf(FAILED_AT - HOUR, SPARK)),
      {
        kind: 'rollback',
        description: `rolled back the edit of ${new Date(FAILED_AT - HOUR).toISOString()} (spark_version) and started the cluster`,
        fields: ['spark_version'],
        values: { spark_version: '15.4.x' },
      },
    ],
    [
      'escalates an edit made just more than the window before the failure',
      rollbackWith(editOf(FAILED_AT - HOUR - 1, SPARK)),
      {
        kind: 'escalate',
        reason: `DatabricksClusterTerminated: the last edit (${new Date(FAILED_AT - HOUR - 1).toISOString()}) was made more than 60 minutes before the failure, so it is not rolled back; the configuration must be fixed by hand (no blind retry)`,
        evidence: EVIDENCE,
      },
    ],
    [
      'measures the window from now when the cluster has no terminated_time',
      context({ terminated_time: undefined }, 'rollback_config', {
        editHistory: [editOf(FAILED_AT - HOUR - 1, SPARK)],
        now: FAILED_AT,
      }),
      {
        kind: 'escalate',
        reason: `DatabricksClusterTerminated: the last edit (${new Date(FAILED_AT - HOUR - 1).toISOString()}) was made more than 60 minutes before the failure, so it is not rolled back; the configuration must be fixed by hand (no blind retry)`,
        evidence: EVIDENCE,
      },
    ],
    [
      'rolls back an edit without a time',
      rollbackWith(editOf(undefined, SPARK)),
      {
        kind: 'rollback',
        description: `rolled back the edit of ${new Date(0).toISOString()} (spark_version) and started the cluster`,
        fields: ['spark_version'],
        values: { spark_version: '15.4.x' },
      },
    ],
    [
      'escalates an edit of security settings with the diff',
      rollbackWith(
        editOf(FAILED_AT - 1, {
          user: 'admin@example.com',
          previous_attributes: {
            spark_version: '15.4.x',
            data_security_mode: 'SINGLE_USER',
            policy_id: 'p1',
          },
          attributes: { spark_version: '15.4.x', data_security_mode: 'USER_ISOLATION' },
        }),
      ),
      {
        kind: 'escalate',
        reason:
          'DatabricksClusterTerminated: the last edit by admin@example.com changed identity or security settings (data_security_mode, policy_id), which are never rolled back automatically; a human must decide',
        evidence: {
          ...EVIDENCE,
          edit_diff: [
            { field: 'data_security_mode', before: 'SINGLE_USER', after: 'USER_ISOLATION' },
            { field: 'policy_id', before: 'p1', after: null },
          ],
          edited_at: FAILED_AT - 1,
        },
      },
    ],
    [
      'escalates an edit whose previous attributes lack spark_version',
      rollbackWith(
        editOf(FAILED_AT - 1, {
          previous_attributes: { node_type_id: 'i3.xlarge' },
          attributes: { spark_version: '9.9.x' },
        }),
      ),
      {
        kind: 'escalate',
        reason:
          "DatabricksClusterTerminated: the last edit's previous attributes lack spark_version, so they cannot be restored safely",
        evidence: { ...EVIDENCE, previous_attributes: { node_type_id: 'i3.xlarge' } },
      },
    ],
    [
      'rolls back the size that came with an edit, as workers',
      rollbackWith(
        editOf(FAILED_AT - 1, {
          ...SPARK,
          user: 'a@b.c',
          previous_cluster_size: { num_workers: 2 },
          cluster_size: { num_workers: 8 },
        }),
      ),
      {
        kind: 'rollback',
        description: `rolled back the edit of ${new Date(FAILED_AT - 1).toISOString()} by a@b.c (spark_version, size) and started the cluster`,
        fields: ['autoscale', 'num_workers', 'spark_version'],
        values: { spark_version: '15.4.x', num_workers: 2 },
      },
    ],
    [
      'rolls back the size that came with an edit, as autoscale',
      rollbackWith(
        editOf(FAILED_AT - 1, {
          previous_attributes: {},
          attributes: {},
          previous_cluster_size: { autoscale: { min_workers: 1, max_workers: 4 } },
          cluster_size: { num_workers: 8 },
        }),
      ),
      {
        kind: 'rollback',
        description: `rolled back the edit of ${new Date(FAILED_AT - 1).toISOString()} (size) and started the cluster`,
        fields: ['autoscale', 'num_workers'],
        values: { autoscale: { min_workers: 1, max_workers: 4 } },
      },
    ],
    [
      'ignores a size the edit did not change, and removes an attribute the edit added',
      rollbackWith(
        editOf(FAILED_AT - 1, {
          previous_attributes: { spark_version: '15.4.x' },
          attributes: { spark_version: '15.4.x', init_scripts: [] },
          previous_cluster_size: { num_workers: 2 },
          cluster_size: { num_workers: 2 },
        }),
      ),
      {
        kind: 'rollback',
        description: `rolled back the edit of ${new Date(FAILED_AT - 1).toISOString()} (init_scripts) and started the cluster`,
        fields: ['init_scripts'],
        values: {},
      },
    ],
    [
      'escalates an edit that changed only a size it cannot tell',
      rollbackWith(
        editOf(FAILED_AT - 1, {
          previous_attributes: { spark_version: '15.4.x' },
          attributes: { spark_version: '15.4.x' },
          previous_cluster_size: { target_workers: 2 },
          cluster_size: { num_workers: 2 },
        }),
      ),
      {
        kind: 'escalate',
        reason:
          'DatabricksClusterTerminated: the last edit changed nothing that can be rolled back; the configuration must be fixed by hand (no blind retry)',
        evidence: EVIDENCE,
      },
    ],
    [
      'starts without rolling back again after a rollback',
      context({}, 'rollback_config', { state: { attempt: 2, rolledBack: true } }),
      { kind: 'start', description: `${STARTED} (attempt 2); the bad edit was rolled back already` },
    ],
  ])('%s', (_name, ctx, expected) => {
    // Act
    const decision = planClusterRemediation(ctx);

    // Assess
    expect(decision).toStrictEqual(expected);
  });

  it.each<[string, ConfigChange, ClusterDetails | Partial<ClusterDetails>, Decision]>([
    [
      'a rollback already on the cluster, without an original',
      {
        kind: 'rollback',
        attempt: 1,
        fields: ['spark_version'],
        values: { spark_version: '15.4.x-scala2.12' },
        description: 'rolled back',
      },
      {},
      {
        kind: 'rollback',
        description: 'rolled back (the change was made by an earlier try)',
        fields: ['spark_version'],
        values: { spark_version: '15.4.x-scala2.12' },
        applied: true,
      },
    ],
    [
      'a fallback not on the cluster yet, with its original',
      {
        kind: 'fallback',
        attempt: 1,
        fields: ['aws_attributes'],
        values: { aws_attributes: { zone_id: 'auto', availability: 'ON_DEMAND' } },
        original: { fields: ['aws_attributes'], values: { aws_attributes: { availability: 'SPOT' } } },
        description: 'switched',
      },
      { aws_attributes: { availability: 'SPOT' } },
      {
        kind: 'fallback',
        description: 'switched',
        fields: ['aws_attributes'],
        values: { aws_attributes: { zone_id: 'auto', availability: 'ON_DEMAND' } },
        original: { fields: ['aws_attributes'], values: { aws_attributes: { availability: 'SPOT' } } },
        applied: false,
      },
    ],
    [
      'a fallback on the cluster whatever the order of its keys',
      {
        kind: 'fallback',
        attempt: 1,
        fields: ['aws_attributes'],
        values: { aws_attributes: { zone_id: 'auto', availability: 'ON_DEMAND' } },
        description: 'switched',
      },
      { aws_attributes: { availability: 'ON_DEMAND', zone_id: 'auto' } },
      {
        kind: 'fallback',
        description: 'switched (the change was made by an earlier try)',
        fields: ['aws_attributes'],
        values: { aws_attributes: { zone_id: 'auto', availability: 'ON_DEMAND' } },
        applied: true,
      },
    ],
  ])('repeats the change of an earlier try: %s', (_name, change, cluster, expected) => {
    // Act
    const decision = planClusterRemediation(
      context(cluster, 'restart_with_on_demand', { changes: [change] }),
    );

    // Assess
    expect(decision).toStrictEqual(expected);
  });

  it.each<[string, Partial<PlanContext>, Partial<ClusterDetails>, Action, boolean]>([
    ['a TERMINATED cluster to roll back', {}, {}, 'rollback_config', true],
    ['another action', {}, {}, 'restart_cluster', false],
    ['a RUNNING cluster', {}, { state: 'RUNNING' }, 'rollback_config', false],
    [
      'a recovery that rolled back already',
      { state: { attempt: 2, rolledBack: true } },
      {},
      'rollback_config',
      false,
    ],
    [
      'a recovery that recorded a rollback',
      { changes: [{ kind: 'rollback', attempt: 1, fields: [], values: {}, description: '' }] },
      {},
      'rollback_config',
      false,
    ],
    [
      'a recovery that recorded only a fallback',
      { changes: [{ kind: 'fallback', attempt: 1, fields: [], values: {}, description: '' }] },
      {},
      'rollback_config',
      true,
    ],
  ])('reads the edit history only for %s: %s', (_name, more, cluster, action, expected) => {
    // Act
    const needed = needsEditHistory(context(cluster, action, more));

    // Assess
    expect(needed).toBe(expected);
  });
});

describe('escalation, hasValues, originalOf and securityChanges', () => {
  it.each<[string, string, ClusterDetails | undefined, ClusterEvent[], object]>([
    [
      'an unknown error type without a cluster',
      'Nope',
      undefined,
      [],
      {
        kind: 'escalate',
        reason: 'no safe automatic action for Nope; a human must fix the cause',
        evidence: {},
      },
    ],
    [
      'a cluster with the init scripts its events report',
      'DatabricksClusterTerminated',
      CLUSTER,
      [
        { cluster_id: CLUSTER.cluster_id, type: 'RUNNING', details: { init_scripts: { other: true } } },
        {
          cluster_id: CLUSTER.cluster_id,
          type: 'INIT_SCRIPTS_FINISHED',
          details: { init_scripts: { ok: false } },
        },
      ],
      {
        kind: 'escalate',
        reason:
          'no safe automatic action for DatabricksClusterTerminated (the cloud or Databricks terminated a healthy cluster); a human must fix the cause',
        evidence: { ...EVIDENCE, init_scripts: { ok: false } },
      },
    ],
  ])('escalates %s', (_name, errorType, cluster, events, expected) => {
    // Prepare
    const { input } = context({}, 'escalate', { input: { errorType } });

    // Act
    const decision = escalation(input, cluster, events);

    // Assess
    expect(decision).toStrictEqual(expected);
  });

  it.each([
    ['every field matches', { node_type_id: 'i3.xlarge', spark_version: '15.4.x-scala2.12' }, true],
    ['one field differs', { node_type_id: 'i3.xlarge', spark_version: '9.9.x' }, false],
    ['a field absent from the values is set on the cluster', { node_type_id: 'i3.xlarge' }, false],
  ])('tells whether the cluster has the values when %s', (_name, values, expected) => {
    // Act
    const has = hasValues(CLUSTER, { fields: ['node_type_id', 'spark_version'], values });

    // Assess
    expect(has).toBe(expected);
  });

  it("takes a field from the cluster's spec, else from the cluster, and leaves out what neither has", () => {
    // Prepare
    const cluster: ClusterDetails = { ...CLUSTER, spec: { node_type_id: 'spec.type' } };

    // Act
    const original = originalOf(cluster, ['node_type_id', 'spark_version', 'policy_id']);

    // Assess
    expect(original).toStrictEqual({
      fields: ['node_type_id', 'spark_version', 'policy_id'],
      values: { node_type_id: 'spec.type', spark_version: '15.4.x-scala2.12' },
    });
  });

  it('diffs nested security fields, reading through a missing or null parent as unset', () => {
    // Act
    const changes = securityChanges(
      { aws_attributes: null, gcp_attributes: { google_service_account: 'sa@x' } },
      { aws_attributes: { instance_profile_arn: 'arn:aws:iam::1:instance-profile/p' }, gcp_attributes: {} },
    );

    // Assess
    expect(changes).toStrictEqual([
      {
        field: 'aws_attributes.instance_profile_arn',
        before: null,
        after: 'arn:aws:iam::1:instance-profile/p',
      },
      { field: 'gcp_attributes.google_service_account', before: 'sa@x', after: null },
    ]);
  });
});

describe('planClusterRemediation: the fallbacks at the edges the surviving mutants found', () => {
  const policy = (definition: Record<string, unknown>): ClusterPolicy => ({
    policyId: 'P-7',
    definition: definition as never,
  });
  const refused = (field: string, ...values: string[]) =>
    values.map((value) => ({
      field,
      value,
      at: '2026-11-30T12:00:00.000Z',
      error: 'INVALID_PARAMETER_VALUE',
    }));

  it('escalates, with each reason, when no fallback driver type is left for either node type', () => {
    // Prepare: the driver may never be r5.xlarge, and Databricks refused m5.xlarge for it.
    const ctx = context(
      { driver_node_type_id: 'i3.xlarge', policy_id: 'P-7' },
      'restart_with_different_instance_type',
      {
        policy: policy({ driver_node_type_id: { type: 'blocklist', values: ['r5.xlarge'] } }),
        state: { attempt: 1, refused: refused('driver_node_type_id', 'm5.xlarge') },
      },
    );

    // Act
    const decision = planClusterRemediation(ctx);

    // Assess
    expect(decision).toMatchObject({
      kind: 'escalate',
      reason:
        'DatabricksClusterTerminated: the cluster\'s policy P-7 forbids every fallback left (the policy forbids every fallback driver type; driver_node_type_id "r5.xlarge": the policy blocks ["r5.xlarge"] (cluster policy P-7)); nothing was changed, a human must choose what the policy allows',
      evidence: {
        fallbacks_forbidden_by_policy: [
          {
            values: { node_type_id: 'm5.xlarge', driver_node_type_id: 'm5.xlarge' },
            why: 'the policy forbids every fallback driver type',
          },
          {
            values: { node_type_id: 'r5.xlarge', driver_node_type_id: 'r5.xlarge' },
            why: 'driver_node_type_id "r5.xlarge": the policy blocks ["r5.xlarge"] (cluster policy P-7)',
          },
        ],
      },
    });
  });

  it('moves the workers alone when Databricks refused every fallback type for the driver', () => {
    // Prepare
    const ctx = context({ driver_node_type_id: 'i3.xlarge' }, 'restart_with_different_instance_type', {
      state: { attempt: 1, refused: refused('driver_node_type_id', 'm5.xlarge', 'r5.xlarge') },
    });

    // Act
    const decision = planClusterRemediation(ctx);

    // Assess
    expect(decision).toMatchObject({
      kind: 'fallback',
      description: 'switched node type i3.xlarge → m5.xlarge and started the cluster',
      fields: ['node_type_id'],
      values: { node_type_id: 'm5.xlarge' },
    });
  });

  it('gives a cluster with no node type no node-type fallback', () => {
    // Act
    const decision = planClusterRemediation(
      context({ node_type_id: undefined }, 'restart_with_different_instance_type'),
    );

    // Assess
    expect(decision).toMatchObject({ kind: 'start' });
  });

  it('skips an alternative pool, the driver with it, when the policy forbids it', () => {
    // Prepare
    const ctx = context(
      { instance_pool_id: 'pool-a', driver_instance_pool_id: 'pool-a', node_type_id: undefined },
      'restart_with_different_instance_type',
      {
        input: {
          playbook: {
            ...DEFAULT_PLAYBOOKS.DatabricksResourceExhausted,
            fallback_instance_pool_ids: ['pool-b'],
          },
        },
        policy: policy({ driver_instance_pool_id: { type: 'fixed', value: 'pool-a' } }),
      },
    );

    // Act
    const decision = planClusterRemediation(ctx);

    // Assess
    expect(decision).toMatchObject({
      kind: 'backoff',
      skippedByPolicy: [
        {
          values: { instance_pool_id: 'pool-b', driver_instance_pool_id: 'pool-b' },
          why: 'driver_instance_pool_id "pool-b": the policy fixes it to "pool-a" (cluster policy P-7)',
        },
      ],
    });
  });

  it('backs off a pool cluster when no alternative pool is configured', () => {
    // Prepare
    const ctx = context(
      { instance_pool_id: 'pool-a', node_type_id: undefined },
      'restart_with_different_instance_type',
      {
        input: { playbook: { ...DEFAULT_PLAYBOOKS.DatabricksResourceExhausted } },
      },
    );

    // Act
    const decision = planClusterRemediation(ctx);

    // Assess
    expect(decision).toEqual({
      kind: 'backoff',
      description:
        'instance pool pool-a is short of capacity; a pool cluster never gets another node type, so the pool is given time to drain (no alternative pool is configured)',
    });
  });
});
