/**
 * The soak's verdict: the drain (every ticket resolved, nothing running), then every genuine
 * failure with exactly one ticket, no benign event with one, no harm (the simulator's harm ledger
 * when it has one — `GET /__admin/harms` — else the same rules judged from the clusters' event
 * logs), and no ticket left unresolved.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ClusterEvent } from '../../functions/core/schemas/databricks.ts';
import type { Ticket } from '../../functions/core/ticket.ts';
import type { DatabricksClient } from '../../functions/databricks/index.ts';
import { parseItem } from '../../functions/store/dynamo.ts';
import { TicketItemSchema } from '../../functions/store/ticket-items.ts';
import type { LocalHost } from './host.ts';
import type { SoakDay, UserAction } from './soak-day.ts';
import { CLASSES, type FailureTarget, HEALTHY_JOB_ID, type SoakWorkspace } from './soak-plan.ts';

export interface SoakResult {
  readonly failures: number;
  readonly tickets: number;
  readonly ticketsPerFailure: { readonly max: number; readonly min: number };
  readonly harms: number;
  readonly stuck: number;
  /** The product's own 5xx answers to deliveries (the intake's). */
  readonly fiveXX: number;
  /** Throttling and 5xx faults the simulated Databricks answered the system with, by kind. */
  readonly faultsInjected: {
    readonly total: number;
    readonly throttle: number;
    readonly serverErrors: number;
  };
  readonly recovered: number;
  readonly escalated: number;
  readonly resolvedWithoutAction: number;
  readonly benign: number;
  readonly benignTickets: number;
  readonly failuresWithoutTicket: number;
  readonly failuresWithSeveralTickets: number;
  readonly harmLedger: 'simulator' | 'event-log';
  readonly harmDetails: readonly Harm[];
  /** Genuine failures with no ticket or several, and benign targets with one (for diagnosis). */
  readonly mismatches: readonly string[];
  /** How each class ended: `<class> <status>/<recovery status>` → count. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Why tickets were escalated (the reason without its ids and times) → count, most frequent first. */
  readonly escalationReasons: Readonly<Record<string, number>>;
  readonly ok: boolean;
}

export interface Harm {
  readonly rule: string;
  readonly cluster_id: string;
  readonly at: number;
  readonly detail: string;
}

const OWNED = new Set(['JOB', 'PIPELINE', 'PIPELINE_MAINTENANCE', 'SQL', 'MODELS']);

/**
 * Waits (at most until `drainUntil`, real ms) for every ticket to be resolved; then two more poller
 * runs on the settled day, awaited (not timed: a busy machine makes runs slow), the second begun after
 * the first ended, so that anything the poller would still ticket counts; then the drain again for
 * what they opened. Returns every ticket.
 */
export async function drain(host: LocalHost, drainUntil: number): Promise<Ticket[]> {
  await settle(host, drainUntil);
  await host.poller.runOnce();
  await host.poller.runOnce();
  return settle(host, drainUntil);
}

async function settle(host: LocalHost, drainUntil: number): Promise<Ticket[]> {
  let tickets = await allTickets(host);
  while (Date.now() < drainUntil && tickets.some(unresolved)) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    tickets = await allTickets(host);
  }
  return tickets;
}

/** The day's verdict over its tickets (`ok` when no harm, nothing stuck, one ticket a failure, none benign). */
export async function verdict(
  day: SoakDay,
  workspace: SoakWorkspace,
  tickets: readonly Ticket[],
  simulator: { readonly url: string; readonly adminToken: string },
): Promise<SoakResult> {
  const { failureTargets, benignTargets } = workspace;
  const byTarget = ticketsByTarget(tickets);
  const perFailure = failureTargets.map(({ id }) => byTarget.get(id)?.length ?? 0);
  await noteEventLogs(day, failureTargets, byTarget);
  const ledger = await harmsOf(
    simulator.url,
    simulator.adminToken,
    day.client,
    workspace.clusters,
    day.userActions,
  );
  const result: SoakResult = {
    failures: failureTargets.length,
    tickets: tickets.length,
    ticketsPerFailure: { max: Math.max(...perFailure), min: Math.min(...perFailure) },
    harms: ledger.harms.length,
    stuck: tickets.filter(unresolved).length,
    fiveXX: day.fiveXX,
    faultsInjected: injectedFaults(day.faultsFired()),
    recovered: tickets.filter(
      (t) => t.status === 'closed' && String(t.recoveryStatus).startsWith('recovered'),
    ).length,
    escalated: tickets.filter((t) => t.status === 'escalated').length,
    resolvedWithoutAction: tickets.filter((t) => t.recoveryStatus === 'resolved_without_action').length,
    benign: benignTargets.length,
    benignTickets: benignTicketCount(workspace, tickets),
    failuresWithoutTicket: perFailure.filter((n) => n === 0).length,
    failuresWithSeveralTickets: perFailure.filter((n) => n > 1).length,
    harmLedger: ledger.source,
    harmDetails: ledger.harms.slice(0, 20),
    mismatches: mismatches(day, failureTargets, tickets, byTarget),
    outcomes: outcomes(failureTargets, byTarget),
    escalationReasons: countedReasons(tickets),
    ok: false,
  };
  return {
    ...result,
    ok:
      result.harms === 0 &&
      result.stuck === 0 &&
      result.failuresWithoutTicket === 0 &&
      result.failuresWithSeveralTickets === 0 &&
      result.benignTickets === 0,
  };
}

/** Tickets by their cluster id, else `run:<run id>`. */
function ticketsByTarget(tickets: readonly Ticket[]): Map<string, Ticket[]> {
  const byTarget = new Map<string, Ticket[]>();
  for (const ticket of tickets) {
    const key = ticket.clusterId ?? (ticket.runId === undefined ? 'none' : `run:${ticket.runId}`);
    byTarget.set(key, [...(byTarget.get(key) ?? []), ticket]);
  }
  return byTarget;
}

/** Tickets of benign targets, of the healthy job and its host, and strays (a target the day never touched). */
function benignTicketCount(workspace: SoakWorkspace, tickets: readonly Ticket[]): number {
  const { jobHost } = workspace;
  const benignIds = new Set(workspace.benignTargets.map((target) => target.id));
  const benignTickets =
    tickets.filter(
      (ticket) =>
        ticket.clusterId !== undefined && (benignIds.has(ticket.clusterId) || ticket.clusterId === jobHost),
    ).length + tickets.filter((ticket) => ticket.jobId === HEALTHY_JOB_ID).length;
  const failureIds = new Set(workspace.failureTargets.map((f) => f.id));
  const strays = tickets.filter(
    (ticket) =>
      !failureIds.has(ticket.clusterId ?? `run:${ticket.runId}`) &&
      !(ticket.clusterId !== undefined && benignIds.has(ticket.clusterId)) &&
      ticket.clusterId !== jobHost &&
      ticket.jobId !== HEALTHY_JOB_ID,
  ).length;
  return benignTickets + strays;
}

/** The event log of every failed cluster without exactly one ticket, noted for diagnosis. */
async function noteEventLogs(
  day: SoakDay,
  failureTargets: readonly FailureTarget[],
  byTarget: ReadonlyMap<string, readonly Ticket[]>,
): Promise<void> {
  for (const { id } of failureTargets) {
    if ((byTarget.get(id)?.length ?? 0) === 1 || id.startsWith('run:')) continue;
    const log = await day.client.listAllClusterEvents({ cluster_id: id, order: 'ASC' });
    day.note(
      id,
      `events: ${log.map((e) => `${Math.round(((e.timestamp ?? 0) - day.t0) / 1000)}s ${e.type}${e.details?.reason?.code ? `(${e.details.reason.code})` : ''}${e.details?.user ? `[${e.details.user}]` : ''}`).join(', ')}`,
    );
  }
}

/** Genuine failures with no ticket or several, benign or stray tickets, refused deliveries, failures not injected. */
function mismatches(
  day: SoakDay,
  failureTargets: readonly FailureTarget[],
  tickets: readonly Ticket[],
  byTarget: ReadonlyMap<string, readonly Ticket[]>,
): string[] {
  const failureIds = new Set(failureTargets.map((f) => f.id));
  return [
    ...failureTargets
      .filter(({ id }) => (byTarget.get(id)?.length ?? 0) !== 1)
      .map(
        ({ id, cls }) =>
          `${id} (${CLASSES[cls]?.name}): ${byTarget.get(id)?.length ?? 0} tickets; deliveries: ${(day.answers.get(id) ?? ['none']).join(' | ')}`,
      ),
    ...tickets
      .filter((ticket) => !failureIds.has(ticket.clusterId ?? `run:${ticket.runId}`))
      .map(
        (ticket) =>
          `benign or stray ${ticket.clusterId ?? ticket.runId}: ${ticket.ticketId} ${ticket.errorType}`,
      ),
    ...day.refusedDeliveries.map((line) => `delivery refused: ${line}`),
    ...day.notInjected.map((line) => `failure not injected: ${line}`),
  ].slice(0, 30);
}

/** How each class ended: `<class> <status>/<recovery status>` → count. */
function outcomes(
  failureTargets: readonly FailureTarget[],
  byTarget: ReadonlyMap<string, readonly Ticket[]>,
): Record<string, number> {
  return Object.fromEntries(
    [
      ...failureTargets
        .flatMap(({ id, cls }) =>
          (byTarget.get(id) ?? []).map((t) => `${CLASSES[cls]?.name} ${t.status}/${t.recoveryStatus}`),
        )
        .reduce((counts, key) => counts.set(key, (counts.get(key) ?? 0) + 1), new Map<string, number>()),
    ].sort(),
  );
}

/** Escalation reasons with ids, times and numbers masked, counted, the ten most frequent. */
function countedReasons(tickets: readonly Ticket[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const ticket of tickets) {
    if (ticket.status !== 'escalated') continue;
    const reason = String(ticket.escalationReason ?? 'none')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
      .replace(/[\w-]*\d[\w.-]*/g, '<id>')
      .slice(0, 140);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 10));
}

/** The request faults that fired: throttling (429) and server errors (5xx, HTML pages included). */
function injectedFaults(fired: Readonly<Record<string, number>>): SoakResult['faultsInjected'] {
  const throttle = fired.throttle ?? 0;
  const serverErrors = fired.serverErrors ?? 0;
  return { total: throttle + serverErrors, throttle, serverErrors };
}

function unresolved(ticket: Ticket): boolean {
  return ticket.status === 'open' || ticket.status === 'in_progress';
}

async function allTickets(host: LocalHost): Promise<Ticket[]> {
  const items: Ticket[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await host.documentClient.send(
      new ScanCommand({ TableName: host.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? [])
      if (item.sk === 'TICKET') items.push(parseItem(TicketItemSchema, item, 'ticket'));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/**
 * The harms of the day: the simulator's own ledger when it keeps one, else the same rules judged
 * from every cluster's event log, leaving out what the soak's users did themselves.
 */
async function harmsOf(
  url: string,
  adminToken: string,
  client: DatabricksClient,
  clusters: readonly Record<string, unknown>[],
  userActions: readonly UserAction[],
): Promise<{ harms: Harm[]; source: 'simulator' | 'event-log' }> {
  const res = await fetch(`${url}/__admin/harms`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (res.ok) {
    const body = (await res.json()) as { harms?: Harm[] };
    return { harms: body.harms ?? [], source: 'simulator' };
  }
  await res.arrayBuffer();
  const harms: Harm[] = [];
  for (const seed of clusters) {
    const id = String(seed.cluster_id);
    const events = await client.listAllClusterEvents({ cluster_id: id, order: 'ASC' });
    harms.push(...judge(id, String(seed.cluster_source ?? 'UI'), events, userActions));
  }
  return { harms, source: 'event-log' };
}

/** The harm rules, judged on one cluster's events (oldest first). */
export function judge(
  clusterId: string,
  source: string,
  events: readonly ClusterEvent[],
  userActions: readonly UserAction[],
): Harm[] {
  const harms: Harm[] = [];
  const byUser = (at: number) =>
    userActions.some((action) => action.clusterId === clusterId && at >= action.from && at <= action.to);
  let lastTermination: ClusterEvent | undefined;
  let lastLoss: number | undefined;
  let healthySince: number | undefined;
  for (const event of events) {
    const at = event.timestamp ?? 0;
    const automation = !byUser(at) && event.details?.user !== 'jobs-service';
    switch (event.type) {
      case 'TERMINATING':
        lastTermination = event;
        break;
      case 'RUNNING':
        healthySince = at;
        lastLoss = undefined;
        break;
      case 'DRIVER_NOT_RESPONDING':
        lastLoss = at;
        break;
      case 'DRIVER_HEALTHY':
        if (lastLoss !== undefined) healthySince = at;
        lastLoss = undefined;
        break;
      case 'STARTING':
      case 'RESTARTING':
      case 'EDITED': {
        if (!automation || at === 0) break;
        if (OWNED.has(source)) {
          harms.push({
            rule: 'mutate_owned_cluster',
            cluster_id: clusterId,
            at,
            detail: `${event.type} of a ${source} cluster`,
          });
          break;
        }
        if (event.type === 'STARTING' && lastTermination?.details?.reason?.type === 'SUCCESS') {
          harms.push({
            rule: 'start_after_user_termination',
            cluster_id: clusterId,
            at,
            detail: `started after ${lastTermination.details.reason.code}`,
          });
        }
        if (event.type === 'RESTARTING' && lastLoss === undefined && healthySince !== undefined) {
          harms.push({
            rule: 'restart_healthy_cluster',
            cluster_id: clusterId,
            at,
            detail: 'restarted with a healthy driver',
          });
        }
        break;
      }
    }
  }
  return harms;
}
