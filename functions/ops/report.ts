/**
 * The seed's dashboard figures, computed from the tickets of a window: failures by error type with
 * their counts and average acknowledgement and resolution times (the seed's query:
 * `stats count(*) as failures, avg(ack_seconds), avg(resolution_seconds) by error_type`), plus
 * recoveries, escalations and the breakers opened in the window (from the breakers' history, so one
 * closed again since still counts). `buildReport` is pure: tickets and openings in, figures out;
 * `report` reads the window's tickets and openings for the operations API.
 */

import { APPROVAL_TIMED_OUT, AWAITING_APPROVAL, DENIED } from '../core/fleet.ts';
import { TICKET_STATUSES, type Ticket } from '../core/ticket.ts';
import { HttpError } from '../intake/http.ts';
import type { BreakerOpening } from '../store/breakers.ts';
import type { OpsDeps } from './deps.ts';

export interface ErrorTypeFigures {
  readonly error_type: string;
  readonly failures: number;
  /** Averages over the tickets that have the time; null when none has. Seconds, one decimal. */
  readonly avg_ack_seconds: number | null;
  readonly avg_resolution_seconds: number | null;
  readonly recovered: number;
  readonly escalated: number;
}

export interface Report {
  readonly since: string;
  readonly until: string;
  readonly hours: number;
  readonly failures: number;
  readonly recoveries: number;
  readonly escalations: number;
  readonly silenced: number;
  readonly open: number;
  readonly breakers_opened: number;
  /** Each opening in the window, oldest first. */
  readonly breaker_openings: readonly BreakerOpening[];
  /** Fleet safety: tickets that waited for a slot of the blast-radius cap, and for how long on average. */
  readonly queued: number;
  readonly avg_queued_seconds: number | null;
  /** Approval gate: tickets waiting now, denied, and escalated because nobody approved in time. */
  readonly awaiting_approval: number;
  readonly denied: number;
  readonly approvals_timed_out: number;
  /** Most failures first. */
  readonly by_error_type: readonly ErrorTypeFigures[];
}

export function buildReport(
  tickets: readonly Ticket[],
  openings: readonly BreakerOpening[],
  window: { readonly since: number; readonly until: number },
): Report {
  const groups = new Map<string, Ticket[]>();
  for (const ticket of tickets)
    groups.set(ticket.errorType, [...(groups.get(ticket.errorType) ?? []), ticket]);
  const byErrorType = [...groups].map(
    ([errorType, group]): ErrorTypeFigures => ({
      error_type: errorType,
      failures: group.length,
      avg_ack_seconds: average(group.map((t) => t.ackSeconds)),
      avg_resolution_seconds: average(group.map((t) => t.resolutionSeconds)),
      recovered: group.filter(isRecovery).length,
      escalated: group.filter((t) => t.status === 'escalated').length,
    }),
  );
  const inWindow = openings.filter((o) => {
    const at = Date.parse(o.at);
    return at >= window.since && at <= window.until;
  });
  byErrorType.sort((a, b) => b.failures - a.failures || a.error_type.localeCompare(b.error_type));
  return {
    since: new Date(window.since).toISOString(),
    until: new Date(window.until).toISOString(),
    hours: Math.round(((window.until - window.since) / 3_600_000) * 100) / 100,
    failures: tickets.length,
    recoveries: tickets.filter(isRecovery).length,
    escalations: tickets.filter((t) => t.status === 'escalated').length,
    silenced: tickets.filter((t) => t.status === 'silenced').length,
    open: tickets.filter((t) => t.status === 'open' || t.status === 'in_progress').length,
    breakers_opened: inWindow.length,
    breaker_openings: inWindow,
    queued: tickets.filter((t) => t.queuedAt !== undefined).length,
    avg_queued_seconds: average(tickets.map((t) => t.queuedSeconds)),
    awaiting_approval: tickets.filter((t) => t.status === 'open' && t.recoveryStatus === AWAITING_APPROVAL)
      .length,
    denied: tickets.filter((t) => t.recoveryStatus === DENIED).length,
    approvals_timed_out: tickets.filter((t) => t.recoveryStatus === APPROVAL_TIMED_OUT).length,
    by_error_type: byErrorType,
  };
}

/** A ticket the automation closed after its recovery worked. */
function isRecovery(ticket: Ticket): boolean {
  return ticket.status === 'closed' && ticket.recoveryStatus === 'recovered';
}

function average(values: readonly (number | undefined)[]): number | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (present.length === 0) return null;
  return Math.round((present.reduce((sum, v) => sum + v, 0) / present.length) * 10) / 10;
}

export async function report(hoursParam: string | undefined, deps: OpsDeps): Promise<Report> {
  const hours = hoursParam === undefined ? 24 : Number(hoursParam);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 90) {
    throw new HttpError(400, `hours must be a number between 0 and 2160, not '${hoursParam}'`);
  }
  const until = deps.clock();
  const since = until - hours * 3_600_000;
  const sinceIso = new Date(since).toISOString();
  const [tickets, openings] = await Promise.all([
    deps.queries.detectedSince(sinceIso, TICKET_STATUSES, 10_000),
    deps.breakers.openedSince(sinceIso),
  ]);
  return buildReport(tickets, openings, { since, until });
}
