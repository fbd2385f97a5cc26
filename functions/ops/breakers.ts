/**
 * The operations API's breakers: list the open and half-open ones, open or close one by hand (audited in
 * the operations log).
 */

import type { Breaker } from '../core/breaker.ts';
import { ERROR_TYPES } from '../core/error-types.ts';
import * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';
import type { OpsDeps } from './deps.ts';
import { parseBody } from './input.ts';

export async function listBreakers(deps: OpsDeps): Promise<Breaker[]> {
  const [open, halfOpen] = await Promise.all([
    deps.breakers.listByState('open'),
    deps.breakers.listByState('half_open'),
  ]);
  return [...open, ...halfOpen];
}

const SCOPE = new RegExp(`^(cluster#[^#\\s]+#[^#\\s]+|error_type#(${ERROR_TYPES.join('|')}))$`);

export const BreakerChangeSchema = z.strictObject({
  scope: z
    .string()
    .check(
      z.regex(
        SCOPE,
        'must be cluster#<workspace>#<cluster-id> or error_type#<ErrorType> (see `rca breakers`)',
      ),
    ),
  action: z.enum(['open', 'close']),
  reason: z.string().check(z.trim(), z.minLength(3, 'say why (at least 3 characters)'), z.maxLength(500)),
  until: z.optional(z.iso.datetime({ offset: true })),
});

export async function changeBreaker(body: unknown, actor: string, deps: OpsDeps): Promise<Breaker> {
  const change = parseBody(BreakerChangeSchema, body);
  const until = change.until === undefined ? undefined : Date.parse(change.until);
  if (until !== undefined && until <= deps.clock()) throw new HttpError(400, 'until: must be in the future');
  const result =
    change.action === 'open'
      ? await deps.breakers.forceOpen(change.scope, `${change.reason} (by ${actor})`, until)
      : await deps.breakers.forceClose(change.scope, `${change.reason} (by ${actor})`);
  await deps.log.append({
    event: change.action === 'open' ? 'breaker_opened' : 'breaker_closed',
    actor,
    subject: change.scope,
    details: {
      reason: change.reason,
      ...(change.until === undefined ? {} : { until: change.until }),
      state: result.state,
    },
  });
  return result.breaker;
}
