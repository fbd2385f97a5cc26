/**
 * The state a workspace's poll passes from phase to phase (what it counts and finds, what it started
 * from), the result made of it, and how an item that could not be checked or recorded is kept.
 */
import type { OutcomeStatus } from '../core/incident.ts';
import { DatabricksDeadlineExceededError } from '../databricks/errors.ts';
import type { CallOptions } from '../databricks/transport.ts';
import type { PollCursor } from '../store/cursors.ts';
import type { DetectionWindow } from './detect.ts';
import type { Item } from './poll-items.ts';
import type { ListingResume, WorkspaceMemory, WorkspacePollDeps, WorkspacePollResult } from './workspace.ts';

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
  item.error = errorText(reason);
  poll.problems.push(`${item.key}: ${item.error}`);
  poll.deps.incident.logger.warn(message, {
    workspaceId: poll.workspaceId,
    item: item.key,
    error: item.error,
  });
}

/** An error as one line for a problem or a log entry: its name and message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
