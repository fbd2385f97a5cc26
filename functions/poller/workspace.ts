/**
 * One workspace's poll: list every cluster page by page, keep the few that need attention, look the
 * ambiguous ones up in their events (oldest first, within a budget), record each failure through the
 * incident path, and move the workspace's cursor as far as every failure before it is recorded.
 */
import { describeError } from '../core/errors.ts';
import { openIncident } from '../core/incident.ts';
import type { ListClustersResponse } from '../core/schemas/databricks.ts';
import type { FailureSignal } from '../core/signal.ts';
import type { ListClustersQuery } from '../databricks/client.ts';
import { DatabricksApiError } from '../databricks/errors.ts';
import type { PollCursor, PollMemory } from '../store/cursors.ts';
import { assessCluster } from './detect.ts';
import { Semaphore, settleAll } from './limit.ts';
import type { WorkspacePollDeps } from './poll-deps.ts';
import { confirm } from './poll-events.ts';
import { byPriority, detectionWindow, type Item, itemOf, remember } from './poll-items.ts';
import {
  fail,
  type ListingResume,
  outOfTime,
  type Poll,
  resultOf,
  StoppedEarly,
  type Tally,
  type WorkspaceMemory,
  type WorkspacePollResult,
} from './poll-state.ts';

// Budget and PollerMetrics live in poll-deps.ts, WorkspacePollResult in poll-state.ts; re-exported for
// poller/fleet.ts, poller/reconcile.ts and lib/local/poller-loop.ts (changed on other branches).
export type { Budget, PollerMetrics } from './poll-deps.ts';
export type { WorkspacePollResult } from './poll-state.ts';

/**
 * Time a listing leaves for the rest of the run (events of the few candidates, recording the
 * failures, the cursor): when less is left, it stops and the next run continues it, rather than
 * find failures it has no time to record.
 */
const LISTING_RESERVE_MS = 15_000;

/** Permits one workspace may hold of the run's: half, rounded up, so that others always get some. */
export function workspacePermits(maxConcurrentRequests: number): number {
  return Math.max(1, Math.ceil(maxConcurrentRequests / 2));
}

export async function pollWorkspace(
  workspaceId: string,
  deps: WorkspacePollDeps,
): Promise<WorkspacePollResult> {
  const startedAt = deps.clock();
  const tally: Tally = {
    failed: false,
    listed: 0,
    listCalls: 0,
    eventCalls: 0,
    explained: 0,
    setAside: 0,
    outcomes: { success: 0, duplicate: 0, ignored: 0, escalated: 0, error: 0 },
    items: [],
    problems: [],
  };
  let cursor: PollCursor | undefined;
  try {
    cursor = await deps.cursors.get(workspaceId);
  } catch (error) {
    tally.failed = true;
    tally.problems.push(`cannot read the poll cursor: ${describeError(error)}`);
    return resultOf(workspaceId, tally);
  }
  const memory: WorkspaceMemory = cursor?.memory ?? {};
  const window = detectionWindow(workspaceId, cursor, startedAt, deps);
  // A listing the last run's time cut short continues, unless it is older than the catch-up.
  const resumed =
    memory.listing !== undefined && startedAt - memory.listing.startedAt <= deps.options.maxCatchUpMs
      ? memory.listing
      : undefined;
  const poll: Poll = {
    ...tally,
    workspaceId,
    deps,
    startedAt,
    cursor,
    memory,
    window,
    call: callerFor(deps),
    resumed,
    token: resumed?.pageToken,
    listedAll: false,
    checks: 0,
  };
  await listPages(poll);
  const signals = await checkCandidates(poll, notSettledBefore(poll));
  await recordFailures(poll, signals);
  return moveCursor(poll, signals.length);
}

/**
 * A workspace holds at most its share of the run's permits, taken first so that it queues for the
 * shared ones with one call at a time; a permit is held for one call, retries included, and a call
 * never outlives its own deadline.
 */
function callerFor(deps: WorkspacePollDeps): Poll['call'] {
  const { budget, options } = deps;
  const own = new Semaphore(workspacePermits(options.maxConcurrentRequests));
  return (what, send) =>
    own.run(() =>
      deps.semaphore.run(async () => {
        if (!budget.hasTime()) throw new StoppedEarly(`the run's time was up before ${what}`);
        return send({ deadline: Math.min(budget.deadline(), Date.now() + options.callTimeoutMs) });
      }),
    );
}

/**
 * 1. The list: one call per page of 100, nothing per cluster; where the last run's time cut it
 * short, from the page after the last one it read.
 */
async function listPages(poll: Poll): Promise<void> {
  const { deps, workspaceId } = poll;
  const seenTokens = new Set<string>();
  try {
    do {
      // The listing stops early enough to check and record what it found; the next run continues it.
      if (!deps.budget.hasTime() || deps.budget.deadline() - Date.now() < LISTING_RESERVE_MS)
        throw new StoppedEarly("the run's time is up");
      const page = await readPage(poll);
      if (page === undefined) continue;
      poll.listCalls++;
      for (const cluster of page.clusters) {
        poll.listed++;
        const finding = assessCluster(cluster, poll.window);
        if (finding !== undefined) poll.items.push(itemOf(finding));
      }
      poll.token = page.next_page_token || undefined;
      if (poll.token !== undefined) {
        if (seenTokens.has(poll.token)) throw new Error('clusters/list repeated a next_page_token');
        seenTokens.add(poll.token);
      }
    } while (poll.token !== undefined || poll.listCalls === 0);
    poll.listedAll = true;
  } catch (error) {
    const { listCalls, resumed, token } = poll;
    if (outOfTime(poll, error)) {
      poll.problems.push(
        `stopped after ${listCalls} list pages${resumed === undefined ? '' : ` (${resumed.pages + listCalls} in all)`}: the run's time is up${token === undefined ? '' : '; the next run continues from the next page'}`,
      );
    } else {
      poll.failed = true;
      poll.problems.push(`clusters/list failed after ${listCalls} pages: ${describeError(error)}`);
      deps.incident.logger.error('cannot list the clusters of a workspace', {
        workspaceId,
        error: describeError(error),
      });
    }
  }
  deps.metrics.count('ClustersListed', poll.listed);
  deps.metrics.count('ListCalls', poll.listCalls);
}

/**
 * One page of the list, or nothing when Databricks refused the saved page token of a continued
 * listing (expired, another query): the listing then starts again from the first page.
 */
async function readPage(poll: Poll): Promise<ListClustersResponse | undefined> {
  const { deps, token } = poll;
  const query: ListClustersQuery = {
    page_size: deps.options.pageSize,
    ...(token === undefined ? {} : { page_token: token }),
  };
  try {
    return await poll.call('a list page', (callOptions) => deps.reader.listClusters(query, callOptions));
  } catch (error) {
    if (poll.listCalls > 0 || poll.resumed === undefined || !isRejectedRequest(error)) throw error;
    deps.incident.logger.warn('the saved page token was refused; listing the workspace from its first page', {
      workspaceId: poll.workspaceId,
      error: describeError(error),
    });
    deps.metrics.count('ListingRestarted');
    poll.resumed = undefined;
    poll.token = undefined;
    return undefined;
  }
}

/** Items an earlier run settled or set aside are not looked at again. */
function notSettledBefore(poll: Poll): Item[] {
  const { memory } = poll;
  return poll.items.filter((item) => {
    if (memory.setAside?.[item.key] !== undefined || memory.settled?.[item.key] !== undefined) {
      item.outcome = 'settled';
      return false;
    }
    return true;
  });
}

/**
 * 2. The ambiguous few: their events decide, the ones holding the cursor back first, oldest first,
 * at most `maxEventChecksPerWorkspace` of them. Returns the items found to be failures.
 */
async function checkCandidates(poll: Poll, live: readonly Item[]): Promise<Item[]> {
  const { options, metrics } = poll.deps;
  const ordered = live.slice().sort(byPriority);
  const confirmed = await settleAll(ordered, workspacePermits(options.maxConcurrentRequests), (item) =>
    confirm(poll, item),
  );
  confirmed.forEach((settled, i) => {
    const item = ordered[i];
    if (item === undefined) return;
    if (settled.status === 'fulfilled') {
      if (settled.value === undefined) item.outcome = 'settled';
      else item.signal = settled.value;
      return;
    }
    fail(poll, item, settled.reason, 'cannot read the events of a cluster');
  });
  metrics.count('EventCalls', poll.eventCalls);
  const signals = ordered.filter((item) => item.signal !== undefined && item.outcome === 'pending');
  metrics.count('FailuresDetected', signals.length);
  return signals;
}

/** 3. Record every failure through the same path as the intake. */
async function recordFailures(poll: Poll, signals: readonly Item[]): Promise<void> {
  const { deps } = poll;
  const recorded = await settleAll(signals, deps.options.signalConcurrency, async (item) => {
    if (!deps.budget.hasTime())
      throw new StoppedEarly("the run's time is up before every failure was recorded");
    return openIncident(item.signal as FailureSignal, deps.incident);
  });
  recorded.forEach((settled, i) => {
    const item = signals[i];
    if (item === undefined) return;
    if (settled.status === 'fulfilled') {
      poll.outcomes[settled.value.status]++;
      item.outcome = 'settled';
      return;
    }
    fail(poll, item, settled.reason, 'a failure could not be recorded');
  });
  const deferred = poll.items.filter((item) => item.outcome === 'deferred' && item.awaiting !== true);
  if (deferred.length > 0) {
    poll.problems.push(`${deferred.length} candidates left for the next run (event budget or time used up)`);
    deps.metrics.count('CandidatesDeferred', deferred.length);
  }
}

/**
 * 4. Items failing run after run are set aside, so that one of them cannot hold the cursor forever.
 * Entries of items no longer listed are dropped only after a listing made whole in this run.
 */
function nextMemoryOf(poll: Poll): PollMemory {
  const { deps, workspaceId } = poll;
  const listedWhole = poll.listedAll && poll.resumed === undefined;
  return remember(
    poll.memory,
    poll.items,
    listedWhole,
    poll.window.since,
    poll.startedAt,
    deps.options,
    (item, runs) => {
      poll.setAside++;
      deps.metrics.count('ItemsSetAside');
      deps.incident.logger.error(
        'an item failed in several runs in a row and is set aside; the cursor moves past it',
        {
          workspaceId,
          item: item.key,
          runs,
          error: item.error,
        },
      );
    },
  );
}

/** 5. The cursor moves up to just before the oldest item not settled (or to the listing's start). */
async function moveCursor(poll: Poll, failuresDetected: number): Promise<WorkspacePollResult> {
  const { deps, workspaceId, cursor, resumed } = poll;
  const nextMemory = nextMemoryOf(poll);
  const held = poll.items
    .filter((item) => item.holdAt !== undefined && (item.outcome === 'deferred' || item.outcome === 'failed'))
    .filter((item) => nextMemory.setAside?.[item.key] === undefined)
    .map((item) => (item.holdAt as number) - 1);
  if (resumed?.holdUntil !== undefined) held.push(resumed.holdUntil);
  const unmoved = cursor === undefined ? {} : { polledUntil: cursor.polledUntil };
  try {
    if (poll.failed || !poll.listedAll) {
      await saveContinuation(poll, nextMemory, held);
      return resultOf(workspaceId, poll, unmoved);
    }
    const target = Math.min(resumed?.startedAt ?? poll.startedAt, ...held);
    const moved = await deps.cursors.advance(
      workspaceId,
      target,
      { clustersListed: poll.listed, failuresDetected },
      nextMemory,
    );
    if (moved.advanced) deps.metrics.count('CursorsAdvanced');
    return resultOf(workspaceId, poll, {
      cursorAdvanced: moved.advanced,
      polledUntil: moved.cursor.polledUntil,
    });
  } catch (error) {
    poll.problems.push(`cannot store the poll cursor: ${describeError(error)}`);
    return resultOf(workspaceId, poll, unmoved);
  }
}

/** Time cut the listing short: the next run continues it (a failed listing starts again). */
async function saveContinuation(poll: Poll, nextMemory: PollMemory, held: readonly number[]): Promise<void> {
  const { deps, workspaceId, resumed, token } = poll;
  const listing: ListingResume | undefined =
    poll.failed || token === undefined
      ? undefined
      : {
          pageToken: token,
          startedAt: resumed?.startedAt ?? poll.startedAt,
          pages: (resumed?.pages ?? 0) + poll.listCalls,
          ...(held.length === 0 ? {} : { holdUntil: Math.min(...held) }),
        };
  const kept: WorkspaceMemory = listing === undefined ? nextMemory : { ...nextMemory, listing };
  if (poll.cursor === undefined && listing !== undefined) {
    // A workspace's first listing: the cursor is created at the start of the window it looked at,
    // so that the next run looks at the same window, and carries where the listing stopped.
    await deps.cursors.advance(
      workspaceId,
      poll.window.since + deps.options.overlapMs,
      { clustersListed: poll.listed, listing: 'continues' },
      kept,
    );
  } else {
    await deps.cursors.remember(workspaceId, kept);
  }
}

/** Databricks refused the request itself (400): a page token it no longer takes. */
function isRejectedRequest(error: unknown): boolean {
  return error instanceof DatabricksApiError && error.status === 400;
}
