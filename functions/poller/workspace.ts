/**
 * One workspace's poll: list every cluster page by page, keep the few that need attention, look the
 * ambiguous ones up in their events (oldest first, within a budget), record each failure through the
 * incident path, and move the workspace's cursor as far as every failure before it is recorded.
 */
import { type IncidentDeps, type OutcomeStatus, openIncident } from '../core/incident.ts';
import type {
  ClusterDetails,
  ClusterEventsResponse,
  ListClustersResponse,
} from '../core/schemas/databricks.ts';
import type { FailureSignal } from '../core/signal.ts';
import type { CallOptions, ClusterEventsRequest, ListClustersQuery } from '../databricks/client.ts';
import { DatabricksApiError, DatabricksDeadlineExceededError } from '../databricks/errors.ts';
import type { AdvanceResult, FailingItem, PollCursor, PollMemory, SetAsideItem } from '../store/cursors.ts';
import type { PollerOptions } from './config.ts';
import {
  assessCluster,
  type ClusterFinding,
  type DetectionWindow,
  DRIVER_HEALTH_EVENT_TYPES,
  driverLossVerdict,
  enteredStateAt,
  explainStateLoss,
  jobOfCluster,
  pollerSignal,
  RESTART_EVENT_TYPES,
  START_EVENT_TYPES,
} from './detect.ts';
import { Semaphore, settleAll } from './limit.ts';

/** The two Databricks calls the poller makes; `DatabricksClient` satisfies it. */
export interface ClusterReader {
  listClusters(query: ListClustersQuery, options?: CallOptions): Promise<ListClustersResponse>;
  listClusterEvents(request: ClusterEventsRequest, options?: CallOptions): Promise<ClusterEventsResponse>;
}

export interface CursorStore {
  get(workspaceId: string): Promise<PollCursor | undefined>;
  /** Moves the cursor forward (never back) and stores `memory` whether it moved or not. */
  advance(
    workspaceId: string,
    polledUntil: number,
    details?: Readonly<Record<string, unknown>>,
    memory?: PollMemory,
  ): Promise<AdvanceResult>;
  /** Stores `memory` without moving the cursor (nothing when the workspace has no cursor yet). */
  remember(workspaceId: string, memory: PollMemory): Promise<boolean>;
}

/** Counters the poller emits (Powertools Metrics in the Lambda). */
export interface PollerMetrics {
  count(name: string, value?: number): void;
  milliseconds(name: string, value: number): void;
}

/** Time left for a phase of the run. */
export interface Budget {
  /** Whether a new step may still start. */
  hasTime(): boolean;
  /** Absolute deadline (epoch ms, real clock) to pass to a Databricks call. */
  deadline(): number;
}

export interface WorkspacePollDeps {
  readonly reader: ClusterReader;
  readonly cursors: CursorStore;
  readonly incident: IncidentDeps;
  /** The run's permits for Databricks calls, shared by every workspace. */
  readonly semaphore: Semaphore;
  readonly options: PollerOptions;
  /** Observation time (epoch ms): compared with Databricks timestamps and stored in the cursor. */
  readonly clock: () => number;
  readonly budget: Budget;
  readonly metrics: PollerMetrics;
}

export type WorkspacePollStatus =
  /** Every failure found was recorded and the cursor moved (or another run had moved it further). */
  | 'complete'
  /**
   * Something is left for the next run (time ran out, more candidates than the event budget, an
   * item that failed): the cursor moved only up to just before the oldest of it.
   */
  | 'incomplete'
  /** The workspace could not be listed (or its cursor read): the cursor stayed. */
  | 'failed';

export interface WorkspacePollResult {
  readonly workspaceId: string;
  readonly status: WorkspacePollStatus;
  readonly clustersListed: number;
  readonly listCalls: number;
  readonly eventCalls: number;
  /** Failures handed to the incident path. */
  readonly failuresDetected: number;
  /** Driver state losses that a start, a user's restart or a planned update explained. */
  readonly explainedStateLosses: number;
  /** What the incident path answered, per status. */
  readonly outcomes: Readonly<Record<OutcomeStatus, number>>;
  /** Items given up on in this run after failing in `setAsideAfterRuns` runs in a row. */
  readonly setAside: number;
  readonly cursorAdvanced: boolean;
  /** The cursor after the poll (epoch ms), when known. */
  readonly polledUntil?: number;
  /** Why the poll is not complete. */
  readonly problems: readonly string[];
}

/**
 * Where a workspace's listing that the run's time cut short continues: the next run asks for the
 * page after the last one read instead of starting again, so that a workspace too large to list
 * within one run (⌈N/100⌉ pages at Databricks' page latency) is still listed whole, over several
 * runs. Kept in the cursor's memory.
 */
export interface ListingResume {
  /** The `next_page_token` of the last page read. */
  readonly pageToken: string;
  /** Observation time (epoch ms) when the listing's first page was asked for: the cursor's target. */
  readonly startedAt: number;
  /** Pages read so far, over all runs. */
  readonly pages: number;
  /**
   * Epoch ms the cursor must stay before for what the earlier runs of this listing left unsettled
   * (a failure not recorded, a driver not yet decided): their clusters are not listed again.
   */
  readonly holdUntil?: number;
}

/** The cursor's memory as the poller keeps it: the store's, plus a listing to continue. */
export interface WorkspaceMemory extends PollMemory {
  readonly listing?: ListingResume;
}

/**
 * Time a listing leaves for the rest of the run (events of the few candidates, recording the
 * failures, the cursor): when less is left, it stops and the next run continues it, rather than
 * find failures it has no time to record.
 */
const LISTING_RESERVE_MS = 15_000;

/** Past this, a state loss event is not taken for the one the list reports. */
const EVENT_SLACK_MS = 60_000;

/** Bounds on the memory carried in the cursor item (far below DynamoDB's 400 KB). */
const MAX_SETTLED = 2000;
const MAX_FAILING = 500;
const MAX_SET_ASIDE = 200;

/** Time ran out, or the event budget did, before this step could start: it waits for the next run. */
class StoppedEarly extends Error {
  override readonly name: string = 'StoppedEarly';
}

/** A candidate that cannot be decided yet (a driver that may still heal): deferred, holding the cursor. */
class NotYetDecided extends StoppedEarly {
  override readonly name = 'NotYetDecided';
}

/** A finding or a failure, followed from the list to its ticket. */
interface Item {
  /** `<kind>#<cluster id>#<time>`: stable from run to run while the cluster shows the same thing. */
  readonly key: string;
  readonly finding: ClusterFinding;
  /**
   * Epoch ms the cursor must stay before until the item is settled: a termination or driver loss is
   * found only while it is after the cursor. Absent for a stuck start, found in every run anyway.
   */
  readonly holdAt?: number;
  outcome: 'pending' | 'settled' | 'deferred' | 'failed';
  /** Deferred on purpose (a driver that may still heal), not for want of time. */
  awaiting?: boolean;
  signal?: FailureSignal;
  error?: string;
}

/** Permits one workspace may hold of the run's: half, rounded up, so that others always get some. */
export function workspacePermits(maxConcurrentRequests: number): number {
  return Math.max(1, Math.ceil(maxConcurrentRequests / 2));
}

export async function pollWorkspace(
  workspaceId: string,
  deps: WorkspacePollDeps,
): Promise<WorkspacePollResult> {
  const { reader, options, budget, metrics } = deps;
  const log = deps.incident.logger;
  const startedAt = deps.clock();
  const problems: string[] = [];
  let failed = false;
  let listed = 0;
  let listCalls = 0;
  let eventCalls = 0;
  let explained = 0;
  let setAsideNow = 0;
  const outcomes: Record<OutcomeStatus, number> = {
    success: 0,
    duplicate: 0,
    ignored: 0,
    escalated: 0,
    error: 0,
  };
  const items: Item[] = [];
  const result = (extra: Partial<WorkspacePollResult> = {}): WorkspacePollResult => ({
    workspaceId,
    status: failed ? 'failed' : problems.length > 0 ? 'incomplete' : 'complete',
    clustersListed: listed,
    listCalls,
    eventCalls,
    failuresDetected: items.filter((item) => item.signal !== undefined).length,
    explainedStateLosses: explained,
    outcomes,
    setAside: setAsideNow,
    cursorAdvanced: false,
    problems,
    ...extra,
  });

  // A workspace holds at most its share of the run's permits, taken first so that it queues for
  // the shared ones with one call at a time; a permit is held for one call, retries included, and a
  // call never outlives its own deadline.
  const own = new Semaphore(workspacePermits(options.maxConcurrentRequests));
  const call = <T>(what: string, send: (callOptions: CallOptions) => Promise<T>): Promise<T> =>
    own.run(() =>
      deps.semaphore.run(async () => {
        if (!budget.hasTime()) throw new StoppedEarly(`the run's time was up before ${what}`);
        return send({ deadline: Math.min(budget.deadline(), Date.now() + options.callTimeoutMs) });
      }),
    );
  const outOfTime = (error: unknown) =>
    error instanceof StoppedEarly || (error instanceof DatabricksDeadlineExceededError && !budget.hasTime());

  let cursor: PollCursor | undefined;
  try {
    cursor = await deps.cursors.get(workspaceId);
  } catch (error) {
    failed = true;
    problems.push(`cannot read the poll cursor: ${describe(error)}`);
    return result();
  }
  const memory: WorkspaceMemory = cursor?.memory ?? {};
  const window = detectionWindow(workspaceId, cursor, startedAt, deps);

  // 1. The list: one call per page of 100, nothing per cluster; where the last run's time cut it
  // short, from the page after the last one it read (unless that listing is older than the catch-up).
  let resumed = memory.listing;
  if (resumed !== undefined && startedAt - resumed.startedAt > options.maxCatchUpMs) resumed = undefined;
  let listedAll = false;
  const seenTokens = new Set<string>();
  let token: string | undefined = resumed?.pageToken;
  try {
    do {
      // The listing stops early enough to check and record what it found; the next run continues it.
      if (!budget.hasTime() || budget.deadline() - Date.now() < LISTING_RESERVE_MS)
        throw new StoppedEarly("the run's time is up");
      const query: ListClustersQuery = {
        page_size: options.pageSize,
        ...(token === undefined ? {} : { page_token: token }),
      };
      let page: ListClustersResponse;
      try {
        page = await call('a list page', (callOptions) => reader.listClusters(query, callOptions));
      } catch (error) {
        // A saved page token Databricks no longer takes (expired, another query): list from the start.
        if (listCalls > 0 || resumed === undefined || !isRejectedRequest(error)) throw error;
        log.warn('the saved page token was refused; listing the workspace from its first page', {
          workspaceId,
          error: describe(error),
        });
        metrics.count('ListingRestarted');
        resumed = undefined;
        token = undefined;
        continue;
      }
      listCalls++;
      for (const cluster of page.clusters) {
        listed++;
        const finding = assessCluster(cluster, window);
        if (finding !== undefined) items.push(itemOf(finding));
      }
      token = page.next_page_token || undefined;
      if (token !== undefined) {
        if (seenTokens.has(token)) throw new Error('clusters/list repeated a next_page_token');
        seenTokens.add(token);
      }
    } while (token !== undefined || listCalls === 0);
    listedAll = true;
  } catch (error) {
    if (outOfTime(error)) {
      problems.push(
        `stopped after ${listCalls} list pages${resumed === undefined ? '' : ` (${resumed.pages + listCalls} in all)`}: the run's time is up${token === undefined ? '' : '; the next run continues from the next page'}`,
      );
    } else {
      failed = true;
      problems.push(`clusters/list failed after ${listCalls} pages: ${describe(error)}`);
      log.error('cannot list the clusters of a workspace', { workspaceId, error: describe(error) });
    }
  }
  metrics.count('ClustersListed', listed);
  metrics.count('ListCalls', listCalls);

  // Items an earlier run settled or set aside are not looked at again.
  const live = items.filter((item) => {
    if (memory.setAside?.[item.key] !== undefined || memory.settled?.[item.key] !== undefined) {
      item.outcome = 'settled';
      return false;
    }
    return true;
  });

  // 2. The ambiguous few: their events decide, the ones holding the cursor back first, oldest first,
  // at most `maxEventChecksPerWorkspace` of them.
  let checks = 0;
  const confirm = async (item: Item): Promise<FailureSignal | undefined> => {
    const { finding } = item;
    const { cluster } = finding;
    const ctx = { workspaceId, now: startedAt };
    const job = jobOfCluster(cluster);
    if (finding.kind === 'termination') return pollerSignal(cluster, 'termination', ctx, { job });
    if (checks >= options.maxEventChecksPerWorkspace) {
      throw new StoppedEarly(`more than ${options.maxEventChecksPerWorkspace} clusters need their events`);
    }
    checks++;
    if (finding.kind === 'driver_loss') {
      // One call for both questions: did a restart explain the loss, did the driver heal by itself?
      const events = await readEvents(cluster, {
        start_time: finding.lossTime - options.restartWindowMs,
        event_types: [...RESTART_EVENT_TYPES, ...DRIVER_HEALTH_EVENT_TYPES],
        page_size: 100,
      });
      const verdict = explainStateLoss(events, finding.lossTime, EVENT_SLACK_MS);
      if (verdict.explained) {
        explained++;
        log.info('driver state loss explained by a restart', {
          workspaceId,
          clusterId: cluster.cluster_id,
          reason: verdict.reason,
        });
        return undefined;
      }
      const health = driverLossVerdict(events, finding.lossTime, startedAt);
      if (health.kind === 'healed') {
        explained++;
        log.info('driver state loss healed by Databricks; not a failure', {
          workspaceId,
          clusterId: cluster.cluster_id,
          reason: health.reason,
        });
        return undefined;
      }
      if (health.kind === 'pending') throw new NotYetDecided(health.reason);
      return pollerSignal(cluster, 'driver_loss', ctx, { job });
    }
    const events = await readEvents(cluster, { event_types: START_EVENT_TYPES, page_size: 1 });
    const stuckSince = enteredStateAt(events, finding.listedSince);
    if (stuckSince === undefined) {
      log.warn('a starting cluster has no start time; it cannot be checked for being stuck', {
        workspaceId,
        clusterId: cluster.cluster_id,
      });
      return undefined;
    }
    if (startedAt - stuckSince < options.stuckAfterMs) return undefined;
    return pollerSignal(cluster, 'stuck', ctx, { stuckSince, job });
  };
  const readEvents = async (cluster: ClusterDetails, request: Omit<ClusterEventsRequest, 'cluster_id'>) => {
    const page = await call(`the events of ${cluster.cluster_id}`, (callOptions) =>
      reader.listClusterEvents({ cluster_id: cluster.cluster_id, order: 'DESC', ...request }, callOptions),
    );
    eventCalls++;
    return page.events;
  };
  const ordered = live.slice().sort(byPriority);
  const confirmed = await settleAll(ordered, workspacePermits(options.maxConcurrentRequests), confirm);
  confirmed.forEach((settled, i) => {
    const item = ordered[i];
    if (item === undefined) return;
    if (settled.status === 'fulfilled') {
      if (settled.value === undefined) item.outcome = 'settled';
      else item.signal = settled.value;
      return;
    }
    fail(item, settled.reason, 'cannot read the events of a cluster');
  });
  metrics.count('EventCalls', eventCalls);
  const signals = ordered.filter((item) => item.signal !== undefined && item.outcome === 'pending');
  metrics.count('FailuresDetected', signals.length);

  // 3. Record every failure through the same path as the intake.
  const recorded = await settleAll(signals, options.signalConcurrency, async (item) => {
    if (!budget.hasTime()) throw new StoppedEarly("the run's time is up before every failure was recorded");
    return openIncident(item.signal as FailureSignal, deps.incident);
  });
  recorded.forEach((settled, i) => {
    const item = signals[i];
    if (item === undefined) return;
    if (settled.status === 'fulfilled') {
      outcomes[settled.value.status]++;
      item.outcome = 'settled';
      return;
    }
    fail(item, settled.reason, 'a failure could not be recorded');
  });

  const deferred = items.filter((item) => item.outcome === 'deferred' && item.awaiting !== true);
  if (deferred.length > 0) {
    problems.push(`${deferred.length} candidates left for the next run (event budget or time used up)`);
    metrics.count('CandidatesDeferred', deferred.length);
  }

  // 4. Items failing run after run are set aside, so that one of them cannot hold the cursor forever.
  // Entries of items no longer listed are dropped only after a listing made whole in this run.
  const listedWhole = listedAll && resumed === undefined;
  const nextMemory = remember(memory, items, listedWhole, window.since, startedAt, options, (item, runs) => {
    setAsideNow++;
    metrics.count('ItemsSetAside');
    log.error('an item failed in several runs in a row and is set aside; the cursor moves past it', {
      workspaceId,
      item: item.key,
      runs,
      error: item.error,
    });
  });

  // 5. The cursor moves up to just before the oldest item not settled (or to the listing's start).
  const held = items
    .filter((item) => item.holdAt !== undefined && (item.outcome === 'deferred' || item.outcome === 'failed'))
    .filter((item) => nextMemory.setAside?.[item.key] === undefined)
    .map((item) => (item.holdAt as number) - 1);
  if (resumed?.holdUntil !== undefined) held.push(resumed.holdUntil);
  try {
    if (failed || !listedAll) {
      // Time cut the listing short: the next run continues it (a failed listing starts again).
      const listing: ListingResume | undefined =
        failed || token === undefined
          ? undefined
          : {
              pageToken: token,
              startedAt: resumed?.startedAt ?? startedAt,
              pages: (resumed?.pages ?? 0) + listCalls,
              ...(held.length === 0 ? {} : { holdUntil: Math.min(...held) }),
            };
      const kept: WorkspaceMemory = listing === undefined ? nextMemory : { ...nextMemory, listing };
      if (cursor === undefined && listing !== undefined) {
        // A workspace's first listing: the cursor is created at the start of the window it looked at,
        // so that the next run looks at the same window, and carries where the listing stopped.
        await deps.cursors.advance(
          workspaceId,
          window.since + options.overlapMs,
          { clustersListed: listed, listing: 'continues' },
          kept,
        );
      } else {
        await deps.cursors.remember(workspaceId, kept);
      }
      return result(cursor === undefined ? {} : { polledUntil: cursor.polledUntil });
    }
    const target = Math.min(resumed?.startedAt ?? startedAt, ...held);
    const moved = await deps.cursors.advance(
      workspaceId,
      target,
      { clustersListed: listed, failuresDetected: signals.length },
      nextMemory,
    );
    if (moved.advanced) metrics.count('CursorsAdvanced');
    return result({ cursorAdvanced: moved.advanced, polledUntil: moved.cursor.polledUntil });
  } catch (error) {
    problems.push(`cannot store the poll cursor: ${describe(error)}`);
    return result(cursor === undefined ? {} : { polledUntil: cursor.polledUntil });
  }

  function fail(item: Item, reason: unknown, message: string): void {
    if (outOfTime(reason)) {
      item.outcome = 'deferred';
      if (reason instanceof NotYetDecided) item.awaiting = true;
      return;
    }
    item.outcome = 'failed';
    item.error = describe(reason);
    problems.push(`${item.key}: ${item.error}`);
    log.warn(message, { workspaceId, item: item.key, error: item.error });
  }
}

/**
 * `since`: the cursor minus the overlap (on the first poll, the initial look-back), but never further
 * back than `maxCatchUp`: after a long outage old failures are left to people, not recovered en masse.
 */
function detectionWindow(
  workspaceId: string,
  cursor: PollCursor | undefined,
  startedAt: number,
  deps: WorkspacePollDeps,
): DetectionWindow {
  const { options, metrics } = deps;
  const wanted = (cursor?.polledUntil ?? startedAt - options.initialLookbackMs) - options.overlapMs;
  const floor = startedAt - options.maxCatchUpMs;
  if (wanted < floor) {
    metrics.count('CatchUpLimited');
    metrics.milliseconds('CatchUpSkipped', floor - wanted);
    deps.incident.logger.warn('the poll window is limited to maxCatchUp; older failures are not ticketed', {
      workspaceId,
      skippedFrom: new Date(wanted).toISOString(),
      skippedUntil: new Date(floor).toISOString(),
      skippedMs: floor - wanted,
    });
  }
  return { since: Math.max(wanted, floor), now: startedAt, stuckAfterMs: options.stuckAfterMs };
}

function itemOf(finding: ClusterFinding): Item {
  const id = finding.cluster.cluster_id;
  switch (finding.kind) {
    case 'termination': {
      const at = finding.cluster.terminated_time as number;
      return { key: `termination#${id}#${at}`, finding, holdAt: at, outcome: 'pending' };
    }
    case 'driver_loss':
      return {
        key: `state_loss#${id}#${finding.lossTime}`,
        finding,
        holdAt: finding.lossTime,
        outcome: 'pending',
      };
    case 'stuck':
      return { key: `stuck#${id}#${finding.listedSince ?? 'unknown'}`, finding, outcome: 'pending' };
  }
}

/** Items that hold the cursor first, oldest first; then stuck starts, longest first. */
function byPriority(a: Item, b: Item): number {
  const rank = (item: Item) => (item.holdAt === undefined ? 1 : 0);
  const time = (item: Item) =>
    item.holdAt ?? (item.finding.kind === 'stuck' ? (item.finding.listedSince ?? 0) : 0);
  return rank(a) - rank(b) || time(a) - time(b);
}

/**
 * The memory the next run starts from: what is settled (so as not to look it up again), what keeps
 * failing (to set it aside after `setAsideAfterRuns` runs), what is set aside. After a complete
 * listing, entries of items no longer listed are dropped; after a partial one they are kept.
 */
function remember(
  previous: PollMemory,
  items: readonly Item[],
  listedAll: boolean,
  since: number,
  startedAt: number,
  options: PollerOptions,
  onSetAside: (item: Item, runs: number) => void,
): PollMemory {
  const now = new Date(startedAt).toISOString();
  const seen = new Set(items.map((item) => item.key));
  const keep = (key: string) => !listedAll || seen.has(key);
  const settled: Record<string, number> = {};
  const failing: Record<string, FailingItem> = {};
  const setAside: Record<string, SetAsideItem> = {};
  for (const [key, time] of Object.entries(previous.settled ?? {})) {
    if (keep(key) && !(key.startsWith('state_loss#') && time <= since)) settled[key] = time;
  }
  for (const [key, entry] of Object.entries(previous.setAside ?? {})) if (keep(key)) setAside[key] = entry;
  for (const [key, entry] of Object.entries(previous.failing ?? {})) {
    // An item not looked at in this run (a partial listing, time up) keeps its count.
    const item = items.find((candidate) => candidate.key === key);
    if (item === undefined ? keep(key) : item.outcome === 'deferred') failing[key] = entry;
  }
  for (const item of items) {
    if (item.outcome === 'settled' && setAside[item.key] === undefined) {
      delete failing[item.key];
      if (isFinal(item)) settled[item.key] = item.holdAt ?? startedAt;
    }
    if (item.outcome !== 'failed') continue;
    const before = previous.failing?.[item.key];
    const runs = (before?.runs ?? 0) + 1;
    if (runs >= options.setAsideAfterRuns) {
      delete failing[item.key];
      setAside[item.key] = { at: now, runs, error: item.error ?? 'unknown' };
      onSetAside(item, runs);
    } else {
      failing[item.key] = { runs, since: before?.since ?? now, error: item.error ?? 'unknown' };
    }
  }
  return {
    settled: newest(settled, MAX_SETTLED),
    failing: newest(failing, MAX_FAILING),
    setAside: newest(setAside, MAX_SET_ASIDE),
  };
}

/**
 * Whether a settled item will look the same to every later run, so that it need not be looked up
 * again: a driver loss, explained or ticketed (its events do not change), and a stuck start once
 * ticketed under a known list time (its incident key would be a duplicate). A start not stuck yet
 * must be looked at again; a termination costs no events call and is seen again as a duplicate.
 */
function isFinal(item: Item): boolean {
  switch (item.finding.kind) {
    case 'driver_loss':
      return true;
    case 'stuck':
      return item.signal !== undefined && item.finding.listedSince !== undefined;
    case 'termination':
      return false;
  }
}

/** The last `max` entries (insertion order: the oldest were added first). */
function newest<V>(record: Record<string, V>, max: number): Record<string, V> {
  const entries = Object.entries(record);
  return entries.length <= max ? record : Object.fromEntries(entries.slice(entries.length - max));
}

/** Databricks refused the request itself (400): a page token it no longer takes. */
function isRejectedRequest(error: unknown): boolean {
  return error instanceof DatabricksApiError && error.status === 400;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
