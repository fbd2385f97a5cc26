/**
 * A cluster's state machine: PENDING → RUNNING after `startMs` (or → TERMINATING when the launch
 * fails), RESTARTING → RUNNING, RESIZING → RUNNING, TERMINATING → TERMINATED, autotermination once
 * idle, and the driver's health after a crash or a GC pause. Each move is scheduled on the timeline
 * and applied when due (`applyDue`); an event carries the time the move was due.
 */

import { SimApiError } from './errors.ts';
import {
  autoterminationMs,
  type ClusterAction,
  desiredWorkers,
  type Json,
  type Reason,
  reasonJson,
  type SimCluster,
  STATE_WORDS,
  TERMINAL_LIFE_CYCLES,
  terminationMessage,
  USER,
  type WorkspaceModel,
} from './model.ts';
import { drawsFromPool } from './pools.ts';
import type { Transition } from './timeline.ts';

export class ClusterLifecycle {
  private readonly m: WorkspaceModel;

  constructor(m: WorkspaceModel) {
    this.m = m;
  }

  /** Applies a due cluster, driver or idle transition (a stale one changes nothing). */
  applyDue(due: Transition): void {
    const cluster = this.m.clusters.get(due.id);
    if (cluster === undefined) return;
    if (due.kind === 'cluster') {
      if (cluster.transition === due.transition && cluster.nextAction) {
        const action = cluster.nextAction;
        cluster.nextAction = undefined;
        this.apply(cluster, action, due.at);
      }
    } else if (due.kind === 'driver') {
      if (cluster.driverTransition === due.transition && cluster.state === 'RUNNING') {
        cluster.driverHealthy = true;
        this.m.record(cluster, due.at, 'DRIVER_HEALTHY', {});
      }
    } else if (cluster.idleTransition === due.transition) {
      this.idleCheck(cluster, due.at);
    }
  }

  schedule(cluster: SimCluster, at: number, action: ClusterAction): void {
    cluster.transition++;
    cluster.nextAction = action;
    this.m.timeline.add({ at, kind: 'cluster', id: cluster.id, transition: cluster.transition });
  }

  /** Autotermination: the cluster terminates once idle for `autotermination_minutes` (0 = never). */
  scheduleIdleCheck(cluster: SimCluster): void {
    cluster.idleTransition++;
    const window = autoterminationMs(cluster.config);
    if (window === 0 || cluster.state !== 'RUNNING') return;
    this.m.timeline.add({
      at: (cluster.lastActivityTime ?? this.m.clock.now()) + window,
      kind: 'idle',
      id: cluster.id,
      transition: cluster.idleTransition,
    });
  }

  private idleCheck(cluster: SimCluster, at: number): void {
    if (cluster.state !== 'RUNNING' || cluster.gone) return;
    // A job task running on it is activity all along.
    if (this.activeTaskOn(cluster.id)) cluster.lastActivityTime = at;
    const window = autoterminationMs(cluster.config);
    if (window > 0 && at >= (cluster.lastActivityTime ?? at) + window) {
      const minutes = String(cluster.config.autotermination_minutes);
      this.terminate(
        cluster,
        { code: 'INACTIVITY', type: 'SUCCESS', parameters: { inactivity_duration_min: minutes } },
        at,
      );
      return;
    }
    this.scheduleIdleCheck(cluster);
  }

  private activeTaskOn(clusterId: string): boolean {
    for (const run of this.m.runs.values()) {
      if (TERMINAL_LIFE_CYCLES.has(run.lifeCycle)) continue;
      if (run.tasks.some((t) => t.lifeCycle === 'RUNNING' && t.clusterInstance?.cluster_id === clusterId))
        return true;
    }
    return false;
  }

  /** Something used the cluster (a command, a job task): its idle time starts again. */
  touch(cluster: SimCluster, at: number): void {
    cluster.lastActivityTime = at;
    this.scheduleIdleCheck(cluster);
  }

  cancelTransition(cluster: SimCluster): void {
    cluster.transition++;
    cluster.nextAction = undefined;
  }

  /** Cancels what was scheduled and starts terminating with `reason` at `at`. */
  terminate(cluster: SimCluster, reason: Reason, at: number): void {
    this.cancelTransition(cluster);
    this.apply(cluster, { kind: 'terminating', reason }, at);
  }

  apply(cluster: SimCluster, action: ClusterAction, at: number): void {
    switch (action.kind) {
      case 'running': {
        cluster.state = 'RUNNING';
        cluster.stateMessage = '';
        cluster.lastRestartedTime = at;
        cluster.runningSince = at;
        cluster.lastStateLossTime = at;
        cluster.driverHealthy = true;
        cluster.driverTransition++;
        cluster.sparkContextId = this.m.random.int64();
        cluster.currentWorkers = this.acquirableWorkers(cluster, desiredWorkers(cluster.config));
        this.m.record(cluster, at, 'RUNNING', {
          current_num_workers: cluster.currentWorkers,
          target_num_workers: desiredWorkers(cluster.config),
        });
        this.touch(cluster, at);
        break;
      }
      case 'resized': {
        cluster.state = 'RUNNING';
        cluster.stateMessage = '';
        if (action.to > action.from) {
          const reachable = this.acquirableWorkers(cluster, action.to);
          const shortage =
            reachable < action.to ? this.m.faults.unavailableReason(this.m.nodeTypesOf(cluster)) : undefined;
          cluster.currentWorkers = Math.max(action.from, reachable);
          this.m.record(cluster, at, 'UPSIZE_COMPLETED', {
            current_num_workers: cluster.currentWorkers,
            target_num_workers: action.to,
            ...(shortage ? { reason: reasonJson(shortage) } : {}),
          });
        } else {
          cluster.currentWorkers = action.to;
        }
        this.scheduleIdleCheck(cluster);
        break;
      }
      case 'terminating': {
        cluster.state = 'TERMINATING';
        cluster.terminationReason = action.reason;
        cluster.stateMessage = terminationMessage(action.reason);
        this.m.record(cluster, at, 'TERMINATING', {
          reason: reasonJson(action.reason),
          ...(action.reason.code === 'USER_REQUEST'
            ? { user: action.reason.parameters?.username ?? USER }
            : {}),
        });
        this.schedule(cluster, at + this.m.timings.terminateMs, { kind: 'terminated' });
        break;
      }
      case 'terminated':
        cluster.state = 'TERMINATED';
        cluster.terminatedTime = at;
        cluster.currentWorkers = 0;
        break;
    }
  }

  /** Workers a cluster can get now: none of an unavailable node type. */
  private acquirableWorkers(cluster: SimCluster, wanted: number): number {
    return this.m.faults.unavailableReason(this.m.nodeTypesOf(cluster)) ? 0 : wanted;
  }

  start(cluster: SimCluster, user: string): void {
    const now = this.m.clock.now();
    cluster.state = 'PENDING';
    cluster.stateMessage = 'Finding instances for new nodes, acquiring more instances if necessary';
    cluster.terminationReason = undefined;
    cluster.terminatedTime = undefined;
    this.m.record(cluster, now, 'STARTING', { user });
    this.scheduleLaunch(cluster, now);
  }

  /** PENDING → RUNNING after `startMs`, or → TERMINATING after `failedStartMs` when a fault or the pool says so. */
  scheduleLaunch(cluster: SimCluster, now: number): void {
    const failure =
      this.m.faults.takeStartFailure(cluster.id) ??
      this.m.faults.unavailableReason(this.m.nodeTypesOf(cluster)) ??
      this.m.pools.capacityFailure(cluster.config, desiredWorkers(cluster.config), this.holding(cluster));
    if (failure) {
      this.schedule(cluster, now + this.m.timings.failedStartMs, { kind: 'terminating', reason: failure });
    } else {
      this.schedule(cluster, now + this.m.timings.startMs, { kind: 'running', cause: 'start' });
    }
  }

  /** Pool clusters other than `except` that hold instances now (up, or starting with success ahead). */
  private *holding(except: SimCluster): Generator<{ config: Json; workers: number }> {
    if (!drawsFromPool(except.config)) return;
    for (const c of this.m.ordered) {
      if (c === except || c.gone || c.state === 'TERMINATED' || !drawsFromPool(c.config)) continue;
      if (c.state === 'PENDING' && c.nextAction?.kind === 'terminating') continue;
      yield {
        config: c.config,
        workers: c.state === 'PENDING' ? desiredWorkers(c.config) : c.currentWorkers,
      };
    }
  }

  /** Terminated by `user` (USER_REQUEST): TERMINATING now. */
  terminateAs(cluster: SimCluster, user: string): void {
    this.terminate(
      cluster,
      { code: 'USER_REQUEST', type: 'SUCCESS', parameters: { username: user } },
      this.m.clock.now(),
    );
  }

  /**
   * The driver stops answering and Databricks heals it: `crash` loses its state (new Spark context,
   * new `last_state_loss_time`, DRIVER_HEALTHY after `driverRecoveryMs`); `gc-pause` is a blip
   * (DRIVER_HEALTHY after `gcPauseMs`, nothing lost).
   */
  driverTrouble(id: string, kind: 'crash' | 'gc-pause'): void {
    const cluster = this.m.requireCluster(id);
    if (cluster.state !== 'RUNNING') {
      throw new SimApiError(
        409,
        'INVALID_STATE',
        `Cluster ${id} is ${STATE_WORDS[cluster.state].toLowerCase()}, not running`,
      );
    }
    const now = this.m.clock.now();
    if (kind === 'crash') {
      cluster.lastStateLossTime = now;
      cluster.sparkContextId = this.m.random.int64();
      cluster.driverHealthy = false;
    }
    this.m.record(cluster, now, 'DRIVER_NOT_RESPONDING', {
      driver_state_message: 'Driver is up but is not responsive, likely due to GC.',
    });
    cluster.driverTransition++;
    this.m.timeline.add({
      at: now + (kind === 'crash' ? this.m.timings.driverRecoveryMs : this.m.timings.gcPauseMs),
      kind: 'driver',
      id,
      transition: cluster.driverTransition,
    });
  }
}

/** A part of the model that moves clusters through their lifecycle (seeding, the clusters API, jobs). */
export abstract class LifecyclePart {
  protected readonly m: WorkspaceModel;
  protected readonly lifecycle: ClusterLifecycle;

  constructor(m: WorkspaceModel, lifecycle: ClusterLifecycle) {
    this.m = m;
    this.lifecycle = lifecycle;
  }
}
