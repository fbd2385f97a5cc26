/**
 * The fallbacks of a capacity or spot failure (`planClusterRemediation` in `plan.ts` picks which
 * planners to try, in order): another node type, on-demand capacity, another instance pool. Pure, like
 * the planner. A value Databricks refused in this recovery is never tried again, and a fallback the
 * cluster's policy forbids is skipped with why; with none allowed left the cluster starts as it is,
 * or, when the policy forbade some, a human must choose.
 */
import { policyViolations } from '../core/cluster-policy.ts';
import type { ClusterDetails } from '../core/schemas/databricks.ts';
import { evidenceOf, mergeOriginal, originalOf, sameValue } from './cluster-config.ts';
import type { ConfigDecision, Decision, PlanContext, SkippedFallback } from './decision.ts';

/** Availability values meaning spot/preemptible capacity, and their on-demand counterparts. */
const ON_DEMAND_FOR: Readonly<Record<string, { readonly attribute: string; readonly value: string }>> = {
  SPOT: { attribute: 'aws_attributes', value: 'ON_DEMAND' },
  SPOT_WITH_FALLBACK: { attribute: 'aws_attributes', value: 'ON_DEMAND' },
  SPOT_AZURE: { attribute: 'azure_attributes', value: 'ON_DEMAND_AZURE' },
  SPOT_WITH_FALLBACK_AZURE: { attribute: 'azure_attributes', value: 'ON_DEMAND_AZURE' },
  PREEMPTIBLE_GCP: { attribute: 'gcp_attributes', value: 'ON_DEMAND_GCP' },
  PREEMPTIBLE_WITH_FALLBACK_GCP: { attribute: 'gcp_attributes', value: 'ON_DEMAND_GCP' },
};

/** Starts the TERMINATED cluster as it is: the plain remediation, and the one left when no fallback is. */
export function plainStart(
  ctx: PlanContext,
  why?: string,
): { readonly kind: 'start'; readonly description: string } {
  const retry = ctx.state.attempt > 1 ? ` (attempt ${ctx.state.attempt})` : '';
  return {
    kind: 'start',
    description: `started the TERMINATED cluster${retry}${why === undefined ? '' : `; ${why}`}`,
  };
}

/** Workers from an instance pool: their node type is the pool's, and Databricks refuses to set one. */
export function isPoolCluster(cluster: ClusterDetails): boolean {
  return cluster.instance_pool_id !== undefined && cluster.instance_pool_id !== '';
}

/** The driver comes from a pool (its own, or the workers' when it has none of its own). */
function isPoolDriver(cluster: ClusterDetails): boolean {
  return (cluster.driver_instance_pool_id ?? '') !== '' || isPoolCluster(cluster);
}

function wasRefused(ctx: PlanContext, field: string, value: unknown): boolean {
  return (ctx.state.refused ?? []).some((entry) => entry.field === field && sameValue(entry.value, value));
}

export type FallbackPlanner = (ctx: PlanContext, skipped: SkippedFallback[]) => ConfigDecision | undefined;

/**
 * The first fallback the cluster's policy allows; none left: escalate when the policy forbade some
 * (a human must choose what the policy allows), else start the cluster as it is.
 */
export function firstAllowed(ctx: PlanContext, planners: readonly FallbackPlanner[], why: string): Decision {
  const skipped: SkippedFallback[] = [];
  for (const planner of planners) {
    const decision = planner(ctx, skipped);
    if (decision !== undefined)
      return skipped.length === 0 ? decision : { ...decision, skippedByPolicy: skipped };
  }
  if (skipped.length === 0) return plainStart(ctx, why);
  return {
    kind: 'escalate',
    reason: `${ctx.input.errorType}: the cluster's policy ${ctx.cluster.policy_id ?? ''} forbids every fallback left (${skipped
      .map((skip) => skip.why)
      .join('; ')}); nothing was changed, a human must choose what the policy allows`,
    evidence: {
      ...evidenceOf(ctx.cluster),
      policy_id: ctx.cluster.policy_id,
      node_type_id: ctx.cluster.node_type_id,
      fallbacks_forbidden_by_policy: skipped,
    },
  };
}

/** Why the cluster's policy forbids the change (its first violation), or undefined; nothing is known without the policy. */
function forbiddenByPolicy(ctx: PlanContext, values: Readonly<Record<string, unknown>>): string | undefined {
  if (ctx.policy === undefined) return undefined;
  const violation = policyViolations(ctx.policy, values)[0];
  return violation === undefined
    ? undefined
    : `${violation.path} ${JSON.stringify(violation.value)}: ${violation.why}`;
}

export function nodeTypeFallback(ctx: PlanContext, skipped: SkippedFallback[]): ConfigDecision | undefined {
  const { cluster, input, state } = ctx;
  const current = cluster.node_type_id;
  if (current === undefined || isPoolCluster(cluster)) return undefined;
  const failed = new Set([...(state.failedNodeTypes ?? []), current]);
  const originalType = state.original?.values.node_type_id;
  const candidates = input.playbook.fallback_node_types.filter(
    (type) => !failed.has(type) && type !== originalType && !wasRefused(ctx, 'node_type_id', type),
  );
  // A driver on the same node type would hit the same shortage: it moves too, unless it comes from
  // a pool; a deliberately different one stays.
  const movesDriver =
    !isPoolDriver(cluster) &&
    cluster.driver_node_type_id !== undefined &&
    cluster.driver_node_type_id === current;
  for (const next of candidates) {
    const forbidden = forbiddenByPolicy(ctx, { node_type_id: next });
    if (forbidden !== undefined) {
      skipped.push({ values: { node_type_id: next }, why: forbidden });
      continue;
    }
    const fields = ['node_type_id'];
    const values: Record<string, unknown> = { node_type_id: next };
    if (movesDriver) {
      // The driver is decided on its own: the policy may hold it to other types than the workers
      // (`driver_node_type_id`), so it takes the first fallback type allowed for it.
      const driverTypes = [next, ...candidates.filter((type) => type !== next)].filter(
        (type) => !wasRefused(ctx, 'driver_node_type_id', type),
      );
      const driver = driverTypes.find(
        (type) => forbiddenByPolicy(ctx, { driver_node_type_id: type }) === undefined,
      );
      if (driver === undefined && driverTypes.length > 0) {
        skipped.push({
          values: { node_type_id: next, driver_node_type_id: next },
          why:
            forbiddenByPolicy(ctx, { driver_node_type_id: next }) ??
            'the policy forbids every fallback driver type',
        });
        continue;
      }
      if (driver !== undefined) {
        fields.push('driver_node_type_id');
        values.driver_node_type_id = driver;
      }
    }
    const driverNote =
      values.driver_node_type_id === undefined || values.driver_node_type_id === next
        ? ''
        : ` (driver → ${String(values.driver_node_type_id)})`;
    return {
      kind: 'fallback',
      description: `switched node type ${current} → ${next}${driverNote} and started the cluster`,
      fields,
      values,
      original: mergeOriginal(state.original, originalOf(cluster, fields)),
    };
  }
  return undefined;
}

export function onDemandFallback(ctx: PlanContext, skipped: SkippedFallback[]): ConfigDecision | undefined {
  const { cluster, state } = ctx;
  for (const attribute of ['aws_attributes', 'azure_attributes', 'gcp_attributes'] as const) {
    const current = (cluster.spec?.[attribute] ?? cluster[attribute]) as Record<string, unknown> | undefined;
    const availability = current?.availability;
    if (typeof availability !== 'string') continue;
    const target = ON_DEMAND_FOR[availability];
    if (target === undefined || target.attribute !== attribute) continue;
    const next = { ...current, availability: target.value };
    if (wasRefused(ctx, attribute, next)) continue;
    const forbidden = forbiddenByPolicy(ctx, { [attribute]: { availability: target.value } });
    if (forbidden !== undefined) {
      skipped.push({ values: { [attribute]: { availability: target.value } }, why: forbidden });
      continue;
    }
    return {
      kind: 'fallback',
      description: `switched ${attribute}.availability ${availability} → ${target.value} and started the cluster`,
      fields: [attribute],
      values: { [attribute]: next },
      original: mergeOriginal(state.original, originalOf(cluster, [attribute])),
    };
  }
  return undefined;
}

/**
 * A pool cluster short of capacity: another pool from `fallback_instance_pool_ids` (the driver moves
 * with the workers when it used their pool), else back off (once) and start it on the same pool —
 * pools drain. Never a node type: Databricks refuses it for pool clusters.
 */
export function poolFallback(ctx: PlanContext): Decision {
  const { cluster, input, state } = ctx;
  const current = cluster.instance_pool_id ?? '';
  const originalPool = state.original?.values.instance_pool_id;
  const movesDriver =
    cluster.driver_instance_pool_id !== undefined && cluster.driver_instance_pool_id === current;
  const skipped: SkippedFallback[] = [];
  const next = (input.playbook.fallback_instance_pool_ids ?? []).find((pool) => {
    if (pool === current || pool === originalPool || wasRefused(ctx, 'instance_pool_id', pool)) return false;
    const values = movesDriver
      ? { instance_pool_id: pool, driver_instance_pool_id: pool }
      : { instance_pool_id: pool };
    const forbidden = forbiddenByPolicy(ctx, values);
    if (forbidden !== undefined) skipped.push({ values, why: forbidden });
    return forbidden === undefined;
  });
  const note = skipped.length === 0 ? {} : { skippedByPolicy: skipped };
  if (next !== undefined) {
    const fields = ['instance_pool_id'];
    const values: Record<string, unknown> = { instance_pool_id: next };
    if (movesDriver) {
      fields.push('driver_instance_pool_id');
      values.driver_instance_pool_id = next;
    }
    return {
      ...note,
      kind: 'fallback',
      description: `moved the cluster from instance pool ${current} to ${next} and started it`,
      fields,
      values,
      original: mergeOriginal(state.original, originalOf(cluster, fields)),
    };
  }
  const why =
    skipped.length === 0 ? 'no alternative pool is configured' : 'the policy forbids the alternative pools';
  if (state.attempt === 1 && state.backedOff !== true) {
    return {
      ...note,
      kind: 'backoff',
      description: `instance pool ${current} is short of capacity; a pool cluster never gets another node type, so the pool is given time to drain (${why})`,
    };
  }
  return { ...plainStart(ctx, `on instance pool ${current} again after a back-off (${why})`), ...note };
}
