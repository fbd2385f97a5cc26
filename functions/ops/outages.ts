/**
 * The outages' operator side (`core/outage.ts`): `rca outage list` and `rca outage ID` show them with
 * their children, `rca outage resolve ID` ends one and releases its held children through the
 * blast-radius cap (each re-reads its cluster before any change). Audited in the operations log.
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
  const held = outage.children.filter((c) => c.role === 'held').length;
  const ended = await releaseOutage(
    outage,
    'resolved',
    { ...outageDepsOf(deps.start, 0), log: deps.log },
    { resolvedBy: actor, reason: parsed.data.reason ?? `resolved by ${actor}` },
  );
  if (ended === undefined)
    throw new HttpError(
      409,
      `outage ${id} is ${outage.status}; only an outage still probing or escalated can be resolved`,
    );
  return {
    outage: ended,
    released: held,
    message: `Resolved: the recoveries it held (${held}, status ${HELD_BY_OUTAGE}) go through the blast-radius cap, each re-reading its cluster before any change`,
  };
}
