import { optionalEnv } from '../../functions/shared/env.ts';
import { parseCommandArgs } from './args.ts';
import type { Command } from './main.ts';
import { connectionFrom, type OpsConnection, opsRequest } from './ops-client.ts';

const USAGE = `Usage: rca smoke --url URL [--key KEY] [--basic-user NAME] [--cluster ID] [--wait SECONDS] [--operator-key KEY | --region R]

Checks a running deployment (the API Gateway stage URL from the stack outputs, or http://localhost:8000
for npm start) from the outside:
  1. the connectivity test {"event": "test"} is accepted with the key and creates no ticket;
  2. a wrong key gets a bare 401;
  3. with --cluster: a cluster.terminated event (DRIVER_UNREACHABLE) for that cluster opens a ticket,
     and with --wait the ticket is followed until it is closed or escalated — read from the operations
     API, which the webhook key cannot read: with --operator-key (npm start's operator key, or
     RCA_OPERATOR_KEY), else signed with your AWS credentials (--region or AWS_REGION).
The key comes from --key or RCA_API_KEY. It is sent in x-api-key, or with --basic-user as the password of
HTTP Basic with that username, as a Databricks notification destination sends it (the username is the
basic_username of the intake's key secret, "databricks" unless changed). While --wait follows a ticket, a
progress line shows its status and the time waited. Use --cluster only with a cluster you want restarted.
`;

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** `rca smoke`: exit 0 when every check passes, 1 when one fails, 2 for bad usage. */
export const smokeCommand: Command = async (args, io) => {
  const parsed = parseCommandArgs(
    'smoke',
    args,
    {
      url: { type: 'string' },
      key: { type: 'string' },
      'basic-user': { type: 'string' },
      cluster: { type: 'string' },
      wait: { type: 'string' },
      'operator-key': { type: 'string' },
      region: { type: 'string' },
    },
    USAGE,
    io,
  );
  if (parsed.exit !== undefined) return parsed.exit;
  const { values } = parsed;
  const key = typeof values.key === 'string' ? values.key : optionalEnv('RCA_API_KEY');
  const waitSeconds = typeof values.wait === 'string' ? Number(values.wait) : 0;
  if (typeof values.url !== 'string' || key === undefined || key === '' || !Number.isFinite(waitSeconds)) {
    io.stderr.write(
      `rca smoke: --url and a key (--key or RCA_API_KEY) are required; --wait takes seconds\n\n${USAGE}`,
    );
    return 2;
  }
  const base = values.url.replace(/\/+$/, '').replace(/\/databricks-monitor$/, '');
  const checks: Check[] = [];
  const report = (check: Check) => {
    checks.push(check);
    io.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}\n`);
  };
  const basicUser = typeof values['basic-user'] === 'string' ? values['basic-user'] : undefined;
  const post = (body: unknown, apiKey: string, user = basicUser) =>
    postToWebhook(base, body, credentialHeaders(apiKey, user));

  try {
    await checkAuthentication(post, key, basicUser, report);
    if (typeof values.cluster === 'string') {
      const ticketId = await checkTicketed(post, key, values.cluster, report);
      if (ticketId !== undefined && waitSeconds > 0) {
        const status = await followTicket(
          connectionFrom({ url: base, key: values['operator-key'], region: values.region }),
          ticketId,
          waitSeconds,
          io.stdout,
        );
        report({
          name: 'ticket resolved',
          ok: status === 'closed',
          detail: status === undefined ? `still open after ${waitSeconds} s` : status,
        });
      }
    }
  } catch (error) {
    report({ name: 'request', ok: false, detail: (error as Error).message });
  }
  const failed = checks.filter((c) => !c.ok).length;
  io.stdout.write(`smoke: ${checks.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
};

type Post = (body: unknown, apiKey: string, user?: string) => Promise<WebhookAnswer>;

/** The connectivity test passes with the key; a wrong key (and a wrong Basic username) gets a 401. */
async function checkAuthentication(
  post: Post,
  key: string,
  basicUser: string | undefined,
  report: (check: Check) => void,
): Promise<void> {
  const test = await post({ event: 'test' }, key);
  report({
    name: 'connectivity test',
    ok: test.status === 200 && test.body.status === 'ignored' && test.body.ticket_id === null,
    detail: `${test.status} ${JSON.stringify(test.body)}`,
  });
  const wrong = await post({ event: 'test' }, `${key}-wrong`);
  report({ name: 'wrong key refused', ok: wrong.status === 401, detail: `${wrong.status}` });
  if (basicUser !== undefined) {
    const otherUser = await post({ event: 'test' }, key, `${basicUser}-wrong`);
    report({
      name: 'wrong Basic username refused',
      ok: otherUser.status === 401,
      detail: `${otherUser.status}`,
    });
  }
}

/** A cluster.terminated event (DRIVER_UNREACHABLE) for `clusterId` opens a ticket: its id. */
async function checkTicketed(
  post: Post,
  key: string,
  clusterId: string,
  report: (check: Check) => void,
): Promise<string | undefined> {
  const sent = await post(
    {
      event: 'cluster.terminated',
      cluster: {
        cluster_id: clusterId,
        state: 'TERMINATED',
        termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
      },
    },
    key,
  );
  const ticketId = typeof sent.body.ticket_id === 'string' ? sent.body.ticket_id : undefined;
  report({
    name: 'failure ticketed',
    ok: sent.status === 200 && ticketId !== undefined,
    detail: `${sent.status} ${JSON.stringify(sent.body)}`,
  });
  return ticketId;
}

export interface WebhookAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** POSTs `body` to the webhook (`<base>/databricks-monitor`) with `credentials` as headers. */
export async function postToWebhook(
  base: string,
  body: unknown,
  credentials: Record<string, string>,
): Promise<WebhookAnswer> {
  const res = await fetch(`${base}/databricks-monitor`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...credentials },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** How a request carries the key: `x-api-key`, or HTTP Basic with `user` as the username. */
export function credentialHeaders(key: string, user: string | undefined): Record<string, string> {
  return user === undefined
    ? { 'x-api-key': key }
    : { authorization: `Basic ${Buffer.from(`${user}:${key}`, 'utf8').toString('base64')}` };
}

const PROGRESS_EVERY_MS = 15_000;

/**
 * Reads the ticket every second until it is closed, escalated or suppressed, or `waitSeconds` pass.
 * On a terminal the progress line is rewritten in place; elsewhere (CI logs) a line is printed when
 * the status changes and every 15 s.
 */
async function followTicket(
  connection: OpsConnection,
  ticketId: string,
  waitSeconds: number,
  out: NodeJS.WritableStream,
): Promise<string | undefined> {
  const started = Date.now();
  const until = started + waitSeconds * 1000;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  let last = '';
  let lastPrinted = 0;
  const progress = (text: string, done = false) => {
    const elapsed = Math.round((Date.now() - started) / 1000);
    const line = `      waiting for ${ticketId}: ${text} (${elapsed} s of ${waitSeconds} s)`;
    if (tty) out.write(`\r${line.padEnd(100)}${done ? '\n' : ''}`);
    else if (text !== last || Date.now() - lastPrinted >= PROGRESS_EVERY_MS || done) {
      out.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    last = text;
  };
  while (Date.now() < until) {
    let body: { ticket?: { status?: string; recoveryStatus?: string } };
    let unreadable = '';
    try {
      body = await opsRequest(connection, 'GET', `/tickets/${ticketId}`);
    } catch (error) {
      body = {};
      unreadable = (error as Error).message;
    }
    const status = body.ticket?.status;
    const recovery = body.ticket?.recoveryStatus;
    const final = status === 'closed' || status === 'escalated' || status === 'suppressed';
    progress(
      `ticket ${status ?? `unreadable (${unreadable})`}${recovery === undefined ? '' : `, recovery ${recovery}`}`,
      final,
    );
    if (final) return status;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  progress('gave up', true);
  return undefined;
}
