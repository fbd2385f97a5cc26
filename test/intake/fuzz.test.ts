/**
 * Property-based fuzzing of the real intake handler (DynamoDB Local, the Databricks simulator): at
 * least 10,000 generated and mutated bodies per run, sent in batches in-process. Whatever arrives,
 * no answer is a 5xx, no ticket comes from a refused body or names a cluster that does not exist, and
 * refused bodies sent again change nothing stored.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIntakeHarness,
  fixture,
  type IntakeHarness,
  type Response,
} from '../support/intake-harness.ts';

const BODIES = 10_000;
const CONCURRENCY = 25;
const SCENARIO = fixture('intake/scenario.json') as { clusters: { cluster_id: string }[] };
const EXISTING = SCENARIO.clusters.map((cluster) => cluster.cluster_id);
const MISSING = ['no-such-cluster-1', '0000-000000-missing0', 'x'];

/** Bodies close to what arrives, to mutate: the seed's events, a job notification, the connectivity test. */
const BASES: readonly Record<string, unknown>[] = [
  fixture('seed/test1-driver-unreachable.json') as Record<string, unknown>,
  fixture('seed/test2-insufficient-capacity.json') as Record<string, unknown>,
  fixture('seed/connectivity-test.json') as Record<string, unknown>,
  { event_type: 'jobs.on_failure', run: { run_id: 455644833 }, job: { job_id: 11223344 } },
  {
    event_type: 'jobs.on_failure',
    run: { run_id: 91, parent_run_id: 455644833 },
    job: { job_id: '11223344' },
    task: { task_key: 'Orders_Ingest' },
  },
  { event: 'cluster.failed_to_start', cluster: { cluster_id: '0303-030303-nocode01' } },
];

const PATHS: readonly (readonly string[])[] = [
  ['event'],
  ['event_type'],
  ['workspace_id'],
  ['timestamp'],
  ['extra'],
  ['constructor'],
  [''],
  ['cluster'],
  ['cluster', 'cluster_id'],
  ['cluster', 'cluster_name'],
  ['cluster', 'state'],
  ['cluster', 'state_message'],
  ['cluster', 'terminated_time'],
  ['cluster', 'cluster_source'],
  ['cluster', 'spark_context_id'],
  ['cluster', 'pass_through'],
  ['cluster', 'termination_reason'],
  ['cluster', 'termination_reason', 'code'],
  ['cluster', 'termination_reason', 'type'],
  ['cluster', 'termination_reason', 'extra'],
  ['cluster', 'termination_reason', 'parameters'],
  ['cluster', 'termination_reason', 'parameters', 'constructor'],
  ['cluster', 'termination_reason', 'parameters', ''],
  ['cluster', 'termination_reason', 'parameters', '__proto__'],
  ['cluster', 'termination_reason', 'parameters', 'instance_id'],
  ['run', 'run_id'],
  ['run', 'parent_run_id'],
  ['job', 'job_id'],
  ['job', 'name'],
  ['task', 'task_key'],
];

const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: [nested(depth - 1)] });

/** Values that broke stores and parsers before, and some that should simply work. */
const interesting = fc.constantFrom<unknown>(
  1e300,
  -1e300,
  5e-324,
  Number.MAX_VALUE,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  0,
  -1,
  1.5,
  Date.now(),
  Date.now() + 3 * 86_400_000,
  1_000_000_000,
  '',
  ' ',
  '..',
  '.',
  '../../etc',
  'constructor',
  '__proto__',
  '\ud800',
  'é'.repeat(2000),
  null,
  true,
  [],
  {},
  { '': 1 },
  { constructor: 'x', __proto__: 'y' },
  nested(20),
  nested(40),
  'DRIVER_UNREACHABLE',
  'CLIENT_ERROR',
  'cluster.terminated',
  'jobs.on_failure',
  '1234567890123456',
  ...EXISTING,
  ...MISSING,
);

/** Number literals JSON.stringify cannot produce: swapped into the text for a sentinel. */
const RAW_NUMBER = '"__RAW_NUMBER__"';
const rawNumbers = fc.constantFrom(
  '1e999',
  '-1e999',
  '123456789012345678901234567890',
  '1e-400',
  '-0',
  '4.9e-324',
  '9007199254740993',
);

type Mutation =
  | { readonly kind: 'set'; readonly path: readonly string[]; readonly value: unknown }
  | { readonly kind: 'delete'; readonly path: readonly string[] };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    path: fc.constantFrom(...PATHS),
    value: fc.oneof(
      { weight: 3, arbitrary: interesting },
      fc.jsonValue({ maxDepth: 3 }),
      fc.constant(RAW_NUMBER.slice(1, -1)),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...PATHS) }),
);

function mutate(base: Record<string, unknown>, mutations: readonly Mutation[]): Record<string, unknown> {
  const body = structuredClone(base);
  for (const m of mutations) {
    let node: Record<string, unknown> = body;
    for (const key of m.path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        if (m.kind === 'delete') break;
        const created: Record<string, unknown> = {};
        Object.defineProperty(node, key, {
          value: created,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        node = created;
      } else node = next as Record<string, unknown>;
    }
    const last = m.path[m.path.length - 1] ?? '';
    if (m.kind === 'delete') delete node[last];
    else
      Object.defineProperty(node, last, {
        // A copy: the same generated value set at a path and again inside it would close a cycle.
        value: structuredClone(m.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return body;
}

/** A body as text: a mutated base, a well-formed event about any cluster, or arbitrary JSON. */
const bodyText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), rawNumbers)
      .map(([base, mutations, raw]) => JSON.stringify(mutate(base, mutations)).replaceAll(RAW_NUMBER, raw)),
  },
  {
    weight: 2,
    arbitrary: fc
      .record(
        {
          event: fc.constantFrom('cluster.terminated', 'cluster.failed_to_start', 'cluster.restarting'),
          cluster: fc.record(
            {
              cluster_id: fc.constantFrom(...EXISTING, ...MISSING),
              termination_reason: fc.record(
                {
                  code: fc.constantFrom(
                    'DRIVER_UNREACHABLE',
                    'CLOUD_PROVIDER_SHUTDOWN',
                    'UNKNOWN',
                    'USER_REQUEST',
                  ),
                  type: fc.constantFrom('CLIENT_ERROR', 'SERVICE_FAULT', 'CLOUD_FAILURE', 'SUCCESS'),
                  parameters: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), interesting), {
                    maxKeys: 3,
                  }),
                },
                { requiredKeys: [] },
              ),
              terminated_time: fc.oneof(
                fc.integer({ min: 0, max: Date.now() + 5 * 86_400_000 }),
                interesting,
              ),
            },
            { requiredKeys: ['cluster_id'] },
          ),
          workspace_id: fc.oneof(fc.constantFrom('1234567890123456', 'default', 'other'), interesting),
        },
        { requiredKeys: ['event', 'cluster'] },
      )
      .map((body) => JSON.stringify(body)),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
);

describe('intake fuzz: generated and mutated bodies against the real handler', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness({ keysMaxAgeSeconds: 600 });
  });
  afterAll(async () => {
    await h.close();
  });

  it(`answers ${BODIES} bodies without a 5xx, and tickets only what exists and was accepted`, async () => {
    // Prepare
    const seed = Date.now() % 2 ** 31;
    const bodies = fc.sample(bodyText, { numRuns: BODIES, seed });
    const answers: { body: string; res: Response }[] = [];

    // Act
    for (let i = 0; i < bodies.length; i += CONCURRENCY) {
      const batch = bodies.slice(i, i + CONCURRENCY);
      answers.push(...(await Promise.all(batch.map(async (body) => ({ body, res: await h.post(body) })))));
    }
    const refused = answers.filter((a) => a.res.statusCode >= 400 && a.res.statusCode < 500);
    const before = await h.items();
    for (let i = 0; i < refused.length && i < 2000; i += CONCURRENCY) {
      await Promise.all(refused.slice(i, i + CONCURRENCY).map((a) => h.post(a.body)));
    }
    const after = await h.items();

    // Assess
    const context = `fast-check seed ${seed}`;
    expect(bodies.length, context).toBeGreaterThanOrEqual(BODIES);
    const serverErrors = answers.filter((a) => a.res.statusCode >= 500);
    expect(
      serverErrors.slice(0, 5).map((a) => `${a.res.statusCode} ${a.body.slice(0, 300)}`),
      context,
    ).toEqual([]);
    expect(
      refused.filter((a) => a.res.body.ticket_id != null),
      context,
    ).toEqual([]);
    const answered = new Set(answers.map((a) => a.res.body.ticket_id).filter((id) => typeof id === 'string'));
    const tickets = after.filter((item) => item.sk === 'TICKET');
    expect(
      tickets.filter((t) => !answered.has(String(t.ticketId))).map((t) => t.ticketId),
      context,
    ).toEqual([]);
    expect(
      tickets.filter((t) => t.clusterId !== undefined && !EXISTING.includes(String(t.clusterId))),
      context,
    ).toEqual([]);
    // Refused input, sent again, changes nothing stored: no ticket, no number, no audit entry.
    expect(after, context).toEqual(before);
    // The fuzzing reached the ticket path, not only the schema.
    expect(tickets.length, context).toBeGreaterThan(0);
    expect(refused.length, context).toBeGreaterThan(BODIES / 10);
  }, 240_000);
});
