/**
 * The pure parts of a workspace's poll: its detection window, the items it follows from the list to
 * their tickets, the order their events are read in, and the memory the next run starts from.
 */

import type { FailureSignal } from '../core/signal.ts';
import type { FailingItem, PollCursor, PollMemory, SetAsideItem } from '../store/cursors.ts';
import type { PollerOptions } from './config.ts';
import type { ClusterFinding, DetectionWindow } from './detect.ts';
import type { WorkspacePollDeps } from './poll-deps.ts';

/** Bounds on the memory carried in the cursor item (far below DynamoDB's 400 KB). */
const MAX_SETTLED = 2000;
const MAX_FAILING = 500;
const MAX_SET_ASIDE = 200;

/** A finding or a failure, followed from the list to its ticket. */
export interface Item {
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

/**
 * `since`: the cursor minus the overlap (on the first poll, the initial look-back), but never further
 * back than `maxCatchUp`: after a long outage old failures are left to people, not recovered en masse.
 */
export function detectionWindow(
  workspaceId: string,
  cursor: PollCursor | undefined,
  startedAt: number,
  deps: Pick<WorkspacePollDeps, 'options' | 'metrics' | 'incident'>,
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

export function itemOf(finding: ClusterFinding): Item {
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
export function byPriority(a: Item, b: Item): number {
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
export function remember(
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
