/**
 * Instance pools: a cluster with `instance_pool_id` (and optionally `driver_instance_pool_id`) takes
 * its nodes, and its node types, from the pool. A pool with `max_capacity` holds at most that many
 * instances across the clusters using it; a start beyond it fails with
 * `INSTANCE_POOL_MAX_CAPACITY_REACHED` and succeeds again once other clusters give instances back.
 */
import * as z from 'zod';
import type { TerminationReasonSeed } from './scenario.ts';

export const PoolSeedSchema = z.strictObject({
  instance_pool_id: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'may contain only letters, digits, ".", "_" and "-"'),
  instance_pool_name: z.string().min(1).max(100).optional(),
  node_type_id: z.string().min(1),
  /** Instances (drivers and workers) the pool lends at most. @default unlimited */
  max_capacity: z.number().int().positive().optional(),
});
export type PoolSeed = z.infer<typeof PoolSeedSchema>;

type Config = Readonly<Record<string, unknown>>;

/** The pool ids a cluster configuration draws from: workers, then driver (which defaults to the workers' pool). */
export function poolIds(config: Config): { workers?: string; driver?: string } {
  const workers = typeof config.instance_pool_id === 'string' ? config.instance_pool_id : undefined;
  const driver =
    typeof config.driver_instance_pool_id === 'string' ? config.driver_instance_pool_id : workers;
  return { ...(workers ? { workers } : {}), ...(driver ? { driver } : {}) };
}

export function isPoolCluster(config: Config): boolean {
  return poolIds(config).workers !== undefined;
}

/** Whether any of the cluster's instances (workers or only its driver) come from a pool. */
export function drawsFromPool(config: Config): boolean {
  return poolIds(config).driver !== undefined;
}

/**
 * Databricks refuses node types next to a pool (terraform-provider-databricks #2141 shows the
 * message): the pool decides them — the workers' type when the workers come from a pool, the
 * driver's when the driver does (its own `driver_instance_pool_id`, else the workers' pool).
 */
export function poolNodeTypeConflict(config: Config): string | undefined {
  const { workers, driver } = poolIds(config);
  const decided: [string, string | undefined][] = [
    ['node_type_id', workers],
    ['driver_node_type_id', driver],
  ];
  for (const [field, pool] of decided) {
    if (pool !== undefined && config[field] !== undefined)
      return `The field '${field}' cannot be supplied when an instance pool ID is provided.`;
  }
  return undefined;
}

export class Pools {
  private readonly pools = new Map<string, PoolSeed>();

  clear(): void {
    this.pools.clear();
  }

  add(seed: PoolSeed): void {
    this.pools.set(seed.instance_pool_id, seed);
  }

  has(id: string): boolean {
    return this.pools.has(id);
  }

  /** The node types a pool cluster shows (`clusters/get`), from its pools. */
  nodeTypes(config: Config): { node_type_id?: string; driver_node_type_id?: string } {
    const { workers, driver } = poolIds(config);
    const worker = workers ? this.pools.get(workers)?.node_type_id : undefined;
    const driverType = driver ? this.pools.get(driver)?.node_type_id : undefined;
    return {
      ...(worker ? { node_type_id: worker } : {}),
      ...(driverType ? { driver_node_type_id: driverType } : {}),
    };
  }

  /**
   * Why a cluster needing `workers` workers cannot start now, given what the other clusters hold
   * (`held` lists, per cluster holding instances, its configuration and worker count).
   */
  capacityFailure(
    config: Config,
    workers: number,
    held: Iterable<{ readonly config: Config; readonly workers: number }>,
  ): TerminationReasonSeed | undefined {
    const demand = instancesPerPool(config, workers);
    if (demand.size === 0) return undefined;
    const used = new Map<string, number>();
    for (const other of held) {
      for (const [pool, count] of instancesPerPool(other.config, other.workers))
        used.set(pool, (used.get(pool) ?? 0) + count);
    }
    for (const [pool, count] of demand) {
      const max = this.pools.get(pool)?.max_capacity;
      if (max === undefined) continue;
      const inUse = used.get(pool) ?? 0;
      if (inUse + count > max) {
        return {
          code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED',
          type: 'CLIENT_ERROR',
          parameters: {
            instance_pool_id: pool,
            databricks_error_message: `The instance pool ${pool} reached its maximum capacity of ${max} instances (${inUse} in use, ${count} requested).`,
          },
        };
      }
    }
    return undefined;
  }
}

function instancesPerPool(config: Config, workers: number): Map<string, number> {
  const { workers: workerPool, driver } = poolIds(config);
  const counts = new Map<string, number>();
  if (workerPool) counts.set(workerPool, workers);
  if (driver) counts.set(driver, (counts.get(driver) ?? 0) + 1);
  return counts;
}
