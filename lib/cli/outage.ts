/**
 * `rca outage list`, `rca outage ID` and `rca outage resolve ID [--reason TEXT]`: the outages outage
 * correlation opened (one ticket for K clusters of a workspace failing with one cloud or service
 * class), and an operator's way to end one, which releases its held recoveries through the cap.
 */

import { command, fieldLines, print, table, tableOrNone, usageError, type Values } from './command.ts';
import type { CliIo } from './main.ts';
import { EXIT, type OpsConnection, opsRequest } from './ops-client.ts';

interface OutageChildRow {
  ticketId: string;
  clusterId?: string;
  clusterName?: string;
  code?: string;
  errorType: string;
  reason: string;
  role: string;
}

interface OutageRow {
  outageId: string;
  workspaceId: string;
  outageClass: string;
  status: string;
  openedAt: string;
  endedAt?: string;
  threshold: number;
  windowMinutes: number;
  probeTicketId?: string;
  reason?: string;
  resolvedBy?: string;
  children: OutageChildRow[];
}

const SYNOPSIS = 'rca outage list\n       rca outage ID\n       rca outage resolve ID [--reason TEXT]';

async function list(values: Values, connection: OpsConnection, io: CliIo): Promise<number> {
  const { outages } = await opsRequest<{ outages: OutageRow[] }>(connection, 'GET', '/outages');
  print(io, values, { outages }, () =>
    tableOrNone(
      outages,
      'no outage was opened\n',
      ['OUTAGE', 'WORKSPACE', 'CLASS', 'STATUS', 'OPENED', 'CHILDREN', 'PROBE'],
      (o) => [
        o.outageId,
        o.workspaceId,
        o.outageClass,
        o.status,
        o.openedAt,
        o.children.length,
        o.probeTicketId,
      ],
    ),
  );
  return EXIT.ok;
}

async function show(id: string, values: Values, connection: OpsConnection, io: CliIo): Promise<number> {
  const outage = await opsRequest<OutageRow>(connection, 'GET', `/outages/${encodeURIComponent(id)}`);
  print(io, values, outage, () => {
    const fields = [
      ['outage', outage.outageId],
      ['status', outage.status],
      [
        'class',
        `${outage.outageClass} in ${outage.workspaceId} (${outage.threshold}+ within ${outage.windowMinutes} min)`,
      ],
      ['opened', outage.openedAt],
      ...(outage.endedAt === undefined ? [] : [['ended', outage.endedAt]]),
      ['probe', outage.probeTicketId ?? '-'],
      ...(outage.reason === undefined ? [] : [['reason', outage.reason]]),
      ...(outage.resolvedBy === undefined ? [] : [['resolved by', outage.resolvedBy]]),
    ];
    return `${fieldLines(fields)}\n\nChildren:\n${table(
      ['TICKET', 'ROLE', 'CLUSTER', 'CODE', 'REASON'],
      outage.children.map((c) => [
        c.ticketId,
        c.role,
        c.clusterName ?? c.clusterId,
        c.code ?? c.errorType,
        c.reason,
      ]),
    )}`;
  });
  return EXIT.ok;
}

export const outageCommand = command(
  'outage',
  { reason: { type: 'string' } },
  async (positionals, values, connection, io) => {
    const [first, second] = positionals;
    if (first === undefined) usageError('say what: rca outage list | rca outage ID | rca outage resolve ID');
    if (first === 'list') return list(values, connection, io);
    if (first !== 'resolve') return show(first, values, connection, io);
    const id = second ?? usageError('name the outage to resolve: rca outage resolve OUT-…');
    const reason = values.reason as string | undefined;
    const outcome = await opsRequest<{ outage: OutageRow; released: number; message: string }>(
      connection,
      'POST',
      `/outages/${encodeURIComponent(id)}/resolve`,
      { body: reason === undefined ? {} : { reason } },
    );
    print(io, values, outcome, () => `${outcome.outage.outageId}: ${outcome.message}\n`);
    return EXIT.ok;
  },
  SYNOPSIS,
);
