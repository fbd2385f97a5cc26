import { describe, expect, it } from 'vitest';
import { classifyJobFailure, classifyTermination } from '../../functions/core/classifier/classify.ts';
import { matchFreeText } from '../../functions/core/classifier/free-text.ts';
import { ERROR_TYPES } from '../../functions/core/error-types.ts';
import corpus from '../fixtures/classifier/free-text-corpus.json' with { type: 'json' };

interface CorpusEntry {
  readonly message: string;
  readonly family: string;
  readonly source: string;
  readonly holdout: boolean;
  readonly collectedAfterDesign: boolean;
}

const messages: readonly CorpusEntry[] = corpus.messages;
const short = (text: string): string => (text.length > 70 ? `${text.slice(0, 67)}...` : text);
const table = (entries: readonly CorpusEntry[]) =>
  entries.map((entry) => [short(entry.message), entry.family, entry] as const);

describe('free-text corpus', () => {
  it('holds at least 80 real messages, each with a known family and a source, a fifth of them held out', () => {
    // Prepare
    const families = new Set<string>(ERROR_TYPES);

    // Act
    const unknown = messages.filter((entry) => !families.has(entry.family));
    const unsourced = messages.filter((entry) => entry.source.trim().length < 10);
    const heldOut = messages.filter((entry) => entry.holdout);

    // Assess
    expect(messages.length).toBeGreaterThanOrEqual(80);
    expect(unknown).toEqual([]);
    expect(unsourced).toEqual([]);
    expect(heldOut.length).toBeGreaterThanOrEqual(messages.length / 5);
    expect(new Set(messages.map((entry) => entry.message)).size).toBe(messages.length);
    expect(messages.filter((entry) => entry.collectedAfterDesign).length).toBeGreaterThanOrEqual(20);
  });

  it.each(table(messages.filter((entry) => !entry.holdout)))('reads "%s" as %s', (_text, family, entry) => {
    // Act
    const match = matchFreeText(entry.message);

    // Assess
    expect(match?.errorType).toBe(family);
    expect(match?.confidence).toBeGreaterThan(0);
    expect(match?.confidence).toBeLessThan(1);
  });

  it.each(table(messages.filter((entry) => entry.holdout)))(
    'reads the held-out "%s" as %s',
    (_text, family, entry) => {
      // Act
      const match = matchFreeText(entry.message);

      // Assess
      expect(match?.errorType).toBe(family);
    },
  );
});

describe('matchFreeText', () => {
  it.each([
    ['Inactive cluster terminated (inactive for 120 minutes).'],
    ['Finding instances for new nodes, acquiring more instances if necessary'],
    ['Terminated by user@example.com'],
    ['Restarting cluster'],
    ['Waiting for cluster to start'],
    [''],
  ])('finds no failure in the ordinary message "%s"', (message) => {
    // Act
    const match = matchFreeText(message);

    // Assess
    expect(match).toBeUndefined();
  });

  // The wordings issue #11 names, said differently from the corpus.
  it.each([
    ['The driver failed to start', 'DatabricksClusterStartFailure'],
    ['Capacity unavailable for the requested instance type', 'DatabricksResourceExhausted'],
    ['Startup timed out', 'DatabricksClusterStartFailure'],
    ['The node failed during bootstrap', 'DatabricksClusterStartFailure'],
    ['Invalid Spark configuration: spark.driver.memory', 'DatabricksConfigurationError'],
    ['[Errno 122] Disk quota exceeded', 'DatabricksOutOfDisk'],
    [
      'The instance was retired by the cloud provider due to hardware degradation',
      'DatabricksClusterTerminated',
    ],
    ['Instance type p3.2xlarge is out of stock in this zone', 'DatabricksResourceExhausted'],
    [
      'You have requested more vCPU capacity than your current vCPU limit of 64 allows',
      'DatabricksCloudQuotaExceeded',
    ],
  ])('reads the wording "%s" as %s', (message, errorType) => {
    // Act
    const match = matchFreeText(message);

    // Assess
    expect(match?.errorType).toBe(errorType);
  });

  it('ignores the causes a message only lists as possible', () => {
    // Prepare
    const message =
      'The Spark driver failed to start. Possible reasons may include incompatible libraries and initialization scripts that corrupted the Spark container.';

    // Act
    const match = matchFreeText(message);

    // Assess
    expect(match).toMatchObject({ errorType: 'DatabricksClusterStartFailure', rule: 'start_failure' });
  });

  it('decides by a specific termination code named in the text before its words', () => {
    // Prepare
    const message =
      'Cluster 0101-abc was terminated. Reason: SPOT_INSTANCE_TERMINATION (CLOUD_FAILURE). The driver is unreachable.';

    // Act
    const match = matchFreeText(message);

    // Assess
    expect(match).toEqual({
      errorType: 'DatabricksSpotInstanceLost',
      confidence: 0.85,
      rule: 'termination_code',
      evidence: 'SPOT_INSTANCE_TERMINATION',
    });
  });

  it.each([
    [
      'Cloud Provider Launch Failure: Operation results in exceeding quota limits of Core.',
      'DatabricksCloudQuotaExceeded',
    ],
    ['Cluster terminated. Reason: Cloud Provider Launch Failure', 'DatabricksClusterStartFailure'],
    ['Reason: UNEXPECTED_LAUNCH_FAILURE (SERVICE_FAULT)', 'DatabricksClusterStartFailure'],
  ])('lets the words beat a generic code or label in "%s"', (message, errorType) => {
    // Act
    const match = matchFreeText(message);

    // Assess
    expect(match?.errorType).toBe(errorType);
  });

  it('reads a disk quota as a full disk, not a cloud quota', () => {
    // Act
    const match = matchFreeText('OSError: [Errno 122] Disk quota exceeded');

    // Assess
    expect(match?.errorType).toBe('DatabricksOutOfDisk');
  });
});

describe('classification by free text', () => {
  it('reads the state message of a termination without a code, keeping a confidence below 1', () => {
    // Act
    const result = classifyTermination(undefined, {
      stateMessage: 'Driver failed to start in time',
    });

    // Assess
    expect(result).toMatchObject({
      isFailure: true,
      errorType: 'DatabricksClusterStartFailure',
      basis: 'free_text',
    });
    expect(result.confidence).toBeLessThan(1);
  });

  it('reads the messages an UNKNOWN termination carries in its parameters when the state message says nothing', () => {
    // Act
    const result = classifyTermination(
      {
        code: 'UNKNOWN',
        parameters: {
          databricks_error_message:
            'Self-bootstrap failure during launch. Node Daemon ping timeout in 600 seconds',
        },
      },
      { stateMessage: 'Terminating' },
    );

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksClusterStartFailure', basis: 'free_text' });
    expect(result.reason).toContain('parameter databricks_error_message');
  });

  it('reads the termination code a CLUSTER_ERROR run message names', () => {
    // Prepare
    const message =
      "Cluster '0101-abc' was terminated. Reason: GCP_INSUFFICIENT_CAPACITY (CLIENT_ERROR). databricks_error_message: The VM launch operation failed due to resource exhaustion.";

    // Act
    const result = classifyJobFailure({ jobId: '1', runId: '2', terminationCode: 'CLUSTER_ERROR', message });

    // Assess
    expect(result).toMatchObject({ errorType: 'DatabricksResourceExhausted', basis: 'free_text' });
  });
});
