/**
 * `rca silence add|list|remove`: pause the automation for a cluster, a workspace or an error type,
 * and the `rca retry` lines for the tickets a silence held once it ends.
 */

import { command, durationSeconds, isoTime, print, tableOrNone, usageError, type Values } from './command.ts';
import type { CliIo } from './main.ts';
import { EXIT, type OpsConnection, opsRequest } from './ops-client.ts';

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

async function addSilence(connection: OpsConnection, io: CliIo, values: Values): Promise<number> {
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
    () => `${silence.silenceId}: ${target({ ...silence, active: true })} silenced until ${silence.until}\n`,
  );
  return EXIT.ok;
}

async function listSilences(connection: OpsConnection, io: CliIo, values: Values): Promise<number> {
  const listing = await opsRequest<{ silences: SilenceRow[]; released: ReleasedRow[] }>(
    connection,
    'GET',
    '/silences',
  );
  print(io, values, listing, () => {
    const { silences, released } = listing;
    const list = tableOrNone(
      silences,
      'no silences\n',
      ['SILENCE', 'TARGET', 'STATE', 'UNTIL', 'REASON'],
      (s) => [s.silenceId, target(s), s.active ? 'active' : 'ended', s.endedAt ?? s.until, s.reason],
    );
    return `${list}${retryLines('Silenced tickets whose silence has ended and whose failure is still present', released)}`;
  });
  return EXIT.ok;
}

async function removeSilence(
  connection: OpsConnection,
  io: CliIo,
  values: Values,
  id: string | undefined,
): Promise<number> {
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
    if (verb === 'add') return addSilence(connection, io, values);
    if (verb === 'list') return listSilences(connection, io, values);
    if (verb === 'remove') return removeSilence(connection, io, values, id);
    return usageError('say add, list or remove');
  },
  'rca silence add (--cluster C [--workspace W] | --workspace W | --error-type T) (--for 2h | --until TIME) --reason TEXT\n       rca silence list\n       rca silence remove ID',
);
