/**
 * Phase 2 of a workspace's poll, for one candidate: whether its events (where it needs them) confirm
 * the failure the list suggests.
 */
import type { ClusterDetails, ClusterEventsResponse } from '../core/schemas/databricks.ts';
import type { FailureSignal } from '../core/signal.ts';
import type { ClusterEventsRequest } from '../databricks/client.ts';
import {
  DRIVER_HEALTH_EVENT_TYPES,
  driverLossVerdict,
  enteredStateAt,
  explainStateLoss,
  jobOfCluster,
  pollerSignal,
  RESTART_EVENT_TYPES,
  START_EVENT_TYPES,
} from './detect.ts';
import type { Item } from './poll-items.ts';
import { NotYetDecided, type Poll, StoppedEarly } from './poll-state.ts';

/** Past this, a state loss event is not taken for the one the list reports. */
const EVENT_SLACK_MS = 60_000;

/** The failure an item shows, if its events (where it needs them) confirm it. */
export async function confirm(poll: Poll, item: Item): Promise<FailureSignal | undefined> {
  const { finding } = item;
  const { cluster } = finding;
  const { options } = poll.deps;
  const ctx = { workspaceId: poll.workspaceId, now: poll.startedAt };
  const job = jobOfCluster(cluster);
  if (finding.kind === 'termination') return pollerSignal(cluster, 'termination', ctx, { job });
  if (poll.checks >= options.maxEventChecksPerWorkspace) {
    throw new StoppedEarly(`more than ${options.maxEventChecksPerWorkspace} clusters need their events`);
  }
  poll.checks++;
  if (finding.kind === 'driver_loss') {
    const lost = await driverLossExplained(poll, cluster, finding.lossTime);
    return lost ? undefined : pollerSignal(cluster, 'driver_loss', ctx, { job });
  }
  const events = await readEvents(poll, cluster, { event_types: START_EVENT_TYPES, page_size: 1 });
  const stuckSince = enteredStateAt(events, finding.listedSince);
  if (stuckSince === undefined) {
    poll.deps.incident.logger.warn(
      'a starting cluster has no start time; it cannot be checked for being stuck',
      {
        workspaceId: poll.workspaceId,
        clusterId: cluster.cluster_id,
      },
    );
    return undefined;
  }
  if (poll.startedAt - stuckSince < options.stuckAfterMs) return undefined;
  return pollerSignal(cluster, 'stuck', ctx, { stuckSince, job });
}

/**
 * Whether a driver's state loss is no failure: a restart explains it, or the driver healed by itself.
 * One events call answers both; a driver that may still heal is not decided yet (`NotYetDecided`).
 */
async function driverLossExplained(poll: Poll, cluster: ClusterDetails, lossTime: number): Promise<boolean> {
  const log = poll.deps.incident.logger;
  const events = await readEvents(poll, cluster, {
    start_time: lossTime - poll.deps.options.restartWindowMs,
    event_types: [...RESTART_EVENT_TYPES, ...DRIVER_HEALTH_EVENT_TYPES],
    page_size: 100,
  });
  const verdict = explainStateLoss(events, lossTime, EVENT_SLACK_MS);
  if (verdict.explained) {
    poll.explained++;
    log.info('driver state loss explained by a restart', {
      workspaceId: poll.workspaceId,
      clusterId: cluster.cluster_id,
      reason: verdict.reason,
    });
    return true;
  }
  const health = driverLossVerdict(events, lossTime, poll.startedAt);
  if (health.kind === 'healed') {
    poll.explained++;
    log.info('driver state loss healed by Databricks; not a failure', {
      workspaceId: poll.workspaceId,
      clusterId: cluster.cluster_id,
      reason: health.reason,
    });
    return true;
  }
  if (health.kind === 'pending') throw new NotYetDecided(health.reason);
  return false;
}

async function readEvents(
  poll: Poll,
  cluster: ClusterDetails,
  request: Omit<ClusterEventsRequest, 'cluster_id'>,
): Promise<ClusterEventsResponse['events']> {
  const page = await poll.call(`the events of ${cluster.cluster_id}`, (callOptions) =>
    poll.deps.reader.listClusterEvents(
      { cluster_id: cluster.cluster_id, order: 'DESC', ...request },
      callOptions,
    ),
  );
  poll.eventCalls++;
  return page.events;
}
