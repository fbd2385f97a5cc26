import { describe, expect, it } from 'vitest';
import {
  classifyJobFailure,
  classifyTermination,
  isCapacityShortage,
  isConfigurationClass,
  isFailureTermination,
  sameFailureCode,
} from '../../functions/core/classifier/classify.ts';
import { JOB_TERMINATION_CODE_TABLE } from '../../functions/core/classifier/job-codes.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';

describe('classifyTermination', () => {
  it.each([
    ['CLIENT_ERROR', 'DatabricksConfigurationError', 'rollback_config'],
    ['SERVICE_FAULT', 'DatabricksServiceFault', 'retry_with_backoff'],
    ['CLOUD_FAILURE', 'DatabricksClusterTerminated', 'restart_cluster'],
  ])('decides an unknown code of type %s by its type', (type, errorType, action) => {
    // Act
    const result = classifyTermination({ code: 'SOME_FUTURE_CODE', type });

    // Assess
    expect(result).toMatchObject({ isFailure: true, errorType, action, basis: 'termination_type' });
    expect(result.confidence).toBeLessThan(1);
  });

  it('treats an unknown code of type SUCCESS as no failure', () => {
    // Act
    const result = classifyTermination({ code: 'SOME_FUTURE_CODE', type: 'SUCCESS' });

    // Assess
    expect(result.isFailure).toBe(false);
  });

  it('never retries an unknown code whose name says misconfiguration, whatever its type', () => {
    // Act
    const result = classifyTermination({ code: 'NEW_THING_FAILURE_DUE_TO_MISCONFIG', type: 'CLOUD_FAILURE' });

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksConfigurationError', action: 'rollback_config' });
  });

  it.each([
    ['NEW_API_THROTTLED', 'DatabricksCloudThrottled'],
    ['NEW_CAPACITY_SHORTAGE', 'DatabricksResourceExhausted'],
    ['SOMETHING_ELSE', 'DatabricksUnclassifiedFailure'],
  ])('decides unknown code %s with a missing type by its name', (code, errorType) => {
    // Act
    const result = classifyTermination({ code });

    // Assess
    expect(result.errorType).toBe(errorType);
    expect(result.confidence).toBeLessThanOrEqual(0.4);
  });

  it('escalates an unknown code with an unknown type', () => {
    // Act
    const result = classifyTermination({ code: 'MYSTERY', type: 'BRAND_NEW_TYPE' });

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksUnclassifiedFailure', action: 'escalate' });
  });

  it('decides the table over the type for a known code', () => {
    // Act
    const result = classifyTermination({ code: 'DRIVER_UNREACHABLE', type: 'CLIENT_ERROR' });

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksDriverNotResponding', action: 'restart_cluster' });
  });

  it.each([
    ['UNKNOWN', 'java.lang.OutOfMemoryError: Java heap space', 'DatabricksDriverOutOfMemory'],
    [undefined, 'Init script /dbfs/init.sh failed with exit code 1', 'DatabricksInitScriptFailure'],
    ['UNKNOWN', 'Something unusual happened', 'DatabricksUnclassifiedFailure'],
  ])('reads the state message when the code is %s', (code, stateMessage, errorType) => {
    // Act
    const result = classifyTermination(code === undefined ? {} : { code }, { stateMessage });

    // Assess
    expect(result.errorType).toBe(errorType);
  });

  it('classifies an absent termination reason as unclassified', () => {
    // Act
    const result = classifyTermination(undefined);

    // Assess
    expect(result).toMatchObject({
      isFailure: true,
      errorType: 'DatabricksUnclassifiedFailure',
      basis: 'default',
    });
  });

  it.each([
    ['CLOUD_PROVIDER_SHUTDOWN', 'repair_run'],
    ['SPOT_INSTANCE_TERMINATION', 'repair_run'],
    ['INVALID_ARGUMENT', 'escalate'],
    ['INIT_SCRIPT_FAILURE', 'escalate'],
  ])('adapts the action for %s on a job cluster to %s', (code, action) => {
    // Act
    const result = classifyTermination({ code, type: 'CLOUD_FAILURE' }, { clusterSource: 'JOB' });

    // Assess
    expect(result.action).toBe(action);
  });

  it.each(['PIPELINE', 'PIPELINE_MAINTENANCE', 'SQL', 'MODELS'])(
    'leaves recovery of a %s cluster to the service that owns it',
    (clusterSource) => {
      // Act
      const result = classifyTermination(
        { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
        { clusterSource },
      );

      // Assess
      expect(result.isFailure).toBe(true);
      expect(result.action).toBe('escalate');
    },
  );

  it('takes the action from a configured playbook', () => {
    // Prepare
    const playbooks = loadPlaybooks({ DatabricksResourceExhausted: { action: 'retry_with_backoff' } });

    // Act
    const result = classifyTermination({ code: 'CLOUD_PROVIDER_RESOURCE_STOCKOUT' }, {}, playbooks);

    // Assess
    expect(result.action).toBe('retry_with_backoff');
  });
});

describe('classifyJobFailure', () => {
  it.each(Object.keys(JOB_TERMINATION_CODE_TABLE))('has a decision for job code %s', (code) => {
    // Act
    const result = classifyJobFailure({ jobId: '1', runId: '2', terminationCode: code });

    // Assess
    expect(result.reason.length).toBeGreaterThan(0);
    expect(result.isFailure).toBe(JOB_TERMINATION_CODE_TABLE[code]?.failure);
  });

  it.each([
    ['CLUSTER_ERROR', 'Driver is unresponsive, likely due to GC', 'DatabricksDriverNotResponding'],
    [
      'CLUSTER_ERROR',
      'Could not launch: InsufficientInstanceCapacity in us-east-1a',
      'DatabricksResourceExhausted',
    ],
    [
      'DRIVER_ERROR',
      'The spark driver has stopped unexpectedly and is restarting.',
      'DatabricksDriverNotResponding',
    ],
    ['CLOUD_FAILURE', 'Spot instance was reclaimed by the cloud provider', 'DatabricksSpotInstanceLost'],
    [
      'CLUSTER_ERROR',
      'Library installation failed for library due to user error',
      'DatabricksLibraryInstallFailure',
    ],
    ['CLUSTER_ERROR', 'No space left on device', 'DatabricksOutOfDisk'],
    ['CLUSTER_ERROR', 'Permission denied: user cannot attach to cluster', 'DatabricksCloudPermissionError'],
    ['CLUSTER_ERROR', 'java.net.SocketTimeoutException: Read timed out', 'DatabricksNetworkFailure'],
  ])('reads the message of a %s run: "%s"', (terminationCode, message, errorType) => {
    // Act
    const result = classifyJobFailure({ jobId: '1', runId: '2', terminationCode, message });

    // Assess
    expect(result).toMatchObject({ isFailure: true, errorType, basis: 'free_text' });
    expect(result.confidence).toBeGreaterThan(0);
    expect(result.confidence).toBeLessThan(1);
  });

  it('falls back on the code when a cluster-related message says nothing recognisable', () => {
    // Act
    const result = classifyJobFailure({
      jobId: '1',
      runId: '2',
      terminationCode: 'DRIVER_ERROR',
      message: 'oops',
    });

    // Assess
    expect(result).toMatchObject({
      errorType: 'DatabricksDriverNotResponding',
      basis: 'job_termination_code',
    });
    expect(result.confidence).toBe(0.5);
  });

  it('does not read the message of a code that is not cluster-related', () => {
    // Act
    const result = classifyJobFailure({
      jobId: '1',
      runId: '2',
      terminationCode: 'RUN_EXECUTION_ERROR',
      message: 'java.lang.OutOfMemoryError in user code',
    });

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksJobFailure', action: 'escalate', confidence: 1 });
  });

  it('decides an unknown job code of type INTERNAL_ERROR as a service fault', () => {
    // Act
    const result = classifyJobFailure({
      jobId: '1',
      runId: '2',
      terminationCode: 'NEW',
      terminationType: 'INTERNAL_ERROR',
    });

    // Assess
    expect(result.errorType).toBe('DatabricksServiceFault');
  });
});

describe("the classifier's facts", () => {
  it.each([
    { reason: { code: 'USER_REQUEST', type: 'SUCCESS' }, failure: false },
    { reason: { code: 'INACTIVITY' }, failure: false },
    { reason: { code: 'DRIVER_UNREACHABLE', type: 'SUCCESS' }, failure: false },
    { reason: { code: 'DRIVER_UNREACHABLE', type: 'CLIENT_ERROR' }, failure: true },
    { reason: { code: 'SOME_FUTURE_CODE' }, failure: true },
    { reason: { code: 'UNKNOWN' }, failure: true },
    { reason: {}, failure: true },
  ])('says a termination $reason.code ($reason.type) is a failure: $failure', ({ reason, failure }) => {
    // Act
    const answer = isFailureTermination(reason);

    // Assess
    expect(answer).toBe(failure);
  });

  it.each([
    { a: 'INSUFFICIENT_INSTANCE_CAPACITY', b: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', same: true },
    { a: 'CLOUD_PROVIDER_RESOURCE_STOCKOUT', b: 'GCP_INSUFFICIENT_CAPACITY', same: true },
    { a: 'DRIVER_UNREACHABLE', b: 'DRIVER_UNREACHABLE', same: true },
    { a: 'SOME_FUTURE_CODE', b: 'SOME_FUTURE_CODE', same: true },
    { a: 'SOME_FUTURE_CODE', b: 'ANOTHER_FUTURE_CODE', same: false },
    { a: 'INSUFFICIENT_INSTANCE_CAPACITY', b: 'SPOT_INSTANCE_TERMINATION', same: false },
    { a: 'INACTIVITY', b: 'USER_REQUEST', same: false },
    { a: 'INSUFFICIENT_INSTANCE_CAPACITY', b: undefined, same: false },
  ])('says $a and $b name the same failure: $same', ({ a, b, same }) => {
    // Act
    const answer = sameFailureCode(a, b);

    // Assess
    expect(answer).toBe(same);
  });

  it.each([
    { reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLIENT_ERROR' }, shortage: true },
    { reason: { code: 'GCP_INSUFFICIENT_CAPACITY', type: 'CLOUD_FAILURE' }, shortage: true },
    { reason: { code: 'SPOT_INSTANCE_TERMINATION', type: 'CLOUD_FAILURE' }, shortage: true },
    { reason: { code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED', type: 'CLIENT_ERROR' }, shortage: true },
    {
      reason: {
        code: 'CLOUD_PROVIDER_LAUNCH_FAILURE',
        type: 'CLOUD_FAILURE',
        parameters: { aws_error_code: 'InsufficientInstanceCapacity' },
      },
      shortage: true,
    },
    { reason: { code: 'INTERNAL_CAPACITY_FAILURE', type: 'SERVICE_FAULT' }, shortage: false },
    { reason: { code: 'DRIVER_UNREACHABLE', type: 'CLOUD_FAILURE' }, shortage: false },
    { reason: { code: 'USER_REQUEST', type: 'SUCCESS' }, shortage: false },
    { reason: undefined, shortage: false },
  ])("says $reason.code blames the node type's capacity: $shortage", ({ reason, shortage }) => {
    // Act
    const answer = isCapacityShortage(reason);

    // Assess
    expect(answer).toBe(shortage);
  });

  it.each([
    { errorType: 'DatabricksConfigurationError', configuration: true },
    { errorType: 'DatabricksInitScriptFailure', configuration: true },
    { errorType: 'DatabricksLibraryInstallFailure', configuration: true },
    { errorType: 'DatabricksCloudPermissionError', configuration: true },
    { errorType: 'DatabricksNetworkMisconfiguration', configuration: true },
    { errorType: 'DatabricksNetworkFailure', configuration: false },
    { errorType: 'DatabricksResourceExhausted', configuration: false },
    { errorType: 'DatabricksJobFailure', configuration: false },
    { errorType: 'NotAnErrorType', configuration: false },
  ])('says $errorType is configuration-class: $configuration', ({ errorType, configuration }) => {
    // Act
    const answer = isConfigurationClass(errorType);

    // Assess
    expect(answer).toBe(configuration);
  });
});
