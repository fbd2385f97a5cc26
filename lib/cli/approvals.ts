/**
 * The approval gate's commands: `rca approve ID` starts an awaiting_approval recovery (through the
 * cap, the breakers and the guard); `rca deny ID --reason TEXT` closes it with nothing changed.
 */
import { command, usageError } from './command.ts';
import { EXIT } from './ops-client.ts';
import { ticketAction } from './tickets.ts';

export const approveCommand = command(
  'approve',
  {},
  async (positionals, values, connection, io) => {
    const id = positionals[0] ?? usageError('name the ticket to approve: rca approve RCA-YYYYMMDD-NNN');
    const outcome = await ticketAction(connection, io, values, `/tickets/${encodeURIComponent(id)}/approve`);
    return outcome.retried ? EXIT.ok : EXIT.failed;
  },
  'rca approve ID',
);

export const denyCommand = command(
  'deny',
  { reason: { type: 'string' } },
  async (positionals, values, connection, io) => {
    const id =
      positionals[0] ?? usageError('name the ticket to deny: rca deny RCA-YYYYMMDD-NNN --reason TEXT');
    const reason = (values.reason as string | undefined) ?? usageError('say why with --reason TEXT');
    await ticketAction(connection, io, values, `/tickets/${encodeURIComponent(id)}/deny`, { reason });
    return EXIT.ok;
  },
  'rca deny ID --reason TEXT',
);
