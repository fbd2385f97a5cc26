import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../functions/core/ticket.ts';
import { createIntakeHandler } from '../../functions/intake/app.ts';
import { parseApiKeys } from '../../functions/intake/auth.ts';
import { workspaceDeps } from '../../functions/intake/webhook.ts';
import { OperationsLog } from '../../functions/store/operations-log.ts';
import { lambdaContext, toApiGatewayEvent } from '../../lib/local/api-gateway.ts';
import { type LocalHost, startLocalHost } from '../../lib/local/host.ts';
import { runCli } from '../support/cli.ts';

const ROOT = join(import.meta.dirname, '../..');
const fixture = (path: string) => readFileSync(join(ROOT, 'test/fixtures', path), 'utf8');
const usageCases = JSON.parse(fixture('ops/bad-usage.json')) as {
  args: string[];
  code: number;
  says: string;
}[];
const refusedCases = JSON.parse(fixture('ops/refused.json')) as {
  args: string[];
  code: number;
  says: string;
}[];

const cli = runCli;

/** `rca <args> --url <host> --key <operator key>`. */
const rcaOn = (host: LocalHost) => (args: string[]) =>
  cli([...args, '--url', host.url, '--key', host.operatorKey]);

async function postWebhook(host: LocalHost, body: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${host.url}/databricks-monitor`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': host.apiKey },
    body,
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Reads the ticket through the operations API until `done` holds (the workflow runs asynchronously). */
async function ticketWhen(host: LocalHost, id: string, done: (t: Ticket) => boolean): Promise<Ticket> {
  const rca = rcaOn(host);
  let ticket: Ticket | undefined;
  for (let i = 0; i < 200; i++) {
    ticket = (JSON.parse((await rca(['ticket', id, '--json'])).stdout) as { ticket: Ticket }).ticket;
    if (done(ticket)) return ticket;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`ticket ${id} never settled: ${JSON.stringify(ticket)}`);
}

const resolved = (t: Ticket) => t.status === 'closed' || t.status === 'escalated';

describe('rca operations commands against npm start (real HTTP, DynamoDB Local, simulator)', () => {
  let host: LocalHost;
  let rca: ReturnType<typeof rcaOn>;
  let test1: string;
  beforeAll(async () => {
    host = await startLocalHost({
      port: 0,
      apiKey: randomBytes(24).toString('hex'),
      pollIntervalSeconds: 0,
    });
    rca = rcaOn(host);
    test1 = String((await postWebhook(host, fixture('seed/test1-driver-unreachable.json'))).ticket_id);
    await ticketWhen(host, test1, resolved);
  }, 90_000);
  afterAll(async () => {
    await host?.close();
  });

  it('lists tickets as a table and as JSON, filtered by status and cluster', async () => {
    // Act
    const table = await rca(['tickets']);
    const closed = await rca(['tickets', '--status', 'closed', '--cluster', 'test-cluster-123', '--json']);
    const other = await rca(['tickets', '--cluster', 'no-such-cluster', '--json']);

    // Assess
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^TICKET\s+STATUS\s+RECOVERY\s+ERROR TYPE/);
    expect(table.stdout).toContain(test1);
    expect(JSON.parse(closed.stdout).tickets.map((t: Ticket) => t.ticketId)).toContain(test1);
    expect(JSON.parse(other.stdout).tickets).toEqual([]);
  });

  it('shows a ticket with its occurrences and audit trail', async () => {
    // Act
    const { code, stdout } = await rca(['ticket', test1]);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('DatabricksDriverNotResponding → restart_cluster');
    expect(stdout).toMatch(/Audit trail:\nAT\s+EVENT\s+ACTOR/);
    expect(stdout).toContain('ticket_opened');
    expect(stdout).toContain('recovered');
  });

  it("reports the seed's dashboard figures per error type", async () => {
    // Act
    const json = await rca(['report', '--json']);
    const table = await rca(['report', '--hours', '1']);

    // Assess
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.recoveries).toBeGreaterThanOrEqual(1);
    const row = report.by_error_type.find(
      (r: { error_type: string }) => r.error_type === 'DatabricksDriverNotResponding',
    );
    expect(row).toMatchObject({ failures: 1, recovered: 1, escalated: 0 });
    expect(row.avg_ack_seconds).toBeGreaterThanOrEqual(0);
    expect(row.avg_resolution_seconds).toBeGreaterThanOrEqual(row.avg_ack_seconds);
    expect(table.stdout).toMatch(/ERROR TYPE\s+FAILURES\s+AVG ACK S\s+AVG RESOLUTION S/);
    expect(table.stdout).toMatch(/DatabricksDriverNotResponding\s+1\s/);
  });

  it('opens and closes a breaker by hand, audited, and an open breaker escalates the recovery', async () => {
    // Prepare
    const scope = 'error_type#DatabricksResourceExhausted';

    // Act
    const opened = await rca(['breaker', 'open', scope, '--reason', 'capacity incident']);
    const listed = await rca(['breakers', '--json']);
    const blocked = await postWebhook(host, fixture('seed/test2-insufficient-capacity.json'));
    const closed = await rca(['breaker', 'close', scope, '--reason', 'capacity is back']);
    const after = await rca(['breakers']);
    const report = await rca(['report', '--json']);
    const log = await new OperationsLog({ client: host.documentClient, tableName: host.tableName }).since(
      '2000',
    );

    // Assess
    expect(opened.code).toBe(0);
    expect(JSON.parse(listed.stdout).breakers).toContainEqual(
      expect.objectContaining({ scope, state: 'open' }),
    );
    expect(blocked).toMatchObject({ status: 'escalated', recovery_status: 'blocked' });
    expect(closed.stdout).toContain(`${scope} is closed`);
    expect(after.stdout).toBe('every circuit breaker is closed\n');
    // Closed again, it still counts as opened in the window: the report reads the breakers' history.
    expect(JSON.parse(report.stdout).breaker_openings).toContainEqual(
      expect.objectContaining({ scope, manual: true }),
    );
    expect(log.filter((e) => e.subject === scope).map((e) => [e.event, e.actor])).toEqual([
      ['breaker_opened', 'local-operator'],
      ['breaker_closed', 'local-operator'],
    ]);
  });

  it('passes the doctor on a healthy system and explains a cluster', async () => {
    // Act
    const { code, stdout } = await rca([
      'doctor',
      '--webhook-key',
      host.apiKey,
      '--cluster',
      'test-cluster-123',
    ]);

    // Assess
    expect(stdout).toContain('ok    webhook:');
    expect(stdout).toContain('ok    auto remediation: AUTO_REMEDIATION_ENABLED is true');
    expect(stdout).toContain('ok    workspace default: the credentials are accepted');
    expect(stdout).toContain(`ok    test-cluster-123: ticket: ${test1}`);
    expect(stdout).toContain('doctor: no problem found');
    expect(code).toBe(0);
  });

  it('fails the doctor on a webhook key the webhook refuses', async () => {
    // Act
    const { code, stdout } = await rca(['doctor', '--webhook-key', 'not-the-webhook-key', '--json']);

    // Assess
    expect(code).toBe(1);
    expect(JSON.parse(stdout).checks[0]).toMatchObject({ name: 'webhook', status: 'fail' });
  });

  it.each(usageCases)('refuses `rca $args` as bad usage (exit $code)', async ({ args, code, says }) => {
    // Act
    const result = await rca(args);

    // Assess
    expect(result.stderr).toContain(says);
    expect(result.code).toBe(code);
  });

  it.each(refusedCases)(
    'answers `rca $args` with exit $code and what is wrong',
    async ({ args, code, says }) => {
      // Act
      const result = await rca(args);

      // Assess
      expect(result.stderr).toContain(says);
      expect(result.code).toBe(code);
    },
  );

  it.each([
    ['no key', {}],
    ['the webhook key', { 'x-api-key': 'webhook' }],
    ['a wrong key', { 'x-api-key': 'x'.repeat(32) }],
  ])('refuses %s on every operations route', async (_name, headers) => {
    // Prepare
    const key =
      (headers as Record<string, string>)['x-api-key'] === 'webhook' ? { 'x-api-key': host.apiKey } : headers;
    const routes = [
      ['GET', '/ops/tickets'],
      ['GET', `/ops/tickets/${test1}`],
      ['POST', `/ops/tickets/${test1}/retry`],
      ['POST', '/ops/retry-disabled'],
      ['GET', '/ops/breakers'],
      ['POST', '/ops/breakers'],
      ['GET', '/ops/silences'],
      ['POST', '/ops/silences'],
      ['DELETE', '/ops/silences/SIL-1'],
      ['GET', '/ops/report'],
      ['GET', '/ops/doctor'],
    ];

    // Act
    const statuses = await Promise.all(
      routes.map(async ([method, path]) => {
        const res = await fetch(`${host.url}${path}`, {
          method,
          headers: { ...key, 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: '{}' } : {}),
        });
        return res.status;
      }),
    );

    // Assess
    expect(statuses).toEqual(routes.map(() => 401));
  });
});

describe('rca silence and rca retry (a fresh system)', () => {
  let host: LocalHost;
  let rca: ReturnType<typeof rcaOn>;
  beforeAll(async () => {
    host = await startLocalHost({
      port: 0,
      apiKey: randomBytes(24).toString('hex'),
      pollIntervalSeconds: 0,
      // One open ticket per `retry-disabled` call, so `rca retry --disabled` must follow the cursors.
      retryBatch: { pageSize: 1, concurrency: 1, budgetMs: 0 },
    });
    rca = rcaOn(host);
  }, 90_000);
  afterAll(async () => {
    await host?.close();
  });

  it('holds a failure during a silence, lists it for retry once the silence ends, and retries it through the workflow', async () => {
    // Prepare
    const added = JSON.parse(
      (
        await rca([
          'silence',
          'add',
          '--cluster',
          'test-cluster-123',
          '--for',
          '1h',
          '--reason',
          'driver maintenance',
          '--json',
        ])
      ).stdout,
    ).silence;
    const held = await postWebhook(host, fixture('seed/test1-driver-unreachable.json'));
    const id = String(held.ticket_id);
    const silenced = await rca(['tickets', '--status', 'silenced', '--json']);
    const whileActive = await rca(['retry', id]);
    const activeList = await rca(['silence', 'list', '--json']);

    // Act
    const removed = await rca(['silence', 'remove', added.silenceId]);
    const endedList = await rca(['silence', 'list']);
    const retried = await rca(['retry', id, '--json']);
    const settled = await ticketWhen(host, id, resolved);
    const trail = await rca(['ticket', id, '--json']);

    // Assess
    expect(held).toMatchObject({ status: 'success', recovery_status: 'silenced', actions_taken: [] });
    expect(JSON.parse(silenced.stdout).tickets).toEqual([
      expect.objectContaining({ ticketId: id, status: 'silenced', silenceId: added.silenceId }),
    ]);
    expect(whileActive.code).toBe(1);
    expect(whileActive.stderr).toContain(`rca silence remove ${added.silenceId}`);
    expect(JSON.parse(activeList.stdout).released).toEqual([]);
    expect(JSON.parse(activeList.stdout).silences).toEqual([
      expect.objectContaining({ silenceId: added.silenceId, active: true, clusterId: 'test-cluster-123' }),
    ]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`rca retry ${id}   # test-cluster-123 TERMINATED`);
    expect(endedList.stdout).toMatch(new RegExp(`${added.silenceId}\\s+cluster test-cluster-123\\s+ended`));
    expect(endedList.stdout).toContain(`rca retry ${id}   # test-cluster-123 TERMINATED`);
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ ticketId: id, retried: true });
    expect(settled).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    const events = JSON.parse(trail.stdout).audit.map((e: { event: string }) => e.event);
    expect(events.indexOf('retry_requested')).toBeGreaterThan(events.indexOf('ticket_opened'));
    expect(events.indexOf('recovered')).toBeGreaterThan(events.indexOf('retry_requested'));
  }, 60_000);

  it('refuses to retry a ticket the automation is still working on or has closed', async () => {
    // Prepare
    const ticket = JSON.parse((await rca(['tickets', '--status', 'closed', '--json'])).stdout)
      .tickets[0] as Ticket;

    // Act
    const { code, stderr } = await rca(['retry', ticket.ticketId]);

    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain('only escalated, disabled or silenced tickets can be retried');
  });

  it('retries every ticket left disabled while AUTO_REMEDIATION_ENABLED was false', async () => {
    // Prepare: the real intake, switched off, on this system's stores
    const switchedOff = createIntakeHandler({
      loadKeys: async () =>
        parseApiKeys(JSON.stringify({ current: host.apiKey, basic_username: 'databricks' })),
      tickets: host.tickets,
      breakers: host.breakers,
      silences: host.silences,
      workflow: host.workflow,
      playbooks: host.playbooks,
      autoRemediationEnabled: false,
      ...workspaceDeps(host.databricks),
      clock: Date.now,
      actor: 'intake',
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'intake' }),
    });
    const event = toApiGatewayEvent({
      method: 'POST',
      path: '/databricks-monitor',
      headers: { 'content-type': 'application/json', 'x-api-key': host.apiKey },
      body: fixture('seed/test2-insufficient-capacity.json'),
    });
    const answer = JSON.parse((await switchedOff(event, lambdaContext('intake'))).body);

    // Act
    const listed = await rca(['tickets', '--status', 'disabled', '--json']);
    const retried = await rca(['retry', '--disabled']);
    const settled = await ticketWhen(
      host,
      answer.ticket_id,
      (t) => t.recoveryStatus !== 'start_pending' && t.status !== 'open',
    );
    const again = await rca(['retry', '--disabled']);

    // Assess
    expect(answer).toMatchObject({ recovery_status: 'disabled' });
    expect(JSON.parse(listed.stdout).tickets.map((t: Ticket) => t.ticketId)).toEqual([answer.ticket_id]);
    expect(retried.stdout).toMatch(new RegExp(`^TICKET\\s+RETRIED.*\\n${answer.ticket_id}\\s+yes\\s`));
    expect(retried.stdout.match(/RCA-/g)).toHaveLength(1);
    expect(retried.stderr).toContain('disabled tickets gone through so far, continuing');
    expect(retried.code).toBe(0);
    expect(settled.recoveryStatus).not.toBe('disabled');
    expect(again.stdout).toBe('no tickets are left disabled\n');
    expect(again.code).toBe(0);
  }, 60_000);
});

describe('rca doctor with a wrong Databricks token', () => {
  let healthy: LocalHost;
  let broken: LocalHost;
  beforeAll(async () => {
    healthy = await startLocalHost({ port: 0, pollIntervalSeconds: 0 });
    broken = await startLocalHost({
      port: 0,
      pollIntervalSeconds: 0,
      databricks: { host: healthy.simulator?.url ?? '', token: `dapi${'0'.repeat(32)}` },
    });
  }, 90_000);
  afterAll(async () => {
    await broken?.close();
    await healthy?.close();
  });

  it('names the rejected token and says what to do', async () => {
    // Act
    const { code, stdout } = await rcaOn(broken)(['doctor', '--webhook-key', broken.apiKey]);

    // Assess
    expect(code).toBe(1);
    expect(stdout).toContain('FAIL  workspace default: Databricks rejects the token (401');
    expect(stdout).toContain('→ put a valid token');
    expect(stdout).toContain('doctor: problems found');
  });
});
