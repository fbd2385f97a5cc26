/**
 * What the simulator's request log says about recoveries: which requests changed a cluster, and how
 * many recoveries acted on clusters at once (the blast-radius cap's evidence).
 */
import type { LoggedRequest } from '../../lib/simulator/server.ts';

/** A request that changes a cluster. */
export const MUTATION = /\/clusters\/(start|restart|update|edit|resize)$/;

/**
 * The most recoveries acting on clusters at once, from the simulator's request log alone: a recovery
 * acts from its first mutating call on its cluster to the last request about that cluster.
 */
export function maxConcurrentRecoveries(log: readonly LoggedRequest[]): number {
  const spans = new Map<string, { from: number; to: number }>();
  for (const request of log) {
    if (request.clusterId === undefined) continue;
    const span = spans.get(request.clusterId);
    if (span === undefined) {
      if (request.method === 'POST' && MUTATION.test(request.path))
        spans.set(request.clusterId, { from: request.at, to: request.at });
    } else span.to = request.at;
  }
  const edges = [...spans.values()].flatMap((s) => [
    { at: s.from, delta: 1 },
    { at: s.to, delta: -1 },
  ]);
  // Ends before starts at the same instant: a slot given back and taken again is not two at once.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const edge of edges) {
    current += edge.delta;
    max = Math.max(max, current);
  }
  return max;
}
