import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../lib/simulator/server.ts';
import { admin, call, fixture, SIM_START, startTestSimulator } from './support.ts';

const CLUSTER = '0115-110000-running1';

async function token(
  sim: RunningSimulator,
  clientId: string,
  clientSecret: string,
  grant = 'client_credentials',
) {
  const response = await fetch(`${sim.url}/oidc/v1/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=${grant}&scope=all-apis`,
  });
  return {
    status: response.status,
    body: (await response.json()) as { access_token: string; error?: string },
  };
}

describe('simulator authentication', () => {
  let sim: RunningSimulator;
  const secret = randomBytes(16).toString('hex');

  beforeEach(async () => {
    sim = await startTestSimulator({
      scenario: fixture('small-workspace.json') as object,
      token: `dapi${randomBytes(16).toString('hex')}`,
      oauthClients: [{ clientId: 'sp-test', clientSecret: secret }],
      oauthTokenTtlSeconds: 600,
    });
  });
  afterEach(async () => {
    await sim.close();
  });

  it.each([
    [
      'no credentials',
      null,
      401,
      {
        error_code: 'UNAUTHENTICATED',
        message: 'Credential was not sent or was of an unsupported type for this API.',
      },
    ],
    // A recorded real answer: 403 with a numeric error_code.
    ['a wrong token', 'dapi-wrong-token', 403, { error_code: 403, message: 'Invalid access token.' }],
  ])('answers %s with %i', async (_name, presented, status, body) => {
    // Act
    const answer = await call(
      sim,
      'GET',
      `/api/2.1/clusters/get?cluster_id=${CLUSTER}`,
      undefined,
      presented,
    );

    // Assess
    expect(answer).toMatchObject({ status, body });
  });

  it('issues a short-lived OAuth token for client credentials that the API then accepts', async () => {
    // Act
    const issued = await token(sim, 'sp-test', secret);
    const answer = await call(
      sim,
      'GET',
      `/api/2.1/clusters/get?cluster_id=${CLUSTER}`,
      undefined,
      issued.body.access_token,
    );

    // Assess
    expect(issued).toMatchObject({
      status: 200,
      body: { token_type: 'Bearer', expires_in: 600, scope: 'all-apis' },
    });
    expect(answer.status).toBe(200);
    expect(sim.admin.stats().tokensIssued).toBe(1);
  });

  it('rejects an OAuth token once it has expired on the simulated clock', async () => {
    // Prepare
    const issued = await token(sim, 'sp-test', secret);
    sim.admin.advance(600_000);

    // Act
    const answer = await call(
      sim,
      'GET',
      `/api/2.1/clusters/get?cluster_id=${CLUSTER}`,
      undefined,
      issued.body.access_token,
    );

    // Assess
    expect(answer).toMatchObject({
      status: 403,
      body: { error_code: 403, message: 'Invalid access token.' },
    });
  });

  it.each([
    ['a wrong secret', 'sp-test', 'not-the-secret', 'client_credentials', 401, 'invalid_client'],
    ['an unknown client', 'sp-other', secret, 'client_credentials', 401, 'invalid_client'],
    ['another grant type', 'sp-test', secret, 'password', 400, 'unsupported_grant_type'],
  ])('refuses a token request with %s', async (_name, clientId, clientSecret, grant, status, error) => {
    // Act
    const answer = await token(sim, clientId, clientSecret, grant);

    // Assess
    expect(answer).toMatchObject({ status, body: { error } });
  });

  it('protects the admin endpoint with the admin token', async () => {
    // Act
    const answer = await call(sim, 'GET', '/__admin/state', undefined, 'not-the-admin-token');

    // Assess
    expect(answer.status).toBe(401);
  });

  it('answers unknown endpoints with 404 ENDPOINT_NOT_FOUND', async () => {
    // Act
    const answer = await call(sim, 'GET', '/api/2.1/clusters/teleport');

    // Assess
    expect(answer).toMatchObject({ status: 404, body: { error_code: 'ENDPOINT_NOT_FOUND' } });
  });

  it.each([
    ['a known API path asked with another method', 'GET', '/api/2.1/clusters/start', 405],
    ['the cluster policies endpoint asked with POST', 'POST', '/api/2.0/policies/clusters/get', 405],
    ['a clusters operation under a version it does not have', 'GET', '/api/2.2/clusters/get', 404],
    ['a jobs operation under a version it does not have', 'GET', '/api/2.0/jobs/runs/get?run_id=1', 404],
    ['an admin cluster action asked with GET', 'GET', '/__admin/clusters/x/fail', 404],
    ['an unknown admin cluster action', 'POST', '/__admin/clusters/x/teleport', 404],
    ['an admin path asked with another method', 'POST', '/__admin/state', 404],
  ] as const)('answers %s with %i ENDPOINT_NOT_FOUND', async (_case, method, path, status) => {
    // Act
    const answer = await call(
      sim,
      method,
      path,
      undefined,
      path.startsWith('/__admin/') ? sim.adminToken : sim.token,
    );

    // Assess
    expect(answer).toMatchObject({ status, body: { error_code: 'ENDPOINT_NOT_FOUND' } });
  });

  it('rejects a malformed JSON body with 400 MALFORMED_REQUEST', async () => {
    // Act
    const response = await fetch(`${sim.url}/api/2.1/clusters/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.token}` },
      body: '{"cluster_id": ',
    });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error_code: string }).error_code).toBe('MALFORMED_REQUEST');
  });
});

describe('simulator admin endpoint', () => {
  let sim: RunningSimulator;
  beforeEach(async () => {
    sim = await startTestSimulator({ scenario: fixture('small-workspace.json') as object });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('reports the state: clock, clusters by state, faults and request statistics', async () => {
    // Prepare
    await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${CLUSTER}`);

    // Act
    const answer = await admin(sim, 'GET', 'state');

    // Assess
    expect(answer.body).toMatchObject({
      now: SIM_START,
      timeScale: 0,
      clusters: { total: 6, byState: { RUNNING: 2, TERMINATED: 4 } },
      jobs: 1,
      runs: 1,
      stats: { requests: { 'GET /api/2.1/clusters/get': 1 }, statuses: { 200: 1 } },
    });
  });

  it('seeds clusters and jobs from a posted scenario', async () => {
    // Act
    const answer = await admin(sim, 'POST', 'scenario', {
      clusters: [
        {
          cluster_id: 'seeded-1',
          state: 'TERMINATED',
          termination_reason: { code: 'INACTIVITY', type: 'SUCCESS' },
        },
      ],
      generate: { count: 5, states: { PENDING: 1 } },
    });
    const seeded = await call(sim, 'GET', '/api/2.1/clusters/get?cluster_id=seeded-1');

    // Assess
    expect(answer.body).toEqual({ clusters: 6, jobs: 0, runs: 0 });
    expect(seeded.body.state).toBe('TERMINATED');
    expect((await admin(sim, 'GET', 'state')).body.clusters.byState.PENDING).toBe(5);
  });

  it('replaces the workspace with ?replace=true', async () => {
    // Act
    await admin(sim, 'POST', 'scenario?replace=true', { clusters: [{ cluster_id: 'only-one' }] });

    // Assess
    expect((await admin(sim, 'GET', 'state')).body.clusters.total).toBe(1);
  });

  it('rejects an invalid scenario naming the bad field', async () => {
    // Act
    const answer = await admin(sim, 'POST', 'scenario', { clusters: [{ cluster_id: 'x', state: 'BROKEN' }] });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('clusters.0.state');
  });

  it('fails a cluster and crashes a driver over HTTP', async () => {
    // Act
    const failed = await admin(sim, 'POST', `clusters/${CLUSTER}/fail`, {
      code: 'DRIVER_UNRESPONSIVE',
      type: 'SERVICE_FAULT',
    });
    const crashed = await admin(sim, 'POST', 'clusters/0115-110000-spotfb04/crash-driver');
    const notRunning = await admin(sim, 'POST', 'clusters/0115-110000-stopped2/crash-driver');
    const badReason = await admin(sim, 'POST', `clusters/0115-110000-spotfb04/fail`, {
      code: 'DRIVER_UNRESPONSIVE',
      type: 'OOPS',
    });

    // Assess
    expect(failed.body).toMatchObject({
      state: 'TERMINATING',
      termination_reason: { code: 'DRIVER_UNRESPONSIVE' },
    });
    expect(crashed.body).toMatchObject({ state: 'RUNNING', last_state_loss_time: SIM_START });
    expect(notRunning.status).toBe(409);
    expect(badReason).toMatchObject({ status: 400, body: { message: expect.stringContaining('type') } });
  });

  it('sets and clears faults over HTTP', async () => {
    // Act
    const set = await admin(sim, 'POST', 'faults', { throttle: { share: 1, retryAfterSeconds: 3 } });
    const throttled = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${CLUSTER}`);
    const cleared = await admin(sim, 'DELETE', 'faults');
    const after = await call(sim, 'GET', `/api/2.1/clusters/get?cluster_id=${CLUSTER}`);

    // Assess
    expect(set.body.throttle).toMatchObject({ share: 1, retryAfterSeconds: 3, status: 429 });
    expect(throttled.status).toBe(429);
    expect(cleared.body.throttle).toBeNull();
    expect(after.status).toBe(200);
  });

  it('advances the clock over HTTP, applying due transitions', async () => {
    // Prepare
    await call(sim, 'POST', '/api/2.1/clusters/start', { cluster_id: '0115-110000-stopped2' });

    // Act
    const clock = await admin(sim, 'POST', 'clock', { advanceMs: 180_000 });

    // Assess
    expect(clock.body).toEqual({ now: SIM_START + 180_000, timeScale: 0 });
    expect(sim.admin.cluster('0115-110000-stopped2')?.state).toBe('RUNNING');
  });

  it('runs transitions on a sped-up clock without any advance', async () => {
    // Prepare
    await sim.close();
    sim = await startTestSimulator({
      scenario: fixture('small-workspace.json') as object,
      timeScale: 36_000,
    });
    await call(sim, 'POST', '/api/2.1/clusters/start', { cluster_id: '0115-110000-stopped2' });

    // Act
    await new Promise((resolve) => setTimeout(resolve, 30));
    const cluster = await call(sim, 'GET', '/api/2.1/clusters/get?cluster_id=0115-110000-stopped2');

    // Assess
    expect(cluster.body.state).toBe('RUNNING');
  });
});
