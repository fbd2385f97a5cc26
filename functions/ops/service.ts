/**
 * The operations API's business: what on-call asks (tickets, breakers, silences, the report, the
 * doctor) and what it may do (retry a ticket through the normal path, open or close a breaker, add or
 * remove a silence). Every change is audited: on the ticket for ticket changes, in the operations log
 * otherwise. Dependencies are the repositories and the reconciler's start path.
 */
import * as z from 'zod';
import type { Breaker } from '../core/breaker.ts';
import { ERROR_TYPES } from '../core/error-types.ts';
import { APPROVAL_TIMED_OUT, AWAITING_APPROVAL, DENIED, QUEUED } from '../core/fleet.ts';
import type { PlaybookTable } from '../core/playbooks.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import { endOf, isActive, matches, type Silence } from '../core/silence.ts';
import { HttpError } from '../intake/http.ts';
import { type StartDeps, startPendingTicket } from '../poller/reconcile.ts';
import type { BreakerRepository } from '../store/breakers.ts';
import type { OperationsLog } from '../store/operations-log.ts';
import type { SilenceRepository } from '../store/silences.ts';
import { TICKET_STATUSES, type TicketQueries } from '../store/ticket-queries.ts';
import type { Ticket, TicketRepository, TicketStatus, TicketWithAudit } from '../store/tickets.ts';
import { type Check, clusterChecks, doctorChecks } from './doctor.ts';
import { buildReport, type Report } from './report.ts';

/** The Databricks reads the doctor and the silence listing make. */
export interface ClusterReader {
  listClusters(query?: { page_size?: number }): Promise<unknown>;
  getCluster(clusterId: string): Promise<{ readonly state?: string }>;
}

export interface OpsDeps {
  readonly tickets: Pick<TicketRepository, 'getTicket' | 'listByStatus' | 'transition'>;
  readonly queries: Pick<TicketQueries, 'detectedSince' | 'claimHolder'>;
  readonly breakers: Pick<BreakerRepository, 'listByState' | 'forceOpen' | 'forceClose'>;
  readonly silences: Pick<SilenceRepository, 'add' | 'list' | 'remove'>;
  readonly log: Pick<OperationsLog, 'append'>;
  /** What starting a start_pending ticket needs: the reconciler's own path. */
  readonly start: StartDeps;
  readonly playbooks: PlaybookTable;
  readonly autoRemediationEnabled: boolean;
  readonly workspaceIds: readonly string[];
  readonly databricks: (workspaceId: string) => ClusterReader;
  readonly clock: () => number;
}

const DAY_MS = 86_400_000;
/** Silences last at most this long: a forgotten one must not switch the automation off for good. */
const MAX_SILENCE_MS = 30 * DAY_MS;
const RETRYABLE_HELD = new Set(['disabled', 'silenced']);

export async function listTickets(
  query: { status?: string; cluster?: string; since?: string },
  deps: OpsDeps,
): Promise<Ticket[]> {
  const sinceMs = deps.clock() - durationMs(query.since ?? '24h', 'since');
  const statuses = statusFilter(query.status);
  const tickets = await deps.queries.detectedSince(new Date(sinceMs).toISOString(), statuses.ticketStatuses);
  return tickets.filter(
    (t) =>
      (statuses.recoveryStatus === undefined || t.recoveryStatus === statuses.recoveryStatus) &&
      (query.cluster === undefined || t.clusterId === query.cluster),
  );
}

/** `--status` takes a ticket status, or `silenced`/`disabled`/`blocked` (open tickets' recovery status). */
function statusFilter(status: string | undefined): {
  ticketStatuses: readonly TicketStatus[];
  recoveryStatus?: string;
} {
  if (status === undefined) return { ticketStatuses: TICKET_STATUSES };
  if ((TICKET_STATUSES as readonly string[]).includes(status))
    return { ticketStatuses: [status as TicketStatus] };
  if (status === 'silenced' || status === 'disabled' || status === QUEUED || status === AWAITING_APPROVAL)
    return { ticketStatuses: ['open'], recoveryStatus: status };
  if (status === 'blocked' || status === APPROVAL_TIMED_OUT)
    return { ticketStatuses: ['escalated'], recoveryStatus: status };
  if (status === DENIED) return { ticketStatuses: ['closed'], recoveryStatus: status };
  throw new HttpError(
    400,
    `status must be one of ${[...TICKET_STATUSES, 'silenced', 'disabled', 'blocked', QUEUED, AWAITING_APPROVAL, DENIED, APPROVAL_TIMED_OUT].join(', ')}, not '${status}'`,
  );
}

export async function getTicket(id: string, deps: OpsDeps): Promise<TicketWithAudit> {
  const found = await deps.tickets.getTicket(id);
  if (found === undefined) throw new HttpError(404, `ticket ${id} does not exist`);
  return found;
}

export interface RetryOutcome {
  readonly ticketId: string;
  readonly retried: boolean;
  readonly status: string;
  readonly recoveryStatus: string;
  readonly message: string;
}

/**
 * Re-drives an escalated, disabled or silenced ticket through the normal path: it becomes
 * start_pending again and the reconciler's start (remediation switch, playbook, breakers, then the
 * workflow and its guard) takes it from there. Nothing here touches a cluster.
 */
export async function retryTicket(id: string, actor: string, deps: OpsDeps): Promise<RetryOutcome> {
  const { ticket } = await getTicket(id, deps);
  const held = ticket.status === 'open' && RETRYABLE_HELD.has(ticket.recoveryStatus);
  if (!held && ticket.status !== 'escalated') {
    throw new HttpError(
      409,
      `ticket ${id} is ${ticket.status} (recovery ${ticket.recoveryStatus}); only escalated, disabled or silenced tickets can be retried`,
    );
  }
  if (!deps.autoRemediationEnabled) {
    throw new HttpError(
      409,
      'AUTO_REMEDIATION_ENABLED is false: a retry would only be held again; switch it on first',
    );
  }
  const silence = (await deps.silences.list()).find(
    (s) =>
      isActive(s, deps.clock()) &&
      matches(s, {
        workspaceId: ticket.workspaceId,
        clusterId: ticket.clusterId,
        errorType: ticket.errorType,
      }),
  );
  if (silence !== undefined) {
    throw new HttpError(
      409,
      `silence ${silence.silenceId} still covers ticket ${id} until ${silence.until}; run \`rca silence remove ${silence.silenceId}\` first`,
    );
  }
  if (ticket.status === 'escalated' && ticket.clusterClaim !== undefined) {
    const holder = await deps.queries.claimHolder(ticket.clusterClaim);
    if (holder !== undefined && holder !== id) {
      throw new HttpError(
        409,
        `cluster ${ticket.clusterId} has a newer open ticket ${holder}; retry or follow that one instead`,
      );
    }
  }
  await deps.tickets.transition(id, {
    from: [ticket.status],
    to: 'open',
    expectedVersion: ticket.version,
    patch: {
      recoveryStatus: START_PENDING,
      // A ticket that had an execution needs a fresh one: an ended execution's name cannot be reused.
      ...(ticket.executionName === undefined ? {} : { retries: (ticket.retries ?? 0) + 1 }),
    },
    audit: {
      event: 'retry_requested',
      actor,
      details: { previousStatus: ticket.status, previousRecoveryStatus: ticket.recoveryStatus },
    },
  });
  await startPendingTicket(id, deps.start);
  const after = (await deps.tickets.getTicket(id))?.ticket ?? ticket;
  const started = after.status === 'in_progress' || after.recoveryStatus === 'in_progress';
  return {
    ticketId: id,
    retried: started,
    status: after.status,
    recoveryStatus: after.recoveryStatus,
    message: started
      ? 'Recovery re-started through the workflow (its guard re-reads the cluster before any change)'
      : `Not started: ticket is ${after.status} (${after.recoveryStatus})${after.escalationReason === undefined ? '' : `: ${after.escalationReason}`}`,
  };
}

/** Every ticket left `disabled` while AUTO_REMEDIATION_ENABLED was false, retried one by one. */
export async function retryDisabled(actor: string, deps: OpsDeps): Promise<RetryOutcome[]> {
  if (!deps.autoRemediationEnabled) {
    throw new HttpError(
      409,
      'AUTO_REMEDIATION_ENABLED is still false; switch it on, then retry the disabled tickets',
    );
  }
  const held: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.tickets.listByStatus('open', 100, cursor);
    for (const t of page.tickets) if (t.recoveryStatus === 'disabled') held.push(t.ticketId);
    cursor = page.cursor;
  } while (cursor !== undefined);
  const outcomes: RetryOutcome[] = [];
  for (const id of held) {
    try {
      outcomes.push(await retryTicket(id, actor, deps));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      outcomes.push({
        ticketId: id,
        retried: false,
        status: 'open',
        recoveryStatus: 'disabled',
        message: error.message,
      });
    }
  }
  return outcomes;
}

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
    .regex(SCOPE, 'must be cluster#<workspace>#<cluster-id> or error_type#<ErrorType> (see `rca breakers`)'),
  action: z.enum(['open', 'close']),
  reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(500),
  until: z.iso.datetime({ offset: true }).optional(),
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

export const SilenceInputSchema = z
  .strictObject({
    cluster_id: z.string().min(1).max(100).optional(),
    workspace_id: z.string().min(1).max(100).optional(),
    error_type: z.enum(ERROR_TYPES).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    for_seconds: z.number().int().positive().optional(),
    reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(500),
  })
  .refine((s) => s.cluster_id !== undefined || s.workspace_id !== undefined || s.error_type !== undefined, {
    message: 'name what to silence: cluster_id, workspace_id or error_type',
    path: ['cluster_id'],
  })
  .refine((s) => !(s.error_type !== undefined && (s.cluster_id ?? s.workspace_id) !== undefined), {
    message: 'silence an error type, or a cluster/workspace, not both',
    path: ['error_type'],
  })
  .refine((s) => (s.until === undefined) !== (s.for_seconds === undefined), {
    message: 'give exactly one of until and for_seconds',
    path: ['until'],
  });

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

export interface ListedSilence extends Silence {
  readonly active: boolean;
  /**
   * For an ended silence: the tickets it held that are still open, and whether their cluster is still
   * failed (TERMINATED or ERROR) — those are the ones to `rca retry`. Nothing is restarted on its own.
   */
  readonly held_tickets?: readonly {
    ticketId: string;
    clusterId?: string;
    still_failed: boolean | null;
    cluster_state?: string;
  }[];
}

export async function listSilences(deps: OpsDeps): Promise<ListedSilence[]> {
  const now = deps.clock();
  const silences = await deps.silences.list();
  const ended = silences.filter((s) => !isActive(s, now) && endOf(s) <= now);
  if (ended.length === 0) return silences.map((s) => ({ ...s, active: isActive(s, now) }));
  const open: Ticket[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.tickets.listByStatus('open', 100, cursor);
    open.push(...page.tickets.filter((t) => t.recoveryStatus === 'silenced'));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return Promise.all(
    silences.map(async (s): Promise<ListedSilence> => {
      if (isActive(s, now)) return { ...s, active: true };
      const held = open.filter((t) => t.silenceId === s.silenceId);
      return {
        ...s,
        active: false,
        held_tickets: await Promise.all(held.map((t) => stillFailed(t, deps))),
      };
    }),
  );
}

async function stillFailed(
  ticket: Ticket,
  deps: OpsDeps,
): Promise<{ ticketId: string; clusterId?: string; still_failed: boolean | null; cluster_state?: string }> {
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

export async function removeSilence(id: string, actor: string, deps: OpsDeps): Promise<Silence> {
  const silence = await deps.silences.remove(id, actor);
  await deps.log.append({ event: 'silence_removed', actor, subject: id });
  return silence;
}

export async function report(hoursParam: string | undefined, deps: OpsDeps): Promise<Report> {
  const hours = hoursParam === undefined ? 24 : Number(hoursParam);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 90) {
    throw new HttpError(400, `hours must be a number between 0 and 2160, not '${hoursParam}'`);
  }
  const until = deps.clock();
  const since = until - hours * 3_600_000;
  const [tickets, breakers] = await Promise.all([
    deps.queries.detectedSince(new Date(since).toISOString(), TICKET_STATUSES, 10_000),
    listBreakers(deps),
  ]);
  return buildReport(tickets, breakers, { since, until });
}

export interface DoctorResult {
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

export async function doctor(
  cluster: string | undefined,
  workspace: string | undefined,
  deps: OpsDeps,
): Promise<DoctorResult> {
  const now = deps.clock();
  const [breakers, silences, open] = await Promise.all([
    listBreakers(deps),
    deps.silences.list(),
    deps.tickets.listByStatus('open', 1000),
  ]);
  const activeSilences = silences.filter((s) => isActive(s, now));
  const workspaces = new Map<string, unknown>();
  await Promise.all(
    deps.workspaceIds.map(async (id) => {
      try {
        await deps.databricks(id).listClusters({ page_size: 1 });
        workspaces.set(id, undefined);
      } catch (error) {
        workspaces.set(id, error);
      }
    }),
  );
  const checks = doctorChecks({
    autoRemediationEnabled: deps.autoRemediationEnabled,
    playbooks: deps.playbooks,
    breakers,
    activeSilences,
    disabledTickets: open.tickets.filter((t) => t.recoveryStatus === 'disabled').length,
    workspaces: new Map(deps.workspaceIds.map((id) => [id, workspaces.get(id)])),
  });
  if (cluster !== undefined) {
    const workspaceId = workspace ?? (deps.workspaceIds.length === 1 ? deps.workspaceIds[0] : undefined);
    if (workspaceId === undefined || !deps.workspaceIds.includes(workspaceId)) {
      throw new HttpError(400, `workspace: name one of ${deps.workspaceIds.join(', ')} with --workspace`);
    }
    const windowDays = 30;
    const tickets = await deps.queries.detectedSince(new Date(now - windowDays * DAY_MS).toISOString());
    const ticket = tickets.find((t) => t.clusterId === cluster && t.workspaceId === workspaceId);
    let state: { state?: string; error?: unknown };
    try {
      state = { state: (await deps.databricks(workspaceId).getCluster(cluster)).state ?? 'UNKNOWN' };
    } catch (error) {
      state = { error };
    }
    checks.push(
      ...clusterChecks({
        workspaceId,
        clusterId: cluster,
        ...(ticket === undefined ? {} : { ticket }),
        playbooks: deps.playbooks,
        breakers,
        silences: activeSilences,
        autoRemediationEnabled: deps.autoRemediationEnabled,
        cluster: state,
        windowDays,
      }).map((check) => ({ ...check, name: `${cluster}: ${check.name}` })),
    );
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** `90m`, `24h`, `7d`, `3600s` → milliseconds. */
export function durationMs(value: string, field: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (match === null)
    throw new HttpError(400, `${field} must be a duration like 90m, 24h or 7d, not '${value}'`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
