import { describe, expect, it } from 'vitest';
import { classifyTermination } from '../../functions/core/classifier/classify.ts';
import { TERMINATION_CODE_TABLE } from '../../functions/core/classifier/termination-codes.ts';
import { DEFAULT_PLAYBOOKS, RETRYING_ACTIONS } from '../../functions/core/playbooks.ts';
import reference from '../fixtures/databricks/termination-codes.json' with { type: 'json' };

const codes: readonly string[] = reference.codes;

describe('termination code table', () => {
  it('has a deliberate decision for every code of the reference list', () => {
    // Prepare
    const table = TERMINATION_CODE_TABLE;

    // Act
    const missing = codes.filter((code) => table[code] === undefined);

    // Assess
    expect(reference.codes_union_count).toBe(195);
    expect(codes).toHaveLength(195);
    expect(missing).toEqual([]);
  });

  it('holds no entry beyond the reference list except the aliases it marks', () => {
    // Prepare
    const known = new Set(codes);

    // Act
    const extra = Object.entries(TERMINATION_CODE_TABLE).filter(([code]) => !known.has(code));

    // Assess
    expect(extra.map(([code]) => code)).toEqual(['INSUFFICIENT_INSTANCE_CAPACITY']);
    for (const [, decision] of extra) expect(decision.failure && decision.alias).toBe(true);
  });

  it('explains every decision', () => {
    // Act
    const unexplained = Object.entries(TERMINATION_CODE_TABLE).filter(([, d]) => d.why.trim().length < 10);

    // Assess
    expect(unexplained).toEqual([]);
  });

  it.each(codes.filter((code) => code.endsWith('_DUE_TO_MISCONFIG')))('never retries %s blindly', (code) => {
    // Act
    const result = classifyTermination({ code, type: 'CLIENT_ERROR' });

    // Assess
    expect(result.isFailure).toBe(true);
    expect(result.action).toBeDefined();
    expect(RETRYING_ACTIONS.has(result.action ?? 'escalate')).toBe(false);
  });

  it.each(codes)('treats %s with type SUCCESS as no failure', (code) => {
    // Act
    const result = classifyTermination({ code, type: 'SUCCESS' });

    // Assess
    expect(result.isFailure).toBe(false);
    expect(result.errorType).toBeUndefined();
  });

  it.each([['USER_REQUEST'], ['INACTIVITY'], ['JOB_FINISHED'], ['USER_INITIATED_VM_TERMINATION']])(
    'treats %s as no failure even without a type',
    (code) => {
      // Act
      const result = classifyTermination({ code });

      // Assess
      expect(result.isFailure).toBe(false);
    },
  );

  it('maps every failure code to a playbook that exists', () => {
    // Act
    const withoutPlaybook = Object.entries(TERMINATION_CODE_TABLE).filter(
      ([, d]) => d.failure && DEFAULT_PLAYBOOKS[d.errorType] === undefined,
    );

    // Assess
    expect(withoutPlaybook).toEqual([]);
  });

  // The seed's "Cluster Error Type Mapping" table.
  it.each([
    ['DRIVER_UNREACHABLE', 'DatabricksDriverNotResponding', 'restart_cluster'],
    ['CLOUD_PROVIDER_SHUTDOWN', 'DatabricksClusterTerminated', 'restart_cluster'],
    ['CLOUD_PROVIDER_LAUNCH_FAILURE', 'DatabricksClusterStartFailure', 'restart_cluster'],
    ['INSUFFICIENT_INSTANCE_CAPACITY', 'DatabricksResourceExhausted', 'restart_with_different_instance_type'],
    ['SPARK_STARTUP_FAILURE', 'DatabricksClusterStartFailure', 'restart_cluster'],
    ['INVALID_ARGUMENT', 'DatabricksConfigurationError', 'rollback_config'],
    ['BOOTSTRAP_TIMEOUT', 'DatabricksClusterStartFailure', 'restart_cluster'],
  ])("keeps the seed's mapping of %s → %s (%s)", (code, errorType, action) => {
    // Act
    const result = classifyTermination({ code, type: 'CLOUD_FAILURE' });

    // Assess
    expect(result).toMatchObject({
      isFailure: true,
      errorType,
      action,
      basis: 'termination_code',
      confidence: 1,
    });
  });

  it.each([
    ['AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', 'DatabricksResourceExhausted'],
    ['CLOUD_PROVIDER_RESOURCE_STOCKOUT', 'DatabricksResourceExhausted'],
    ['GCP_INSUFFICIENT_CAPACITY', 'DatabricksResourceExhausted'],
    ['SPOT_INSTANCE_TERMINATION', 'DatabricksSpotInstanceLost'],
    ['AWS_MAX_SPOT_INSTANCE_COUNT_EXCEEDED_FAILURE', 'DatabricksSpotInstanceLost'],
    ['AWS_RESOURCE_QUOTA_EXCEEDED', 'DatabricksCloudQuotaExceeded'],
    ['AWS_REQUEST_LIMIT_EXCEEDED', 'DatabricksCloudThrottled'],
    ['AZURE_RESOURCE_MANAGER_THROTTLING', 'DatabricksCloudThrottled'],
    ['INIT_SCRIPT_FAILURE', 'DatabricksInitScriptFailure'],
    ['GLOBAL_INIT_SCRIPT_FAILURE', 'DatabricksInitScriptFailure'],
    ['NETWORK_CONFIGURATION_FAILURE', 'DatabricksNetworkMisconfiguration'],
    ['INSTANCE_UNREACHABLE', 'DatabricksNetworkFailure'],
    ['SPARK_IMAGE_NOT_FOUND', 'DatabricksImageFailure'],
    ['TRIAL_EXPIRED', 'DatabricksWorkspaceStateError'],
    ['AWS_AUTHORIZATION_FAILURE', 'DatabricksCloudPermissionError'],
    ['INTERNAL_ERROR', 'DatabricksServiceFault'],
    ['DRIVER_OUT_OF_MEMORY', 'DatabricksDriverOutOfMemory'],
  ])('classifies the real code %s as %s', (code, errorType) => {
    // Act
    const result = classifyTermination({ code, type: 'CLOUD_FAILURE' });

    // Assess
    expect(result.errorType).toBe(errorType);
  });
});
