/**
 * The soak's day, lived: the plan's events at their simulated times — failures injected and seen
 * by the custom monitor, webhooks and job notifications delivered (twice, and late), users racing
 * the automation, benign events, Databricks faults — against the running local host.
 */
import type { ClusterDetails } from '../../functions/core/schemas/databricks.ts';
import { DatabricksClient, patAuth } from '../../functions/databricks/index.ts';
import type { RunningSimulator } from '../simulator/index.ts';
import type { LocalHost } from './host.ts';
import { type BenignKind, CLASSES, HEALTHY_JOB_ID, type Planned } from './soak-plan.ts';

/** A user's action on a cluster through the REST API, between two simulated times. */
export interface UserAction {
  readonly clusterId: string;
  readonly from: number;
  readonly to: number;
}

/** The simulator's own user actions (not judged by its harm ledger), when it has them. */
type UserActions = Partial<{
  userTerminate(clusterId: string, action?: { user?: string }): void;
  userStart(clusterId: string, action?: { user?: string }): void;
  userEdit(clusterId: string, action: { user?: string; attributes?: Record<string, unknown> }): void;
  gcPause(clusterId: string): void;
}>;

type Item<K extends Planned['kind']> = Extract<Planned, { kind: K }>;

/** Sets of Databricks faults, in turn; the first reaches the poller's list (every run) as well. */
const FAULT_SETS = [
  {
    throttle: { paths: ['/api/2.1/clusters/get'], count: 3 },
    serverErrors: { paths: ['/api/2.1/clusters/list'], count: 1, status: 500 },
  },
  { serverErrors: { paths: ['/api/2.1/clusters/start'], count: 1, status: 503 } },
  { serverErrors: { paths: ['/api/2.1/clusters/events'], count: 2, status: 500 } },
  { throttle: { paths: ['/api/2.1/clusters/list'], count: 2 } },
  { serverErrors: { paths: ['/api/2.2/jobs/runs/get'], count: 2, status: 502 } },
];

export class SoakDay {
  readonly client: DatabricksClient;
  /** The simulated time the day began. */
  readonly t0: number;
  readonly userActions: UserAction[] = [];
  fiveXX = 0;
  delivered = 0;
  readonly refusedDeliveries: string[] = [];
  readonly notInjected: string[] = [];
  /** What each target's deliveries were answered (for diagnosis). */
  readonly answers = new Map<string, string[]>();
  private readonly host: LocalHost;
  private readonly simulator: RunningSimulator;
  private readonly users: UserActions;
  /** The clusters as the custom monitor saw them when they terminated. */
  private readonly snapshots = new Map<string, ClusterDetails>();

  constructor(host: LocalHost, simulator: RunningSimulator) {
    this.host = host;
    this.simulator = simulator;
    this.client = new DatabricksClient({ host: simulator.url, auth: patAuth(simulator.token) });
    this.t0 = simulator.admin.now();
    this.users = simulator.admin as unknown as UserActions;
  }

  /** Runs the plan, each event when the simulated clock reaches it; returns once all have ended. */
  async run(plan: readonly Planned[], timeScale: number, say: (line: string) => void): Promise<void> {
    const admin = this.simulator.admin;
    const inFlight = new Set<Promise<void>>();
    let done = 0;
    for (const item of plan) {
      const due = this.t0 + item.at;
      while (admin.now() < due) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(5, (due - admin.now()) / timeScale)));
      }
      const task = this.act(item)
        .catch((error: unknown) =>
          say(
            `soak: ${item.kind} ${'target' in item ? item.target : ''} failed: ${(error as Error).message}`,
          ),
        )
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      // A failure is seen terminated before anything later in the day happens (see observeTermination).
      if (item.kind === 'failure') await task;
      if (++done % 200 === 0)
        say(`soak: ${done}/${plan.length} events, ${Math.round((admin.now() - this.t0) / 3_600_000)} h`);
    }
    await Promise.all(inFlight);
    admin.clearFaults();
  }

  /** The request faults that fired on the simulated Databricks, by kind. */
  faultsFired(): Readonly<Record<string, number>> {
    return this.simulator.admin.stats().faultsFired;
  }

  note(target: string, line: string): void {
    this.answers.set(target, [...(this.answers.get(target) ?? []), line]);
  }

  private async act(item: Planned): Promise<void> {
    switch (item.kind) {
      case 'failure':
        return this.fail(item);
      case 'deliver':
        return this.deliver(item);
      case 'race':
        return this.race(item);
      case 'benign':
        return this.benign(item.benign, item.target);
      case 'faults':
        // A short day injects both kinds.
        this.simulator.admin.setFaults(FAULT_SETS[item.n % FAULT_SETS.length] ?? {});
        return;
    }
  }

  private async fail(item: Item<'failure'>): Promise<void> {
    const spec = CLASSES[item.cls];
    if (spec?.reason === undefined) return;
    try {
      this.simulator.admin.failCluster(item.target, spec.reason);
    } catch (error) {
      this.notInjected.push(`${item.target}: ${(error as Error).message}`);
      return;
    }
    await this.observeTermination(item.target);
  }

  /**
   * The custom monitor sees the cluster once it is TERMINATED and keeps what it saw for its
   * deliveries. Waited for on the simulated clock (nothing else of the day runs meanwhile), so that
   * a user's start racing the automation can never come first however slow the machine is.
   */
  private async observeTermination(clusterId: string): Promise<void> {
    for (;;) {
      const seen = this.simulator.admin.cluster(clusterId) as ClusterDetails | undefined;
      if (seen === undefined) return;
      if (seen.state === 'TERMINATED') {
        this.snapshots.set(clusterId, seen);
        return;
      }
      // Anything but TERMINATING: the monitor missed it (a recovery already under way).
      if (seen.state !== 'TERMINATING') return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async deliver(item: Item<'deliver'>): Promise<void> {
    if (item.target.startsWith('run:')) {
      const runId = item.target.slice(4);
      await this.post({
        event_type: 'jobs.on_failure',
        workspace_id: 'default',
        run: { run_id: runId },
        job: { job_id: String(9500 + (Number(runId) - 95_000_000)), name: 'soak-job' },
      });
      return;
    }
    // The custom monitor forwards the cluster as it saw it when it failed; a late copy is
    // the same message delivered again.
    let cluster = this.snapshots.get(item.target);
    if (cluster === undefined) {
      // Read in-process, at the moment the monitor looks: an HTTP read queued behind a busy
      // host could come back after the owner had already started the cluster again.
      const now = this.simulator.admin.cluster(item.target) as ClusterDetails | undefined;
      if (now === undefined) return;
      if (now.state !== 'TERMINATED') {
        this.note(item.target, `not sent: ${now.state}`);
        return;
      }
      cluster = now;
      this.snapshots.set(item.target, cluster);
    }
    await this.post({ event: 'cluster.terminated', cluster }, item.target);
  }

  private async race(item: Item<'race'>): Promise<void> {
    const cluster = await this.client.getCluster(item.target);
    if (item.action === 'stop') await this.asUser('delete', { cluster_id: item.target }, item.target);
    else if (item.action === 'start' && cluster.state === 'TERMINATED')
      await this.asUser('start', { cluster_id: item.target }, item.target);
    else if (item.action === 'edit' && (cluster.state === 'RUNNING' || cluster.state === 'TERMINATED')) {
      const spec = (cluster.spec ?? {}) as Record<string, unknown>;
      await this.asUser(
        'edit',
        { ...spec, cluster_id: item.target, custom_tags: { team: 'soak', edited: String(item.at) } },
        item.target,
      );
    }
  }

  private async benign(kind: BenignKind, target: string): Promise<void> {
    const admin = this.simulator.admin;
    if (kind === 'user_stop') await this.asUser('delete', { cluster_id: target }, target);
    else if (kind === 'autotermination')
      admin.failCluster(target, {
        code: 'INACTIVITY',
        type: 'SUCCESS',
        parameters: { inactivity_duration_min: '120' },
      });
    else if (kind === 'healed_driver') {
      // Half of them a driver crash Databricks recovers, half a GC pause (when the simulator has one).
      if (this.users.gcPause && Number(target.slice(5, 11)) % 8 >= 4) this.users.gcPause(target);
      else admin.crashDriver(target);
    } else {
      const { run_id: runId } = await this.client.runNow({ job_id: HEALTHY_JOB_ID });
      await this.post({
        event_type: 'jobs.on_start',
        workspace_id: 'default',
        run: { run_id: String(runId) },
        job: { job_id: HEALTHY_JOB_ID, name: 'soak-healthy-job' },
      });
    }
  }

  /** Delivers a webhook to the intake; a 5xx answer is delivered again (five tries at most). */
  private async post(body: unknown, target = ''): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await fetch(`${this.host.url}/databricks-monitor`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': this.host.apiKey },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      this.delivered++;
      if (res.status >= 400 && res.status < 500)
        this.refusedDeliveries.push(`${target} ${res.status} ${text.slice(0, 200)}`);
      this.note(target, `${res.status} ${text.slice(0, 160)}`);
      if (res.status < 500) return;
      this.fiveXX++;
      // A 503 asks for the delivery again, as Databricks' and custom senders do.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * A user's action: the simulator's own user actions (not judged by its harm ledger) when it has
   * them; else the REST API with the same token, which the event-log judge leaves out by time.
   */
  private async asUser(path: string, body: Record<string, unknown>, clusterId: string): Promise<void> {
    const { users, simulator } = this;
    const user = { user: 'soak.user@example.com' };
    try {
      if (path === 'delete' && users.userTerminate) return users.userTerminate(clusterId, user);
      if (path === 'start' && users.userStart) return users.userStart(clusterId, user);
      if (path === 'edit' && users.userEdit)
        return users.userEdit(clusterId, { ...user, attributes: { custom_tags: body.custom_tags } });
    } catch {
      // The cluster is in a state the user's action does not apply to: so be it.
      return;
    }
    const from = simulator.admin.now();
    const res = await fetch(`${simulator.url}/api/2.1/clusters/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${simulator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    this.userActions.push({ clusterId, from, to: simulator.admin.now() });
  }
}
