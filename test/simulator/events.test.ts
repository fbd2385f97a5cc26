import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { call, fixture, SIM_START, startTestSimulator } from './support.ts';

const CLUSTER = '0115-110000-running1';

interface Event {
  cluster_id: string;
  timestamp: number;
  type: string;
  details: Record<string, unknown>;
}

describe('simulated clusters/events', () => {
  let sim: RunningSimulator;
  const events = (body: Record<string, unknown>) =>
    call(sim, 'POST', '/api/2.1/clusters/events', { cluster_id: CLUSTER, ...body });

  beforeAll(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
    // A history: 3 restarts, a resize, a driver crash, then a termination.
    for (let i = 0; i < 3; i++) {
      await call(sim, 'POST', '/api/2.1/clusters/restart', { cluster_id: CLUSTER });
      sim.admin.advance(120_000);
    }
    await call(sim, 'POST', '/api/2.1/clusters/resize', { cluster_id: CLUSTER, num_workers: 4 });
    sim.admin.advance(60_000);
    sim.admin.crashDriver(CLUSTER);
    sim.admin.advance(60_000);
    sim.admin.failCluster(CLUSTER, {
      code: 'COMMUNICATION_LOST',
      type: 'CLOUD_FAILURE',
      parameters: { instance_id: 'i-0abc' },
    });
    sim.admin.advance(30_000);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('returns the newest events first by default', async () => {
    // Act
    const answer = await events({});

    // Assess
    const list = answer.body.events as Event[];
    const times = list.map((e) => e.timestamp);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(list[0]).toMatchObject({
      cluster_id: CLUSTER,
      type: 'TERMINATING',
      details: {
        reason: { code: 'COMMUNICATION_LOST', type: 'CLOUD_FAILURE', parameters: { instance_id: 'i-0abc' } },
      },
    });
  });

  it('records the whole history in order, oldest first with order ASC', async () => {
    // Act
    const answer = await events({ order: 'ASC', start_time: SIM_START });

    // Assess
    expect((answer.body.events as Event[]).map((e) => e.type)).toEqual([
      'RESTARTING',
      'RUNNING',
      'RESTARTING',
      'RUNNING',
      'RESTARTING',
      'RUNNING',
      'RESIZING',
      'UPSIZE_COMPLETED',
      'DRIVER_NOT_RESPONDING',
      'DRIVER_HEALTHY',
      'TERMINATING',
    ]);
  });

  it('never records a TERMINATED event (the reason rides on TERMINATING)', async () => {
    // Act
    const answer = await events({ page_size: 500 });

    // Assess
    expect((answer.body.events as Event[]).some((e) => e.type === 'TERMINATED')).toBe(false);
  });

  it('filters by event_types', async () => {
    // Act
    const answer = await events({ event_types: ['RESTARTING', 'DRIVER_NOT_RESPONDING'] });

    // Assess
    const types = (answer.body.events as Event[]).map((e) => e.type);
    expect(types).toEqual(['DRIVER_NOT_RESPONDING', 'RESTARTING', 'RESTARTING', 'RESTARTING']);
  });

  it('filters by start_time and end_time (inclusive)', async () => {
    // Act
    const answer = await events({
      start_time: SIM_START + 120_000,
      end_time: SIM_START + 240_000,
      order: 'ASC',
    });

    // Assess
    expect((answer.body.events as Event[]).map((e) => [e.type, e.timestamp - SIM_START])).toEqual([
      ['RUNNING', 120_000],
      ['RESTARTING', 120_000],
      ['RUNNING', 240_000],
      ['RESTARTING', 240_000],
    ]);
  });

  it.each([
    ['DESC', 'DESC'],
    ['ASC', 'ASC'],
  ])('pages with next_page_token in %s order without gaps or repeats', async (_name, order) => {
    // Prepare
    const all = (await events({ order, page_size: 500 })).body.events as Event[];

    // Act
    const paged: Event[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = (await events({ order, page_size: 3, ...(token ? { page_token: token } : {}) })).body;
      paged.push(...(page.events as Event[]));
      token = page.next_page_token;
      pages++;
    } while (token);

    // Assess
    expect(all.length).toBeGreaterThan(12);
    expect(pages).toBe(Math.ceil(all.length / 3));
    expect(paged).toEqual(all);
  });

  it('records EDITED with the attributes, and the sizes apart in previous_cluster_size and cluster_size', async () => {
    // Prepare
    await call(sim, 'POST', '/api/2.1/clusters/edit', {
      cluster_id: '0115-110000-stopped2',
      spark_version: '15.4.x-scala2.12',
      node_type_id: 'r5d.xlarge',
      num_workers: 2,
    });

    // Act
    const answer = await call(sim, 'POST', '/api/2.1/clusters/events', {
      cluster_id: '0115-110000-stopped2',
      event_types: ['EDITED'],
    });

    // Assess
    const [edited] = answer.body.events as Event[];
    expect(edited?.details).toMatchObject({
      previous_attributes: { spark_version: '14.3.x-scala2.12', node_type_id: 'r5d.2xlarge' },
      attributes: { spark_version: '15.4.x-scala2.12', node_type_id: 'r5d.xlarge' },
      previous_cluster_size: { autoscale: { min_workers: 2, max_workers: 6 } },
      cluster_size: { num_workers: 2 },
      user: expect.any(String),
    });
    // ClusterAttributes carry no size (api-facts §3.1).
    for (const attributes of [edited?.details.previous_attributes, edited?.details.attributes]) {
      expect(attributes).not.toHaveProperty('num_workers');
      expect(attributes).not.toHaveProperty('autoscale');
    }
  });

  it('answers the deprecated offset/limit form with total_count and next_page', async () => {
    // Act
    const answer = await events({ order: 'DESC', offset: 2, limit: 3, end_time: SIM_START + 86_400_000 });

    // Assess
    expect(answer.body.events).toHaveLength(3);
    expect(answer.body.total_count).toBeGreaterThan(5);
    expect(answer.body.next_page).toMatchObject({ cluster_id: CLUSTER, offset: 5, limit: 3 });
  });

  it.each([
    ['an unknown order', { order: 'SIDEWAYS' }],
    ['a malformed page token', { page_token: '%%%' }],
    ['event_types that are not a list', { event_types: 'RUNNING' }],
  ])('rejects %s', async (_name, body) => {
    // Act
    const answer = await events(body);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});
