/**
 * The state a workspace's poll passes from phase to phase (what it counts and finds, what it started
 * from), the result made of it and what a workspace's cursor remembers, and how an item that could not be checked or recorded is kept.
 */

import { describeError } from '../core/errors.ts';
import type { OutcomeStatus } from '../core/incident.ts';
import { DatabricksDeadlineExceededError } from '../databricks/errors.ts';
import type { CallOptions } from '../databricks/transport.ts';
import type { PollCursor, PollMemory } from '../store/cursors.ts';
import type { DetectionWindow } from './detect.ts';
import type { WorkspacePollDeps } from './poll-deps.ts';
import type { Item } from './poll-items.ts';

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

/** Time ran out, or the event budget did, before this step could start: it waits for the next run. */
export class StoppedEarly extends Error {
  override readonly name: string = 'StoppedEarly';
}

/** A candidate that cannot be decided yet (a driver that may still heal): deferred, holding the cursor. */
export class NotYetDecided extends StoppedEarly {
  override readonly name = 'NotYetDecided';
}

/** What a workspace's poll counts and finds, from which its result is made. */
export interface Tally {
  failed: boolean;
  listed: number;
  listCalls: number;
  eventCalls: number;
  explained: number;
  setAside: number;
  readonly outcomes: Record<OutcomeStatus, number>;
  readonly items: Item[];
  readonly problems: string[];
}

/** One workspace's poll as its phases pass it on. */
export interface Poll extends Tally {
  readonly workspaceId: string;
  readonly deps: WorkspacePollDeps;
  /** Observation time (epoch ms) when the poll started. */
  readonly startedAt: number;
  readonly cursor: PollCursor | undefined;
  readonly memory: WorkspaceMemory;
  readonly window: DetectionWindow;
  /** A Databricks call under the workspace's and the run's permits, within the run's time. */
  readonly call: <T>(what: string, send: (callOptions: CallOptions) => Promise<T>) => Promise<T>;
  /** The listing an earlier run's time cut short, continued by this one. */
  resumed: ListingResume | undefined;
  /** The `next_page_token` still to read. */
  token: string | undefined;
  listedAll: boolean;
  /** Candidates whose events were asked for. */
  checks: number;
}

export function resultOf(
  workspaceId: string,
  tally: Tally,
  extra: Partial<WorkspacePollResult> = {},
): WorkspacePollResult {
  return {
    workspaceId,
    status: tally.failed ? 'failed' : tally.problems.length > 0 ? 'incomplete' : 'complete',
    clustersListed: tally.listed,
    listCalls: tally.listCalls,
    eventCalls: tally.eventCalls,
    failuresDetected: tally.items.filter((item) => item.signal !== undefined).length,
    explainedStateLosses: tally.explained,
    outcomes: tally.outcomes,
    setAside: tally.setAside,
    cursorAdvanced: false,
    problems: tally.problems,
    ...extra,
  };
}

export function outOfTime(poll: Poll, error: unknown): boolean {
  return (
    error instanceof StoppedEarly ||
    (error instanceof DatabricksDeadlineExceededError && !poll.deps.budget.hasTime())
  );
}

/** An item that could not be checked or recorded: deferred when time ran out, else failed. */
export function fail(poll: Poll, item: Item, reason: unknown, message: string): void {
  if (outOfTime(poll, reason)) {
    item.outcome = 'deferred';
    if (reason instanceof NotYetDecided) item.awaiting = true;
    return;
  }
  item.outcome = 'failed';
  item.error = describeError(reason);
  poll.problems.push(`${item.key}: ${item.error}`);
  poll.deps.incident.logger.warn(message, {
    workspaceId: poll.workspaceId,
    item: item.key,
    error: item.error,
  });
}
