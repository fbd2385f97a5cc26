/**
 * The operators' commands: `rca tickets`, `ticket`, `retry`, `breakers`, `breaker`, `silence`,
 * `report`, `doctor`. Readable tables by default, `--json` for scripts; exit codes in `EXIT`.
 */
import { parseArgs } from 'node:util';
import { optionalEnv } from '../../functions/shared/env.ts';
import type { CliIo, Command } from './main.ts';
import { CliError, EXIT, type OpsConnection, opsRequest } from './ops-client.ts';
import { DEFAULT_STACK_NAME, resolveConnection } from './stack-outputs.ts';

const CONNECTION_HELP = `Connection: by default the deployed stack: --stack NAME (or RCA_STACK; default ${DEFAULT_STACK_NAME})
              is read with your AWS credentials (default chain; --region or AWS_REGION) and every
              request is signed with them (SigV4)
  --url URL   instead: the API's URL (the stack output OperationsUrl, or http://localhost:8000 for npm
              start; or RCA_URL)
  --key KEY   with --url: the local operator key npm start prints (or RCA_OPERATOR_KEY); without it the
              request is signed with your AWS credentials
  --json      machine-readable output
Exit codes: 0 ok, 1 refused or a check failed, 2 bad usage, 3 credential refused, 4 not found, 5 API unreachable.`;

const USAGES: Readonly<Record<string, string>> = {
  tickets: 'rca tickets [--status S] [--cluster C] [--since 24h]',
  ticket: 'rca ticket ID',
  retry: 'rca retry ID | rca retry --disabled',
  approve: 'rca approve ID',
  deny: 'rca deny ID --reason TEXT',
  breakers: 'rca breakers',
  breaker: 'rca breaker open|close SCOPE --reason TEXT [--until TIME]',
  silence:
    'rca silence add (--cluster C [--workspace W] | --workspace W | --error-type T) (--for 2h | --until TIME) --reason TEXT\n       rca silence list\n       rca silence remove ID',
  report: 'rca report [--hours 24]',
  doctor: 'rca doctor [--cluster C [--workspace W]] [--webhook-key KEY]',
};

const COMMON = {
  url: { type: 'string' },
  key: { type: 'string' },
  region: { type: 'string' },
  stack: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;
type Runner = (
  positionals: readonly string[],
  values: Values,
  connection: OpsConnection,
  io: CliIo,
) => Promise<number>;

/** Builds one command: parses its options, connects, runs, maps errors to exit codes. */
export function command(
  name: string,
  options: Record<string, { type: 'string' | 'boolean' }>,
  run: Runner,
  synopsis: string | undefined = USAGES[name],
): Command {
  return async (args, io) => {
    const usage = `Usage: ${synopsis}\n\n${CONNECTION_HELP}\n`;
    let values: Values;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: [...args],
        options: { ...COMMON, ...options },
        allowPositionals: true,
        strict: true,
      }));
    } catch (error) {
      io.stderr.write(`rca ${name}: ${(error as Error).message}\n\n${usage}`);
      return EXIT.usage;
    }
    if (values.help === true) {
      io.stdout.write(usage);
      return EXIT.ok;
    }
    try {
      return await run(positionals, values, await resolveConnection(values), io);
    } catch (error) {
      if (error instanceof CliError) {
        io.stderr.write(
          `rca ${name}: ${error.message}\n${error.exitCode === EXIT.usage ? `\n${usage}` : ''}`,
        );
        return error.exitCode;
      }
      throw error;
    }
  };
}

export function print(io: CliIo, values: Values, data: unknown, human: () => string): void {
  io.stdout.write(values.json === true ? `${JSON.stringify(data, null, 2)}\n` : human());
}

/** Columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) =>
    row.map((cell) => (cell === undefined || cell === null ? '-' : String(cell))),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

export function usageError(message: string): never {
  throw new CliError(message, EXIT.usage);
}

interface TicketRow {
  ticketId: string;
  status: string;
  recoveryStatus: string;
  errorType: string;
  clusterId?: string;
  workspaceId: string;
  detectedAt: string;
  silenceId?: string;
  escalationReason?: string;
}

export const ticketsCommand = command(
  'tickets',
  { status: { type: 'string' }, cluster: { type: 'string' }, since: { type: 'string' } },
  async (_p, values, connection, io) => {
    const { tickets } = await opsRequest<{ tickets: TicketRow[] }>(connection, 'GET', '/tickets', {
      query: {
        status: values.status as string | undefined,
        cluster: values.cluster as string | undefined,
        since: values.since as string | undefined,
      },
    });
    print(io, values, { tickets }, () =>
      tickets.length === 0
        ? `no tickets detected in the last ${values.since ?? '24h'}\n`
        : table(
            ['TICKET', 'STATUS', 'RECOVERY', 'ERROR TYPE', 'CLUSTER', 'DETECTED'],
            tickets.map((t) => [
              t.ticketId,
              t.status,
              t.recoveryStatus,
              t.errorType,
              t.clusterId,
              t.detectedAt,
            ]),
          ),
    );
    return EXIT.ok;
  },
);

export const ticketCommand = command('ticket', {}, async (positionals, values, connection, io) => {
  const id = positionals[0] ?? usageError('name the ticket: rca ticket RCA-YYYYMMDD-NNN');
  const found = await opsRequest<{
    ticket: TicketRow & Record<string, unknown>;
    occurrences: { count: number; lastAt?: string };
    audit: { at: string; event: string; actor: string; details?: Record<string, unknown> }[];
  }>(connection, 'GET', `/tickets/${encodeURIComponent(id)}`);
  print(io, values, found, () => {
    const t = found.ticket;
    const fields = [
      ['ticket', t.ticketId],
      ['status', `${t.status} (recovery ${t.recoveryStatus})`],
      ['error type', `${t.errorType} → ${String(t.action)}`],
      ['cluster', `${t.clusterId ?? '-'} in ${t.workspaceId}`],
      ['detected', t.detectedAt],
      ['reason', String(t.reason ?? '-')],
      ...(t.silenceId === undefined ? [] : [['silence', t.silenceId]]),
      ...(t.outageId === undefined
        ? []
        : [['outage', `${String(t.outageId)}${t.outageProbe === true ? ' (its probe)' : ''}`]]),
      ...(t.escalationReason === undefined ? [] : [['escalation', t.escalationReason]]),
      [
        'occurrences',
        `${found.occurrences.count}${found.occurrences.lastAt === undefined ? '' : ` (last ${found.occurrences.lastAt})`}`,
      ],
    ];
    return `${fields.map(([k, v]) => `${(k ?? '').padEnd(12)} ${v}`).join('\n')}\n\nAudit trail:\n${table(
      ['AT', 'EVENT', 'ACTOR'],
      found.audit.map((a) => [a.at, a.event, a.actor]),
    )}`;
  });
  return EXIT.ok;
});

/** A safety stop for `rca retry --disabled`: each call goes through up to its time budget. */
const MAX_RETRY_CALLS = 1000;

interface RetryOutcome {
  ticketId: string;
  retried: boolean;
  status: string;
  recoveryStatus: string;
  message: string;
}

export const retryCommand = command(
  'retry',
  { disabled: { type: 'boolean' } },
  async (positionals, values, connection, io) => {
    if (values.disabled === true) {
      if (positionals.length > 0) usageError('give a ticket id or --disabled, not both');
      // Each call re-drives what fits in its time budget and says where to resume; go on until done.
      const retried: RetryOutcome[] = [];
      let cursor: string | undefined;
      let calls = 0;
      do {
        const batch = await opsRequest<{ retried: RetryOutcome[]; cursor?: string }>(
          connection,
          'POST',
          '/retry-disabled',
          { body: cursor === undefined ? {} : { cursor } },
        );
        retried.push(...batch.retried);
        cursor = batch.cursor;
        calls++;
        if (cursor !== undefined && values.json !== true) {
          io.stderr.write(`… ${retried.length} disabled tickets gone through so far, continuing\n`);
        }
      } while (cursor !== undefined && calls < MAX_RETRY_CALLS);
      if (cursor !== undefined) {
        throw new CliError(
          `stopped after ${calls} calls and ${retried.length} tickets; run rca retry --disabled again to go on`,
          EXIT.failed,
        );
      }
      print(io, values, { retried }, () =>
        retried.length === 0
          ? 'no tickets are left disabled\n'
          : table(
              ['TICKET', 'RETRIED', 'STATUS', 'RECOVERY', 'MESSAGE'],
              retried.map((r) => [
                r.ticketId,
                r.retried ? 'yes' : 'no',
                r.status,
                r.recoveryStatus,
                r.message,
              ]),
            ),
      );
      return retried.every((r) => r.retried) ? EXIT.ok : EXIT.failed;
    }
    const id =
      positionals[0] ?? usageError('name the ticket to retry, or --disabled for every disabled ticket');
    const outcome = await opsRequest<RetryOutcome>(
      connection,
      'POST',
      `/tickets/${encodeURIComponent(id)}/retry`,
    );
    print(io, values, outcome, () => `${outcome.ticketId}: ${outcome.message}\n`);
    return outcome.retried ? EXIT.ok : EXIT.failed;
  },
);

/** `rca approve ID`: an awaiting_approval recovery starts (through the cap, the breakers and the guard). */
export const approveCommand = command('approve', {}, async (positionals, values, connection, io) => {
  const id = positionals[0] ?? usageError('name the ticket to approve: rca approve RCA-YYYYMMDD-NNN');
  const outcome = await opsRequest<RetryOutcome>(
    connection,
    'POST',
    `/tickets/${encodeURIComponent(id)}/approve`,
  );
  print(io, values, outcome, () => `${outcome.ticketId}: ${outcome.message}\n`);
  return outcome.retried ? EXIT.ok : EXIT.failed;
});

/** `rca deny ID --reason TEXT`: the recovery never runs; the ticket closes with nothing changed. */
export const denyCommand = command(
  'deny',
  { reason: { type: 'string' } },
  async (positionals, values, connection, io) => {
    const id =
      positionals[0] ?? usageError('name the ticket to deny: rca deny RCA-YYYYMMDD-NNN --reason TEXT');
    const reason = (values.reason as string | undefined) ?? usageError('say why with --reason TEXT');
    const outcome = await opsRequest<RetryOutcome>(
      connection,
      'POST',
      `/tickets/${encodeURIComponent(id)}/deny`,
      {
        body: { reason },
      },
    );
    print(io, values, outcome, () => `${outcome.ticketId}: ${outcome.message}\n`);
    return EXIT.ok;
  },
);

interface BreakerRow {
  scope: string;
  state: string;
  reason: string;
  openedAt?: number;
  openUntil?: number;
  manual?: { reason: string };
}

const time = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export const breakersCommand = command('breakers', {}, async (_p, values, connection, io) => {
  const { breakers } = await opsRequest<{ breakers: BreakerRow[] }>(connection, 'GET', '/breakers');
  print(io, values, { breakers }, () =>
    breakers.length === 0
      ? 'every circuit breaker is closed\n'
      : table(
          ['SCOPE', 'STATE', 'OPENED', 'UNTIL', 'REASON'],
          breakers.map((b) => [
            b.scope,
            b.state,
            time(b.openedAt),
            time(b.openUntil) ?? (b.manual ? 'closed by hand' : undefined),
            b.reason,
          ]),
        ),
  );
  return EXIT.ok;
});

export const breakerCommand = command(
  'breaker',
  { reason: { type: 'string' }, until: { type: 'string' } },
  async (positionals, values, connection, io) => {
    const [verb, scope] = positionals;
    if (verb !== 'open' && verb !== 'close')
      usageError('say open or close: rca breaker open|close SCOPE --reason TEXT');
    if (scope === undefined)
      usageError('name the scope: cluster#<workspace>#<cluster-id> or error_type#<ErrorType>');
    if (typeof values.reason !== 'string') usageError('say why with --reason (it is audited)');
    const { breaker } = await opsRequest<{ breaker: BreakerRow }>(connection, 'POST', '/breakers', {
      body: {
        scope,
        action: verb,
        reason: values.reason,
        ...(typeof values.until === 'string' ? { until: isoTime(values.until) } : {}),
      },
    });
    print(io, values, { breaker }, () => `${breaker.scope} is ${breaker.state}: ${breaker.reason}\n`);
    return EXIT.ok;
  },
);

interface SilenceRow {
  silenceId: string;
  clusterId?: string;
  workspaceId?: string;
  errorType?: string;
  reason: string;
  until: string;
  endedAt?: string;
  active: boolean;
  held_tickets?: ReleasedRow[];
}

interface ReleasedRow {
  ticketId: string;
  clusterId?: string;
  silenceId?: string;
  still_failed: boolean | null;
  cluster_state?: string;
}

/**
 * The `rca retry` lines for released tickets: first those whose failure is still there (or whose
 * cluster could not be read), then those whose cluster is no longer failed, which a retry lets the
 * workflow's guard close without touching the cluster (and frees the cluster for its next failure).
 */
function retryLines(heading: string, tickets: readonly ReleasedRow[]): string {
  const line = (t: ReleasedRow) =>
    `  rca retry ${t.ticketId}   # ${t.clusterId ?? ''} ${t.cluster_state ?? 'state unknown'}`;
  const toRetry = tickets.filter((t) => t.still_failed !== false);
  const gone = tickets.filter((t) => t.still_failed === false);
  return `${
    toRetry.length === 0
      ? ''
      : `\n${heading}; nothing restarts them on its own:\n${toRetry.map(line).join('\n')}\n`
  }${
    gone.length === 0
      ? ''
      : `\nSilenced tickets whose cluster is no longer failed; a retry lets the guard close them without touching the cluster:\n${gone.map(line).join('\n')}\n`
  }`;
}

const target = (s: SilenceRow) =>
  s.clusterId !== undefined
    ? `cluster ${s.clusterId}${s.workspaceId === undefined ? '' : ` (${s.workspaceId})`}`
    : s.workspaceId !== undefined
      ? `workspace ${s.workspaceId}`
      : `error type ${s.errorType}`;

export const silenceCommand = command(
  'silence',
  {
    cluster: { type: 'string' },
    workspace: { type: 'string' },
    'error-type': { type: 'string' },
    for: { type: 'string' },
    until: { type: 'string' },
    reason: { type: 'string' },
  },
  async (positionals, values, connection, io) => {
    const [verb, id] = positionals;
    if (verb === 'add') {
      if (typeof values.reason !== 'string') usageError('say why with --reason (it is audited)');
      if ((values.for === undefined) === (values.until === undefined))
        usageError('give --for 2h or --until TIME');
      const { silence } = await opsRequest<{ silence: SilenceRow }>(connection, 'POST', '/silences', {
        body: {
          ...(typeof values.cluster === 'string' ? { cluster_id: values.cluster } : {}),
          ...(typeof values.workspace === 'string' ? { workspace_id: values.workspace } : {}),
          ...(typeof values['error-type'] === 'string' ? { error_type: values['error-type'] } : {}),
          ...(typeof values.for === 'string' ? { for_seconds: Math.round(durationSeconds(values.for)) } : {}),
          ...(typeof values.until === 'string' ? { until: isoTime(values.until) } : {}),
          reason: values.reason,
        },
      });
      print(
        io,
        values,
        { silence },
        () =>
          `${silence.silenceId}: ${target({ ...silence, active: true })} silenced until ${silence.until}\n`,
      );
      return EXIT.ok;
    }
    if (verb === 'list') {
      const listing = await opsRequest<{ silences: SilenceRow[]; released: ReleasedRow[] }>(
        connection,
        'GET',
        '/silences',
      );
      print(io, values, listing, () => {
        const { silences, released } = listing;
        const list =
          silences.length === 0
            ? 'no silences\n'
            : table(
                ['SILENCE', 'TARGET', 'STATE', 'UNTIL', 'REASON'],
                silences.map((s) => [
                  s.silenceId,
                  target(s),
                  s.active ? 'active' : 'ended',
                  s.endedAt ?? s.until,
                  s.reason,
                ]),
              );
        return `${list}${retryLines('Silenced tickets whose silence has ended and whose failure is still present', released)}`;
      });
      return EXIT.ok;
    }
    if (verb === 'remove') {
      if (id === undefined) usageError('name the silence: rca silence remove SIL-...');
      const removed = await opsRequest<{ silence: SilenceRow; held_tickets: ReleasedRow[] }>(
        connection,
        'DELETE',
        `/silences/${encodeURIComponent(id)}`,
      );
      print(
        io,
        values,
        removed,
        () =>
          `${removed.silence.silenceId} ended; it held ${removed.held_tickets.length} ticket(s)\n${retryLines(
            'Tickets it held whose failure is still present',
            removed.held_tickets,
          )}`,
      );
      return EXIT.ok;
    }
    return usageError('say add, list or remove');
  },
);

interface ReportBody {
  since: string;
  until: string;
  failures: number;
  recoveries: number;
  escalations: number;
  silenced: number;
  breakers_opened: number;
  breaker_openings: { scope: string; at: string; reason: string; manual: boolean }[];
  queued?: number;
  avg_queued_seconds?: number | null;
  awaiting_approval?: number;
  denied?: number;
  approvals_timed_out?: number;
  by_error_type: {
    error_type: string;
    failures: number;
    avg_ack_seconds: number | null;
    avg_resolution_seconds: number | null;
    recovered: number;
    escalated: number;
  }[];
}

export const reportCommand = command(
  'report',
  { hours: { type: 'string' } },
  async (_p, values, connection, io) => {
    const report = await opsRequest<ReportBody>(connection, 'GET', '/report', {
      query: { hours: values.hours as string | undefined },
    });
    print(
      io,
      values,
      report,
      () =>
        `Failures from ${report.since} to ${report.until}: ${report.failures} (recovered ${report.recoveries}, escalated ${report.escalations}, silenced ${report.silenced}); breakers opened: ${report.breakers_opened}\nQueued by the blast-radius cap: ${report.queued ?? 0} (avg ${report.avg_queued_seconds ?? '-'} s queued); approvals awaiting ${report.awaiting_approval ?? 0}, denied ${report.denied ?? 0}, timed out ${report.approvals_timed_out ?? 0}\n\n${table(
          ['ERROR TYPE', 'FAILURES', 'AVG ACK S', 'AVG RESOLUTION S', 'RECOVERED', 'ESCALATED'],
          report.by_error_type.map((r) => [
            r.error_type,
            r.failures,
            r.avg_ack_seconds,
            r.avg_resolution_seconds,
            r.recovered,
            r.escalated,
          ]),
        )}${
          report.breaker_openings.length === 0
            ? ''
            : `\nBreakers opened:\n${table(
                ['AT', 'SCOPE', 'BY', 'REASON'],
                report.breaker_openings.map((o) => [o.at, o.scope, o.manual ? 'hand' : 'failures', o.reason]),
              )}`
        }`,
    );
    return EXIT.ok;
  },
);

interface CheckRow {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export const doctorCommand = command(
  'doctor',
  { cluster: { type: 'string' }, workspace: { type: 'string' }, 'webhook-key': { type: 'string' } },
  async (_p, values, connection, io) => {
    const webhookKey =
      typeof values['webhook-key'] === 'string' ? values['webhook-key'] : optionalEnv('RCA_API_KEY');
    const webhook = await webhookCheck(connection.url, webhookKey);
    const result = await opsRequest<{ ok: boolean; checks: CheckRow[] }>(connection, 'GET', '/doctor', {
      query: {
        cluster: values.cluster as string | undefined,
        workspace: values.workspace as string | undefined,
      },
    });
    const checks = [webhook, ...result.checks];
    const ok = checks.every((c) => c.status !== 'fail');
    print(io, values, { ok, checks }, () => {
      const lines = checks.map(
        (c) =>
          `${c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'warn' : 'FAIL'}  ${c.name}: ${c.detail}${c.fix === undefined ? '' : `\n      → ${c.fix}`}`,
      );
      return `${lines.join('\n')}\n\n${ok ? 'doctor: no problem found' : 'doctor: problems found (FAIL above)'}\n`;
    });
    return ok ? EXIT.ok : EXIT.failed;
  },
);

/** The seed's Issue 1: the webhook answers the connectivity test with the key. */
async function webhookCheck(base: string, key: string | undefined): Promise<CheckRow> {
  const name = 'webhook';
  if (key === undefined || key === '') {
    return {
      name,
      status: 'warn',
      detail: 'not checked: give the webhook key with --webhook-key or RCA_API_KEY',
    };
  }
  try {
    const res = await fetch(`${base}/databricks-monitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ event: 'test' }),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status === 200)
      return { name, status: 'ok', detail: `${base}/databricks-monitor accepts the key` };
    if (res.status === 401 || res.status === 403)
      return {
        name,
        status: 'fail',
        detail: `the webhook refuses the key (${res.status})`,
        fix: "use the key in the intake secret (`current` or `previous`); Databricks' notification destination must send the same",
      };
    return { name, status: 'fail', detail: `the webhook answered ${res.status}`, fix: 'see the intake logs' };
  } catch (error) {
    return {
      name,
      status: 'fail',
      detail: `the webhook cannot be reached (${(error as Error).message})`,
      fix: 'check the URL, the WAF and that Databricks can reach it (not localhost)',
    };
  }
}

function durationSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (match === null) usageError(`--for takes a duration like 90m, 2h or 1d, not '${value}'`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function isoTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) usageError(`--until takes a time like 2026-12-01T18:00:00Z, not '${value}'`);
  return new Date(ms).toISOString();
}
