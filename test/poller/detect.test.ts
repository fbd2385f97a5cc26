import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { analyzeJobRun } from '../../functions/core/job-run.ts';
import { parseJson } from '../../functions/core/json.ts';
import {
  type ClusterDetails,
  ClusterEventsResponseSchema,
  ListClustersResponseSchema,
  RunSchema,
} from '../../functions/core/schemas/databricks.ts';
import { signalFromJobRun } from '../../functions/core/signal-builders.ts';
import { DEFAULT_POLLER_OPTIONS, resolvePollerOptions } from '../../functions/poller/config.ts';
import {
  assessCluster,
  type DetectionWindow,
  enteredStateAt,
  explainStateLoss,
  jobOfCluster,
  pollerSignal,
} from '../../functions/poller/detect.ts';

const read = (path: string): unknown =>
  parseJson(readFileSync(join(import.meta.dirname, '../fixtures', path), 'utf8'));

const page = read('poller/list-page.json') as {
  window: DetectionWindow;
  clusters: unknown[];
  expected: Record<string, string | null>;
};
const clusters = ListClustersResponseSchema.parse({ clusters: page.clusters }).clusters;
const realShaped = read('poller/real-shaped-losses.json') as typeof page;
const realShapedClusters = ListClustersResponseSchema.parse({ clusters: realShaped.clusters }).clusters;
const lossCases = read('poller/state-loss-events.json') as {
  lossTime: number;
  cases: Record<string, { explained: boolean; events: unknown[] }>;
};

const cluster = (id: string): ClusterDetails => {
  const found = clusters.find((c) => c.cluster_id === id);
  if (found === undefined) throw new Error(`no cluster ${id} in the fixture`);
  return found;
};

describe('assessCluster', () => {
  it.each(Object.entries(page.expected))('decides %s from its list entry: %s', (id, expected) => {
    // Act
    const finding = assessCluster(cluster(id), page.window);

    // Assess
    expect(finding?.kind ?? null).toBe(expected);
  });

  it.each(Object.entries(realShaped.expected))(
    'tells a start from a driver loss on the real-shaped %s: %s',
    (id, expected) => {
      // Prepare
      const listed = realShapedClusters.find((c) => c.cluster_id === id);

      // Act
      const finding = listed === undefined ? 'missing' : assessCluster(listed, realShaped.window);

      // Assess
      expect(typeof finding === 'string' ? finding : (finding?.kind ?? null)).toBe(expected);
    },
  );

  it('gives a stuck cluster the list time it has been starting since at least', () => {
    // Act
    const finding = assessCluster(cluster('0302-100000-restartg'), page.window);

    // Assess
    expect(finding).toMatchObject({ kind: 'stuck', listedSince: 1772440000000 });
  });

  it('takes a starting cluster without any start time for a candidate, left to its events', () => {
    // Prepare
    const bare: ClusterDetails = { cluster_id: '0302-100000-nostart1', state: 'PENDING' };

    // Act
    const finding = assessCluster(bare, page.window);

    // Assess
    expect(finding).toEqual({ kind: 'stuck', cluster: bare, listedSince: undefined });
  });
});

describe('explainStateLoss', () => {
  it.each(Object.entries(lossCases.cases))('%s', (_label, { explained, events }) => {
    // Prepare
    const parsed = ClusterEventsResponseSchema.parse({ events }).events;

    // Act
    const verdict = explainStateLoss(parsed, lossCases.lossTime);

    // Assess
    expect(verdict.explained).toBe(explained);
    expect(verdict.reason).not.toBe('');
  });
});

describe('enteredStateAt', () => {
  it.each([
    ['the latest start event', [100, 300, 200], 50, 300],
    ['the list time when it is later than every event', [100], 250, 250],
    ['the list time when there is no event', [], 250, 250],
    ['nothing when there is neither', [], undefined, undefined],
  ])('uses %s', (_label, times, listed, expected) => {
    // Prepare
    const events = times.map((timestamp) => ({ cluster_id: 'c', type: 'STARTING', timestamp }));

    // Act
    const since = enteredStateAt(events, listed);

    // Assess
    expect(since).toBe(expected);
  });
});

describe('jobOfCluster', () => {
  it.each([
    [
      'a job cluster',
      { cluster_source: 'JOB', cluster_name: 'job-1234567-run-1000' },
      { jobId: '1234567', runId: '1000' },
    ],
    [
      'a job cluster with a suffix',
      { cluster_source: 'JOB', cluster_name: 'job-12-run-34-etl' },
      { jobId: '12', runId: '34' },
    ],
    [
      'an all-purpose cluster named like one',
      { cluster_source: 'UI', cluster_name: 'job-1-run-2' },
      undefined,
    ],
    ['a job cluster with another name', { cluster_source: 'JOB', cluster_name: 'nightly' }, undefined],
  ])('reads the run of %s', (_label, fields, expected) => {
    // Act
    const job = jobOfCluster({ cluster_id: '0302-100000-jobname1', ...fields });

    // Assess
    expect(job).toEqual(expected);
  });
});

describe('pollerSignal', () => {
  it('keys a job cluster termination as the job webhook path does', () => {
    // Prepare
    const jobCluster: ClusterDetails = {
      ...cluster('0302-100000-newfail1'),
      cluster_id: '2631-121255-j612dkia',
      cluster_name: 'job-1234567-run-1000',
      cluster_source: 'JOB',
    };
    const run = RunSchema.parse({
      run_id: 1000,
      job_id: 1234567,
      state: { life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' },
      tasks: [
        {
          task_key: 'etl',
          cluster_instance: { cluster_id: '2631-121255-j612dkia' },
          state: { life_cycle_state: 'INTERNAL_ERROR', result_state: 'FAILED' },
        },
      ],
    });
    const ctx = { workspaceId: 'ws-a', now: page.window.now };
    const viaWebhook = signalFromJobRun(
      analyzeJobRun({ jobId: '1234567', runId: '1000' }, run, [jobCluster]),
      ctx,
    );

    // Act
    const viaPoller = pollerSignal(jobCluster, 'termination', ctx, { job: jobOfCluster(jobCluster) });

    // Assess
    expect(viaPoller.incidentKey).toBe(viaWebhook.incidentKey);
    expect(viaPoller).toMatchObject({ source: 'poller', job: { jobId: '1234567', runId: '1000' } });
  });

  it('anchors a stuck cluster on when it got stuck, whenever it is observed', () => {
    // Prepare
    const pending = cluster('0302-100000-pending1');

    // Act
    const first = pollerSignal(
      pending,
      'stuck',
      { workspaceId: 'ws-a', now: 1 },
      { stuckSince: 1772452800000 },
    );
    const later = pollerSignal(
      pending,
      'stuck',
      { workspaceId: 'ws-a', now: 2 },
      { stuckSince: 1772452800000 },
    );

    // Assess
    expect(first.incidentKey).toBe('ws-a#cluster#0302-100000-pending1#stuck#1772452800000');
    expect(later.incidentKey).toBe(first.incidentKey);
  });
});

describe('resolvePollerOptions', () => {
  it('turns seconds into milliseconds and keeps the defaults of keys not given', () => {
    // Act
    const options = resolvePollerOptions({ overlapSeconds: 120, reconcileBatchSize: 5 });

    // Assess
    expect(options).toEqual({ ...DEFAULT_POLLER_OPTIONS, overlapMs: 120_000, reconcileBatchSize: 5 });
  });

  it.each([
    ['an unknown key', { overlap: 60 }, /overlap/],
    ['a page larger than the API allows', { pageSize: 500 }, /pageSize/],
    ['a negative overlap', { overlapSeconds: -1 }, /overlapSeconds/],
    ['no concurrency at all', { maxConcurrentRequests: 0 }, /maxConcurrentRequests/],
  ])('rejects %s, naming it', (_label, config, pattern) => {
    // Act
    const resolving = () => resolvePollerOptions(config);

    // Assess
    expect(resolving).toThrow(ConfigurationError);
    expect(resolving).toThrow(pattern);
  });
});
