/**
 * The circuit-breaker commands: `rca breakers` lists the breakers that are not closed; `rca breaker
 * open|close SCOPE --reason TEXT [--until TIME]` opens or closes one by hand (audited).
 */
import { command, isoTime, print, tableOrNone, usageError } from './command.ts';
import { EXIT, opsRequest } from './ops-client.ts';

interface BreakerRow {
  scope: string;
  state: string;
  reason: string;
  openedAt?: number;
  openUntil?: number;
  manual?: { reason: string };
}

const time = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export const breakersCommand = command(
  'breakers',
  {},
  async (_p, values, connection, io) => {
    const { breakers } = await opsRequest<{ breakers: BreakerRow[] }>(connection, 'GET', '/breakers');
    print(io, values, { breakers }, () =>
      tableOrNone(
        breakers,
        'every circuit breaker is closed\n',
        ['SCOPE', 'STATE', 'OPENED', 'UNTIL', 'REASON'],
        (b) => [
          b.scope,
          b.state,
          time(b.openedAt),
          time(b.openUntil) ?? (b.manual ? 'closed by hand' : undefined),
          b.reason,
        ],
      ),
    );
    return EXIT.ok;
  },
  'rca breakers',
);

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
  'rca breaker open|close SCOPE --reason TEXT [--until TIME]',
);
