/**
 * The operations API's silences: add one (at most 30 days), list them, remove one — audited in the
 * operations log — and for a silence no longer in force, the tickets it held and whether their cluster
 * is still failed (the ones to `rca retry`; nothing is restarted on its own).
 */

import { ERROR_TYPES } from '../core/error-types.ts';
import { isActive, type Silence } from '../core/silence.ts';
import type { Ticket } from '../core/ticket.ts';
import * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';
import { settleAll } from '../poller/limit.ts';
import type { OpsDeps } from './deps.ts';
import { DAY_MS, parseBody } from './input.ts';
import { listAll } from './tickets.ts';

/** Silences last at most this long: a forgotten one must not switch the automation off for good. */
const MAX_SILENCE_MS = 30 * DAY_MS;

export const SilenceInputSchema = z
  .strictObject({
    cluster_id: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
    workspace_id: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
    error_type: z.optional(z.enum(ERROR_TYPES)),
    until: z.optional(z.iso.datetime({ offset: true })),
    for_seconds: z.optional(z.number().check(z.int(), z.positive())),
    reason: z.string().check(z.trim(), z.minLength(3, 'say why (at least 3 characters)'), z.maxLength(500)),
  })
  .check(
    z.refine(
      (s) => s.cluster_id !== undefined || s.workspace_id !== undefined || s.error_type !== undefined,
      {
        message: 'name what to silence: cluster_id, workspace_id or error_type',
        path: ['cluster_id'],
      },
    ),
    z.refine((s) => !(s.error_type !== undefined && (s.cluster_id ?? s.workspace_id) !== undefined), {
      message: 'silence an error type, or a cluster/workspace, not both',
      path: ['error_type'],
    }),
    z.refine((s) => (s.until === undefined) !== (s.for_seconds === undefined), {
      message: 'give exactly one of until and for_seconds',
      path: ['until'],
    }),
  );

export async function addSilence(body: unknown, actor: string, deps: OpsDeps): Promise<Silence> {
  const input = parseBody(SilenceInputSchema, body);
  const now = deps.clock();
  const until = input.until === undefined ? now + (input.for_seconds ?? 0) * 1000 : Date.parse(input.until);
  if (until <= now) throw new HttpError(400, 'until: must be in the future');
  if (until - now > MAX_SILENCE_MS) throw new HttpError(400, 'until: a silence lasts at most 30 days');
  if (input.workspace_id !== undefined && !deps.workspaceIds.includes(input.workspace_id)) {
    throw new HttpError(
      400,
      `workspace_id: '${input.workspace_id}' is not configured (configured: ${deps.workspaceIds.join(', ')})`,
    );
  }
  const silence = await deps.silences.add({
    ...(input.cluster_id === undefined ? {} : { clusterId: input.cluster_id }),
    ...(input.workspace_id === undefined ? {} : { workspaceId: input.workspace_id }),
    ...(input.error_type === undefined ? {} : { errorType: input.error_type }),
    until,
    reason: input.reason,
    createdBy: actor,
  });
  await deps.log.append({
    event: 'silence_added',
    actor,
    subject: silence.silenceId,
    details: { ...silence },
  });
  return silence;
}

/** A silenced ticket whose silence has ended, and whether its failure is still there. */
export interface ReleasedTicket {
  readonly ticketId: string;
  readonly clusterId?: string;
  /** The cluster is still TERMINATED or ERROR: `rca retry` it. null when it could not be read. */
  readonly still_failed: boolean | null;
  readonly cluster_state?: string;
}

export interface ListedSilence extends Silence {
  readonly active: boolean;
  /**
   * For an ended silence: the tickets it held that are still `silenced`, and whether their cluster is
   * still failed — those are the ones to `rca retry`. Nothing is restarted on its own.
   */
  readonly held_tickets?: readonly ReleasedTicket[];
}

export interface SilenceListing {
  readonly silences: readonly ListedSilence[];
  /**
   * Every silenced ticket whose silence is no longer in force — removed, run out, or already deleted
   * by DynamoDB TTL — with whether its failure is still present.
   */
  readonly released: readonly (ReleasedTicket & { readonly silenceId?: string })[];
}

export async function listSilences(deps: OpsDeps): Promise<SilenceListing> {
  const now = deps.clock();
  const [silences, silenced] = await Promise.all([deps.silences.list(), listAll(deps, 'silenced')]);
  const inForce = new Set(silences.filter((s) => isActive(s, now)).map((s) => s.silenceId));
  const released = await settleAll(
    silenced.filter((t) => t.silenceId === undefined || !inForce.has(t.silenceId)),
    5,
    async (t) => ({
      ...(await stillFailed(t, deps)),
      ...(t.silenceId === undefined ? {} : { silenceId: t.silenceId }),
    }),
  );
  const releasedTickets = released.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  return {
    silences: silences.map((s): ListedSilence => {
      if (isActive(s, now)) return { ...s, active: true };
      return {
        ...s,
        active: false,
        held_tickets: releasedTickets
          .filter((t) => t.silenceId === s.silenceId)
          .map(({ silenceId: _silenceId, ...t }) => t),
      };
    }),
    released: releasedTickets,
  };
}

async function stillFailed(ticket: Ticket, deps: OpsDeps): Promise<ReleasedTicket> {
  if (ticket.clusterId === undefined) return { ticketId: ticket.ticketId, still_failed: null };
  try {
    const cluster = await deps.databricks(ticket.workspaceId).getCluster(ticket.clusterId);
    const state = cluster.state ?? 'UNKNOWN';
    return {
      ticketId: ticket.ticketId,
      clusterId: ticket.clusterId,
      still_failed: state === 'TERMINATED' || state === 'ERROR',
      cluster_state: state,
    };
  } catch {
    return { ticketId: ticket.ticketId, clusterId: ticket.clusterId, still_failed: null };
  }
}

/** Ends a silence now; the answer lists the tickets it held, with whether their failure is still there. */
export async function removeSilence(
  id: string,
  actor: string,
  deps: OpsDeps,
): Promise<{ silence: Silence; held_tickets: readonly ReleasedTicket[] }> {
  const silence = await deps.silences.remove(id, actor);
  await deps.log.append({ event: 'silence_removed', actor, subject: id });
  const held = (await listAll(deps, 'silenced')).filter((t) => t.silenceId === id);
  const checked = await settleAll(held, 5, (t) => stillFailed(t, deps));
  return {
    silence,
    held_tickets: checked.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
  };
}
