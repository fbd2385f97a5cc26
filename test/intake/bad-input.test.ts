import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestShape } from '../../lib/local/api-gateway.ts';
import { useHarmLedger } from '../support/harms.ts';
import { createIntakeHarness, type IntakeHarness } from '../support/intake-harness.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const event = (cluster: unknown) => JSON.stringify({ event: 'cluster.terminated', cluster });
const job = (body: Record<string, unknown>) =>
  JSON.stringify({ event_type: 'jobs.on_failure', run: { run_id: 1 }, job: { job_id: 2 }, ...body });

interface BadInput {
  readonly name: string;
  readonly request: Omit<RequestShape, 'path'> & { path?: string };
  readonly status: number;
  /** A fragment the response must contain, naming the problem. */
  readonly says: string;
}

const BAD_INPUTS: readonly BadInput[] = [
  {
    name: 'text/plain body',
    request: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' },
    status: 415,
    says: 'Content-Type must be application/json',
  },
  {
    name: 'no content type',
    request: { method: 'POST', headers: {}, body: '{"event":"test"}' },
    status: 415,
    says: "'(none)'",
  },
  {
    name: 'XML',
    request: { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<event/>' },
    status: 415,
    says: 'application/xml',
  },
  {
    name: 'form data',
    request: {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'event=test',
    },
    status: 415,
    says: 'x-www-form-urlencoded',
  },
  {
    name: 'malformed JSON',
    request: { method: 'POST', headers: JSON_TYPE, body: '{"event": ' },
    status: 400,
    says: 'not valid JSON',
  },
  {
    name: 'an empty body',
    request: { method: 'POST', headers: JSON_TYPE, body: '' },
    status: 400,
    says: 'a JSON object is required',
  },
  {
    name: 'invalid UTF-8',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: Buffer.from([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    },
    status: 400,
    says: 'not valid UTF-8',
  },
  {
    name: 'a JSON array',
    request: { method: 'POST', headers: JSON_TYPE, body: '[{"event":"test"}]' },
    status: 400,
    says: 'got an array',
  },
  {
    name: 'a JSON string',
    request: { method: 'POST', headers: JSON_TYPE, body: '"test"' },
    status: 400,
    says: 'got a string',
  },
  {
    name: 'JSON null',
    request: { method: 'POST', headers: JSON_TYPE, body: 'null' },
    status: 400,
    says: 'got null',
  },
  {
    name: 'a JSON number',
    request: { method: 'POST', headers: JSON_TYPE, body: '42' },
    status: 400,
    says: 'got a number',
  },
  {
    name: 'a deeply nested body',
    request: { method: 'POST', headers: JSON_TYPE, body: `{"event":${'['.repeat(5000)}${']'.repeat(5000)}}` },
    status: 400,
    says: 'levels deep',
  },
  {
    name: 'a huge body',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ event: 'test', pad: 'x'.repeat(100_000) }),
    },
    status: 413,
    says: 'at most 65536',
  },
  {
    name: 'no discriminator',
    request: { method: 'POST', headers: JSON_TYPE, body: '{"cluster":{"cluster_id":"a"}}' },
    status: 400,
    says: "expected 'event'",
  },
  {
    name: 'an unknown event',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"event":"cluster.created","cluster":{"cluster_id":"a"}}',
    },
    status: 400,
    says: 'event: expected one of',
  },
  {
    name: 'a numeric event',
    request: { method: 'POST', headers: JSON_TYPE, body: '{"event":1}' },
    status: 400,
    says: 'event: expected one of',
  },
  {
    name: 'a missing cluster',
    request: { method: 'POST', headers: JSON_TYPE, body: '{"event":"cluster.terminated"}' },
    status: 400,
    says: 'cluster:',
  },
  {
    name: 'a cluster that is a string',
    request: { method: 'POST', headers: JSON_TYPE, body: event('abc') },
    status: 400,
    says: 'cluster:',
  },
  {
    name: 'a missing cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({}) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'an empty cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: '' }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'a fractional cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: 1.5 }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'a 300-character cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: 'a'.repeat(300) }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'SQL injection in the cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: "x'; DROP TABLE tickets;--" }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'a NoSQL operator as cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: { $ne: null } }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'script injection in the code',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: event({ cluster_id: 'a', termination_reason: { code: '<script>alert(1)</script>' } }),
    },
    status: 400,
    says: 'cluster.termination_reason.code',
  },
  {
    name: 'unicode in the cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: 'クラスター' }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'a right-to-left override in the cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: 'abc\u202Edef' }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'a NUL byte in the cluster id',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: 'abc\u0000' }) },
    status: 400,
    says: 'cluster.cluster_id',
  },
  {
    name: 'a termination reason that is a string',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: event({ cluster_id: 'a', termination_reason: 'DRIVER_UNREACHABLE' }),
    },
    status: 400,
    says: 'cluster.termination_reason',
  },
  {
    name: 'a numeric code',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: event({ cluster_id: 'a', termination_reason: { code: 42 } }),
    },
    status: 400,
    says: 'cluster.termination_reason.code',
  },
  {
    name: 'nested parameters',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: event({ cluster_id: 'a', termination_reason: { parameters: { a: { b: 1 } } } }),
    },
    status: 400,
    says: 'cluster.termination_reason.parameters.a',
  },
  {
    name: 'a negative terminated_time',
    request: { method: 'POST', headers: JSON_TYPE, body: event({ cluster_id: 'a', terminated_time: -5 }) },
    status: 400,
    says: 'cluster.terminated_time',
  },
  {
    name: 'a timestamp beyond any date',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ event: 'cluster.terminated', timestamp: 9e15, cluster: { cluster_id: 'a' } }),
    },
    status: 400,
    says: 'timestamp: must not be more than a day in the future',
  },
  {
    name: 'a string terminated_time',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: event({ cluster_id: 'a', terminated_time: 'yesterday' }),
    },
    status: 400,
    says: 'cluster.terminated_time',
  },
  {
    name: 'an unknown event_type',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"event_type":"jobs.on_party","run":{"run_id":1},"job":{"job_id":1}}',
    },
    status: 400,
    says: 'event_type',
  },
  {
    name: 'a homoglyph event_type',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"event_type":"jobs.on_fаilure","run":{"run_id":1},"job":{"job_id":1}}',
    },
    status: 400,
    says: 'event_type',
  },
  {
    name: 'a missing run',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"event_type":"jobs.on_failure","job":{"job_id":1}}',
    },
    status: 400,
    says: 'run:',
  },
  {
    name: 'a boolean run id',
    request: { method: 'POST', headers: JSON_TYPE, body: job({ run: { run_id: true } }) },
    status: 400,
    says: 'run.run_id',
  },
  {
    name: 'a negative run id',
    request: { method: 'POST', headers: JSON_TYPE, body: job({ run: { run_id: -1 } }) },
    status: 400,
    says: 'run.run_id',
  },
  {
    name: 'a missing job',
    request: {
      method: 'POST',
      headers: JSON_TYPE,
      body: '{"event_type":"jobs.on_failure","run":{"run_id":1}}',
    },
    status: 400,
    says: 'job:',
  },
  {
    name: 'an empty task key',
    request: { method: 'POST', headers: JSON_TYPE, body: job({ task: { task_key: '' } }) },
    status: 400,
    says: 'task.task_key',
  },
  {
    name: 'an unknown workspace',
    request: { method: 'POST', headers: JSON_TYPE, body: job({ workspace_id: '999' }) },
    status: 400,
    says: "'999' is not configured",
  },
  {
    name: 'a workspace in the path that is not configured',
    request: {
      method: 'POST',
      path: '/databricks-monitor/nope',
      headers: JSON_TYPE,
      body: job({}),
    },
    status: 400,
    says: "'nope' in the path is not configured",
  },
  {
    name: 'a run that does not exist',
    request: { method: 'POST', headers: JSON_TYPE, body: job({ run: { run_id: 31337 } }) },
    status: 422,
    says: 'does not exist',
  },
  {
    name: 'a GET on the webhook path',
    request: { method: 'GET', headers: {} },
    status: 405,
    says: 'not supported',
  },
  {
    name: 'a PUT on the webhook path',
    request: { method: 'PUT', headers: JSON_TYPE, body: '{"event":"test"}' },
    status: 405,
    says: 'not supported',
  },
];

describe('intake: bad input gets a clear 4xx and writes nothing', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  it('covers at least 30 bad inputs', () => {
    // Assess
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD_INPUTS)('rejects $name with $status', async ({ request, status, says }) => {
    // Prepare
    const before = await h.items();
    const starts = h.workflow.starts.length;

    // Act
    const res = await h.send({
      path: '/databricks-monitor',
      ...request,
      headers: { 'x-api-key': h.keys.current, ...request.headers },
    });

    // Assess
    expect(res.statusCode).toBe(status);
    expect(JSON.stringify(res.body)).toContain(says);
    expect(await h.items()).toEqual(before);
    expect(h.workflow.starts.length).toBe(starts);
  });
});
