import { describe, expect, it } from 'vitest';
import { classifyTermination } from '../../functions/core/classifier/classify.ts';
import { refineByParameters } from '../../functions/core/classifier/launch-parameters.ts';

const LAUNCH = 'CLOUD_PROVIDER_LAUNCH_FAILURE';

describe('launch failures refined by their parameters', () => {
  it.each([
    ['aws_api_error_code', 'InstanceLimitExceeded', 'DatabricksCloudQuotaExceeded', 'escalate'],
    ['aws_api_error_code', 'VcpuLimitExceeded', 'DatabricksCloudQuotaExceeded', 'escalate'],
    ['aws_instance_state_reason', 'Client.VolumeLimitExceeded', 'DatabricksCloudQuotaExceeded', 'escalate'],
    [
      'aws_spot_request_fault_code',
      'InsufficientFreeAddressesInSubnet',
      'DatabricksCloudQuotaExceeded',
      'escalate',
    ],
    [
      'aws_api_error_code',
      'InsufficientInstanceCapacity',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    [
      'aws_instance_state_reason',
      'Server.InsufficientInstanceCapacity',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    ['aws_api_error_code', 'SpotMaxPriceTooLow', 'DatabricksSpotInstanceLost', 'restart_with_on_demand'],
    [
      'aws_api_error_code',
      'MaxSpotInstanceCountExceeded',
      'DatabricksSpotInstanceLost',
      'restart_with_on_demand',
    ],
    ['aws_spot_request_status', 'price-too-low', 'DatabricksSpotInstanceLost', 'restart_with_on_demand'],
    [
      'aws_spot_request_status',
      'capacity-not-available',
      'DatabricksSpotInstanceLost',
      'restart_with_on_demand',
    ],
    ['aws_api_error_code', 'RequestLimitExceeded', 'DatabricksCloudThrottled', 'retry_with_backoff'],
    ['aws_api_error_code', 'UnauthorizedOperation', 'DatabricksCloudPermissionError', 'escalate'],
    ['aws_api_error_code', 'InvalidSubnetID.NotFound', 'DatabricksNetworkMisconfiguration', 'escalate'],
    [
      'azure_error_code',
      'SkuNotAvailable',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    [
      'azure_error_code',
      'AllocationFailed',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    [
      'azure_error_code',
      'ZonalAllocationFailed',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    ['azure_error_code', 'QuotaExceeded', 'DatabricksCloudQuotaExceeded', 'escalate'],
    ['azure_error_code', 'OperationNotAllowed', 'DatabricksCloudQuotaExceeded', 'escalate'],
    ['azure_error_code', 'PublicIPCountLimitReached', 'DatabricksCloudQuotaExceeded', 'escalate'],
    ['azure_error_code', 'SubscriptionRequestsThrottled', 'DatabricksCloudThrottled', 'retry_with_backoff'],
    ['azure_error_code', 'AuthorizationFailed', 'DatabricksCloudPermissionError', 'escalate'],
    ['azure_error_code', 'MissingSubscriptionRegistration', 'DatabricksWorkspaceStateError', 'escalate'],
    [
      'gcp_error_code',
      'ZONE_RESOURCE_POOL_EXHAUSTED',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    ['gcp_error_code', 'QUOTA_EXCEEDED', 'DatabricksCloudQuotaExceeded', 'escalate'],
    ['gcp_error_code', 'rateLimitExceeded', 'DatabricksCloudThrottled', 'retry_with_backoff'],
    [
      'gcp_error',
      'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
      'DatabricksResourceExhausted',
      'restart_with_different_instance_type',
    ],
    ['instance_pool_error_code', 'InstanceLimitExceeded', 'DatabricksCloudQuotaExceeded', 'escalate'],
  ])('refines %s=%s into %s (%s)', (key, value, errorType, action) => {
    // Act
    const result = classifyTermination({ code: LAUNCH, type: 'CLOUD_FAILURE', parameters: { [key]: value } });

    // Assess
    expect(result).toMatchObject({ isFailure: true, errorType, action });
  });

  it('records which parameter decided, with a confidence below a table decision', () => {
    // Act
    const result = classifyTermination({
      code: LAUNCH,
      type: 'CLOUD_FAILURE',
      parameters: { aws_api_error_code: 'InstanceLimitExceeded', instance_id: 'i-0abc' },
    });

    // Assess
    expect(result).toMatchObject({ basis: 'termination_parameters', confidence: 0.9 });
    expect(result.reason).toContain('aws_api_error_code=InstanceLimitExceeded');
  });

  it.each([
    [
      'azure_error_message',
      'Operation could not be completed as it results in exceeding approved Total Regional Cores quota.',
      'DatabricksCloudQuotaExceeded',
    ],
    [
      'aws_error_message',
      'There is no Spot capacity available that matches your request.',
      'DatabricksSpotInstanceLost',
    ],
    [
      'gcp_error_message',
      "The zone 'projects/p1/zones/us-central1-a' does not have enough resources available to fulfill the request.",
      'DatabricksResourceExhausted',
    ],
    [
      'databricks_error_message',
      'Encountered Azure Resource provider throttling.',
      'DatabricksCloudThrottled',
    ],
  ])('reads %s when no known code is given', (key, message, errorType) => {
    // Act
    const result = classifyTermination({
      code: LAUNCH,
      type: 'CLOUD_FAILURE',
      parameters: { azure_error_code: 'SomethingNew', [key]: message },
    });

    // Assess
    expect(result).toMatchObject({ errorType, basis: 'termination_parameters' });
    expect(result.confidence).toBeLessThan(0.9);
  });

  it.each([
    [{}],
    [{ aws_api_error_code: 'SomethingNobodyKnows' }],
    [{ databricks_error_message: 'Driver failed to start in time' }],
    [{ aws_error_message: 'an init script failed' }],
  ])('keeps the code decision when the parameters %j say nothing a launch failure can be', (parameters) => {
    // Act
    const result = classifyTermination({ code: LAUNCH, type: 'CLOUD_FAILURE', parameters });

    // Assess
    expect(result).toMatchObject({
      errorType: 'DatabricksClusterStartFailure',
      action: 'restart_cluster',
      basis: 'termination_code',
      confidence: 1,
    });
  });

  it('refines CLOUD_PROVIDER_INSTANCE_NOT_LAUNCHED the same way', () => {
    // Act
    const result = classifyTermination({
      code: 'CLOUD_PROVIDER_INSTANCE_NOT_LAUNCHED',
      parameters: { gcp_error_code: 'QUOTA_EXCEEDED' },
    });

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksCloudQuotaExceeded', action: 'escalate' });
  });

  it.each([
    [
      'INSTANCE_POOL_CLUSTER_FAILURE',
      { instance_pool_error_code: 'INSTANCE_POOL_MAX_CAPACITY_FAILURE' },
      'DatabricksInstancePoolExhausted',
      'retry_with_backoff',
    ],
    [
      'INSTANCE_POOL_CLUSTER_FAILURE',
      { instance_pool_error_code: 'INSTANCE_POOL_NOT_FOUND_FAILURE' },
      'DatabricksConfigurationError',
      'rollback_config',
    ],
    [
      'INSTANCE_POOL_CLUSTER_FAILURE',
      { aws_api_error_code: 'InsufficientInstanceCapacity' },
      'DatabricksInstancePoolExhausted',
      'retry_with_backoff',
    ],
    [
      'CLOUD_PROVIDER_LAUNCH_FAILURE',
      { instance_pool_id: '0101-pool', azure_error_code: 'SkuNotAvailable' },
      'DatabricksInstancePoolExhausted',
      'retry_with_backoff',
    ],
    [
      'INSTANCE_POOL_CLUSTER_FAILURE',
      {
        databricks_error_message:
          'Failed to update InstanceProfile for instance i-0b0a. Please verify that the AWS account includes the `ec2:AssociateIamInstanceProfile` action in its access policy.',
      },
      'DatabricksCloudPermissionError',
      'escalate',
    ],
    ['INSTANCE_POOL_CLUSTER_FAILURE', {}, 'DatabricksClusterStartFailure', 'restart_cluster'],
  ])(
    'decides a pool launch %s with %j as %s (%s), never a node-type change',
    (code, parameters, errorType, action) => {
      // Act
      const result = classifyTermination({ code, type: 'CLOUD_FAILURE', parameters });

      // Assess
      expect(result).toMatchObject({ errorType, action });
    },
  );

  it.each([
    ['CLOUD_PROVIDER_LAUNCH_FAILURE_DUE_TO_MISCONFIG', 'DatabricksConfigurationError'],
    ['AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', 'DatabricksResourceExhausted'],
    ['INIT_SCRIPT_FAILURE', 'DatabricksInitScriptFailure'],
  ])('never lets the parameters of %s change its decision', (code, errorType) => {
    // Act
    const result = classifyTermination({
      code,
      type: 'CLIENT_ERROR',
      parameters: { aws_api_error_code: 'SpotMaxPriceTooLow' },
    });

    // Assess
    expect(result).toMatchObject({ errorType, basis: 'termination_code' });
  });

  it('leaves a SUCCESS-type termination no failure whatever its parameters say', () => {
    // Act
    const result = classifyTermination({
      code: LAUNCH,
      type: 'SUCCESS',
      parameters: { aws_api_error_code: 'InsufficientInstanceCapacity' },
    });

    // Assess
    expect(result.isFailure).toBe(false);
  });

  it("repairs a job cluster's run rather than changing its node type", () => {
    // Act
    const result = classifyTermination(
      { code: LAUNCH, parameters: { azure_error_code: 'SkuNotAvailable' } },
      { clusterSource: 'JOB' },
    );

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksResourceExhausted', action: 'repair_run' });
  });

  it('returns nothing for parameters without a cloud error', () => {
    // Act
    const refined = refineByParameters({ username: 'someone@example.com', instance_id: 'i-1' });

    // Assess
    expect(refined).toBeUndefined();
  });
});
