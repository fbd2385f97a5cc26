import { describe, expect, it } from 'vitest';
import {
  INCIDENT_BUCKET_MS,
  type IncidentAnchor,
  incidentAliases,
  incidentKey,
} from '../../functions/core/signal.ts';

const WS = 'ws1';
const CLUSTER = '0102-030405-abc';
const BASE = `${WS}#cluster#${CLUSTER}`;
const T = Date.parse('2026-11-30T08:00:00.000Z');
const JOB = { jobId: '11', runId: '4242' };
/** An observation time inside the bucket that starts at T (T is a multiple of 15 minutes). */
const OBSERVED = T + 60_000;
const BUCKET = T / INCIDENT_BUCKET_MS;

function anchor(fields: Partial<IncidentAnchor>): IncidentAnchor {
  return { workspaceId: WS, clusterId: CLUSTER, kind: 'termination', observedAt: OBSERVED, ...fields };
}

describe('incidentKey', () => {
  it.each<[string, Partial<IncidentAnchor>, string]>([
    [
      'a job failure without a cluster on its run',
      { clusterId: undefined, kind: 'job_failure', job: JOB },
      `${WS}#run#4242`,
    ],
    [
      'a job failure on a cluster on its run',
      { kind: 'job_failure', job: JOB, terminatedTime: T },
      `${WS}#run#4242`,
    ],
    [
      'a driver loss on its state loss time',
      { kind: 'driver_loss', lastStateLossTime: T, terminatedTime: T + 1 },
      `${BASE}#state_loss#${T}`,
    ],
    [
      'a stuck cluster on when it got stuck',
      { kind: 'stuck', stuckSince: T, terminatedTime: T + 1 },
      `${BASE}#stuck#${T}`,
    ],
    [
      'a termination on its terminated_time',
      { terminatedTime: T, terminatingAt: T - 5 },
      `${BASE}#terminated#${T}`,
    ],
    [
      'a start failure on its terminated_time',
      { kind: 'start_failure', terminatedTime: T },
      `${BASE}#terminated#${T}`,
    ],
    [
      'a restart on its terminated_time',
      { kind: 'restarting', terminatedTime: T },
      `${BASE}#terminated#${T}`,
    ],
    [
      'a termination without terminated_time on its TERMINATING event',
      { terminatingAt: T },
      `${BASE}#terminating#${T}`,
    ],
    [
      'a restart without terminated_time on its TERMINATING event',
      { kind: 'restarting', terminatingAt: T },
      `${BASE}#terminating#${T}`,
    ],
    [
      'a termination with neither on its code and bucket',
      { code: 'DRIVER_UNREACHABLE' },
      `${BASE}#termination#DRIVER_UNREACHABLE#b${BUCKET}`,
    ],
    [
      'a start failure with neither as a termination',
      { kind: 'start_failure', code: 'X' },
      `${BASE}#termination#X#b${BUCKET}`,
    ],
    ['a termination without a code on the bucket alone', {}, `${BASE}#termination#none#b${BUCKET}`],
    [
      'a driver loss without its time on the bucket, not on a terminated_time',
      { kind: 'driver_loss', terminatedTime: T, terminatingAt: T },
      `${BASE}#driver_loss#none#b${BUCKET}`,
    ],
    [
      'a stuck cluster without its time on the bucket, not on a terminated_time',
      { kind: 'stuck', terminatedTime: T, terminatingAt: T },
      `${BASE}#stuck#none#b${BUCKET}`,
    ],
    [
      'a job failure on a cluster without its run on the bucket',
      { kind: 'job_failure', code: 'C' },
      `${BASE}#job_failure#C#b${BUCKET}`,
    ],
    [
      'a termination on its terminated_time, whatever driver, stuck or run fields it carries',
      { terminatedTime: T, lastStateLossTime: T - 1, stuckSince: T - 2, job: JOB },
      `${BASE}#terminated#${T}`,
    ],
  ])('keys %s', (_, fields, expected) => {
    // Prepare
    const input = anchor(fields);

    // Act
    const key = incidentKey(input);

    // Assess
    expect(key).toBe(expected);
  });

  it.each([
    ['the first millisecond of a bucket', T, BUCKET],
    ['the last millisecond of a bucket', T + INCIDENT_BUCKET_MS - 1, BUCKET],
    ['the first millisecond of the next bucket', T + INCIDENT_BUCKET_MS, BUCKET + 1],
  ])('puts an observation at %s in its 15-minute bucket', (_, observedAt, bucket) => {
    // Prepare
    const input = anchor({ observedAt, code: 'C' });

    // Act
    const key = incidentKey(input);

    // Assess
    expect(key).toBe(`${BASE}#termination#C#b${bucket}`);
  });

  it('refuses an incident with neither a cluster nor a job run', () => {
    // Prepare
    const input = anchor({ clusterId: undefined });

    // Act
    const act = () => incidentKey(input);

    // Assess
    expect(act).toThrow('an incident needs a cluster id or a job run');
  });
});

describe('incidentAliases', () => {
  it.each<[string, Partial<IncidentAnchor>, string[]]>([
    [
      'a termination known by both times, under its TERMINATING event',
      { terminatedTime: T, terminatingAt: T - 5 },
      [`${BASE}#terminating#${T - 5}`],
    ],
    ['a termination known only by terminated_time, under nothing else', { terminatedTime: T }, []],
    ['a termination known only by its TERMINATING event, under nothing else', { terminatingAt: T }, []],
    [
      'a driver loss whose key ignores both times, under nothing else',
      { kind: 'driver_loss', lastStateLossTime: T, terminatedTime: T, terminatingAt: T },
      [],
    ],
  ])('knows %s', (_, fields, expected) => {
    // Prepare
    const input = anchor(fields);

    // Act
    const aliases = incidentAliases(input);

    // Assess
    expect(aliases).toEqual(expected);
  });
});
