import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { events, useWorkflowHarness, type WorkflowHarness } from './harness.ts';

const POLICY_SCENARIO = JSON.parse(
  readFileSync(new URL('../fixtures/workflow/policy-scenario.json', import.meta.url), 'utf8'),
);

/** The playbook of the capacity failures: two fallback node types, r5.4xlarge first. */
const FALLBACKS = { DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'] } };

const POLICY_READ = 'GET /api/2.0/policies/clusters/get';

describe('recovery workflow: fallbacks the cluster policy forbids are never attempted', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
    h.simulator.admin.loadScenario(POLICY_SCENARIO);
  });

  /** Requests Databricks refused with a 400 (the simulator enforces the policies on every update). */
  const refusals = (): number => h.simulator.admin.stats().statuses['400'] ?? 0;
  const policyReads = (): number => h.simulator.admin.stats().requests[POLICY_READ] ?? 0;

  it.each([
    ['an allowlist', '0301-000001-allowlst'],
    ['a blocklist', '0301-000002-blocklst'],
    ['a regex', '0301-000003-regex001'],
  ])(
    'skips the fallback %s forbids, records why, and starts the cluster on the next one',
    async (_rule, clusterId) => {
      // Act
      const recovery = await h.recoverCluster(clusterId, 'termination', FALLBACKS);

      // Assess
      expect(recovery.outcome.classification.action).toBe('restart_with_different_instance_type');
      expect(recovery.ticket).toMatchObject({
        status: 'closed',
        recoveryStatus: 'recovered_restore_pending',
      });
      const skipped = recovery.audit.find((entry) => entry.event === 'fallback_skipped_by_policy')?.details;
      expect(skipped).toMatchObject({
        policyId: expect.stringMatching(/^0301-/),
        skipped: [
          {
            values: { node_type_id: 'r5.4xlarge' },
            why: expect.stringMatching(/^node_type_id "r5.4xlarge": the policy/),
          },
        ],
      });
      expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
        primitive: 'fallback_start',
        changes: { node_type_id: 'm5.4xlarge', driver_node_type_id: 'm5.4xlarge' },
      });
      expect(events(recovery)).not.toContain('config_change_refused');
      expect(h.mutations()).toEqual({
        'POST /api/2.1/clusters/update': 1,
        'POST /api/2.1/clusters/start': 1,
      });
      expect(refusals()).toBe(0);
      expect(policyReads()).toBe(1);
      expect(await h.cluster(clusterId)).toMatchObject({ state: 'RUNNING', node_type_id: 'm5.4xlarge' });
    },
  );

  it("moves the driver to a type the policy allows for drivers, apart from the workers'", async () => {
    // Act
    const recovery = await h.recoverCluster('0301-000006-driverp1', 'termination', FALLBACKS);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered_restore_pending' });
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      changes: { node_type_id: 'r5.4xlarge', driver_node_type_id: 'm5.4xlarge' },
    });
    expect(refusals()).toBe(0);
    expect(await h.cluster('0301-000006-driverp1')).toMatchObject({
      state: 'RUNNING',
      node_type_id: 'r5.4xlarge',
      driver_node_type_id: 'm5.4xlarge',
    });
  });

  it.each([
    ['fixes the node type', '0301-000004-fixed001', /policy 0301-FIXED forbids every fallback left/],
    ['was deleted since', '0301-000005-gonepol1', /cluster policy 0301-DELETED no longer exists/],
  ])(
    'escalates with the evidence and changes nothing when the policy %s',
    async (_why, clusterId, reason) => {
      // Act
      const recovery = await h.recoverCluster(clusterId, 'termination', FALLBACKS);

      // Assess
      expect(recovery.ticket).toMatchObject({ status: 'escalated' });
      expect(recovery.ticket.escalationReason).toMatch(reason);
      const evidence = recovery.audit.find((entry) => entry.event === 'escalated')?.details?.evidence;
      expect(evidence).toMatchObject({
        cluster_id: clusterId,
        node_type_id: 'r5d.4xlarge',
        fallbacks_forbidden_by_policy: [
          { values: { node_type_id: 'r5.4xlarge' } },
          { values: { node_type_id: 'm5.4xlarge' } },
        ],
      });
      expect(h.mutations()).toEqual({});
      expect(refusals()).toBe(0);
      expect(policyReads()).toBe(1);
      expect((await h.cluster(clusterId)).state).toBe('TERMINATED');
    },
  );

  it('reads no policy when no fallback is planned', async () => {
    // Act
    const recovery = await h.recoverCluster('0301-000007-plainst1', 'termination', FALLBACKS);

    // Assess
    expect(recovery.outcome.classification.action).toBe('restart_cluster');
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
    expect(policyReads()).toBe(0);
  });
});
