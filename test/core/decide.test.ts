import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../../functions/core/decide.ts';
import { ValidationError } from '../../functions/core/errors.ts';
import { parseJson } from '../../functions/core/json.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const fixture = (path: string): unknown => parseJson(readFileSync(join(FIXTURES, path), 'utf8'));
const NOW = Date.UTC(2025, 0, 2, 9, 30);

describe('decide', () => {
  it("classifies the seed's Test 1 as a driver failure to restart", () => {
    // Act
    const decision = decide(fixture('seed/test1-driver-unreachable.json'), { now: NOW });

    // Assess
    expect(decision.classification).toMatchObject({
      isFailure: true,
      errorType: 'DatabricksDriverNotResponding',
      action: 'restart_cluster',
    });
    expect(decision.signal?.clusterId).toBe('test-cluster-123');
    expect(decision.playbook?.action).toBe('restart_cluster');
  });

  it("classifies the seed's Test 2 as resource exhaustion with a different instance type", () => {
    // Act
    const decision = decide(fixture('seed/test2-insufficient-capacity.json'), { now: NOW });

    // Assess
    expect(decision.classification).toMatchObject({
      errorType: 'DatabricksResourceExhausted',
      action: 'restart_with_different_instance_type',
    });
  });

  it('ignores the connectivity test', () => {
    // Act
    const decision = decide(fixture('seed/connectivity-test.json'), { now: NOW });

    // Assess
    expect(decision).toMatchObject({ input: 'connectivity_test', classification: { isFailure: false } });
    expect(decision.signal).toBeUndefined();
  });

  it('gives a redelivered seed event the same incident key', () => {
    // Prepare
    const event = fixture('seed/test1-driver-unreachable.json');

    // Act
    const first = decide(event, { now: NOW });
    const again = decide(event, { now: NOW + 60_000 });

    // Assess
    expect(again.signal?.incidentKey).toBe(first.signal?.incidentKey);
  });

  it.each([0, 1_356_998_399_999, Date.now() + 2 * 86_400_000])(
    'refuses the implausible timestamp %i',
    (timestamp) => {
      // Act
      const act = () =>
        decide({ ...(fixture('seed/test1-driver-unreachable.json') as object), timestamp }, { now: NOW });

      // Assess
      expect(act).toThrow(/timestamp: must/);
    },
  );

  it.each([NOW - 3 * 86_400_000, NOW + 3 * 86_400_000])(
    'does not trust an implausible sender timestamp %i for the ticket date',
    (timestamp) => {
      // Act
      const decision = decide(
        { ...(fixture('seed/test1-driver-unreachable.json') as object), timestamp },
        { now: NOW },
      );

      // Assess
      expect(decision.signal?.observedAt).toBe(NOW);
    },
  );

  it('gives one incident key to a termination reported as terminated, failed to start or restarting', () => {
    // Prepare
    const cluster = {
      cluster_id: 'c1',
      termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
    };

    // Act
    const keys = ['cluster.terminated', 'cluster.failed_to_start', 'cluster.restarting'].map(
      (event) => decide({ event, cluster }, { now: NOW }).signal?.incidentKey,
    );

    // Assess
    expect(new Set(keys).size).toBe(1);
  });

  it('classifies a terminated ClusterDetails and anchors its incident on terminated_time', () => {
    // Act
    const decision = decide(fixture('classify/cluster-terminated-cloud-shutdown.json'), { now: NOW });

    // Assess
    expect(decision.classification).toMatchObject({
      errorType: 'DatabricksClusterTerminated',
      action: 'restart_cluster',
    });
    expect(decision.signal?.incidentKey).toBe(
      'default#cluster#0923-164208-meows279#terminated#1732790000000',
    );
    expect(decision.signal?.sparkContextId).toBe('8765432109876543210');
  });

  it('ignores a cluster that is not terminated', () => {
    // Act
    const decision = decide({ cluster_id: 'abc', state: 'RUNNING' }, { now: NOW });

    // Assess
    expect(decision.classification).toMatchObject({
      isFailure: false,
      reason: expect.stringContaining('RUNNING'),
    });
  });

  it('turns a job failure caused by its cluster into that cluster failure (Method 1)', () => {
    // Act
    const decision = decide(fixture('classify/job-failure-with-context.json'), { now: NOW });

    // Assess
    expect(decision.input).toBe('job_notification_with_context');
    expect(decision.classification).toMatchObject({
      errorType: 'DatabricksClusterTerminated',
      code: 'CLOUD_PROVIDER_SHUTDOWN',
    });
    expect(decision.signal).toMatchObject({
      kind: 'termination',
      clusterId: '0923-164208-meows279',
      workspaceId: '1234567890123456',
      job: { jobId: '11223344', runId: '455644833', taskKeys: ['Orders_Ingest'] },
    });
    // The same incident key as the poller or a cluster event would derive.
    expect(decision.signal?.incidentKey).toBe(
      '1234567890123456#cluster#0923-164208-meows279#terminated#1732790000000',
    );
  });

  it('keeps a code failure on a healthy cluster a job failure keyed on its parent run', () => {
    // Act
    const decision = decide(fixture('classify/job-code-failure-with-context.json'), { now: NOW });

    // Assess
    expect(decision.classification).toMatchObject({ errorType: 'DatabricksJobFailure', action: 'escalate' });
    expect(decision.signal).toMatchObject({ kind: 'job_failure', job: { runId: '455644833' } });
    expect(decision.signal?.incidentKey).toBe('1234567890123456#run#455644833');
  });

  it('detects a driver restart during the run from a changed Spark context', () => {
    // Prepare
    const body = fixture('classify/job-code-failure-with-context.json') as {
      clusters: { spark_context_id: string; last_state_loss_time?: number }[];
    };
    const [cluster] = body.clusters;
    if (cluster === undefined) throw new Error('fixture has no cluster');
    cluster.spark_context_id = '5000000000000000001';
    cluster.last_state_loss_time = 1732790000000;

    // Act
    const decision = decide(body, { now: NOW });

    // Assess
    expect(decision.classification).toMatchObject({
      errorType: 'DatabricksDriverNotResponding',
      basis: 'observation',
    });
    expect(decision.signal?.incidentKey).toBe(
      '1234567890123456#cluster#0923-164208-meows279#state_loss#1732790000000',
    );
  });

  it('repairs the run of a failed job cluster instead of starting it', () => {
    // Prepare
    const body = fixture('classify/job-failure-with-context.json') as {
      clusters: { cluster_source: string }[];
    };
    for (const cluster of body.clusters) cluster.cluster_source = 'JOB';

    // Act
    const decision = decide(body, { now: NOW });

    // Assess
    expect(decision.classification.action).toBe('repair_run');
  });

  it.each(['jobs.on_start', 'jobs.on_success', 'jobs.on_duration_warning_threshold_exceeded'])(
    'ignores a %s notification',
    (eventType) => {
      // Act
      const decision = decide(
        { event_type: eventType, run: { run_id: 1 }, job: { job_id: 2 } },
        { now: NOW },
      );

      // Assess
      expect(decision.classification.isFailure).toBe(false);
    },
  );

  it('asks for the run context of a bare failure notification', () => {
    // Act / Assess
    expect(() =>
      decide(fixture('databricks/examples/job-webhook-notification-job-on-failure.json'), { now: NOW }),
    ).toThrow(ValidationError);
  });

  it('rejects a context whose run is malformed, naming the field', () => {
    // Prepare
    const body = {
      notification: { event_type: 'jobs.on_failure', run: { run_id: 1 }, job: { job_id: 2 } },
      run: {},
    };

    // Act / Assess
    expect(() => decide(body, { now: NOW })).toThrow(/run\.run_id/);
  });
});
