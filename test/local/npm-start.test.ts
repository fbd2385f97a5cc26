import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

const ROOT = join(import.meta.dirname, '../..');
/** Databricks calls that change a cluster or a run. */
const MUTATING = /clusters\/(start|restart|edit|resize|update|delete|permanent-delete)|runs\/repair|run-now/;

const rca = runCli;
const seed = (name: string) => readFileSync(join(ROOT, 'test/fixtures/seed', name), 'utf8');

/** Starts `npm start`'s entry as a real process on a free port and waits for its banner. */
async function startLocal(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/local.ts')], {
    cwd: ROOT,
    // The test setup silences Powertools in this process; the child logs as `npm start` does.
    env: { ...process.env, PORT: '0', POWERTOOLS_LOG_LEVEL: 'INFO', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 60_000);
    const check = () => {
      // The whole banner (keys, simulator token) has arrived only with its last line: a pipe may
      // deliver one write in several chunks on a busy machine.
      const match = /running locally on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Press Ctrl\+C to stop\./.exec(
        output,
      );
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return { child, url, output: () => output };
}

describe('npm start', () => {
  const apiKey = randomBytes(24).toString('hex');
  let local: Awaited<ReturnType<typeof startLocal>>;
  beforeAll(async () => {
    // The poller would ticket the demo's own failures on its schedule; these tests look at the webhook alone.
    local = await startLocal({
      RCA_API_KEY: apiKey,
      POLL_INTERVAL_SECONDS: '0',
      PLAYBOOKS_FILE: join(ROOT, 'test/fixtures/local/playbooks.json'),
    });
  }, 90_000);
  afterAll(async () => {
    if (local === undefined) return;
    const exited = new Promise((resolve) => local.child.once('exit', resolve));
    local.child.kill('SIGTERM');
    await exited;
  });

  it('starts without a stray warning and says how to export the key', () => {
    // Assess
    expect(local.output()).not.toMatch(/warn|deprecat/i);
    expect(local.output()).toContain('export the same RCA_API_KEY');
  });

  it('answers a busy port with one line and exit code 1', async () => {
    // Prepare
    const port = new URL(local.url).port;

    // Act
    const child = spawn(process.execPath, [join(ROOT, 'bin/local.ts')], {
      cwd: ROOT,
      env: { ...process.env, PORT: port, POLL_INTERVAL_SECONDS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));

    // Assess
    expect(code).toBe(1);
    expect(stderr).toBe(
      `npm start: port ${port} is already in use; stop what listens there or choose another with PORT=<n> npm start\n`,
    );
  }, 90_000);

  const post = async (body: string, key = apiKey) => {
    const res = await fetch(`${local.url}/databricks-monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('says in its banner whether the poller is on', () => {
    // Act
    const banner = local.output();

    // Assess
    expect(banner).toContain('  poller:     off (POLL_INTERVAL_SECONDS=0)');
  });

  it('answers the connectivity test with a 2xx and no ticket', async () => {
    // Act
    const res = await post('{"event": "test"}');

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ignored', ticket_id: null });
  });

  it("answers the seed's Test 1 over HTTP with the seed's error type and action", async () => {
    // Act
    const res = await post(seed('test1-driver-unreachable.json'));

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'success',
      ticket_id: expect.stringMatching(/^RCA-\d{8}-\d{8}$/),
      error_type: 'DatabricksDriverNotResponding',
      actions_taken: ['restart_cluster'],
    });
  });

  it("answers the seed's Test 1 sent again 2 s later, with or without a workspace_id, with the same ticket", async () => {
    // Prepare
    const first = await post(seed('test1-driver-unreachable.json'));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const withWorkspace = (workspace_id: string) =>
      JSON.stringify({ ...JSON.parse(seed('test1-driver-unreachable.json')), workspace_id });

    // Act
    const again = await post(seed('test1-driver-unreachable.json'));
    const numeric = await post(withWorkspace('1234567890123456'));
    const named = await post(withWorkspace('default'));

    // Assess
    expect(again.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
    expect(numeric.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
    expect(named.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
  });

  it.each([
    ['an unknown cluster', { event: 'cluster.terminated', cluster: { cluster_id: 'no-such-cluster' } }, 422],
    [
      'a constructor parameter',
      {
        event: 'cluster.terminated',
        cluster: {
          cluster_id: 'test-cluster-123',
          termination_reason: { code: 'DRIVER_UNREACHABLE', parameters: { constructor: 'x' } },
        },
      },
      400,
    ],
    [
      'an empty parameter name',
      {
        event: 'cluster.terminated',
        cluster: {
          cluster_id: 'test-cluster-123',
          termination_reason: { code: 'DRIVER_UNREACHABLE', parameters: { '': 'x' } },
        },
      },
      400,
    ],
    [
      '1e300 in a pass-through field',
      { event: 'cluster.terminated', extra: 1e300, cluster: { cluster_id: 'no-such-cluster', pass: 1e300 } },
      422,
    ],
    [
      'spark_context_id 1e300',
      { event: 'cluster.terminated', cluster: { cluster_id: 'test-cluster-123', spark_context_id: 1e300 } },
      400,
    ],
    ['run id ..', { event_type: 'jobs.on_failure', run: { run_id: '..' }, job: { job_id: 1 } }, 400],
  ])('answers %s with a 4xx and no ticket', async (_name, body, status) => {
    // Act
    const res = await post(JSON.stringify(body));

    // Assess
    expect(res.status).toBe(status);
    expect(res.body.ticket_id ?? null).toBeNull();
  });

  it("answers the seed's Test 2 over HTTP with the seed's error type and action", async () => {
    // Act
    const res = await post(seed('test2-insufficient-capacity.json'));

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      error_type: 'DatabricksResourceExhausted',
      actions_taken: ['restart_with_different_instance_type'],
    });
  });

  it('refuses a wrong key with a bare 401', async () => {
    // Act
    const res = await post('{"event": "test"}', 'not-the-key');

    // Assess
    expect(res).toEqual({ status: 401, body: { message: 'Unauthorized' } });
  });

  const operatorKey = () => /operator key: (\S+)/.exec(local.output())?.[1] ?? '';

  it('serves the ticket with its audit trail on the operations API, with the operator key', async () => {
    // Prepare
    const created = await post(seed('test1-driver-unreachable.json'));

    // Act
    const res = await fetch(`${local.url}/ops/tickets/${created.body.ticket_id}`, {
      headers: { 'x-api-key': operatorKey() },
    });

    // Assess
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ticket: { errorType: string } }).ticket.errorType).toBe(
      'DatabricksDriverNotResponding',
    );
  });

  it("closes the seed's Test 1 ticket within a minute, logging detected → playbook → executing → healthy → closed", async () => {
    // Prepare
    const headers = { 'content-type': 'application/json', 'x-api-key': apiKey };
    const started = Date.now();

    // Act
    const res = await fetch(`${local.url}/databricks-monitor`, {
      method: 'POST',
      headers,
      body: seed('test1-driver-unreachable.json'),
    });
    const { ticket_id: ticketId } = (await res.json()) as { ticket_id: string };
    let ticket: { status: string; resolutionSeconds?: number } | undefined;
    while (Date.now() - started < 60_000) {
      const got = await fetch(`${local.url}/ops/tickets/${ticketId}`, {
        headers: { 'x-api-key': operatorKey() },
      });
      ticket = ((await got.json()) as { ticket: typeof ticket }).ticket;
      if (ticket?.status === 'closed' || ticket?.status === 'escalated') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    // The log line follows the ticket update: give the process a moment to write it.
    for (let i = 0; i < 40 && !local.output().includes('"message":"ticket closed"'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess
    expect(ticket?.status).toBe('closed');
    // The ticket's times are on local mode's one clock, the simulator's (60 times faster): a real minute
    // is a simulated hour.
    expect(ticket?.resolutionSeconds).toBeLessThan(3600);
    const messages = [...local.output().matchAll(/"message":"([^"]+)"/g)].map((m) => m[1]);
    const order = [
      'failure detected',
      'playbook selected',
      'executing remediation',
      'cluster healthy',
      'ticket closed',
    ];
    const positions = order.map((message) => messages.indexOf(message));
    expect(positions).not.toContain(-1);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  }, 90_000);

  it("gives the seed's per-error-type figures with `rca report --json`, and passes `rca doctor`", async () => {
    // Prepare
    const connection = ['--url', local.url, '--key', operatorKey()];

    // Act
    const report = await rca(['report', ...connection, '--json']);
    const doctor = await rca(['doctor', ...connection, '--webhook-key', apiKey]);

    // Assess
    expect(report.code).toBe(0);
    const figures = JSON.parse(report.stdout) as {
      recoveries: number;
      by_error_type: { error_type: string; failures: number; avg_ack_seconds: number | null }[];
    };
    const driver = figures.by_error_type.find((r) => r.error_type === 'DatabricksDriverNotResponding');
    expect(driver?.failures).toBeGreaterThanOrEqual(1);
    expect(driver?.avg_ack_seconds).toEqual(expect.any(Number));
    expect(figures.recoveries).toBeGreaterThanOrEqual(1);
    expect(doctor.stdout).toContain('ok    workspace default: the credentials are accepted');
    expect(doctor.stdout).toContain('doctor: no problem found');
    expect(doctor.code).toBe(0);
  });

  /** The ticket once it is closed or escalated. */
  async function settled(ticketId: unknown): Promise<Record<string, unknown> | undefined> {
    const headers = { 'x-api-key': operatorKey() };
    for (const started = Date.now(); Date.now() - started < 60_000; ) {
      const got = await fetch(`${local.url}/ops/tickets/${String(ticketId)}`, { headers });
      const { ticket } = (await got.json()) as { ticket?: Record<string, unknown> };
      if (ticket?.status === 'closed' || ticket?.status === 'escalated') return ticket;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return undefined;
  }

  /** The simulator `npm start` runs (URL and admin token in its banner), through its admin endpoint. */
  function simulator() {
    const banner = /simulator on (http:\/\/127\.0\.0\.1:\d+) \(.*?token (\S+?)\)/.exec(local.output());
    const [, simulatorUrl, token] = banner ?? [];
    if (simulatorUrl === undefined || token === undefined) throw new Error('no simulator in the banner');
    const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    return {
      simulatorUrl,
      admin,
      async load(scenario: unknown): Promise<void> {
        const loaded = await fetch(`${simulatorUrl}/__admin/scenario`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify(scenario),
        });
        expect(loaded.status).toBe(200);
      },
      async stats() {
        return (await (await fetch(`${simulatorUrl}/__admin/stats`, { headers: admin })).json()) as {
          requests: Record<string, number>;
          statuses: Record<string, number>;
        };
      },
      async harms(): Promise<unknown[]> {
        const harms = await fetch(`${simulatorUrl}/__admin/harms`, { headers: admin });
        return harms.status === 200 ? ((await harms.json()) as { harms: unknown[] }).harms : [];
      },
    };
  }

  const fixture = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(ROOT, 'test/fixtures/local', name), 'utf8'));

  it("ends a stale event, a PIPELINE failure and a pool cluster's capacity failure without harm or a refused request, and a replayed Test 1 restarts nothing", async () => {
    // Prepare: the simulator's admin endpoint (URL and token in the banner) adds the clusters.
    const { simulatorUrl, admin, load, stats, harms } = simulator();
    await load(fixture('guard-demo.json'));
    const stopped = (await (
      await fetch(`${simulatorUrl}/api/2.1/clusters/get?cluster_id=1130-100001-ownstop1`, { headers: admin })
    ).json()) as { terminated_time: number };
    const before = await stats();
    const event = (cluster: Record<string, unknown>) =>
      JSON.stringify({ event: 'cluster.terminated', cluster });

    // Act: the stale event of an earlier failure (the owner stopped the cluster since), a pipeline
    // cluster's failure whose sender did not say who owns it, and a capacity failure of a pool cluster.
    const answers = await Promise.all([
      post(
        event({
          cluster_id: '1130-100001-ownstop1',
          state: 'TERMINATED',
          terminated_time: stopped.terminated_time - 3_600_000,
          termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
        }),
      ),
      post(
        event({
          cluster_id: '1130-100002-pipeln01',
          state: 'TERMINATED',
          termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
        }),
      ),
      post(
        event({
          cluster_id: '1130-100003-poolcap1',
          state: 'TERMINATED',
          termination_reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' },
        }),
      ),
    ]);
    const [stale, pipeline, pool] = await Promise.all(
      answers.map((answer) => settled(answer.body.ticket_id)),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(stale).toMatchObject({ status: 'closed', recoveryStatus: 'resolved_without_action' });
    expect(pipeline).toMatchObject({ status: 'escalated' });
    expect(pool).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    const after = await stats();
    const delta = (key: string) => (after.requests[key] ?? 0) - (before.requests[key] ?? 0);
    // One start, of the pool cluster on its own pool; no update (a node type on a pool cluster is a 400).
    expect(delta('POST /api/2.1/clusters/start')).toBe(1);
    expect(delta('POST /api/2.1/clusters/update')).toBe(0);
    expect(delta('POST /api/2.1/clusters/restart')).toBe(0);
    expect((after.statuses['400'] ?? 0) - (before.statuses['400'] ?? 0)).toBe(0);
    expect(await harms()).toEqual([]);

    // Act: Test 1 again, after its recovery closed its ticket (the earlier tests).
    const replayed = await post(seed('test1-driver-unreachable.json'));
    const replayTicket = await settled(replayed.body.ticket_id);
    await new Promise((resolve) => setTimeout(resolve, 2000));

    // Assess: nothing restarted or started again.
    expect(replayed.status).toBe(200);
    expect(replayTicket?.status).toBe('closed');
    const last = await stats();
    expect(last.requests['POST /api/2.1/clusters/start'] ?? 0).toBe(
      after.requests['POST /api/2.1/clusters/start'] ?? 0,
    );
    expect(last.requests['POST /api/2.1/clusters/restart'] ?? 0).toBe(
      after.requests['POST /api/2.1/clusters/restart'] ?? 0,
    );
  }, 120_000);
  it('does not start an all-purpose cluster that had been idle past its autotermination window when it failed, and records why', async () => {
    // Prepare: the cluster's last activity was 4 simulated hours before now; its window is 30 minutes.
    const { simulatorUrl, admin, load, stats, harms } = simulator();
    const clock = await fetch(`${simulatorUrl}/__admin/clock`, {
      method: 'POST',
      headers: admin,
      body: '{}',
    });
    const { now } = (await clock.json()) as { now: number };
    const scenario = fixture('idle-demo.json') as { clusters: Record<string, unknown>[] };
    await load({
      ...scenario,
      clusters: scenario.clusters.map((cluster) => ({ ...cluster, last_activity_time: now - 4 * 3_600_000 })),
    });
    const before = await stats();

    // Act: the failure arrives as the seed's custom event, over HTTP.
    const answer = await post(
      JSON.stringify({
        event: 'cluster.terminated',
        cluster: {
          cluster_id: '1130-100004-idle0001',
          state: 'TERMINATED',
          termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
        },
      }),
    );
    const ticket = await settled(answer.body.ticket_id);
    const found = await fetch(`${local.url}/ops/tickets/${String(answer.body.ticket_id)}`, {
      headers: { 'x-api-key': operatorKey() },
    });
    const { audit } = (await found.json()) as {
      audit: { event: string; details?: Record<string, unknown> }[];
    };

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'success', actions_taken: ['restart_cluster'] });
    expect(ticket).toMatchObject({ status: 'closed', recoveryStatus: 'resolved_without_action' });
    expect(audit.find((entry) => entry.event === 'failure_no_longer_present')?.details).toMatchObject({
      resolution: 'idle',
      reason: expect.stringMatching(
        /idle for 2\d\d minutes when it failed, longer than its autotermination window \(30 minutes\)/,
      ),
    });
    const after = await stats();
    const mutations = Object.keys(after.requests).filter(
      (key) => MUTATING.test(key) && after.requests[key] !== before.requests[key],
    );
    expect(mutations).toEqual([]);
    const cluster = await fetch(`${simulatorUrl}/api/2.1/clusters/get?cluster_id=1130-100004-idle0001`, {
      headers: admin,
    });
    expect(((await cluster.json()) as { state: string }).state).toBe('TERMINATED');
    expect(await harms()).toEqual([]);
  }, 120_000);

  it('refuses the webhook key on the operations API, and no longer serves tickets to the webhook key', async () => {
    // Act
    const ops = await fetch(`${local.url}/ops/tickets`, { headers: { 'x-api-key': apiKey } });
    const old = await fetch(`${local.url}/tickets/RCA-20990101-00000001`, {
      headers: { 'x-api-key': apiKey },
    });
    const cli = await rca(['tickets', '--url', local.url, '--key', apiKey, '--json']);

    // Assess
    expect(ops.status).toBe(401);
    expect(old.status).toBe(403);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({
      code: 3,
      stderr: expect.stringContaining('use the operator key npm start printed'),
    });
  });

  it("lists the seed's Test 1 ticket with `rca tickets --json` and the operator key", async () => {
    // Prepare
    const created = await post(seed('test1-driver-unreachable.json'));

    // Act
    const { code, stdout } = await rca(['tickets', '--url', local.url, '--key', operatorKey(), '--json']);

    // Assess
    expect(code).toBe(0);
    const { tickets } = JSON.parse(stdout) as { tickets: { ticketId: string; errorType: string }[] };
    expect(tickets).toContainEqual(
      expect.objectContaining({
        ticketId: created.body.ticket_id,
        errorType: 'DatabricksDriverNotResponding',
      }),
    );
  });
});

describe('the local API Gateway stand-in', () => {
  it('answers a malformed path with a 400 and keeps serving', async () => {
    // Prepare
    const { startLocalApi } = await import('../../lib/local/api-gateway.ts');
    const api = await startLocalApi({
      port: 0,
      handler: async () => ({ statusCode: 200, body: '{}' }),
    });

    // Act
    const bad = await fetch(`${api.url}/databricks-monitor/%E0%A4%A`, { method: 'POST', body: '{}' });
    const good = await fetch(`${api.url}/databricks-monitor`, { method: 'POST', body: '{}' });
    await api.close();

    // Assess
    expect(bad.status).toBe(400);
    expect(good.status).toBe(200);
  });
});

describe('npm start with a silence', () => {
  const apiKey = randomBytes(24).toString('hex');
  let local: Awaited<ReturnType<typeof startLocal>>;
  beforeAll(async () => {
    local = await startLocal({ RCA_API_KEY: apiKey, POLL_INTERVAL_SECONDS: '0' });
  }, 90_000);
  afterAll(async () => {
    if (local === undefined) return;
    const exited = new Promise((resolve) => local.child.once('exit', resolve));
    local.child.kill('SIGTERM');
    await exited;
  });
  const operatorKey = () => /operator key: (\S+)/.exec(local.output())?.[1] ?? '';
  const post = async (body: string) => {
    const res = await fetch(`${local.url}/databricks-monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("tickets the seed's Test 2 as silenced during a silence, with no call that changes a cluster", async () => {
    // Prepare
    const simulator = /simulator on (http:\/\/\S+) \(demo scenario, token (\S+)\)/.exec(local.output());
    const admin = { authorization: `Bearer ${simulator?.[2]}` };
    const added = await rca([
      'silence',
      'add',
      '--cluster',
      'test-cluster-456',
      '--for',
      '1h',
      '--reason',
      'test',
      '--url',
      local.url,
      '--key',
      operatorKey(),
    ]);
    await fetch(`${simulator?.[1]}/__admin/stats`, { method: 'DELETE', headers: admin });

    // Act
    const res = await post(seed('test2-insufficient-capacity.json'));
    // A started recovery would call Databricks within a second at npm start's time scale.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ticket = await rca([
      'ticket',
      String(res.body.ticket_id),
      '--url',
      local.url,
      '--key',
      operatorKey(),
      '--json',
    ]);
    const stats = (await (await fetch(`${simulator?.[1]}/__admin/stats`, { headers: admin })).json()) as {
      requests: Record<string, number>;
    };

    // Assess
    expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.body).toMatchObject({ status: 'success', recovery_status: 'silenced', actions_taken: [] });
    expect(JSON.parse(ticket.stdout).ticket).toMatchObject({
      status: 'silenced',
      recoveryStatus: 'silenced',
      silenceId: /^(SIL-[0-9a-f]+):/.exec(added.stdout)?.[1],
    });
    expect(Object.keys(stats.requests).filter((call) => MUTATING.test(call))).toEqual([]);
  });

  it('names the problem in `rca doctor` when the Databricks token is wrong', async () => {
    // Prepare: a second npm start on the first one's simulator, with a token it does not know
    const simulator = /simulator on (http:\/\/\S+) \(demo scenario/.exec(local.output())?.[1] ?? '';
    const broken = await startLocal({
      RCA_API_KEY: apiKey,
      POLL_INTERVAL_SECONDS: '0',
      DATABRICKS_HOST: simulator,
      DATABRICKS_TOKEN: `dapi${'0'.repeat(32)}`,
    });
    const key = /operator key: (\S+)/.exec(broken.output())?.[1] ?? '';

    // Act
    const doctor = await rca(['doctor', '--url', broken.url, '--key', key, '--webhook-key', apiKey]);
    const exited = new Promise((resolve) => broken.child.once('exit', resolve));
    broken.child.kill('SIGTERM');
    await exited;

    // Assess
    expect(doctor.stdout).toContain('FAIL  workspace default: Databricks rejects the token (401');
    expect(doctor.stdout).toContain('doctor: problems found');
    expect(doctor.code).toBe(1);
  }, 90_000);
});
