/**
 * The ticket commands: `rca tickets` (a listing), `rca ticket ID` (one ticket, its occurrences and
 * audit trail) and `rca retry ID | --disabled` (re-drive tickets through the workflow).
 */

import { command, fieldLines, print, table, tableOrNone, usageError, type Values } from './command.ts';
import type { CliIo } from './main.ts';
import { CliError, EXIT, type OpsConnection, opsRequest } from './ops-client.ts';

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
      tableOrNone(
        tickets,
        `no tickets detected in the last ${values.since ?? '24h'}\n`,
        ['TICKET', 'STATUS', 'RECOVERY', 'ERROR TYPE', 'CLUSTER', 'DETECTED'],
        (t) => [t.ticketId, t.status, t.recoveryStatus, t.errorType, t.clusterId, t.detectedAt],
      ),
    );
    return EXIT.ok;
  },
  'rca tickets [--status S] [--cluster C] [--since 24h]',
);

export const ticketCommand = command(
  'ticket',
  {},
  async (positionals, values, connection, io) => {
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
      return `${fieldLines(fields)}\n\nAudit trail:\n${table(
        ['AT', 'EVENT', 'ACTOR'],
        found.audit.map((a) => [a.at, a.event, a.actor]),
      )}`;
    });
    return EXIT.ok;
  },
  'rca ticket ID',
);

/** What the operations API answers to a retry, an approval or a denial of one ticket. */
export interface TicketOutcome {
  ticketId: string;
  retried: boolean;
  status: string;
  recoveryStatus: string;
  message: string;
}

/** Sends one ticket action (`retry`, `approve`, `deny`) and prints the API's answer. */
export async function ticketAction(
  connection: OpsConnection,
  io: CliIo,
  values: Values,
  path: string,
  body?: Record<string, unknown>,
): Promise<TicketOutcome> {
  const outcome = await opsRequest<TicketOutcome>(
    connection,
    'POST',
    path,
    body === undefined ? {} : { body },
  );
  print(io, values, outcome, () => `${outcome.ticketId}: ${outcome.message}\n`);
  return outcome;
}

/** A safety stop for `rca retry --disabled`: each call goes through up to its time budget. */
const MAX_RETRY_CALLS = 1000;

/** `rca retry --disabled`: each call re-drives what fits in its time budget and says where to resume; go on until done. */
async function retryDisabled(connection: OpsConnection, io: CliIo, values: Values): Promise<number> {
  const retried: TicketOutcome[] = [];
  let cursor: string | undefined;
  let calls = 0;
  do {
    const batch = await opsRequest<{ retried: TicketOutcome[]; cursor?: string }>(
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
    tableOrNone(
      retried,
      'no tickets are left disabled\n',
      ['TICKET', 'RETRIED', 'STATUS', 'RECOVERY', 'MESSAGE'],
      (r) => [r.ticketId, r.retried ? 'yes' : 'no', r.status, r.recoveryStatus, r.message],
    ),
  );
  return retried.every((r) => r.retried) ? EXIT.ok : EXIT.failed;
}

export const retryCommand = command(
  'retry',
  { disabled: { type: 'boolean' } },
  async (positionals, values, connection, io) => {
    if (values.disabled === true) {
      if (positionals.length > 0) usageError('give a ticket id or --disabled, not both');
      return retryDisabled(connection, io, values);
    }
    const id =
      positionals[0] ?? usageError('name the ticket to retry, or --disabled for every disabled ticket');
    const outcome = await ticketAction(connection, io, values, `/tickets/${encodeURIComponent(id)}/retry`);
    return outcome.retried ? EXIT.ok : EXIT.failed;
  },
  'rca retry ID | rca retry --disabled',
);
