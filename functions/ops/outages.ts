/**
 * The outages' operator side (`core/outage.ts`): `rca outage list` and `rca outage ID` show them with
 * their children, `rca outage resolve ID` ends one still probing and releases its held children through
 * the blast-radius cap (each re-reads its cluster before any change); an outage that ended already
 * (released, resolved, or escalated with its children) is a 409 naming its state, and nothing is
 * written. Audited in the operations log.
 */
import { HELD_BY_OUTAGE, type Outage } from '../core/outage.ts';
import * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';
import { outageDepsOf } from '../poller/fleet.ts';
import { releaseOutage } from '../poller/outage.ts';
import type { OpsDeps } from './service.ts';

const OUTAGE_ID = /^OUT-\d{8}-\d{8}-[0-9a-f]{4}$/;

export const ResolveOutageSchema = z.strictObject({
  reason: z.optional(
    z.string().check(z.trim(), z.minLength(3, 'say why (at least 3 characters)'), z.maxLength(500)),
  ),
});

function outagesOf(deps: OpsDeps) {
  const outages = deps.start.outages;
  if (outages === undefined) throw new HttpError(404, 'outage correlation is not configured');
  return outages;
}

export function outageId(id: string | undefined): string {
  if (id === undefined || !OUTAGE_ID.test(id))
    throw new HttpError(400, `outage id must look like OUT-YYYYMMDD-NNNNNNNN-xxxx, not '${id ?? ''}'`);
  return id;
}

export async function listOutages(deps: OpsDeps): Promise<{ outages: Outage[] }> {
  return { outages: await outagesOf(deps).list() };
}

export async function getOutage(id: string, deps: OpsDeps): Promise<Outage> {
  const outage = await outagesOf(deps).get(id);
  if (outage === undefined) throw new HttpError(404, `outage ${id} does not exist`);
  return outage;
}

export async function resolveOutage(
  id: string,
  body: unknown,
  actor: string,
  deps: OpsDeps,
): Promise<{ outage: Outage; released: number; message: string }> {
  const parsed = ResolveOutageSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`);
  }
  const outage = await getOutage(id, deps);
  if (outage.status !== 'probing') throw notProbing(outage);
  const held = outage.children.filter((c) => c.role === 'held').length;
  const ended = await releaseOutage(
    outage,
    'resolved',
    { ...outageDepsOf(deps.start, 0), log: deps.log },
    { resolvedBy: actor, reason: parsed.data.reason ?? `resolved by ${actor}` },
  );
  // Ended by its probe meanwhile: nothing was written by this request.
  if (ended === undefined) throw notProbing((await outagesOf(deps).get(id)) ?? outage);
  return {
    outage: ended,
    released: held,
    message: `Resolved: the recoveries it held (${held}, status ${HELD_BY_OUTAGE}) go through the blast-radius cap, each re-reading its cluster before any change`,
  };
}

/**
 * 409 for an outage that no longer probes, naming its state: nothing is held any more, so a resolve
 * would release nothing, and nothing is written (the window's count of new failures is left alone).
 */
function notProbing(outage: Outage): HttpError {
  const when = outage.endedAt === undefined ? '' : ` at ${outage.endedAt}`;
  const why = outage.reason === undefined ? '' : ` (${outage.reason})`;
  if (outage.status === 'escalated')
    return new HttpError(
      409,
      `outage ${outage.outageId} was escalated${when}${why}: the recoveries it held were escalated with it and nothing is held to release; each is handled on its own (rca ticket ID, rca retry ID)`,
    );
  return new HttpError(
    409,
    `outage ${outage.outageId} was ${outage.status}${when}${why}: nothing is held by it any more; only an outage still probing can be resolved`,
  );
}
