import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { call, fixture, startTestSimulator } from './support.ts';

interface Page {
  clusters: { cluster_id: string; state: string; cluster_source: string; spec?: unknown }[];
  next_page_token?: string;
}

async function listAll(
  sim: RunningSimulator,
  query: string,
): Promise<{ ids: string[]; pages: number; states: string[] }> {
  const ids: string[] = [];
  const states: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const answer = await call(
      sim,
      'GET',
      `/api/2.1/clusters/list?${query}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
    );
    expect(answer.status).toBe(200);
    const page = answer.body as Page;
    pages++;
    for (const cluster of page.clusters) {
      ids.push(cluster.cluster_id);
      states.push(cluster.state);
    }
    token = page.next_page_token;
  } while (token);
  return { ids, pages, states };
}

describe('simulated clusters/list (API 2.1)', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startTestSimulator({ scenario: fixture('generated-1200.json') as object });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('pages through 1,200 clusters 100 at a time, each exactly once', async () => {
    // Act
    const { ids, pages } = await listAll(sim, 'page_size=100');

    // Assess
    expect(pages).toBe(12);
    expect(ids).toHaveLength(1200);
    expect(new Set(ids).size).toBe(1200);
  });

  it.each([
    ['absent', '', 100],
    ['0', 'page_size=0', 100],
    ['above the maximum', 'page_size=1000', 100],
    ['small', 'page_size=7', 7],
  ])('uses a page of the right size when page_size is %s', async (_name, query, expected) => {
    // Act
    const answer = await call(sim, 'GET', `/api/2.1/clusters/list?${query}`);

    // Assess
    expect(answer.body.clusters).toHaveLength(expected);
    expect(answer.body.next_page_token).toEqual(expect.any(String));
  });

  it.each([
    ['filter_by.cluster_states=TERMINATED', (c: { state: string }) => c.state === 'TERMINATED'],
    [
      'filter_by.cluster_states=RUNNING&filter_by.cluster_states=PENDING',
      (c: { state: string }) => c.state === 'RUNNING' || c.state === 'PENDING',
    ],
    ['filter_by.cluster_sources=JOB', (c: { cluster_source: string }) => c.cluster_source === 'JOB'],
  ])('filters with %s across every page', async (filter, predicate) => {
    // Prepare
    const everything: Page['clusters'] = [];
    let token: string | undefined;
    do {
      const page = (
        await call(sim, 'GET', `/api/2.1/clusters/list?page_size=100${token ? `&page_token=${token}` : ''}`)
      ).body as Page;
      everything.push(...page.clusters);
      token = page.next_page_token;
    } while (token);
    const expected = everything
      .filter(predicate as (c: Page['clusters'][number]) => boolean)
      .map((c) => c.cluster_id);

    // Act
    const { ids } = await listAll(sim, `page_size=100&${filter}`);

    // Assess
    expect(expected.length).toBeGreaterThan(50);
    expect(ids).toEqual(expected);
  });

  it('returns the newest clusters first with sort_by.direction=DESC', async () => {
    // Prepare
    const ascending = await listAll(sim, 'page_size=100');

    // Act
    const descending = await listAll(sim, 'page_size=100&sort_by.direction=DESC');

    // Assess
    expect(descending.ids).toEqual([...ascending.ids].reverse());
  });

  it('sorts by cluster name', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.1/clusters/list?page_size=5&sort_by.field=CLUSTER_NAME');

    // Assess
    const names = (answer.body.clusters as { cluster_name: string }[]).map((c) => c.cluster_name);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });

  it('leaves spec out of list results', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.1/clusters/list?page_size=3');

    // Assess
    expect((answer.body as Page).clusters.every((c) => c.spec === undefined)).toBe(true);
  });

  it.each([
    ['a malformed page token', 'page_token=not-a-token'],
    ['a token of another filter', 'filter_by.cluster_states=RUNNING&page_token=TOKEN'],
    ['an unknown state', 'filter_by.cluster_states=STARTING'],
    ['an unknown source', 'filter_by.cluster_sources=NOTEBOOK'],
    ['a negative page size', 'page_size=-1'],
  ])('rejects %s with 400 INVALID_PARAMETER_VALUE', async (_name, query) => {
    // Prepare
    const first = await call(sim, 'GET', '/api/2.1/clusters/list?page_size=10');
    const resolved = query.replace('TOKEN', encodeURIComponent(first.body.next_page_token));

    // Act
    const answer = await call(sim, 'GET', `/api/2.1/clusters/list?${resolved}`);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('keeps paging stable when clusters are added between pages', async () => {
    // Prepare
    const first = (await call(sim, 'GET', '/api/2.1/clusters/list?page_size=100')).body as Page;
    sim.admin.loadScenario({ generate: { count: 3 } });

    // Act
    const second = (
      await call(
        sim,
        'GET',
        `/api/2.1/clusters/list?page_size=100&page_token=${encodeURIComponent(first.next_page_token ?? '')}`,
      )
    ).body as Page;

    // Assess
    const firstIds = new Set(first.clusters.map((c) => c.cluster_id));
    expect(second.clusters).toHaveLength(100);
    expect(second.clusters.some((c) => firstIds.has(c.cluster_id))).toBe(false);
  });
});

describe('simulated clusters/list retention and legacy 2.0', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('lists pinned clusters and hides clusters terminated more than 30 days ago', async () => {
    // Act
    const { ids } = await listAll(sim, '');

    // Assess
    expect(ids).toContain('0115-110000-pinned05');
    expect(ids).not.toContain('0115-110000-expired6');
  });

  it('answers the 2.0 list without pagination, leaving out clusters terminated more than 30 days ago', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.0/clusters/list');

    // Assess
    expect(answer.body.clusters).toHaveLength(5);
    expect(answer.body.clusters.map((c: { cluster_id: string }) => c.cluster_id)).not.toContain(
      '0115-110000-expired6',
    );
    expect(answer.body.next_page_token).toBeUndefined();
  });
});

describe('simulated clusters/list with 10,000 clusters', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startTestSimulator({ scenario: fixture('generated-10000.json') as object });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('holds 10,000 clusters and lists them in 100 calls', async () => {
    // Act
    const { ids, pages } = await listAll(sim, 'page_size=100');

    // Assess
    expect(pages).toBe(100);
    expect(new Set(ids).size).toBe(10_000);
  });
});
