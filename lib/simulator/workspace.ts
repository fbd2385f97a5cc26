/**
 * The simulated workspace: clusters with Databricks' state machine, their event log, jobs, runs and
 * repairs. Pure in-memory model with no HTTP; the server maps its errors to Databricks' error bodies.
 *
 * The workspace composes its parts over one shared state (`WorkspaceModel`, model.ts):
 * - `lifecycle` (lifecycle.ts): a cluster's state machine, autotermination, the driver's health;
 * - `seeder` (seed.ts): a scenario's clusters, generated fleets, jobs and their finished runs;
 * - `reads` (cluster-reads.ts): `clusters/get`, `clusters/list`, `clusters/events`, policies;
 * - `actions` (cluster-actions.ts): the clusters API's writes, judged by the harm ledger, and the
 *   admin's actions on a cluster;
 * - `jobs` (jobs.ts): the Jobs API and how a run goes;
 * - rendering (render.ts): the API's answers.
 *
 * Transitions (PENDING → RUNNING after `startMs`, …) are not timers: they sit on the timeline
 * (timeline.ts), keyed by simulated time, and are applied by `tick()`, which the server calls before
 * every request. Events carry the time the transition was due, so a sped-up or manually advanced
 * clock gives the same history as real time would.
 */
import { ClusterActions } from './cluster-actions.ts';
import { ClusterReads } from './cluster-reads.ts';
import type { HarmLedger } from './harms.ts';
import { Jobs } from './jobs.ts';
import { ClusterLifecycle } from './lifecycle.ts';
import { type Json, WorkspaceModel, type WorkspaceOptions } from './model.ts';
import type { Scenario } from './scenario.ts';
import { type LoadResult, Seeder } from './seed.ts';

export type { WorkspaceOptions } from './model.ts';
export type { LoadResult } from './seed.ts';

export class Workspace {
  private readonly model: WorkspaceModel;
  readonly lifecycle: ClusterLifecycle;
  private readonly seeder: Seeder;
  readonly reads: ClusterReads;
  readonly actions: ClusterActions;
  readonly jobs: Jobs;

  constructor(options: WorkspaceOptions) {
    this.model = new WorkspaceModel(options);
    this.lifecycle = new ClusterLifecycle(this.model);
    this.seeder = new Seeder(this.model, this.lifecycle);
    this.reads = new ClusterReads(this.model);
    this.actions = new ClusterActions(this.model, this.lifecycle);
    this.jobs = new Jobs(this.model, this.lifecycle, this.seeder);
  }

  /** Harms judged on API calls; kept across `reset` (it is the record of what callers did). */
  get harms(): HarmLedger {
    return this.model.harms;
  }

  /** Base URL, for `run_page_url` and the OAuth discovery document. */
  get baseUrl(): string {
    return this.model.baseUrl;
  }

  set baseUrl(url: string) {
    this.model.baseUrl = url;
  }

  reset(): void {
    this.model.reset();
  }

  /** Adds a scenario's clusters and jobs (ids already present are rejected) and applies its timings and faults. */
  load(scenario: Scenario): LoadResult {
    return this.seeder.load(scenario);
  }

  /** Applies every transition due by now, in time order. */
  tick(): void {
    const now = this.model.clock.now();
    for (let due = this.model.timeline.takeDue(now); due; due = this.model.timeline.takeDue(now)) {
      if (due.kind === 'run') this.jobs.applyDue(due);
      else this.lifecycle.applyDue(due);
    }
  }

  summary(): Json {
    const { ordered, jobs, runs, timeline, timings } = this.model;
    const byState: Record<string, number> = {};
    for (const cluster of ordered) byState[cluster.state] = (byState[cluster.state] ?? 0) + 1;
    return {
      clusters: { total: ordered.length, byState },
      jobs: jobs.size,
      runs: runs.size,
      pendingTransitions: timeline.size,
      timings,
    };
  }
}
