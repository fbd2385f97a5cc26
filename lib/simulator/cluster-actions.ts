/**
 * The clusters API's writes — start, restart, resize, edit, update, delete, permanent-delete — and
 * the admin's actions on a cluster (a failure, a user's start/stop/edit, a command). Each API write
 * checks what Databricks checks, is judged against the harm rules (harms.ts) with the cluster as it
 * was, then moves the cluster through its lifecycle.
 */
import { invalidParameter, SimApiError } from './errors.ts';
import { type CallOrigin, type ClusterFacts, judge, type MutatingCall } from './harms.ts';
import { LifecyclePart } from './lifecycle.ts';
import {
  autoterminationMs,
  clusterSize,
  type Json,
  READ_ONLY,
  type SimCluster,
  STATE_WORDS,
  USER,
  withoutSize,
} from './model.ts';
import { poolNodeTypeConflict } from './pools.ts';
import type { TerminationReasonSeed } from './scenario.ts';

export class ClusterActions extends LifecyclePart {
  /**
   * Judges an API call against the harm rules and records what it breaks. `origin` is the API
   * request; calls without one (the Jobs service, the admin's user actions) are not judged.
   */
  private judge(
    call: MutatingCall,
    cluster: SimCluster,
    origin: CallOrigin | undefined,
    configs?: { previous: Json; next: Json },
    refused = false,
  ): void {
    if (origin === undefined) return;
    const window = autoterminationMs(cluster.config);
    const facts: ClusterFacts = {
      source: cluster.source,
      state: cluster.state,
      terminationType: cluster.terminationReason?.type,
      terminationCode: cluster.terminationReason?.code,
      driverHealthy: cluster.driverHealthy,
      idleAtTermination:
        cluster.state === 'TERMINATED' &&
        (cluster.terminationReason?.code === 'INACTIVITY' ||
          (window > 0 &&
            cluster.lastActivityTime !== undefined &&
            (cluster.terminatedTime ?? 0) - cluster.lastActivityTime >= window)),
      ...(configs ? { previousConfig: configs.previous, nextConfig: configs.next } : {}),
    };
    const verdicts = judge(call, facts);
    // A refused call changed nothing: only trying to touch an owned cluster counts.
    const kept = refused ? verdicts.filter((v) => v.rule === 'mutate_owned_cluster') : verdicts;
    this.m.harms.record(origin, cluster.id, this.m.clock.now(), kept);
  }

  /** The per-workspace launch limit (`limits.clusterLaunchesPerMinute`): counts this launch or refuses it. */
  private takeLaunch(): void {
    const limits = this.m.limits;
    if (limits === undefined) return;
    const now = this.m.clock.now();
    this.m.launches = this.m.launches.filter((t) => t > now - 60_000);
    if (this.m.launches.length >= limits.clusterLaunchesPerMinute) {
      throw new SimApiError(
        limits.status,
        'REQUEST_LIMIT_EXCEEDED',
        `Your request was rejected due to API rate limiting: at most ${limits.clusterLaunchesPerMinute} cluster launches per minute in this workspace. Please retry your request later.`,
        limits.retryAfterSeconds,
      );
    }
    this.m.launches.push(now);
  }

  private refuseJobCluster(
    cluster: SimCluster,
    what: 'started' | 'edited',
    call: MutatingCall,
    origin?: CallOrigin,
  ): void {
    if (cluster.source !== 'JOB') return;
    // Refused, yet recorded: a careful operator never tries.
    this.judge(call, cluster, origin, undefined, true);
    throw invalidParameter(
      `Cluster ${cluster.id} was created by the job scheduler; job clusters cannot be ${what}.`,
    );
  }

  start(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    this.refuseJobCluster(cluster, 'started', 'start', origin);
    if (cluster.state !== 'TERMINATED') throw this.m.unexpectedState(cluster);
    this.takeLaunch();
    this.judge('start', cluster, origin);
    this.lifecycle.start(cluster, user);
  }

  restart(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    if (cluster.state !== 'RUNNING') throw this.m.unexpectedState(cluster);
    this.takeLaunch();
    this.judge('restart', cluster, origin);
    const now = this.m.clock.now();
    cluster.state = 'RESTARTING';
    cluster.stateMessage = 'Restarting Spark';
    this.m.record(cluster, now, 'RESTARTING', {
      user: typeof body.restart_user === 'string' ? body.restart_user : user,
    });
    this.lifecycle.schedule(cluster, now + this.m.timings.restartMs, { kind: 'running', cause: 'restart' });
  }

  resize(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    const target = resizeTarget(body);
    if (cluster.state !== 'RUNNING') {
      throw new SimApiError(
        400,
        'INVALID_STATE',
        `Cluster ${cluster.id} is not running (state ${STATE_WORDS[cluster.state]}).`,
      );
    }
    this.judge('resize', cluster, origin);
    const now = this.m.clock.now();
    const from = cluster.currentWorkers;
    if (body.num_workers !== undefined) {
      cluster.config.num_workers = target;
      delete cluster.config.autoscale;
    } else {
      cluster.config.autoscale = body.autoscale;
      delete cluster.config.num_workers;
    }
    cluster.state = 'RESIZING';
    cluster.stateMessage = 'Resizing cluster';
    this.m.record(cluster, now, 'RESIZING', {
      current_num_workers: from,
      target_num_workers: target,
      cluster_size: clusterSize(cluster.config),
      cause: 'USER_REQUEST',
      user,
    });
    this.lifecycle.schedule(cluster, now + this.m.timings.resizeMs, { kind: 'resized', from, to: target });
  }

  edit(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    if (typeof body.spark_version !== 'string' || body.spark_version === '') {
      throw invalidParameter('Missing required field: spark_version');
    }
    const next: Json = {};
    for (const [key, value] of Object.entries(body)) if (!READ_ONLY.has(key)) next[key] = value;
    this.applyEdit(cluster, next, 'edit', origin, user);
  }

  update(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    if (typeof body.update_mask !== 'string' || body.update_mask.trim() === '') {
      throw invalidParameter('Missing required field: update_mask');
    }
    const patch = body.cluster;
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw invalidParameter('Missing required field: cluster');
    }
    const fields = body.update_mask.split(',').map((f) => f.trim());
    const patchJson = patch as Json;
    let next: Json;
    if (fields.includes('*')) {
      next = {};
      for (const [key, value] of Object.entries(patchJson)) if (!READ_ONLY.has(key)) next[key] = value;
    } else {
      next = { ...cluster.config };
      for (const field of fields) {
        if (!/^[a-z_][a-z0-9_]*$/.test(field) || READ_ONLY.has(field)) {
          throw invalidParameter(`update_mask names a field that cannot be updated: ${field}`);
        }
        if (field in patchJson) next[field] = patchJson[field];
        else delete next[field];
      }
    }
    if (typeof next.spark_version !== 'string') throw invalidParameter('spark_version cannot be removed');
    this.applyEdit(cluster, next, 'update', origin, user);
  }

  private applyEdit(
    cluster: SimCluster,
    next: Json,
    call: 'edit' | 'update',
    origin: CallOrigin | undefined,
    user: string,
  ): void {
    this.refuseJobCluster(cluster, 'edited', call, origin);
    if (cluster.state !== 'RUNNING' && cluster.state !== 'TERMINATED') throw this.m.unexpectedState(cluster);
    const conflict = poolNodeTypeConflict(next) ?? this.m.policies.check(next);
    if (conflict !== undefined) throw invalidParameter(conflict);
    if (cluster.state === 'RUNNING') this.takeLaunch();
    this.judge(call, cluster, origin, { previous: cluster.config, next });
    const now = this.m.clock.now();
    const previous = cluster.config;
    cluster.config = { ...next, cluster_name: next.cluster_name ?? previous.cluster_name };
    // As Databricks reports it (api-facts §3.1): the attributes are ClusterAttributes, which carry no
    // size; the sizes travel in previous_cluster_size / cluster_size.
    this.m.record(cluster, now, 'EDITED', {
      previous_attributes: withoutSize(previous),
      attributes: withoutSize(cluster.config),
      previous_cluster_size: clusterSize(previous),
      cluster_size: clusterSize(cluster.config),
      user,
    });
    if (cluster.state === 'RUNNING') {
      cluster.state = 'RESTARTING';
      cluster.stateMessage = 'Restarting Spark to apply the new configuration';
      this.m.record(cluster, now, 'RESTARTING', { user });
      this.lifecycle.schedule(cluster, now + this.m.timings.restartMs, { kind: 'running', cause: 'restart' });
    }
  }

  /** `clusters/delete` = terminate; a no-op on TERMINATING/TERMINATED clusters. */
  terminate(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED') return;
    this.judge('delete', cluster, origin);
    this.lifecycle.terminateAs(cluster, user);
  }

  /**
   * `clusters/permanent-delete`: terminates the cluster (if it is not) and removes it: it leaves
   * `clusters/list` and every call on it answers "does not exist".
   */
  permanentDelete(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.m.requireCluster(body.cluster_id);
    this.judge('permanent-delete', cluster, origin);
    if (cluster.state !== 'TERMINATING' && cluster.state !== 'TERMINATED')
      this.lifecycle.terminateAs(cluster, user);
    cluster.gone = true;
    cluster.idleTransition++;
  }

  failCluster(id: string, reason: TerminationReasonSeed): void {
    const cluster = this.m.requireCluster(id);
    if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED') {
      throw new SimApiError(
        409,
        'INVALID_STATE',
        `Cluster ${id} is already ${STATE_WORDS[cluster.state].toLowerCase()}`,
      );
    }
    this.lifecycle.terminate(cluster, reason, this.m.clock.now());
  }

  /** A command (notebook cell, query) runs on the cluster: `last_activity_time` moves. */
  runCommand(id: string): void {
    const cluster = this.m.requireCluster(id);
    if (cluster.state !== 'RUNNING') throw this.m.unexpectedState(cluster);
    this.lifecycle.touch(cluster, this.m.clock.now());
  }

  /** A user terminates the cluster (USER_REQUEST / SUCCESS with their name); never judged. */
  userTerminate(id: string, user: string): void {
    const cluster = this.m.requireCluster(id);
    if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED')
      throw this.m.unexpectedState(cluster);
    this.lifecycle.terminateAs(cluster, user);
  }

  /** A user starts the cluster (STARTING with their name); never judged. */
  userStart(id: string, user: string): void {
    this.start({ cluster_id: id }, undefined, user);
  }

  /** A user restarts the cluster (RESTARTING with their name); never judged. */
  userRestart(id: string, user: string): void {
    this.restart({ cluster_id: id }, undefined, user);
  }

  /** A user edits attributes (`null` removes one): EDITED with their name, a restart if RUNNING; never judged. */
  userEdit(id: string, user: string, attributes: Readonly<Record<string, unknown>>): void {
    const cluster = this.m.requireCluster(id);
    const next: Json = { ...cluster.config };
    for (const [key, value] of Object.entries(attributes)) {
      if (READ_ONLY.has(key)) throw invalidParameter(`${key} cannot be edited`);
      if (value === null) delete next[key];
      else next[key] = value;
    }
    this.applyEdit(cluster, next, 'edit', undefined, user);
  }
}

/** The worker count a resize asks for: `num_workers`, or the autoscale minimum. */
function resizeTarget(body: Json): number {
  const hasWorkers = body.num_workers !== undefined;
  const hasAutoscale = body.autoscale !== undefined;
  if (hasWorkers === hasAutoscale)
    throw invalidParameter('Exactly one of num_workers or autoscale must be set');
  if (hasWorkers) {
    if (!Number.isInteger(body.num_workers) || (body.num_workers as number) < 0) {
      throw invalidParameter('num_workers must be a non-negative integer');
    }
    return body.num_workers as number;
  }
  const autoscale = body.autoscale as Json;
  const min = autoscale?.min_workers;
  const max = autoscale?.max_workers;
  if (
    !Number.isInteger(min) ||
    !Number.isInteger(max) ||
    (min as number) < 0 ||
    (max as number) < (min as number)
  ) {
    throw invalidParameter('autoscale needs integer min_workers <= max_workers');
  }
  return min as number;
}
