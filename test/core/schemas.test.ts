import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.ts';
import { parseInbound } from '../../functions/core/inbound.ts';
import { parseJson } from '../../functions/core/json.ts';
import {
  ApiErrorBodySchema,
  ClusterDetailsSchema,
  ClusterEventsResponseSchema,
  RunSchema,
} from '../../functions/core/schemas/databricks.ts';
import { withDigitIds } from '../support/intake-harness.ts';

const EXAMPLES = join(import.meta.dirname, '../fixtures/databricks/examples');
const readExample = (name: string): unknown => parseJson(readFileSync(join(EXAMPLES, name), 'utf8'));

// Which schema reads each reference example; requests and the MLflow payload are not inbound shapes.
const SCHEMA_BY_PREFIX: readonly [string, (body: unknown) => unknown][] = [
  ['api-error-', (b) => ApiErrorBodySchema.parse(b)],
  ['clusters-events-response-', (b) => ClusterEventsResponseSchema.parse(b)],
  ['clusters-get-', (b) => ClusterDetailsSchema.parse(b)],
  ['jobs-runs-get-', (b) => RunSchema.parse(b)],
  ['job-webhook-notification-', (b) => parseInbound(withDigitIds(b))],
];

describe('reference examples', () => {
  const files = readdirSync(EXAMPLES).filter((f) => SCHEMA_BY_PREFIX.some(([p]) => f.startsWith(p)));

  it('covers every kind of example the system reads', () => {
    // Assess
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('parses %s', (file) => {
    // Prepare
    const parse = SCHEMA_BY_PREFIX.find(([prefix]) => file.startsWith(prefix))?.[1];

    // Act
    const result = parse?.(readExample(file));

    // Assess
    expect(result).toBeDefined();
  });

  it("refuses the documentation's placeholder ids, naming each field", () => {
    // Prepare
    const body = readExample('job-webhook-notification-job-on-failure.json');

    // Act
    const act = () => parseInbound(body);

    // Assess
    expect(act).toThrow(/run\.run_id: must be a decimal number.*job\.job_id: must be a decimal number/);
  });

  it('keeps an int64 spark_context_id beyond the safe range exact', () => {
    // Prepare
    const body = readExample('clusters-get-terminated-inactivity.json');

    // Act
    const cluster = ClusterDetailsSchema.parse(body);

    // Assess
    expect(cluster.spark_context_id).toBe('4020997813441462000');
  });

  it('keeps unknown fields of a cluster', () => {
    // Act
    const cluster = ClusterDetailsSchema.parse(readExample('clusters-get-terminated-inactivity.json'));

    // Assess
    expect(cluster).toHaveProperty('disk_spec');
    expect(cluster).toHaveProperty('init_scripts_safe_mode', false);
  });

  it('normalises job ids sent as numbers or strings to strings', () => {
    // Act
    const numeric = parseInbound({ event_type: 'jobs.on_failure', run: { run_id: 42 }, job: { job_id: 7 } });
    const text = parseInbound({ event_type: 'jobs.on_failure', run: { run_id: '42' }, job: { job_id: '7' } });

    // Assess
    expect(numeric).toEqual(text);
    expect(numeric.kind === 'job_notification' && numeric.payload.run.run_id).toBe('42');
  });
});

describe('parseJson', () => {
  it('keeps integers beyond the safe range as exact strings and leaves others alone', () => {
    // Act
    const value = parseJson('{"big": 9007199254740993, "small": 12, "float": 1.5, "neg": -9007199254740993}');

    // Assess
    expect(value).toEqual({ big: '9007199254740993', small: 12, float: 1.5, neg: '-9007199254740993' });
  });

  it('rejects nesting deeper than the limit before parsing', () => {
    // Prepare
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;

    // Act / Assess
    expect(() => parseJson(deep)).toThrow(/nested 100 levels deep/);
  });

  it('ignores brackets inside strings when measuring depth', () => {
    // Act
    const value = parseJson(JSON.stringify({ text: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' }));

    // Assess
    expect(value).toEqual({ text: '['.repeat(40) });
  });

  it('names the syntax problem of malformed JSON', () => {
    // Act / Assess
    expect(() => parseJson('{"event": ')).toThrow(/body is not valid JSON/);
  });
});

describe('parseInbound rejects malformed payloads naming the field', () => {
  it.each([
    ['a non-object body', [1, 2], '(body)'],
    ['a null body', null, '(body)'],
    ['no discriminator', { cluster: {} }, "'event'"],
    [
      'an unknown event',
      { event: 'cluster.created', cluster: { cluster_id: 'a' } },
      'event: expected one of',
    ],
    ['a numeric event', { event: 5 }, 'event: expected one of'],
    ['a missing cluster', { event: 'cluster.terminated' }, 'cluster:'],
    ['a missing cluster id', { event: 'cluster.terminated', cluster: {} }, 'cluster.cluster_id'],
    [
      'an empty cluster id',
      { event: 'cluster.terminated', cluster: { cluster_id: ' ' } },
      'cluster.cluster_id',
    ],
    [
      'a numeric termination code',
      { event: 'cluster.terminated', cluster: { cluster_id: 'a', termination_reason: { code: 5 } } },
      'cluster.termination_reason.code',
    ],
    [
      'object parameters',
      {
        event: 'cluster.terminated',
        cluster: { cluster_id: 'a', termination_reason: { parameters: { a: {} } } },
      },
      'cluster.termination_reason.parameters.a',
    ],
    [
      'a negative terminated_time',
      { event: 'cluster.terminated', cluster: { cluster_id: 'a', terminated_time: -1 } },
      'cluster.terminated_time',
    ],
    [
      'an unknown event_type',
      { event_type: 'jobs.on_party', run: { run_id: 1 }, job: { job_id: 1 } },
      'event_type',
    ],
    ['a missing run', { event_type: 'jobs.on_failure', job: { job_id: 1 } }, 'run:'],
    [
      'a fractional run id',
      { event_type: 'jobs.on_failure', run: { run_id: 1.5 }, job: { job_id: 1 } },
      'run.run_id',
    ],
    [
      'an unsafe numeric run id',
      { event_type: 'jobs.on_failure', run: { run_id: 2 ** 60 }, job: { job_id: 1 } },
      'run.run_id',
    ],
    [
      'a boolean job id',
      { event_type: 'jobs.on_failure', run: { run_id: 1 }, job: { job_id: true } },
      'job.job_id',
    ],
  ])('rejects %s', (_name, body, field) => {
    // Act
    let error: unknown;
    try {
      parseInbound(body);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain(field);
  });
});
