import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_SCENARIO_PATH,
  loadScenarioFile,
  parseScenario,
  ScenarioError,
} from '../../lib/simulator/scenario.ts';
import { call, fixture, startTestSimulator } from './support.ts';

interface InvalidCase {
  readonly name: string;
  readonly scenario: unknown;
  readonly field: string;
}

const invalid = fixture('invalid-scenarios.json') as InvalidCase[];

describe('scenario validation', () => {
  it.each(invalid.map((c) => [c.name, c.scenario, c.field] as const))(
    'rejects %s, naming the field',
    (_name, scenario, field) => {
      // Act
      const attempt = () => parseScenario(scenario);

      // Assess
      expect(attempt).toThrow(ScenarioError);
      try {
        attempt();
      } catch (error) {
        expect((error as ScenarioError).issues.some((issue) => issue.startsWith(`${field}:`))).toBe(true);
      }
    },
  );

  it('fills defaults for a minimal cluster', () => {
    // Act
    const scenario = parseScenario({ clusters: [{ cluster_id: 'minimal' }] });

    // Assess
    expect(scenario.clusters[0]).toMatchObject({ state: 'RUNNING', cluster_source: 'UI' });
    // The node type defaults in the workspace (i3.xlarge), unless a pool decides it.
    expect(scenario.clusters[0]?.node_type_id).toBeUndefined();
    expect(scenario.generate).toEqual([]);
  });

  it('names the file and the reason when a scenario file cannot be read or parsed', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'rca-scenario-'));
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"clusters": [');

    // Act
    const missing = loadScenarioFile(join(dir, 'missing.json'));
    const notJson = loadScenarioFile(broken);

    // Assess
    await expect(missing).rejects.toThrow(/cannot read scenario .*missing\.json: ENOENT/);
    await expect(notJson).rejects.toThrow(/broken\.json is not JSON/);
    await rm(dir, { recursive: true });
  });
});

describe('demo scenario', () => {
  let sim: Awaited<ReturnType<typeof startTestSimulator>>;
  beforeAll(async () => {
    sim = await startTestSimulator({ scenario: await loadScenarioFile(DEMO_SCENARIO_PATH) });
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each([
    ['test-cluster-123', 'Test Cluster'],
    ['test-cluster-456', 'Analytics Cluster'],
  ])('contains the seed example cluster %s (%s), terminated and startable', async (id, name) => {
    // Act
    const answer = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${id}`);

    // Assess
    expect(answer.body).toMatchObject({
      cluster_id: id,
      cluster_name: name,
      state: 'TERMINATED',
      cluster_source: 'UI',
    });
    expect(answer.body.termination_reason).toEqual(
      expect.objectContaining({ code: expect.any(String), type: expect.any(String) }),
    );
  });

  it('contains realistic clusters: UI ids, a job cluster, a SPOT_WITH_FALLBACK cluster', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.1/clusters/list');

    // Assess
    const clusters = answer.body.clusters as {
      cluster_id: string;
      cluster_source: string;
      aws_attributes?: { availability?: string };
    }[];
    expect(
      clusters.some((c) => /^\d{4}-\d{6}-[a-z0-9]{8}$/.test(c.cluster_id) && c.cluster_source === 'UI'),
    ).toBe(true);
    expect(clusters.some((c) => c.cluster_source === 'JOB')).toBe(true);
    expect(clusters.some((c) => c.aws_attributes?.availability === 'SPOT_WITH_FALLBACK')).toBe(true);
  });

  it('contains a failed job run on an existing all-purpose cluster', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.2/jobs/runs/get?run_id=455644833');

    // Assess
    expect(answer.body).toMatchObject({
      state: { result_state: 'FAILED' },
      tasks: [
        {
          existing_cluster_id: '0923-164208-meows279',
          cluster_instance: { spark_context_id: '4348585301701786933' },
        },
        {},
      ],
    });
  });
});

describe('generated clusters', () => {
  it('generates the same workspace from the same seed', async () => {
    // Prepare
    const scenario = { seed: 5, generate: { count: 20, states: { RUNNING: 1, TERMINATED: 1 } } };
    const a = await startTestSimulator({ scenario });
    const b = await startTestSimulator({ scenario });

    // Act
    const [first, second] = await Promise.all([a, b].map((s) => call(s, 'GET', '/api/2.1/clusters/list')));
    await Promise.all([a.close(), b.close()]);

    // Assess
    expect(first?.body).toEqual(second?.body);
    expect(first?.body.clusters).toHaveLength(20);
  });
});
