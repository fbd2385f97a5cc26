/**
 * The operations API's business: what on-call asks (tickets, breakers, silences, the report, the
 * doctor) and what it may do (retry a ticket through the normal path, open or close a breaker, add or
 * remove a silence). Every change is audited: on the ticket for ticket changes, in the operations log
 * otherwise. Dependencies are the repositories and the reconciler's start path.
 */

import type { Breaker } from '../core/breaker.ts';
import { ERROR_TYPES } from '../core/error-types.ts';
import { APPROVAL_TIMED_OUT, AWAITING_APPROVAL, DENIED, QUEUED } from '../core/fleet.ts';
import { HELD_BY_OUTAGE, OUTAGE_ESCALATED } from '../core/outage.ts';
import type { PlaybookTable } from '../core/playbooks.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import { isActive, matches, type Silence } from '../core/silence.ts';
import {
  TICKET_STATUSES,
  type Ticket,
  type TicketPage,
  type TicketStatus,
  type TicketWithAudit,
} from '../core/ticket.ts';
import * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';
import { settleAll } from '../poller/limit.ts';
import { type StartDeps, startPendingTicket } from '../poller/reconcile.ts';
import type { BreakerRepository } from '../store/breakers.ts';
import { InvalidCursorError } from '../store/dynamo.ts';
import type { OperationsLog } from '../store/operations-log.ts';
import type { SilenceRepository } from '../store/silences.ts';
import type { TicketQueries } from '../store/ticket-queries.ts';
import type { TicketRepository } from '../store/tickets.ts';
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
  readonly breakers: Pick<BreakerRepository, 'listByState' | 'forceOpen' | 'forceClose' | 'openedSince'>;
  readonly silences: Pick<SilenceRepository, 'add' | 'list' | 'remove'>;
  readonly log: Pick<OperationsLog, 'append'>;
  /** What starting a start_pending ticket needs: the reconciler's own path. */
  readonly start: StartDeps;
  readonly playbooks: PlaybookTable;
  readonly autoRemediationEnabled: boolean;
  readonly workspaceIds: readonly string[];
  readonly databricks: (workspaceId: string) => ClusterReader;
  readonly clock: () => number;
  /** What one `retry-disabled` call may do. @default RETRY_BATCH */
  readonly retryBatch?: RetryBatchLimits;
}

const DAY_MS = 86_400_000;
/** Silences last at most this long: a forgotten one must not switch the automation off for good. */
const MAX_SILENCE_MS = 30 * DAY_MS;

/** Tickets an operator may re-drive: escalated, held by a silence, or held while remediation was off. */
function retryable(ticket: Ticket): boolean {
  return (
    ticket.status === 'escalated' ||
    ticket.status === 'silenced' ||
    (ticket.status === 'open' && ticket.recoveryStatus === 'disabled')
  );
}

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

/**
 * `--status` names what is held beside the ticket statuses: a recovery status within one ticket
 * status. A new held state goes here (or becomes a ticket status of its own, like `silenced`).
 */
const HELD_RECOVERY_STATUSES: Readonly<Record<string, TicketStatus>> = {
  disabled: 'open',
  blocked: 'escalated',
  [QUEUED]: 'open',
  [AWAITING_APPROVAL]: 'open',
  [DENIED]: 'closed',
  [APPROVAL_TIMED_OUT]: 'escalated',
  [HELD_BY_OUTAGE]: 'open',
  [OUTAGE_ESCALATED]: 'escalated',
};

/**
 * `--status` takes a ticket status (`silenced` included), or a recovery status that holds or ended a
 * ticket: `disabled`, `blocked`, `queued`, `awaiting_approval`, `denied`, `approval_timed_out`.
 */
function statusFilter(status: string | undefined): {
  ticketStatuses: readonly TicketStatus[];
  recoveryStatus?: string;
} {
  if (status === undefined) return { ticketStatuses: TICKET_STATUSES };
  if ((TICKET_STATUSES as readonly string[]).includes(status))
    return { ticketStatuses: [status as TicketStatus] };
  const within = HELD_RECOVERY_STATUSES[status];
  if (within !== undefined) return { ticketStatuses: [within], recoveryStatus: status };
  throw new HttpError(
    400,
    `status must be one of ${[...TICKET_STATUSES, ...Object.keys(HELD_RECOVERY_STATUSES)].join(', ')}, not '${status}'`,
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
  if (!retryable(ticket)) {
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

export interface RetryBatch {
  readonly retried: readonly RetryOutcome[];
  /** Where the next call resumes (`cursor`); absent once every open ticket has been gone through. */
  readonly cursor?: string;
}

export interface RetryBatchLimits {
  /** Open tickets read per page; every disabled one of a page is retried before the call may stop. */
  readonly pageSize: number;
  /** Retries in flight at once. */
  readonly concurrency: number;
  /** No new page is started once this much time has passed in the call. */
  readonly budgetMs: number;
}

/** What one `retry-disabled` call may do: well inside API Gateway's and the Lambda's time limits. */
export const RETRY_BATCH: RetryBatchLimits = { pageSize: 25, concurrency: 5, budgetMs: 10_000 };

/**
 * The tickets left `disabled` while AUTO_REMEDIATION_ENABLED was false, re-driven a page of open
 * tickets at a time (a few at once) until the call's time budget is spent; the answer's `cursor`
 * resumes after the last page done, so thousands are all re-driven over a few calls, none twice.
 */
export async function retryDisabled(
  actor: string,
  deps: OpsDeps,
  cursorParam?: string,
  batch: RetryBatchLimits = deps.retryBatch ?? RETRY_BATCH,
): Promise<RetryBatch> {
  if (!deps.autoRemediationEnabled) {
    throw new HttpError(
      409,
      'AUTO_REMEDIATION_ENABLED is still false; switch it on, then retry the disabled tickets',
    );
  }
  const stopAt = deps.clock() + batch.budgetMs;
  const outcomes: RetryOutcome[] = [];
  let cursor = cursorParam;
  do {
    const page = await listPage(deps, 'open', batch.pageSize, cursor);
    const held = page.tickets.filter((t) => t.recoveryStatus === 'disabled').map((t) => t.ticketId);
    const settled = await settleAll(held, batch.concurrency, (id) => retryTicket(id, actor, deps));
    settled.forEach((result, i) => {
      const ticketId = held[i] ?? '';
      outcomes.push(
        result.status === 'fulfilled'
          ? result.value
          : {
              ticketId,
              retried: false,
              status: 'open',
              recoveryStatus: 'disabled',
              message: (result.reason as Error).message,
            },
      );
    });
    cursor = page.cursor;
  } while (cursor !== undefined && deps.clock() < stopAt);
  return cursor === undefined ? { retried: outcomes } : { retried: outcomes, cursor };
}

/** `{"cursor": "..."}` from the previous answer, or nothing to start from the beginning. */
export function retryCursor(body: unknown): string | undefined {
  return parseBody(
    z.strictObject({ cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))) }),
    body,
  ).cursor;
}

/** One page of tickets in `status`; a cursor this API did not hand out is the caller's 400. */
async function listPage(
  deps: OpsDeps,
  status: TicketStatus,
  limit: number,
  cursor: string | undefined,
): Promise<TicketPage> {
  try {
    return await deps.tickets.listByStatus(status, limit, cursor);
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new HttpError(400, `cursor: ${error.message}`);
    throw error;
  }
}

/** Every ticket in `status` (silenced tickets are few: they wait for an operator). */
async function listAll(deps: OpsDeps, status: TicketStatus): Promise<Ticket[]> {
  const all: Ticket[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.tickets.listByStatus(status, 100, cursor);
    all.push(...page.tickets);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return all;
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

function parseBody<T>(schema: z.ZodMiniType<T>, body: unknown): T {
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
