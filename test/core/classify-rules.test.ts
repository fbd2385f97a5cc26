import { describe, expect, it } from 'vitest';
import {
  classifyJobFailure,
  classifySignal,
  classifyTermination,
} from '../../functions/core/classifier/classify.ts';
import { JOB_TERMINATION_CODE_TABLE } from '../../functions/core/classifier/job-codes.ts';
import { TERMINATION_CODE_TABLE } from '../../functions/core/classifier/termination-codes.ts';
import type { Classification, DecisionBasis } from '../../functions/core/classifier/types.ts';
import { type Action, ERROR_TYPE_INFO, type ErrorType } from '../../functions/core/error-types.ts';
import { DEFAULT_PLAYBOOKS } from '../../functions/core/playbooks.ts';
import type { TerminationReason } from '../../functions/core/schemas/common.ts';
import type { FailureSignal, JobContext } from '../../functions/core/signal.ts';

// Every branch of the classifier with its whole answer: error type, basis, confidence, reason and the
// code and type it carries. The playbook's action and the category come from their own tables.

function failure(
  errorType: ErrorType,
  basis: DecisionBasis,
  confidence: number,
  reason: string,
  codeAndType: { code?: string; type?: string } = {},
  adapted?: { action: Action; note: string },
): Classification {
  return {
    isFailure: true,
    errorType,
    category: ERROR_TYPE_INFO[errorType].category,
    action: adapted?.action ?? DEFAULT_PLAYBOOKS[errorType].action,
    reason: adapted === undefined ? reason : `${reason}; ${adapted.note}`,
    basis,
    confidence,
    ...codeAndType,
  };
}

const why = (code: string): string => TERMINATION_CODE_TABLE[code]?.why ?? 'missing from the table';
const jobWhy = (code: string): string => JOB_TERMINATION_CODE_TABLE[code]?.why ?? 'missing from the table';
const REPAIRED = {
  action: 'repair_run',
  note: 'a job cluster cannot be started, so its failed run is repaired',
} as const;

describe('classifyTermination: every branch with its whole answer', () => {
  it.each<[string, TerminationReason | undefined, string | undefined, Classification]>([
    [
      'a SUCCESS type with its code',
      { code: 'USER_REQUEST', type: 'SUCCESS' },
      undefined,
      {
        isFailure: false,
        reason: 'USER_REQUEST is a SUCCESS-type termination, never a failure',
        basis: 'termination_type',
        confidence: 1,
        code: 'USER_REQUEST',
        type: 'SUCCESS',
      },
    ],
    [
      'a SUCCESS type without a code',
      { type: 'SUCCESS' },
      undefined,
      {
        isFailure: false,
        reason: 'termination is a SUCCESS-type termination, never a failure',
        basis: 'termination_type',
        confidence: 1,
        type: 'SUCCESS',
      },
    ],
    [
      'a known code that is no failure, whatever its type',
      { code: 'INACTIVITY', type: 'CLIENT_ERROR' },
      undefined,
      {
        isFailure: false,
        reason: `INACTIVITY: ${why('INACTIVITY')}`,
        basis: 'termination_code',
        confidence: 1,
        code: 'INACTIVITY',
        type: 'CLIENT_ERROR',
      },
    ],
    [
      'a known failure code',
      { code: 'DRIVER_UNREACHABLE' },
      undefined,
      failure(
        'DatabricksDriverNotResponding',
        'termination_code',
        1,
        `DRIVER_UNREACHABLE: ${why('DRIVER_UNREACHABLE')}`,
        {
          code: 'DRIVER_UNREACHABLE',
        },
      ),
    ],
    [
      'a launch failure refined by its parameters',
      {
        code: 'CLOUD_PROVIDER_LAUNCH_FAILURE',
        type: 'CLOUD_FAILURE',
        parameters: { aws_api_error_code: 'InsufficientInstanceCapacity' },
      },
      undefined,
      failure(
        'DatabricksResourceExhausted',
        'termination_parameters',
        0.9,
        "CLOUD_PROVIDER_LAUNCH_FAILURE refined by its parameters (aws_api_error_code=InsufficientInstanceCapacity): the cloud's own error decides",
        { code: 'CLOUD_PROVIDER_LAUNCH_FAILURE', type: 'CLOUD_FAILURE' },
      ),
    ],
    [
      'an unknown code with the misconfiguration suffix',
      { code: 'NEW_THING_DUE_TO_MISCONFIG', type: 'SERVICE_FAULT' },
      undefined,
      failure(
        'DatabricksConfigurationError',
        'termination_type',
        0.7,
        'NEW_THING_DUE_TO_MISCONFIG is not a known code; its _DUE_TO_MISCONFIG suffix attributes it to customer configuration',
        { code: 'NEW_THING_DUE_TO_MISCONFIG', type: 'SERVICE_FAULT' },
      ),
    ],
    [
      'an unknown CLIENT_ERROR code',
      { code: 'NEW_THING', type: 'CLIENT_ERROR' },
      undefined,
      failure(
        'DatabricksConfigurationError',
        'termination_type',
        0.6,
        'NEW_THING is not a known code; CLIENT_ERROR means the spec must change first, so no automatic retry',
        { code: 'NEW_THING', type: 'CLIENT_ERROR' },
      ),
    ],
    [
      'an unknown SERVICE_FAULT code',
      { code: 'NEW_THING', type: 'SERVICE_FAULT' },
      undefined,
      failure(
        'DatabricksServiceFault',
        'termination_type',
        0.6,
        'NEW_THING is not a known code; SERVICE_FAULT is a Databricks-side problem worth a delayed retry',
        { code: 'NEW_THING', type: 'SERVICE_FAULT' },
      ),
    ],
    [
      'an unknown CLOUD_FAILURE code',
      { code: 'NEW_THING', type: 'CLOUD_FAILURE' },
      undefined,
      failure(
        'DatabricksClusterTerminated',
        'termination_type',
        0.6,
        'NEW_THING is not a known code; CLOUD_FAILURE is a cloud infrastructure problem worth a retry',
        { code: 'NEW_THING', type: 'CLOUD_FAILURE' },
      ),
    ],
    [
      'an unknown throttling code without a type, by its name',
      { code: 'NEW_RATE_LIMIT' },
      undefined,
      failure(
        'DatabricksCloudThrottled',
        'termination_type',
        0.4,
        'NEW_RATE_LIMIT is not a known code and its type is missing; decided from its name',
        { code: 'NEW_RATE_LIMIT' },
      ),
    ],
    [
      'an unknown capacity code of an unknown type, by its name',
      { code: 'NEW_STOCKOUT', type: 'ODD' },
      undefined,
      failure(
        'DatabricksResourceExhausted',
        'termination_type',
        0.4,
        "NEW_STOCKOUT is not a known code and its type is 'ODD'; decided from its name",
        { code: 'NEW_STOCKOUT', type: 'ODD' },
      ),
    ],
    [
      'an unknown quota code, by its name',
      { code: 'NEW_QUOTA_HIT' },
      undefined,
      failure(
        'DatabricksCloudQuotaExceeded',
        'termination_type',
        0.4,
        'NEW_QUOTA_HIT is not a known code and its type is missing; decided from its name',
        {
          code: 'NEW_QUOTA_HIT',
        },
      ),
    ],
    [
      'an unknown init script code, by its name',
      { code: 'NEW_INIT_SCRIPT_BOOM' },
      undefined,
      failure(
        'DatabricksInitScriptFailure',
        'termination_type',
        0.4,
        'NEW_INIT_SCRIPT_BOOM is not a known code and its type is missing; decided from its name',
        { code: 'NEW_INIT_SCRIPT_BOOM' },
      ),
    ],
    [
      'an unknown code nothing explains, without a type',
      { code: 'ZZZ' },
      undefined,
      failure(
        'DatabricksUnclassifiedFailure',
        'default',
        0.3,
        'ZZZ is not a known code and its type is missing; a human must look',
        {
          code: 'ZZZ',
        },
      ),
    ],
    [
      'an unknown code nothing explains, of an unknown type',
      { code: 'ZZZ', type: 'ODD' },
      undefined,
      failure(
        'DatabricksUnclassifiedFailure',
        'default',
        0.3,
        "ZZZ is not a known code and its type is 'ODD'; a human must look",
        {
          code: 'ZZZ',
          type: 'ODD',
        },
      ),
    ],
    [
      'UNKNOWN without a message',
      { code: 'UNKNOWN', type: 'SERVICE_FAULT' },
      undefined,
      failure(
        'DatabricksUnclassifiedFailure',
        'default',
        0.2,
        'termination code UNKNOWN and no recognisable state message',
        {
          code: 'UNKNOWN',
          type: 'SERVICE_FAULT',
        },
      ),
    ],
    [
      'no termination reason at all',
      undefined,
      'nothing to see',
      failure(
        'DatabricksUnclassifiedFailure',
        'default',
        0.2,
        'no termination code and no recognisable state message',
      ),
    ],
    [
      'UNKNOWN with a state message',
      { code: 'UNKNOWN' },
      'java.lang.OutOfMemoryError: Java heap space',
      failure(
        'DatabricksDriverOutOfMemory',
        'free_text',
        0.8,
        'no termination code; the state message matches \'out_of_memory\' ("OutOfMemory")',
        { code: 'UNKNOWN' },
      ),
    ],
    [
      'UNKNOWN with a message parameter only, never another parameter',
      {
        code: 'UNKNOWN',
        parameters: { detail: 'java.lang.OutOfMemoryError', driver_message: 'the driver is not responding' },
      },
      undefined,
      failure(
        'DatabricksDriverNotResponding',
        'free_text',
        0.7,
        'no termination code; parameter driver_message matches \'driver_unreachable\' ("driver is not responding")',
        { code: 'UNKNOWN' },
      ),
    ],
  ])('classifies %s', (_name, reason, stateMessage, expected) => {
    // Act
    const classification = classifyTermination(reason, { stateMessage });

    // Assess
    expect(classification).toStrictEqual(expected);
  });

  it.each<[string, string, string, Action, string | undefined]>([
    ['restarts a job cluster by repairing its run', 'JOB', 'DRIVER_UNREACHABLE', 'repair_run', REPAIRED.note],
    [
      'escalates a rollback on a job cluster',
      'JOB',
      'INVALID_SPARK_IMAGE',
      'escalate',
      "a job cluster cannot be edited; fix the job's cluster spec",
    ],
    [
      'leaves a pipeline cluster to its pipeline',
      'PIPELINE',
      'DRIVER_UNREACHABLE',
      'escalate',
      'the cluster is managed by Lakeflow Declarative Pipelines, which recovers it itself',
    ],
    ['keeps the action of an all-purpose cluster', 'UI', 'DRIVER_UNREACHABLE', 'restart_cluster', undefined],
    [
      'keeps an escalation of a job cluster without a note',
      'JOB',
      'ACCESS_TOKEN_FAILURE',
      'escalate',
      undefined,
    ],
  ])('%s', (_name, clusterSource, code, action, note) => {
    // Act
    const classification = classifyTermination({ code }, { clusterSource });

    // Assess
    expect(classification.action).toBe(action);
    expect(classification.reason).toBe(
      note === undefined ? `${code}: ${why(code)}` : `${code}: ${why(code)}; ${note}`,
    );
  });

  it('adds no note when the playbook escalates a service-managed cluster anyway', () => {
    // Act
    const classification = classifyTermination({ code: 'NEW_QUOTA_HIT' }, { clusterSource: 'SQL' });

    // Assess
    expect(classification.action).toBe('escalate');
    expect(classification.reason).toBe(
      'NEW_QUOTA_HIT is not a known code and its type is missing; decided from its name',
    );
  });
});

describe('classifyJobFailure: every branch with its whole answer', () => {
  const run = (more: Partial<JobContext>): JobContext => ({ jobId: '1', runId: '2', ...more });
  it.each<[string, JobContext, string | undefined, Classification]>([
    [
      'a code that is no failure',
      run({ terminationCode: 'USER_CANCELED', terminationType: 'SUCCESS' }),
      undefined,
      {
        isFailure: false,
        reason: `USER_CANCELED: ${jobWhy('USER_CANCELED')}`,
        basis: 'job_termination_code',
        confidence: 1,
        code: 'USER_CANCELED',
        type: 'SUCCESS',
      },
    ],
    [
      'a cluster-related code whose message explains it',
      run({ terminationCode: 'CLUSTER_ERROR', message: 'Init script failure: /x.sh exited with code 1' }),
      undefined,
      failure(
        'DatabricksInitScriptFailure',
        'free_text',
        0.8,
        'run ended with CLUSTER_ERROR; its message matches \'init_script\' ("Init script")',
        { code: 'CLUSTER_ERROR' },
      ),
    ],
    [
      'a run without a code whose cluster state message explains it',
      run({}),
      'Init script failure: /x.sh exited with code 1',
      failure(
        'DatabricksInitScriptFailure',
        'free_text',
        0.8,
        'run ended with no termination code; its message matches \'init_script\' ("Init script")',
      ),
    ],
    [
      'a cluster-related code without a telling message',
      run({ terminationCode: 'DRIVER_ERROR', terminationType: 'CLOUD_FAILURE' }),
      undefined,
      failure(
        'DatabricksDriverNotResponding',
        'job_termination_code',
        0.5,
        `DRIVER_ERROR: ${jobWhy('DRIVER_ERROR')}`,
        {
          code: 'DRIVER_ERROR',
          type: 'CLOUD_FAILURE',
        },
      ),
    ],
    [
      'a code about the job, whatever its message says',
      run({
        terminationCode: 'INVALID_CLUSTER_REQUEST',
        message: 'Init script failure: /x.sh exited with code 1',
      }),
      undefined,
      failure(
        'DatabricksConfigurationError',
        'job_termination_code',
        1,
        `INVALID_CLUSTER_REQUEST: ${jobWhy('INVALID_CLUSTER_REQUEST')}`,
        { code: 'INVALID_CLUSTER_REQUEST' },
      ),
    ],
    [
      'an unknown code of type INTERNAL_ERROR',
      run({ terminationCode: 'NEW_CODE', terminationType: 'INTERNAL_ERROR' }),
      undefined,
      failure(
        'DatabricksServiceFault',
        'default',
        0.4,
        'run ended with NEW_CODE of type INTERNAL_ERROR; a repair after a delay may succeed',
        { code: 'NEW_CODE', type: 'INTERNAL_ERROR' },
      ),
    ],
    [
      'no code, of type CLOUD_FAILURE',
      run({ terminationType: 'CLOUD_FAILURE' }),
      undefined,
      failure(
        'DatabricksServiceFault',
        'default',
        0.4,
        'run ended with no code of type CLOUD_FAILURE; a repair after a delay may succeed',
        {
          type: 'CLOUD_FAILURE',
        },
      ),
    ],
    [
      'an unknown code of another type',
      run({ terminationCode: 'NEW_CODE', terminationType: 'CLIENT_ERROR' }),
      undefined,
      failure('DatabricksJobFailure', 'default', 0.4, 'run ended with NEW_CODE (CLIENT_ERROR)', {
        code: 'NEW_CODE',
        type: 'CLIENT_ERROR',
      }),
    ],
    [
      'neither code nor type',
      run({}),
      undefined,
      failure('DatabricksJobFailure', 'default', 0.4, 'run ended with no termination code'),
    ],
  ])('classifies %s', (_name, job, stateMessage, expected) => {
    // Act
    const classification = classifyJobFailure(job, { stateMessage });

    // Assess
    expect(classification).toStrictEqual(expected);
  });
});

describe('classifySignal: each kind of signal', () => {
  const signal = (more: Partial<FailureSignal>): FailureSignal => ({
    source: 'poller',
    kind: 'termination',
    workspaceId: 'ws',
    clusterId: '1130-000000-abc',
    observedAt: 1,
    incidentKey: 'k',
    ...more,
  });
  it.each<[string, FailureSignal, Classification]>([
    [
      'a termination by its reason',
      signal({ terminationReason: { code: 'DRIVER_UNREACHABLE' } }),
      failure(
        'DatabricksDriverNotResponding',
        'termination_code',
        1,
        `DRIVER_UNREACHABLE: ${why('DRIVER_UNREACHABLE')}`,
        {
          code: 'DRIVER_UNREACHABLE',
        },
      ),
    ],
    [
      'a failed start by its reason, on its job cluster',
      signal({
        kind: 'start_failure',
        clusterSource: 'JOB',
        terminationReason: { code: 'DRIVER_UNREACHABLE' },
      }),
      failure(
        'DatabricksDriverNotResponding',
        'termination_code',
        1,
        `DRIVER_UNREACHABLE: ${why('DRIVER_UNREACHABLE')}`,
        { code: 'DRIVER_UNREACHABLE' },
        REPAIRED,
      ),
    ],
    [
      'a restart with a reason by that reason',
      signal({ kind: 'restarting', terminationReason: { code: 'DRIVER_UNREACHABLE' } }),
      failure(
        'DatabricksDriverNotResponding',
        'termination_code',
        1,
        `DRIVER_UNREACHABLE: ${why('DRIVER_UNREACHABLE')}`,
        {
          code: 'DRIVER_UNREACHABLE',
        },
      ),
    ],
    [
      'a restart with no termination reason at all as no failure',
      signal({ kind: 'restarting' }),
      {
        isFailure: false,
        reason:
          'the cluster is restarting and no termination reason says why; the poller watches its outcome',
        basis: 'observation',
        confidence: 1,
      },
    ],
    [
      'a restart without a reason as no failure',
      signal({ kind: 'restarting', terminationReason: { type: 'SERVICE_FAULT' } }),
      {
        isFailure: false,
        reason:
          'the cluster is restarting and no termination reason says why; the poller watches its outcome',
        basis: 'observation',
        confidence: 1,
      },
    ],
    [
      'a driver loss on a job cluster',
      signal({ kind: 'driver_loss', clusterSource: 'JOB' }),
      failure(
        'DatabricksDriverNotResponding',
        'observation',
        0.9,
        'the driver lost its state while the cluster was RUNNING, without a user restart',
        {},
        REPAIRED,
      ),
    ],
    [
      'a cluster stuck PENDING',
      signal({ kind: 'stuck', clusterState: 'PENDING' }),
      failure(
        'DatabricksClusterStartFailure',
        'observation',
        0.8,
        'the cluster has been PENDING for longer than the allowed start time',
      ),
    ],
    [
      'a cluster stuck in an unknown state',
      signal({ kind: 'stuck' }),
      failure(
        'DatabricksClusterStartFailure',
        'observation',
        0.8,
        'the cluster has been starting for longer than the allowed start time',
      ),
    ],
    [
      'a job failure by its run, with the state message of its cluster',
      signal({
        kind: 'job_failure',
        job: { jobId: '1', runId: '2' },
        stateMessage: 'java.lang.OutOfMemoryError: Java heap space',
      }),
      failure(
        'DatabricksDriverOutOfMemory',
        'free_text',
        0.8,
        'run ended with no termination code; its message matches \'out_of_memory\' ("OutOfMemory")',
      ),
    ],
  ])('classifies %s', (_name, given, expected) => {
    // Act
    const classification = classifySignal(given);

    // Assess
    expect(classification).toStrictEqual(expected);
  });

  it('refuses a job failure without its job context', () => {
    // Act
    const act = () => classifySignal(signal({ kind: 'job_failure' }));

    // Assess
    expect(act).toThrow('a job_failure signal needs its job context');
  });
});
